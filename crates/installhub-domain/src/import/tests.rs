use super::*;
use crate::manifest::{ManifestArtifact, PackageDependency};
use crate::model::PackageType;
use crate::{ArtifactId, PackageId};

fn id(s: &str) -> ArtifactId {
    ArtifactId::parse(s).unwrap()
}

/// The seed's package: ent-44, rule-305, form-2005 (EmployeeForm 1.3.0),
/// thread-2002, proc-1001, each hashing to "h-<id>".
fn manifest() -> Manifest {
    let lines = [
        ("ent-44", ArtifactType::EntitySchema, "Employee", "1.0.0"),
        ("rule-305", ArtifactType::RuleSet, "Rules", "1.0.0"),
        (
            "form-2005",
            ArtifactType::AtlasForm,
            "EmployeeForm",
            "1.3.0",
        ),
        (
            "thread-2002",
            ArtifactType::ThreadDefinition,
            "Thread",
            "2.0.0",
        ),
        (
            "proc-1001",
            ArtifactType::ProcessDefinition,
            "Process",
            "2.1.0",
        ),
    ];
    Manifest {
        format_version: 1,
        package_id: PackageId::parse("pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13").unwrap(),
        name: "Employee Onboarding Suite".into(),
        package_type: PackageType::Workflow,
        version: "2.1.0".into(),
        description: None,
        author: None,
        tags: vec![],
        source_tenant_id: TenantId::parse("tenant-7f3a9b12").unwrap(),
        exported_at: chrono::DateTime::UNIX_EPOCH,
        exported_by: "a@b.c".into(),
        artifacts: lines
            .iter()
            .map(|(i, t, n, v)| ManifestArtifact {
                id: id(i),
                artifact_type: *t,
                name: (*n).into(),
                version: (*v).into(),
                path: format!("artifacts/{i}.json"),
                sha256: format!("h-{i}"),
                depends_on: vec![],
            })
            .collect(),
        install_order: lines.iter().map(|l| id(l.0)).collect(),
        package_dependencies: vec![],
        checksum: "sha256:x".into(),
    }
}

fn options(default: Option<ConflictStrategy>) -> ValidImportOptions {
    ValidImportOptions {
        target_tenant_id: TenantId::parse("tenant-abc123").unwrap(),
        default_conflict_strategy: default,
        conflict_strategies: BTreeMap::new(),
        dry_run: false,
        allow_major_version_upgrade: false,
        allow_security_warnings: false,
        imported_by: None,
        plan_id: None,
    }
}

fn existing(entries: &[(&str, &str, &str)]) -> HashMap<ArtifactId, ExistingArtifact> {
    entries
        .iter()
        .map(|(i, version, sha)| {
            (
                id(i),
                ExistingArtifact {
                    artifact_type: ArtifactType::AtlasForm,
                    name: "EmployeeForm".into(),
                    version: (*version).into(),
                    sha256: (*sha).into(),
                },
            )
        })
        .collect()
}

fn plan(
    manifest: &Manifest,
    existing: &HashMap<ArtifactId, ExistingArtifact>,
    installed: &[InstalledRef],
    options: &ValidImportOptions,
    tenant_default: Option<ConflictStrategy>,
) -> Result<ImportPlan, Vec<Failure>> {
    plan_import(PlanContext {
        manifest,
        existing,
        installed,
        options,
        tenant_default,
    })
}

fn actions(plan: &ImportPlan) -> Vec<(&str, PlannedAction)> {
    plan.artifacts
        .iter()
        .map(|a| (a.artifact_id.as_str(), a.action))
        .collect()
}

fn codes(failures: &[Failure]) -> Vec<ErrorCode> {
    failures.iter().map(|f| f.code).collect()
}

#[test]
fn an_empty_tenant_creates_everything_in_install_order() {
    let m = manifest();
    let p = plan(&m, &HashMap::new(), &[], &options(None), None).unwrap();
    assert_eq!(
        actions(&p),
        [
            ("ent-44", PlannedAction::Create),
            ("rule-305", PlannedAction::Create),
            ("form-2005", PlannedAction::Create),
            ("thread-2002", PlannedAction::Create),
            ("proc-1001", PlannedAction::Create),
        ]
    );
    assert_eq!(p.installed_count(), 5);
    assert!(p.conflicts.is_empty() && p.warnings.is_empty());
}

