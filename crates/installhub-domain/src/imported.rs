//! What an imported bundle must be beyond a sound archive: something an
//! export could have produced (SECURITY.md 29-31). The bundle reader has
//! already checked the archive, the hashes and that each file matches its
//! manifest line's id, type, name and version; this checks the rest with
//! the export's own rules:
//!
//! - the manifest's text fields and each artifact's fields, with the export
//!   request's and the catalog's checks (names, versions, descriptions,
//!   tags, libraries; no control or bidirectional formatting character);
//! - the artifacts' graph, with the export's resolver over the files'
//!   references: every artifact `Published` or `Active`, no reference to
//!   another tenant than the source, none dangling, no cycle, no chain
//!   deeper than the export allows;
//! - the manifest's `dependsOn` and `installOrder` against the files: what
//!   the export would have written for these files, exactly.
//!
//! Every failure is reported, each naming the file and field concerned.

use std::collections::HashMap;

use crate::catalog::{check_counts, check_library_text, check_name};
use crate::export::{
    MAX_AUTHOR_CHARS, MAX_DESCRIPTION_CHARS, check_package_dependencies, check_package_name,
    check_tags, check_text, check_version,
};
use crate::failure::{ErrorCode, Failure};
use crate::ids::{ArtifactId, TenantId, printable};
use crate::manifest::{MANIFEST_PATH, Manifest, bundled_dependencies};
use crate::model::{ArtifactStatus, ArtifactSummary, ArtifactType, Library, Reference};
use crate::resolve::{Limits, Resolver};
use crate::text::{forbidden_char, forbidden_char_message};

/// `exportedBy` is the exporting caller's identity; identities are at most
/// this long (the token verifier's rule).
pub const MAX_EXPORTED_BY_CHARS: usize = 256;

/// An artifact file of an imported bundle without its definition: what the
/// checks need, small enough to keep for every artifact of a package.
#[derive(Debug, Clone, PartialEq)]
pub struct BundledArtifact {
    pub id: ArtifactId,
    pub artifact_type: ArtifactType,
    pub name: String,
    pub version: String,
    pub status: ArtifactStatus,
    pub references: Vec<Reference>,
    pub libraries: Vec<Library>,
}

