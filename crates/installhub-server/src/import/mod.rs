//! The import pipeline (seed 03, SPEC §7), in the order that keeps a bad
//! package from ever touching a tenant:
//!
//! 1. permissions and options, all failures together;
//! 2. the target tenant, and from here on an import record;
//! 3. the plan's size limit, then the archive read and verified in full
//!    (every SECURITY.md archive case refused before anything is written);
//! 4. the plan's artifact limit; the security scan;
//! 5. the install transaction: the tenant's install lock, the plan decided
//!    from what the tenant has *inside* the lock, the writes, the import
//!    record and the audit entry, one commit. A failure or a crash at any
//!    point leaves the tenant as it was.

mod upload;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use installhub_bundle::{
    ArtifactFile, BundleErrorCode, ReadLimits, encode_artifact, read_bundle_each,
};
use installhub_domain::import::{
    ArtifactPlan, ConflictEntry, ExistingArtifact, ImportOptions, ImportPlan, ImportWarning,
    InstalledRef, PlanContext, ValidImportOptions, plan_import,
};
use installhub_domain::manifest::sha256_hex;
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, Caller, ErrorCode, Failure, ImportSource, ImportStatus,
    Manifest, Reference, Scope, Tenant, TenantId, TenantStatus,
};
use installhub_scan::{ScanInput, ScanReport, Verdict};
use installhub_store::{
    AuditEvent, ImportFailed, ImportRecord, InstallTx, InstalledPackage, NewArtifact,
    NewAuditEntry, PackageImported, Refusal,
};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

pub use self::upload::{MultipartImport, ReceivedBundle, copy_stored, read_multipart};
use crate::error::{ApiError, ApiResult, envelope};
use crate::extract::{missing_scope, tenant_denied};
use crate::state::AppState;

const SUMMARY: &str = "The import was refused. See 'errors' for every reason.";

/// Seed 03's import response, plus `plannedActions` for a dry run and the
/// scan's findings.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportResponse {
    #[schema(example = "imp-f9a2c1e8-7b3d-4e5f-a1c2-d3e4f5a6b7c8")]
    pub import_id: String,
    #[schema(example = "pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13")]
    pub package_id: String,
    #[schema(example = "Employee Onboarding Suite")]
    pub package_name: String,
    #[schema(example = "2.1.0")]
    pub version: String,
    /// `Success` or `DryRun`.
    pub status: ImportStatus,
    /// Artifacts created or replaced (0 in a dry run).
    pub artifacts_installed: usize,
    /// Conflicts resolved by `Replace` or `Skip` (would be, in a dry run).
    pub conflicts_resolved: usize,
    /// When the install committed; `null` in a dry run, which installs nothing.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub installed_at: Option<DateTime<Utc>>,
    #[schema(example = "engineer@company.com")]
    pub installed_by: String,
    #[schema(value_type = Vec<String>, example = json!(["ent-44", "rule-305", "form-2005", "thread-2002", "proc-1001"]))]
    pub install_order: Vec<ArtifactId>,
    pub conflict_report: ConflictReport,
    /// `PASS`, `WARN` or `FAIL`.
    #[schema(value_type = String, example = "PASS")]
    pub security_scan_result: Verdict,
    #[schema(value_type = Vec<Object>)]
    pub security_findings: Vec<installhub_scan::Finding>,
    pub warnings: Vec<ImportWarning>,
    /// What the import does with each artifact, in install order (dry run only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_actions: Option<Vec<ArtifactPlan>>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConflictReport {
    pub conflicts: Vec<ConflictEntry>,
}

/// Where the package comes from.
pub struct ImportInput {
    pub source: ImportSource,
    pub bundle: ReceivedBundle,
}

/// The outcome the handler answers with: the import id (when a record was
/// made) and the response or the error.
pub struct ImportOutcome {
    pub import_id: Option<String>,
    pub result: ApiResult<ImportResponse>,
}