#[test]
fn identical_content_is_unchanged_not_a_conflict() {
    let m = manifest();
    let ex = existing(&[("form-2005", "1.3.0", "h-form-2005")]);
    let p = plan(&m, &ex, &[], &options(None), None).unwrap();
    assert_eq!(p.artifacts[2].action, PlannedAction::Unchanged);
    assert_eq!(p.installed_count(), 4);
    assert!(p.conflicts.is_empty());
}

#[test]
fn same_version_with_other_content_is_a_conflict() {
    let m = manifest();
    let ex = existing(&[("form-2005", "1.3.0", "other")]);
    let failures = plan(&m, &ex, &[], &options(None), None).unwrap_err();
    assert_eq!(codes(&failures), [ErrorCode::ConflictRequiresResolution]);
}

#[test]
fn the_seed_replace_conflict_is_reported() {
    let m = manifest();
    let ex = existing(&[("form-2005", "1.0.0", "old")]);
    let p = plan(
        &m,
        &ex,
        &[],
        &options(Some(ConflictStrategy::Replace)),
        None,
    )
    .unwrap();
    assert_eq!(p.artifacts[2].action, PlannedAction::Replace);
    assert_eq!(p.artifacts[2].previous_version.as_deref(), Some("1.0.0"));
    assert_eq!(
        p.conflicts,
        [ConflictEntry {
            artifact_id: id("form-2005"),
            artifact_name: "EmployeeForm".into(),
            artifact_type: ArtifactType::AtlasForm,
            resolution: ConflictStrategy::Replace,
            previous_version: "1.0.0".into(),
            installed_version: "1.3.0".into(),
        }]
    );
    let json = serde_json::to_value(&p.conflicts[0]).unwrap();
    assert_eq!(json["artifactName"], "EmployeeForm");
    assert_eq!(json["type"], "AtlasForm");
    assert_eq!(json["resolution"], "Replace");
    assert_eq!(json["previousVersion"], "1.0.0");
    assert_eq!(json["installedVersion"], "1.3.0");
}

#[test]
fn strategy_precedence_is_per_artifact_then_request_then_tenant() {
    let m = manifest();
    let ex = existing(&[("form-2005", "1.0.0", "old"), ("rule-305", "1.0.0", "old")]);
    // Tenant default alone resolves both.
    let p = plan(&m, &ex, &[], &options(None), Some(ConflictStrategy::Skip)).unwrap();
    assert_eq!(p.artifacts[1].action, PlannedAction::Skip);
    assert_eq!(p.artifacts[2].action, PlannedAction::Skip);
    assert_eq!(p.conflicts[0].installed_version, "1.0.0");
    // The request's default beats the tenant's.
    let p = plan(
        &m,
        &ex,
        &[],
        &options(Some(ConflictStrategy::Replace)),
        Some(ConflictStrategy::Skip),
    )
    .unwrap();
    assert_eq!(p.artifacts[1].action, PlannedAction::Replace);
    // A per-artifact strategy beats both.
    let mut o = options(Some(ConflictStrategy::Replace));
    o.conflict_strategies
        .insert(id("form-2005"), ConflictStrategy::Skip);
    let p = plan(&m, &ex, &[], &o, Some(ConflictStrategy::Fail)).unwrap();
    assert_eq!(p.artifacts[1].action, PlannedAction::Replace);
    assert_eq!(p.artifacts[2].action, PlannedAction::Skip);
    assert_eq!(p.conflicts.len(), 2);
}

