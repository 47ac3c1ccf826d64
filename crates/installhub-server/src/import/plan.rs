//! What a dry run shows of its plan, and the check of a pinned plan
//! (`options.planId`), both inside the install transaction that planned.
//!
//! - [`add_changes`]: each `Replace` (and `Conflict`) entry gets the JSON
//!   Patch from the tenant's live artifact, read in the transaction, to the
//!   package's as it would be installed.
//! - [`refuse_pin`]: a pin that is not the plan made now is `409
//!   PlanOutdated` with the differences from the plan the dry run stored,
//!   or `400 InvalidPlanId` when the tenant has no such plan.

use std::collections::HashMap;
use std::io::{Seek, SeekFrom};

use chrono::Utc;
use installhub_bundle::{ArtifactFile, ReadLimits, read_bundle_each};
use installhub_domain::ids::ImportPlanId;
use installhub_domain::import::ImportPlan;
use installhub_domain::import::changes::artifact_changes;
use installhub_domain::import::pin::PinnedPlan;
use installhub_domain::{ArtifactId, ErrorCode, Failure, Manifest, PlannedAction, Tenant};
use installhub_store::InstallTx;

use super::ReceivedBundle;
use super::admit::bundle_error;
use super::install::retarget;
use crate::error::{ApiError, ApiResult};

/// Live artifacts read at once to compare with the package's.
const COMPARE_BATCH: usize = 50;
/// Package artifacts in flight between the reader thread and the differ.
const COMPARE_QUEUE: usize = 16;

/// Sets `changes` on every `Replace` and `Conflict` entry of `plan`. The
/// package's artifacts are read again from the file (only those), a batch
/// at a time, and compared with the tenant's rows as the transaction sees
/// them, so at most a batch of each side is in memory.
pub async fn add_changes(
    tx: &mut InstallTx,
    bundle: &ReceivedBundle,
    limits: &ReadLimits,
    plan: &mut ImportPlan,
    tenant: &Tenant,
    manifest: &Manifest,
) -> ApiResult<()> {
    let wanted: std::collections::HashSet<ArtifactId> = plan
        .artifacts
        .iter()
        .filter(|a| matches!(a.action, PlannedAction::Replace | PlannedAction::Conflict))
        .map(|a| a.artifact_id.clone())
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<ArtifactFile>(COMPARE_QUEUE);
    let mut file = bundle
        .file
        .as_file()
        .try_clone()
        .map_err(ApiError::internal)?;
    let limits = limits.clone();
    let reader = tokio::task::spawn_blocking(move || {
        file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
        read_bundle_each(file, &limits, |artifact, _| {
            if wanted.contains(&artifact.id) {
                sender.blocking_send(artifact).map_err(|_| {
                    installhub_bundle::BundleError::Io(std::io::Error::other(
                        "the dry run stopped reading the package",
                    ))
                })?;
            }
            Ok(())
        })
        .map_err(bundle_error)
    });
    let mut changes = HashMap::new();
    let mut batch = Vec::with_capacity(COMPARE_BATCH);
    loop {
        let next = receiver.recv().await;
        let done = next.is_none();
        if let Some(file) = next {
            let mut incoming = file.into_artifact(tenant.tenant_id.clone(), Utc::now());
            incoming.references = retarget(&incoming.references, &manifest.source_tenant_id);
            batch.push(incoming);
        }
        if batch.len() == COMPARE_BATCH || (done && !batch.is_empty()) {
            let ids: Vec<ArtifactId> = batch.iter().map(|a| a.id.clone()).collect();
            let live: HashMap<ArtifactId, _> = tx
                .artifacts_by_ids(&ids)
                .await?
                .into_iter()
                .map(|a| (a.id.clone(), a))
                .collect();
            for incoming in batch.drain(..) {
                if let Some(live) = live.get(&incoming.id) {
                    changes.insert(incoming.id.clone(), artifact_changes(live, &incoming));
                }
            }
        }
        if done {
            break;
        }
    }
    reader.await.map_err(ApiError::internal)??;
    for entry in &mut plan.artifacts {
        if let Some(ops) = changes.remove(&entry.artifact_id) {
            entry.changes = Some(ops);
        }
    }
    Ok(())
}

/// The refusal of a pin that is not the plan made now (`now`, whose id is
/// `now_id`): `409 PlanOutdated` listing how `now` differs from the plan
/// stored under `pin` for this tenant, or `400 InvalidPlanId` when the
/// tenant has none (a plan of another tenant, never answered, or swept).
pub async fn refuse_pin(
    tx: &mut InstallTx,
    pin: &ImportPlanId,
    now: &PinnedPlan,
    now_id: &ImportPlanId,
) -> ApiError {
    let stored = match tx.import_plan(pin).await {
        Ok(stored) => stored,
        Err(e) => return e.into(),
    };
    let Some(pinned) = stored else {
        return Failure::new(
            ErrorCode::InvalidPlanId,
            format!(
                "No dry run into tenant '{}' answered plan '{pin}' (or it is older than {} days). Run the dry run again and import with the planId it answers.",
                tx.tenant_id(),
                crate::leftovers::PLAN_RETENTION.as_secs() / 86_400
            ),
        )
        .field("options.planId")
        .detail("planId", pin.as_str())
        .into();
    };
    let differences = pinned.differences(now);
    Failure::new(
        ErrorCode::PlanOutdated,
        format!(
            "The import no longer matches plan '{pin}': the plan made now differs in {} place(s) (see 'differences'), so nothing was installed. Review the dry run's new plan ('{now_id}') and import with it.",
            differences.len()
        ),
    )
    .field("options.planId")
    .detail("planId", pin.as_str())
    .detail("currentPlanId", now_id.as_str())
    .detail(
        "differences",
        serde_json::to_value(&differences).unwrap_or_default(),
    )
    .into()
}
