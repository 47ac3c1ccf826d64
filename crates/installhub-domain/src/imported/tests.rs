use super::*;
use crate::ids::{PackageId, TenantId};
use crate::manifest::{ManifestArtifact, artifact_path};
use crate::model::{Ecosystem, PackageType};

const SOURCE: &str = "tenant-src";

fn reference(id: &str, tenant: Option<&str>) -> Reference {
    Reference {
        artifact_id: ArtifactId::parse(id).unwrap(),
        tenant_id: tenant.map(|t| TenantId::parse(t).unwrap()),
    }
}

fn file(id: &str, artifact_type: ArtifactType, refs: &[&str]) -> BundledArtifact {
    BundledArtifact {
        id: ArtifactId::parse(id).unwrap(),
        artifact_type,
        name: format!("Artifact {id}"),
        version: "1.0.0".into(),
        status: ArtifactStatus::Published,
        references: refs.iter().map(|r| reference(r, None)).collect(),
        libraries: vec![],
    }
}

/// The seed's five artifacts, in install order.
fn seed_files() -> Vec<BundledArtifact> {
    vec![
        file("ent-44", ArtifactType::EntitySchema, &[]),
        file("rule-305", ArtifactType::RuleSet, &["ent-44"]),
        file("form-2005", ArtifactType::AtlasForm, &["ent-44"]),
        file(
            "thread-2002",
            ArtifactType::ThreadDefinition,
            &["form-2005", "rule-305"],
        ),
        file(
            "proc-1001",
            ArtifactType::ProcessDefinition,
            &["thread-2002", "form-2005"],
        ),
    ]
}

/// The manifest an export writes for `files` listed in install order
/// (hashes are the reader's business, so they are placeholders here).
fn honest_manifest(files: &[BundledArtifact]) -> Manifest {
    let source = TenantId::parse(SOURCE).unwrap();
    let artifacts = files
        .iter()
        .map(|f| ManifestArtifact {
            id: f.id.clone(),
            artifact_type: f.artifact_type,
            name: f.name.clone(),
            version: f.version.clone(),
            path: artifact_path(&f.id),
            sha256: "0".repeat(64),
            depends_on: bundled_dependencies(&f.references, &source, |id| {
                files.iter().any(|g| g.id == *id)
            })
            .into_iter()
            .cloned()
            .collect(),
        })
        .collect();
    Manifest {
        format_version: 1,
        package_id: PackageId::parse("pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33").unwrap(),
        name: "Employee Onboarding Suite".into(),
        package_type: PackageType::Workflow,
        version: "2.1.0".into(),
        description: Some("Complete onboarding workflow".into()),
        author: Some("HR Automation Team".into()),
        tags: vec!["hr".into(), "onboarding".into()],
        source_tenant_id: source,
        exported_at: "2026-05-25T09:00:00Z".parse().unwrap(),
        exported_by: "engineer@company.com".into(),
        artifacts,
        install_order: files.iter().map(|f| f.id.clone()).collect(),
        package_dependencies: vec![],
        checksum: String::new(),
    }
}

/// The failures' `(code, field)` pairs.
fn refusals(manifest: &Manifest, files: &[BundledArtifact]) -> Vec<(ErrorCode, String)> {
    check_imported(manifest, files)
        .unwrap_err()
        .into_iter()
        .map(|f| (f.code, f.field.unwrap_or_default()))
        .collect()
}

fn one(code: ErrorCode, field: &str) -> Vec<(ErrorCode, String)> {
    vec![(code, field.to_owned())]
}

#[test]
fn what_an_export_writes_is_accepted() {
    let files = seed_files();
    assert_eq!(check_imported(&honest_manifest(&files), &files), Ok(()));
}

#[test]
fn files_in_any_order_are_accepted() {
    let files = seed_files();
    let manifest = honest_manifest(&files);
    let mut shuffled = files.clone();
    shuffled.reverse();
    assert_eq!(check_imported(&manifest, &shuffled), Ok(()));
}

// --- 29: references. ---