#[test]
fn every_unresolved_conflict_is_listed() {
    let m = manifest();
    let ex = existing(&[
        ("form-2005", "1.0.0", "old"),
        ("rule-305", "0.9.0", "old"),
        ("ent-44", "1.0.0", "h-ent-44"),
    ]);
    let failures = plan(&m, &ex, &[], &options(None), None).unwrap_err();
    let ids: Vec<_> = failures
        .iter()
        .map(|f| f.details["artifactId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, ["rule-305", "form-2005"]);
    assert!(
        failures
            .iter()
            .all(|f| f.code == ErrorCode::ConflictRequiresResolution)
    );
    // Fail is the same refusal.
    let failures = plan(&m, &ex, &[], &options(Some(ConflictStrategy::Fail)), None).unwrap_err();
    assert_eq!(failures.len(), 2);
    assert!(failures[0].message.contains("Fail"));
}

#[test]
fn a_major_upgrade_needs_the_option() {
    let m = manifest();
    let ex = existing(&[("thread-2002", "1.4.0", "old")]);
    let failures = plan(
        &m,
        &ex,
        &[],
        &options(Some(ConflictStrategy::Replace)),
        None,
    )
    .unwrap_err();
    assert_eq!(codes(&failures), [ErrorCode::MajorVersionUpgradeNotAllowed]);
    assert_eq!(failures[0].details["artifactId"], "thread-2002");
    let mut o = options(Some(ConflictStrategy::Replace));
    o.allow_major_version_upgrade = true;
    let p = plan(&m, &ex, &[], &o, None).unwrap();
    assert_eq!(p.artifacts[3].action, PlannedAction::Replace);
    // Skipping it is no upgrade at all.
    let p = plan(&m, &ex, &[], &options(Some(ConflictStrategy::Skip)), None).unwrap();
    assert_eq!(p.artifacts[3].action, PlannedAction::Skip);
}

#[test]
fn a_package_installed_at_a_lower_major_needs_the_option() {
    let m = manifest();
    let installed = [InstalledRef {
        package_name: "employee onboarding suite".into(),
        version: "1.9.0".into(),
        checksum: "sha256:old".into(),
        status: InstalledStatus::Installed,
        superseded_by: None,
    }];
    let failures = plan(&m, &HashMap::new(), &installed, &options(None), None).unwrap_err();
    assert_eq!(codes(&failures), [ErrorCode::MajorVersionUpgradeNotAllowed]);
    assert_eq!(failures[0].details["installedVersion"], "1.9.0");
    let mut o = options(None);
    o.allow_major_version_upgrade = true;
    assert!(plan(&m, &HashMap::new(), &installed, &o, None).is_ok());
}

#[test]
fn a_version_that_does_not_parse_is_an_error_not_a_minor_change() {
    let m = manifest();
    // "v2.0" is no SemVer: before, it compared as "not a major upgrade" and
    // the replacement went through unguarded.
    let ex = existing(&[("thread-2002", "v2.0", "old")]);
    let o = options(Some(ConflictStrategy::Replace));
    let failures = plan(&m, &ex, &[], &o, None).unwrap_err();
    assert_eq!(codes(&failures), [ErrorCode::InvalidVersion]);
    assert_eq!(failures[0].details["artifactId"], "thread-2002");
    assert!(
        failures[0].message.contains("the tenant's thread-2002"),
        "{}",
        failures[0].message
    );
    let installed = [InstalledRef {
        package_name: "Employee Onboarding Suite".into(),
        version: "latest".into(),
        checksum: "sha256:old".into(),
        status: InstalledStatus::Installed,
        superseded_by: None,
    }];
    let failures = plan(&m, &HashMap::new(), &installed, &options(None), None).unwrap_err();
    assert_eq!(codes(&failures), [ErrorCode::InvalidVersion]);
    assert_eq!(failures[0].field.as_deref(), Some("package"));
}

#[test]
fn a_downgrade_is_allowed_and_warned() {
    let m = manifest();
    let ex = existing(&[("form-2005", "1.9.0", "newer")]);
    let p = plan(
        &m,
        &ex,
        &[],
        &options(Some(ConflictStrategy::Replace)),
        None,
    )
    .unwrap();
    assert_eq!(p.artifacts[2].action, PlannedAction::Replace);
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].code, "Downgrade");
    assert!(p.warnings[0].message.contains("1.9.0 → 1.3.0"));
}

