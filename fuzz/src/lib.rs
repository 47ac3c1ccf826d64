//! What the fuzz targets share: the limits they read with, the invariants
//! every accepted bundle must satisfy, the structure-aware input format of
//! `read_bundle_mutated`, and the seed bundles (`examples/make_seeds.rs`).
//!
//! Nothing here is used outside `fuzz/`; see `scripts/fuzz-bundle.sh`.

use std::io::{Cursor, Write};

/// The bundle crate's test fixtures, shared rather than copied.
use installhub_bundle::fixtures as support;

use installhub_bundle::{
    ArtifactFile, BundleError, ManifestInput, ReadLimits, VerifiedBundle, prepare, read_bundle,
    write_zip,
};
use installhub_domain::manifest::{FORMAT_VERSION, artifact_path, package_checksum, sha256_hex};
use installhub_domain::{Artifact, ArtifactId, ArtifactType, Manifest, ManifestArtifact, TenantId};
use serde_json::Value;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

/// Inputs up to this size are read a second time with the default limits.
/// The ratio limit (100:1) bounds what they can inflate to: 6.4 MiB.
pub const DEFAULT_LIMITS_MAX_INPUT: usize = 64 * 1024;

/// Limits small enough that no input can make the reader inflate much:
/// at most 4 MiB in all, whatever the archive declares.
pub fn small_limits() -> ReadLimits {
    ReadLimits {
        max_entries: 64,
        max_manifest_bytes: 256 * 1024,
        max_entry_bytes: 1024 * 1024,
        max_total_bytes: 4 * 1024 * 1024,
        max_ratio: installhub_bundle::DEFAULT_MAX_RATIO,
    }
}

fn touch_error(error: &BundleError) {
    let text = error.to_string();
    assert!(!text.is_empty());
    let _ = error.code().as_str();
}

/// The invariants of every bundle the reader accepts.
pub fn check_verified(bundle: &VerifiedBundle) {
    let manifest = &bundle.manifest;
    assert_eq!(manifest.format_version, FORMAT_VERSION);
    assert_eq!(
        manifest.artifacts.len(),
        bundle.artifacts.len(),
        "one artifact file per manifest line"
    );
    assert_eq!(
        manifest.checksum,
        manifest.computed_checksum(),
        "the checksum is the one the lines imply"
    );
    let mut order: Vec<&ArtifactId> = manifest.install_order.iter().collect();
    let mut ids: Vec<&ArtifactId> = manifest.artifacts.iter().map(|l| &l.id).collect();
    order.sort();
    ids.sort();
    assert_eq!(order, ids, "installOrder lists every line exactly once");
    for (line, file) in manifest.artifacts.iter().zip(&bundle.artifacts) {
        assert_eq!(line.id, file.id, "files come in manifest order");
        assert_eq!(line.path, artifact_path(&line.id));
        assert_eq!(line.artifact_type, file.r#type);
        assert_eq!(line.name, file.name);
        assert_eq!(line.version, file.version);
        assert_eq!(
            sha256_hex(&file.encode()),
            line.sha256,
            "the canonical encoding of {} hashes to its manifest line",
            line.path
        );
    }
}

/// The `read_bundle` target: read with the small limits, and small inputs
/// again with the defaults. Looser limits accept everything the small ones
/// do, and the same bundle.
pub fn read_and_check(data: &[u8]) {
    let small = read_bundle(Cursor::new(data), &small_limits());
    match &small {
        Ok(bundle) => check_verified(bundle),
        Err(error) => touch_error(error),
    }
    if data.len() > DEFAULT_LIMITS_MAX_INPUT {
        return;
    }
    let full = read_bundle(Cursor::new(data), &ReadLimits::default());
    match (&small, &full) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the limits changed what was read"),
        (Ok(_), Err(e)) => panic!("accepted with the small limits, refused with the defaults: {e}"),
        (Err(_), Ok(b)) => check_verified(b),
        (Err(_), Err(e)) => touch_error(e),
    }
}

// --- The structure-aware input of `read_bundle_mutated`. ---

/// Splits the input: a control chunk, then one artifact file per chunk.
/// 0xFF never occurs in UTF-8, so a JSON body cannot contain it.
pub const SEPARATOR: u8 = 0xFF;
const MAX_FILES: usize = 24;
const MAX_PATCHES: usize = 8;

/// Control flags (first control byte).
pub const ADD_DIRECTORY: u8 = 1 << 0;
pub const MANIFEST_STORED: u8 = 1 << 1;
pub const MANIFEST_FIRST: u8 = 1 << 2;
pub const MANIFEST_COMPACT: u8 = 1 << 3;
pub const NO_MANIFEST: u8 = 1 << 4;
pub const DEPENDS_ON: u8 = 1 << 5;
pub const LINES_REVERSED: u8 = 1 << 6;

/// A byte patch applied to the written archive: the "mutate selected
/// bytes" half of the target.
#[derive(Debug, Clone, Copy)]
struct Patch {
    from_end: bool,
    set: bool,
    offset: usize,
    value: u8,
}

