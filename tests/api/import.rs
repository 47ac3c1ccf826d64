//! The Import API over HTTP (seed 03, SPEC §7): the seed's example, every
//! option and error code, the JSON form, access to both tenants, dry runs,
//! the records it leaves, atomicity under an injected failure, and
//! concurrent imports into one tenant.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::*;

const IMPORT: &str = "/api/installhub/packages/import";

/// Exports the seed package from the source tenant and downloads its ZIP.
pub async fn seed_package(app: &TestApp) -> (String, Vec<u8>) {
    export_package(app, &seed_export()).await
}

pub async fn export_package(app: &TestApp, request: &Value) -> (String, Vec<u8>) {
    let reply = app.export(request).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let id = reply.json()["packageId"].as_str().unwrap().to_owned();
    let zip = app
        .get(&format!("/api/installhub/packages/{id}/download"))
        .await;
    assert_eq!(zip.status, 200);
    (id, zip.body)
}

/// The seed's multipart form: `package` then `options`.
pub fn form(zip: &[u8], options: &Value) -> Form {
    Form::new()
        .part(
            "package",
            Part::bytes(zip.to_vec())
                .file_name("employee-onboarding-2.1.0.zip")
                .mime_str("application/zip")
                .unwrap(),
        )
        .part(
            "options",
            Part::text(options.to_string())
                .mime_str("application/json")
                .unwrap(),
        )
}

pub async fn import_as(
    app: &TestApp,
    token: &str,
    zip: &[u8],
    options: &Value,
    query: &str,
) -> Reply {
    app.send(
        app.http
            .post(app.url(&format!("{IMPORT}{query}")))
            .bearer_auth(token)
            .multipart(form(zip, options)),
    )
    .await
}

pub async fn import(app: &TestApp, zip: &[u8], options: &Value) -> Reply {
    import_as(app, &app.token, zip, options, "").await
}

pub fn seed_options() -> Value {
    json!({
        "targetTenantId": TARGET,
        "defaultConflictStrategy": "Replace",
        "dryRun": false,
        "allowMajorVersionUpgrade": false,
        "allowSecurityWarnings": false,
        "importedBy": "engineer@company.com"
    })
}

