//! Marketplace install workers (seed 04, SPEC §8).
//!
//! Every server runs `--install-workers` of them. A worker claims a due job
//! (see `installhub_store` installs: a lease, fenced by the attempt), keeps
//! its lease alive, and runs the stages:
//!
//! 1. `Downloading`: the bundle from the PublicHub's CDN over HTTP, with
//!    retries and backoff, into a temporary file (never more bytes than the
//!    version states);
//! 2. `Verifying`: its size and SHA-256 against the version, and the
//!    version's Ed25519 signature against the PublicHub's JWKS;
//! 3. `SecurityScan` and `Installing`: the import pipeline, exactly as
//!    `POST /api/installhub/packages/import` runs it, with the marketplace
//!    as the source; the job's success commits in its install transaction.
//!
//! A refusal (tampered bytes, a bad signature, a failed scan, a conflict)
//! fails the job at once. A PublicHub that stays down, or an internal
//! error, puts the job back in the queue with a backoff, until its last
//! attempt. Nothing is installed unless the install transaction commits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use installhub_auth::PublisherKeySet;
use installhub_domain::marketplace::{InstallBody, InstallStage, VersionStatement};
use installhub_domain::{Caller, ErrorCode, ImportSource, Scope, TenantAccess, TenantId};
use installhub_store::{Claim, InstallJob, ListingRecord, ListingVersionRecord};
use serde_json::{Value, json};

use crate::import::{ImportInput, JobHook, ReceivedBundle, Spool};
use crate::state::AppState;

/// The live stage and progress of the installs this server runs, for
/// status reads that should not wait on an install transaction.
#[derive(Default)]
pub struct Installs {
    /// This server's own base URL: the PublicHub when none is configured.
    self_url: OnceLock<String>,
    /// Wakes an idle worker when an install is queued here.
    wake: tokio::sync::Notify,
    /// Workers of this server waiting for work, each with the channel a
    /// request hands it an install on (see [`Installs::take_idle`]).
    idle: Mutex<Vec<IdleWorker>>,
    live: Mutex<HashMap<String, (InstallStage, u64, u64)>>,
    /// The PublicHub's key set as last fetched: see [`KEYS_TTL`].
    keys: Mutex<Option<CachedKeys>>,
}

/// How long a PublicHub's key set is used without asking for it again. A
/// signature that does not verify against the cached set is checked once
/// more against a fresh one (a key rotated in since), so the cache never
/// refuses what the PublicHub vouches for; a key the PublicHub withdrew is
/// still trusted here for at most this long.
const KEYS_TTL: Duration = Duration::from_secs(60);

struct CachedKeys {
    url: String,
    fetched: std::time::Instant,
    keys: Arc<PublisherKeySet>,
}

/// A worker waiting for work, as a request finds it.
pub struct IdleWorker {
    owner: String,
    hand: tokio::sync::oneshot::Sender<Handed>,
}

/// An install handed to a worker: the job, its claim, and the listing and
/// version the request has just read and checked (a queued install's
/// worker reads them itself).
pub struct Handed {
    pub job: InstallJob,
    pub claim: Claim,
    pub listing: ListingRecord,
    pub version: ListingVersionRecord,
}

impl IdleWorker {
    /// The owner the install is to be claimed by.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Gives the worker the install created claimed by it. Dropping an
    /// `IdleWorker` instead sends it back to waiting.
    pub fn hand(self, handed: Handed) {
        // Only a worker that stopped (the server is shutting down) is gone;
        // the install's lease then runs out and another claims it.
        let _ = self.hand.send(handed);
    }
}

