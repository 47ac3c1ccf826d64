//! Keeping the advisory database current: importing OSV exports into the
//! index file (`installhub advisories sync`), loading the right snapshot at
//! start-up, and the server's scheduled refresh.
//!
//! A refresh that fails for any reason (the source unreachable, a 404, a
//! corrupt or oversized zip, the index not writable) changes nothing: the
//! scanner keeps the snapshot it has and the index file on disk stays the
//! last good one (it is replaced by rename only after a whole import
//! succeeded). The outcome of the last attempt is kept for `/readyz`.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use installhub_scan::{AdvisoryDb, AdvisoryImport, AdvisorySnapshot, ImportStats, ZipLimits};
use serde::Serialize;
use utoipa::ToSchema;

use crate::config::ServerConfig;
use crate::state::AppState;

/// OSV's per-ecosystem exports of the ecosystems a library can name: the
/// sources of a sync or refresh when none is configured.
pub const OSV_EXPORTS: &[&str] = &[
    "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/Maven/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/NuGet/all.zip",
    "https://osv-vulnerabilities.storage.googleapis.com/crates.io/all.zip",
];

/// Largest download of one export. OSV's largest (PyPI) is a few hundred
/// megabytes compressed.
const MAX_DOWNLOAD_BYTES: u64 = 4 * 1024 * 1024 * 1024;

/// Where a data directory keeps its advisory index.
pub fn index_path(data_dir: &Path) -> PathBuf {
    data_dir.join("advisories").join("index.json")
}

/// The scheduled refresh of a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshConfig {
    /// Export URLs (or local paths); [`OSV_EXPORTS`] when none are given.
    pub sources: Vec<String>,
    pub every: Duration,
}

/// The outcome of the last refresh attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshStatus {
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    /// `true` when the sources were read; the snapshot was replaced if
    /// they held other advisories than it (else it keeps its id and date).
    pub ok: bool,
    /// Why the attempt failed; the previous snapshot stayed in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The advisory data a server scans with, as `/readyz` shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdvisoryStatus {
    pub snapshot: AdvisorySnapshot,
    /// Absent when no refresh is configured or none has run yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_refresh: Option<RefreshStatus>,
}

/// The database a server starts with: `--advisory-db` (a directory of
/// records or an index file) when given, else the data directory's index
/// when one was synced, else the snapshot shipped in the binary. A
/// configured source that cannot be read stops the start: a server must
/// not run with silently other data than it was told to use.
pub fn load_at_start(config: &ServerConfig) -> anyhow::Result<AdvisoryDb> {
    if let Some(path) = &config.advisory_db {
        return AdvisoryDb::load(path).with_context(|| {
            format!(
                "loading the advisory database {} (--advisory-db)",
                path.display()
            )
        });
    }
    let index = index_path(&config.data_dir);
    if index.exists() {
        return AdvisoryDb::load_index(&index).with_context(|| {
            format!(
                "loading the advisory index {}; run `installhub advisories sync` again or remove it",
                index.display()
            )
        });
    }
    Ok(AdvisoryDb::embedded())
}

/// The HTTP client of downloads: generous timeouts (exports are large),
/// and a user agent naming us.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("installhub/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(30 * 60))
        .build()
        .context("building the HTTP client")
}

/// Imports every source (an `http(s)://` URL, a local zip or JSON file, or
/// a directory of records) into one snapshot. Downloads are kept in
/// temporary files under `scratch`. Fails on the first source that cannot
/// be fetched or is not a sound export; bad records inside are skipped and
/// counted. Fails too when nothing usable was found: an export whose every
/// record is unusable is a broken source, not a world without advisories,
/// and must not replace a good snapshot.
pub async fn import(
    client: &reqwest::Client,
    sources: &[String],
    scratch: &Path,
    limits: ZipLimits,
) -> anyhow::Result<(AdvisoryDb, ImportStats)> {
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let mut import = AdvisoryImport::new();
    for source in sources {
        let source = source.clone();
        if source.starts_with("http://") || source.starts_with("https://") {
            let file = download(client, &source, scratch).await?;
            import = tokio::task::spawn_blocking(move || {
                import.add_file(&source, file, &limits).map(|()| import)
            })
            .await??;
        } else {
            import = tokio::task::spawn_blocking(move || {
                import
                    .add_path(Path::new(&source), &limits)
                    .map(|()| import)
            })
            .await??;
        }
    }
    let (db, stats) = tokio::task::spawn_blocking(move || import.finish()).await?;
    anyhow::ensure!(
        !db.is_empty(),
        "the sources held no usable advisory ({} records read, {} unusable, {} withdrawn, {} without a supported ecosystem)",
        stats.records,
        stats.skipped,
        stats.withdrawn,
        stats.unsupported
    );
    Ok((db, stats))
}

/// [`import`], then the snapshot written as the index file `out`
/// (atomically: the old index stays until the new one is complete).
pub async fn sync(
    client: &reqwest::Client,
    sources: &[String],
    out: &Path,
) -> anyhow::Result<(AdvisoryDb, ImportStats)> {
    let scratch = out.parent().unwrap_or(Path::new(".")).to_path_buf();
    let (db, stats) = import(client, sources, &scratch, ZipLimits::default()).await?;
    Ok((write_index(db, out.to_path_buf()).await?, stats))
}

