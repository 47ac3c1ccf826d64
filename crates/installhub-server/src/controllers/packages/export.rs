//! `POST /api/installhub/packages/export`: validate, resolve, bundle.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::HeaderMap;
use installhub_domain::{Caller, ExportRequest, Manifest};
use installhub_store::{AuditEvent, NewAuditEntry, PackageRecord, Refusal};
use serde::Serialize;
use utoipa::ToSchema;

use super::download_url;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::export::{self, failure_summary};
use crate::extract::{TenantHeader, body_rejection, parse_json, require_json};
use crate::rate_limit::{Bucket, Charges};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportResponse {
    #[schema(example = "pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33")]
    pub package_id: String,
    #[schema(example = "Employee Onboarding Suite")]
    pub package_name: String,
    #[schema(example = "2.1.0")]
    pub version: String,
    #[schema(example = "sha256:3a9f1c4e8d2b7f6a1e5c9d3b0a4f8e2c7d1a6b9e3f5c8d2a0b7e4f1c9d3a6b0")]
    pub checksum: String,
    pub artifact_count: u32,
    #[schema(
        example = "/api/installhub/packages/pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33/download"
    )]
    pub bundle_download_url: String,
    #[schema(value_type = String, format = DateTime)]
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub is_success: bool,
    pub manifest: Manifest,
}

const SUMMARY: &str = "Export request failed validation. See 'errors' for details.";

/// Create a new package from specified artifacts.
///
/// Every check of seed 02 runs and all failures come back together. Rate
/// limited per user and per tenant (429 with `Retry-After`); only exports
/// that create a package count.
#[utoipa::path(
    post,
    path = "/api/installhub/packages/export",
    tag = "packages",
    params(("X-Tenant-Id" = Option<String>, Header, nullable = false, pattern = r"^[a-z0-9-]{3,64}$", description = "May stand in for the body's tenantId.")),
    request_body = ExportRequest,
    responses(
        (status = 200, description = "The package was created.", body = ExportResponse),
        (status = 400, description = "The request failed validation; `errors` lists every failure.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission, TenantAccessDenied or TenantMismatch.", body = ErrorBody),
        (status = 409, description = "VersionConflict: the tenant has this name and version already.", body = ErrorBody),
        (status = 413, description = "The body is too large.", body = ErrorBody),
        (status = 429, description = "Rate limit exceeded; see `Retry-After`.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    TenantHeader(header): TenantHeader,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<ExportResponse>> {
    require_json(&headers)?;
    let request: ExportRequest = parse_json(&body.map_err(body_rejection)?)?;
    let p = run_export(&state, &caller, request, header.as_deref()).await?;
    Ok(Json(ExportResponse {
        bundle_download_url: download_url(&p.package_id),
        package_id: p.package_id.to_string(),
        package_name: p.package_name,
        version: p.version,
        checksum: p.checksum,
        artifact_count: p.artifact_count,
        exported_at: p.exported_at,
        is_success: true,
        manifest: p.manifest,
    }))
}

/// One export, as the API and the console run it: every check of seed 02
/// (all failures together), the rate limits, the package written, the
/// metrics, and a refusal recorded in the audit log. `header_tenant` is the
/// `X-Tenant-Id` header, when there is one.
pub async fn run_export(
    state: &AppState,
    caller: &Caller,
    request: ExportRequest,
    header_tenant: Option<&str>,
) -> ApiResult<PackageRecord> {
    let started = Instant::now();
    let checked = request.check(header_tenant);
    // Only a created package counts: the units taken here are given back
    // below unless one is. The tenant's budget is only charged for callers
    // who may act for it, so nobody can exhaust another tenant's limit.
    let mut charges = Charges::new(state);
    charges.take(state, Bucket::User(caller)).await?;
    if let Some(tenant) = checked.tenant_id.as_ref().filter(|t| caller.can_access(t)) {
        charges.take(state, Bucket::Tenant(tenant)).await?;
    }
    let audit_tenant = checked.tenant_id.clone().filter(|t| caller.can_access(t));
    let name_and_version = checked.package_name.clone().zip(checked.version.clone());

    let result = async {
        let (_, resolution) = export::validate(
            state,
            caller,
            checked.clone(),
            name_and_version.as_ref().map(|(n, v)| (n.as_str(), v)),
        )
        .await?;
        let valid = request
            .into_valid(checked)
            .expect("validation passed, so every field parsed");
        export::write_package(state, caller, valid, &resolution).await
    }
    .await;

    if result.is_ok() {
        charges.keep();
    } else {
        charges.refund().await;
    }
    let outcome = if result.is_ok() { "success" } else { "failure" };
    metrics::counter!("installhub_exports_total", "outcome" => outcome).increment(1);
    metrics::histogram!("installhub_export_duration_seconds", "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());

    // A created package's entry committed with its row; a refusal is
    // recorded here, in tenants the caller may see only, so nobody can fill
    // another tenant's log.
    if let (Some(tenant), Err(error)) = (audit_tenant, &result) {
        let refusal = Refusal {
            error: error.code(),
            failures: failure_summary(error).map(<[_]>::to_vec),
        };
        let entry = NewAuditEntry::now(
            tenant,
            caller.identity.as_str(),
            AuditEvent::ExportRefused(refusal),
        );
        if let Err(e) = state.store().record_audit(&entry).await {
            tracing::error!(error = %e, "could not record the export in the audit log");
        }
    }

    let package = result
        .map_err(|e: ApiError| e.with_summary(SUMMARY))?
        .package;
    metrics::counter!("installhub_export_bundle_bytes_total").increment(package.bundle_size);
    Ok(package)
}
