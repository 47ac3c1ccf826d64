//! Record: every import the caller may see is in its tenant's history,
//! refusals included. The record is opened before the package is read and
//! closed with the outcome: a success inside the install transaction
//! ([`super::install`]), a failure here, from the [`ImportAttempt`] alone.

use chrono::Utc;
use installhub_domain::import::admit::ImportAttempt;
use installhub_domain::marketplace::InstallStage;
use installhub_domain::{ErrorCode, Failure, ImportStatus, TenantId};
use installhub_store::{AuditEvent, ImportFailed, ImportRecord, NewAuditEntry, Refusal};
use serde_json::Value;

use super::{ImportResponse, SUMMARY};
use crate::error::{ApiError, ApiResult, add_members, envelope};
use crate::state::AppState;

/// Opens the attempt's record, `InProgress`, in `tenant`'s history. For a
/// marketplace install going on to `stage`, the job enters it in the same
/// commit (see [`super::JobHook::enter`]).
pub async fn open(
    state: &AppState,
    attempt: &ImportAttempt,
    tenant: &TenantId,
    entering: Option<(&super::JobHook, InstallStage)>,
) -> ApiResult<()> {
    let record = ImportRecord {
        import_id: attempt.import_id.clone(),
        tenant_id: tenant.clone(),
        package_id: None,
        package_name: None,
        version: None,
        source: attempt.source,
        status: ImportStatus::InProgress,
        installed_by: attempt.actor.clone(),
        started_at: attempt.started_at,
        finished_at: None,
        response: Value::Null,
    };
    match entering {
        None => state.store().insert_import(&record).await?,
        Some((job, stage)) => {
            job.recorded().await;
            let entered = state
                .store()
                .insert_import_entering_stage(&record, &job.claim, stage)
                .await?;
            job.entered(stage, 0, Ok(entered));
        }
    }
    Ok(())
}

/// The error envelope an import record keeps for a failure.
pub fn error_body(error: &ApiError) -> Value {
    match error {
        ApiError::Failures {
            failures,
            summary,
            extra,
            ..
        } => {
            let mut body = envelope(failures, summary);
            add_members(&mut body, extra.clone());
            body
        }
        ApiError::Internal(_) => envelope(
            &[Failure::new(
                ErrorCode::InternalError,
                "An unexpected error occurred on the server.",
            )],
            SUMMARY,
        ),
    }
}

/// Closes the record as `Failed` and writes the audit entry. Neither may
/// hide the import's own error, so their failures are only logged.
pub async fn failure(
    state: &AppState,
    attempt: &ImportAttempt,
    tenant: &TenantId,
    error: &ApiError,
) {
    let import_id = &attempt.import_id;
    let now = Utc::now();
    let package = attempt.package.as_ref();
    // Named once the package was read in full; an install names it in its
    // transaction, which this failure rolled back.
    if let Some(p) = package
        && let Err(e) = state
            .store()
            .set_import_package(import_id, &p.package_id, &p.name, &p.version)
            .await
    {
        tracing::error!(error = %e, %import_id, "could not name the failed import's package");
    }
    if let Err(e) = state
        .store()
        .finish_import(import_id, ImportStatus::Failed, now, &error_body(error))
        .await
    {
        tracing::error!(error = %e, %import_id, "could not record the failed import");
    }
    let entry = NewAuditEntry {
        at: now,
        tenant_id: tenant.clone(),
        actor: attempt.actor.clone(),
        event: AuditEvent::ImportFailed(ImportFailed {
            import_id: import_id.clone(),
            package_id: package.map(|p| p.package_id.to_string()),
            package_name: package.map(|p| p.name.clone()),
            version: package.map(|p| p.version.clone()),
            refusal: Refusal {
                error: error.code(),
                failures: crate::export::failure_summary(error).map(<[_]>::to_vec),
            },
        }),
    };
    if let Err(e) = state.store().record_audit(&entry).await {
        tracing::error!(error = %e, %import_id, "could not record the failed import in the audit log");
    }
}

/// Counts and times every import by its outcome.
pub fn metrics(attempt: &ImportAttempt, result: &ApiResult<ImportResponse>) {
    metrics::counter!(
        "installhub_imports_total",
        "outcome" => match result {
            Ok(r) if r.status == ImportStatus::DryRun => "dry_run",
            Ok(_) => "success",
            Err(_) => "failure",
        }
    )
    .increment(1);
    metrics::histogram!("installhub_import_duration_seconds").record(
        (Utc::now() - attempt.started_at)
            .to_std()
            .unwrap_or_default()
            .as_secs_f64(),
    );
}