#[test]
fn a_reference_to_a_third_tenant_is_refused() {
    let mut files = seed_files();
    files[0]
        .references
        .push(reference("payroll-7", Some("tenant-third")));
    let manifest = honest_manifest(&files);
    let failures = check_imported(&manifest, &files).unwrap_err();
    assert_eq!(failures.len(), 1, "{failures:?}");
    let failure = &failures[0];
    assert_eq!(failure.code, ErrorCode::CrossTenantReference);
    assert_eq!(
        failure.field.as_deref(),
        Some("artifacts/ent-44.json#references")
    );
    assert_eq!(failure.details["referencedTenantId"], "tenant-third");
    assert_eq!(failure.details["referencedArtifactId"], "payroll-7");
}

#[test]
fn a_reference_naming_the_source_tenant_is_accepted() {
    let mut files = seed_files();
    files[1].references = vec![reference("ent-44", Some(SOURCE))];
    assert_eq!(check_imported(&honest_manifest(&files), &files), Ok(()));
}

#[test]
fn a_reference_to_an_artifact_not_in_the_package_is_refused() {
    let mut files = seed_files();
    files[0].references.push(reference("gone-1", None));
    assert_eq!(
        refusals(&honest_manifest(&files), &files),
        one(
            ErrorCode::IncompleteArtifact,
            "artifacts/ent-44.json#references"
        )
    );
}

// --- 30: the manifest against the files, cycles. ---

#[test]
fn depends_on_that_hides_a_reference_is_refused() {
    let files = seed_files();
    let mut manifest = honest_manifest(&files);
    manifest.artifacts[4].depends_on.pop();
    let failures = check_imported(&manifest, &files).unwrap_err();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].code, ErrorCode::ChecksumMismatch);
    assert_eq!(
        failures[0].field.as_deref(),
        Some("manifest.json#artifacts[4].dependsOn")
    );
    assert_eq!(
        failures[0].message,
        "The manifest says proc-1001 depends on [thread-2002], but its file references [thread-2002, form-2005] in the package."
    );
}

#[test]
fn depends_on_that_invents_a_dependency_is_refused() {
    let files = seed_files();
    let mut manifest = honest_manifest(&files);
    manifest.artifacts[2]
        .depends_on
        .push(ArtifactId::parse("rule-305").unwrap());
    assert_eq!(
        refusals(&manifest, &files),
        one(
            ErrorCode::ChecksumMismatch,
            "manifest.json#artifacts[2].dependsOn"
        )
    );
}

#[test]
fn an_install_order_the_files_contradict_is_refused() {
    // The manifest claims ent-44 needs proc-1001 and orders them so; the
    // files say the opposite.
    let files = seed_files();
    let mut manifest = honest_manifest(&files);
    manifest.install_order.rotate_left(1);
    manifest.artifacts[0].depends_on = vec![ArtifactId::parse("proc-1001").unwrap()];
    manifest.artifacts[4].depends_on.clear();
    let got = refusals(&manifest, &files);
    assert_eq!(
        got,
        vec![
            (
                ErrorCode::ChecksumMismatch,
                "manifest.json#artifacts[0].dependsOn".to_owned()
            ),
            (
                ErrorCode::ChecksumMismatch,
                "manifest.json#artifacts[4].dependsOn".to_owned()
            ),
            (
                ErrorCode::ChecksumMismatch,
                "manifest.json#installOrder".to_owned()
            ),
        ]
    );
}

#[test]
fn another_valid_order_than_the_export_s_is_refused() {
    // rule-305 and form-2005 both only need ent-44; the export places the
    // rule set first (type rank), and so must the manifest.
    let files = seed_files();
    let mut manifest = honest_manifest(&files);
    manifest.install_order.swap(1, 2);
    let failures = check_imported(&manifest, &files).unwrap_err();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(
        failures[0].message,
        "The manifest's installOrder [ent-44, form-2005, rule-305, thread-2002, proc-1001] is not the order its files give: [ent-44, rule-305, form-2005, thread-2002, proc-1001]."
    );
}

#[test]
fn files_forming_a_cycle_are_refused() {
    // The manifest hides the back edge: it lists no dependency for ent-44.
    let mut files = seed_files();
    files[0].references.push(reference("proc-1001", None));
    let mut manifest = honest_manifest(&seed_files());
    manifest.install_order = files.iter().map(|f| f.id.clone()).collect();
    let failures = check_imported(&manifest, &files).unwrap_err();
    let codes: Vec<ErrorCode> = failures.iter().map(|f| f.code).collect();
    assert_eq!(
        codes,
        vec![ErrorCode::CircularDependency, ErrorCode::ChecksumMismatch],
        "{failures:?}"
    );
    assert_eq!(
        failures[0].field.as_deref(),
        Some("artifacts/ent-44.json#references")
    );
    assert!(
        failures[0].message.contains("ent-44 → proc-1001"),
        "{}",
        failures[0].message
    );
}

