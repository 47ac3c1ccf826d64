//! Dry-run diffs and pinned plans over HTTP: every `Replace` entry of a dry
//! run carries the JSON Patch from the tenant's live artifact to the
//! package's, a refused dry run still lists its whole plan, and an import
//! pinned to a dry run's `planId` installs exactly that plan or nothing.

use serde_json::{Value, json};

use crate::common::*;
use crate::import::{artifacts_of, export_package, import, import_as, set_target};

const IMPORT: &str = "/api/installhub/packages/import";

/// What the package brings, keyed by id: (type, version, definition,
/// references). `plan-form` refers to the other four.
fn incoming() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    Value,
    Vec<&'static str>,
)> {
    vec![
        (
            "plan-entity",
            "EntitySchema",
            "1.0.0",
            json!({"fields": ["id"]}),
            vec![],
        ),
        (
            "plan-rule",
            "RuleSet",
            "1.2.0",
            json!({"when": "x"}),
            vec!["plan-entity"],
        ),
        ("plan-widget", "AtlasForm", "1.0.0", json!({"w": 1}), vec![]),
        (
            "plan-note",
            "EntitySchema",
            "1.0.0",
            json!({"n": 1}),
            vec![],
        ),
        (
            "plan-form",
            "AtlasForm",
            "1.3.0",
            json!({"fields": [{"label": "Full name", "required": true}], "a/b": {"c~d": 2}}),
            vec!["plan-entity", "plan-note", "plan-rule", "plan-widget"],
        ),
    ]
}

fn body(
    kind: &str,
    name: &str,
    version: &str,
    status: &str,
    definition: Value,
    refs: &[&str],
) -> Value {
    let references: Vec<Value> = refs.iter().map(|r| json!({"artifactId": r})).collect();
    json!({"type": kind, "name": name, "version": version, "status": status,
           "definition": definition, "references": references})
}

/// Writes the package's artifacts in the source tenant and exports them
/// as `version`; returns the package id and its ZIP.
async fn package(app: &TestApp, version: &str) -> (String, Vec<u8>) {
    for (id, kind, v, definition, refs) in incoming() {
        app.put_artifact(
            SOURCE,
            id,
            body(
                kind,
                &format!("Name {id}"),
                v,
                "Published",
                definition,
                &refs,
            ),
        )
        .await;
    }
    export_package(
        app,
        &json!({"tenantId": SOURCE, "packageName": "Plan Suite", "packageType": "workflow-package",
                "version": version, "artifactIds": ["plan-form"]}),
    )
    .await
}

fn options(extra: Value) -> Value {
    let mut options = json!({"targetTenantId": TARGET});
    for (k, v) in extra.as_object().unwrap() {
        options[k] = v.clone();
    }
    options
}

async fn dry_run(app: &TestApp, zip: &[u8], extra: Value) -> Reply {
    let mut o = options(extra);
    o["dryRun"] = json!(true);
    import(app, zip, &o).await
}

fn entry<'a>(plan: &'a Value, id: &str) -> &'a Value {
    plan.as_array()
        .unwrap()
        .iter()
        .find(|a| a["artifactId"] == id)
        .unwrap_or_else(|| panic!("{id} in {plan:#}"))
}

/// Ops sorted by path, for comparison regardless of the differ's order.
fn sorted(ops: &Value) -> Vec<Value> {
    let mut ops = ops
        .as_array()
        .unwrap_or_else(|| panic!("changes: {ops}"))
        .clone();
    ops.sort_by_key(|op| op["path"].as_str().unwrap().to_owned());
    ops
}

