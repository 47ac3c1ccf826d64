//! Turning an export into the files of a bundle: encode every artifact,
//! hash it, write the manifest lines and the package checksum.
//!
//! Everything is decided here, before a byte of ZIP is written, so the
//! exporter can store the manifest and checksum and the writer has nothing
//! left to choose.

use std::collections::HashMap;

use installhub_domain::manifest::{
    FORMAT_VERSION, MANIFEST_PATH, artifact_path, bundled_dependencies, sha256_hex,
};
use installhub_domain::{
    Artifact, ArtifactId, ArtifactType, Manifest, ManifestArtifact, PackageDependency, PackageId,
    PackageType, Reference, StoredArtifact, TenantId,
};
use serde_json::Value;

use crate::artifact_file::{encode_artifact, encode_manifest, encode_stored};
use crate::error::BundleError;
use crate::limits::{DEFAULT_MAX_ENTRIES, DEFAULT_MAX_MANIFEST_BYTES};
use crate::par;

/// Deepest nesting of arrays and objects a `definition` may have. serde_json
/// refuses documents nested 128 deep when parsing; the artifact file wraps
/// the definition in one more object, so this keeps every file we write
/// readable with a margin.
pub const MAX_DEFINITION_DEPTH: usize = 100;

/// Everything in the manifest but the artifact lines and the checksum: what
/// the exporter decides.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestInput {
    pub package_id: PackageId,
    pub name: String,
    pub package_type: PackageType,
    pub version: String,
    pub description: Option<String>,
    pub author: Option<String>,
    pub tags: Vec<String>,
    pub source_tenant_id: TenantId,
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub exported_by: String,
    /// Every artifact exactly once, dependencies first.
    pub install_order: Vec<ArtifactId>,
    pub package_dependencies: Vec<PackageDependency>,
}

/// A bundle ready to be written: its manifest and the bytes of every entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedBundle {
    manifest: Manifest,
    /// `(path, bytes)` in byte order of the path, `manifest.json` included:
    /// the archive's entry order.
    files: Vec<(String, Vec<u8>)>,
}

impl PreparedBundle {
    /// The manifest, as written to `manifest.json`.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The package checksum, `sha256:<hex>`.
    pub fn checksum(&self) -> &str {
        &self.manifest.checksum
    }

    /// Every entry as `(path, bytes)`, in archive order.
    pub fn files(&self) -> impl ExactSizeIterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// The manifest, consuming the bundle.
    pub fn into_manifest(self) -> Manifest {
        self.manifest
    }
}

/// Encodes each artifact, hashes it, fills the manifest lines (in install
/// order; `dependsOn` is the artifact's in-tenant references that are in the
/// bundle, in reference order, without repeats) and computes the checksum.
///
/// The order of `artifacts` does not matter. Fails with
/// [`BundleError::InvalidInput`] when the input is inconsistent (an artifact
/// twice or from another tenant, an install order that is not exactly the
/// artifacts with dependencies first) or would make a bundle that readers
/// with the default [`crate::ReadLimits`] refuse (too many entries, a
/// manifest over 1 MiB, a definition nested too deep to parse).
pub fn prepare(
    input: ManifestInput,
    artifacts: &[Artifact],
) -> Result<PreparedBundle, BundleError> {
    let views = artifacts.iter().map(View::parsed).collect();
    prepare_views(input, views)
}

/// [`prepare`] for artifacts as the store keeps them, their definitions
/// JSON text: the same bundle, byte for byte, as `prepare` of the artifacts
/// with their definitions parsed. A definition in the form serde_json
/// writes (keys sorted) is re-encoded as it is read, without building a
/// `Value` tree; any other text is parsed first. Fails, besides as
/// `prepare` does, with [`BundleError::InvalidInput`] when a definition is
/// not JSON.
pub fn prepare_stored(
    input: ManifestInput,
    artifacts: &[StoredArtifact],
) -> Result<PreparedBundle, BundleError> {
    let views = artifacts.iter().map(View::stored).collect();
    prepare_views(input, views)
}

/// What [`prepare`] needs of an artifact, whichever form its definition has.
struct View<'a> {
    tenant_id: &'a TenantId,
    id: &'a ArtifactId,
    artifact_type: ArtifactType,
    name: &'a str,
    version: &'a str,
    references: &'a [Reference],
    encode: Encode<'a>,
}