#[test]
fn a_chain_deeper_than_an_export_allows_is_refused() {
    let files: Vec<BundledArtifact> = (0..12)
        .map(|i| {
            let refs: Vec<String> = if i == 0 {
                vec![]
            } else {
                vec![format!("a{}", i - 1)]
            };
            let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
            file(&format!("a{i}"), ArtifactType::RuleSet, &refs)
        })
        .collect();
    assert_eq!(
        refusals(&honest_manifest(&files), &files),
        one(
            ErrorCode::DependencyDepthExceeded,
            "artifacts/a11.json#references"
        )
    );
}

// --- 31: what an export never writes. ---

#[test]
fn draft_deleted_and_archived_artifacts_are_refused() {
    let mut files = seed_files();
    files[1].status = ArtifactStatus::Draft;
    files[3].status = ArtifactStatus::Deleted;
    files[4].status = ArtifactStatus::Archived;
    let got = refusals(&honest_manifest(&files), &files);
    assert!(
        got.contains(&(
            ErrorCode::ArtifactNotExportable,
            "artifacts/rule-305.json#status".to_owned()
        )),
        "{got:?}"
    );
    assert!(got.contains(&(
        ErrorCode::ArtifactNotExportable,
        "artifacts/thread-2002.json#status".to_owned()
    )));
    assert!(got.contains(&(
        ErrorCode::ArtifactNotExportable,
        "artifacts/proc-1001.json#status".to_owned()
    )));
}

#[test]
fn a_package_name_that_is_a_path_is_refused() {
    let files = seed_files();
    let mut manifest = honest_manifest(&files);
    manifest.name = "../../etc/passwd".into();
    assert_eq!(
        refusals(&manifest, &files),
        one(ErrorCode::InvalidPackageName, "manifest.json#name")
    );
}

#[test]
fn a_version_that_is_not_semver_is_refused() {
    let mut files = seed_files();
    files[2].version = "1.0".into();
    let mut manifest = honest_manifest(&files);
    manifest.version = "v2".into();
    assert_eq!(
        refusals(&manifest, &files),
        vec![
            (
                ErrorCode::InvalidVersion,
                "manifest.json#version".to_owned()
            ),
            (
                ErrorCode::InvalidVersion,
                "artifacts/form-2005.json#version".to_owned()
            ),
        ]
    );
}

#[test]
fn control_and_bidi_characters_in_any_text_field_are_refused() {
    let mut files = seed_files();
    files[0].name = "Invoice\u{202E}fdp.exe".into();
    files[4].libraries.push(Library {
        ecosystem: Ecosystem::Npm,
        name: "lodash\u{1b}[2K".into(),
        version: "4.17.21".into(),
    });
    let mut manifest = honest_manifest(&files);
    manifest.author = Some("HR\u{1b}[31m Team".into());
    manifest.exported_by = "engineer@company.com\r\nX-Admin: yes".into();
    manifest.description = Some("Onboarding\0".into());
    manifest.tags = vec!["hr".into(), "on\u{202E}boarding".into()];
    assert_eq!(
        refusals(&manifest, &files),
        vec![
            (
                ErrorCode::InvalidDescription,
                "manifest.json#description".to_owned()
            ),
            (ErrorCode::InvalidAuthor, "manifest.json#author".to_owned()),
            (ErrorCode::InvalidTags, "manifest.json#tags[1]".to_owned()),
            (
                ErrorCode::InvalidExportedBy,
                "manifest.json#exportedBy".to_owned()
            ),
            (
                ErrorCode::InvalidArtifactName,
                "artifacts/ent-44.json#name".to_owned()
            ),
            (
                ErrorCode::InvalidLibrary,
                "artifacts/proc-1001.json#libraries[0]".to_owned()
            ),
        ]
    );
}

#[test]
fn refusals_name_the_character() {
    let files = seed_files();
    let mut manifest = honest_manifest(&files);
    manifest.author = Some("HR\u{202E}".into());
    let failures = check_imported(&manifest, &files).unwrap_err();
    assert_eq!(
        failures[0].message,
        "author contains U+202E, a control or bidirectional formatting character."
    );
}
