//! Fixtures for the integration tests: sample artifacts and bundles, a
//! builder for hostile archives on top of the `zip` crate's writer, and
//! byte-level patching of the headers it writes.
//!
//! Only with the `test-support` feature, which the test builds of this
//! workspace turn on (as a dev-dependency feature) and a shipped build never
//! does.

use std::io::{Cursor, Write};

use crate::{
    BundleError, ManifestInput, PreparedBundle, ReadLimits, VerifiedBundle, encode_artifact,
    prepare, read_bundle, write_zip,
};
use installhub_domain::manifest::{artifact_path, bundled_dependencies, sha256_hex};
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactType, Library, Manifest, PackageId, PackageType,
    Reference, TenantId,
};
use serde_json::json;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

pub const TENANT: &str = "tenant-src";

pub fn artifact(id: &str, artifact_type: ArtifactType, refs: &[&str]) -> Artifact {
    Artifact {
        tenant_id: TenantId::parse(TENANT).unwrap(),
        id: ArtifactId::parse(id).unwrap(),
        artifact_type,
        name: format!("Artifact {id}"),
        version: "1.0.0".into(),
        status: ArtifactStatus::Published,
        definition: json!({
            "title": format!("{id} definition"),
            "steps": [{ "id": 1, "action": "notify", "to": "hr@company.com" }],
            "enabled": true,
        }),
        references: refs
            .iter()
            .map(|r| Reference {
                artifact_id: ArtifactId::parse(r).unwrap(),
                tenant_id: None,
            })
            .collect(),
        libraries: vec![],
        updated_at: chrono::DateTime::UNIX_EPOCH,
    }
}

pub fn input(order: &[&str]) -> ManifestInput {
    ManifestInput {
        package_id: PackageId::parse("pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33").unwrap(),
        name: "Employee Onboarding Suite".into(),
        package_type: PackageType::Workflow,
        version: "2.1.0".into(),
        description: Some("Everything HR needs for onboarding".into()),
        author: Some("HR Automation Team".into()),
        tags: vec!["hr".into(), "onboarding".into()],
        source_tenant_id: TenantId::parse(TENANT).unwrap(),
        exported_at: "2026-05-25T09:00:00Z".parse().unwrap(),
        exported_by: "engineer@company.com".into(),
        install_order: order
            .iter()
            .map(|id| ArtifactId::parse(id).unwrap())
            .collect(),
        package_dependencies: vec![],
    }
}

/// The seed's onboarding package: five artifacts, dependencies first.
pub fn seed_artifacts() -> Vec<Artifact> {
    let mut app = artifact(
        "proc-1001",
        ArtifactType::ProcessDefinition,
        &["thread-2002", "form-2005"],
    );
    app.libraries.push(Library {
        ecosystem: installhub_domain::Ecosystem::Npm,
        name: "lodash".into(),
        version: "4.17.21".into(),
    });
    vec![
        app,
        artifact(
            "thread-2002",
            ArtifactType::ThreadDefinition,
            &["form-2005", "rule-305"],
        ),
        artifact("form-2005", ArtifactType::AtlasForm, &["ent-44"]),
        artifact("rule-305", ArtifactType::RuleSet, &["ent-44"]),
        artifact("ent-44", ArtifactType::EntitySchema, &[]),
    ]
}

pub const SEED_ORDER: [&str; 5] = [
    "ent-44",
    "rule-305",
    "form-2005",
    "thread-2002",
    "proc-1001",
];

pub fn seed_bundle() -> PreparedBundle {
    prepare(input(&SEED_ORDER), &seed_artifacts()).unwrap()
}

/// The bytes of one entry of the seed bundle.
pub fn seed_file(path: &str) -> Vec<u8> {
    seed_bundle()
        .files()
        .find(|(p, _)| *p == path)
        .map(|(_, b)| b.to_vec())
        .unwrap()
}

