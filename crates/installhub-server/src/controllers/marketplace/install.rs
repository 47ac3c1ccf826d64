//! Installing from the marketplace (seed 04): queue an install, follow it.
//!
//! `POST .../{packageId}/install` checks everything it can at once
//! (permissions, the Community acknowledgment, the target, the version,
//! the import options) and queues a durable job; a worker in any replica
//! runs it (see `crate::installs`). `GET /api/marketplace/installs/{id}/status`
//! answers the seed's three shapes.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use installhub_domain::failure::missing_scope;
use installhub_domain::import::admit::admit_request;
use installhub_domain::marketplace::{
    ACKNOWLEDGMENT_MESSAGE, InstallBody, InstallId, InstallStage, InstallStatus, ListingId,
    TrustLevel, resolve_install_version,
};
use installhub_domain::{Caller, ErrorCode, Failure, Scope};
use installhub_store::{InstallJob, ListingRecord, ListingVersionRecord, NewInstall};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::find_listing;
use crate::controllers::tenants::find_tenant;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{InstallPath, JsonBody, ListingPath};
use crate::installs::{Handed, caller_to_json};
use crate::state::AppState;

/// Longest `Idempotency-Key`, in characters.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// What an install request is answered with.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallAccepted {
    #[schema(example = "mkt-install-7c1e4b2a-9d3f-4e8b-a6c5-0f1d2e3b4a59")]
    pub install_id: String,
    /// `InProgress` (a retried request with the same `Idempotency-Key`
    /// answers the install's status now).
    pub status: InstallStatus,
    #[schema(
        example = "/api/marketplace/installs/mkt-install-7c1e4b2a-9d3f-4e8b-a6c5-0f1d2e3b4a59/status"
    )]
    pub status_url: String,
    /// A rough guess from the bundle's size.
    #[schema(example = 15)]
    pub estimated_seconds: u64,
}

/// `Idempotency-Key`: printable, at most 255 characters.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    check_idempotency_key(value.to_str().ok()).map(Some)
}

/// An idempotency key as sent (`None`: not text): 1-255 printable
/// characters, or the failure that says so. The console's install form
/// sends its key through this check too.
pub fn check_idempotency_key(key: Option<&str>) -> ApiResult<String> {
    match key {
        Some(key)
            if !key.trim().is_empty()
                && key.chars().count() <= MAX_IDEMPOTENCY_KEY
                && installhub_domain::text::forbidden_char(key).is_none() =>
        {
            Ok(key.to_owned())
        }
        _ => Err(Failure::new(
            ErrorCode::InvalidRequestBody,
            format!("Idempotency-Key must be 1-{MAX_IDEMPOTENCY_KEY} printable characters."),
        )
        .field("Idempotency-Key")
        .into()),
    }
}

/// Install a marketplace package into a tenant.
///
/// Needs `installhub:import` and `marketplace:install`; a `Community`
/// listing also needs `marketplace:install:community` and
/// `acknowledgeCommunityPackage: true` (`400 AcknowledgmentRequired`
/// otherwise). `version` omitted installs the latest version not yanked; a
/// yanked version installs when named. A delisted listing installs nothing
/// (`403 ListingDelisted`). The install runs as a durable job: follow it at
/// `statusUrl`. An `Idempotency-Key` header makes a retried request answer
/// the same install.
#[utoipa::path(
    post,
    path = "/api/marketplace/packages/{packageId}/install",
    tag = "marketplace",
    params(
        ("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing."),
        ("Idempotency-Key" = Option<String>, Header, nullable = false, max_length = 255, pattern = r"^[!-~]([ -~]*[!-~])?$", description = "A key of the caller's choosing: the same key answers the same install."),
    ),
    request_body = InstallBody,
    responses(
        (status = 202, description = "The install is queued.", body = InstallAccepted),
        (status = 400, description = "AcknowledgmentRequired, an invalid option or target (every problem listed).", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission, TenantAccessDenied, ListingDelisted, or TrustLevelNotAllowed: the target tenant's `allowedTrustLevels` leave the listing's out.", body = ErrorBody),
        (status = 404, description = "PackageNotFound, VersionNotFound or TenantNotFound.", body = ErrorBody),
        (status = 409, description = "IdempotencyKeyReused: the Idempotency-Key was sent before with another request; the body names that install.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn install(
    State(state): State<AppState>,
    caller: Caller,
    path: ListingPath,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InstallBody>,
) -> ApiResult<(StatusCode, Json<InstallAccepted>)> {
    let key = idempotency_key(&headers)?;
    let accepted = run_install(&state, &caller, &path.package_id, body, key).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)))
}