impl Installs {
    /// An install was queued: a worker here may take it at once.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A worker of this server with nothing to do, taken off the idle list:
    /// the install request creates its install already claimed by it and
    /// hands it over, which saves the worker's claim (a write) and its
    /// waking. `None`: every worker is busy; queue the install and wake.
    pub fn take_idle(&self) -> Option<IdleWorker> {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// `owner` waits for work: the receiver gets an install handed over, or
    /// an error when the request that took the worker made none.
    fn go_idle(&self, owner: &str) -> tokio::sync::oneshot::Receiver<Handed> {
        let (hand, handed) = tokio::sync::oneshot::channel();
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(IdleWorker {
                owner: owner.to_owned(),
                hand,
            });
        handed
    }

    /// `owner` stops waiting. `false`: a request took it meanwhile, and
    /// its install (or the news that there is none) is on the way.
    fn leave_idle(&self, owner: &str) -> bool {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let before = idle.len();
        idle.retain(|w| w.owner != owner);
        idle.len() < before
    }

    /// Installs this server's workers run now.
    pub fn running(&self) -> usize {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The live stage and progress of an install this server runs.
    pub fn live(&self, install_id: &str) -> Option<(InstallStage, u64, u64)> {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(install_id)
            .copied()
    }

    fn cached_keys(&self, url: &str) -> Option<Arc<PublisherKeySet>> {
        let cached = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        cached
            .as_ref()
            .filter(|c| c.url == url && c.fetched.elapsed() < KEYS_TTL)
            .map(|c| Arc::clone(&c.keys))
    }

    fn cache_keys(&self, url: &str, keys: Arc<PublisherKeySet>) {
        *self.keys.lock().unwrap_or_else(PoisonError::into_inner) = Some(CachedKeys {
            url: url.to_owned(),
            fetched: std::time::Instant::now(),
            keys,
        });
    }

    fn set_live(&self, install_id: &str, progress: Option<(InstallStage, u64, u64)>) {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        match progress {
            Some(p) => {
                live.insert(install_id.to_owned(), p);
            }
            None => {
                live.remove(install_id);
            }
        }
    }
}

/// Starts the workers; `addr` is where this server listens (its own
/// PublicHub unless one is configured).
pub fn start(state: &AppState, addr: SocketAddr) -> Vec<tokio::task::JoinHandle<()>> {
    let host = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let _ = state.installs().self_url.set(format!("http://{host}"));
    (0..state.config().publichub.install_workers)
        .map(|i| {
            let state = state.clone();
            let owner = format!("{}/{i}", state.store().instance_id());
            tokio::spawn(async move { work(state, owner).await })
        })
        .collect()
}

/// Where installs download from.
fn publichub_url(state: &AppState) -> String {
    state
        .config()
        .publichub
        .url
        .clone()
        .or_else(|| state.installs().self_url.get().cloned())
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned())
        .trim_end_matches('/')
        .to_owned()
}

async fn work(state: AppState, owner: String) {
    let lease = state.config().publichub.install_lease;
    // Interrupted installs are failed at most every few seconds: their
    // leases take far longer to run out.
    let mut last_sweep: Option<std::time::Instant> = None;
    let mut woken = false;
    loop {
        // Woken for a queued install: claim it before anything else (a
        // sweep is a write the claim would wait for); the sweep comes on
        // the next turn.
        let just_woken = std::mem::take(&mut woken);
        if !just_woken && last_sweep.is_none_or(|at| at.elapsed() >= SWEEP_EVERY) {
            last_sweep = Some(std::time::Instant::now());
            for job in sweep(&state).await {
                metrics::counter!("installhub_marketplace_installs_total", "outcome" => "interrupted")
                    .increment(1);
                let error = StageError::refused(
                    job.stage,
                    ErrorCode::InstallInterrupted,
                    format!(
                        "The server running it stopped during its last attempt ({} of {}).",
                        job.attempt, job.max_attempts
                    ),
                );
                notify_interrupted(&state, &job, &error).await;
            }
        }
        match state.store().claim_install(&owner, lease).await {
            Ok(Some((job, claim))) => run_claimed(&state, job, claim, lease, None).await,
            Ok(None) => {
                // Nothing due: wait to be handed an install or woken for a
                // queued one, or for a second to pass (installs due for a
                // retry, or queued on another server).
                let mut handed = state.installs().go_idle(&owner);
                let waited = tokio::select! {
                    handed = &mut handed => Some(handed),
                    woke = tokio::time::timeout(Duration::from_secs(1), state.installs().wake.notified()) => {
                        woken = woke.is_ok();
                        None
                    }
                };
                let handed = match waited {
                    Some(handed) => handed.ok(),
                    None if state.installs().leave_idle(&owner) => None,
                    None => handed.await.ok(),
                };
                if let Some(handed) = handed {
                    let Handed {
                        job,
                        claim,
                        listing,
                        version,
                    } = handed;
                    run_claimed(&state, job, claim, lease, Some((listing, version))).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "claiming a marketplace install failed");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Runs a job this worker holds the claim on, keeping its lease alive.
/// `read`: the listing and version, when the request handed them over.
async fn run_claimed(
    state: &AppState,
    job: InstallJob,
    claim: Claim,
    lease: Duration,
    read: Option<(ListingRecord, ListingVersionRecord)>,
) {
    let id = job.install_id.clone();
    let heartbeat = tokio::spawn(heartbeat(state.clone(), claim.clone(), lease));
    run(state, job, &claim, read).await;
    heartbeat.abort();
    state.installs().set_live(&id, None);
}

/// How often a worker fails installs interrupted on their last attempt.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

async fn sweep(state: &AppState) -> Vec<InstallJob> {
    state
        .store()
        .fail_interrupted_installs()
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "failing interrupted marketplace installs failed");
            Vec::new()
        })
}

async fn heartbeat(state: AppState, claim: Claim, lease: Duration) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.tick().await;
    loop {
        tick.tick().await;
        match state.store().heartbeat_install(&claim, lease).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(install = %claim.install_id, "lost the claim on a marketplace install");
                return;
            }
            Err(e) => tracing::warn!(install = %claim.install_id, error = %e, "heartbeat failed"),
        }
    }
}

