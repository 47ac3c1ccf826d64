#![doc = include_str!("../README.md")]

pub mod advisories;
pub mod app;
pub mod config;
pub mod connection;
pub mod console;
pub mod controllers;
pub mod demo;
pub mod error;
pub mod export;
pub mod extract;
pub mod import;
pub mod installs;
pub mod leftovers;
pub mod middleware;
pub mod notifications;
pub mod openapi;
pub mod rate_limit;
pub mod state;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use installhub_auth::{KeySet, LocalKeyPair, Verifier, VerifierConfig};
use installhub_scan::Scanner;
use installhub_store::{BundleStore, Store};

pub use crate::config::ServerConfig;
use crate::state::AppState;

/// Connects the store (running migrations), opens the bundle store, loads
/// the keys, and builds the state every handler shares.
pub async fn build_state(config: ServerConfig) -> anyhow::Result<AppState> {
    notifications::check_config(&config.notifications)?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating the data directory {}", config.data_dir.display()))?;
    let url = config.database.url_for(&config.data_dir);
    let store = Store::connect(&url)
        .await
        .with_context(|| format!("connecting to the database {}", config::redact_url(&url)))?;
    let bundles = match &config.bundles {
        config::BundleStoreConfig::S3 { url, options } => BundleStore::s3(url, options)
            .with_context(|| format!("opening the bundle store {url}"))?,
        _ => BundleStore::local(&config.bundle_dir()).with_context(|| {
            format!("opening the bundle store {}", config.bundle_dir().display())
        })?,
    };
    let verifier = verifier(&config)?;
    let publichub = publichub_keys(&config)?;
    let advisories = advisories::load_at_start(&config)?;
    tracing::info!(snapshot = ?advisories.snapshot(), "advisory snapshot loaded");
    let scanner = Scanner::new(advisories);
    #[cfg(feature = "failpoints")]
    let store = store.with_failpoints(config.failpoints.clone());
    let store = store.with_instance_id(instance_id(&config)?);
    recover_interrupted_imports(&store, &config).await?;
    leftovers::sweep_at_start(&store, &bundles, &config).await;
    let state = AppState::new(
        config,
        store,
        bundles,
        verifier,
        middleware::prometheus(),
        scanner,
        publichub,
    );
    advisories::record_metrics(state.scanner().advisories().snapshot());
    Ok(state)
}

/// The marketplace's signing key (the configured file, else one kept in
/// the data directory) and the JWKS it serves: its public key and those
/// of `previous_keys`.
fn publichub_keys(config: &ServerConfig) -> anyhow::Result<state::PublicHub> {
    let signing = match &config.publichub.signing_key {
        Some(path) => installhub_auth::PublisherKey::from_pem_file(path)
            .with_context(|| format!("loading the PublicHub signing key {}", path.display()))?,
        None => {
            installhub_auth::PublisherKey::load_or_create(&config.data_dir).with_context(|| {
                format!(
                    "loading or creating the PublicHub signing key in {}",
                    config.data_dir.display()
                )
            })?
        }
    };
    let mut keys = installhub_auth::PublisherKeySet::new(vec![signing.public()])?;
    for path in &config.publichub.previous_keys {
        let previous = installhub_auth::PublisherKeySet::from_file(path)
            .with_context(|| format!("loading the PublicHub keys {}", path.display()))?;
        keys = keys.merge(previous)?;
    }
    tracing::info!(
        kid = signing.kid(),
        keys = keys.keys().len(),
        "PublicHub signing key loaded"
    );
    Ok(state::PublicHub { signing, keys })
}

/// This server's name in the import records it owns: `--instance-id`, or
/// one made once and kept in the data directory, so that after a restart
/// the server knows the imports it left behind as its own.
fn instance_id(config: &ServerConfig) -> anyhow::Result<String> {
    if let Some(id) = &config.instance_id {
        return Ok(id.clone());
    }
    let path = config.data_dir.join("instance-id");
    match std::fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => Ok(id.trim().to_owned()),
        _ => {
            let id = uuid::Uuid::new_v4().to_string();
            std::fs::write(&path, &id)
                .with_context(|| format!("writing the instance id {}", path.display()))?;
            Ok(id)
        }
    }
}

/// How long an import may stay `InProgress` before any replica takes it
/// for dead, and a scratch file or an unnamed bundle for a leftover: twice
/// the longest an upload may take.
fn stale_after(config: &ServerConfig) -> Duration {
    config.limits.upload_timeout * 2
}

fn interrupted_body() -> serde_json::Value {
    let failure = installhub_domain::Failure::new(
        installhub_domain::ErrorCode::InternalError,
        "The server stopped while this import was running; nothing was installed. Run the import again.",
    );
    error::envelope(&[failure], "")
}