/// Step 1: every permission and option check, all failures together.
pub fn check_request(
    caller: &Caller,
    options: &ImportOptions,
    query_dry_run: Option<bool>,
) -> ApiResult<ValidImportOptions> {
    let mut failures = Vec::new();
    if !caller.has_scope(Scope::Import) {
        failures.push(missing_scope(Scope::Import));
    }
    if options.allow_major_version_upgrade && !caller.has_scope(Scope::ImportOverrideMajorVersion) {
        failures.push(
            missing_scope(Scope::ImportOverrideMajorVersion)
                .field("options.allowMajorVersionUpgrade"),
        );
    }
    if options.allow_security_warnings && !caller.has_scope(Scope::ImportOverrideSecurityWarnings) {
        failures.push(
            missing_scope(Scope::ImportOverrideSecurityWarnings)
                .field("options.allowSecurityWarnings"),
        );
    }
    if let Some(by) = &options.imported_by
        && *by != caller.identity
    {
        failures.push(
            Failure::new(
                ErrorCode::ImportedByMismatch,
                format!(
                    "options.importedBy '{}' is not you: imports are recorded as '{}', the identity in your token. Leave importedBy out or send that value.",
                    installhub_domain::ids::printable(by),
                    caller.identity
                ),
            )
            .field("options.importedBy"),
        );
    }
    let valid = match options.check(query_dry_run) {
        Ok(valid) => Some(valid),
        Err(more) => {
            failures.extend(more);
            None
        }
    };
    if let Some(valid) = &valid
        && !caller.can_access(&valid.target_tenant_id)
    {
        failures.push(tenant_denied(&valid.target_tenant_id).field("options.targetTenantId"));
    }
    match valid {
        Some(valid) if failures.is_empty() => Ok(valid),
        _ => Err(ApiError::failures(failures).with_summary(SUMMARY)),
    }
}

/// Step 2: the target must exist and be `Active`.
async fn target_tenant(state: &AppState, id: &TenantId) -> ApiResult<Tenant> {
    let problem = match state.store().get_tenant(id).await? {
        Some(tenant) if tenant.status == TenantStatus::Active => return Ok(tenant),
        Some(tenant) => format!(
            "Tenant '{id}' is {}; only an Active tenant can import.",
            tenant.status
        ),
        None => format!("Tenant '{id}' does not exist."),
    };
    Err(Failure::new(ErrorCode::InvalidTenantId, problem)
        .field("options.targetTenantId")
        .into())
}

/// Maps a bundle reader error to seed 03's codes.
pub fn bundle_error(error: installhub_bundle::BundleError) -> ApiError {
    let code = match error.code() {
        BundleErrorCode::InvalidZip => ErrorCode::InvalidZip,
        BundleErrorCode::ManifestMissing => ErrorCode::ManifestMissing,
        BundleErrorCode::ChecksumMismatch => ErrorCode::ChecksumMismatch,
        BundleErrorCode::Internal => return ApiError::internal(error),
    };
    // The reader's message names the entry and the reason; it only needs to
    // read as a sentence.
    let text = error.to_string();
    let mut chars = text.chars();
    let message = match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => code.as_str().to_owned(),
    };
    Failure::new(code, message).field("package").into()
}

/// Steps 3 and 4 in one pass off the async threads: every archive check,
/// each artifact scanned as it is verified and then dropped, so memory
/// stays bounded whatever the bundle's size. Answers the manifest and the
/// merged scan report.
pub async fn verify_and_scan(
    state: &AppState,
    bundle: &ReceivedBundle,
    limits: ReadLimits,
) -> ApiResult<(Manifest, ScanReport)> {
    let path = bundle.file.path().to_path_buf();
    let scanner = Arc::clone(state.scanner());
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(ApiError::internal)?;
        let mut findings = Vec::new();
        let manifest = read_bundle_each(file, &limits, |artifact, _| {
            let report = scanner.scan([ScanInput {
                artifact_id: artifact.id.as_str(),
                definition: &artifact.definition,
                libraries: &artifact.libraries,
            }]);
            findings.extend(report.security_findings);
            Ok(())
        })
        .map_err(bundle_error)?;
        Ok((manifest, ScanReport::from_findings(findings)))
    })
    .await
    .map_err(ApiError::internal)?
}

