//! `installhub pack DIR -o FILE` and `installhub unpack FILE DIR`: a bundle
//! as a directory a person can read and edit, and back.
//!
//! The directory holds `manifest.json` and `artifacts/<id>.json`, as a
//! bundle does. `pack` reads the files in any JSON formatting and builds the
//! bundle with the exporter's own code: the install order from the
//! export's resolver (as an import recomputes it), then the bundle crate's
//! `prepare` (canonical files, manifest lines, `dependsOn`, checksum) and
//! `write_zip`, so the bytes are what an export of the same artifacts
//! writes. From `manifest.json` it takes what the exporter decides (id,
//! name, type, version, description, author, tags, source tenant, export
//! time and identity, package dependencies); its `artifacts`,
//! `installOrder` and `checksum` are recomputed from the files. The package
//! is then checked with the import's own rules, so what `pack` writes is
//! what an import accepts. `unpack` writes a verified bundle's files in
//! their canonical bytes, so `unpack` then `pack` gives the same file back.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::Args;
use installhub_bundle::{ArtifactFile, ManifestInput, encode_manifest, prepare, write_zip};
use installhub_domain::imported::{BundledArtifact, check_imported, export_install_order};
use installhub_domain::manifest::{FORMAT_VERSION, MANIFEST_PATH};
use installhub_domain::{
    Artifact, ArtifactId, Failure, PackageDependency, PackageId, PackageType, TenantId,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ClientError, print_json};

const ARTIFACTS_DIR: &str = "artifacts";

#[derive(Debug, Args)]
pub struct PackArgs {
    /// The directory: manifest.json and artifacts/<id>.json.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The bundle file to write (replaced when it exists).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Print `{file, packageId, name, version, checksum, artifacts, sha256}`.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UnpackArgs {
    /// The bundle (.zip) to unpack.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The directory to write (created when missing; must be empty).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Unpack into a non-empty directory, replacing its manifest.json and
    /// artifacts/ (nothing else in it is touched).
    #[arg(long)]
    pub force: bool,
    /// Print `{dir, packageId, name, version, artifacts}`.
    #[arg(long)]
    pub json: bool,
}

/// What `manifest.json` must say in a directory to pack: what the exporter
/// decides. The derived parts may be there (as `unpack` writes them) and
/// are recomputed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ManifestFields {
    #[serde(default)]
    format_version: Option<u32>,
    package_id: PackageId,
    name: String,
    package_type: PackageType,
    version: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    source_tenant_id: TenantId,
    exported_at: DateTime<Utc>,
    exported_by: String,
    #[serde(default)]
    package_dependencies: Vec<PackageDependency>,
    #[serde(default, rename = "artifacts")]
    _artifacts: Option<IgnoredAny>,
    #[serde(default, rename = "installOrder")]
    _install_order: Option<IgnoredAny>,
    #[serde(default, rename = "checksum")]
    _checksum: Option<IgnoredAny>,
}

fn local(code: &'static str, message: impl Into<String>) -> ClientError {
    ClientError::local(code, message)
}

/// The failures of the export's or the import's rules, one line each.
fn refused(dir: &Path, failures: &[Failure]) -> ClientError {
    let mut message = format!(
        "{} does not make a package an import accepts:",
        dir.display()
    );
    for failure in failures {
        message.push_str(&format!(
            "\n  - {}{}: {}",
            failure.code.as_str(),
            failure
                .field
                .as_deref()
                .map_or_else(String::new, |f| format!(" [{f}]")),
            failure.message
        ));
    }
    local("InvalidPackage", message)
}

pub fn pack(args: PackArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(super::finish(pack_dir(&args), json))
}

fn read_manifest(dir: &Path) -> Result<ManifestFields, ClientError> {
    let path = dir.join(MANIFEST_PATH);
    let bytes = std::fs::read(&path)
        .map_err(|e| local("ReadFailed", format!("cannot read {}: {e}", path.display())))?;
    let fields: ManifestFields = serde_json::from_slice(&bytes).map_err(|e| {
        local(
            "InvalidManifest",
            format!("{} is not a manifest: {e}", path.display()),
        )
    })?;
    if let Some(version) = fields.format_version
        && version != FORMAT_VERSION
    {
        return Err(local(
            "InvalidManifest",
            format!(
                "{}: formatVersion {version} is not {FORMAT_VERSION}, the only format this installhub writes",
                path.display()
            ),
        ));
    }
    Ok(fields)
}

