//! What a killed process leaves behind, swept at start-up and every
//! [`SWEEP_EVERY`] after (SECURITY.md 35):
//!
//! - scratch files in `<data-dir>/tmp`: received uploads (up to the largest
//!   plan's package) and bundles being written by an export;
//! - bundles that no package row names: the export stores its bundle, then
//!   commits the row, so a crash in between leaves the bundle alone, and
//!   object_store's staging files of a local write cut short;
//! - rate-limit windows that have ended;
//! - plans no dry run answered for [`PLAN_RETENTION`] (a pin to one still
//!   installs while it holds; only its differences can no longer be listed);
//! - install snapshots older than `--snapshot-retention-days` (their
//!   rollback is expired anyway; see `installhub_store`'s `snapshots.rs`);
//! - the console's uploads older than their time to live (see
//!   `console::staging`).
//!
//! A file is only taken for a leftover once it is older than the longest an
//! upload, import or export may run ([`crate::stale_after`]): another
//! replica sharing the directory or bucket may still be writing a younger
//! one. The one exception is the scratch directory of a SQLite server at
//! start-up: SQLite means one server per data directory, and it is not
//! serving yet, so every scratch file there is dead.

use std::path::Path;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use installhub_store::{Backend, BundleStore, Store};

use crate::config::ServerConfig;
use crate::state::AppState;

/// How often the periodic sweep runs. Each run reads one directory, lists
/// the bundles and runs one `DELETE`: cheap at this pace.
pub const SWEEP_EVERY: Duration = Duration::from_secs(15 * 60);

/// How long a dry run's stored plan is kept after a dry run last answered it.
pub const PLAN_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// Where the bundle store keeps packages ([`BundleStore::package_key`]).
const PACKAGES_PREFIX: &str = "packages/";

/// How many keys one look-up in the packages table checks.
const KEYS_PER_LOOKUP: usize = 500;

/// What one sweep removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub scratch_files: u64,
    pub orphan_bundles: u64,
    pub interrupted_writes: u64,
    pub rate_limit_windows: u64,
    pub import_plans: u64,
    pub expired_snapshots: u64,
}

/// The start-up sweep: see the module documentation. Failures are logged,
/// never fatal: a leftover costs disk space, not correctness.
pub async fn sweep_at_start(store: &Store, bundles: &BundleStore, config: &ServerConfig) -> Swept {
    let every_scratch_file = store.backend() == Backend::Sqlite;
    sweep(store, bundles, config, every_scratch_file).await
}

/// Every [`SWEEP_EVERY`] after start-up, the sweep again, for the replicas
/// whose leftovers were too young to sweep when they started.
pub async fn sweep_periodically(state: AppState) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    // The first tick is immediate; the start-up sweep has just run.
    tick.tick().await;
    loop {
        tick.tick().await;
        sweep(state.store(), state.bundles(), state.config(), false).await;
    }
}