/// How a stage ended badly.
struct StageError {
    stage: InstallStage,
    code: ErrorCode,
    message: String,
    /// Worth another attempt (the PublicHub was down, an internal error).
    retry: bool,
    import_id: Option<String>,
}

impl StageError {
    fn refused(stage: InstallStage, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            stage,
            code,
            message: message.into(),
            retry: false,
            import_id: None,
        }
    }

    fn transient(stage: InstallStage, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            retry: true,
            ..Self::refused(stage, code, message)
        }
    }
}

async fn run(
    state: &AppState,
    job: InstallJob,
    claim: &Claim,
    read: Option<(ListingRecord, ListingVersionRecord)>,
) {
    let started = std::time::Instant::now();
    let outcome = install(state, &job, claim, read).await;
    let store = state.store();
    let recorded = match outcome {
        Ok(()) => {
            metrics::counter!("installhub_marketplace_installs_total", "outcome" => "success")
                .increment(1);
            Ok(true)
        }
        Err(e) if e.retry && job.attempt < job.max_attempts => {
            let backoff = Duration::from_secs(2u64.saturating_pow(job.attempt).min(300));
            tracing::warn!(install = %job.install_id, attempt = job.attempt, code = %e.code, message = %e.message, "marketplace install will be retried");
            let at = Utc::now() + chrono::Duration::from_std(backoff).unwrap_or_default();
            store
                .retry_install(claim, at, e.code.as_str(), &e.message)
                .await
        }
        Err(e) => {
            metrics::counter!("installhub_marketplace_installs_total", "outcome" => "failed")
                .increment(1);
            tracing::info!(install = %job.install_id, stage = %e.stage, code = %e.code, message = %e.message, "marketplace install failed");
            let notice = failure_notice(state, &job, &e).await;
            let failed = store
                .fail_install(
                    claim,
                    e.stage,
                    e.code.as_str(),
                    &e.message,
                    e.import_id.as_deref(),
                    notice.as_ref(),
                )
                .await;
            if matches!(failed, Ok(true)) && notice.is_some_and(|n| n.email.is_some()) {
                state.wake_mailer();
            }
            failed
        }
    };
    metrics::histogram!("installhub_marketplace_install_seconds")
        .record(started.elapsed().as_secs_f64());
    metrics::histogram!("installhub_marketplace_install_attempts").record(f64::from(job.attempt));
    match recorded {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!(install = %job.install_id, "the install's claim was lost before its end was recorded")
        }
        Err(e) => {
            tracing::error!(install = %job.install_id, error = %e, "recording the install's end failed")
        }
    }
}

