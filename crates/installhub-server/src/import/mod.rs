//! The import pipeline (seed 03, SPEC §7): request → admit → install →
//! record, in the order that keeps a bad package from ever touching a
//! tenant. The rules of each step are pure domain code
//! ([`installhub_domain::import::admit`], [`installhub_domain::import::plan_import`]);
//! these modules gather what the rules need and carry out their answer.
//!
//! 1. [`request`]: permissions and options, all failures together; the
//!    target tenant must exist and be `Active`. From here on the import has
//!    a record.
//! 2. [`admit`]: the plan's size limit, then the archive read and verified
//!    in full (every hostile-archive rule; nothing is inflated before the
//!    structure, the limits and the manifest passed) and scanned in the
//!    same pass; the plan's artifact limit and the scan's verdict.
//! 3. [`install`]: the install transaction: the tenant's install lock, the
//!    plan decided from what the tenant has *inside* the lock, the writes,
//!    the import record and the audit entry, one commit. A real import
//!    plans once the pass has read the manifest and writes each artifact
//!    as the pass verified and scanned it, so the package is read once;
//!    nothing commits before the pass proved the whole package and step 2
//!    admitted it. A failure or a crash at any point leaves the tenant as
//!    it was.
//! 4. [`record`]: a failure closes the record and writes its audit entry
//!    from the [`ImportAttempt`] carried through the steps.
//!
//! Any source of a package (an upload, a stored export, a marketplace
//! listing) runs [`run`].

mod admit;
mod install;
mod plan;
mod record;
mod request;
mod upload;

use chrono::{DateTime, Utc};
use installhub_domain::import::admit::ImportAttempt;
use installhub_domain::import::{ArtifactPlan, ConflictEntry, ImportOptions, ImportWarning};
use installhub_domain::marketplace::InstallStage;
use installhub_domain::{ArtifactId, Caller, ImportId, ImportSource, ImportStatus};
use installhub_scan::Verdict;
use serde::Serialize;
use utoipa::ToSchema;

pub use self::admit::{ReadPackage, bundle_error, verify_and_scan};
pub use self::record::error_body;
pub use self::upload::{
    GuardedMultipart, MultipartImport, ReceivedBundle, Spool, copy_stored, read_multipart,
};
use crate::error::ApiResult;
use crate::state::AppState;

const SUMMARY: &str = "The import was refused. See 'errors' for every reason.";

/// Seed 03's import response, plus `plannedActions` for a dry run and the
/// scan's findings.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportResponse {
    #[schema(value_type = String, example = "imp-f9a2c1e8-7b3d-4e5f-a1c2-d3e4f5a6b7c8")]
    pub import_id: ImportId,
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
    #[schema(example = "PASS")]
    pub security_scan_result: Verdict,
    pub security_findings: Vec<installhub_scan::Finding>,
    /// The advisory data the libraries were checked against.
    pub advisory_snapshot: installhub_scan::AdvisorySnapshot,
    pub warnings: Vec<ImportWarning>,
    /// What the import does with each artifact, in install order (dry run
    /// only), `Replace` entries with their field-level `changes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub planned_actions: Option<Vec<ArtifactPlan>>,
    /// The plan's id: the SHA-256 of what it decided (package, target
    /// tenant, effective options, and per artifact the action, versions and
    /// both contents' hashes). Send it as `options.planId` to install
    /// exactly this plan or nothing. A real import answers the id of the
    /// plan it carried out.
    #[schema(
        example = "plan-3f1c0b8e9a7d6c5b4a3928170f6e5d4c3b2a19080706050403020100ffeeddcc",
        pattern = r"^plan-[0-9a-f]{64}$"
    )]
    pub plan_id: String,
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
    /// The marketplace install this import runs for, if any.
    pub job: Option<JobHook>,
}