/// The tenant's artifacts as `(id, version)`, sorted.
pub async fn artifacts_of(app: &TestApp, tenant: &str) -> Vec<(String, String)> {
    let body = app
        .get(&format!(
            "/api/installhub/tenants/{tenant}/artifacts?limit=1000"
        ))
        .await
        .json();
    body["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_owned(),
                a["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub async fn installed_of(app: &TestApp, tenant: &str) -> Vec<Value> {
    app.get(&format!(
        "/api/installhub/tenants/{tenant}/installed-packages"
    ))
    .await
    .json()["installedPackages"]
        .as_array()
        .unwrap()
        .clone()
}

/// Sets the target's plan and default strategy.
pub async fn set_target(app: &TestApp, plan: &str, default: Option<&str>) {
    let mut body = json!({"name": "Target", "plan": plan, "status": "Active"});
    if let Some(d) = default {
        body["defaultConflictStrategy"] = json!(d);
    }
    let reply = app
        .put(&format!("/api/installhub/tenants/{TARGET}"), &body)
        .await;
    assert!(
        reply.status == 200 || reply.status == 201,
        "{:#}",
        reply.json()
    );
}

/// An artifact in the target tenant, with content unlike the package's.
async fn in_target(app: &TestApp, id: &str, kind: &str, name: &str, version: &str) {
    app.put_artifact(
        TARGET,
        id,
        json!({"type": kind, "name": name, "version": version,
               "status": "Active", "definition": {"local": true}, "references": []}),
    )
    .await;
}

/// The target's form-2005 at 1.0.0 with other content: the seed's conflict.
async fn older_form_in_target(app: &TestApp) {
    in_target(app, "form-2005", "AtlasForm", "EmployeeForm", "1.0.0").await;
}

#[tokio::test]
async fn the_seed_import_installs_the_package_and_answers_as_the_seed() {
    let app = TestApp::new().await;
    let (package_id, zip) = seed_package(&app).await;
    older_form_in_target(&app).await;

    let reply = import(&app, &zip, &seed_options()).await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body:#}");
    let import_id = body["importId"].as_str().unwrap();
    assert!(import_id.starts_with("imp-"));
    assert_eq!(reply.header("x-import-id"), Some(import_id));
    assert_eq!(body["packageId"], package_id.as_str());
    assert_eq!(body["packageName"], "Employee Onboarding Suite");
    assert_eq!(body["version"], "2.1.0");
    assert_eq!(body["status"], "Success");
    assert_eq!(body["artifactsInstalled"], 5);
    assert_eq!(body["conflictsResolved"], 1);
    assert!(body["installedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(body["installedBy"], "engineer@company.com");
    assert_eq!(
        body["installOrder"],
        json!([
            "ent-44",
            "rule-305",
            "form-2005",
            "thread-2002",
            "proc-1001"
        ])
    );
    assert_eq!(
        body["conflictReport"]["conflicts"],
        json!([{
            "artifactId": "form-2005",
            "artifactName": "EmployeeForm",
            "type": "AtlasForm",
            "resolution": "Replace",
            "previousVersion": "1.0.0",
            "installedVersion": "1.3.0"
        }])
    );
    assert_eq!(body["securityScanResult"], "PASS");
    assert_eq!(body["advisorySnapshot"]["source"], "embedded");
    assert_eq!(body["warnings"], json!([]));
    assert!(body.get("plannedActions").is_none());

    // The artifacts are in the target, with the source's ids and versions.
    let got = artifacts_of(&app, TARGET).await;
    assert_eq!(got.len(), 5);
    assert!(got.contains(&("form-2005".into(), "1.3.0".into())));
    let proc = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/proc-1001"
        ))
        .await
        .json();
    assert_eq!(proc["tenantId"], TARGET);
    // References point into the target tenant now.
    assert!(
        proc["references"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("tenantId").is_none())
    );

    // The records: the import, the installed package, the audit log.
    let record = app
        .get(&format!("/api/installhub/imports/{import_id}"))
        .await;
    assert_eq!(record.status, 200);
    let record = record.json();
    assert_eq!(record["status"], "Success");
    assert_eq!(record["tenantId"], TARGET);
    assert_eq!(record["source"], "Upload");
    assert_eq!(record["packageName"], "Employee Onboarding Suite");
    assert_eq!(record["result"]["artifactsInstalled"], 5);
    let installed = installed_of(&app, TARGET).await;
    assert_eq!(installed.len(), 1);
    assert_eq!(installed[0]["packageId"], package_id.as_str());
    assert_eq!(installed[0]["version"], "2.1.0");
    assert_eq!(installed[0]["importId"], import_id);
    let list = app
        .get(&format!("/api/installhub/tenants/{TARGET}/imports"))
        .await
        .json();
    assert_eq!(list["imports"][0]["importId"], import_id);
    let audit = app
        .get(&format!("/api/installhub/audit?tenantId={TARGET}"))
        .await
        .json();
    let entry = &audit["entries"][0];
    assert_eq!(entry["action"], "import");
    assert_eq!(entry["outcome"], "Success");
    assert_eq!(entry["actor"], "engineer@company.com");
    assert_eq!(entry["subject"], import_id);
    assert_eq!(
        entry["details"]["bundleSha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&zip)),
        "the audit names the exact bytes imported"
    );
    let source_audit = app
        .get(&format!(
            "/api/installhub/audit?tenantId={SOURCE}&action=export"
        ))
        .await
        .json();
    assert_eq!(source_audit["entries"][0]["action"], "export");
}

#[tokio::test]
async fn importing_the_same_bytes_again_changes_nothing() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    assert_eq!(import(&app, &zip, &seed_options()).await.status, 200);
    let again = import(&app, &zip, &json!({"targetTenantId": TARGET}))
        .await
        .json();
    assert_eq!(again["status"], "Success");
    assert_eq!(again["artifactsInstalled"], 0);
    assert_eq!(again["conflictsResolved"], 0);
    let plan = import_as(
        &app,
        &app.token,
        &zip,
        &json!({"targetTenantId": TARGET}),
        "?dryRun=true",
    )
    .await
    .json();
    let actions: Vec<&str> = plan["plannedActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["Unchanged"; 5]);
}

#[tokio::test]
async fn a_dry_run_plans_and_writes_nothing_but_its_record() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    older_form_in_target(&app).await;
    let before = artifacts_of(&app, TARGET).await;
    for (options, query) in [
        (json!({"targetTenantId": TARGET, "dryRun": true}), ""),
        (json!({"targetTenantId": TARGET}), "?dryRun=true"),
    ] {
        let reply = import_as(&app, &app.token, &zip, &options, query).await;
        let body = reply.json();
        assert_eq!(reply.status, 200, "{body:#}");
        assert_eq!(body["status"], "DryRun");
        assert_eq!(body["artifactsInstalled"], 0);
        assert_eq!(body["conflictsResolved"], 1);
        assert!(body["installedAt"].is_null());
        // The replacement's field-level changes (tests/api/plans.rs has the
        // details): the target's form differs in its definition, references,
        // status and version.
        let mut planned = body["plannedActions"].clone();
        let changes = planned[2]
            .as_object_mut()
            .unwrap()
            .remove("changes")
            .unwrap();
        let paths: Vec<&str> = changes
            .as_array()
            .unwrap()
            .iter()
            .map(|op| op["path"].as_str().unwrap())
            .collect();
        assert_eq!(
            paths,
            [
                "/definition/entity",
                "/definition/fields",
                "/definition/local",
                "/references/0",
                "/status",
                "/version"
            ]
        );
        assert!(body["planId"].as_str().unwrap().starts_with("plan-"));
        assert_eq!(
            planned,
            json!([
                {"artifactId": "ent-44", "artifactName": "EmployeeSchema", "type": "EntitySchema", "action": "Create", "version": "1.0.0"},
                {"artifactId": "rule-305", "artifactName": "ApprovalRules", "type": "RuleSet", "action": "Create", "version": "3.0.2"},
                {"artifactId": "form-2005", "artifactName": "EmployeeForm", "type": "AtlasForm", "action": "Replace", "previousVersion": "1.0.0", "version": "1.3.0"},
                {"artifactId": "thread-2002", "artifactName": "ApprovalSubflow", "type": "ThreadDefinition", "action": "Create", "version": "1.4.0"},
                {"artifactId": "proc-1001", "artifactName": "EmployeeOnboarding", "type": "ProcessDefinition", "action": "Create", "version": "2.1.0"}
            ])
        );
        let record = app
            .get(&format!(
                "/api/installhub/imports/{}",
                body["importId"].as_str().unwrap()
            ))
            .await
            .json();
        assert_eq!(record["status"], "DryRun");
    }
    assert_eq!(artifacts_of(&app, TARGET).await, before);
    assert!(installed_of(&app, TARGET).await.is_empty());
}

#[tokio::test]
async fn conflicts_need_a_strategy_and_every_one_is_listed() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    set_target(&app, "Standard", None).await;
    older_form_in_target(&app).await;
    in_target(&app, "rule-305", "RuleSet", "Local rules", "3.0.0").await;
    let before = artifacts_of(&app, TARGET).await;

    let body = import(&app, &zip, &json!({"targetTenantId": TARGET}))
        .await
        .expect_error(409, "ConflictRequiresResolution");
    assert_eq!(body["error"], "ValidationFailed");
    let ids: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["artifactId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["rule-305", "form-2005"]);
    // The audit entry of the refusal names the package it refused.
    let audit = app
        .get(&format!(
            "/api/installhub/audit?tenantId={TARGET}&action=import"
        ))
        .await
        .json();
    let details = &audit["entries"][0]["details"];
    assert_eq!(details["error"], "ValidationFailed", "{audit:#}");
    assert_eq!(details["packageName"], "Employee Onboarding Suite");
    assert_eq!(details["version"], "2.1.0");
    // Fail is the same refusal.
    import(
        &app,
        &zip,
        &json!({"targetTenantId": TARGET, "defaultConflictStrategy": "Fail"}),
    )
    .await
    .expect_error(409, "ConflictRequiresResolution");
    assert_eq!(artifacts_of(&app, TARGET).await, before);

    // Per-artifact strategies override the default: keep our rules, take the form.
    let reply = import(
        &app,
        &zip,
        &json!({"targetTenantId": TARGET, "defaultConflictStrategy": "Replace",
                "conflictStrategies": {"rule-305": "Skip"}}),
    )
    .await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body:#}");
    assert_eq!(body["artifactsInstalled"], 4);
    assert_eq!(body["conflictsResolved"], 2);
    let conflicts = &body["conflictReport"]["conflicts"];
    assert_eq!(conflicts[0]["artifactId"], "rule-305");
    assert_eq!(conflicts[0]["resolution"], "Skip");
    assert_eq!(conflicts[0]["installedVersion"], "3.0.0");
    assert_eq!(conflicts[1]["resolution"], "Replace");
    let got = artifacts_of(&app, TARGET).await;
    assert!(got.contains(&("rule-305".into(), "3.0.0".into())));
    assert!(got.contains(&("form-2005".into(), "1.3.0".into())));
}

#[tokio::test]
async fn the_tenant_default_strategy_applies_when_the_request_has_none() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    set_target(&app, "Standard", Some("Skip")).await;
    older_form_in_target(&app).await;
    let body = import(&app, &zip, &json!({"targetTenantId": TARGET}))
        .await
        .json();
    assert_eq!(body["conflictReport"]["conflicts"][0]["resolution"], "Skip");
    assert!(
        artifacts_of(&app, TARGET)
            .await
            .contains(&("form-2005".into(), "1.0.0".into()))
    );
}

#[tokio::test]
async fn a_major_upgrade_needs_the_option_and_its_permission() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    // thread-2002 is 1.4.0 in the package; the target has 0.9.0.
    in_target(
        &app,
        "thread-2002",
        "ThreadDefinition",
        "ApprovalSubflow",
        "0.9.0",
    )
    .await;
    let body = import(&app, &zip, &seed_options())
        .await
        .expect_error(409, "MajorVersionUpgradeNotAllowed");
    assert_eq!(body["artifactId"], "thread-2002");

    let mut options = seed_options();
    options["allowMajorVersionUpgrade"] = json!(true);
    let body = import(&app, &zip, &options)
        .await
        .expect_error(403, "InsufficientPermission");
    assert_eq!(
        body["errors"][0]["field"],
        "options.allowMajorVersionUpgrade"
    );

    let mut scopes = ALL_SCOPES.to_vec();
    scopes.push("installhub:import:override-major-version");
    let token = Token::full().scopes(&scopes).mint();
    let reply = import_as(&app, &token, &zip, &options, "").await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
}