/// The package installed into the target, then the target's copies moved
/// away from it: `plan-form` in every part, `plan-rule` losing its
/// reference, `plan-widget` edited, `plan-note` deleted (so it is created
/// again); `plan-entity` stays as installed.
async fn installed_then_edited(app: &TestApp, zip: &[u8]) {
    let reply = import(
        app,
        zip,
        &options(json!({"defaultConflictStrategy": "Replace"})),
    )
    .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let mut form = body(
        "AtlasForm",
        "Old form",
        "1.0.0",
        "Active",
        json!({"fields": [{"label": "Name", "required": true}], "a/b": {"c~d": 1}}),
        &[
            "plan-entity",
            "plan-note",
            "plan-rule",
            "plan-widget",
            "plan-zgone",
        ],
    );
    form["libraries"] = json!([{"ecosystem": "npm", "name": "left-pad", "version": "1.3.0"}]);
    app.put_artifact(TARGET, "plan-form", form).await;
    app.put_artifact(
        TARGET,
        "plan-rule",
        body(
            "RuleSet",
            "Name plan-rule",
            "1.1.0",
            "Published",
            json!({"when": "x"}),
            &[],
        ),
    )
    .await;
    app.put_artifact(
        TARGET,
        "plan-widget",
        body(
            "AtlasForm",
            "Name plan-widget",
            "1.0.0",
            "Published",
            json!({"w": 2}),
            &[],
        ),
    )
    .await;
    let deleted = app
        .delete(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/plan-note"
        ))
        .await;
    assert!(deleted.status < 300, "{}", deleted.status);
}

#[tokio::test]
async fn a_dry_run_shows_what_each_replacement_changes() {
    let app = TestApp::new().await;
    let (_, zip) = package(&app, "1.0.0").await;
    installed_then_edited(&app, &zip).await;

    let reply = dry_run(
        &app,
        &zip,
        json!({"defaultConflictStrategy": "Replace", "conflictStrategies": {"plan-widget": "Skip"}}),
    )
    .await;
    let got = reply.json();
    assert_eq!(reply.status, 200, "{got:#}");
    let plan = &got["plannedActions"];
    assert_eq!(entry(plan, "plan-form")["action"], "Replace");
    assert_eq!(
        sorted(&entry(plan, "plan-form")["changes"]),
        [
            json!({"op": "replace", "path": "/definition/a~1b/c~0d", "value": 2}),
            json!({"op": "replace", "path": "/definition/fields/0/label", "value": "Full name"}),
            json!({"op": "remove", "path": "/libraries/0"}),
            json!({"op": "replace", "path": "/name", "value": "Name plan-form"}),
            json!({"op": "remove", "path": "/references/4"}),
            json!({"op": "replace", "path": "/status", "value": "Published"}),
            json!({"op": "replace", "path": "/version", "value": "1.3.0"}),
        ],
        "{plan:#}"
    );
    assert_eq!(entry(plan, "plan-rule")["action"], "Replace");
    assert_eq!(
        sorted(&entry(plan, "plan-rule")["changes"]),
        [
            json!({"op": "add", "path": "/references/0", "value": {"artifactId": "plan-entity"}}),
            json!({"op": "replace", "path": "/version", "value": "1.2.0"}),
        ]
    );
    // Create, Skip and Unchanged change nothing that could be shown.
    for (id, action) in [
        ("plan-note", "Create"),
        ("plan-widget", "Skip"),
        ("plan-entity", "Unchanged"),
    ] {
        let e = entry(plan, id);
        assert_eq!(e["action"], action, "{e:#}");
        assert!(e.get("changes").is_none(), "{e:#}");
        assert!(e.get("conflict").is_none(), "{e:#}");
    }
    assert!(got["planId"].as_str().unwrap().starts_with("plan-"));

    // The changes, applied to the live artifact, give the package's.
    let live = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/plan-form"
        ))
        .await
        .json();
    let compared = |a: &Value| {
        json!({"name": a["name"], "version": a["version"], "status": a["status"],
               "definition": a["definition"], "references": a["references"],
               "libraries": a.get("libraries").cloned().unwrap_or(json!([]))})
    };
    let mut doc = compared(&live);
    let patch: json_patch::Patch =
        serde_json::from_value(entry(plan, "plan-form")["changes"].clone()).unwrap();
    json_patch::patch(&mut doc, &patch).unwrap();
    let source = app
        .get(&format!(
            "/api/installhub/tenants/{SOURCE}/artifacts/plan-form"
        ))
        .await
        .json();
    assert_eq!(doc, compared(&source));
}