enum Encode<'a> {
    Parsed(&'a Artifact),
    Stored(&'a StoredArtifact),
}

impl<'a> View<'a> {
    fn parsed(a: &'a Artifact) -> Self {
        View {
            tenant_id: &a.tenant_id,
            id: &a.id,
            artifact_type: a.artifact_type,
            name: &a.name,
            version: &a.version,
            references: &a.references,
            encode: Encode::Parsed(a),
        }
    }

    fn stored(a: &'a StoredArtifact) -> Self {
        View {
            tenant_id: &a.tenant_id,
            id: &a.id,
            artifact_type: a.artifact_type,
            name: &a.name,
            version: &a.version,
            references: &a.references,
            encode: Encode::Stored(a),
        }
    }

    /// The artifact file's bytes, after checking the definition's depth.
    fn encode(&self) -> Result<Vec<u8>, BundleError> {
        match self.encode {
            Encode::Parsed(artifact) => encode_parsed(artifact),
            Encode::Stored(stored) => {
                if let Some(bytes) = encode_stored(stored, MAX_DEFINITION_DEPTH) {
                    return Ok(bytes);
                }
                // Not in serde_json's own order, too deep, or not JSON: the
                // `Value` path decides, with its bytes and its errors.
                let definition: Value =
                    serde_json::from_str(&stored.definition_json).map_err(|e| {
                        BundleError::invalid_input(format!(
                            "the definition of {} is not JSON: {e}",
                            stored.id
                        ))
                    })?;
                encode_parsed(&stored.clone().with_definition(definition))
            }
        }
    }
}

fn encode_parsed(artifact: &Artifact) -> Result<Vec<u8>, BundleError> {
    if exceeds_depth(&artifact.definition, MAX_DEFINITION_DEPTH) {
        return Err(BundleError::invalid_input(format!(
            "the definition of {} nests deeper than {MAX_DEFINITION_DEPTH} levels",
            artifact.id
        )));
    }
    Ok(encode_artifact(artifact))
}

fn prepare_views(
    input: ManifestInput,
    artifacts: Vec<View<'_>>,
) -> Result<PreparedBundle, BundleError> {
    let by_id = index_artifacts(&input, &artifacts)?;
    let position = check_install_order(&input.install_order, &by_id)?;
    if artifacts.len() + 1 > DEFAULT_MAX_ENTRIES {
        return Err(BundleError::invalid_input(format!(
            "{} artifacts and the manifest make more than {DEFAULT_MAX_ENTRIES} entries",
            artifacts.len()
        )));
    }

    let ordered: Vec<&View<'_>> = input.install_order.iter().map(|id| by_id[id]).collect();
    let mut lines = Vec::with_capacity(ordered.len());
    for artifact in &ordered {
        lines.push((*artifact, depends_on(artifact, &position)?));
    }
    // Checking, encoding and hashing are most of the work and independent
    // per file.
    let encoded = par::map(&ordered, |artifact| {
        let bytes = artifact.encode()?;
        let sha256 = sha256_hex(&bytes);
        Ok::<_, BundleError>((bytes, sha256))
    })
    .into_iter()
    .collect::<Result<Vec<_>, _>>()?;
    let mut files = Vec::with_capacity(ordered.len() + 1);
    let mut manifest_lines = Vec::with_capacity(ordered.len());
    for ((artifact, depends_on), (bytes, sha256)) in lines.into_iter().zip(encoded) {
        let path = artifact_path(artifact.id);
        manifest_lines.push(ManifestArtifact {
            id: artifact.id.clone(),
            artifact_type: artifact.artifact_type,
            name: artifact.name.to_owned(),
            version: artifact.version.to_owned(),
            path: path.clone(),
            sha256,
            depends_on,
        });
        files.push((path, bytes));
    }
    let mut manifest = Manifest {
        format_version: FORMAT_VERSION,
        package_id: input.package_id,
        name: input.name,
        package_type: input.package_type,
        version: input.version,
        description: input.description,
        author: input.author,
        tags: input.tags,
        source_tenant_id: input.source_tenant_id,
        exported_at: input.exported_at,
        exported_by: input.exported_by,
        artifacts: manifest_lines,
        install_order: input.install_order,
        package_dependencies: input.package_dependencies,
        checksum: String::new(),
    };
    manifest.checksum = manifest.computed_checksum();

    let manifest_bytes = encode_manifest(&manifest);
    if manifest_bytes.len() as u64 > DEFAULT_MAX_MANIFEST_BYTES {
        return Err(BundleError::invalid_input(format!(
            "manifest.json would be {} bytes, over the {DEFAULT_MAX_MANIFEST_BYTES} bytes readers accept",
            manifest_bytes.len()
        )));
    }
    files.push((MANIFEST_PATH.to_owned(), manifest_bytes));
    files.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    Ok(PreparedBundle { manifest, files })
}

fn index_artifacts<'v, 'a>(
    input: &ManifestInput,
    artifacts: &'v [View<'a>],
) -> Result<HashMap<&'a ArtifactId, &'v View<'a>>, BundleError> {
    let mut by_id = HashMap::with_capacity(artifacts.len());
    for artifact in artifacts {
        if *artifact.tenant_id != input.source_tenant_id {
            return Err(BundleError::invalid_input(format!(
                "artifact {} belongs to tenant {}, not the source tenant {}",
                artifact.id, artifact.tenant_id, input.source_tenant_id
            )));
        }
        if by_id.insert(artifact.id, artifact).is_some() {
            return Err(BundleError::invalid_input(format!(
                "artifact {} is passed more than once",
                artifact.id
            )));
        }
    }
    Ok(by_id)
}