#[tokio::test]
async fn a_downgrade_is_installed_and_warned() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    in_target(&app, "form-2005", "AtlasForm", "EmployeeForm", "1.9.0").await;
    let body = import(&app, &zip, &seed_options()).await.json();
    assert_eq!(body["status"], "Success", "{body:#}");
    assert_eq!(body["warnings"][0]["code"], "Downgrade");
    assert_eq!(body["warnings"][0]["artifactId"], "form-2005");
}

#[tokio::test]
async fn package_dependencies_must_be_installed() {
    let app = TestApp::new().await;
    let mut request = seed_export();
    request["packageDependencies"] = json!([{"packageName": "HR Core", "versionRange": "^1.2"}]);
    let (_, zip) = export_package(&app, &request).await;
    let body = import(&app, &zip, &seed_options())
        .await
        .expect_error(400, "MissingPackageDependency");
    assert_eq!(body["packageName"], "HR Core");
    assert_eq!(body["versionRange"], "^1.2");
    assert!(artifacts_of(&app, TARGET).await.is_empty());

    // Install "HR Core" 1.4.0 into the target; then the import goes through.
    app.artifact(SOURCE, "core-1", "EntitySchema", &[]).await;
    let (_, core) = export_package(
        &app,
        &json!({"tenantId": SOURCE, "packageName": "HR Core", "packageType": "config-package",
                "version": "1.4.0", "artifactIds": ["core-1"]}),
    )
    .await;
    assert_eq!(import(&app, &core, &seed_options()).await.status, 200);
    let reply = import(&app, &zip, &seed_options()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(installed_of(&app, TARGET).await.len(), 2);
}

#[tokio::test]
async fn plan_limits_apply_to_the_target_tenant() {
    let app = TestApp::with_config(|c| {
        c.limits.standard_plan.max_package_bytes = 2_000;
        c.limits.standard_plan.max_artifacts = 3;
    })
    .await;
    let (_, zip) = seed_package(&app).await;
    assert!(zip.len() > 2_000, "the seed bundle is {} bytes", zip.len());
    let body = import(&app, &zip, &seed_options())
        .await
        .expect_error(413, "PayloadTooLarge");
    assert!(body["message"].as_str().unwrap().contains("Standard plan"));

    let app = TestApp::with_config(|c| c.limits.standard_plan.max_artifacts = 3).await;
    let (_, zip) = seed_package(&app).await;
    let body = import(&app, &zip, &seed_options())
        .await
        .expect_error(413, "TooManyArtifacts");
    assert_eq!(body["artifactCount"], 5);
    // An Enterprise target takes it.
    set_target(&app, "Enterprise", Some("Replace")).await;
    assert_eq!(import(&app, &zip, &seed_options()).await.status, 200);
    assert!(artifacts_of(&app, TARGET).await.len() == 5);
}

#[tokio::test]
async fn an_upload_past_the_largest_plan_is_cut_off() {
    let app = TestApp::with_config(|c| {
        c.limits.standard_plan.max_package_bytes = 64 * 1024;
        c.limits.enterprise_plan.max_package_bytes = 128 * 1024;
    })
    .await;
    let big = vec![0u8; 4 * 1024 * 1024];
    let reply = import(&app, &big, &seed_options()).await;
    reply.expect_error(413, "PayloadTooLarge");
    // Nothing is left behind in the scratch directory.
    let tmp = app.server.state.config().tmp_dir();
    let left = std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "files left in {}", tmp.display());
}