#[tokio::test]
async fn a_refused_dry_run_still_lists_the_whole_plan() {
    let app = TestApp::new().await;
    let (_, zip) = package(&app, "1.0.0").await;
    installed_then_edited(&app, &zip).await;
    // plan-rule goes back to 0.9.0: replacing it is a major upgrade.
    app.put_artifact(
        TARGET,
        "plan-rule",
        body(
            "RuleSet",
            "Name plan-rule",
            "0.9.0",
            "Published",
            json!({"when": "x"}),
            &[],
        ),
    )
    .await;
    set_target(&app, "Standard", None).await;

    let reply = dry_run(
        &app,
        &zip,
        json!({"conflictStrategies": {"plan-rule": "Replace", "plan-widget": "Skip"}}),
    )
    .await;
    let got = reply.expect_error(409, "ConflictRequiresResolution");
    assert_eq!(
        error_codes(&got),
        [
            "MajorVersionUpgradeNotAllowed",
            "ConflictRequiresResolution"
        ],
        "{got:#}"
    );
    assert!(
        got.get("planId").is_none(),
        "a refused plan has no id: {got:#}"
    );
    let plan = &got["plannedActions"];
    let ids: Vec<&str> = plan
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["artifactId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 5, "{plan:#}");
    let form = entry(plan, "plan-form");
    assert_eq!(form["action"], "Conflict");
    assert_eq!(form["conflict"], true);
    assert_eq!(form["error"], "ConflictRequiresResolution");
    assert!(!form["changes"].as_array().unwrap().is_empty(), "{form:#}");
    let rule = entry(plan, "plan-rule");
    assert_eq!(rule["action"], "Replace");
    assert_eq!(rule["conflict"], true);
    assert_eq!(rule["error"], "MajorVersionUpgradeNotAllowed");
    assert_eq!(
        sorted(&rule["changes"])[1],
        json!({"op": "replace", "path": "/version", "value": "1.2.0"})
    );
    for id in ["plan-entity", "plan-widget", "plan-note"] {
        assert!(entry(plan, id).get("conflict").is_none(), "{plan:#}");
    }
    // The record keeps the same answer.
    let record = app
        .get(&format!(
            "/api/installhub/imports/{}",
            reply.header("x-import-id").unwrap()
        ))
        .await
        .json();
    assert_eq!(record["status"], "Failed", "{record:#}");
    assert_eq!(record["result"]["plannedActions"], *plan, "{record:#}");

    // A real import that is refused answers as before, without the plan.
    let reply = import(&app, &zip, &options(json!({}))).await;
    let got = reply.expect_error(409, "ConflictRequiresResolution");
    assert!(got.get("plannedActions").is_none(), "{got:#}");
}

#[tokio::test]
async fn the_same_state_has_the_same_plan_id_and_a_matching_pin_installs() {
    let app = TestApp::new().await;
    let (package_id, zip) = package(&app, "1.0.0").await;
    installed_then_edited(&app, &zip).await;
    let first = dry_run(&app, &zip, json!({})).await.json();
    let second = dry_run(&app, &zip, json!({"importedBy": "engineer@company.com"}))
        .await
        .json();
    let plan_id = first["planId"].as_str().unwrap().to_owned();
    assert_eq!(second["planId"], plan_id.as_str());
    assert_eq!(plan_id.len(), "plan-".len() + 64);
    // Other options make another plan.
    let other = dry_run(
        &app,
        &zip,
        json!({"conflictStrategies": {"plan-widget": "Skip"}}),
    )
    .await
    .json();
    assert_ne!(other["planId"], plan_id.as_str(), "{other:#}");

    // The JSON form takes the pin too, and installs exactly that plan.
    let reply = app
        .post(
            IMPORT,
            &json!({"sourcePackageId": package_id, "options": {"targetTenantId": TARGET, "planId": plan_id}}),
        )
        .await;
    let got = reply.json();
    assert_eq!(reply.status, 200, "{got:#}");
    assert_eq!(got["planId"], plan_id.as_str());
    assert_eq!(got["artifactsInstalled"], 4, "{got:#}");
    let versions = artifacts_of(&app, TARGET).await;
    for (id, _, version, _, _) in incoming() {
        assert!(
            versions.contains(&(id.to_owned(), version.to_owned())),
            "{id} {version} in {versions:?}"
        );
    }
}

#[tokio::test]
async fn a_stale_pin_is_plan_outdated_and_installs_nothing() {
    let app = TestApp::new().await;
    let (_, zip) = package(&app, "1.0.0").await;
    installed_then_edited(&app, &zip).await;
    let plan_id = dry_run(&app, &zip, json!({})).await.json()["planId"]
        .as_str()
        .unwrap()
        .to_owned();
    // Someone edits plan-widget in the tenant after the review.
    app.put_artifact(
        TARGET,
        "plan-widget",
        body(
            "AtlasForm",
            "Name plan-widget",
            "1.0.0",
            "Published",
            json!({"w": 3}),
            &[],
        ),
    )
    .await;
    let before = artifacts_of(&app, TARGET).await;

    let reply = import(&app, &zip, &options(json!({"planId": plan_id}))).await;
    let got = reply.expect_error(409, "PlanOutdated");
    assert_eq!(got["error"], "PlanOutdated");
    assert_eq!(got["errors"][0]["field"], "options.planId");
    assert_eq!(got["planId"], plan_id.as_str());
    let current = got["currentPlanId"].as_str().unwrap();
    assert_ne!(current, plan_id);
    let differences = got["differences"].as_array().unwrap();
    assert_eq!(differences.len(), 1, "{got:#}");
    let d = &differences[0];
    assert_eq!(d["part"], "artifact");
    assert_eq!(d["artifactId"], "plan-widget");
    assert_eq!(d["pinned"]["action"], "Replace");
    assert_eq!(d["now"]["action"], "Replace");
    assert_ne!(d["pinned"]["liveSha256"], d["now"]["liveSha256"]);
    assert_eq!(d["pinned"]["incomingSha256"], d["now"]["incomingSha256"]);

    // Nothing was written: the tenant is as it was, the widget as edited.
    assert_eq!(artifacts_of(&app, TARGET).await, before);
    let widget = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/plan-widget"
        ))
        .await
        .json();
    assert_eq!(widget["definition"], json!({"w": 3}));
    assert!(
        artifacts_of(&app, TARGET)
            .await
            .contains(&("plan-form".to_owned(), "1.0.0".to_owned()))
    );

    // The new plan, once reviewed, installs.
    let reply = import(&app, &zip, &options(json!({"planId": current}))).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
}