fn scan_refusal(report: &ScanReport, warnings_allowed_but_missing: bool) -> ApiError {
    let count = report.security_findings.len();
    let message = match report.result {
        Verdict::Fail => format!(
            "The security scan failed with {count} finding(s); the package was not installed."
        ),
        _ if warnings_allowed_but_missing => format!(
            "The security scan raised {count} warning(s); set allowSecurityWarnings (needs installhub:import:override-security-warnings) to install anyway."
        ),
        _ => format!("The security scan raised {count} warning(s)."),
    };
    Failure::new(ErrorCode::SecurityScanFailed, message)
        .detail("securityScanResult", verdict_value(report.result))
        .detail(
            "securityFindings",
            serde_json::to_value(&report.security_findings).unwrap_or_default(),
        )
        .into()
}

fn verdict_value(verdict: Verdict) -> Value {
    serde_json::to_value(verdict).unwrap_or_default()
}

fn finding_warnings(report: &ScanReport) -> Vec<ImportWarning> {
    report
        .security_findings
        .iter()
        .map(|f| {
            let mut warning = ImportWarning::new(
                "SecurityFinding",
                f.message.clone(),
                ArtifactId::parse(&f.artifact_id).ok(),
            );
            warning
                .details
                .insert("ruleId".into(), f.rule_id.clone().into());
            warning.details.insert(
                "severity".into(),
                serde_json::to_value(f.severity).unwrap_or_default(),
            );
            warning.details.insert("path".into(), f.path.clone().into());
            warning
        })
        .collect()
}

/// A reference to the package's source tenant points into the target once
/// installed; references to any other tenant are kept as they are.
fn retarget(references: &[Reference], source: &TenantId) -> Vec<Reference> {
    references
        .iter()
        .map(|r| Reference {
            artifact_id: r.artifact_id.clone(),
            tenant_id: r.tenant_id.clone().filter(|t| t != source),
        })
        .collect()
}

/// Target artifacts read at once to compare with the package.
const EXISTING_CHUNK: usize = 50;
/// Artifacts written together during the install: at most this many, and
/// no more than about this many bytes of artifact files (the writer holds a
/// batch two or three times over while it encodes and sends it).
const WRITE_BATCH: usize = 100;
const WRITE_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// Verified artifacts in flight between the reader thread and the writer.
const WRITE_QUEUE: usize = 16;

/// The install's second pass over the file: the reader verifies every entry
/// again (the file is ours, but a check costs little next to a write) and
/// hands the artifacts to write over a short queue, so at most a batch of
/// them is in memory at once. Any failure returns before commit.
async fn write_artifacts(
    tx: &mut InstallTx,
    bundle: &ReceivedBundle,
    limits: ReadLimits,
    plan: &ImportPlan,
    tenant: &Tenant,
    manifest: &Manifest,
) -> ApiResult<()> {
    let wanted: HashSet<ArtifactId> = plan.to_write().cloned().collect();
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<(ArtifactFile, usize)>(WRITE_QUEUE);
    let path = bundle.file.path().to_path_buf();
    let reader = tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&path).map_err(ApiError::internal)?;
        read_bundle_each(file, &limits, |artifact, size| {
            if wanted.contains(&artifact.id) {
                sender.blocking_send((artifact, size)).map_err(|_| {
                    installhub_bundle::BundleError::Io(std::io::Error::other(
                        "the install stopped reading the package",
                    ))
                })?;
            }
            Ok(())
        })
        .map_err(bundle_error)
    });
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut batch_bytes = 0;
    while let Some((file, size)) = receiver.recv().await {
        batch_bytes += size;
        let mut artifact = file.into_artifact(tenant.tenant_id.clone(), Utc::now());
        artifact.references = retarget(&artifact.references, &manifest.source_tenant_id);
        batch.push(NewArtifact::from(artifact));
        if batch.len() == WRITE_BATCH || batch_bytes >= WRITE_BATCH_BYTES {
            tx.write_artifacts(&batch).await?;
            batch.clear();
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        tx.write_artifacts(&batch).await?;
    }
    let reread = reader.await.map_err(ApiError::internal)??;
    if reread.checksum != manifest.checksum {
        return Err(ApiError::internal(anyhow::anyhow!(
            "the package file changed during the import"
        )));
    }
    Ok(())
}

