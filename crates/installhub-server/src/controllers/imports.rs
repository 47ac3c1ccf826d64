//! The Import API (seed 03, SPEC §7): import, scan, and what was imported —
//! import records, installed packages and the audit log.

// utoipa's expansion of `params(...)` qualifies the types again.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use installhub_bundle::ReadLimits;
use installhub_domain::ids::printable;
use installhub_domain::import::{ImportByReference, ImportOptions};
use installhub_domain::model::InstalledStatus;
use installhub_domain::{
    Caller, ErrorCode, Failure, ImportId, ImportSource, ImportStatus, PackageId, Scope, TenantId,
};
use installhub_store::{AuditEntry, AuditFilter, ImportRecord, InstalledPackage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};

use super::tenants::find_tenant;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{
    ImportPath, QueryParams, TenantPath, page_limit, parse_json, require_scope, require_tenant,
    split_page,
};
use crate::import::{
    self, ImportInput, ImportResponse, ReadPackage, copy_stored, read_multipart, verify_and_scan,
};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `true` runs every check and installs nothing (same as `options.dryRun`).
    dry_run: Option<bool>,
}

fn content_type(request: &Request) -> String {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn missing_part(part: &str, what: &str) -> ApiError {
    Failure::new(
        ErrorCode::InvalidRequestBody,
        format!("The '{part}' part is missing: send {what}."),
    )
    .field(part)
    .into()
}

/// Reads a JSON body up to the server's JSON limit (this route's own body
/// limit is raised for uploads, so the JSON form enforces it itself).
async fn json_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    request: Request,
) -> ApiResult<T> {
    let limit = state.config().limits.json_body_bytes;
    let bytes = axum::body::to_bytes(request.into_body(), limit)
        .await
        .map_err(|_| {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("The JSON body is larger than {limit} bytes."),
            )
        })?;
    parse_json(&bytes)
}

/// The package a JSON-form import refers to, when the caller may read its
/// tenant; any other package is answered as missing (SECURITY.md 20).
async fn referenced_package(
    state: &AppState,
    caller: &Caller,
    raw: Option<&str>,
) -> ApiResult<installhub_store::PackageRecord> {
    let Some(raw) = raw else {
        return Err(Failure::new(
            ErrorCode::InvalidPackageId,
            "sourcePackageId is required in the JSON form: the id of a package exported on this server.",
        )
        .field("sourcePackageId")
        .into());
    };
    let id = PackageId::parse(raw).map_err(|e| {
        ApiError::from(Failure::new(ErrorCode::InvalidPackageId, e.0).field("sourcePackageId"))
    })?;
    match state.store().get_package(&id).await? {
        Some(package) if caller.can_access(&package.tenant_id) => Ok(package),
        _ => Err(ApiError::not_found(
            Failure::new(
                ErrorCode::PackageNotFound,
                format!("Package '{id}' does not exist."),
            )
            .field("sourcePackageId")
            .detail("packageId", id.as_str()),
        )),
    }
}

/// The multipart form of an import, for the OpenAPI document (the handler
/// streams the parts itself).
#[derive(ToSchema)]
#[expect(dead_code, reason = "describes the form; never built")]
pub struct ImportForm {
    /// The package ZIP.
    #[schema(value_type = String, format = Binary)]
    package: Vec<u8>,
    /// The import options, as JSON.
    options: ImportOptions,
}

