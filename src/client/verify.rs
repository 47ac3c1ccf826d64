//! `installhub verify`: checks a bundle offline with the same reader the
//! server's import uses (structure, limits, per-entry SHA-256, package
//! checksum), so a file that passes here passes the import's archive checks.
//!
//! With `--publichub-key KEY --listing LISTING.json` it also checks a
//! bundle downloaded from the marketplace against the version the
//! PublicHub signed, as an install does, offline: the file's size and
//! SHA-256 against the version's `sizeBytes` and `bundleSha256`, the
//! manifest's checksum against its `checksum`, and the Ed25519 signature
//! over the version's statement (rebuilt from the listing's fields) with the
//! PublicHub's key. `LISTING.json` is the listing as `installhub marketplace
//! show --json` prints it (`GET /api/marketplace/packages/{id}`); it need
//! not be trusted, since the signature covers every field used.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use installhub_auth::PublisherKeySet;
use installhub_bundle::{BundleErrorCode, ReadLimits, VerifiedBundle, read_bundle};
use installhub_domain::marketplace::{ListingId, VersionStatement};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::marketplace::SavedListing;
use super::{ClientError, print_json};

// `--version` is the listing's version here (see `export`).
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct VerifyArgs {
    /// The bundle (.zip) to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Also check the PublicHub's signature with this key: a JWKS (as
    /// served at /.well-known/installhub/publichub-keys.json) or a PEM key.
    #[arg(long, value_name = "KEY", requires = "listing")]
    pub publichub_key: Option<PathBuf>,
    /// The listing the bundle was downloaded from, as `installhub
    /// marketplace show --json` prints it.
    #[arg(long, value_name = "LISTING_JSON", requires = "publichub_key")]
    pub listing: Option<PathBuf>,
    /// The listing's version to check against; default: the manifest's.
    #[arg(long, value_name = "VERSION", requires = "publichub_key")]
    pub version: Option<String>,
    /// The marketplace package id the listing must be (`mkt-pkg-…`).
    #[arg(long, value_name = "ID", requires = "publichub_key")]
    pub package_id: Option<String>,
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
        Ok(bundle) if args.publichub_key.is_some() => Ok(run_signed(&args, &bundle)),
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
                out!("{}", describe(&bundle));
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
                eprint!("{}", invalid.human(&args.file));
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

impl Invalid {
    /// `error: ...` (and a `hint: ...` when there is one) for a person.
    pub(crate) fn human(&self, path: &Path) -> String {
        match self.code {
            "FileNotFound" | "NotAFile" | "ReadFailed" => {
                let mut out = format!("error: {}\n", self.message);
                if self.code == "NotAFile" {
                    out.push_str(&format!(
                        "hint: to check an unpacked package, pack it first: installhub pack {} -o FILE.zip\n",
                        path.display()
                    ));
                }
                out
            }
            code => format!(
                "error: {} is not a valid bundle: {code}: {}\n",
                path.display(),
                self.message
            ),
        }
    }
}

/// A missing file or a directory where a bundle file is expected, named
/// as such before anything tries to read it.
pub(crate) fn bundle_path_problem(path: &Path) -> Option<Invalid> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(Invalid {
            code: "FileNotFound",
            message: format!("{} does not exist", path.display()),
        }),
        Err(e) => Some(Invalid {
            code: "ReadFailed",
            message: format!("cannot read {}: {e}", path.display()),
        }),
        Ok(meta) if meta.is_dir() => Some(Invalid {
            code: "NotAFile",
            message: format!(
                "{} is a directory, not a bundle file (.zip)",
                path.display()
            ),
        }),
        Ok(_) => None,
    }
}

/// [`bundle_path_problem`] for the networked commands.
pub(crate) fn check_bundle_path(path: &Path) -> Result<(), ClientError> {
    match bundle_path_problem(path) {
        None => Ok(()),
        Some(invalid) => Err(ClientError::local(invalid.code, invalid.message)),
    }
}

pub(crate) fn verify(path: &Path) -> Result<VerifiedBundle, Invalid> {
    if let Some(problem) = bundle_path_problem(path) {
        return Err(problem);
    }
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

/// One comparison of the file against the signed version.
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
}

fn check(name: &'static str, expected: &str, actual: &str) -> Check {
    Check {
        name,
        ok: expected == actual,
        detail: if expected == actual {
            actual.to_owned()
        } else {
            format!("the version has {expected}, the file has {actual}")
        },
    }
}