pub fn zip_bytes(bundle: &PreparedBundle) -> Vec<u8> {
    write_zip(bundle, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner()
}

pub fn read(bytes: &[u8]) -> Result<VerifiedBundle, BundleError> {
    read_bundle(Cursor::new(bytes), &ReadLimits::default())
}

/// The error reading `bytes` with the default limits; panics if it reads.
pub fn read_err(bytes: &[u8]) -> BundleError {
    read_err_with(bytes, &ReadLimits::default())
}

pub fn read_err_with(bytes: &[u8], limits: &ReadLimits) -> BundleError {
    match read_bundle(Cursor::new(bytes), limits) {
        Ok(bundle) => panic!("expected the bundle to be refused, it read: {bundle:?}"),
        Err(e) => e,
    }
}

/// Asserts `bytes` is refused as `InvalidZip` with exactly `reason`.
#[track_caller]
pub fn assert_invalid_zip(bytes: &[u8], reason: &str) {
    let err = read_err(bytes);
    assert_eq!(err.code().as_str(), "InvalidZip", "{err}");
    assert_eq!(err.to_string(), format!("invalid bundle archive: {reason}"));
}

pub fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::DEFAULT)
}

pub fn stored() -> SimpleFileOptions {
    deflated().compression_method(CompressionMethod::Stored)
}

/// Hand-built archives, for cases our writer would never produce.
pub struct Hostile {
    writer: ZipWriter<Cursor<Vec<u8>>>,
}

impl Default for Hostile {
    fn default() -> Self {
        Self::new()
    }
}

impl Hostile {
    pub fn new() -> Self {
        Hostile {
            writer: ZipWriter::new(Cursor::new(Vec::new())),
        }
    }

    /// Every file of `bundle` but those named in `skip`.
    pub fn from_bundle(bundle: &PreparedBundle, skip: &[&str]) -> Self {
        let mut hostile = Hostile::new();
        for (path, bytes) in bundle.files() {
            if !skip.contains(&path) {
                hostile = hostile.file(path, bytes);
            }
        }
        hostile
    }

    pub fn file(self, name: &str, bytes: &[u8]) -> Self {
        self.with(name, bytes, deflated())
    }

    pub fn with(mut self, name: &str, bytes: &[u8], options: SimpleFileOptions) -> Self {
        self.writer.start_file(name, options).unwrap();
        self.writer.write_all(bytes).unwrap();
        self
    }

    pub fn dir(mut self, name: &str) -> Self {
        self.writer.add_directory(name, deflated()).unwrap();
        self
    }

    pub fn symlink(mut self, name: &str, target: &str) -> Self {
        self.writer.add_symlink(name, target, deflated()).unwrap();
        self
    }

    pub fn comment(mut self, comment: &str) -> Self {
        self.writer.set_comment(comment).unwrap();
        self
    }

    pub fn finish(self) -> Vec<u8> {
        self.writer.finish().unwrap().into_inner()
    }
}

/// A manifest for `files` that is right in every respect the test does not
/// change: one line per file with its real hash, install order in file
/// order, and the checksum those lines imply.
pub fn forge_manifest(files: &[(&str, &[u8])], edit: impl FnOnce(&mut Manifest)) -> Vec<u8> {
    let mut manifest = seed_bundle().into_manifest();
    manifest.artifacts = files
        .iter()
        .map(|(path, bytes)| {
            let id = path
                .strip_prefix("artifacts/")
                .and_then(|p| p.strip_suffix(".json"))
                .unwrap();
            let file: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            installhub_domain::ManifestArtifact {
                id: ArtifactId::parse(id).unwrap(),
                artifact_type: serde_json::from_value(file["type"].clone()).unwrap(),
                name: file["name"].as_str().unwrap().to_owned(),
                version: file["version"].as_str().unwrap().to_owned(),
                path: artifact_path(&ArtifactId::parse(id).unwrap()),
                sha256: sha256_hex(bytes),
                depends_on: vec![],
            }
        })
        .collect();
    manifest.install_order = manifest.artifacts.iter().map(|l| l.id.clone()).collect();
    manifest.checksum = manifest.computed_checksum();
    edit(&mut manifest);
    let mut out = serde_json::to_vec_pretty(&manifest).unwrap();
    out.push(b'\n');
    out
}

