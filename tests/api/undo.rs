//! Rolling imports back and uninstalling packages over HTTP (issue 10):
//! exact bytes back, created artifacts removed, refusals after a change,
//! rollbacks of rollbacks, dry runs, expired snapshots, dependants, and
//! who may do it.

use serde_json::{Value, json};

use crate::common::*;
use crate::import::{export_package, import, seed_options, seed_package};

const SEED_IDS: [&str; 5] = [
    "ent-44",
    "rule-305",
    "form-2005",
    "thread-2002",
    "proc-1001",
];

fn rollback_path(import_id: &str) -> String {
    format!("/api/installhub/imports/{import_id}/rollback")
}

fn uninstall_path(name: &str) -> String {
    let name = name.replace(' ', "%20");
    format!("/api/installhub/tenants/{TARGET}/installed-packages/{name}")
}

/// The target's artifact as the API answers it, byte for byte.
async fn artifact_bytes(app: &TestApp, id: &str) -> (u16, Vec<u8>) {
    let reply = app
        .get(&format!("/api/installhub/tenants/{TARGET}/artifacts/{id}"))
        .await;
    (reply.status, reply.body)
}

async fn all_bytes(app: &TestApp) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    for id in SEED_IDS {
        out.push(artifact_bytes(app, id).await);
    }
    out
}