/// Checks that the install order lists every artifact exactly once and
/// returns each id's position in it.
fn check_install_order<'a>(
    order: &'a [ArtifactId],
    by_id: &HashMap<&ArtifactId, &View<'_>>,
) -> Result<HashMap<&'a ArtifactId, usize>, BundleError> {
    let mut position = HashMap::with_capacity(order.len());
    for (i, id) in order.iter().enumerate() {
        if !by_id.contains_key(id) {
            return Err(BundleError::invalid_input(format!(
                "installOrder names {id}, which is not among the artifacts"
            )));
        }
        if position.insert(id, i).is_some() {
            return Err(BundleError::invalid_input(format!(
                "installOrder names {id} more than once"
            )));
        }
    }
    if let Some(missing) = by_id.keys().filter(|id| !position.contains_key(*id)).min() {
        return Err(BundleError::invalid_input(format!(
            "artifact {missing} is missing from installOrder"
        )));
    }
    Ok(position)
}

/// The artifact's references to other artifacts of its own tenant that are
/// in the bundle, in reference order, each once. A reference to another
/// tenant is resolved there, never to the bundled artifact with the same id.
fn depends_on(
    artifact: &View<'_>,
    position: &HashMap<&ArtifactId, usize>,
) -> Result<Vec<ArtifactId>, BundleError> {
    let own = position[artifact.id];
    let listed = bundled_dependencies(artifact.references, artifact.tenant_id, |id| {
        position.contains_key(id)
    });
    let mut out = Vec::with_capacity(listed.len());
    for id in listed {
        // An importer installs in this order; a dependency placed after its
        // dependent (or an artifact depending on itself) would break it.
        if position[id] >= own {
            return Err(BundleError::invalid_input(format!(
                "installOrder places {} before its dependency {id}",
                artifact.id
            )));
        }
        out.push(id.clone());
    }
    Ok(out)
}

