//! The bundle manifest (SPEC §6) and the package checksum.
//!
//! The checksum is defined so anyone can recompute it with coreutils:
//! `sha256sum` over every entry except `manifest.json`, sorted by path in
//! byte order, and `sha256sum` of that listing.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::ids::{ArtifactId, PackageId, TenantId};
use crate::model::{ArtifactType, PackageType, Reference};

/// The only manifest format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The manifest's path inside a bundle.
pub const MANIFEST_PATH: &str = "manifest.json";

/// A package that must already be installed in the target tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PackageDependency {
    #[schema(example = "HR Core")]
    pub package_name: String,
    /// A Cargo-style version requirement, e.g. `^1.2` or `>=1.0.0, <2.0.0`.
    #[schema(example = "^1.2")]
    pub version_range: String,
}

/// One artifact line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ManifestArtifact {
    #[schema(value_type = String)]
    pub id: ArtifactId,
    #[serde(rename = "type")]
    pub artifact_type: ArtifactType,
    pub name: String,
    pub version: String,
    /// `artifacts/<id>.json`.
    pub path: String,
    /// Lower-case hex SHA-256 of the entry's bytes.
    pub sha256: String,
    /// Ids of the bundled artifacts this one references.
    #[schema(value_type = Vec<String>)]
    pub depends_on: Vec<ArtifactId>,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub format_version: u32,
    #[schema(value_type = String)]
    pub package_id: PackageId,
    pub name: String,
    pub package_type: PackageType,
    pub version: String,
    pub description: Option<String>,
    pub author: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = String)]
    pub source_tenant_id: TenantId,
    #[schema(value_type = String, format = DateTime)]
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub exported_by: String,
    pub artifacts: Vec<ManifestArtifact>,
    #[schema(value_type = Vec<String>)]
    pub install_order: Vec<ArtifactId>,
    pub package_dependencies: Vec<PackageDependency>,
    /// `sha256:<hex>`, see [`package_checksum`].
    pub checksum: String,
}

/// The bundle path of an artifact's file.
pub fn artifact_path(id: &ArtifactId) -> String {
    format!("artifacts/{id}.json")
}

/// A manifest line's `dependsOn`: the artifact's references to artifacts of
/// its own tenant (`owner`) that are in the bundle, in reference order, each
/// once. A reference to another tenant is resolved there, never to the
/// bundled artifact with the same id. The exporter writes it and the
/// importer checks it with this one function.
pub fn bundled_dependencies<'a>(
    references: &'a [Reference],
    owner: &TenantId,
    in_bundle: impl Fn(&ArtifactId) -> bool,
) -> Vec<&'a ArtifactId> {
    let mut seen = HashSet::with_capacity(references.len());
    references
        .iter()
        .filter(|r| r.tenant_id.as_ref().is_none_or(|t| t == owner))
        .map(|r| &r.artifact_id)
        .filter(|id| in_bundle(id) && seen.insert(*id))
        .collect()
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The package checksum over `(path, sha256 hex)` pairs: the SHA-256 of the
/// `sha256sum` listing (`<hex>  <path>\n`) sorted by path in byte order,
/// written `sha256:<hex>`.
pub fn package_checksum<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut entries: Vec<(&str, &str)> = entries.into_iter().collect();
    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut hasher = Sha256::new();
    for (path, hex) in entries {
        hasher.update(hex.as_bytes());
        hasher.update(b"  ");
        hasher.update(path.as_bytes());
        hasher.update(b"\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

impl Manifest {
    /// The checksum its artifact lines imply.
    pub fn computed_checksum(&self) -> String {
        package_checksum(
            self.artifacts
                .iter()
                .map(|a| (a.path.as_str(), a.sha256.as_str())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_coreutils_listing() {
        // printf 'aa  artifacts/b.json\nbb  artifacts/a.json\n' would be the
        // unsorted listing; sha256sum sorts by path, so a.json comes first.
        let listing = "bb  artifacts/a.json\naa  artifacts/b.json\n";
        let expected = format!("sha256:{}", sha256_hex(listing.as_bytes()));
        let got = package_checksum([("artifacts/b.json", "aa"), ("artifacts/a.json", "bb")]);
        assert_eq!(got, expected);
    }

    #[test]
    fn checksum_sorts_by_bytes_not_locale() {
        // 'B' (0x42) sorts before 'a' (0x61) in byte order.
        let got = package_checksum([("artifacts/a.json", "1"), ("artifacts/B.json", "2")]);
        let expected = format!(
            "sha256:{}",
            sha256_hex(b"2  artifacts/B.json\n1  artifacts/a.json\n")
        );
        assert_eq!(got, expected);
    }
}
