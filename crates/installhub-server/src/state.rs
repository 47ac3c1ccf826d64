//! Shared state handed to every handler.

use std::sync::{Arc, Mutex, PoisonError};

use installhub_auth::{PublisherKey, PublisherKeySet, Verifier};
use installhub_scan::Scanner;
use installhub_store::{BundleStore, Store};
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::Notify;

use crate::advisories::RefreshStatus;
use crate::config::ServerConfig;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    config: ServerConfig,
    store: Store,
    bundles: BundleStore,
    verifier: Verifier,
    metrics: PrometheusHandle,
    scanner: Arc<Scanner>,
    publichub: PublicHub,
    installs: crate::installs::Installs,
    /// The outcome of the last scheduled advisory refresh.
    advisory_refresh: Mutex<Option<RefreshStatus>>,
    /// Wakes the mailer when an e-mail was queued.
    mailer_wake: Notify,
    /// The console's one-time sign-in links (`serve --demo`'s).
    console_links: crate::console::SignInLinks,
    /// Recent previews' graphs, by tenant, catalog generation and roots.
    graphs: crate::export::GraphCache,
    /// Turns `true` when the server starts shutting down, so long-lived
    /// responses (the console's event streams) end instead of holding the
    /// drain up.
    stopping: tokio::sync::watch::Sender<bool>,
}

/// The marketplace's keys: the one that signs, and every public key its
/// JWKS serves (the signing key's and those of earlier keys).
pub struct PublicHub {
    pub signing: PublisherKey,
    pub keys: PublisherKeySet,
}

impl AppState {
    #[allow(clippy::too_many_arguments, reason = "built once, in build_state")]
    pub fn new(
        config: ServerConfig,
        store: Store,
        bundles: BundleStore,
        verifier: Verifier,
        metrics: PrometheusHandle,
        scanner: Scanner,
        publichub: PublicHub,
    ) -> Self {
        Self(Arc::new(Inner {
            config,
            store,
            bundles,
            verifier,
            metrics,
            scanner: Arc::new(scanner),
            publichub,
            installs: crate::installs::Installs::default(),
            advisory_refresh: Mutex::new(None),
            mailer_wake: Notify::new(),
            console_links: crate::console::SignInLinks::default(),
            graphs: crate::export::GraphCache::default(),
            stopping: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// The server starts shutting down: see [`AppState::stopping`].
    pub fn begin_shutdown(&self) {
        self.0.stopping.send_replace(true);
    }

    /// Whether the server is shutting down, and a way to wait until it is.
    pub fn stopping(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.stopping.subscribe()
    }

    pub fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// Recent previews' graphs (see [`crate::export::GraphCache`]).
    pub fn graphs(&self) -> &crate::export::GraphCache {
        &self.0.graphs
    }

    pub fn bundles(&self) -> &BundleStore {
        &self.0.bundles
    }

    pub fn verifier(&self) -> &Verifier {
        &self.0.verifier
    }

    pub fn metrics(&self) -> &PrometheusHandle {
        &self.0.metrics
    }

    /// The security scanner, with its advisory database loaded once.
    pub fn scanner(&self) -> &Arc<Scanner> {
        &self.0.scanner
    }

    /// The marketplace's signing key and published keys.
    pub fn publichub(&self) -> &PublicHub {
        &self.0.publichub
    }

    /// The marketplace install workers' shared state.
    pub fn installs(&self) -> &crate::installs::Installs {
        &self.0.installs
    }

    /// The outcome of the last advisory refresh, if one ran.
    pub fn advisory_refresh(&self) -> Option<RefreshStatus> {
        self.0
            .advisory_refresh
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_advisory_refresh(&self, status: RefreshStatus) {
        *self
            .0
            .advisory_refresh
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(status);
    }

    /// Tells the mailer (if one runs) that an e-mail may be due now; call
    /// after a notification with an e-mail committed.
    pub fn wake_mailer(&self) {
        // notify_one keeps a permit when the mailer is busy sending, so a
        // wake during a round is not lost.
        self.0.mailer_wake.notify_one();
    }

    /// The console's one-time sign-in links.
    pub fn console_links(&self) -> &crate::console::SignInLinks {
        &self.0.console_links
    }

    /// What the mailer waits on between rounds.
    pub fn mailer_wake(&self) -> &Notify {
        &self.0.mailer_wake
    }
}