#[tokio::test]
async fn the_json_form_imports_a_stored_export() {
    let app = TestApp::new().await;
    let (package_id, _) = seed_package(&app).await;
    let reply = app
        .post(
            IMPORT,
            &json!({"sourcePackageId": package_id, "options": {"targetTenantId": TARGET, "defaultConflictStrategy": "Replace", "dryRun": false}}),
        )
        .await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body:#}");
    assert_eq!(body["artifactsInstalled"], 5);
    let record = app
        .get(&format!(
            "/api/installhub/imports/{}",
            body["importId"].as_str().unwrap()
        ))
        .await
        .json();
    assert_eq!(record["source"], "PackageReference");

    // A stored bundle damaged in the store (here, the last byte) is never
    // imported.
    let (package_id, mut bytes) = export_package(
        &app,
        &json!({"tenantId": SOURCE, "packageName": "Employee Onboarding Suite",
                "packageType": "workflow-package", "version": "2.2.0", "artifactIds": ["ent-44"]}),
    )
    .await;
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    let damaged = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(damaged.path(), &bytes).unwrap();
    let key = installhub_store::BundleStore::package_key(&package_id.parse().unwrap());
    app.server
        .state
        .bundles()
        .put_file(&key, damaged.path())
        .await
        .unwrap();
    let before = installed_of(&app, TARGET).await;
    app.post(
        IMPORT,
        &json!({"sourcePackageId": package_id, "options": {"targetTenantId": TARGET}}),
    )
    .await
    .expect_error(500, "InternalError");
    assert_eq!(installed_of(&app, TARGET).await, before);

    // Unknown package: 404; malformed: 400; no options: 400.
    app.post(IMPORT, &json!({"sourcePackageId": "pkg-00000000-0000-4000-8000-000000000000", "options": {"targetTenantId": TARGET}}))
        .await
        .expect_error(404, "PackageNotFound");
    app.post(
        IMPORT,
        &json!({"sourcePackageId": "nope", "options": {"targetTenantId": TARGET}}),
    )
    .await
    .expect_error(400, "InvalidPackageId");
    app.post(IMPORT, &json!({"sourcePackageId": package_id}))
        .await
        .expect_error(400, "InvalidImportOptions");
}