/// Marks `InProgress` imports older than `stale_after` (and this
/// instance's own from before it started) as failed.
async fn fail_stale(store: &Store, stale_after: Duration) -> installhub_store::Result<u64> {
    let now = chrono::Utc::now();
    let stale_before = chrono::Duration::from_std(stale_after)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    store
        .fail_stale_imports(stale_before, now, &interrupted_body())
        .await
}

/// An import that was running when its server stopped rolled back with its
/// transaction; its record still says `InProgress`. Mark it failed so the
/// record tells the truth. SQLite has one server: every such record is
/// dead. PostgreSQL may have replicas: only this instance's own records and
/// those older than [`stale_after`]; the others may be running elsewhere.
async fn recover_interrupted_imports(store: &Store, config: &ServerConfig) -> anyhow::Result<()> {
    let count = match store.backend() {
        installhub_store::Backend::Sqlite => {
            store
                .fail_interrupted_imports(chrono::Utc::now(), &interrupted_body())
                .await
        }
        installhub_store::Backend::Postgres => fail_stale(store, stale_after(config)).await,
    }
    .context("marking interrupted imports as failed")?;
    if count > 0 {
        tracing::warn!(count, "imports interrupted by a stop were marked Failed");
    }
    Ok(())
}

/// Every minute after start-up, any replica marks imports whose server died
/// for good (never restarted) as failed. The update is idempotent, so
/// replicas sweeping at once do no harm.
async fn sweep_stale_imports(store: Store, stale_after: Duration) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    // The first tick is immediate; start-up recovery has just run.
    tick.tick().await;
    loop {
        tick.tick().await;
        match fail_stale(&store, stale_after).await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "stale imports were marked Failed"),
            Err(e) => tracing::warn!(error = %e, "sweeping stale imports failed"),
        }
    }
}

fn verifier(config: &ServerConfig) -> anyhow::Result<Verifier> {
    let auth = &config.auth;
    let (keys, issuer) = if auth.uses_local_keys() {
        let pair = LocalKeyPair::load_or_create(&config.key_dir()).with_context(|| {
            format!(
                "loading the local key pair in {}",
                config.key_dir().display()
            )
        })?;
        let issuer = auth
            .issuer
            .clone()
            .unwrap_or_else(|| installhub_auth::LOCAL_ISSUER.to_owned());
        (pair.key_set(), issuer)
    } else {
        let mut keys: Option<KeySet> = None;
        for path in &auth.public_keys {
            let set = KeySet::from_pem_file(path).with_context(|| {
                format!(
                    "reading the public key {} (--jwt-public-key)",
                    path.display()
                )
            })?;
            keys = Some(match keys {
                Some(k) => k.merge(set),
                None => set,
            });
        }
        if let Some(path) = &auth.jwks {
            let set = KeySet::from_jwks_file(path).with_context(|| {
                format!("reading the JWKS file {} (--jwt-jwks)", path.display())
            })?;
            keys = Some(match keys {
                Some(k) => k.merge(set),
                None => set,
            });
        }
        let issuer = auth.issuer.clone().context(
            "--jwt-issuer (INSTALLHUB_JWT_ISSUER) is required when public keys are configured",
        )?;
        (keys.context("no public keys were loaded")?, issuer)
    };
    Ok(Verifier::new(
        keys,
        VerifierConfig {
            issuer,
            audience: auth.audience.clone(),
            leeway_secs: auth.leeway_secs,
        },
    )?)
}

/// Serves until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let handle = state.metrics().clone();
    let upkeep = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    });
    let sweep = tokio::spawn(sweep_stale_imports(
        state.store().clone(),
        stale_after(state.config()),
    ));
    let sweep_leftovers = tokio::spawn(leftovers::sweep_periodically(state.clone()));
    let workers = installs::start(&state, listener.local_addr()?);
    let refresh = state
        .config()
        .advisory_refresh
        .clone()
        .map(|refresh| tokio::spawn(advisories::refresh_periodically(state.clone(), refresh)));
    let mailer = notifications::start_mailer(&state)?;
    let limits = state.config().limits.http;
    let stopping = state.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.begin_shutdown();
    };
    let result = connection::serve(listener, app::router(state), limits, shutdown)
        .await
        .context("serving HTTP");
    upkeep.abort();
    sweep.abort();
    // An install cut off here rolls back; its lease runs out and another
    // worker (after a restart, or another replica) takes it up again.
    for worker in workers {
        worker.abort();
    }
    sweep_leftovers.abort();
    if let Some(refresh) = refresh {
        refresh.abort();
    }
    if let Some(mailer) = mailer {
        mailer.abort();
    }
    result
}

/// A server running in the background, for tests and embedding.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningServer {
    /// Binds `config.listen` (port 0 picks a free port) and serves.
    pub async fn start(config: ServerConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let state = build_state(config).await?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(serve(listener, state.clone(), async {
            let _ = rx.await;
        }));
        Ok(Self {
            addr,
            state,
            shutdown: Some(tx),
            task,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and waits for in-flight ones.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.task).await?
    }
}