#[tokio::test]
async fn a_pin_of_another_tenant_or_package_is_refused() {
    let app = TestApp::new().await;
    let (_, zip) = package(&app, "1.0.0").await;
    let (_, other_zip) = package(&app, "1.1.0").await;

    // Another tenant's plan is unknown here.
    let third = "tenant-third1";
    let everywhere = Token::full().tenants(&["*"]).mint();
    let reply = app
        .send(
            app.http
                .put(app.url(&format!("/api/installhub/tenants/{third}")))
                .bearer_auth(&everywhere)
                .json(&json!({"name": "Third", "plan": "Standard", "status": "Active"})),
        )
        .await;
    assert!(reply.status < 300, "{:#}", reply.json());
    let o = json!({"targetTenantId": third, "dryRun": true});
    let reply = import_as(&app, &everywhere, &zip, &o, "").await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let theirs = reply.json()["planId"].as_str().unwrap().to_owned();
    let got = import(&app, &zip, &options(json!({"planId": theirs})))
        .await
        .expect_error(400, "InvalidPlanId");
    assert_eq!(got["errors"][0]["field"], "options.planId");

    // Another package's plan for this tenant: the package differs.
    let pinned = dry_run(&app, &other_zip, json!({})).await.json()["planId"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = import(&app, &zip, &options(json!({"planId": pinned})))
        .await
        .expect_error(409, "PlanOutdated");
    let d = &got["differences"][0];
    assert_eq!(d["part"], "package", "{got:#}");
    assert_eq!(d["pinned"]["version"], "1.1.0");
    assert_eq!(d["now"]["version"], "1.0.0");
    assert_ne!(d["pinned"]["packageId"], d["now"]["packageId"]);

    // A malformed or never answered id is refused with its field.
    for bad in [
        json!("plan-123"),
        json!(42),
        json!(format!("plan-{}", "0".repeat(64))),
    ] {
        let reply = import(&app, &zip, &options(json!({"planId": bad}))).await;
        let code = if bad.is_string() {
            "InvalidPlanId"
        } else {
            "InvalidRequestBody"
        };
        let got = reply.expect_error(400, code);
        assert!(
            got["errors"][0]["field"]
                .as_str()
                .unwrap()
                .contains("planId"),
            "{got:#}"
        );
    }
    assert!(
        artifacts_of(&app, TARGET)
            .await
            .iter()
            .all(|(id, _)| !id.starts_with("plan-"))
    );
}