async fn install(
    state: &AppState,
    job: &InstallJob,
    claim: &Claim,
    read: Option<(ListingRecord, ListingVersionRecord)>,
) -> Result<(), StageError> {
    let report = |stage: InstallStage, done: u64, total: u64| {
        state
            .installs()
            .set_live(&claim.install_id, Some((stage, done, total)));
    };
    let caller = caller_from_json(&job.caller).ok_or_else(|| {
        StageError::refused(
            InstallStage::Queued,
            ErrorCode::InternalError,
            "The install's caller could not be read.",
        )
    })?;
    let body: InstallBody = serde_json::from_value(job.options.clone()).map_err(|e| {
        StageError::refused(
            InstallStage::Queued,
            ErrorCode::InternalError,
            format!("The install's options could not be read: {e}."),
        )
    })?;
    let (listing, version) = match read {
        Some(read) => read,
        None => listing_and_version(state, job).await?,
    };

    // The claim recorded this stage and its total (one commit fewer).
    report(InstallStage::Downloading, 0, version.bundle_size);
    let hub = publichub_url(state);
    let bundle = download(state, &hub, &version, &report).await?;

    report(InstallStage::Verifying, 0, 0);
    // Recorded while the bundle is verified: the sync of the disk and the
    // hashing overlap. The import's first stage record waits for it.
    let recording = {
        let (state, claim) = (state.clone(), claim.clone());
        tokio::spawn(async move {
            let _ = state
                .store()
                .set_install_stage(&claim, InstallStage::Verifying, 0, 0)
                .await;
        })
    };
    verify(state, &hub, &listing.name, &version, &bundle).await?;

    let progress_state = state.clone();
    let progress_claim = claim.clone();
    let mut success = Notice::new(state, job, &caller, &listing.name);
    success.deprecation = version.deprecated.as_ref().map(|m| m.reason.clone());
    let hook = JobHook {
        on_success: Box::new(move |response| success.succeeded(response)),
        claim: claim.clone(),
        listing_id: job.listing_id.clone(),
        recording: Mutex::new(Some(recording)),
        progress: Arc::new(move |stage, done, total| {
            progress_state
                .installs()
                .set_live(&progress_claim.install_id, Some((stage, done, total)));
            // On PostgreSQL another replica may be asked for the status;
            // the count is written outside the install transaction (on
            // SQLite that write would wait for it, and one process serves).
            // Entering a stage (`done` 0) was written by the pipeline.
            if done > 0 && progress_state.store().backend() == installhub_store::Backend::Postgres {
                let (state, claim) = (progress_state.clone(), progress_claim.clone());
                tokio::spawn(async move {
                    let _ = state
                        .store()
                        .set_install_stage(&claim, stage, done, total)
                        .await;
                });
            }
        }),
    };
    let options = body.import_options();
    let outcome = crate::import::run(
        state,
        &caller,
        &options,
        None,
        ImportInput {
            source: ImportSource::Marketplace,
            bundle,
            job: Some(hook),
        },
    )
    .await;
    match outcome.result {
        Ok(_) => Ok(()),
        Err(error) => {
            let stage = state
                .installs()
                .live(&claim.install_id)
                .map_or(InstallStage::Installing, |(stage, _, _)| stage);
            let code = error.code();
            // The seed's words for a package the scan failed.
            let refused_fail = error.as_failures().iter().any(|f| {
                f.code == ErrorCode::SecurityScanFailed
                    && f.details.get("securityScanResult").and_then(Value::as_str) == Some("FAIL")
            });
            let message = if refused_fail {
                "Package scan returned FAIL — installation blocked".to_owned()
            } else {
                error.message()
            };
            Err(StageError {
                stage,
                code,
                message,
                retry: code == ErrorCode::InternalError || code == ErrorCode::ServiceUnavailable,
                import_id: outcome.import_id.map(|id| id.to_string()),
            })
        }
    }
}