/// An import's 409, for the OpenAPI document: the error envelope, and
/// beside it the whole plan of a refused dry run, or the differences of a
/// pinned plan that no longer holds.
#[derive(ToSchema)]
#[schema(rename_all = "camelCase")]
#[expect(dead_code, reason = "describes the answer; never built")]
pub struct ImportConflictBody {
    /// The failure's code, or `ValidationFailed` when there are several.
    #[schema(value_type = ErrorCode, example = "ConflictRequiresResolution")]
    error: String,
    message: String,
    /// Every failure, each with `code`, `field`, `message` and its details.
    errors: Vec<Failure>,
    /// A dry run's only: every artifact's planned action, in install order,
    /// as a successful dry run lists them (with `changes`); the entries
    /// that stop the import have `conflict: true` and the failure's code in
    /// `error`, and an artifact whose conflict nothing settles is planned
    /// as `Conflict`.
    #[schema(required = false)]
    planned_actions: Option<Vec<installhub_domain::import::ArtifactPlan>>,
    /// `PlanOutdated`: the pinned plan.
    #[schema(required = false, pattern = r"^plan-[0-9a-f]{64}$")]
    plan_id: Option<String>,
    /// `PlanOutdated`: the plan the import would carry out now.
    #[schema(required = false, pattern = r"^plan-[0-9a-f]{64}$")]
    current_plan_id: Option<String>,
    /// `PlanOutdated`: how the plan made now differs from the pinned one
    /// (the package, the options, each artifact whose entry changed).
    #[schema(required = false)]
    differences: Option<Vec<installhub_domain::import::pin::PlanDifference>>,
}

/// The multipart form of a scan, for the OpenAPI document.
#[derive(ToSchema)]
#[expect(dead_code, reason = "describes the form; never built")]
pub struct ScanForm {
    /// The package ZIP.
    #[schema(value_type = String, format = Binary)]
    package: Vec<u8>,
}

/// Import a package into a tenant.
///
/// Send the ZIP as `multipart/form-data` with parts `package` (the file)
/// and `options` (JSON), or send JSON `{sourcePackageId, options}` to import
/// a package exported on this server. Every import is recorded; its id is
/// in the `X-Import-Id` header of every answer after the target tenant was
/// found, failures included.
#[utoipa::path(
    post,
    path = "/api/installhub/packages/import",
    tag = "imports",
    params(ImportQuery),
    request_body(
        description = "multipart/form-data with parts `package` (application/zip) and `options` (application/json, `ImportOptions`), or application/json `ImportByReference`.",
        content(
            (ImportByReference = "application/json"),
            (ImportForm = "multipart/form-data")
        )
    ),
    responses(
        (status = 200, description = "Installed, or planned (dry run).", body = ImportResponse,
         headers(("X-Import-Id" = String, description = "The import record's id."))),
        (status = 400, description = "InvalidZip, ManifestMissing, ChecksumMismatch, a bundle an export could not have produced (CrossTenantReference, ArtifactNotExportable, CircularDependency, Invalid* of a manifest or artifact field), MissingPackageDependency, ImportedByMismatch, invalid options, or InvalidPlanId (a malformed `options.planId`, or one no dry run into the target tenant answered).", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "SecurityScanFailed, InsufficientPermission or TenantAccessDenied.", body = ErrorBody),
        (status = 404, description = "PackageNotFound (JSON form).", body = ErrorBody),
        (status = 409, description = "ConflictRequiresResolution or MajorVersionUpgradeNotAllowed, listing every conflict (a dry run adds its whole plan, `plannedActions`); or PlanOutdated: `options.planId` is not the plan the import would carry out now, with the `differences`. Nothing was installed.", body = ImportConflictBody),
        (status = 413, description = "PayloadTooLarge or TooManyArtifacts for the target tenant's plan.", body = ErrorBody),
        (status = 415, description = "Neither multipart/form-data nor JSON.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn import_package(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ImportQuery>,
    request: Request,
) -> Response {
    // Refuse before reading a possibly large upload.
    if let Err(e) = require_scope(&caller, Scope::Import) {
        return e.into_response();
    }
    let received = receive(&state, &caller, request).await;
    let (options, input) = match received {
        Ok(parts) => parts,
        Err(e) => return e.into_response(),
    };
    // Once received, the import runs in its own task: a client that goes
    // away or a timeout then cannot cut it off half-recorded; it finishes
    // and its record says how.
    // The task keeps the request's span (its request id), inside one of
    // its own that names the target tenant and, once known, the import.
    let dry_run = query.dry_run;
    let span = tracing::info_span!(
        "import",
        tenant = options.target_tenant_id.as_deref().unwrap_or("-"),
        import_id = tracing::field::Empty,
    );
    let task = tokio::spawn(
        async move { import::run(&state, &caller, &options, dry_run, input).await }
            .instrument(span),
    );
    let outcome = match task.await {
        Ok(outcome) => outcome,
        Err(e) => return ApiError::internal(e).into_response(),
    };
    let mut response = match outcome.result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    };
    if let Some(id) = outcome.import_id
        && let Ok(value) = HeaderValue::from_str(id.as_str())
    {
        response.headers_mut().insert("x-import-id", value);
    }
    response
}