fn existing_artifact(artifact: &Artifact) -> ExistingArtifact {
    ExistingArtifact {
        artifact_type: artifact.artifact_type,
        name: artifact.name.clone(),
        version: artifact.version.clone(),
        sha256: sha256_hex(&encode_artifact(artifact)),
    }
}

/// The whole pipeline after the request was read. Records the import (once
/// the target tenant is known) whatever the outcome.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    options: &ImportOptions,
    query_dry_run: Option<bool>,
    input: ImportInput,
) -> ImportOutcome {
    let started_at = Utc::now();
    let accepted = match check_request(caller, options, query_dry_run) {
        Ok(valid) => target_tenant(state, &valid.target_tenant_id)
            .await
            .map(|tenant| (valid, tenant)),
        Err(e) => Err(e),
    };
    // A refused import is recorded too when its target is a tenant the
    // caller may read; nobody can write into another tenant's history.
    let (record_tenant, accepted) = match accepted {
        Ok((valid, tenant)) => (tenant.tenant_id.clone(), Ok((valid, tenant))),
        Err(e) => match recordable_target(state, caller, options).await {
            Some(tenant_id) => (tenant_id, Err(e)),
            None => {
                return ImportOutcome {
                    import_id: None,
                    result: Err(e),
                };
            }
        },
    };
    let import_id = installhub_domain::ImportId::random().to_string();
    let record = ImportRecord {
        import_id: import_id.clone(),
        tenant_id: record_tenant.clone(),
        package_id: None,
        package_name: None,
        version: None,
        source: input.source,
        status: ImportStatus::InProgress,
        installed_by: caller.identity.clone(),
        started_at,
        finished_at: None,
        response: Value::Null,
    };
    if let Err(e) = state.store().insert_import(&record).await {
        return ImportOutcome {
            import_id: None,
            result: Err(e.into()),
        };
    }
    let (valid, tenant) = match accepted {
        Ok(accepted) => accepted,
        Err(e) => {
            record_failure(state, caller, &record_tenant, &import_id, &e).await;
            return ImportOutcome {
                import_id: Some(import_id),
                result: Err(e),
            };
        }
    };
    let result = match install(state, caller, &valid, &tenant, &import_id, input).await {
        Ok(response) => Ok(response),
        Err(error) => {
            let error = error.with_summary(SUMMARY);
            record_failure(state, caller, &tenant.tenant_id, &import_id, &error).await;
            Err(error)
        }
    };
    metrics::counter!(
        "installhub_imports_total",
        "outcome" => match &result {
            Ok(r) if r.status == ImportStatus::DryRun => "dry_run",
            Ok(_) => "success",
            Err(_) => "failure",
        }
    )
    .increment(1);
    metrics::histogram!("installhub_import_duration_seconds").record(
        (Utc::now() - started_at)
            .to_std()
            .unwrap_or_default()
            .as_secs_f64(),
    );
    ImportOutcome {
        import_id: Some(import_id),
        result,
    }
}