/// Checks and queues an install of `listing_id` for `caller`: every check
/// of `POST /api/marketplace/packages/{packageId}/install` (the console's
/// install form runs it too). `key` is the request's `Idempotency-Key`.
pub async fn run_install(
    state: &AppState,
    caller: &Caller,
    listing_id: &ListingId,
    body: InstallBody,
    key: Option<String>,
) -> ApiResult<InstallAccepted> {
    let mut failures = Vec::new();
    if !caller.has_scope(Scope::MarketplaceInstall) {
        failures.push(missing_scope(Scope::MarketplaceInstall));
    }
    // The import's own checks: its permission, the target's access and
    // form, the options.
    let options = body.import_options();
    let valid = admit_request(caller, &options, None)
        .map_err(|f| failures.extend(f))
        .ok();
    if !failures.is_empty() {
        return Err(ApiError::failures(failures));
    }
    let valid = valid.expect("no failures");
    let options = serde_json::to_value(&body).map_err(ApiError::internal)?;
    // A retried request answers the install it queued, even when the
    // listing changed since (yanked, delisted, a new latest version).
    if let Some(key) = &key
        && let Some(job) = state.store().install_by_key(&caller.identity, key).await?
    {
        return accepted(state, same_request(job, listing_id, &options)?).await;
    }
    let tenant = find_tenant(state, &valid.target_tenant_id).await?;
    let listing = find_listing(state, listing_id).await?;
    if let Some(allowed) = &tenant.allowed_trust_levels
        && !allowed.contains(&listing.trust_level)
    {
        let names: Vec<&str> = allowed.iter().map(|l| l.as_str()).collect();
        return Err(Failure::new(
            ErrorCode::TrustLevelNotAllowed,
            format!(
                "Tenant '{}' installs only {} marketplace packages; '{}' is {}.",
                tenant.tenant_id,
                if names.is_empty() {
                    "no".to_owned()
                } else {
                    names.join(" or ")
                },
                listing.name,
                listing.trust_level
            ),
        )
        .detail("trustLevel", listing.trust_level.as_str())
        .detail("allowedTrustLevels", names)
        .into());
    }
    if listing.delisted.is_some() {
        return Err(Failure::new(
            ErrorCode::ListingDelisted,
            format!(
                "'{}' was delisted from the marketplace; it cannot be installed.",
                listing.name
            ),
        )
        .detail("packageId", listing.listing_id.as_str())
        .into());
    }
    let versions = state.store().listing_versions(&listing.listing_id).await?;
    let published: Vec<(&str, bool)> = versions
        .iter()
        .map(|v| (v.version.as_str(), v.yanked.is_some()))
        .collect();
    let version = resolve_install_version(body.version.as_deref(), &published)
        .map_err(ApiError::not_found)?
        .to_owned();
    if listing.trust_level == TrustLevel::Community {
        if !caller.has_scope(Scope::MarketplaceInstallCommunity) {
            failures.push(missing_scope(Scope::MarketplaceInstallCommunity));
        }
        if !body.acknowledge_community_package {
            failures.push(
                Failure::new(ErrorCode::AcknowledgmentRequired, ACKNOWLEDGMENT_MESSAGE)
                    .field("acknowledgeCommunityPackage"),
            );
        }
        if !failures.is_empty() {
            return Err(ApiError::failures(failures));
        }
    }
    let chosen = versions.iter().find(|v| v.version == version).cloned();
    let size = chosen.as_ref().map_or(0, |v| v.bundle_size);
    let new = NewInstall {
        install_id: InstallId::random().as_str().to_owned(),
        listing_id: listing.listing_id.clone(),
        version,
        target_tenant_id: valid.target_tenant_id.clone(),
        requested_by: caller.identity.clone(),
        caller: caller_to_json(caller),
        options,
        idempotency_key: key,
        max_attempts: state.config().publichub.install_max_attempts,
    };
    let read = chosen.map(|version| (listing.clone(), version));
    let (job, created) = create(state, &new, read).await?;
    if created {
        metrics::counter!("installhub_marketplace_installs_queued_total").increment(1);
        Ok(accepted_response(job, size))
    } else {
        // Another request with the same key won the race.
        accepted(state, same_request(job, listing_id, &new.options)?).await
    }
}