#[test]
fn a_package_downgrade_is_warned_like_an_artifact_downgrade() {
    let m = manifest();
    let installed = [InstalledRef {
        package_name: "employee onboarding suite".into(),
        version: "3.0.0".into(),
        checksum: "sha256:newer".into(),
        status: InstalledStatus::Installed,
        superseded_by: None,
    }];
    let p = plan(&m, &HashMap::new(), &installed, &options(None), None).unwrap();
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    assert_eq!(p.warnings[0].code, "Downgrade");
    assert_eq!(p.warnings[0].artifact_id, None);
    assert_eq!(p.warnings[0].details["packageName"], m.name.as_str());
    assert!(
        p.warnings[0]
            .message
            .contains(&format!("3.0.0 → {}", m.version)),
        "{}",
        p.warnings[0].message
    );
}

#[test]
fn package_dependencies_use_cargo_ranges() {
    let mut m = manifest();
    m.package_dependencies = vec![
        PackageDependency {
            package_name: "HR Core".into(),
            version_range: "^1.2".into(),
        },
        PackageDependency {
            package_name: "Payroll".into(),
            version_range: ">=1.0.0, <2.0.0".into(),
        },
    ];
    let installed = [
        InstalledRef {
            package_name: "hr core".into(),
            version: "1.4.2".into(),
            checksum: "sha256:a".into(),
            status: InstalledStatus::Installed,
            superseded_by: None,
        },
        InstalledRef {
            package_name: "Payroll".into(),
            version: "2.0.0".into(),
            checksum: "sha256:b".into(),
            status: InstalledStatus::Installed,
            superseded_by: None,
        },
    ];
    let failures = plan(&m, &HashMap::new(), &installed, &options(None), None).unwrap_err();
    assert_eq!(codes(&failures), [ErrorCode::MissingPackageDependency]);
    assert_eq!(failures[0].field.as_deref(), Some("packageDependencies[1]"));
    assert_eq!(failures[0].details["installedVersion"], "2.0.0");
    let failures = plan(&m, &HashMap::new(), &[], &options(None), None).unwrap_err();
    assert_eq!(failures.len(), 2);
    assert!(failures[0].message.contains("does not have it"));
    let ok = [
        installed[0].clone(),
        InstalledRef {
            package_name: "PAYROLL".into(),
            version: "1.99.0".into(),
            checksum: "sha256:c".into(),
            status: InstalledStatus::Installed,
            superseded_by: None,
        },
    ];
    assert!(plan(&m, &HashMap::new(), &ok, &options(None), None).is_ok());
}

#[test]
fn a_superseded_package_does_not_satisfy_a_dependency() {
    let mut m = manifest();
    m.package_dependencies = vec![PackageDependency {
        package_name: "HR Core".into(),
        version_range: "^1.2".into(),
    }];
    let superseded = InstalledRef {
        package_name: "HR Core".into(),
        version: "1.4.2".into(),
        checksum: "sha256:a".into(),
        status: InstalledStatus::Superseded,
        superseded_by: Some("HR Core Plus".into()),
    };
    let failures = plan(
        &m,
        &HashMap::new(),
        std::slice::from_ref(&superseded),
        &options(None),
        None,
    )
    .unwrap_err();
    assert_eq!(codes(&failures), [ErrorCode::MissingPackageDependency]);
    assert_eq!(failures[0].details["installedStatus"], "Superseded");
    assert_eq!(failures[0].details["supersededBy"], "HR Core Plus");
    assert!(failures[0].message.contains("Superseded by 'HR Core Plus'"));

    let installed = InstalledRef {
        status: InstalledStatus::Installed,
        superseded_by: None,
        ..superseded
    };
    assert!(plan(&m, &HashMap::new(), &[installed], &options(None), None).is_ok());
}

#[test]
fn all_failures_come_back_together() {
    let mut m = manifest();
    m.package_dependencies = vec![PackageDependency {
        package_name: "HR Core".into(),
        version_range: "^1".into(),
    }];
    let ex = existing(&[("form-2005", "1.0.0", "old")]);
    let failures = plan(&m, &ex, &[], &options(None), None).unwrap_err();
    assert_eq!(
        codes(&failures),
        [
            ErrorCode::MissingPackageDependency,
            ErrorCode::ConflictRequiresResolution
        ]
    );
}

fn raw_options(json: serde_json::Value) -> Result<ImportOptions, serde_json::Error> {
    serde_json::from_value(json)
}

