//! `installhub scan`: the import's security scan, offline, for a CI pipeline
//! before a package is ever uploaded. The bundle is read with the same
//! reader and the scan run with the same rules and advisories as the
//! server's import, so the verdict here is the verdict there.
//!
//! Exit codes: 0 when the scan passes (or only warns, unless
//! `--fail-on-warn`), 1 when it fails, 2 when the file is not a valid
//! bundle or the advisory database cannot be read.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use installhub_scan::{AdvisoryDb, ScanInput, ScanReport, Scanner, Verdict, to_sarif};
use installhub_server::advisories::index_path;
use serde_json::json;

use super::print_json;
use super::verify::verify;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A summary and one line per finding.
    Text,
    /// `{result, securityFindings, …}`, as `POST /api/installhub/packages/scan` answers.
    Json,
    /// SARIF 2.1.0, for code-scanning dashboards.
    Sarif,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The bundle (.zip) to scan.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// The same as --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// An advisory index (from `installhub advisories sync`) or a directory
    /// of OSV records to match libraries against. Default: the data
    /// directory's index when one was synced, else the snapshot built into
    /// this binary.
    #[arg(long, env = "INSTALLHUB_ADVISORY_DB", value_name = "FILE|DIR")]
    pub advisory_db: Option<PathBuf>,
    /// Data directory whose `advisories/index.json` is used by default.
    #[arg(long, env = "INSTALLHUB_DATA_DIR", default_value = "./installhub-data")]
    pub data_dir: PathBuf,
    /// Exit with 1 on WARN as well as on FAIL.
    #[arg(long)]
    pub fail_on_warn: bool,
}

const INVALID: u8 = 2;

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let format = if args.json { Format::Json } else { args.format };
    let synced = index_path(&args.data_dir);
    let chosen = match &args.advisory_db {
        Some(path) => Some(path.clone()),
        None => synced.exists().then_some(synced),
    };
    let advisories = match &chosen {
        Some(path) => match AdvisoryDb::load(path) {
            Ok(db) => db,
            Err(e) => {
                eprintln!(
                    "error: cannot load the advisory database {}: {:#}",
                    path.display(),
                    anyhow::Error::new(e)
                );
                return Ok(ExitCode::from(INVALID));
            }
        },
        None => AdvisoryDb::embedded(),
    };
    let bundle = match verify(&args.file) {
        Ok(bundle) => bundle,
        Err(invalid) => {
            if format == Format::Text {
                eprint!("{}", invalid.human(&args.file));
            } else {
                print_json(
                    &json!({"error": invalid.code, "message": invalid.message, "errors": []}),
                );
            }
            return Ok(ExitCode::from(INVALID));
        }
    };
    let report = Scanner::new(advisories).scan(bundle.artifacts.iter().map(|a| ScanInput {
        artifact_id: a.id.as_str(),
        definition: &a.definition,
        libraries: &a.libraries,
    }));
    let m = &bundle.manifest;
    match format {
        Format::Json => print_json(&json!({
            "packageId": m.package_id.to_string(),
            "packageName": m.name,
            "version": m.version,
            "checksum": m.checksum,
            "result": report.result,
            "securityFindings": report.security_findings,
            "advisorySnapshot": report.advisory_snapshot,
        })),
        Format::Sarif => print_json(&to_sarif(&report, env!("CARGO_PKG_VERSION"), |id| {
            format!("artifacts/{id}.json")
        })),
        Format::Text => out!("{}", describe(&m.name, &m.version, &report)),
    }
    Ok(match report.result {
        Verdict::Fail => ExitCode::FAILURE,
        Verdict::Warn if args.fail_on_warn => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

fn describe(name: &str, version: &str, report: &ScanReport) -> String {
    let result = serde_json::to_value(report.result).unwrap_or_default();
    let mut out = format!(
        "{name} {version}: {} ({} finding(s))\n",
        result.as_str().unwrap_or("?"),
        report.security_findings.len()
    );
    if let Some(snapshot) = &report.advisory_snapshot {
        out.push_str(&format!(
            "  advisories: {}\n",
            crate::advisories::describe_snapshot(snapshot)
        ));
    }
    for f in &report.security_findings {
        out.push_str(&format!(
            "  - {} {} {}{}: {}\n",
            f.severity.as_str(),
            f.rule_id,
            f.artifact_id,
            f.path,
            f.message
        ));
        if let Some(capability) = f.capability {
            out.push_str(&format!("      capability: {}\n", capability.as_str()));
        }
        if let Some(snippet) = &f.snippet {
            out.push_str(&format!("      code: {snippet}\n"));
        }
    }
    out
}