#[tokio::test]
async fn both_tenants_must_be_accessible() {
    let app = TestApp::new().await;
    let (package_id, zip) = seed_package(&app).await;
    // Only the target: the source package is not visible.
    let token = Token::full().tenants(&[TARGET]).mint();
    app.post_as(
        &token,
        IMPORT,
        &json!({"sourcePackageId": package_id, "options": {"targetTenantId": TARGET}}),
    )
    .await
    .expect_error(404, "PackageNotFound");
    // Only the source: the target is refused, for either form.
    let token = Token::full().tenants(&[SOURCE]).mint();
    let body = app
        .post_as(
            &token,
            IMPORT,
            &json!({"sourcePackageId": package_id, "options": {"targetTenantId": TARGET}}),
        )
        .await
        .expect_error(403, "TenantAccessDenied");
    assert_eq!(body["errors"][0]["field"], "options.targetTenantId");
    import_as(&app, &token, &zip, &seed_options(), "")
        .await
        .expect_error(403, "TenantAccessDenied");
    assert!(artifacts_of(&app, TARGET).await.is_empty());
}

#[tokio::test]
async fn permissions_and_identity_are_checked() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    let no_import = Token::full()
        .scopes(&["installhub:export", "installhub:artifacts:write"])
        .mint();
    import_as(&app, &no_import, &zip, &seed_options(), "")
        .await
        .expect_error(403, "InsufficientPermission");
    let mut options = seed_options();
    options["importedBy"] = json!("someone-else@company.com");
    let reply = import(&app, &zip, &options).await;
    let body = reply.expect_error(400, "ImportedByMismatch");
    assert_eq!(body["errors"][0]["field"], "options.importedBy");
    // The refusal is in the target's history, as the caller may read it.
    let import_id = reply
        .header("x-import-id")
        .expect("a refused import is recorded");
    let record = app
        .get(&format!("/api/installhub/imports/{import_id}"))
        .await
        .json();
    assert_eq!(record["status"], "Failed");
    assert_eq!(record["result"]["error"], "ImportedByMismatch");
    let mut options = seed_options();
    options["allowSecurityWarnings"] = json!(true);
    import(&app, &zip, &options)
        .await
        .expect_error(403, "InsufficientPermission");
    assert!(artifacts_of(&app, TARGET).await.is_empty());
}

