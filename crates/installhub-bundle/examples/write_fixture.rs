//! The benchmark fixture on disk, for `scripts/bench-bundle-vs-zip.sh`.
//!
//! `write_fixture files DIR` writes the 500 artifact files as they appear in
//! a bundle to `DIR/artifacts/`. `write_fixture bundle DIR OUT.zip` reads
//! them back, prepares and writes the bundle to `OUT.zip` and prints its
//! checksum: the work of `zip -r` plus the `sha256sum` pipeline, with
//! parsing every file into an artifact and writing the manifest on top.
//!
//! `write_fixture package OUT.zip` writes the same 500 artifacts as a
//! package to import, for `scripts/bench-export.sh`: their references are
//! redrawn so that ten roots (`00049-artifact`, `00099-artifact`, ...,
//! `00499-artifact`, each referencing the 49 before it) reach all 500
//! within the resolver's depth and root limits.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use installhub_bundle::{ArtifactFile, encode_artifact, prepare, write_zip};
use installhub_domain::imported::export_install_order;
use installhub_domain::{Artifact, Reference, TenantId};

#[path = "../benches/support/fixture.rs"]
mod fixture;

const ARTIFACTS: usize = 500;
const BYTES: usize = 20 * 1024;

fn write_files(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let out = dir.join("artifacts");
    fs::create_dir_all(&out)?;
    for artifact in fixture::artifacts(ARTIFACTS, BYTES) {
        fs::write(
            out.join(format!("{}.json", artifact.id)),
            encode_artifact(&artifact),
        )?;
    }
    Ok(())
}

/// Every 50th artifact is a root referencing the 49 before it.
const ROOT_EVERY: usize = 50;

fn write_package(out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut artifacts = fixture::artifacts(ARTIFACTS, BYTES);
    for (i, artifact) in artifacts.iter_mut().enumerate() {
        // An import's scan fails a package whose every step interpolates a
        // computed value into its condition; make them plain comparisons.
        if let Some(steps) = artifact.definition["steps"].as_array_mut() {
            for step in steps {
                if let Some(condition) = step["condition"].as_str() {
                    step["condition"] = condition.replace("${", "{").into();
                }
            }
        }
        artifact.references = if i % ROOT_EVERY == ROOT_EVERY - 1 {
            (i + 1 - ROOT_EVERY..i)
                .map(|j| Reference {
                    artifact_id: fixture::id(j),
                    tenant_id: None,
                })
                .collect()
        } else {
            Vec::new()
        };
    }
    // The order an import recomputes from the files, as `installhub pack`
    // finds it.
    let files: Vec<_> = artifacts
        .iter()
        .map(|a| ArtifactFile::from(a).bundled())
        .collect();
    let source = TenantId::parse(fixture::TENANT)?;
    let order = export_install_order(&source, &files)
        .map_err(|failures| format!("the fixture's graph is refused: {failures:?}"))?;
    let bundle = prepare(fixture::input(order), &artifacts)?;
    write_zip(&bundle, fs::File::create(out)?)?;
    println!("{}", bundle.checksum());
    Ok(())
}

/// Loads the artifact files on every core, as a server would load an export
/// from its store, then prepares and writes the bundle.
fn write_bundle(dir: &Path, out: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let tenant = TenantId::parse(fixture::TENANT)?;
    let paths = fs::read_dir(dir.join("artifacts"))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<PathBuf>, _>>()?;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let load = |path: &PathBuf| -> Result<Artifact, String> {
        let bytes = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: ArtifactFile =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(file.into_artifact(tenant.clone(), chrono::DateTime::UNIX_EPOCH))
    };
    let artifacts = std::thread::scope(|scope| {
        let workers: Vec<_> = paths
            .chunks(paths.len().div_ceil(threads).max(1))
            .map(|part| scope.spawn(move || part.iter().map(load).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("loader thread panicked"))
            .collect::<Result<Vec<Artifact>, String>>()
    })?;
    // Fixture ids sort in install order (references only point backwards).
    let mut order: Vec<_> = artifacts.iter().map(|a| a.id.clone()).collect();
    order.sort();
    let bundle = prepare(fixture::input(order), &artifacts)?;
    write_zip(&bundle, fs::File::create(out)?)?;
    Ok(bundle.checksum().to_owned())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["files", dir] => write_files(Path::new(dir)),
        ["package", out] => write_package(Path::new(out)),
        ["bundle", dir, out] => {
            write_bundle(Path::new(dir), Path::new(out)).map(|c| println!("{c}"))
        }
        _ => {
            eprintln!(
                "usage: write_fixture files DIR | write_fixture bundle DIR OUT.zip | write_fixture package OUT.zip"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("write_fixture: {e}");
            ExitCode::FAILURE
        }
    }
}