/// The job's listing and version as they are now.
async fn listing_and_version(
    state: &AppState,
    job: &InstallJob,
) -> Result<(ListingRecord, ListingVersionRecord), StageError> {
    let internal = |e: &dyn std::fmt::Display| {
        StageError::transient(
            InstallStage::Downloading,
            ErrorCode::InternalError,
            format!("The install could not go on: {e}."),
        )
    };
    let versions = state
        .store()
        .listing_versions(&job.listing_id)
        .await
        .map_err(|e| internal(&e))?;
    let Some(version) = versions.into_iter().find(|v| v.version == job.version) else {
        return Err(StageError::refused(
            InstallStage::Downloading,
            ErrorCode::VersionNotFound,
            format!("Version {} is no longer published.", job.version),
        ));
    };
    let listing = state
        .store()
        .get_listing(&job.listing_id)
        .await
        .map_err(|e| internal(&e))?
        .ok_or_else(|| {
            StageError::refused(
                InstallStage::Downloading,
                ErrorCode::PackageNotFound,
                "The marketplace package is gone.",
            )
        })?;
    Ok((listing, version))
}

/// The caller the request was made by, as the job keeps it.
pub fn caller_to_json(caller: &Caller) -> Value {
    let tenants = match &caller.tenants {
        TenantAccess::All => json!("*"),
        TenantAccess::Some(set) => json!(set.iter().map(TenantId::as_str).collect::<Vec<_>>()),
    };
    json!({
        "subject": caller.subject,
        "identity": caller.identity,
        "tenants": tenants,
        "scopes": caller.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
    })
}

fn caller_from_json(value: &Value) -> Option<Caller> {
    let tenants = match &value["tenants"] {
        Value::String(s) if s == "*" => TenantAccess::All,
        Value::Array(items) => TenantAccess::Some(
            items
                .iter()
                .map(|t| t.as_str().and_then(|t| TenantId::parse(t).ok()))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    };
    Some(Caller {
        subject: value["subject"].as_str()?.to_owned(),
        identity: value["identity"].as_str()?.to_owned(),
        tenants,
        scopes: value["scopes"]
            .as_array()?
            .iter()
            .map(|s| s.as_str().and_then(Scope::parse))
            .collect::<Option<_>>()?,
    })
}

/// Tries of one download within an attempt, and the first pause between
/// them (doubled each time).
const DOWNLOAD_TRIES: u32 = 4;
const DOWNLOAD_BACKOFF: Duration = Duration::from_millis(250);

fn http_client() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .read_timeout(Duration::from_secs(60))
                .build()
                .unwrap_or_default()
        })
        .clone()
}

