//! Install: one transaction under the tenant's install lock. The plan is
//! decided from what the tenant has *inside* the lock, then the artifacts,
//! the installed package, the import record and its audit entry commit
//! together. A failure or a crash at any point leaves the tenant as it was.
//!
//! A real import reads its package once ([`super::admit`]): the install
//! plans as soon as the pass has the manifest and writes each artifact as
//! the pass verified and scanned it, and commits only after the pass proved
//! the whole package and the admission accepted it. A dry run writes
//! nothing, so it reads and scans the package first and then plans, never
//! holding the install lock while it reads.

use std::collections::HashMap;

use chrono::Utc;
use installhub_bundle::{BundleError, ReadLimits, encode_artifact};
use installhub_domain::ids::ImportPlanId;
use installhub_domain::import::admit::{
    ImportAttempt, PlanLimits, admit_artifact_count, admit_package_size,
};
use installhub_domain::import::pin::PinnedPlan;
use installhub_domain::import::{
    ExistingArtifact, ImportPlan, InstalledRef, PlanContext, ValidImportOptions, plan_import_whole,
};
use installhub_domain::manifest::sha256_hex;
use installhub_domain::model::InstalledStatus;
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, Failure, ImportStatus, Manifest, PlannedAction,
    Reference, Tenant, TenantId,
};
use installhub_store::{
    AuditEvent, HashedArtifact, InstallTx, InstalledPackage, NewAuditEntry, PackageImported,
};
use tokio::sync::{mpsc, oneshot};

use super::admit::{self, Admission, ReadPackage, WriteOrder};
use super::{ConflictReport, ImportResponse, JobHook, ReceivedBundle, plan};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use installhub_domain::marketplace::InstallStage;

/// Target artifacts read at once to compare with the package.
const EXISTING_CHUNK: usize = 50;
/// Artifacts written together during the install: at most this many, and
/// no more than about this many bytes of artifact files. A batch is held
/// three times over while it is written (ours, sqlx's copy of the
/// arguments, SQLite's bound copy), so its size is the largest lever on the
/// import's peak memory. 1 MiB rather than 2: the 346 MB package's server
/// peak RSS went from 62–68 to 57–61 MiB (five alternating runs) and its
/// SQLite import from a median 7.37 to 7.12 s; PostgreSQL's time and the
/// 1,000 × 20 KB import did not move.
const WRITE_BATCH: usize = 100;
const WRITE_BATCH_BYTES: usize = 1024 * 1024;
/// Scanned rows in flight between the pass and the writer: enough to keep
/// the writer busy while the pass verifies and scans the next ones
/// (heaptrack: at 16, large artifacts queued here were half of an import's
/// peak heap).
const WRITE_QUEUE: usize = 4;

/// Steps 3 to 5: admits the package and, unless it is a dry run, installs
/// it; records the outcome in the install's transaction.
pub async fn import(
    state: &AppState,
    attempt: &mut ImportAttempt,
    options: &ValidImportOptions,
    tenant: &Tenant,
    bundle: &ReceivedBundle,
    job: Option<&JobHook>,
) -> ApiResult<ImportResponse> {
    let plan_limits = state.config().limits.plan(tenant.plan);
    admit_package_size(bundle.size, tenant, plan_limits)?;
    let run = Run {
        state,
        options,
        tenant,
        bundle,
        limits: ReadLimits::with_size_limit(plan_limits.max_package_bytes),
        plan_limits,
        job,
    };
    let (manifest, admission, planned) = if options.dry_run {
        run.read_then_plan(attempt).await?
    } else {
        run.plan_while_reading(attempt).await?
    };
    run.conclude(attempt, manifest, admission, planned).await
}

/// One import's inputs, for its steps.
struct Run<'a> {
    state: &'a AppState,
    options: &'a ValidImportOptions,
    tenant: &'a Tenant,
    bundle: &'a ReceivedBundle,
    limits: ReadLimits,
    plan_limits: PlanLimits,
    job: Option<&'a JobHook>,
}