/// The seed's artifacts in their install order.
pub fn seed_artifacts_in_order() -> Vec<Artifact> {
    let all = seed_artifacts();
    SEED_ORDER
        .iter()
        .map(|id| all.iter().find(|a| a.id.as_str() == *id).unwrap().clone())
        .collect()
}

/// A well-formed bundle that lies (SECURITY.md 29-31): `artifacts` encoded
/// as an export encodes them, in this order (the manifest's installOrder);
/// a manifest whose lines and `dependsOn` are what an export writes for
/// them, then edited by `edit`; and the checksum its lines imply. Archive,
/// hashes and checksum are all sound: only the artifacts given and `edit`
/// can lie.
pub fn lying_zip(artifacts: &[Artifact], edit: impl FnOnce(&mut Manifest)) -> Vec<u8> {
    let source = TenantId::parse(TENANT).unwrap();
    let files: Vec<(String, Vec<u8>)> = artifacts
        .iter()
        .map(|a| (artifact_path(&a.id), encode_artifact(a)))
        .collect();
    let mut manifest = seed_bundle().into_manifest();
    manifest.artifacts = artifacts
        .iter()
        .zip(&files)
        .map(|(a, (path, bytes))| installhub_domain::ManifestArtifact {
            id: a.id.clone(),
            artifact_type: a.artifact_type,
            name: a.name.clone(),
            version: a.version.clone(),
            path: path.clone(),
            sha256: sha256_hex(bytes),
            depends_on: bundled_dependencies(&a.references, &source, |id| {
                artifacts.iter().any(|b| b.id == *id)
            })
            .into_iter()
            .cloned()
            .collect(),
        })
        .collect();
    manifest.install_order = artifacts.iter().map(|a| a.id.clone()).collect();
    edit(&mut manifest);
    manifest.checksum = manifest.computed_checksum();
    let mut hostile = Hostile::new();
    for (path, bytes) in &files {
        hostile = hostile.file(path, bytes);
    }
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    manifest_bytes.push(b'\n');
    hostile.file("manifest.json", &manifest_bytes).finish()
}

/// The raw deflate stream the zip writer makes for `content`, and the
/// content's CRC-32.
pub fn deflate_stream(content: &[u8]) -> (Vec<u8>, u32) {
    let bytes = Hostile::new().file("x", content).finish();
    let r = records(&bytes, "x");
    let compressed = u32_at(&bytes, r.central + COMPRESSED_SIZE.1) as usize;
    let crc = u32_at(&bytes, r.central + CRC.1);
    let start = r.local
        + 30
        + usize::from(u16_at(&bytes, r.local + 26))
        + usize::from(u16_at(&bytes, r.local + 28));
    (bytes[start..start + compressed].to_vec(), crc)
}

/// The seed bundle with the deflate stream of `name` edited by `edit`, in
/// an entry that declares the inflated file's size and CRC. Written stored,
/// then relabelled deflate: the zip writer would not write such an entry.
pub fn edited_deflate_stream(name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let content = seed_file(name);
    let (mut compressed, crc) = deflate_stream(&content);
    edit(&mut compressed);
    let mut bytes = Hostile::from_bundle(&seed_bundle(), &[name])
        .with(name, &compressed, stored())
        .finish();
    patch_u16(&mut bytes, name, METHOD, |_| 8);
    patch_u32(&mut bytes, name, SIZE, |_| content.len() as u32);
    patch_u32(&mut bytes, name, CRC, |_| crc);
    bytes
}

/// The seed bundle where entry `name` carries an extra field with `id` and
/// `data`, in its central header, its local header, or both.
pub fn with_extra_field(name: &str, id: u16, data: &[u8], central: bool, local: bool) -> Vec<u8> {
    // The writer manages ZIP64 and Unicode Path fields itself; write a
    // private field of the same shape and relabel it.
    const PRIVATE: u16 = 0x4242;
    let mut options = zip::write::FullFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::DEFAULT);
    options.add_extra_field(PRIVATE, data, false).unwrap();
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (path, content) in seed_bundle().files() {
        if path == name {
            writer.start_file(path, options.clone()).unwrap();
        } else {
            writer.start_file(path, deflated()).unwrap();
        }
        writer.write_all(content).unwrap();
    }
    let mut bytes = writer.finish().unwrap().into_inner();
    let r = records(&bytes, name);
    for (wanted, at) in [
        (central, r.central + 46 + name.len()),
        (local, r.local + 30 + name.len()),
    ] {
        assert_eq!(&bytes[at..at + 2], &PRIVATE.to_le_bytes());
        if wanted {
            set_u16(&mut bytes, at, id);
        }
    }
    bytes
}