/// A GET with retries: connection errors, 408, 429 and 5xx are tried
/// again with backoff; anything else is the answer.
async fn get_with_retries(url: &str, stage: InstallStage) -> Result<reqwest::Response, StageError> {
    let mut pause = DOWNLOAD_BACKOFF;
    let mut last = String::new();
    for attempt in 1..=DOWNLOAD_TRIES {
        match http_client().get(url).send().await {
            Ok(response)
                if response.status().is_server_error()
                    || response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS
                    || response.status() == reqwest::StatusCode::REQUEST_TIMEOUT =>
            {
                last = format!("the PublicHub answered {}", response.status());
            }
            Ok(response) => return Ok(response),
            Err(e) => last = format!("the PublicHub could not be reached ({e})"),
        }
        if attempt < DOWNLOAD_TRIES {
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
    }
    Err(StageError::transient(
        stage,
        ErrorCode::PublicHubUnavailable,
        format!("{url}: {last} after {DOWNLOAD_TRIES} tries."),
    ))
}

async fn download(
    state: &AppState,
    hub: &str,
    version: &ListingVersionRecord,
    report: &impl Fn(InstallStage, u64, u64),
) -> Result<ReceivedBundle, StageError> {
    let stage = InstallStage::Downloading;
    let url = format!(
        "{hub}{}",
        crate::controllers::marketplace::bundle_url(&version.bundle_sha256)
    );
    let mut chunks = if state.config().publichub.url.is_none() {
        // This server is its own PublicHub: what its CDN would answer is in
        // its bundle store, so it is read there rather than over a loopback
        // HTTP request. It is checked all the same (size, SHA-256 and
        // signature, in `verify`).
        let key = crate::controllers::marketplace::cdn_key(&version.bundle_sha256);
        match state.bundles().get(&key, None).await {
            Ok(stream) => stream.map_err(|e| e.to_string()).boxed(),
            Err(installhub_store::StoreError::NotFound(_)) => {
                return Err(StageError::refused(
                    stage,
                    ErrorCode::BundleUnavailable,
                    format!("The PublicHub has no bundle at {url}."),
                ));
            }
            Err(e) => {
                return Err(StageError::transient(
                    stage,
                    ErrorCode::InternalError,
                    format!("The bundle could not be read: {e}."),
                ));
            }
        }
    } else {
        let response = get_with_retries(&url, stage).await?;
        if !response.status().is_success() {
            return Err(StageError::refused(
                stage,
                ErrorCode::BundleUnavailable,
                format!("The PublicHub answered {} for {url}.", response.status()),
            ));
        }
        response.bytes_stream().map_err(|e| e.to_string()).boxed()
    };
    let failed =
        |e: std::io::Error| StageError::transient(stage, ErrorCode::InternalError, e.to_string());
    let mut spool = Spool::new(&state.config().tmp_dir(), "marketplace-");
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|e| {
            StageError::transient(
                stage,
                ErrorCode::PublicHubUnavailable,
                format!("The download from {url} broke off: {e}."),
            )
        })?;
        if spool.size() + chunk.len() as u64 > version.bundle_size {
            return Err(StageError::refused(
                InstallStage::Verifying,
                ErrorCode::ChecksumMismatch,
                format!(
                    "The PublicHub sent more than the {} bytes the version has.",
                    version.bundle_size
                ),
            ));
        }
        spool.write(&chunk).await.map_err(failed)?;
        report(stage, spool.size(), version.bundle_size);
    }
    spool.finish().await.map_err(failed)
}