impl Run<'_> {
    /// A dry run: the package read and admitted, then the plan.
    async fn read_then_plan(
        &self,
        attempt: &mut ImportAttempt,
    ) -> ApiResult<(Manifest, Admission, Planned)> {
        let read = admit::verify_and_scan(self.state, self.bundle, self.limits.clone()).await?;
        let (manifest, admission) =
            admit::admit_read(attempt, self.options, self.tenant, self.plan_limits, read)?;
        self.enter_installing(&manifest).await;
        let planned = plan_in_lock(self.state, self.options, self.tenant, &manifest).await?;
        Ok((manifest, admission, planned))
    }

    /// A real import: planned once the pass has read the manifest, and
    /// each artifact written as the pass verified and scanned it.
    async fn plan_while_reading(
        &self,
        attempt: &mut ImportAttempt,
    ) -> ApiResult<(Manifest, Admission, Planned)> {
        // The pass tells the manifest, then waits for what to write.
        let (manifest_sender, manifest_receiver) = oneshot::channel::<Manifest>();
        let (order_sender, order_receiver) = oneshot::channel::<Option<WriteOrder>>();
        let pass = admit::spawn_read(self.state, self.bundle, self.limits.clone(), |manifest| {
            let _ = manifest_sender.send(manifest.clone());
            order_receiver
                .blocking_recv()
                .map_err(|_| BundleError::Io(std::io::Error::other("the install stopped")))
        })?;
        let Ok(manifest) = manifest_receiver.await else {
            // The package was refused before its manifest was.
            return joined(pass).await.and_then(|_| {
                Err(ApiError::internal(anyhow::anyhow!(
                    "the package was read without its manifest"
                )))
            });
        };
        let (rows, queued) = mpsc::channel(WRITE_QUEUE);
        let (mut planned, order) = match self.decide(attempt, &manifest, rows).await {
            Ok(decided) => decided,
            Err(e) => {
                // The pass stops once it hears there is no install.
                drop(order_sender);
                let _ = joined(pass).await;
                return Err(e);
            }
        };
        let total = order.as_ref().map_or(0, |o| o.wanted.len() as u64);
        let _ = order_sender.send(order);
        // Until the pass ends; on a failure the queue closes, which stops it.
        if let Err(e) = write_rows(&mut planned.tx, queued, self.job, total).await {
            let _ = joined(pass).await;
            return Err(e);
        }
        let admitted = match joined(pass).await {
            Ok(read) => {
                admit::admit_read(attempt, self.options, self.tenant, self.plan_limits, read)
            }
            Err(e) => Err(e),
        };
        let (manifest, admission) = admitted.inspect_err(|_| {
            // The package's own refusals are the scan stage's (seed 04), as
            // when the package was read before the install began.
            if let Some(job) = self.job {
                job.report(InstallStage::SecurityScan, 0, 0);
            }
        })?;
        Ok((manifest, admission, planned))
    }

    /// Plans from the manifest and says what the pass is to send to `rows`.
    /// A plan that will not be carried out, or a package over the plan's
    /// artifact limit, writes nothing; the pass still runs to its end, so
    /// the package's own refusals come first, as they would have.
    async fn decide(
        &self,
        attempt: &ImportAttempt,
        manifest: &Manifest,
        rows: mpsc::Sender<(HashedArtifact, usize)>,
    ) -> ApiResult<(Planned, Option<WriteOrder>)> {
        self.enter_installing(manifest).await;
        let mut planned = plan_in_lock(self.state, self.options, self.tenant, manifest).await?;
        let count = admit_artifact_count(manifest.artifacts.len(), self.tenant, self.plan_limits);
        if !planned.carried_out(self.options) || count.is_err() {
            return Ok((planned, None));
        }
        // What the install overwrites, so it can be rolled back.
        planned.tx.keep_snapshot(&attempt.import_id, None).await?;
        let order = WriteOrder {
            wanted: planned.plan.to_write().cloned().collect(),
            tenant_id: self.tenant.tenant_id.clone(),
            source: manifest.source_tenant_id.clone(),
            rows,
        };
        Ok((planned, Some(order)))
    }

    async fn enter_installing(&self, manifest: &Manifest) {
        if let Some(job) = self.job {
            let total = manifest.artifacts.len() as u64;
            job.enter(self.state, InstallStage::Installing, total).await;
        }
    }
}

/// The pass's outcome, once it ended.
async fn joined(pass: tokio::task::JoinHandle<ApiResult<ReadPackage>>) -> ApiResult<ReadPackage> {
    pass.await.map_err(ApiError::internal)?
}

/// The install transaction and the plan made in it.
struct Planned {
    tx: InstallTx,
    plan: ImportPlan,
    pinned: PinnedPlan,
    plan_id: ImportPlanId,
    failures: Vec<Failure>,
}