/// What a marketplace install's job needs from the pipeline: its stages
/// and progress as they happen, and its success committed in the install
/// transaction under its claim (see `installhub_store::installs`).
pub struct JobHook {
    pub claim: installhub_store::Claim,
    pub listing_id: installhub_domain::ListingId,
    /// Told the stage and "done of total" as the import reaches them.
    pub progress: std::sync::Arc<dyn Fn(InstallStage, u64, u64) + Send + Sync>,
    /// The record of the stage the job entered before the import
    /// (`Verifying`), written while the job went on: the import's first
    /// stage record waits for it, so the stages reach the row in order.
    pub recording: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The installing user's notification of the success, stored in the
    /// install transaction so it exists exactly when the install does.
    pub on_success: Box<dyn Fn(&ImportResponse) -> installhub_store::NewNotification + Send + Sync>,
}

impl JobHook {
    pub fn report(&self, stage: InstallStage, done: u64, total: u64) {
        (self.progress)(stage, done, total);
    }

    /// Enters a stage: written to the job's row before the install
    /// transaction opens (so on SQLite too, where a write during it would
    /// wait for it), then reported live. A server that dies later leaves
    /// the stage it died in on the row.
    async fn enter(&self, state: &AppState, stage: InstallStage, total: u64) {
        self.recorded().await;
        let entered = state
            .store()
            .set_install_stage(&self.claim, stage, 0, total)
            .await;
        self.entered(stage, total, entered);
    }

    /// Waits for the stage record still being written, if any.
    pub(crate) async fn recorded(&self) {
        let recording = self
            .recording
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(recording) = recording {
            let _ = recording.await;
        }
    }

    /// Reports a stage whose record was written (or failed to be).
    fn entered(&self, stage: InstallStage, total: u64, written: installhub_store::Result<bool>) {
        if let Err(e) = written {
            tracing::warn!(install = %self.claim.install_id, error = %e, "recording the install's stage failed");
        }
        self.report(stage, 0, total);
    }
}

/// The outcome the handler answers with: the import id (when a record was
/// made) and the response or the error.
pub struct ImportOutcome {
    pub import_id: Option<ImportId>,
    pub result: ApiResult<ImportResponse>,
}

/// The whole pipeline after the request was read. Records the import (once
/// a target tenant the caller may read is known) whatever the outcome.
pub async fn run(
    state: &AppState,
    caller: &Caller,
    options: &ImportOptions,
    query_dry_run: Option<bool>,
    input: ImportInput,
) -> ImportOutcome {
    let mut attempt = ImportAttempt::new(caller.identity.clone(), input.source, Utc::now());
    attempt.bundle_sha256 = Some(input.bundle.sha256.clone());
    let accepted = request::accept(state, caller, options, query_dry_run).await;
    let (record_tenant, accepted) = match accepted {
        Ok(accepted) => (accepted.tenant.tenant_id.clone(), Ok(accepted)),
        Err(e) => match request::recordable_target(state, caller, options).await {
            Some(tenant) => (tenant, Err(e)),
            None => {
                return ImportOutcome {
                    import_id: None,
                    result: Err(e.with_summary(SUMMARY)),
                };
            }
        },
    };
    // A job entering the scan records it with the import's record.
    let entering = match (&accepted, &input.job) {
        (Ok(_), Some(job)) => Some((job, InstallStage::SecurityScan)),
        _ => None,
    };
    if let Err(e) = record::open(state, &attempt, &record_tenant, entering).await {
        return ImportOutcome {
            import_id: None,
            result: Err(e),
        };
    }
    // From here on the id names a record, so the logs may carry it.
    tracing::Span::current().record("import_id", attempt.import_id.as_str());
    let result = match accepted {
        Ok(accepted) => {
            let (options, tenant) = (accepted.options, accepted.tenant);
            install::import(
                state,
                &mut attempt,
                &options,
                &tenant,
                &input.bundle,
                input.job.as_ref(),
            )
            .await
        }
        Err(e) => Err(e),
    };
    let result = match result {
        Ok(response) => Ok(response),
        Err(error) => {
            let error = error.with_summary(SUMMARY);
            record::failure(state, &attempt, &record_tenant, &error).await;
            Err(error)
        }
    };
    record::metrics(&attempt, &result);
    ImportOutcome {
        import_id: Some(attempt.import_id),
        result,
    }
}
