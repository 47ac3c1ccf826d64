//! `installhub advisories`: keep the advisory index a server and
//! `installhub scan` check libraries against.
//!
//! - `sync` imports OSV exports (OSV's per-ecosystem `all.zip` by default,
//!   or the files, directories and URLs given with `--from`) into
//!   `<data-dir>/advisories/index.json` (or `--out FILE`), atomically, and
//!   prints what it read. A bad record is skipped and counted; a source that
//!   cannot be fetched or is not a sound archive fails the sync and leaves
//!   the previous index in place.
//! - `show` prints the snapshot scans use: the index's, or the embedded
//!   one when none was synced.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use installhub_scan::{AdvisoryDb, AdvisorySnapshot, ImportStats};
use installhub_server::advisories::{OSV_EXPORTS, http_client, index_path, sync};
use serde_json::json;

use crate::client::print_json;

#[derive(Debug, Args)]
pub struct AdvisoriesArgs {
    #[command(subcommand)]
    command: AdvisoriesCommand,
}

#[derive(Debug, Subcommand)]
enum AdvisoriesCommand {
    /// Import OSV exports into the advisory index.
    Sync(SyncArgs),
    /// Print the snapshot scans use: the index's, or the embedded one.
    Show(ShowArgs),
}

/// Where the index is: `--out`/`--index`, else in the data directory.
#[derive(Debug, Args)]
struct IndexLocation {
    /// Data directory (as `serve`'s): the index is `<DIR>/advisories/index.json`.
    #[arg(long, env = "INSTALLHUB_DATA_DIR", default_value = "./installhub-data")]
    data_dir: PathBuf,
}

#[derive(Debug, Args)]
struct SyncArgs {
    /// An OSV export: an `http(s)://` URL, a local zip, a JSON record file
    /// or a directory of records; repeatable. Default: OSV's `all.zip` of
    /// npm, PyPI, Maven, NuGet and crates.io.
    #[arg(long = "from", value_name = "FILE|URL")]
    from: Vec<String>,
    #[command(flatten)]
    location: IndexLocation,
    /// Write the index here instead of into the data directory.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    location: IndexLocation,
    /// Read this index file instead of the data directory's.
    #[arg(long, value_name = "FILE")]
    index: Option<PathBuf>,
    /// Print the snapshot as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: AdvisoriesArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        AdvisoriesCommand::Sync(args) => run_sync(args).await,
        AdvisoriesCommand::Show(args) => run_show(args),
    }
}

async fn run_sync(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let sources = if args.from.is_empty() {
        OSV_EXPORTS.iter().map(|s| (*s).to_owned()).collect()
    } else {
        args.from
    };
    let out = args
        .out
        .unwrap_or_else(|| index_path(&args.location.data_dir));
    let client = http_client()?;
    let (db, stats) = sync(&client, &sources, &out)
        .await
        .context("the advisory index was not changed")?;
    if args.json {
        print_json(&json!({
            "index": out.display().to_string(),
            "snapshot": db.snapshot(),
            "stats": stats,
        }));
    } else {
        out!("{}", describe_sync(&out, db.snapshot(), &stats));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let explicit = args.index.is_some();
    let path = args
        .index
        .unwrap_or_else(|| index_path(&args.location.data_dir));
    if !path.exists() {
        // A named index must exist; without one, say what scans use.
        if explicit {
            anyhow::bail!("no advisory index at {}", path.display());
        }
        let embedded = AdvisoryDb::embedded();
        if args.json {
            print_json(&json!({ "index": null, "snapshot": embedded.snapshot() }));
        } else {
            outln!(
                "no index at {} (run `installhub advisories sync`); scans use the embedded {}",
                path.display(),
                describe_snapshot(embedded.snapshot())
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let db = AdvisoryDb::load_index(&path)?;
    if args.json {
        print_json(&json!({ "index": path.display().to_string(), "snapshot": db.snapshot() }));
    } else {
        outln!("{}: {}", path.display(), describe_snapshot(db.snapshot()));
    }
    Ok(ExitCode::SUCCESS)
}

/// One line naming a snapshot, as `scan` and `show` print it.
pub fn describe_snapshot(s: &AdvisorySnapshot) -> String {
    let newest = s
        .newest_modified
        .as_deref()
        .map(|m| format!(", newest record {m}"))
        .unwrap_or_default();
    format!(
        "snapshot {} from {}, created {}: {} advisories on {} packages{newest}",
        s.id, s.source, s.created_at, s.advisory_count, s.package_count
    )
}

fn describe_sync(
    out: &std::path::Path,
    snapshot: &AdvisorySnapshot,
    stats: &ImportStats,
) -> String {
    let mut text = format!("wrote {}\n{}\n", out.display(), describe_snapshot(snapshot));
    for (ecosystem, count) in &stats.by_ecosystem {
        text.push_str(&format!("  {ecosystem}: {count} advisories\n"));
    }
    text.push_str(&format!(
        "read {} records: {} skipped as unusable, {} withdrawn, {} without a supported ecosystem; {} non-JSON entries ignored\n",
        stats.records, stats.skipped, stats.withdrawn, stats.unsupported, stats.not_json
    ));
    for example in &stats.skipped_examples {
        text.push_str(&format!("  skipped {example}\n"));
    }
    text
}