/// The decoded input:
///
/// ```text
/// flags, stored_lo, stored_hi, [kind, off_lo, off_hi, value]* 0xFF body 0xFF body ...
/// ```
///
/// `stored` says which of the first 16 files are stored rather than
/// deflated; a patch's `kind` bit 0 counts its offset from the archive's
/// end, bit 1 sets the byte instead of XOR-ing it.
struct Mutated<'a> {
    flags: u8,
    stored: u16,
    patches: Vec<Patch>,
    bodies: Vec<&'a [u8]>,
}

impl<'a> Mutated<'a> {
    fn parse(data: &'a [u8]) -> Self {
        let mut chunks = data.split(|&b| b == SEPARATOR);
        let control = chunks.next().unwrap_or_default();
        let byte = |i: usize| control.get(i).copied().unwrap_or(0);
        let patches = control
            .get(3..)
            .unwrap_or_default()
            .chunks_exact(4)
            .take(MAX_PATCHES)
            .map(|p| Patch {
                from_end: p[0] & 1 != 0,
                set: p[0] & 2 != 0,
                offset: usize::from(u16::from_le_bytes([p[1], p[2]])),
                value: p[3],
            })
            .collect();
        Mutated {
            flags: byte(0),
            stored: u16::from_le_bytes([byte(1), byte(2)]),
            patches,
            bodies: chunks.take(MAX_FILES).collect(),
        }
    }
}

/// Encodes a `read_bundle_mutated` input (for the seeds).
pub fn encode_mutated(flags: u8, stored: u16, bodies: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&stored.to_le_bytes());
    for body in bodies {
        out.push(SEPARATOR);
        out.extend_from_slice(body);
    }
    out
}

/// The manifest header of every bundle the fuzz crate makes.
pub fn manifest_input(install_order: Vec<ArtifactId>) -> ManifestInput {
    ManifestInput {
        install_order,
        ..support::input(&[])
    }
}

/// The manifest line a body claims to be, as far as it can be made out;
/// defaults where it cannot, so the bundle still gets written and read.
fn line_for(index: usize, body: &[u8], earlier: &[ArtifactId], depends: bool) -> ManifestArtifact {
    let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let text = |key: &str| value.get(key).and_then(Value::as_str);
    let id = text("id")
        .and_then(|id| ArtifactId::parse(id).ok())
        .unwrap_or_else(|| ArtifactId::parse(&format!("f{index}")).unwrap());
    let depends_on = if depends {
        value
            .get("references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("artifactId")?.as_str())
            .filter_map(|r| earlier.iter().find(|e| e.as_str() == r).cloned())
            .collect()
    } else {
        vec![]
    };
    ManifestArtifact {
        path: artifact_path(&id),
        id,
        artifact_type: text("type")
            .and_then(ArtifactType::parse)
            .unwrap_or(ArtifactType::ProcessDefinition),
        name: text("name").unwrap_or_default().to_owned(),
        version: text("version").unwrap_or_default().to_owned(),
        sha256: sha256_hex(body),
        depends_on,
    }
}

fn options(stored: bool) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(if stored {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        })
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(0o644)
}

/// Writes the bodies as a bundle with a manifest that is right for them
/// (each line's hash, the checksum), whatever the bodies are: so the
/// fuzzer's edits to the JSON reach the reader's content checks instead of
/// stopping at a hash mismatch. `None` when the zip writer refuses (two
/// bodies with the same id).
fn write_mutated(input: &Mutated<'_>) -> Option<Vec<u8>> {
    let mut lines: Vec<ManifestArtifact> = Vec::with_capacity(input.bodies.len());
    for (i, body) in input.bodies.iter().enumerate() {
        let earlier: Vec<ArtifactId> = lines.iter().map(|l| l.id.clone()).collect();
        lines.push(line_for(i, body, &earlier, input.flags & DEPENDS_ON != 0));
    }
    let install_order: Vec<ArtifactId> = lines.iter().map(|l| l.id.clone()).collect();
    let checksum = package_checksum(lines.iter().map(|l| (l.path.as_str(), l.sha256.as_str())));
    let header = manifest_input(install_order);
    let mut manifest_lines = lines.clone();
    if input.flags & LINES_REVERSED != 0 {
        manifest_lines.reverse();
    }
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        package_id: header.package_id,
        name: header.name,
        package_type: header.package_type,
        version: header.version,
        description: header.description,
        author: header.author,
        tags: header.tags,
        source_tenant_id: header.source_tenant_id,
        exported_at: header.exported_at,
        exported_by: header.exported_by,
        artifacts: manifest_lines,
        install_order: header.install_order,
        package_dependencies: header.package_dependencies,
        checksum,
    };
    let mut manifest_bytes = if input.flags & MANIFEST_COMPACT != 0 {
        serde_json::to_vec(&manifest).ok()?
    } else {
        serde_json::to_vec_pretty(&manifest).ok()?
    };
    manifest_bytes.push(b'\n');

    let mut entries: Vec<(String, &[u8], bool)> = lines
        .iter()
        .zip(&input.bodies)
        .enumerate()
        .map(|(i, (line, body))| {
            (
                line.path.clone(),
                *body,
                i < 16 && input.stored >> i & 1 != 0,
            )
        })
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    if input.flags & NO_MANIFEST == 0 {
        let manifest_entry = (
            "manifest.json".to_owned(),
            manifest_bytes.as_slice(),
            input.flags & MANIFEST_STORED != 0,
        );
        if input.flags & MANIFEST_FIRST != 0 {
            entries.insert(0, manifest_entry);
        } else {
            entries.push(manifest_entry);
        }
    }

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    if input.flags & ADD_DIRECTORY != 0 {
        zip.add_directory("artifacts/", options(false)).ok()?;
    }
    for (name, bytes, stored) in entries {
        zip.start_file(name, options(stored)).ok()?;
        zip.write_all(bytes).ok()?;
    }
    let mut bytes = zip.finish().ok()?.into_inner();
    if !bytes.is_empty() {
        for patch in &input.patches {
            let at = patch.offset % bytes.len();
            let at = if patch.from_end {
                bytes.len() - 1 - at
            } else {
                at
            };
            bytes[at] = if patch.set {
                patch.value
            } else {
                bytes[at] ^ patch.value
            };
        }
    }
    Some(bytes)
}