async fn receive(
    state: &AppState,
    caller: &Caller,
    request: Request,
) -> ApiResult<(ImportOptions, ImportInput)> {
    match content_type(&request).as_str() {
        "multipart/form-data" => {
            let form = read_multipart(state, request, true).await?;
            let options = form
                .options
                .ok_or_else(|| missing_part("options", "the import options as JSON"))?;
            let bundle = form
                .package
                .ok_or_else(|| missing_part("package", "the package ZIP"))?;
            Ok((
                options,
                ImportInput {
                    source: ImportSource::Upload,
                    bundle,
                    job: None,
                },
            ))
        }
        "application/json" => {
            let body: ImportByReference = json_body(state, request).await?;
            let options = body.options.ok_or_else(|| {
                ApiError::from(
                    Failure::new(
                        ErrorCode::InvalidImportOptions,
                        "options is required: at least {\"targetTenantId\": \"...\"}.",
                    )
                    .field("options"),
                )
            })?;
            let package =
                referenced_package(state, caller, body.source_package_id.as_deref()).await?;
            let bundle = copy_stored(state, &package).await?;
            Ok((
                options,
                ImportInput {
                    source: ImportSource::PackageReference,
                    bundle,
                    job: None,
                },
            ))
        }
        _ => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the package as multipart/form-data (parts 'package' and 'options') or JSON {sourcePackageId, options}.",
        )),
    }
}

/// The scan's answer: the verdict and every finding.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanResponse {
    pub package_id: String,
    pub package_name: String,
    pub version: String,
    pub checksum: String,
    #[schema(example = "PASS")]
    pub result: installhub_scan::Verdict,
    pub security_findings: Vec<installhub_scan::Finding>,
    /// The advisory data the libraries were checked against.
    pub advisory_snapshot: installhub_scan::AdvisorySnapshot,
}

impl From<ReadPackage> for ScanResponse {
    fn from(read: ReadPackage) -> Self {
        let ReadPackage {
            manifest,
            report,
            advisory_snapshot,
        } = read;
        ScanResponse {
            package_id: manifest.package_id.to_string(),
            package_name: manifest.name,
            version: manifest.version,
            checksum: manifest.checksum,
            result: report.result,
            security_findings: report.security_findings,
            advisory_snapshot,
        }
    }
}

/// Run the security scan on a package without importing it.
///
/// Send the ZIP as a multipart part named `package`. Answers 200 with the
/// verdict whatever it is; an archive that is not a valid bundle is refused
/// as on import.
#[utoipa::path(
    post,
    path = "/api/installhub/packages/scan",
    tag = "imports",
    request_body(content = ScanForm, description = "multipart/form-data with a `package` part (application/zip).", content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The scan ran; see `result`.", body = ScanResponse),
        (status = 400, description = "InvalidZip, ManifestMissing, ChecksumMismatch, or a bundle an export could not have produced (CrossTenantReference, ArtifactNotExportable, CircularDependency, Invalid* of a manifest or artifact field), as on import.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission (needs installhub:import).", body = ErrorBody),
        (status = 413, description = "Larger than any plan accepts.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn scan_package(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
) -> ApiResult<Json<ScanResponse>> {
    require_scope(&caller, Scope::Import)?;
    if content_type(&request) != "multipart/form-data" {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the package as multipart/form-data with a part named 'package'.",
        ));
    }
    let form = read_multipart(&state, request, false).await?;
    let bundle = form
        .package
        .ok_or_else(|| missing_part("package", "the package ZIP"))?;
    let limit = state.config().limits.max_upload_bytes();
    let read = verify_and_scan(&state, &bundle, ReadLimits::with_size_limit(limit)).await?;
    Ok(Json(ScanResponse::from(read)))
}