#[tokio::test]
async fn bad_options_and_bodies_are_reported() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    let body = import(
        &app,
        &zip,
        &json!({"defaultConflictStrategy": "Overwrite", "conflictStrategies": {"form-2005": "skip"}}),
    )
    .await
    .expect_error(400, "InvalidConflictStrategy");
    assert_eq!(
        error_codes(&body),
        [
            "InvalidTenantId",
            "InvalidConflictStrategy",
            "InvalidConflictStrategy"
        ]
    );
    let body = import(
        &app,
        &zip,
        &json!({"targetTenantId": TARGET, "force": true}),
    )
    .await
    .expect_error(400, "InvalidRequestBody");
    assert!(
        body["message"].as_str().unwrap().contains("force"),
        "{body:#}"
    );
    // A missing part, an unknown part, a wrong content type.
    let only_options = Form::new().part("options", Part::text(seed_options().to_string()));
    app.post_form(IMPORT, only_options)
        .await
        .expect_error(400, "InvalidRequestBody");
    let twice = form(&zip, &seed_options()).part("package", Part::bytes(zip.clone()));
    let body = app
        .post_form(IMPORT, twice)
        .await
        .expect_error(400, "InvalidRequestBody");
    assert!(body["message"].as_str().unwrap().contains("more than once"));
    let extra = form(&zip, &seed_options()).text("package2", "x");
    app.post_form(IMPORT, extra)
        .await
        .expect_error(400, "InvalidRequestBody");
    app.send(
        app.http
            .post(app.url(IMPORT))
            .bearer_auth(&app.token)
            .header("content-type", "application/zip")
            .body(zip.clone()),
    )
    .await
    .expect_error(415, "UnsupportedMediaType");
    // A target that does not exist.
    let reply = import(&app, &zip, &json!({"targetTenantId": "tenant-nowhere"})).await;
    reply.expect_error(403, "TenantAccessDenied");
    assert!(
        reply.header("x-import-id").is_none(),
        "nothing is recorded for a tenant the caller cannot read"
    );
}

#[tokio::test]
async fn a_bad_archive_is_refused_and_recorded() {
    let app = TestApp::new().await;
    let reply = import(&app, b"this is not a zip", &seed_options()).await;
    let body = reply.expect_error(400, "InvalidZip");
    assert_eq!(body["errors"][0]["field"], "package");
    let import_id = reply.header("x-import-id").unwrap();
    let record = app
        .get(&format!("/api/installhub/imports/{import_id}"))
        .await
        .json();
    assert_eq!(record["status"], "Failed");
    assert_eq!(record["result"]["error"], "InvalidZip");
    let audit = app
        .get(&format!(
            "/api/installhub/audit?tenantId={TARGET}&action=import"
        ))
        .await
        .json();
    assert_eq!(audit["entries"][0]["outcome"], "Failure");
    assert_eq!(audit["entries"][0]["details"]["error"], "InvalidZip");
}

#[tokio::test]
async fn imports_are_only_visible_to_their_tenants() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    let reply = import(&app, &zip, &seed_options()).await;
    let import_id = reply.json()["importId"].as_str().unwrap().to_owned();
    let other = Token::full().tenants(&[SOURCE]).mint();
    app.get_as(&other, &format!("/api/installhub/imports/{import_id}"))
        .await
        .expect_error(404, "ImportNotFound");
    app.get("/api/installhub/imports/imp-00000000-0000-4000-8000-000000000000")
        .await
        .expect_error(404, "ImportNotFound");
    app.get("/api/installhub/imports/not-an-id")
        .await
        .expect_error(404, "ImportNotFound");
    app.get_as(&other, &format!("/api/installhub/tenants/{TARGET}/imports"))
        .await
        .expect_error(403, "TenantAccessDenied");
    app.get_as(
        &other,
        &format!("/api/installhub/tenants/{TARGET}/installed-packages"),
    )
    .await
    .expect_error(403, "TenantAccessDenied");
    app.get_as(&other, &format!("/api/installhub/audit?tenantId={TARGET}"))
        .await
        .expect_error(403, "TenantAccessDenied");
    app.get("/api/installhub/audit")
        .await
        .expect_error(400, "InvalidTenantId");
}

#[tokio::test]
async fn a_failure_after_some_writes_leaves_nothing_visible() {
    let app = TestApp::with_config(|c| {
        c.failpoints.fail_install_after_artifacts = Some(3);
    })
    .await;
    let (_, zip) = seed_package(&app).await;
    older_form_in_target(&app).await;
    let before = artifacts_of(&app, TARGET).await;
    let reply = import(&app, &zip, &seed_options()).await;
    reply.expect_error(500, "InternalError");
    assert_eq!(artifacts_of(&app, TARGET).await, before);
    assert!(installed_of(&app, TARGET).await.is_empty());
    let import_id = reply.header("x-import-id").unwrap();
    let record = app
        .get(&format!("/api/installhub/imports/{import_id}"))
        .await
        .json();
    assert_eq!(record["status"], "Failed");
}