/// When every body is a well-formed artifact file, the crate's own writer
/// must make a bundle of them that reads back to the same files and
/// manifest: a round trip on the fuzzer's JSON.
fn round_trip(bodies: &[&[u8]]) {
    let Ok(files) = bodies
        .iter()
        .map(|b| serde_json::from_slice::<ArtifactFile>(b))
        .collect::<Result<Vec<_>, _>>()
    else {
        return;
    };
    let tenant = TenantId::parse(TENANT).unwrap();
    let artifacts: Vec<Artifact> = files
        .iter()
        .cloned()
        .map(|f| f.into_artifact(tenant.clone(), chrono::DateTime::UNIX_EPOCH))
        .collect();
    let order = artifacts.iter().map(|a| a.id.clone()).collect();
    let Ok(prepared) = prepare(manifest_input(order), &artifacts) else {
        return;
    };
    let written = write_zip(&prepared, Cursor::new(Vec::new()))
        .expect("writing a prepared bundle to memory cannot fail")
        .into_inner();
    let read = match read_bundle(Cursor::new(&written), &ReadLimits::default()) {
        Ok(read) => read,
        Err(e) => panic!("a bundle our writer wrote is refused: {e}"),
    };
    check_verified(&read);
    assert_eq!(&read.manifest, prepared.manifest());
    for file in &read.artifacts {
        let original = files.iter().find(|f| f.id == file.id).unwrap();
        assert_eq!(file, original, "{} changed in the round trip", file.id);
    }
}

/// The bundle a `read_bundle_mutated` input is read as: to turn one of its
/// findings into a plain archive for the `read_bundle` target or a test.
pub fn mutated_bundle(data: &[u8]) -> Option<Vec<u8>> {
    write_mutated(&Mutated::parse(data))
}

/// The `read_bundle_mutated` target.
pub fn mutated_and_check(data: &[u8]) {
    let input = Mutated::parse(data);
    if let Some(bytes) = write_mutated(&input) {
        match read_bundle(Cursor::new(&bytes), &small_limits()) {
            Ok(bundle) => check_verified(&bundle),
            Err(error) => touch_error(&error),
        }
    }
    round_trip(&input.bodies);
}

// --- Seed material. ---

pub use support::{TENANT, artifact};

/// The bundle crate's seed package, dependencies first (the order
/// [`bundle_of`] installs in).
pub fn seed_artifacts() -> Vec<Artifact> {
    let mut artifacts = support::seed_artifacts();
    artifacts.reverse();
    artifacts
}

/// Writes `artifacts` (dependencies first) as a bundle with the crate's
/// writer.
pub fn bundle_of(artifacts: &[Artifact]) -> Vec<u8> {
    let order = artifacts.iter().map(|a| a.id.clone()).collect();
    let prepared = prepare(manifest_input(order), artifacts).unwrap();
    write_zip(&prepared, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner()
}

/// The same files as another tool might write them: an `artifacts/`
/// directory entry, a stored manifest, the manifest first.
pub fn foreign_bundle_of(artifacts: &[Artifact]) -> Vec<u8> {
    let order = artifacts.iter().map(|a| a.id.clone()).collect();
    let prepared = prepare(manifest_input(order), artifacts).unwrap();
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    zip.add_directory("artifacts/", options(false)).unwrap();
    let mut files: Vec<(&str, &[u8])> = prepared.files().collect();
    files.sort_by_key(|(path, _)| *path != "manifest.json");
    for (path, bytes) in files {
        zip.start_file(path, options(path == "manifest.json"))
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap().into_inner()
}