#[test]
fn the_seed_options_parse() {
    let o = raw_options(serde_json::json!({
        "targetTenantId": "tenant-abc123",
        "defaultConflictStrategy": "Replace",
        "dryRun": false,
        "allowMajorVersionUpgrade": false,
        "allowSecurityWarnings": false,
        "importedBy": "engineer@company.com"
    }))
    .unwrap();
    let v = o.check(None).unwrap();
    assert_eq!(v.target_tenant_id.as_str(), "tenant-abc123");
    assert_eq!(v.default_conflict_strategy, Some(ConflictStrategy::Replace));
    assert!(!v.dry_run);
    assert_eq!(v.imported_by.as_deref(), Some("engineer@company.com"));
}

#[test]
fn dry_run_from_either_place() {
    let o = raw_options(serde_json::json!({"targetTenantId": "tenant-abc123"})).unwrap();
    assert!(!o.check(None).unwrap().dry_run);
    assert!(o.check(Some(true)).unwrap().dry_run);
    let o = raw_options(serde_json::json!({"targetTenantId": "tenant-abc123", "dryRun": true}))
        .unwrap();
    assert!(o.check(Some(false)).unwrap().dry_run);
}

#[test]
fn every_bad_option_is_reported_with_its_field() {
    let o = raw_options(serde_json::json!({
        "defaultConflictStrategy": "Overwrite",
        "conflictStrategies": {"../x": "Skip", "form-2005": "replace"},
        "importedBy": ""
    }))
    .unwrap();
    let failures = o.check(None).unwrap_err();
    let got: Vec<_> = failures
        .iter()
        .map(|f| (f.code, f.field.clone().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (
                ErrorCode::InvalidTenantId,
                "options.targetTenantId".to_owned()
            ),
            (
                ErrorCode::InvalidConflictStrategy,
                "options.defaultConflictStrategy".to_owned()
            ),
            (
                ErrorCode::InvalidArtifactId,
                "options.conflictStrategies.../x".to_owned()
            ),
            (
                ErrorCode::InvalidConflictStrategy,
                "options.conflictStrategies.form-2005".to_owned()
            ),
            (
                ErrorCode::InvalidImportOptions,
                "options.importedBy".to_owned()
            ),
        ]
    );
}

#[test]
fn unknown_options_are_refused() {
    assert!(
        raw_options(serde_json::json!({"targetTenantId": "t-1", "force": true}))
            .unwrap_err()
            .to_string()
            .contains("unknown field `force`")
    );
}

#[test]
fn the_same_name_and_version_with_other_content_needs_replace() {
    let m = manifest();
    let other = [InstalledRef {
        package_name: "EMPLOYEE ONBOARDING SUITE".into(),
        version: "2.1.0".into(),
        checksum: "sha256:other".into(),
        status: InstalledStatus::Installed,
        superseded_by: None,
    }];
    let failures = plan(&m, &HashMap::new(), &other, &options(None), None).unwrap_err();
    assert_eq!(codes(&failures), [ErrorCode::ConflictRequiresResolution]);
    assert_eq!(failures[0].details["installedChecksum"], "sha256:other");
    let failures = plan(
        &m,
        &HashMap::new(),
        &other,
        &options(Some(ConflictStrategy::Skip)),
        None,
    )
    .unwrap_err();
    assert_eq!(failures.len(), 1);
    let p = plan(
        &m,
        &HashMap::new(),
        &other,
        &options(None),
        Some(ConflictStrategy::Replace),
    )
    .unwrap();
    assert_eq!(p.warnings[0].code, "PackageReplaced");
    // The very same package again is no conflict at all.
    let same = [InstalledRef {
        checksum: m.checksum.clone(),
        ..other[0].clone()
    }];
    assert!(plan(&m, &HashMap::new(), &same, &options(None), None).is_ok());
}