#[tokio::test]
async fn simultaneous_imports_of_one_package_create_each_artifact_once() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    let options = seed_options();
    let replies = futures::future::join_all((0..8).map(|_| import(&app, &zip, &options))).await;
    let mut installed = Vec::new();
    for reply in &replies {
        let body = reply.json();
        assert_eq!(reply.status, 200, "{body:#}");
        installed.push(body["artifactsInstalled"].as_u64().unwrap());
        assert_eq!(
            body["conflictsResolved"], 0,
            "identical content is never a conflict"
        );
    }
    installed.sort_unstable();
    assert_eq!(installed, [0, 0, 0, 0, 0, 0, 0, 5]);
    assert_eq!(artifacts_of(&app, TARGET).await.len(), 5);
    assert_eq!(installed_of(&app, TARGET).await.len(), 1);
}

#[tokio::test]
async fn a_plain_curl_client_can_import() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("employee-onboarding-2.1.0.zip");
    std::fs::write(&file, &zip).unwrap();
    // tokio's Command: the server runs on this test's runtime, so a blocking
    // wait would starve it.
    let output = tokio::process::Command::new("curl")
        .args(["-sS", "-X", "POST"])
        .arg(app.url(IMPORT))
        .args(["-H", &format!("Authorization: Bearer {}", app.token)])
        .args([
            "-F",
            &format!("package=@{};type=application/zip", file.display()),
        ])
        .args([
            "-F",
            &format!("options={};type=application/json", seed_options()),
        ])
        .output()
        .await
        .expect("curl runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let body: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["status"], "Success", "{body:#}");
    assert_eq!(body["artifactsInstalled"], 5);
}

#[tokio::test]
async fn import_history_and_audit_page_with_cursors() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    let first = import(&app, &zip, &seed_options()).await.json()["importId"].clone();
    let second = import(&app, &zip, &seed_options()).await.json()["importId"].clone();
    let path = format!("/api/installhub/tenants/{TARGET}/imports?limit=1");
    let page1 = app.get(&path).await.json();
    assert_eq!(page1["imports"][0]["importId"], second, "newest first");
    let cursor = page1["nextBefore"].as_str().expect("more follow");
    let page2 = app.get(&format!("{path}&before={cursor}")).await.json();
    assert_eq!(page2["imports"][0]["importId"], first);
    assert!(page2.get("nextBefore").is_none(), "{page2:#}");

    let audit = format!("/api/installhub/audit?tenantId={TARGET}&action=import&limit=1");
    let page1 = app.get(&audit).await.json();
    assert_eq!(page1["entries"][0]["subject"], second);
    let cursor = page1["nextBefore"].as_i64().expect("more follow");
    let page2 = app.get(&format!("{audit}&before={cursor}")).await.json();
    assert_eq!(page2["entries"][0]["subject"], first);
    assert!(page2.get("nextBefore").is_none(), "{page2:#}");

    for bad in [
        path.replace("limit=1", "limit=0"),
        audit.replace("limit=1", "limit=201"),
    ] {
        let body = app.get(&bad).await.expect_error(400, "InvalidRequestBody");
        assert_eq!(body["errors"][0]["field"], "limit", "{bad}");
    }
    app.get(&format!("{path}&before=imp-nope"))
        .await
        .expect_error(400, "InvalidRequestBody");
}

/// Puts `ids` into the source tenant with content of `by`, exports them as
/// package `name` 1.0.0 (depending on `depends_on`) and returns its ZIP.
async fn overlapping_package(
    app: &TestApp,
    name: &str,
    ids: &[&str],
    by: &str,
    depends_on: Option<(&str, &str)>,
) -> Vec<u8> {
    for id in ids {
        app.put_artifact(
            SOURCE,
            id,
            json!({"type": "EntitySchema", "name": format!("Shared {id}"), "version": "1.0.0",
                   "status": "Published", "definition": {"by": by}, "references": []}),
        )
        .await;
    }
    let mut request = json!({"tenantId": SOURCE, "packageName": name,
        "packageType": "config-package", "version": "1.0.0", "artifactIds": ids});
    if let Some((package, range)) = depends_on {
        request["packageDependencies"] = json!([{"packageName": package, "versionRange": range}]);
    }
    export_package(app, &request).await.1
}