/// Queues the install, or hands it straight to a worker of this server
/// that is idle (created claimed by it, in the same commit). A task of its
/// own does it, so that a client going away cannot leave an install
/// claimed by a worker that was never handed it.
/// `read`: the listing and the version, as this request read them, for the
/// worker.
async fn create(
    state: &AppState,
    new: &NewInstall,
    read: Option<(ListingRecord, ListingVersionRecord)>,
) -> ApiResult<(InstallJob, bool)> {
    let (state, new) = (state.clone(), new.clone());
    tokio::spawn(async move {
        let store = state.store();
        let idle = read.and_then(|read| Some((state.installs().take_idle()?, read)));
        let Some((worker, (listing, version))) = idle else {
            let (job, created) = store.create_install(&new).await?;
            if created {
                state.installs().wake();
            }
            return Ok((job, created));
        };
        let lease = state.config().publichub.install_lease;
        let (job, claim) = store
            .create_install_claimed(&new, worker.owner(), lease)
            .await?;
        let created = claim.is_some();
        if let Some(claim) = claim {
            worker.hand(Handed {
                job: job.clone(),
                claim,
                listing,
                version,
            });
        }
        Ok((job, created))
    })
    .await
    .map_err(ApiError::internal)?
}

/// The earlier install of an `Idempotency-Key`, when this request is the
/// one that queued it: the same listing and the same body. A key reused
/// for another request is refused rather than answered with an install
/// the caller did not ask for (the IETF Idempotency-Key draft's rule; we
/// answer 409 as for every other conflict with what exists).
fn same_request(job: InstallJob, listing_id: &ListingId, options: &Value) -> ApiResult<InstallJob> {
    if &job.listing_id == listing_id && &job.options == options {
        return Ok(job);
    }
    Err(Failure::new(
        ErrorCode::IdempotencyKeyReused,
        format!(
            "This Idempotency-Key was used for another install request ({}); use a new key for a new request.",
            job.install_id
        ),
    )
    .field("Idempotency-Key")
    .detail("installId", job.install_id)
    .into())
}

async fn accepted(state: &AppState, job: InstallJob) -> ApiResult<InstallAccepted> {
    let size = state
        .store()
        .listing_versions(&job.listing_id)
        .await?
        .into_iter()
        .find(|v| v.version == job.version)
        .map_or(0, |v| v.bundle_size);
    Ok(accepted_response(job, size))
}

fn accepted_response(job: InstallJob, size: u64) -> InstallAccepted {
    InstallAccepted {
        status_url: format!("/api/marketplace/installs/{}/status", job.install_id),
        install_id: job.install_id,
        status: job.status,
        // About 2 MB/s for the download, scan and install, and a few
        // seconds for the queue.
        estimated_seconds: 3 + size / 2_000_000,
    }
}

/// An install's status: in progress, succeeded, or failed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstallStatusView {
    pub status: InstallStatus,
    /// While `InProgress`, and where a `Failed` install stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<InstallStage>,
    /// While `InProgress`: the stage's work done, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "3 of 5 artifacts installed")]
    pub progress: Option<String>,
    /// The import record of the install (`Success`, and a `Failed` install
    /// that reached the import).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_installed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts_resolved: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<DateTime<Utc>>,
    /// `true` for a dry run, which installed nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    /// A dry run's plan, per artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub planned_actions: Option<Value>,
    /// A failure's code.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<ErrorCode>)]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Always `true` for a failure: nothing of it stays installed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rolled_back: Option<bool>,
}