/// The target of a refused request, when the caller may read that tenant
/// and it exists: its history then shows the refusal.
async fn recordable_target(
    state: &AppState,
    caller: &Caller,
    options: &ImportOptions,
) -> Option<TenantId> {
    let id = TenantId::parse(options.target_tenant_id.as_deref()?).ok()?;
    if !caller.can_access(&id) {
        return None;
    }
    match state.store().get_tenant(&id).await {
        Ok(Some(_)) => Some(id),
        _ => None,
    }
}

/// The error envelope an import record keeps for a failure.
pub fn error_body(error: &ApiError) -> Value {
    match error {
        ApiError::Failures {
            failures, summary, ..
        } => envelope(failures, summary),
        ApiError::Internal(_) => envelope(
            &[Failure::new(
                ErrorCode::InternalError,
                "An unexpected error occurred on the server.",
            )],
            SUMMARY,
        ),
    }
}

async fn record_failure(
    state: &AppState,
    caller: &Caller,
    tenant: &TenantId,
    import_id: &str,
    error: &ApiError,
) {
    let body = error_body(error);
    let now = Utc::now();
    // The record names the package once its bundle was read.
    let record = state.store().get_import(import_id).await.ok().flatten();
    let package = record.as_ref();
    if let Err(e) = state
        .store()
        .finish_import(import_id, ImportStatus::Failed, now, &body)
        .await
    {
        tracing::error!(error = %e, import_id, "could not record the failed import");
    }
    let entry = NewAuditEntry {
        at: now,
        tenant_id: tenant.clone(),
        actor: caller.identity.clone(),
        event: AuditEvent::ImportFailed(ImportFailed {
            import_id: import_id.to_owned(),
            package_id: package
                .and_then(|r| r.package_id.as_ref())
                .map(ToString::to_string),
            package_name: package.and_then(|r| r.package_name.clone()),
            version: package.and_then(|r| r.version.clone()),
            refusal: Refusal {
                error: error.code(),
                failures: crate::export::failure_summary(error).map(<[_]>::to_vec),
            },
        }),
    };
    if let Err(e) = state.store().record_audit(&entry).await {
        tracing::error!(error = %e, import_id, "could not record the failed import in the audit log");
    }
}