/// Whether `value` nests arrays and objects more than `limit` levels deep.
/// The walk stops descending past the limit, so its own recursion is bounded.
fn exceeds_depth(value: &Value, limit: usize) -> bool {
    match value {
        Value::Array(items) => limit == 0 || items.iter().any(|v| exceeds_depth(v, limit - 1)),
        Value::Object(map) => limit == 0 || map.values().any(|v| exceeds_depth(v, limit - 1)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{artifact, input, reference};
    use installhub_domain::Reference;
    use serde_json::json;

    #[test]
    fn lines_follow_install_order_and_files_byte_order() {
        let a = artifact("b-form", &[]);
        let b = artifact("A-proc", &["b-form"]);
        let bundle = prepare(input(&["b-form", "A-proc"]), &[b, a]).unwrap();
        let ids: Vec<_> = bundle
            .manifest()
            .artifacts
            .iter()
            .map(|l| l.id.as_str())
            .collect();
        assert_eq!(ids, ["b-form", "A-proc"]);
        let paths: Vec<_> = bundle.files().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [
                "artifacts/A-proc.json",
                "artifacts/b-form.json",
                "manifest.json"
            ]
        );
    }

    #[test]
    fn lines_hash_the_encoded_files_and_the_checksum_covers_them() {
        let bundle = prepare(
            input(&["a", "b"]),
            &[artifact("a", &[]), artifact("b", &["a"])],
        )
        .unwrap();
        let files: HashMap<_, _> = bundle.files().collect();
        for line in &bundle.manifest().artifacts {
            assert_eq!(line.path, format!("artifacts/{}.json", line.id));
            assert_eq!(line.sha256, sha256_hex(files[line.path.as_str()]));
        }
        let listing = format!(
            "{}  artifacts/a.json\n{}  artifacts/b.json\n",
            sha256_hex(files["artifacts/a.json"]),
            sha256_hex(files["artifacts/b.json"])
        );
        assert_eq!(
            bundle.checksum(),
            format!("sha256:{}", sha256_hex(listing.as_bytes()))
        );
        let manifest: Manifest = serde_json::from_slice(files["manifest.json"]).unwrap();
        assert_eq!(&manifest, bundle.manifest());
    }

    #[test]
    fn depends_on_keeps_in_bundle_in_tenant_references_in_order_once() {
        let mut app = artifact("app", &["form", "outside", "rule", "form"]);
        // Same id as a bundled artifact but in another tenant: not a dependency.
        app.references.push(Reference {
            artifact_id: ArtifactId::parse("schema").unwrap(),
            tenant_id: Some(TenantId::parse("tenant-other").unwrap()),
        });
        // Explicitly the owner's tenant: a dependency.
        app.references.push(reference("schema", Some("tenant-src")));
        let set = [
            app,
            artifact("rule", &[]),
            artifact("form", &[]),
            artifact("schema", &[]),
        ];
        let bundle = prepare(input(&["schema", "rule", "form", "app"]), &set).unwrap();
        let line = &bundle.manifest().artifacts[3];
        let deps: Vec<_> = line.depends_on.iter().map(ArtifactId::as_str).collect();
        assert_eq!(deps, ["form", "rule", "schema"]);
    }

    #[test]
    fn inconsistent_input_is_refused_with_the_reason() {
        let cases: Vec<(Vec<Artifact>, Vec<&str>, &str)> = vec![
            (
                vec![artifact("a", &[]), artifact("a", &[])],
                vec!["a"],
                "artifact a is passed more than once",
            ),
            (
                vec![artifact("a", &[])],
                vec!["a", "b"],
                "installOrder names b, which is not among the artifacts",
            ),
            (
                vec![artifact("a", &[])],
                vec!["a", "a"],
                "installOrder names a more than once",
            ),
            (
                vec![artifact("a", &[]), artifact("b", &[])],
                vec!["b"],
                "artifact a is missing from installOrder",
            ),
            (
                vec![artifact("a", &["b"]), artifact("b", &[])],
                vec!["a", "b"],
                "installOrder places a before its dependency b",
            ),
            (
                vec![artifact("a", &["a"])],
                vec!["a"],
                "installOrder places a before its dependency a",
            ),
        ];
        for (artifacts, order, reason) in cases {
            let err = prepare(input(&order), &artifacts).unwrap_err();
            assert_eq!(err.to_string(), format!("cannot prepare bundle: {reason}"));
        }

        let mut foreign = artifact("a", &[]);
        foreign.tenant_id = TenantId::parse("tenant-other").unwrap();
        let err = prepare(input(&["a"]), &[foreign]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot prepare bundle: artifact a belongs to tenant tenant-other, not the source tenant tenant-src"
        );
    }

    #[test]
    fn definitions_nested_past_the_limit_are_refused() {
        let mut deep = json!(1);
        for _ in 0..MAX_DEFINITION_DEPTH {
            deep = json!([deep]);
        }
        assert!(!exceeds_depth(&deep, MAX_DEFINITION_DEPTH));
        let mut ok = artifact("a", &[]);
        ok.definition = deep.clone();
        assert!(prepare(input(&["a"]), &[ok]).is_ok());

        let mut too_deep = artifact("a", &[]);
        too_deep.definition = json!({ "k": deep });
        let err = prepare(input(&["a"]), &[too_deep]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot prepare bundle: the definition of a nests deeper than 100 levels"
        );
    }

    #[test]
    fn a_manifest_readers_would_refuse_is_not_written() {
        let mut input = input(&[]);
        input.tags = vec!["t".repeat(1000); 1100];
        let err = prepare(input, &[]).unwrap_err();
        assert!(
            err.to_string()
                .contains("over the 1048576 bytes readers accept"),
            "{err}"
        );
    }
}