#[test]
fn replacing_an_artifact_of_another_type_is_warned() {
    let m = manifest();
    let mut ex = existing(&[("rule-305", "1.0.0", "old")]);
    ex.get_mut(&id("rule-305")).unwrap().artifact_type = ArtifactType::AtlasForm;
    let p = plan(
        &m,
        &ex,
        &[],
        &options(Some(ConflictStrategy::Replace)),
        None,
    )
    .unwrap();
    assert_eq!(p.warnings.len(), 1);
    assert_eq!(p.warnings[0].code, "TypeChanged");
    assert_eq!(p.warnings[0].artifact_id, Some(id("rule-305")));
    assert!(
        p.warnings[0]
            .message
            .contains("was a AtlasForm and is replaced by a RuleSet")
    );
}

fn whole(
    m: &Manifest,
    ex: &HashMap<ArtifactId, ExistingArtifact>,
    o: &ValidImportOptions,
) -> (ImportPlan, Vec<Failure>) {
    plan_import_whole(PlanContext {
        manifest: m,
        existing: ex,
        installed: &[],
        options: o,
        tenant_default: None,
    })
}

#[test]
fn a_refused_plan_comes_back_whole_with_what_stops_it_marked() {
    let m = manifest();
    let ex = existing(&[
        ("form-2005", "1.0.0", "old"),
        ("rule-305", "0.9.0", "old"),
        ("thread-2002", "1.0.0", "old"),
        ("ent-44", "1.0.0", "h-ent-44"),
    ]);
    let mut o = options(None);
    o.conflict_strategies
        .insert(id("thread-2002"), ConflictStrategy::Replace);
    o.conflict_strategies
        .insert(id("rule-305"), ConflictStrategy::Fail);
    let (p, failures) = whole(&m, &ex, &o);
    assert_eq!(
        codes(&failures),
        [
            ErrorCode::ConflictRequiresResolution,
            ErrorCode::ConflictRequiresResolution,
            ErrorCode::MajorVersionUpgradeNotAllowed,
        ]
    );
    let marks: Vec<_> = p
        .artifacts
        .iter()
        .map(|a| (a.artifact_id.as_str(), a.action, a.conflict, a.error))
        .collect();
    assert_eq!(
        marks,
        [
            ("ent-44", PlannedAction::Unchanged, false, None),
            (
                "rule-305",
                PlannedAction::Conflict,
                true,
                Some(ErrorCode::ConflictRequiresResolution)
            ),
            (
                "form-2005",
                PlannedAction::Conflict,
                true,
                Some(ErrorCode::ConflictRequiresResolution)
            ),
            (
                "thread-2002",
                PlannedAction::Replace,
                true,
                Some(ErrorCode::MajorVersionUpgradeNotAllowed)
            ),
            ("proc-1001", PlannedAction::Create, false, None),
        ]
    );
    let json = serde_json::to_value(&p.artifacts[1]).unwrap();
    assert_eq!(json["action"], "Conflict");
    assert_eq!(json["conflict"], true);
    assert_eq!(json["error"], "ConflictRequiresResolution");
    // An entry that stops nothing carries neither mark.
    let json = serde_json::to_value(&p.artifacts[4]).unwrap();
    assert!(json.get("conflict").is_none() && json.get("error").is_none());
    // plan_import refuses the same, with the same failures.
    assert_eq!(plan(&m, &ex, &[], &o, None).unwrap_err(), failures);
}

mod pins {
    use super::*;
    use crate::import::pin::PinnedPlan;

    fn pinned(
        m: &Manifest,
        ex: &HashMap<ArtifactId, ExistingArtifact>,
        o: &ValidImportOptions,
        tenant_default: Option<ConflictStrategy>,
    ) -> PinnedPlan {
        let ctx = PlanContext {
            manifest: m,
            existing: ex,
            installed: &[],
            options: o,
            tenant_default,
        };
        let (p, _) = plan_import_whole(ctx);
        PinnedPlan::new(ctx, "tenant-abc123", &p)
    }