async fn verify(
    state: &AppState,
    hub: &str,
    name: &str,
    version: &ListingVersionRecord,
    bundle: &ReceivedBundle,
) -> Result<(), StageError> {
    let stage = InstallStage::Verifying;
    if bundle.size != version.bundle_size || bundle.sha256 != version.bundle_sha256 {
        return Err(StageError::refused(
            stage,
            ErrorCode::ChecksumMismatch,
            format!(
                "The downloaded bundle ({} bytes, SHA-256 {}) is not the published one ({} bytes, SHA-256 {}); nothing was installed.",
                bundle.size, bundle.sha256, version.bundle_size, version.bundle_sha256
            ),
        ));
    }
    let statement = VersionStatement::new(
        &version.listing_id,
        name,
        &version.version,
        &version.manifest_checksum,
        &version.bundle_sha256,
        version.bundle_size,
        version.published_at,
        &version.key_id,
    )
    .canonical_bytes();
    let url = format!("{hub}/.well-known/installhub/publichub-keys.json");
    if let Some(keys) = state.installs().cached_keys(&url)
        && keys
            .verify(&version.key_id, &statement, &version.signature)
            .is_ok()
    {
        return Ok(());
    }
    let response = get_with_retries(&url, stage).await?;
    let body = response.bytes().await.map_err(|e| {
        StageError::transient(
            stage,
            ErrorCode::PublicHubUnavailable,
            format!("The PublicHub's keys could not be read: {e}."),
        )
    })?;
    let keys = Arc::new(PublisherKeySet::from_jwks(&body).map_err(|e| {
        StageError::refused(
            stage,
            ErrorCode::SignatureInvalid,
            format!("The PublicHub's keys at {url} are not usable: {e}."),
        )
    })?);
    state.installs().cache_keys(&url, Arc::clone(&keys));
    keys.verify(&version.key_id, &statement, &version.signature)
        .map_err(|e| {
            StageError::refused(
                stage,
                ErrorCode::SignatureInvalid,
                format!("The version's signature does not verify against the PublicHub's keys: {e}; nothing was installed."),
            )
        })
}

/// What the installing user is told when an install ends.
struct Notice {
    recipient: String,
    email: Option<String>,
    install_id: String,
    listing_id: String,
    name: String,
    version: String,
    tenant: String,
    public_url: String,
    /// Why the installed version is deprecated, when it is.
    deprecation: Option<String>,
}

impl Notice {
    fn new(state: &AppState, job: &InstallJob, caller: &Caller, name: &str) -> Self {
        Notice {
            recipient: caller.identity.clone(),
            // The identity is the token's email when it has one.
            email: caller
                .identity
                .contains('@')
                .then(|| caller.identity.clone()),
            install_id: job.install_id.clone(),
            listing_id: job.listing_id.to_string(),
            name: name.to_owned(),
            version: job.version.clone(),
            tenant: job.target_tenant_id.to_string(),
            public_url: crate::notifications::link(state, ""),
            deprecation: None,
        }
    }

    fn succeeded(
        &self,
        response: &crate::import::ImportResponse,
    ) -> installhub_store::NewNotification {
        let dry_run = response.planned_actions.is_some();
        let (title, mut body) = if dry_run {
            (
                format!(
                    "Dry run of {} {} for {} passed",
                    self.name, self.version, self.tenant
                ),
                format!(
                    "Nothing was installed. The install would write {} artifact(s) and resolve {} conflict(s).",
                    response.planned_actions.as_ref().map_or(0, |p| p
                        .iter()
                        .filter(|a| a.action != installhub_domain::PlannedAction::Skip
                            && a.action != installhub_domain::PlannedAction::Unchanged)
                        .count()),
                    response.conflicts_resolved
                ),
            )
        } else {
            (
                format!(
                    "Installed {} {} into {}",
                    self.name, self.version, self.tenant
                ),
                format!(
                    "{} artifact(s) installed, {} conflict(s) resolved (import {}).",
                    response.artifacts_installed, response.conflicts_resolved, response.import_id
                ),
            )
        };
        if let Some(reason) = &self.deprecation {
            body.push_str(&format!(
                " Version {} is deprecated: {reason}",
                self.version
            ));
        }
        installhub_store::NewNotification {
            recipient: self.recipient.clone(),
            email: self.email.clone(),
            kind: installhub_domain::NotificationKind::InstallSucceeded,
            title,
            body,
            link: Some(format!(
                "{}/api/installhub/imports/{}",
                self.public_url, response.import_id
            )),
            details: json!({
                "installId": self.install_id,
                "packageId": self.listing_id,
                "version": self.version,
                "targetTenantId": self.tenant,
                "importId": response.import_id,
                "artifactsInstalled": response.artifacts_installed,
                "conflictsResolved": response.conflicts_resolved,
                "dryRun": dry_run,
                "deprecation": self.deprecation,
            }),
        }
    }