impl Planned {
    /// Whether the import carries this plan out unless the package itself
    /// is refused: not a dry run, no failure, and the pin (if any) is it.
    fn carried_out(&self, options: &ValidImportOptions) -> bool {
        !options.dry_run
            && self.failures.is_empty()
            && options
                .plan_id
                .as_ref()
                .is_none_or(|pin| *pin == self.plan_id)
    }
}

/// Opens the install transaction (the tenant's install lock) and plans
/// from what the tenant has inside it.
async fn plan_in_lock(
    state: &AppState,
    options: &ValidImportOptions,
    tenant: &Tenant,
    manifest: &Manifest,
) -> ApiResult<Planned> {
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
            status: p.status,
            superseded_by: p.superseded_by.map(|by| by.package_name),
        })
        .collect();
    let context = PlanContext {
        manifest,
        existing: &existing,
        installed: &installed,
        options,
        tenant_default: tenant.default_conflict_strategy,
    };
    let (plan, failures) = plan_import_whole(context);
    let pinned = PinnedPlan::new(context, tenant.tenant_id.as_str(), &plan);
    let plan_id = pinned.id();
    Ok(Planned {
        tx,
        plan,
        pinned,
        plan_id,
        failures,
    })
}

/// Writes the rows the pass sends, a batch at a time, until it closes the
/// queue.
async fn write_rows(
    tx: &mut InstallTx,
    mut queued: mpsc::Receiver<(HashedArtifact, usize)>,
    job: Option<&JobHook>,
    total: u64,
) -> ApiResult<()> {
    let mut written = 0u64;
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut batch_bytes = 0;
    loop {
        let next = queued.recv().await;
        let done = next.is_none();
        if let Some((row, size)) = next {
            batch_bytes += size;
            batch.push(row);
        }
        let full = batch.len() == WRITE_BATCH || batch_bytes >= WRITE_BATCH_BYTES;
        if full || (done && !batch.is_empty()) {
            tx.write_hashed_artifacts(&batch).await?;
            written += batch.len() as u64;
            if let Some(job) = job {
                job.report(InstallStage::Installing, written, total);
            }
            batch.clear();
            batch_bytes = 0;
        }
        if done {
            return Ok(());
        }
    }
}