/// A ZIP64 extended-information field claiming 10 GiB inflated and
/// compressed.
pub fn ten_gib_zip64_field() -> Vec<u8> {
    let ten_gib = (10u64 << 30).to_le_bytes();
    [ten_gib, ten_gib].concat()
}

// --- Byte-level access to the records the zip writer produced. ---

/// Where one entry's records are.
#[derive(Debug, Clone, Copy)]
pub struct Records {
    pub local: usize,
    pub central: usize,
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

pub fn set_u16(bytes: &mut [u8], at: usize, value: u16) {
    bytes[at..at + 2].copy_from_slice(&value.to_le_bytes());
}

pub fn set_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Offset of the end record (assumes no archive comment).
pub fn eocd(bytes: &[u8]) -> usize {
    let at = bytes.len() - 22;
    assert_eq!(u32_at(bytes, at), 0x0605_4b50);
    at
}

/// The records of the entry named `name`.
pub fn records(bytes: &[u8], name: &str) -> Records {
    let end = eocd(bytes);
    let count = usize::from(u16_at(bytes, end + 10));
    let mut at = u32_at(bytes, end + 16) as usize;
    for _ in 0..count {
        assert_eq!(u32_at(bytes, at), 0x0201_4b50);
        let name_len = usize::from(u16_at(bytes, at + 28));
        let extra_len = usize::from(u16_at(bytes, at + 30));
        let comment_len = usize::from(u16_at(bytes, at + 32));
        if &bytes[at + 46..at + 46 + name_len] == name.as_bytes() {
            return Records {
                local: u32_at(bytes, at + 42) as usize,
                central: at,
            };
        }
        at += 46 + name_len + extra_len + comment_len;
    }
    panic!("no entry named {name}");
}

/// Field offsets inside the local (`.0`) and central (`.1`) headers.
pub const FLAGS: (usize, usize) = (6, 8);
pub const METHOD: (usize, usize) = (8, 10);
pub const CRC: (usize, usize) = (14, 16);
pub const COMPRESSED_SIZE: (usize, usize) = (18, 20);
pub const SIZE: (usize, usize) = (22, 24);

/// Sets a 16-bit field in both headers of `name`.
pub fn patch_u16(bytes: &mut [u8], name: &str, field: (usize, usize), value: impl Fn(u16) -> u16) {
    let r = records(bytes, name);
    let local = value(u16_at(bytes, r.local + field.0));
    set_u16(bytes, r.local + field.0, local);
    let central = value(u16_at(bytes, r.central + field.1));
    set_u16(bytes, r.central + field.1, central);
}

/// Sets a 32-bit field in both headers of `name`.
pub fn patch_u32(bytes: &mut [u8], name: &str, field: (usize, usize), value: impl Fn(u32) -> u32) {
    let r = records(bytes, name);
    let local = value(u32_at(bytes, r.local + field.0));
    set_u32(bytes, r.local + field.0, local);
    let central = value(u32_at(bytes, r.central + field.1));
    set_u32(bytes, r.central + field.1, central);
}

/// Replaces every occurrence of `from` with `to` (same length): renames an
/// entry in both headers to a name the zip writer would not write.
pub fn rename(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let mut hits = 0;
    let mut at = 0;
    while let Some(pos) = bytes[at..].windows(from.len()).position(|w| w == from) {
        let start = at + pos;
        bytes[start..start + from.len()].copy_from_slice(to);
        at = start + from.len();
        hits += 1;
    }
    assert!(hits >= 2, "expected the name in both headers, found {hits}");
}