async fn install(
    state: &AppState,
    caller: &Caller,
    options: &ValidImportOptions,
    tenant: &Tenant,
    import_id: &str,
    input: ImportInput,
) -> ApiResult<ImportResponse> {
    let plan_limits = state.config().limits.plan(tenant.plan);
    let input_sha256 = input.bundle.sha256.clone();
    if input.bundle.size > plan_limits.max_package_bytes {
        return Err(Failure::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "The package is {} bytes; tenant '{}' is on the {} plan, which accepts packages up to {} bytes.",
                input.bundle.size, tenant.tenant_id, tenant.plan, plan_limits.max_package_bytes
            ),
        )
        .detail("sizeBytes", input.bundle.size)
        .detail("maxBytes", plan_limits.max_package_bytes)
        .into());
    }
    let limits = ReadLimits::with_size_limit(plan_limits.max_package_bytes);
    let (manifest, report) = verify_and_scan(state, &input.bundle, limits.clone()).await?;
    state
        .store()
        .set_import_package(
            import_id,
            &manifest.package_id,
            &manifest.name,
            &manifest.version,
        )
        .await?;
    let count = manifest.artifacts.len();
    if count > plan_limits.max_artifacts {
        return Err(Failure::new(
            ErrorCode::TooManyArtifacts,
            format!(
                "The package has {count} artifacts; tenant '{}' is on the {} plan, which accepts up to {}.",
                tenant.tenant_id, tenant.plan, plan_limits.max_artifacts
            ),
        )
        .detail("artifactCount", count)
        .detail("maxArtifacts", plan_limits.max_artifacts)
        .into());
    }
    let mut warnings = Vec::new();
    match report.result {
        Verdict::Pass => {}
        Verdict::Fail => return Err(scan_refusal(&report, false)),
        Verdict::Warn if !options.allow_security_warnings => {
            return Err(scan_refusal(&report, true));
        }
        Verdict::Warn => warnings.extend(finding_warnings(&report)),
    }

    // Step 5: everything below runs under the tenant's install lock.
    let manifest = &manifest;
    let ids: Vec<ArtifactId> = manifest.artifacts.iter().map(|a| a.id.clone()).collect();
    let mut tx = state.store().begin_install(&tenant.tenant_id).await?;
    // A few at a time: only their hashes are kept, not their definitions.
    let mut existing: HashMap<ArtifactId, ExistingArtifact> = HashMap::new();
    for chunk in ids.chunks(EXISTING_CHUNK) {
        for artifact in tx.artifacts_by_ids(chunk).await? {
            if artifact.status != ArtifactStatus::Deleted {
                existing.insert(artifact.id.clone(), existing_artifact(&artifact));
            }
        }
    }
    let installed: Vec<InstalledRef> = tx
        .installed_packages()
        .await?
        .into_iter()
        .map(|p| InstalledRef {
            package_name: p.package_name,
            version: p.version,
            checksum: p.checksum,
        })
        .collect();
    let plan = plan_import(PlanContext {
        manifest,
        existing: &existing,
        installed: &installed,
        options,
        tenant_default: tenant.default_conflict_strategy,
    })
    .map_err(ApiError::failures)?;
    warnings.extend(plan.warnings.iter().cloned());

    let dry_run = options.dry_run;
    let now = Utc::now();
    let response = ImportResponse {
        import_id: import_id.to_owned(),
        package_id: manifest.package_id.to_string(),
        package_name: manifest.name.clone(),
        version: manifest.version.clone(),
        status: if dry_run {
            ImportStatus::DryRun
        } else {
            ImportStatus::Success
        },
        artifacts_installed: if dry_run { 0 } else { plan.installed_count() },
        conflicts_resolved: plan.conflicts.len(),
        installed_at: (!dry_run).then_some(now),
        installed_by: caller.identity.clone(),
        install_order: manifest.install_order.clone(),
        conflict_report: ConflictReport {
            conflicts: plan.conflicts.clone(),
        },
        security_scan_result: report.result,
        security_findings: report.security_findings.clone(),
        warnings,
        planned_actions: dry_run.then(|| plan.artifacts.clone()),
    };

    if !dry_run {
        write_artifacts(&mut tx, &input.bundle, limits, &plan, tenant, manifest).await?;
        let artifact_ids = plan
            .artifacts
            .iter()
            .filter(|a| a.action != installhub_domain::PlannedAction::Skip)
            .map(|a| a.artifact_id.clone())
            .collect();
        tx.put_installed_package(&InstalledPackage {
            tenant_id: tenant.tenant_id.clone(),
            package_id: manifest.package_id.clone(),
            package_name: manifest.name.clone(),
            version: manifest.version.clone(),
            checksum: manifest.checksum.clone(),
            artifact_ids,
            import_id: import_id.to_owned(),
            installed_at: now,
            installed_by: caller.identity.clone(),
        })
        .await?;
    }
    let body = serde_json::to_value(&response).map_err(ApiError::internal)?;
    tx.finish_import(import_id, response.status, now, &body)
        .await?;
    tx.record_audit(&NewAuditEntry {
        at: now,
        tenant_id: tenant.tenant_id.clone(),
        actor: caller.identity.clone(),
        event: AuditEvent::Import(PackageImported {
            import_id: import_id.to_owned(),
            package_id: response.package_id.clone(),
            package_name: response.package_name.clone(),
            version: response.version.clone(),
            dry_run,
            artifacts_installed: response.artifacts_installed,
            conflicts_resolved: response.conflicts_resolved,
            security_scan_result: verdict_value(response.security_scan_result),
            bundle_sha256: input_sha256,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(response)
}