/// Every `artifacts/<id>.json`, sorted by id; anything else in the
/// directory is refused, since the bundle would leave it out.
fn read_artifacts(dir: &Path) -> Result<Vec<ArtifactFile>, ClientError> {
    let listing = |path: &Path| {
        std::fs::read_dir(path).map_err(|e| {
            local(
                "ReadFailed",
                format!("cannot read the directory {}: {e}", path.display()),
            )
        })
    };
    for entry in listing(dir)? {
        let entry = entry.map_err(|e| local("ReadFailed", e.to_string()))?;
        let name = entry.file_name();
        if name != MANIFEST_PATH && name != ARTIFACTS_DIR {
            return Err(local(
                "UnexpectedFile",
                format!(
                    "{} is neither manifest.json nor artifacts/: a bundle holds only those; move it out of {}",
                    entry.path().display(),
                    dir.display()
                ),
            ));
        }
    }
    let artifacts_dir = dir.join(ARTIFACTS_DIR);
    let mut files = Vec::new();
    for entry in listing(&artifacts_dir)? {
        let entry = entry.map_err(|e| local("ReadFailed", e.to_string()))?;
        let path = entry.path();
        let name = entry.file_name();
        let id = name
            .to_str()
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|id| ArtifactId::parse(id).ok());
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        let Some(id) = id.filter(|_| is_file) else {
            return Err(local(
                "UnexpectedFile",
                format!(
                    "{} is not an artifact file: artifacts/ holds only files named <artifact id>.json",
                    path.display()
                ),
            ));
        };
        let bytes = std::fs::read(&path)
            .map_err(|e| local("ReadFailed", format!("cannot read {}: {e}", path.display())))?;
        let file: ArtifactFile = serde_json::from_slice(&bytes).map_err(|e| {
            local(
                "InvalidArtifactFile",
                format!("{} is not an artifact file: {e}", path.display()),
            )
        })?;
        if file.id != id {
            return Err(local(
                "InvalidArtifactFile",
                format!(
                    "{} holds artifact '{}'; its file must be named {}.json",
                    path.display(),
                    file.id,
                    file.id
                ),
            ));
        }
        files.push(file);
    }
    if files.is_empty() {
        return Err(local(
            "InvalidPackage",
            format!("{} holds no artifact file", artifacts_dir.display()),
        ));
    }
    files.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(files)
}

fn pack_dir(args: &PackArgs) -> Result<(), ClientError> {
    if !args.dir.is_dir() {
        return Err(local(
            "NotADirectory",
            format!(
                "{} is not a directory (pack reads manifest.json and artifacts/ from one; unpack a bundle with installhub unpack FILE DIR)",
                args.dir.display()
            ),
        ));
    }
    let fields = read_manifest(&args.dir)?;
    let files = read_artifacts(&args.dir)?;
    let source = fields.source_tenant_id.clone();
    let bundled: Vec<BundledArtifact> = files.iter().map(ArtifactFile::bundled).collect();
    let install_order =
        export_install_order(&source, &bundled).map_err(|f| refused(&args.dir, &f))?;
    let artifacts: Vec<Artifact> = files
        .into_iter()
        .map(|f| f.into_artifact(source.clone(), DateTime::UNIX_EPOCH))
        .collect();
    let input = ManifestInput {
        package_id: fields.package_id,
        name: fields.name,
        package_type: fields.package_type,
        version: fields.version,
        description: fields.description,
        author: fields.author,
        tags: fields.tags,
        source_tenant_id: source,
        exported_at: fields.exported_at,
        exported_by: fields.exported_by,
        install_order,
        package_dependencies: fields.package_dependencies,
    };
    let prepared = prepare(input, &artifacts)
        .map_err(|e| local("InvalidPackage", format!("{}: {e}", args.dir.display())))?;
    check_imported(prepared.manifest(), &bundled).map_err(|f| refused(&args.dir, &f))?;

    let output_dir = match args.output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let failed = |e: &dyn std::fmt::Display| {
        local(
            "WriteFailed",
            format!("cannot write {}: {e}", args.output.display()),
        )
    };
    // Written beside the target and renamed over it: a failure never
    // leaves half a bundle under the name.
    let temp = tempfile::NamedTempFile::new_in(&output_dir).map_err(|e| failed(&e))?;
    let file = temp.reopen().map_err(|e| failed(&e))?;
    let mut out = write_zip(&prepared, BufWriter::new(file)).map_err(|e| failed(&e))?;
    out.flush().map_err(|e| failed(&e))?;
    drop(out);
    let bytes = std::fs::read(temp.path()).map_err(|e| failed(&e))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    temp.persist(&args.output).map_err(|e| failed(&e.error))?;
    let m = prepared.manifest();
    if args.json {
        print_json(&json!({
            "file": args.output.display().to_string(),
            "packageId": m.package_id.to_string(),
            "name": m.name,
            "version": m.version,
            "checksum": m.checksum,
            "artifacts": m.artifacts.len(),
            "sha256": sha256,
            "sizeBytes": bytes.len(),
        }));
    } else {
        outln!(
            "Packed {} {} into {}\n  package id:     {}\n  checksum:       {}\n  artifacts:      {}\n  install order:  {}",
            m.name,
            m.version,
            args.output.display(),
            m.package_id,
            m.checksum,
            m.artifacts.len(),
            m.install_order
                .iter()
                .map(ArtifactId::as_str)
                .collect::<Vec<_>>()
                .join(" → "),
        );
    }
    Ok(())
}