async fn sweep(
    store: &Store,
    bundles: &BundleStore,
    config: &ServerConfig,
    every_scratch_file: bool,
) -> Swept {
    let now = Utc::now();
    let old_before = before(now, crate::stale_after(config));
    let mut swept = Swept::default();

    let tmp = config.tmp_dir();
    let scratch_before = (!every_scratch_file).then(|| SystemTime::from(old_before));
    match tokio::task::spawn_blocking(move || sweep_scratch(&tmp, scratch_before)).await {
        Ok(Ok(count)) => swept.scratch_files = count,
        Ok(Err(e)) => tracing::warn!(error = %e, "sweeping the scratch directory failed"),
        Err(e) => tracing::warn!(error = %e, "sweeping the scratch directory failed"),
    }
    let data_dir = config.data_dir.clone();
    match tokio::task::spawn_blocking(move || crate::console::sweep_expired_uploads(&data_dir))
        .await
    {
        Ok(Ok(count)) if count > 0 => {
            tracing::info!(count, "expired console uploads removed");
        }
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "sweeping expired console uploads failed"),
        Err(e) => tracing::warn!(error = %e, "sweeping expired console uploads failed"),
    }
    match sweep_orphan_bundles(store, bundles, old_before).await {
        Ok(count) => swept.orphan_bundles = count,
        Err(e) => tracing::warn!(error = %e, "sweeping bundles no package names failed"),
    }
    match bundles
        .sweep_interrupted_writes(PACKAGES_PREFIX, old_before)
        .await
    {
        Ok(count) => swept.interrupted_writes = count,
        Err(e) => tracing::warn!(error = %e, "sweeping interrupted bundle writes failed"),
    }
    let limits = &config.limits;
    let longest_window = limits
        .exports_per_user
        .window
        .max(limits.exports_per_tenant.window);
    match store.purge_rate_limits(before(now, longest_window)).await {
        Ok(count) => swept.rate_limit_windows = count,
        Err(e) => tracing::warn!(error = %e, "purging ended rate-limit windows failed"),
    }
    match store.purge_import_plans(before(now, PLAN_RETENTION)).await {
        Ok(count) => swept.import_plans = count,
        Err(e) => tracing::warn!(error = %e, "purging old dry-run plans failed"),
    }
    match store
        .prune_snapshots(before(now, config.snapshot_retention))
        .await
    {
        Ok(count) => swept.expired_snapshots = count,
        Err(e) => tracing::warn!(error = %e, "pruning expired install snapshots failed"),
    }
    if swept != Swept::default() {
        tracing::info!(
            expired_snapshots = swept.expired_snapshots,
            scratch_files = swept.scratch_files,
            orphan_bundles = swept.orphan_bundles,
            interrupted_writes = swept.interrupted_writes,
            rate_limit_windows = swept.rate_limit_windows,
            import_plans = swept.import_plans,
            "leftovers swept"
        );
    }
    swept
}

/// `now - age`, or the beginning of time when that does not fit.
fn before(now: DateTime<Utc>, age: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Deletes the files directly in `dir` last written before `before`, or
/// all of them with `None`. Scratch files are always direct children (see
/// `import::upload` and `export::bundle`); anything else is left alone.
fn sweep_scratch(dir: &Path, before: Option<SystemTime>) -> std::io::Result<u64> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut deleted = 0;
    for entry in entries {
        let entry = entry?;
        let metadata = entry.metadata()?;
        if !metadata.is_file() || before.is_some_and(|b| metadata.modified().is_ok_and(|m| m >= b))
        {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => deleted += 1,
            // Its request finished and removed it first.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(deleted)
}

/// Deletes the bundles last written before `before` that no package row
/// names. The row of a finished export is committed long before its bundle
/// is that old, so a bundle without a row by then never will have one.
async fn sweep_orphan_bundles(
    store: &Store,
    bundles: &BundleStore,
    before: DateTime<Utc>,
) -> installhub_store::Result<u64> {
    let keys = bundles.list_older_than(PACKAGES_PREFIX, before).await?;
    let mut deleted = 0;
    for batch in keys.chunks(KEYS_PER_LOOKUP) {
        let named = store.named_bundle_keys(batch).await?;
        for key in batch.iter().filter(|key| !named.contains(*key)) {
            bundles.delete(key).await?;
            tracing::info!(%key, "deleted a bundle that no package names");
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_sweep_keeps_young_files_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("upload-old.zip");
        let young = dir.path().join(".tmpyoung");
        std::fs::write(&old, b"old").unwrap();
        std::fs::write(&young, b"young").unwrap();
        std::fs::create_dir(dir.path().join("subdir")).unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(hour_ago - Duration::from_secs(60))
            .unwrap();

        assert_eq!(sweep_scratch(dir.path(), Some(hour_ago)).unwrap(), 1);
        assert!(!old.exists() && young.exists());
        assert_eq!(sweep_scratch(dir.path(), None).unwrap(), 1);
        assert!(!young.exists() && dir.path().join("subdir").is_dir());
        assert_eq!(sweep_scratch(&dir.path().join("missing"), None).unwrap(), 0);
    }
}