    #[test]
    fn the_same_state_has_the_same_id() {
        let m = manifest();
        let ex = existing(&[("form-2005", "1.0.0", "old")]);
        let o = options(Some(ConflictStrategy::Replace));
        let a = pinned(&m, &ex, &o, None);
        let b = pinned(&m, &ex, &o, None);
        assert_eq!(a.id(), b.id());
        let id = a.id().to_string();
        assert!(id.starts_with("plan-") && id.len() == 69, "{id}");
        assert_eq!(ImportPlanId::parse(&id).unwrap(), a.id());
        // Neither dryRun nor importedBy is part of the plan.
        let mut other = o.clone();
        other.dry_run = true;
        other.imported_by = Some("x@y.z".into());
        assert_eq!(pinned(&m, &ex, &other, None).id(), a.id());
        // The tenant's default counts as the request's when it names none.
        assert_eq!(
            pinned(&m, &ex, &options(None), Some(ConflictStrategy::Replace)).id(),
            a.id()
        );
    }

    #[test]
    fn each_part_changes_the_id_and_is_listed() {
        let m = manifest();
        let ex = existing(&[("form-2005", "1.0.0", "old")]);
        let o = options(Some(ConflictStrategy::Replace));
        let base = pinned(&m, &ex, &o, None);

        // The live artifact changed: same action, other content.
        let changed = pinned(&m, &existing(&[("form-2005", "1.0.0", "newer")]), &o, None);
        assert_ne!(changed.id(), base.id());
        let d = serde_json::to_value(base.differences(&changed)).unwrap();
        assert_eq!(d.as_array().unwrap().len(), 1, "{d:#}");
        assert_eq!(d[0]["part"], "artifact");
        assert_eq!(d[0]["artifactId"], "form-2005");
        assert_eq!(d[0]["pinned"]["liveSha256"], "old");
        assert_eq!(d[0]["now"]["liveSha256"], "newer");
        assert_eq!(d[0]["pinned"]["action"], "Replace");
        assert!(d[0]["pinned"].get("artifactId").is_none());

        // An artifact appeared in the tenant: Create became Replace.
        let grown = pinned(
            &m,
            &existing(&[("form-2005", "1.0.0", "old"), ("ent-44", "0.1.0", "x")]),
            &o,
            None,
        );
        let d = serde_json::to_value(base.differences(&grown)).unwrap();
        assert_eq!(d[0]["artifactId"], "ent-44");
        assert_eq!(d[0]["pinned"]["action"], "Create");
        assert_eq!(d[0]["now"]["action"], "Replace");
        assert_eq!(d[0]["now"]["previousVersion"], "0.1.0");

        // Another package, and other options.
        let mut other = manifest();
        other.checksum = "sha256:y".into();
        other.artifacts.pop();
        other.install_order.pop();
        let mut o2 = o.clone();
        o2.allow_major_version_upgrade = true;
        let moved = pinned(&other, &ex, &o2, None);
        let d = serde_json::to_value(base.differences(&moved)).unwrap();
        let parts: Vec<_> = d
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["part"].as_str().unwrap(), x["artifactId"].as_str()))
            .collect();
        assert_eq!(
            parts,
            [
                ("package", None),
                ("options", None),
                ("artifact", Some("proc-1001"))
            ]
        );
        assert_eq!(d[0]["pinned"]["checksum"], "sha256:x");
        assert_eq!(d[0]["now"]["checksum"], "sha256:y");
        assert_eq!(d[2]["now"], serde_json::Value::Null);
        assert!(base.differences(&base).is_empty());
    }

    #[test]
    fn a_plan_id_is_plan_and_64_lower_case_hex_digits() {
        use crate::ids::ImportPlanId;
        assert!(ImportPlanId::parse(&format!("plan-{}", "a".repeat(64))).is_ok());
        for bad in [
            "plan-".to_owned(),
            format!("plan-{}", "A".repeat(64)),
            format!("plan-{}", "a".repeat(63)),
            format!("plan-{}", "a".repeat(65)),
            format!("pln-{}", "a".repeat(64)),
            format!("plan-{}g", "a".repeat(63)),
        ] {
            assert!(ImportPlanId::parse(&bad).is_err(), "{bad}");
        }
        let raw = ImportOptions {
            target_tenant_id: Some("tenant-abc123".into()),
            plan_id: Some("plan-nope".into()),
            ..ImportOptions::default()
        };
        let failures = raw.check(None).unwrap_err();
        assert_eq!(codes(&failures), [ErrorCode::InvalidPlanId]);
        assert_eq!(failures[0].field.as_deref(), Some("options.planId"));
    }
}