fn progress_words(stage: InstallStage, done: u64, total: u64, attempt: u32, max: u32) -> String {
    match stage {
        InstallStage::Queued if attempt == 0 => "Waiting for a worker".to_owned(),
        InstallStage::Queued => format!("Waiting to try again (attempt {attempt} of {max} failed)"),
        InstallStage::Downloading => format!("{done} of {total} bytes downloaded"),
        InstallStage::Verifying => "Checking the bundle's SHA-256 and signature".to_owned(),
        InstallStage::SecurityScan => "Scanning the package".to_owned(),
        InstallStage::Installing => format!("{done} of {total} artifacts installed"),
    }
}

fn view(state: &AppState, job: &InstallJob) -> InstallStatusView {
    let empty = InstallStatusView {
        status: job.status,
        stage: None,
        progress: None,
        import_id: None,
        artifacts_installed: None,
        conflicts_resolved: None,
        completed_at: None,
        dry_run: None,
        planned_actions: None,
        error: None,
        message: None,
        rolled_back: None,
    };
    match job.status {
        InstallStatus::InProgress => {
            let (stage, done, total) = state.installs().live(&job.install_id).unwrap_or((
                job.stage,
                job.progress_done,
                job.progress_total,
            ));
            InstallStatusView {
                stage: Some(stage),
                progress: Some(progress_words(
                    stage,
                    done,
                    total,
                    job.attempt,
                    job.max_attempts,
                )),
                ..empty
            }
        }
        InstallStatus::Success => {
            let result = job.result.clone().unwrap_or_default();
            let dry_run = result["dryRun"].as_bool().unwrap_or(false);
            InstallStatusView {
                import_id: job.import_id.clone(),
                artifacts_installed: Some(result["artifactsInstalled"].as_u64().unwrap_or(0)),
                conflicts_resolved: Some(result["conflictsResolved"].as_u64().unwrap_or(0)),
                completed_at: job.completed_at,
                dry_run: dry_run.then_some(true),
                planned_actions: dry_run.then(|| result["plannedActions"].clone()),
                ..empty
            }
        }
        InstallStatus::Failed => InstallStatusView {
            stage: Some(job.stage),
            import_id: job.import_id.clone(),
            error: job.error.clone(),
            message: job.message.clone(),
            rolled_back: Some(true),
            ..empty
        },
    }
}

/// Follow a marketplace install.
///
/// The caller who requested it may read it, and so may anyone with
/// `installhub:import` on its target tenant; to everyone else it does not
/// exist.
#[utoipa::path(
    get,
    path = "/api/marketplace/installs/{installId}/status",
    tag = "marketplace",
    params(("installId" = String, Path, pattern = r"^mkt-install-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "From the install's answer.")),
    responses(
        (status = 200, description = "`InProgress` with its stage and progress, `Success` with the import, or `Failed` with the stage, error and `rolledBack`.", body = InstallStatusView),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 404, description = "InstallNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    caller: Caller,
    path: InstallPath,
) -> ApiResult<Json<InstallStatusView>> {
    let (view, _) = readable_install(&state, &caller, &path.install_id).await?;
    Ok(Json(view))
}

/// The install's status and its job, when `caller` may read it: the one
/// who requested it, or anyone with `installhub:import` on its target
/// tenant; to everyone else it does not exist (404 `InstallNotFound`).
pub async fn readable_install(
    state: &AppState,
    caller: &Caller,
    install_id: &InstallId,
) -> ApiResult<(InstallStatusView, InstallJob)> {
    let not_found = || {
        ApiError::not_found(
            Failure::new(
                ErrorCode::InstallNotFound,
                format!("No marketplace install '{}' exists.", install_id.as_str()),
            )
            .detail("installId", install_id.as_str()),
        )
    };
    let job = state
        .store()
        .get_install(install_id.as_str())
        .await?
        .ok_or_else(not_found)?;
    let may_read = job.requested_by == caller.identity
        || (caller.has_scope(Scope::Import) && caller.can_access(&job.target_tenant_id));
    if !may_read {
        return Err(not_found());
    }
    Ok((view(state, &job), job))
}