/// An import record.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportRecordResponse {
    #[schema(value_type = String)]
    pub import_id: ImportId,
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    pub status: ImportStatus,
    pub source: ImportSource,
    pub package_id: Option<String>,
    pub package_name: Option<String>,
    pub version: Option<String>,
    pub installed_by: String,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The import's response body (success, dry run) or its error envelope
    /// (failure); `null` while it runs.
    #[schema(value_type = Option<Object>)]
    pub result: Value,
}

impl From<ImportRecord> for ImportRecordResponse {
    fn from(r: ImportRecord) -> Self {
        Self {
            import_id: r.import_id,
            tenant_id: r.tenant_id,
            status: r.status,
            source: r.source,
            package_id: r.package_id.map(|p| p.to_string()),
            package_name: r.package_name,
            version: r.version,
            installed_by: r.installed_by,
            started_at: r.started_at,
            finished_at: r.finished_at,
            result: r.response,
        }
    }
}

/// Read one import: its status and its result or error.
#[utoipa::path(
    get,
    path = "/api/installhub/imports/{importId}",
    tag = "imports",
    params(("importId" = String, Path, pattern = r"^imp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "`imp-` and a UUID.")),
    responses(
        (status = 200, description = "The import record.", body = ImportRecordResponse),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission (needs installhub:import).", body = ErrorBody),
        (status = 404, description = "ImportNotFound: no such import, or not one of your tenants'.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_import(
    State(state): State<AppState>,
    caller: Caller,
    path: ImportPath,
) -> ApiResult<Json<ImportRecordResponse>> {
    require_scope(&caller, Scope::Import)?;
    match state.store().get_import(&path.import_id).await? {
        Some(record) if caller.can_access(&record.tenant_id) => Ok(Json(record.into())),
        _ => Err(ApiError::not_found(
            Failure::new(
                ErrorCode::ImportNotFound,
                format!("Import '{}' does not exist.", path.import_id),
            )
            .detail("importId", path.import_id.as_str()),
        )),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportListParams {
    /// Imports started before this one (from `nextBefore`).
    #[param(pattern = r"^imp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    before: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportPage {
    pub imports: Vec<ImportRecordResponse>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// Access to a tenant's import history: `installhub:import` and the tenant.
async fn import_reader(state: &AppState, caller: &Caller, tenant: &TenantId) -> ApiResult<()> {
    require_scope(caller, Scope::Import)?;
    require_tenant(caller, tenant)?;
    find_tenant(state, tenant).await?;
    Ok(())
}

/// List a tenant's imports, newest first.
#[utoipa::path(
    get,
    path = "/api/installhub/tenants/{tenantId}/imports",
    tag = "imports",
    params(("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The target tenant.", example = "tenant-abc123"), ImportListParams),
    responses(
        (status = 200, description = "One page of import records.", body = ImportPage),
        (status = 400, description = "Bad paging parameters.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "No access to the tenant, or no installhub:import.", body = ErrorBody),
        (status = 404, description = "No such tenant.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_imports(
    State(state): State<AppState>,
    caller: Caller,
    path: TenantPath,
    QueryParams(params): QueryParams<ImportListParams>,
) -> ApiResult<Json<ImportPage>> {
    import_reader(&state, &caller, &path.tenant_id).await?;
    let limit = page_limit(params.limit, 50, 200)?;
    let before = params
        .before
        .as_deref()
        .map(installhub_domain::ImportId::parse)
        .transpose()
        .map_err(|e| {
            ApiError::from(Failure::new(ErrorCode::InvalidRequestBody, e.0).field("before"))
        })?;
    let rows = state
        .store()
        .list_imports(
            &path.tenant_id,
            u32::try_from(limit + 1).unwrap_or(u32::MAX),
            before.as_ref().map(|b| b.as_str()),
        )
        .await?;
    let (records, next_before) = split_page(rows, limit, |r| Some(r.import_id.to_string()));
    Ok(Json(ImportPage {
        imports: records.into_iter().map(Into::into).collect(),
        next_before,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstalledPackageResponse {
    pub package_id: String,
    pub package_name: String,
    pub version: String,
    pub checksum: String,
    /// What its install created, replaced or found unchanged.
    pub artifact_ids: Vec<String>,
    #[schema(value_type = String)]
    pub import_id: ImportId,
    #[schema(value_type = String, format = DateTime)]
    pub installed_at: DateTime<Utc>,
    pub installed_by: String,
    /// `Installed`, `Superseded` once other packages' installs took every
    /// artifact it owned, or `Uninstalled` once removed with its artifacts
    /// (`DELETE .../installed-packages/{packageName}`). Only `Installed`
    /// packages satisfy `packageDependencies`.
    pub status: InstalledStatus,
    /// How many of the tenant's artifacts it owns: each artifact is owned by
    /// the package whose install last created or replaced it.
    pub owned_artifact_count: u64,
    /// The install that took its last artifact; only when `Superseded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<SupersededBy>,
}

/// The package, and its import, that took a superseded package's last
/// artifact.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SupersededBy {
    pub package_name: String,
    pub version: String,
    #[schema(value_type = String)]
    pub import_id: ImportId,
    #[schema(value_type = String, format = DateTime)]
    pub superseded_at: DateTime<Utc>,
}

impl From<InstalledPackage> for InstalledPackageResponse {
    fn from(p: InstalledPackage) -> Self {
        Self {
            package_id: p.package_id.to_string(),
            package_name: p.package_name,
            version: p.version,
            checksum: p.checksum,
            artifact_ids: p.artifact_ids.iter().map(ToString::to_string).collect(),
            import_id: p.import_id,
            installed_at: p.installed_at,
            installed_by: p.installed_by,
            status: p.status,
            owned_artifact_count: p.owned_artifacts,
            superseded_by: p.superseded_by.map(|by| SupersededBy {
                package_name: by.package_name,
                version: by.version,
                import_id: by.import_id,
                superseded_at: by.at,
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstalledPackages {
    pub installed_packages: Vec<InstalledPackageResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct InstalledParams {
    /// Only packages in this status: `Installed`, `Superseded` or
    /// `Uninstalled`. All when absent.
    #[param(value_type = Option<InstalledStatus>)]
    status: Option<String>,
}

/// List the packages installed in a tenant (one per package name), each
/// with its status: `Installed`, `Superseded` when other packages took all
/// its artifacts, or `Uninstalled`.
#[utoipa::path(
    get,
    path = "/api/installhub/tenants/{tenantId}/installed-packages",
    tag = "imports",
    params(("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The tenant.", example = "tenant-abc123"), InstalledParams),
    responses(
        (status = 200, description = "Installed packages, by name.", body = InstalledPackages),
        (status = 400, description = "Unknown status.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "No access to the tenant, or no installhub:import.", body = ErrorBody),
        (status = 404, description = "No such tenant.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn installed_packages(
    State(state): State<AppState>,
    caller: Caller,
    path: TenantPath,
    QueryParams(params): QueryParams<InstalledParams>,
) -> ApiResult<Json<InstalledPackages>> {
    import_reader(&state, &caller, &path.tenant_id).await?;
    let status = params
        .status
        .as_deref()
        .map(|raw| {
            InstalledStatus::parse(raw).ok_or_else(|| {
                ApiError::from(
                    Failure::new(
                        ErrorCode::InvalidRequestBody,
                        format!(
                            "'{}' is not an installed package status; use one of {}.",
                            printable(raw),
                            InstalledStatus::expected()
                        ),
                    )
                    .field("status"),
                )
            })
        })
        .transpose()?;
    let packages = state.store().installed_packages(&path.tenant_id).await?;
    Ok(Json(InstalledPackages {
        installed_packages: packages
            .into_iter()
            .filter(|p| status.is_none_or(|s| p.status == s))
            .map(Into::into)
            .collect(),
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// The tenant whose log to read.
    #[param(required = true, value_type = String, pattern = r"^[a-z0-9-]{3,64}$", example = "tenant-7f3a9b12")]
    pub tenant_id: Option<String>,
    /// Only entries with this action: `export`, `import`, `rollback`,
    /// `uninstall`, `tenant-put`, `artifact-put`, `artifact-delete`,
    /// `marketplace-publish`, `marketplace-trust-level`, `marketplace-yank`,
    /// `marketplace-delist`.
    pub action: Option<String>,
    /// Only entries about this subject: an import id (`imp-...`), a
    /// package id, an artifact id, a listing id.
    #[param(example = "imp-7c1e4b2a-9d3f-4e8b-a6c5-0f1d2e3b4a59")]
    pub subject: Option<String>,
    /// Entries older than this id (from `nextBefore`).
    pub before: Option<i64>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntryResponse {
    pub id: i64,
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    pub tenant_id: String,
    /// Who: the token's email, else its subject.
    pub actor: String,
    /// What: `export`, `import`, `rollback`, `uninstall`, `tenant-put`,
    /// `artifact-put`, `artifact-delete`, or `marketplace-publish`,
    /// `-trust-level`, `-yank`, `-delist` (in the log of the tenant that
    /// owns the listing).
    pub action: String,
    /// The package, import, tenant, artifact or marketplace listing
    /// concerned.
    pub subject: Option<String>,
    /// `Success` or `Failure`.
    pub outcome: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<AuditEntry> for AuditEntryResponse {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id.unwrap_or_default(),
            at: e.at,
            tenant_id: e.tenant_id.to_string(),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            outcome: e.outcome.as_str().to_owned(),
            details: e.details,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub entries: Vec<AuditEntryResponse>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// Read a tenant's audit log, newest first: exports and imports, failures
/// included, and every tenant and artifact write (who, when, what, outcome).
#[utoipa::path(
    get,
    path = "/api/installhub/audit",
    tag = "imports",
    params(AuditParams),
    responses(
        (status = 200, description = "One page of audit entries.", body = AuditPage),
        (status = 400, description = "Missing tenantId or bad paging parameters.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "No access to the tenant, or no installhub:import.", body = ErrorBody),
        (status = 404, description = "No such tenant.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    QueryParams(params): QueryParams<AuditParams>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(audit_page(&state, &caller, &params).await?))
}

/// A page of a tenant's audit log with the checks of `GET
/// /api/installhub/audit`: the API route and the console both read it here.
pub async fn audit_page(
    state: &AppState,
    caller: &Caller,
    params: &AuditParams,
) -> ApiResult<AuditPage> {
    let Some(raw) = params.tenant_id.as_deref() else {
        return Err(Failure::new(
            ErrorCode::InvalidTenantId,
            "tenantId is required: /api/installhub/audit?tenantId=...",
        )
        .field("tenantId")
        .into());
    };
    let tenant = TenantId::parse(raw).map_err(|e| {
        ApiError::from(Failure::new(ErrorCode::InvalidTenantId, e.0).field("tenantId"))
    })?;
    import_reader(state, caller, &tenant).await?;
    let limit = page_limit(params.limit, 50, 200)?;
    let filter = AuditFilter {
        action: params.action.as_deref(),
        subject: params.subject.as_deref(),
    };
    let rows = state
        .store()
        .list_audit_filtered(&tenant, &filter, limit + 1, params.before)
        .await?;
    let (entries, next_before) = split_page(rows, limit, |e| e.id);
    Ok(AuditPage {
        entries: entries.into_iter().map(Into::into).collect(),
        next_before,
    })
}