impl Run<'_> {
    /// After the package was admitted: the plan's refusals, then the
    /// installed package (the artifacts are written) or the dry run's
    /// plan, the record, the audit entry, the job, one commit.
    async fn conclude(
        &self,
        attempt: &ImportAttempt,
        manifest: Manifest,
        admission: Admission,
        planned: Planned,
    ) -> ApiResult<ImportResponse> {
        let Run {
            state,
            options,
            tenant,
            bundle,
            ref limits,
            job,
            ..
        } = *self;
        let Admission {
            report,
            advisory_snapshot,
            mut warnings,
        } = admission;
        let Planned {
            mut tx,
            mut plan,
            pinned,
            plan_id,
            failures,
        } = planned;
        let import_id = &attempt.import_id;
        // A pin is checked first: whatever else is wrong, the caller reviewed
        // another plan than the one this import would carry out.
        if let Some(pin) = &options.plan_id
            && *pin != plan_id
        {
            return Err(plan::refuse_pin(&mut tx, pin, &pinned, &plan_id).await);
        }
        let dry_run = options.dry_run;
        if !failures.is_empty() {
            let mut error = ApiError::failures(failures);
            // A refused dry run still shows the whole plan, what stops it marked.
            if dry_run {
                plan::add_changes(&mut tx, bundle, limits, &mut plan, tenant, &manifest).await?;
                let actions = serde_json::to_value(&plan.artifacts).map_err(ApiError::internal)?;
                error = error.with_member("plannedActions", actions);
            }
            return Err(error);
        }
        warnings.extend(plan.warnings.iter().cloned());
        if dry_run {
            plan::add_changes(&mut tx, bundle, limits, &mut plan, tenant, &manifest).await?;
        }
        let now = Utc::now();
        let response = ImportResponse {
            import_id: import_id.clone(),
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
            installed_by: attempt.actor.clone(),
            install_order: manifest.install_order.clone(),
            conflict_report: ConflictReport {
                conflicts: plan.conflicts.clone(),
            },
            security_scan_result: report.result,
            security_findings: report.security_findings,
            advisory_snapshot,
            warnings,
            planned_actions: dry_run.then(|| plan.artifacts.clone()),
            plan_id: plan_id.to_string(),
        };
        if dry_run {
            // Kept to list the differences should an import pinned to it find
            // the tenant changed (see plan::refuse_pin).
            tx.put_import_plan(&plan_id, &pinned, now).await?;
        } else {
            // The artifacts were written while the package was read.
            let artifact_ids = plan
                .artifacts
                .iter()
                .filter(|a| a.action != PlannedAction::Skip)
                .map(|a| a.artifact_id.clone())
                .collect();
            let package = InstalledPackage {
                tenant_id: tenant.tenant_id.clone(),
                package_id: manifest.package_id.clone(),
                package_name: manifest.name.clone(),
                version: manifest.version.clone(),
                checksum: manifest.checksum.clone(),
                artifact_ids,
                import_id: import_id.clone(),
                installed_at: now,
                installed_by: attempt.actor.clone(),
                status: InstalledStatus::Installed,
                superseded_by: None,
                owned_artifacts: 0,
            };
            tx.put_installed_package(&package).await?;
            let depends_on: Vec<String> = manifest
                .package_dependencies
                .iter()
                .map(|d| d.package_name.clone())
                .collect();
            tx.set_package_dependencies(&package.package_name, &depends_on)
                .await?;
            // In the same transaction, so ownership commits or rolls back with
            // the artifacts; what the plan skipped stays with its owner.
            let written: Vec<ArtifactId> = plan.to_write().cloned().collect();
            let unchanged: Vec<ArtifactId> = plan
                .artifacts
                .iter()
                .filter(|a| a.action == PlannedAction::Unchanged)
                .map(|a| a.artifact_id.clone())
                .collect();
            let superseded = tx.claim_artifacts(&package, &written, &unchanged).await?;
            if !superseded.is_empty() {
                tracing::info!(%import_id, ?superseded, "the install superseded packages");
            }
        }
        if let Some(package) = &attempt.package {
            tx.set_import_package(
                import_id,
                &package.package_id,
                &package.name,
                &package.version,
            )
            .await?;
        }
        let body = serde_json::to_value(&response).map_err(ApiError::internal)?;
        tx.finish_import(import_id, response.status, now, &body)
            .await?;
        tx.record_audit(&NewAuditEntry {
            at: now,
            tenant_id: tenant.tenant_id.clone(),
            actor: attempt.actor.clone(),
            event: AuditEvent::Import(PackageImported {
                import_id: import_id.clone(),
                package_id: response.package_id.clone(),
                package_name: response.package_name.clone(),
                version: response.version.clone(),
                dry_run,
                artifacts_installed: response.artifacts_installed,
                conflicts_resolved: response.conflicts_resolved,
                security_scan_result: response.security_scan_result,
                bundle_sha256: attempt.bundle_sha256.clone().unwrap_or_default(),
            }),
        })
        .await?;
        if let Some(job) = job {
            // The job's success commits with the install, or neither does: a
            // worker that lost its claim rolls its install back here.
            let result = serde_json::json!({
                "importId": import_id,
                "artifactsInstalled": response.artifacts_installed,
                "conflictsResolved": response.conflicts_resolved,
                "completedAt": now,
                "dryRun": dry_run,
                "plannedActions": response.planned_actions,
            });
            let listing = (!dry_run).then_some(&job.listing_id);
            tx.finish_marketplace_install(&job.claim, listing, import_id.as_str(), &result)
                .await?;
            tx.notify(&(job.on_success)(&response)).await?;
        }
        tx.commit().await?;
        if job.is_some() {
            state.wake_mailer();
        }
        Ok(response)
    }
}

/// A reference to the package's source tenant points into the target once
/// installed; references to any other tenant are kept as they are.
pub(super) fn retarget(references: &[Reference], source: &TenantId) -> Vec<Reference> {
    references
        .iter()
        .map(|r| Reference {
            artifact_id: r.artifact_id.clone(),
            tenant_id: r.tenant_id.clone().filter(|t| t != source),
        })
        .collect()
}

fn existing_artifact(artifact: &Artifact) -> ExistingArtifact {
    ExistingArtifact {
        artifact_type: artifact.artifact_type,
        name: artifact.name.clone(),
        version: artifact.version.clone(),
        sha256: sha256_hex(&encode_artifact(artifact)),
    }
}