pub fn unpack(args: UnpackArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(super::finish(unpack_file(&args), json))
}

/// Makes `dir` ready: created when missing; when not empty, refused
/// unless `force`, which removes its manifest.json and artifacts/ only.
fn prepare_target(dir: &Path, force: bool) -> Result<(), ClientError> {
    let failed = |e: std::io::Error| {
        local(
            "WriteFailed",
            format!("cannot write {}: {e}", dir.display()),
        )
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return std::fs::create_dir_all(dir).map_err(failed);
        }
        Err(e) => return Err(failed(e)),
        Ok(meta) if !meta.is_dir() => {
            return Err(local(
                "NotADirectory",
                format!("{} exists and is not a directory", dir.display()),
            ));
        }
        Ok(_) => {}
    }
    let empty = std::fs::read_dir(dir).map_err(failed)?.next().is_none();
    if empty {
        return Ok(());
    }
    if !force {
        return Err(local(
            "DirectoryNotEmpty",
            format!("{} is not empty", dir.display()),
        )
        .hint("unpack into a new directory, or pass --force to replace its manifest.json and artifacts/"));
    }
    let manifest = dir.join(MANIFEST_PATH);
    if std::fs::symlink_metadata(&manifest).is_ok() {
        std::fs::remove_file(&manifest).map_err(failed)?;
    }
    let artifacts = dir.join(ARTIFACTS_DIR);
    match std::fs::symlink_metadata(&artifacts) {
        // Removes a link itself, never what it points to.
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&artifacts).map_err(failed)?,
        Ok(_) => std::fs::remove_file(&artifacts).map_err(failed)?,
        Err(_) => {}
    }
    Ok(())
}

/// Creates `path` anew (never through an existing file or link).
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    let failed = |e: std::io::Error| {
        local(
            "WriteFailed",
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)
}

fn unpack_file(args: &UnpackArgs) -> Result<(), ClientError> {
    // The import's own reader: a bundle that does not verify is not
    // unpacked, and every path written is `artifacts/<valid id>.json`.
    let bundle = super::verify::verify(&args.file).map_err(|invalid| match invalid.code {
        "FileNotFound" | "NotAFile" | "ReadFailed" => local(invalid.code, invalid.message),
        code => local(
            code,
            format!(
                "{} is not a valid bundle: {}",
                args.file.display(),
                invalid.message
            ),
        ),
    })?;
    prepare_target(&args.dir, args.force)?;
    write_new(
        &args.dir.join(MANIFEST_PATH),
        &encode_manifest(&bundle.manifest),
    )?;
    let artifacts = args.dir.join(ARTIFACTS_DIR);
    std::fs::create_dir(&artifacts).map_err(|e| {
        local(
            "WriteFailed",
            format!("cannot create {}: {e}", artifacts.display()),
        )
    })?;
    for file in &bundle.artifacts {
        write_new(&artifacts.join(format!("{}.json", file.id)), &file.encode())?;
    }
    let m = &bundle.manifest;
    if args.json {
        print_json(&json!({
            "dir": args.dir.display().to_string(),
            "packageId": m.package_id.to_string(),
            "name": m.name,
            "version": m.version,
            "artifacts": bundle.artifacts.len(),
        }));
    } else {
        outln!(
            "Unpacked {} {} into {}: manifest.json and {} artifact file(s) in artifacts/\nPack it again with: installhub pack {} -o FILE.zip",
            m.name,
            m.version,
            args.dir.display(),
            bundle.artifacts.len(),
            args.dir.display()
        );
    }
    Ok(())
}