/// Writes `db` as the index file `out`, off the async threads.
async fn write_index(db: AdvisoryDb, out: PathBuf) -> anyhow::Result<AdvisoryDb> {
    tokio::task::spawn_blocking(move || db.write_index(&out).map(|()| db))
        .await?
        .context("writing the advisory index")
}

/// One export into an unnamed temporary file, capped at
/// [`MAX_DOWNLOAD_BYTES`]; any status but 2xx is an error naming it.
async fn download(
    client: &reqwest::Client,
    url: &str,
    scratch: &Path,
) -> anyhow::Result<std::fs::File> {
    let response = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("fetching {url}"))?;
    let status = response.status();
    if !status.is_success() {
        anyhow::bail!("fetching {url}: the server answered {status}");
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOWNLOAD_BYTES)
    {
        anyhow::bail!("fetching {url}: larger than {MAX_DOWNLOAD_BYTES} bytes");
    }
    let mut file = tempfile::tempfile_in(scratch)
        .with_context(|| format!("creating a temporary file in {}", scratch.display()))?;
    let mut received: u64 = 0;
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.with_context(|| format!("fetching {url}"))?;
        received += chunk.len() as u64;
        if received > MAX_DOWNLOAD_BYTES {
            anyhow::bail!("fetching {url}: larger than {MAX_DOWNLOAD_BYTES} bytes");
        }
        file.write_all(&chunk)
            .context("writing the download to a temporary file")?;
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

/// Publishes the current snapshot's size as a Prometheus gauge.
pub fn record_metrics(snapshot: &AdvisorySnapshot) {
    metrics::gauge!("installhub_advisories").set(snapshot.advisory_count as f64);
}

/// Re-syncs from `refresh.sources` now and then every `refresh.every`,
/// swapping the scanner's database on success and keeping it on failure.
pub async fn refresh_periodically(state: AppState, refresh: RefreshConfig) {
    let client = match http_client() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "advisory refresh disabled");
            return;
        }
    };
    let mut tick = tokio::time::interval(refresh.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        refresh_once(&state, &client, &refresh.sources).await;
    }
}

/// What a successful refresh did.
enum Refreshed {
    /// New data: written to the index and swapped in.
    Replaced(Box<AdvisoryDb>, ImportStats),
    /// The same advisories as the current snapshot (equal id): nothing is
    /// swapped, so the snapshot keeps its name and `createdAt` (when this
    /// data was first synced) instead of changing on every tick.
    Unchanged,
}

/// Imports `sources` and, when they hold other advisories than the
/// scanner's current snapshot, writes the index.
async fn refresh_index(
    state: &AppState,
    client: &reqwest::Client,
    sources: &[String],
) -> anyhow::Result<Refreshed> {
    let out = index_path(&state.config().data_dir);
    let scratch = out.parent().unwrap_or(Path::new(".")).to_path_buf();
    let (db, stats) = import(client, sources, &scratch, ZipLimits::default()).await?;
    if db.snapshot().id == state.scanner().advisories().snapshot().id && out.exists() {
        return Ok(Refreshed::Unchanged);
    }
    Ok(Refreshed::Replaced(
        Box::new(write_index(db, out).await?),
        stats,
    ))
}

/// One refresh attempt; its outcome goes to the log, the metrics and
/// [`AppState::advisory_refresh`].
pub async fn refresh_once(state: &AppState, client: &reqwest::Client, sources: &[String]) {
    let outcome = refresh_index(state, client, sources).await;
    let at = Utc::now();
    let status = match outcome {
        Ok(refreshed) => {
            match refreshed {
                Refreshed::Replaced(db, stats) => {
                    let snapshot = db.snapshot().clone();
                    let old = state.scanner().replace_advisories(*db);
                    record_metrics(&snapshot);
                    tracing::info!(
                        snapshot = %snapshot.id,
                        advisories = snapshot.advisory_count,
                        previous = %old.snapshot().id,
                        skipped = stats.skipped,
                        "advisory snapshot refreshed"
                    );
                }
                Refreshed::Unchanged => tracing::debug!("advisory refresh: no change"),
            }
            metrics::counter!("installhub_advisory_refresh_total", "outcome" => "ok").increment(1);
            RefreshStatus {
                at,
                ok: true,
                error: None,
            }
        }
        Err(e) => {
            let error = format!("{e:#}");
            metrics::counter!("installhub_advisory_refresh_total", "outcome" => "failed")
                .increment(1);
            tracing::warn!(
                error = %error,
                kept = %state.scanner().advisories().snapshot().id,
                "advisory refresh failed; keeping the current snapshot"
            );
            RefreshStatus {
                at,
                ok: false,
                error: Some(error),
            }
        }
    };
    state.set_advisory_refresh(status);
}

/// The current snapshot and the last refresh, for `/readyz`.
pub fn status(state: &AppState) -> AdvisoryStatus {
    AdvisoryStatus {
        snapshot: state.scanner().advisories().snapshot().clone(),
        last_refresh: state.advisory_refresh(),
    }
}