fn run_signed(args: &VerifyArgs, bundle: &VerifiedBundle) -> ExitCode {
    let result = signed_checks(args, bundle);
    let (version, checks) = match result {
        Ok(found) => found,
        Err(invalid) => {
            if args.json {
                print_json(&json!({
                    "valid": false,
                    "error": invalid.code,
                    "message": invalid.message,
                }));
            } else {
                eprintln!("error: {}: {}", invalid.code, invalid.message);
            }
            return ExitCode::FAILURE;
        }
    };
    let valid = checks.iter().all(|c| c.ok);
    let m = &bundle.manifest;
    if args.json {
        let listed: Vec<Value> = checks
            .iter()
            .map(|c| json!({"check": c.name, "ok": c.ok, "detail": c.detail}))
            .collect();
        let mut out = json!({
            "valid": valid,
            "packageId": m.package_id.to_string(),
            "name": m.name,
            "version": version,
            "checksum": m.checksum,
            "artifacts": bundle.artifacts.len(),
            "checks": listed,
        });
        if !valid {
            out["error"] = json!("SignatureVerificationFailed");
            out["message"] = json!(format!(
                "{} does not match the PublicHub's signed version {version}",
                args.file.display()
            ));
        }
        print_json(&out);
    } else {
        let mut text = String::new();
        for c in &checks {
            text.push_str(&format!(
                "  {:<10} {} {}\n",
                c.name,
                if c.ok { "ok" } else { "MISMATCH" },
                c.detail
            ));
        }
        if valid {
            out!("{}", describe(bundle));
            out!(
                "PublicHub signature: ok, version {version}\n{text}verdict: {} is the PublicHub's signed version {version}\n",
                args.file.display()
            );
        } else {
            eprintln!(
                "{text}error: {} does not match the PublicHub's signed version {version}; do not install it",
                args.file.display()
            );
        }
    }
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The version checked and every check, or why they could not be made.
fn signed_checks(
    args: &VerifyArgs,
    bundle: &VerifiedBundle,
) -> Result<(String, Vec<Check>), Invalid> {
    let key_path = args.publichub_key.as_deref().unwrap_or(Path::new(""));
    let keys = PublisherKeySet::from_file(key_path).map_err(|e| Invalid {
        code: "InvalidPublicHubKey",
        message: e.to_string(),
    })?;
    let listing_path = args.listing.as_deref().unwrap_or(Path::new(""));
    let text = std::fs::read(listing_path).map_err(|e| Invalid {
        code: "ReadFailed",
        message: format!("cannot read the listing {}: {e}", listing_path.display()),
    })?;
    let listing: SavedListing = serde_json::from_slice(&text).map_err(|e| Invalid {
        code: "InvalidListing",
        message: format!(
            "{} is not a marketplace listing as 'installhub marketplace show --json' prints it: {e}",
            listing_path.display()
        ),
    })?;
    if let Some(expected) = &args.package_id
        && *expected != listing.package_id
    {
        return Err(Invalid {
            code: "InvalidListing",
            message: format!(
                "{} is the listing {}, not --package-id {expected}",
                listing_path.display(),
                listing.package_id
            ),
        });
    }
    let listing_id = ListingId::parse(&listing.package_id).map_err(|_| Invalid {
        code: "InvalidListing",
        message: format!(
            "{}: packageId '{}' is not a marketplace package id (mkt-pkg- and a UUID)",
            listing_path.display(),
            listing.package_id
        ),
    })?;
    let wanted = args
        .version
        .clone()
        .unwrap_or_else(|| bundle.manifest.version.clone());
    let version = listing
        .versions
        .iter()
        .find(|v| v.version == wanted)
        .ok_or_else(|| {
            let known: Vec<&str> = listing
                .versions
                .iter()
                .map(|v| v.version.as_str())
                .collect();
            Invalid {
                code: "VersionNotFound",
                message: format!(
                    "the listing {} has no version {wanted} (it has: {}); name one with --version",
                    listing_path.display(),
                    known.join(", ")
                ),
            }
        })?;
    let (size, sha256) = size_and_sha256(&args.file)?;
    let statement = VersionStatement::new(
        &listing_id,
        &listing.name,
        &version.version,
        &version.checksum,
        &version.bundle_sha256,
        version.size_bytes,
        version.published_at,
        &version.key_id,
    );
    let signature = keys.verify(
        &version.key_id,
        &statement.canonical_bytes(),
        &version.signature,
    );
    let checks = vec![
        check("size", &version.size_bytes.to_string(), &size.to_string()),
        check("sha256", &version.bundle_sha256, &sha256),
        check("checksum", &version.checksum, &bundle.manifest.checksum),
        Check {
            name: "signature",
            ok: signature.is_ok(),
            detail: match signature {
                Ok(()) => format!("by {}", version.key_id),
                Err(e) => e.to_string(),
            },
        },
    ];
    Ok((version.version.clone(), checks))
}

fn size_and_sha256(path: &Path) -> Result<(u64, String), Invalid> {
    let failed = |e: std::io::Error| Invalid {
        code: "ReadFailed",
        message: format!("cannot read {}: {e}", path.display()),
    };
    let mut file = std::fs::File::open(path).map_err(failed)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buffer).map_err(failed)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buffer[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
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