async fn status_of(app: &TestApp, id: &str) -> String {
    let (status, body) = artifact_bytes(app, id).await;
    assert_eq!(status, 200);
    serde_json::from_slice::<Value>(&body).unwrap()["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The target's form-2005 at 1.0.0 with content of its own: the import
/// replaces it.
async fn own_form_in_target(app: &TestApp) {
    app.put_artifact(
        TARGET,
        "form-2005",
        json!({"type": "AtlasForm", "name": "EmployeeForm", "version": "1.0.0",
               "status": "Active", "definition": {"local": true}, "references": []}),
    )
    .await;
}

/// Imports the seed package into the target (replacing its form) and
/// returns the import id.
async fn seed_import(app: &TestApp) -> String {
    let (_, zip) = seed_package(app).await;
    let reply = import(app, &zip, &seed_options()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    reply.json()["importId"].as_str().unwrap().to_owned()
}

async fn rollback(app: &TestApp, import_id: &str, query: &str) -> Reply {
    app.post(&format!("{}{query}", rollback_path(import_id)), &json!({}))
        .await
}

async fn history(app: &TestApp) -> Vec<Value> {
    app.get(&format!("/api/installhub/tenants/{TARGET}/imports"))
        .await
        .json()["imports"]
        .as_array()
        .unwrap()
        .clone()
}

async fn audit_count(app: &TestApp) -> usize {
    app.get(&format!(
        "/api/installhub/audit?tenantId={TARGET}&limit=200"
    ))
    .await
    .json()["entries"]
        .as_array()
        .unwrap()
        .len()
}

async fn installed(app: &TestApp) -> Vec<(String, String, u64)> {
    crate::import::installed_of(app, TARGET)
        .await
        .iter()
        .map(|p| {
            (
                p["packageName"].as_str().unwrap().to_owned(),
                p["status"].as_str().unwrap().to_owned(),
                p["ownedArtifactCount"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn conflict_ids(body: &Value) -> Vec<String> {
    body["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{}:{}",
                c["reason"].as_str().unwrap(),
                c["artifactId"]
                    .as_str()
                    .or(c["dependentPackage"].as_str())
                    .or(c["packageName"].as_str())
                    .unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn a_rollback_puts_back_the_exact_bytes_and_removes_what_it_created() {
    let app = TestApp::new().await;
    own_form_in_target(&app).await;
    let form_before = artifact_bytes(&app, "form-2005").await;
    let import_id = seed_import(&app).await;
    assert_ne!(artifact_bytes(&app, "form-2005").await, form_before);

    let reply = rollback(&app, &import_id, "").await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body:#}");
    assert_eq!(body["status"], "Success");
    assert_eq!(body["rolledBackImportId"], import_id.as_str());
    assert!(body["rolledBackAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(
        body["artifacts"],
        json!([
            {"artifactId": "ent-44", "action": "Remove"},
            {"artifactId": "form-2005", "action": "Restore"},
            {"artifactId": "proc-1001", "action": "Remove"},
            {"artifactId": "rule-305", "action": "Remove"},
            {"artifactId": "thread-2002", "action": "Remove"},
        ])
    );
    assert_eq!(
        body["packages"],
        json!([{"packageName": "Employee Onboarding Suite", "action": "Remove"}])
    );

    // Byte for byte, timestamps included.
    assert_eq!(artifact_bytes(&app, "form-2005").await, form_before);
    for id in ["ent-44", "rule-305", "thread-2002", "proc-1001"] {
        assert_eq!(status_of(&app, id).await, "Deleted", "{id}");
    }
    assert!(installed(&app).await.is_empty());

    // Recorded in the history, and audited.
    let rollback_id = body["importId"].as_str().unwrap();
    let newest = &history(&app).await[0];
    assert_eq!(newest["importId"], rollback_id);
    assert_eq!(newest["source"], "Rollback");
    assert_eq!(newest["status"], "Success");
    assert_eq!(newest["packageName"], "Employee Onboarding Suite");
    let audit = app
        .get(&format!(
            "/api/installhub/audit?tenantId={TARGET}&action=rollback"
        ))
        .await
        .json();
    let entry = &audit["entries"][0];
    assert_eq!(entry["subject"], rollback_id);
    assert_eq!(entry["details"]["rolledBackImportId"], import_id.as_str());
    assert_eq!(entry["details"]["artifactsRestored"], json!(["form-2005"]));

    // Once is enough.
    rollback(&app, &import_id, "")
        .await
        .expect_error(409, "ImportNotRollbackable");
}

#[tokio::test]
async fn a_rollback_can_itself_be_rolled_back() {
    let app = TestApp::new().await;
    own_form_in_target(&app).await;
    let import_id = seed_import(&app).await;
    let installed_bytes = all_bytes(&app).await;
    let installed_packages = crate::import::installed_of(&app, TARGET).await;

    let first = rollback(&app, &import_id, "").await.json();
    let rollback_id = first["importId"].as_str().unwrap();
    let reply = rollback(&app, rollback_id, "").await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(all_bytes(&app).await, installed_bytes);
    assert_eq!(
        crate::import::installed_of(&app, TARGET).await,
        installed_packages
    );
    // The import stands again, so it can be rolled back again.
    let again = rollback(&app, &import_id, "").await;
    assert_eq!(again.status, 200, "{:#}", again.json());
    assert_eq!(status_of(&app, "proc-1001").await, "Deleted");
}

#[tokio::test]
async fn a_change_since_the_import_refuses_the_rollback_listing_each() {
    let app = TestApp::new().await;
    let import_id = seed_import(&app).await;
    app.put_artifact(
        TARGET,
        "rule-305",
        json!({"type": "RuleSet", "name": "ApprovalRules", "version": "3.0.3",
               "status": "Active", "definition": {"edited": true}, "references": []}),
    )
    .await;
    app.delete(&format!(
        "/api/installhub/tenants/{TARGET}/artifacts/thread-2002"
    ))
    .await;
    let before = all_bytes(&app).await;
    let records = history(&app).await.len();

    let body = rollback(&app, &import_id, "")
        .await
        .expect_error(409, "RollbackConflict");
    assert_eq!(
        conflict_ids(&body),
        ["ArtifactChanged:rule-305", "ArtifactChanged:thread-2002"]
    );
    assert_eq!(body["conflicts"][1]["currentStatus"], "Deleted");
    assert!(body["message"].as_str().unwrap().contains("rule-305"));
    assert_eq!(all_bytes(&app).await, before);
    assert_eq!(history(&app).await.len(), records);
}

#[tokio::test]
async fn a_dry_run_answers_the_plan_and_writes_nothing() {
    let app = TestApp::new().await;
    own_form_in_target(&app).await;
    let import_id = seed_import(&app).await;
    let before = all_bytes(&app).await;
    let packages = installed(&app).await;
    let (records, entries) = (history(&app).await.len(), audit_count(&app).await);

    let reply = rollback(&app, &import_id, "?dryRun=true").await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body:#}");
    assert_eq!(body["status"], "DryRun");
    assert!(body["importId"].is_null());
    assert!(body["rolledBackAt"].is_null());
    assert_eq!(body["artifacts"].as_array().unwrap().len(), 5);

    let uninstall = app
        .delete(&format!(
            "{}?dryRun=true",
            uninstall_path("Employee Onboarding Suite")
        ))
        .await;
    let plan = uninstall.json();
    assert_eq!(uninstall.status, 200, "{plan:#}");
    assert_eq!(plan["status"], "DryRun");
    assert_eq!(plan["removedArtifacts"].as_array().unwrap().len(), 5);

    assert_eq!(all_bytes(&app).await, before);
    assert_eq!(installed(&app).await, packages);
    assert_eq!(history(&app).await.len(), records);
    assert_eq!(audit_count(&app).await, entries);
    // Still rollbackable for real.
    assert_eq!(rollback(&app, &import_id, "").await.status, 200);
}

#[tokio::test]
async fn dry_runs_failures_and_unknown_imports_cannot_be_rolled_back() {
    let app = TestApp::new().await;
    let (_, zip) = seed_package(&app).await;
    let mut options = seed_options();
    options["dryRun"] = json!(true);
    let dry = import(&app, &zip, &options).await.json();
    let body = rollback(&app, dry["importId"].as_str().unwrap(), "")
        .await
        .expect_error(409, "ImportNotRollbackable");
    assert_eq!(body["importStatus"], "DryRun");

    own_form_in_target(&app).await;
    let mut options = seed_options();
    options["defaultConflictStrategy"] = json!("Fail");
    let failed = import(&app, &zip, &options).await;
    assert_eq!(failed.status, 409);
    let failed_id = failed.header("x-import-id").unwrap().to_owned();
    let body = rollback(&app, &failed_id, "")
        .await
        .expect_error(409, "ImportNotRollbackable");
    assert_eq!(body["importStatus"], "Failed");

    rollback(&app, "imp-00000000-0000-4000-8000-000000000000", "")
        .await
        .expect_error(404, "ImportNotFound");
    rollback(&app, "not-an-import", "")
        .await
        .expect_error(404, "ImportNotFound");
}

#[tokio::test]
async fn a_snapshot_past_retention_is_gone() {
    let app = TestApp::with_config(|c| c.snapshot_retention = std::time::Duration::ZERO).await;
    let import_id = seed_import(&app).await;
    let body = rollback(&app, &import_id, "")
        .await
        .expect_error(410, "SnapshotExpired");
    assert_eq!(body["importId"], import_id.as_str());
    assert!(body["message"].as_str().unwrap().contains("retention"));
    assert_eq!(status_of(&app, "proc-1001").await, "Published");
}

/// Puts `ids` into the source tenant (each referencing `refs`), exports
/// them as package `name` 1.0.0 (depending on `depends_on`), imports that
/// into the target and returns the import id.
async fn install_package(
    app: &TestApp,
    name: &str,
    ids: &[&str],
    refs: &[&str],
    depends_on: Option<&str>,
) -> String {
    let references: Vec<Value> = refs.iter().map(|r| json!({"artifactId": r})).collect();
    for id in ids {
        app.put_artifact(
            SOURCE,
            id,
            json!({"type": "RuleSet", "name": format!("Rules {id}"), "version": "1.0.0",
                   "status": "Published", "definition": {"id": id}, "references": references}),
        )
        .await;
    }
    let mut request = json!({"tenantId": SOURCE, "packageName": name,
        "packageType": "config-package", "version": "1.0.0", "artifactIds": ids});
    if let Some(package) = depends_on {
        request["packageDependencies"] =
            json!([{"packageName": package, "versionRange": "^1.0.0"}]);
    }
    let (_, zip) = export_package(app, &request).await;
    let reply = import(app, &zip, &seed_options()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    reply.json()["importId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn uninstall_waits_for_its_dependants_and_can_be_rolled_back() {
    let app = TestApp::with_config(|c| c.limits.exports_per_user.max = 100).await;
    app.put_artifact(
        SOURCE,
        "base-1",
        json!({"type": "EntitySchema", "name": "Base", "version": "1.0.0",
               "status": "Published", "definition": {"base": true}, "references": []}),
    )
    .await;
    let base_request = json!({"tenantId": SOURCE, "packageName": "Base Kit",
        "packageType": "config-package", "version": "1.0.0", "artifactIds": ["base-1"]});
    let (_, base) = export_package(&app, &base_request).await;
    assert_eq!(import(&app, &base, &seed_options()).await.status, 200);
    // An add-on whose artifact references base-1 (which it carries, found
    // unchanged, so Base Kit keeps it), and one that declares Base Kit as a
    // package dependency.
    install_package(&app, "Addon", &["addon-1"], &["base-1"], None).await;
    install_package(&app, "Extra", &["extra-1"], &[], Some("Base Kit")).await;

    let body = app
        .delete(&uninstall_path("Base Kit"))
        .await
        .expect_error(409, "UninstallConflict");
    assert_eq!(
        conflict_ids(&body),
        ["ReferencedBy:base-1", "DependedOnBy:Extra"]
    );
    assert_eq!(body["conflicts"][0]["referencedBy"], "addon-1");
    assert_eq!(body["conflicts"][0]["referencedByPackage"], "addon");
    assert_eq!(status_of(&app, "base-1").await, "Published");

    // Without dependants it goes; names are compared without case.
    for name in ["addon", "EXTRA"] {
        let reply = app.delete(&uninstall_path(name)).await;
        assert_eq!(reply.status, 200, "{:#}", reply.json());
    }
    let reply = app.delete(&uninstall_path("Base Kit")).await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body:#}");
    assert_eq!(body["status"], "Success");
    assert_eq!(body["packageName"], "Base Kit");
    assert_eq!(body["removedArtifacts"], json!(["base-1"]));
    assert_eq!(status_of(&app, "base-1").await, "Deleted");
    assert_eq!(status_of(&app, "addon-1").await, "Deleted");
    assert_eq!(
        installed(&app).await,
        [
            ("Addon".to_owned(), "Uninstalled".to_owned(), 0),
            ("Base Kit".to_owned(), "Uninstalled".to_owned(), 0),
            ("Extra".to_owned(), "Uninstalled".to_owned(), 0),
        ]
    );
    let uninstalled = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/installed-packages?status=Uninstalled"
        ))
        .await
        .json();
    assert_eq!(
        uninstalled["installedPackages"].as_array().unwrap().len(),
        3
    );
    let newest = &history(&app).await[0];
    assert_eq!(newest["source"], "Uninstall");
    assert_eq!(newest["packageName"], "Base Kit");
    let audit = app
        .get(&format!(
            "/api/installhub/audit?tenantId={TARGET}&action=uninstall"
        ))
        .await
        .json();
    assert_eq!(audit["entries"].as_array().unwrap().len(), 3);
    assert_eq!(
        audit["entries"][0]["details"]["artifactsRemoved"],
        json!(["base-1"])
    );

    app.delete(&uninstall_path("Base Kit"))
        .await
        .expect_error(404, "PackageNotInstalled");
    app.delete(&uninstall_path("Never Installed"))
        .await
        .expect_error(404, "PackageNotInstalled");

    // The uninstall is undone like an import.
    let reply = rollback(&app, newest["importId"].as_str().unwrap(), "").await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(status_of(&app, "base-1").await, "Published");
    assert_eq!(
        installed(&app).await[1],
        ("Base Kit".to_owned(), "Installed".to_owned(), 1)
    );
}

#[tokio::test]
async fn uninstall_refuses_an_artifact_changed_since_the_install() {
    let app = TestApp::new().await;
    seed_import(&app).await;
    app.put_artifact(
        TARGET,
        "ent-44",
        json!({"type": "EntitySchema", "name": "EmployeeSchema", "version": "1.0.1",
               "status": "Active", "definition": {"edited": true}, "references": []}),
    )
    .await;
    let body = app
        .delete(&uninstall_path("Employee Onboarding Suite"))
        .await
        .expect_error(409, "UninstallConflict");
    assert_eq!(conflict_ids(&body), ["ArtifactChanged:ent-44"]);
    assert_eq!(status_of(&app, "proc-1001").await, "Published");
}

#[tokio::test]
async fn each_permission_is_needed_on_its_own() {
    let app = TestApp::new().await;
    let import_id = seed_import(&app).await;
    let all_but_import: Vec<&str> = ALL_SCOPES
        .iter()
        .copied()
        .filter(|s| *s != "installhub:import")
        .collect();
    let no_import = Token::full().scopes(&all_but_import).mint();
    let other_tenant = Token::full().tenants(&[SOURCE]).mint();
    let only_import = Token::full()
        .scopes(&["installhub:import"])
        .tenants(&[TARGET])
        .mint();
    let uninstall = uninstall_path("Employee Onboarding Suite");
    let delete_as = |token: &str, query: &str| {
        app.send(
            app.http
                .delete(app.url(&format!("{uninstall}{query}")))
                .bearer_auth(token),
        )
    };

    app.post_as(&no_import, &rollback_path(&import_id), &json!({}))
        .await
        .expect_error(403, "InsufficientPermission");
    delete_as(&no_import, "")
        .await
        .expect_error(403, "InsufficientPermission");
    // Another tenant's import is answered as if it did not exist.
    app.post_as(&other_tenant, &rollback_path(&import_id), &json!({}))
        .await
        .expect_error(404, "ImportNotFound");
    delete_as(&other_tenant, "")
        .await
        .expect_error(403, "TenantAccessDenied");
    app.send(app.http.post(app.url(&rollback_path(&import_id))))
        .await
        .expect_error(401, "Unauthenticated");

    // installhub:import and the tenant are enough.
    let reply = delete_as(&only_import, "?dryRun=true").await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let reply = app
        .post_as(
            &only_import,
            &format!("{}?dryRun=true", rollback_path(&import_id)),
            &json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let reply = app
        .post_as(&only_import, &rollback_path(&import_id), &json!({}))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(reply.json()["tenantId"], TARGET);
}