    fn failed(&self, error: &StageError) -> installhub_store::NewNotification {
        installhub_store::NewNotification {
            recipient: self.recipient.clone(),
            email: self.email.clone(),
            kind: installhub_domain::NotificationKind::InstallFailed,
            title: format!(
                "Installing {} {} into {} failed",
                self.name, self.version, self.tenant
            ),
            body: format!(
                "It failed at {} with {}: {} Nothing was installed.",
                error.stage, error.code, error.message
            ),
            // The import's entry in the tenant's audit log; an install that
            // failed before its import (download, verification) has none,
            // so its status is the record.
            link: Some(match &error.import_id {
                Some(import_id) => format!(
                    "{}/api/installhub/audit?tenantId={}&subject={import_id}",
                    self.public_url, self.tenant
                ),
                None => format!(
                    "{}/api/marketplace/installs/{}/status",
                    self.public_url, self.install_id
                ),
            }),
            details: json!({
                "installId": self.install_id,
                "packageId": self.listing_id,
                "version": self.version,
                "targetTenantId": self.tenant,
                "stage": error.stage,
                "error": error.code,
                "message": error.message,
                "importId": error.import_id,
                "rolledBack": true,
            }),
        }
    }
}

/// The installing user's notification of a failure.
async fn failure_notice(
    state: &AppState,
    job: &InstallJob,
    error: &StageError,
) -> Option<installhub_store::NewNotification> {
    let caller = caller_from_json(&job.caller)?;
    let name = match state.store().get_listing(&job.listing_id).await {
        Ok(Some(listing)) => listing.name,
        _ => job.listing_id.to_string(),
    };
    Some(Notice::new(state, job, &caller, &name).failed(error))
}

/// Tells the installing user of an install failed by the sweep (after it
/// was recorded: a crash in between loses this one notification, never
/// the failure).
async fn notify_interrupted(state: &AppState, job: &InstallJob, error: &StageError) {
    let Some(notice) = failure_notice(state, job, error).await else {
        return;
    };
    if let Err(e) = crate::notifications::notify(state, notice).await {
        tracing::warn!(install = %job.install_id, error = %e, "the failure notification could not be stored");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker stops waiting in one of two ways: still on the idle list
    /// (nobody took it), or taken by a request, which then hands it an
    /// install or, by dropping it, sends it back to work.
    #[tokio::test]
    async fn an_idle_worker_is_taken_once_or_leaves() {
        let installs = Installs::default();
        assert!(installs.take_idle().is_none());
        let waiting = installs.go_idle("server/0");
        assert!(installs.leave_idle("server/0"), "nobody took it");
        assert!(installs.take_idle().is_none());
        drop(waiting);

        let waiting = installs.go_idle("server/1");
        let taken = installs.take_idle().expect("an idle worker");
        assert_eq!(taken.owner(), "server/1");
        assert!(installs.take_idle().is_none(), "taken once");
        assert!(!installs.leave_idle("server/1"), "its request has it");
        drop(taken);
        assert!(waiting.await.is_err(), "no install came: back to work");
    }

    #[test]
    fn callers_round_trip() {
        let caller = Caller {
            subject: "user-42".into(),
            identity: "engineer@company.com".into(),
            tenants: TenantAccess::Some([TenantId::parse("tenant-a").unwrap()].into()),
            scopes: [Scope::Import, Scope::MarketplaceInstall].into(),
        };
        assert_eq!(
            caller_from_json(&caller_to_json(&caller)),
            Some(caller.clone())
        );
        let all = Caller {
            tenants: TenantAccess::All,
            ..caller
        };
        assert_eq!(caller_from_json(&caller_to_json(&all)), Some(all));
        assert_eq!(caller_from_json(&json!({ "subject": "x" })), None);
    }
}
