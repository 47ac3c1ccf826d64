//! Install: one transaction under the tenant's install lock. The plan is
//! decided from what the tenant has *inside* the lock, then the artifacts,
//! the installed package, the import record and its audit entry commit
//! together. A failure or a crash at any point leaves the tenant as it was.

use std::collections::{HashMap, HashSet};
use std::io::{Seek, SeekFrom};

use chrono::Utc;
use installhub_bundle::{ReadLimits, encode_artifact, reread_bundle_each};
use installhub_domain::import::admit::ImportAttempt;
use installhub_domain::import::pin::PinnedPlan;
use installhub_domain::import::{
    ExistingArtifact, ImportPlan, InstalledRef, PlanContext, ValidImportOptions, plan_import_whole,
};
use installhub_domain::manifest::sha256_hex;
use installhub_domain::model::InstalledStatus;
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ImportStatus, Manifest, PlannedAction, Reference, Tenant,
    TenantId,
};
use installhub_store::{
    AuditEvent, DefinitionJson, HashedArtifact, InstallTx, InstalledPackage, NewArtifact,
    NewAuditEntry, PackageImported,
};

use super::admit::{AdmittedPackage, bundle_error};
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
/// Verified artifacts in flight between the reader thread and the writer:
/// enough to keep the writer busy while the reader inflates the next batch
/// (heaptrack: at 16, large artifacts queued here were half of an import's
/// peak heap).
const WRITE_QUEUE: usize = 4;

/// Step 5: plans and, unless it is a dry run, installs; records the
/// outcome in the same transaction.
pub async fn install(
    state: &AppState,
    attempt: &ImportAttempt,
    options: &ValidImportOptions,
    tenant: &Tenant,
    package: AdmittedPackage,
    bundle: &ReceivedBundle,
    job: Option<&JobHook>,
) -> ApiResult<ImportResponse> {
    let AdmittedPackage {
        manifest,
        report,
        advisory_snapshot,
        mut warnings,
        limits,
    } = package;
    let import_id = &attempt.import_id;
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
        manifest: &manifest,
        existing: &existing,
        installed: &installed,
        options,
        tenant_default: tenant.default_conflict_strategy,
    };
    let (mut plan, failures) = plan_import_whole(context);
    let pinned = PinnedPlan::new(context, tenant.tenant_id.as_str(), &plan);
    let plan_id = pinned.id();
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
            plan::add_changes(&mut tx, bundle, &limits, &mut plan, tenant, &manifest).await?;
            let actions = serde_json::to_value(&plan.artifacts).map_err(ApiError::internal)?;
            error = error.with_member("plannedActions", actions);
        }
        return Err(error);
    }
    warnings.extend(plan.warnings.iter().cloned());
    if dry_run {
        plan::add_changes(&mut tx, bundle, &limits, &mut plan, tenant, &manifest).await?;
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
        // What the install overwrites, so it can be rolled back.
        tx.keep_snapshot(import_id, None).await?;
        write_artifacts(&mut tx, bundle, limits, &plan, tenant, &manifest, job).await?;
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

/// The install's second pass over the file: the reader verifies every entry
/// again (the file is ours, but a check costs little next to a write) and
/// hands the artifacts to write over a short queue, so at most a batch of
/// them is in memory at once. The definitions travel as the compact text
/// the store keeps, not as trees: the admission's read proved them
/// canonical, and the manifest compared at the end binds this read's files
/// to that one's. Any failure returns before commit.
async fn write_artifacts(
    tx: &mut InstallTx,
    bundle: &ReceivedBundle,
    limits: ReadLimits,
    plan: &ImportPlan,
    tenant: &Tenant,
    manifest: &Manifest,
    job: Option<&JobHook>,
) -> ApiResult<()> {
    let wanted: HashSet<ArtifactId> = plan.to_write().cloned().collect();
    let total = wanted.len() as u64;
    let mut written = 0u64;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<(HashedArtifact, usize)>(WRITE_QUEUE);
    // Read through the handle the upload holds, not by path: a sweep of old
    // scratch files can then never take the package from under an import.
    let mut file = bundle
        .file
        .as_file()
        .try_clone()
        .map_err(ApiError::internal)?;
    let (tenant_id, source) = (tenant.tenant_id.clone(), manifest.source_tenant_id.clone());
    // The reader thread also builds each row and hashes its content for the
    // snapshot, so the writer only writes.
    let reader = tokio::task::spawn_blocking(move || {
        file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
        let mut hash_failure = None;
        let manifest = reread_bundle_each(file, &limits, |file, size| {
            if !wanted.contains(&file.id) {
                return Ok(());
            }
            let artifact = HashedArtifact::new(NewArtifact {
                tenant_id: tenant_id.clone(),
                references: retarget(&file.references, &source),
                id: file.id,
                artifact_type: file.r#type,
                name: file.name,
                version: file.version,
                status: file.status,
                definition: DefinitionJson::from_compact_text(file.definition),
                libraries: file.libraries,
            });
            let stopped = match artifact {
                Ok(artifact) => sender.blocking_send((artifact, size)).is_err(),
                Err(e) => {
                    hash_failure = Some(e);
                    true
                }
            };
            if stopped {
                return Err(installhub_bundle::BundleError::Io(std::io::Error::other(
                    "the install stopped reading the package",
                )));
            }
            Ok(())
        });
        if let Some(e) = hash_failure {
            return Err(e.into());
        }
        manifest.map_err(bundle_error)
    });
    let mut batch = Vec::with_capacity(WRITE_BATCH);
    let mut batch_bytes = 0;
    while let Some((artifact, size)) = receiver.recv().await {
        batch_bytes += size;
        batch.push(artifact);
        if batch.len() == WRITE_BATCH || batch_bytes >= WRITE_BATCH_BYTES {
            tx.write_hashed_artifacts(&batch).await?;
            written += batch.len() as u64;
            if let Some(job) = job {
                job.report(InstallStage::Installing, written, total);
            }
            batch.clear();
            batch_bytes = 0;
        }
    }
    if !batch.is_empty() {
        tx.write_hashed_artifacts(&batch).await?;
        written += batch.len() as u64;
        if let Some(job) = job {
            job.report(InstallStage::Installing, written, total);
        }
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