/// Checks a verified bundle's manifest and artifact files (one per manifest
/// line, in any order) against the export's rules. All failures together.
pub fn check_imported(manifest: &Manifest, files: &[BundledArtifact]) -> Result<(), Vec<Failure>> {
    let mut failures = Vec::new();
    check_manifest_text(manifest, &mut failures);
    let by_id: HashMap<&ArtifactId, &BundledArtifact> = files.iter().map(|f| (&f.id, f)).collect();
    for file in files {
        check_file_fields(file, &mut failures);
    }
    let expected_order = check_graph(manifest, &by_id, &mut failures);
    check_manifest_agrees(manifest, &by_id, expected_order, &mut failures);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

/// `manifest.json#<field>`.
fn manifest_field(field: &str) -> String {
    format!("{MANIFEST_PATH}#{field}")
}

/// `artifacts/<id>.json#<field>`.
fn file_field(id: &ArtifactId, field: &str) -> String {
    format!("{}#{field}", crate::manifest::artifact_path(id))
}

/// Runs `check` and moves its failures into `failures` with their `field`
/// rewritten by `field`.
fn relabel(
    failures: &mut Vec<Failure>,
    field: impl Fn(&str) -> String,
    check: impl FnOnce(&mut Vec<Failure>),
) {
    let mut found = Vec::new();
    check(&mut found);
    failures.extend(found.into_iter().map(|mut f| {
        f.field = Some(field(f.field.as_deref().unwrap_or_default()));
        f
    }));
}

/// The export request's checks on what the exporter chose, and the
/// identity rule on `exportedBy`.
fn check_manifest_text(manifest: &Manifest, failures: &mut Vec<Failure>) {
    relabel(
        failures,
        // The export request's `packageName` is the manifest's `name`.
        |field| {
            manifest_field(if field == "packageName" {
                "name"
            } else {
                field
            })
        },
        |found| {
            check_package_name(Some(&manifest.name), found);
            check_version(Some(&manifest.version), "version", found);
            check_text(
                manifest.description.as_deref(),
                "description",
                MAX_DESCRIPTION_CHARS,
                ErrorCode::InvalidDescription,
                found,
            );
            check_text(
                manifest.author.as_deref(),
                "author",
                MAX_AUTHOR_CHARS,
                ErrorCode::InvalidAuthor,
                found,
            );
            check_tags(&manifest.tags, found);
            check_package_dependencies(&manifest.package_dependencies, found);
        },
    );
    let by = &manifest.exported_by;
    let problem = if by.is_empty() {
        Some("exportedBy is empty; it names who exported the package.".to_owned())
    } else if by.chars().count() > MAX_EXPORTED_BY_CHARS {
        Some(format!(
            "exportedBy is longer than {MAX_EXPORTED_BY_CHARS} characters."
        ))
    } else {
        forbidden_char(by).map(|c| forbidden_char_message("exportedBy", c))
    };
    if let Some(message) = problem {
        failures.push(
            Failure::new(ErrorCode::InvalidExportedBy, message)
                .field(manifest_field("exportedBy"))
                .detail("exportedBy", printable(by)),
        );
    }
}

/// The catalog's checks on an artifact's own fields: what a tenant could
/// have saved, and so what an export could carry.
fn check_file_fields(file: &BundledArtifact, failures: &mut Vec<Failure>) {
    let before = failures.len();
    relabel(
        failures,
        |field| file_field(&file.id, field),
        |found| {
            check_name(Some(&file.name), ErrorCode::InvalidArtifactName, found);
            check_version(Some(&file.version), "version", found);
            check_counts(file.references.len(), file.libraries.len(), found);
            for (i, library) in file.libraries.iter().enumerate() {
                found.extend(check_library_text(
                    &library.name,
                    &library.version,
                    format!("libraries[{i}]"),
                ));
            }
        },
    );
    for failure in &mut failures[before..] {
        failure
            .details
            .insert("artifactId".to_owned(), file.id.as_str().into());
    }
}

/// The export's resolver over the files' references, every artifact a root:
/// statuses, references to other tenants, dangling references, cycles and
/// depth, as an export of these artifacts would find them. Returns the
/// install order an export would have written, when there is one.
fn check_graph(
    manifest: &Manifest,
    by_id: &HashMap<&ArtifactId, &BundledArtifact>,
    failures: &mut Vec<Failure>,
) -> Option<Vec<ArtifactId>> {
    let roots: Vec<ArtifactId> = manifest.artifacts.iter().map(|l| l.id.clone()).collect();
    match resolve_files(&manifest.source_tenant_id, roots, by_id) {
        Ok(order) => Some(order),
        Err(found) => {
            failures.extend(found);
            None
        }
    }
}

/// The install order an export of `files` (artifacts of `source`) writes,
/// found with the export's resolver exactly as an import checks it (every
/// file a root), or the export's graph failures, each naming the file and
/// field at fault. For building a bundle from files, as `installhub pack`
/// does.
pub fn export_install_order(
    source: &TenantId,
    files: &[BundledArtifact],
) -> Result<Vec<ArtifactId>, Vec<Failure>> {
    let by_id: HashMap<&ArtifactId, &BundledArtifact> = files.iter().map(|f| (&f.id, f)).collect();
    resolve_files(source, files.iter().map(|f| f.id.clone()).collect(), &by_id)
}

fn resolve_files(
    source: &TenantId,
    roots: Vec<ArtifactId>,
    by_id: &HashMap<&ArtifactId, &BundledArtifact>,
) -> Result<Vec<ArtifactId>, Vec<Failure>> {
    let limits = Limits {
        // The plan's artifact limit (seed 03, up to 1,000) is checked by
        // the import itself; the export's 500 is not a limit on imports.
        max_artifacts: usize::MAX,
        ..Limits::default()
    };
    let resolution = Resolver::new(source.clone(), roots.clone(), limits).resolve_with(|id| {
        by_id.get(id).map(|file| ArtifactSummary {
            tenant_id: source.clone(),
            id: file.id.clone(),
            artifact_type: file.artifact_type,
            name: file.name.clone(),
            version: file.version.clone(),
            status: file.status,
            references: file.references.clone(),
        })
    });
    let ok = resolution.failures.is_empty() && !resolution.has_cycle();
    if ok {
        return Ok(resolution.install_order);
    }
    let mut failures = Vec::with_capacity(resolution.failures.len());
    for mut failure in resolution.failures {
        // Every artifact is a root, so the export's `artifactIds[i]` is
        // root i; name the file and the field at fault instead.
        let root = failure
            .field
            .as_deref()
            .and_then(|f| f.strip_prefix("artifactIds["))
            .and_then(|f| f.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| roots.get(i));
        let at = match failure.code {
            ErrorCode::ArtifactNotExportable => "status",
            _ => "references",
        };
        failure.field = root.map(|id| file_field(id, at));
        failures.push(failure);
    }
    Err(failures)
}

/// The manifest must say what the export would have written for these
/// files: each line's `dependsOn`, and the `installOrder`. A refusal here
/// is `ChecksumMismatch`, like any other line that disagrees with its file.
fn check_manifest_agrees(
    manifest: &Manifest,
    by_id: &HashMap<&ArtifactId, &BundledArtifact>,
    expected_order: Option<Vec<ArtifactId>>,
    failures: &mut Vec<Failure>,
) {
    let source = &manifest.source_tenant_id;
    for (i, line) in manifest.artifacts.iter().enumerate() {
        let Some(file) = by_id.get(&line.id) else {
            continue;
        };
        let expected = bundled_dependencies(&file.references, source, |id| by_id.contains_key(id));
        if !line.depends_on.iter().eq(expected.iter().copied()) {
            failures.push(
                Failure::new(
                    ErrorCode::ChecksumMismatch,
                    format!(
                        "The manifest says {} depends on [{}], but its file references [{}] in the package.",
                        line.id,
                        join(line.depends_on.iter()),
                        join(expected.iter().copied()),
                    ),
                )
                .field(manifest_field(&format!("artifacts[{i}].dependsOn")))
                .detail("artifactId", line.id.as_str())
                .detail("expected", ids(expected.iter().copied()))
                .detail("actual", ids(line.depends_on.iter())),
            );
        }
    }
    if let Some(expected) = expected_order
        && manifest.install_order != expected
    {
        failures.push(
            Failure::new(
                ErrorCode::ChecksumMismatch,
                format!(
                    "The manifest's installOrder [{}] is not the order its files give: [{}].",
                    join(manifest.install_order.iter()),
                    join(expected.iter()),
                ),
            )
            .field(manifest_field("installOrder"))
            .detail("expected", ids(expected.iter()))
            .detail("actual", ids(manifest.install_order.iter())),
        );
    }
}

fn join<'a>(ids: impl Iterator<Item = &'a ArtifactId>) -> String {
    ids.map(ArtifactId::as_str).collect::<Vec<_>>().join(", ")
}

fn ids<'a>(ids: impl Iterator<Item = &'a ArtifactId>) -> Vec<&'a str> {
    ids.map(ArtifactId::as_str).collect()
}

#[cfg(test)]
mod tests;
