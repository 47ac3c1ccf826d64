//! `installhub verify`: checks a bundle offline with the same reader the
//! server's import uses (structure, limits, per-entry SHA-256, package
//! checksum), so a file that passes here passes the import's archive checks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use installhub_bundle::{BundleErrorCode, ReadLimits, VerifiedBundle, read_bundle};
use serde_json::json;

use super::print_json;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The bundle (.zip) to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print `{valid, …}` as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Why a file is not a valid bundle: the SPEC code and the reader's
/// message, which names the entry at fault.
pub(crate) struct Invalid {
    pub code: &'static str,
    pub message: String,
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    match verify(&args.file) {
        Ok(bundle) => {
            if args.json {
                let m = &bundle.manifest;
                print_json(&json!({
                    "valid": true,
                    "packageId": m.package_id.to_string(),
                    "name": m.name,
                    "version": m.version,
                    "checksum": m.checksum,
                    "artifacts": bundle.artifacts.len(),
                }));
            } else {
                print!("{}", describe(&bundle));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(invalid) => {
            if args.json {
                print_json(&json!({
                    "valid": false,
                    "error": invalid.code,
                    "message": invalid.message,
                }));
            } else {
                eprintln!(
                    "error: {} is not a valid bundle: {}: {}",
                    args.file.display(),
                    invalid.code,
                    invalid.message
                );
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

pub(crate) fn verify(path: &Path) -> Result<VerifiedBundle, Invalid> {
    let file = std::fs::File::open(path).map_err(|e| Invalid {
        code: "ReadFailed",
        message: format!("cannot open {}: {e}", path.display()),
    })?;
    // The largest plan's limits: this is the owner checking their own file,
    // and a target tenant's plan is not known offline.
    read_bundle(file, &ReadLimits::default()).map_err(|e| Invalid {
        code: match e.code() {
            // The bundle crate's `Internal` is a server's 500; here it can
            // only be the file failing to read.
            BundleErrorCode::Internal => "ReadFailed",
            code => code.as_str(),
        },
        message: e.to_string(),
    })
}

fn describe(bundle: &VerifiedBundle) -> String {
    let m = &bundle.manifest;
    let mut out = format!("{} {} ({})\n", m.name, m.version, m.package_type);
    out.push_str(&format!("  package id:     {}\n", m.package_id));
    out.push_str(&format!("  source tenant:  {}\n", m.source_tenant_id));
    out.push_str(&format!(
        "  exported:       {} by {}\n",
        m.exported_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        m.exported_by
    ));
    out.push_str(&format!("  artifacts:      {}\n", m.artifacts.len()));
    let order: Vec<String> = m.install_order.iter().map(ToString::to_string).collect();
    out.push_str(&format!("  install order:  {}\n", order.join(" → ")));
    if !m.package_dependencies.is_empty() {
        let requires: Vec<String> = m
            .package_dependencies
            .iter()
            .map(|d| format!("{} {}", d.package_name, d.version_range))
            .collect();
        out.push_str(&format!("  requires:       {}\n", requires.join(", ")));
    }
    out.push_str(&format!(
        "per-entry SHA-256: ok ({} entries)\nchecksum: ok {}\n",
        bundle.artifacts.len(),
        m.checksum
    ));
    out
}