/// `name -> (status, supersededBy name, ownedArtifactCount)`.
async fn ownership_of(
    app: &TestApp,
    query: &str,
) -> std::collections::BTreeMap<String, (String, Option<String>, u64)> {
    let reply = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/installed-packages{query}"
        ))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    reply.json()["installedPackages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["packageName"].as_str().unwrap().to_owned(),
                (
                    p["status"].as_str().unwrap().to_owned(),
                    p["supersededBy"]["packageName"].as_str().map(str::to_owned),
                    p["ownedArtifactCount"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn ownership_after_overlapping_installs() {
    let app = TestApp::with_config(|c| c.limits.exports_per_user.max = 100).await;
    let owned = |status: &str, by: Option<&str>, count: u64| {
        (status.to_owned(), by.map(str::to_owned), count)
    };

    // One after the other: each package replaces the previous one's
    // artifacts, so only the last is Installed.
    let seq = ["seq-1", "seq-2"];
    for i in 1..=3 {
        let zip =
            overlapping_package(&app, &format!("Seq {i}"), &seq, &format!("seq {i}"), None).await;
        assert_eq!(import(&app, &zip, &seed_options()).await.status, 200);
    }
    // The same content again under another name: Unchanged, so it takes
    // nothing from Seq 3.
    let copy = overlapping_package(&app, "Seq copy", &seq, "seq 3", None).await;
    let body = import(&app, &copy, &seed_options()).await.json();
    assert_eq!(body["artifactsInstalled"], 0, "{body:#}");
    let all = ownership_of(&app, "").await;
    assert_eq!(all["Seq 1"], owned("Superseded", Some("Seq 2"), 0));
    assert_eq!(all["Seq 2"], owned("Superseded", Some("Seq 3"), 0));
    assert_eq!(all["Seq 3"], owned("Installed", None, 2));
    assert_eq!(all["Seq copy"], owned("Installed", None, 0));

    // Eight at once over the same three artifacts.
    let par = ["par-1", "par-2", "par-3"];
    let mut zips = Vec::new();
    for i in 0..8 {
        zips.push(
            overlapping_package(&app, &format!("Par {i}"), &par, &format!("par {i}"), None).await,
        );
    }
    let options = seed_options();
    let replies =
        futures::future::join_all(zips.iter().map(|zip| import(&app, zip, &options))).await;
    for reply in &replies {
        assert_eq!(reply.status, 200, "{:#}", reply.json());
    }
    let all = ownership_of(&app, "").await;
    let installed: Vec<&String> = all
        .iter()
        .filter(|(name, (status, _, _))| name.starts_with("Par") && status == "Installed")
        .map(|(name, _)| name)
        .collect();
    assert_eq!(installed.len(), 1, "{all:#?}");
    let winner = installed[0].clone();
    // The installed one is the one whose content the tenant has.
    let live = app
        .get(&format!("/api/installhub/tenants/{TARGET}/artifacts/par-2"))
        .await
        .json();
    assert_eq!(
        format!("Par {}", &live["definition"]["by"].as_str().unwrap()[4..]),
        winner
    );
    assert_eq!(all[&winner], owned("Installed", None, 3));
    // Every other one was superseded by a later install: following
    // supersededBy from any of them ends at the winner.
    for i in 0..8 {
        let mut name = format!("Par {i}");
        for _ in 0..8 {
            match &all[&name] {
                (status, Some(by), 0) if status == "Superseded" => name = by.clone(),
                _ => break,
            }
        }
        assert_eq!(name, winner, "{all:#?}");
    }
    let superseded = ownership_of(&app, "?status=Superseded").await;
    assert_eq!(superseded.len(), 2 + 7);
    assert!(
        superseded
            .values()
            .all(|(status, _, _)| status == "Superseded")
    );
    assert_eq!(ownership_of(&app, "?status=Installed").await.len(), 3);
    app.get(&format!(
        "/api/installhub/tenants/{TARGET}/installed-packages?status=Gone"
    ))
    .await
    .expect_error(400, "InvalidRequestBody");

    // Only the installed one satisfies a dependency.
    let loser = (0..8)
        .map(|i| format!("Par {i}"))
        .find(|name| *name != winner)
        .unwrap();
    let before = artifacts_of(&app, TARGET).await;
    let refused = overlapping_package(
        &app,
        "Needs loser",
        &["dep-1"],
        "dep",
        Some((&loser, "^1.0")),
    )
    .await;
    let error = import(&app, &refused, &seed_options())
        .await
        .expect_error(400, "MissingPackageDependency");
    assert_eq!(error["packageName"], loser.as_str());
    assert_eq!(error["installedStatus"], "Superseded");
    assert_eq!(artifacts_of(&app, TARGET).await, before);
    let accepted = overlapping_package(
        &app,
        "Needs winner",
        &["dep-1"],
        "dep",
        Some((&winner, "^1.0")),
    )
    .await;
    let reply = import(&app, &accepted, &seed_options()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
}
