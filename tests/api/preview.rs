//! `POST /api/installhub/packages/preview` (seed 01).

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn seed_example_returns_the_seed_response() {
    let app = TestApp::new().await;
    let reply = app
        .preview(&json!({ "tenantId": SOURCE, "artifactIds": ["proc-1001"] }))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        json!({
            "rootArtifacts": [
                { "type": "ProcessDefinition", "id": "proc-1001", "name": "EmployeeOnboarding" }
            ],
            "resolvedDependencies": [
                { "type": "ThreadDefinition", "id": "thread-2002", "name": "ApprovalSubflow", "resolvedFrom": "proc-1001" },
                { "type": "AtlasForm", "id": "form-2005", "name": "EmployeeForm", "resolvedFrom": "proc-1001" },
                { "type": "RuleSet", "id": "rule-305", "name": "ApprovalRules", "resolvedFrom": "proc-1001" },
                { "type": "EntitySchema", "id": "ent-44", "name": "EmployeeSchema", "resolvedFrom": "form-2005" }
            ],
            "totalArtifacts": 5,
            "installOrder": ["ent-44", "rule-305", "form-2005", "thread-2002", "proc-1001"],
            "hasCircularDependency": false,
            "warnings": []
        })
    );
}

#[tokio::test]
async fn tenant_may_come_from_the_header() {
    let app = TestApp::new().await;
    let reply = app
        .send(
            app.http
                .post(app.url("/api/installhub/packages/preview"))
                .bearer_auth(&app.token)
                .header("X-Tenant-Id", SOURCE)
                .json(&json!({ "artifactIds": ["proc-1001"] })),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["totalArtifacts"], 5);
}

#[tokio::test]
async fn a_cycle_is_reported_in_the_body_with_200() {
    let app = TestApp::new().await;
    app.artifact(SOURCE, "cyc-a", "ProcessDefinition", &["cyc-b"])
        .await;
    app.artifact(SOURCE, "cyc-b", "ThreadDefinition", &["cyc-c"])
        .await;
    app.artifact(SOURCE, "cyc-c", "RuleSet", &["cyc-a"]).await;
    let reply = app
        .preview(&json!({ "tenantId": SOURCE, "artifactIds": ["cyc-a"] }))
        .await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["hasCircularDependency"], true);
    assert_eq!(body["cycles"], json!([["cyc-a", "cyc-b", "cyc-c"]]));
    assert_eq!(body["installOrder"], json!([]));
    assert_eq!(
        error_codes(&json!({ "errors": body["warnings"] })),
        vec!["CircularDependency"]
    );
}

#[tokio::test]
async fn graph_problems_are_warnings() {
    let app = TestApp::new().await;
    app.set_status(SOURCE, "ent-44", "Draft").await;
    let reply = app
        .preview(&json!({ "tenantId": SOURCE, "artifactIds": ["proc-1001"] }))
        .await;
    assert_eq!(reply.status, 200);
    let warnings = &reply.json()["warnings"];
    assert_eq!(warnings[0]["code"], "ArtifactNotExportable");
    assert_eq!(warnings[0]["artifactId"], "ent-44");
    assert_eq!(warnings[0]["field"], "artifactIds[0]");
}

#[tokio::test]
async fn unknown_and_foreign_roots_fail() {
    let app = TestApp::new().await;
    let reply = app
        .preview(&json!({ "tenantId": SOURCE, "artifactIds": ["proc-9999"] }))
        .await;
    let body = reply.expect_error(400, "ArtifactNotFound");
    assert_eq!(body["errors"][0]["field"], "artifactIds[0]");

    app.artifact(TARGET, "only-in-target", "RuleSet", &[]).await;
    let reply = app
        .preview(&json!({ "tenantId": SOURCE, "artifactIds": ["only-in-target"] }))
        .await;
    reply.expect_error(403, "TenantMismatch");
}

/// A preview asked again is answered from the graph kept for the tenant's
/// catalog generation; every write in between (through any route) must
/// still show at once, and the checks must run every time.
#[tokio::test]
async fn a_repeated_preview_sees_every_write_in_between() {
    let app = TestApp::new().await;
    let request = json!({ "tenantId": SOURCE, "artifactIds": ["proc-1001"] });
    let ask = || app.preview(&request);
    let order = |reply: Reply| reply.json()["installOrder"].clone();
    let first = ask().await;
    assert_eq!(first.status, 200);
    assert_eq!(ask().await.json(), first.json(), "the same answer again");

    // A new dependency.
    app.artifact(SOURCE, "rule-900", "RuleSet", &[]).await;
    let path = format!("/api/installhub/tenants/{SOURCE}/artifacts/proc-1001");
    let mut root = app.get(&path).await.json();
    let root = root.as_object_mut().unwrap();
    for k in ["tenantId", "id", "updatedAt"] {
        root.remove(k);
    }
    root["references"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "artifactId": "rule-900" }));
    assert_eq!(app.put(&path, &json!(root)).await.status, 200);
    let reply = ask().await;
    assert_eq!(reply.json()["totalArtifacts"], 6);
    assert!(
        order(reply)
            .as_array()
            .unwrap()
            .contains(&json!("rule-900"))
    );

    // A status change, then a deletion of that dependency.
    app.set_status(SOURCE, "rule-900", "Draft").await;
    let warnings = ask().await.json()["warnings"].clone();
    assert_eq!(warnings[0]["code"], "ArtifactNotExportable", "{warnings:#}");
    assert_eq!(
        app.delete(&format!(
            "/api/installhub/tenants/{SOURCE}/artifacts/rule-900"
        ))
        .await
        .status,
        200
    );
    let warnings = ask().await.json()["warnings"].clone();
    assert_eq!(warnings[0]["code"], "IncompleteArtifact", "{warnings:#}");
    assert_eq!(warnings[0]["missingReferences"], json!(["rule-900"]));

    // The tenant's status and the caller's access are checked each time.
    let tenant = format!("/api/installhub/tenants/{SOURCE}");
    let mut row = app.get(&tenant).await.json();
    row["status"] = json!("Suspended");
    for k in ["tenantId", "createdAt", "updatedAt"] {
        row.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(app.put(&tenant, &row).await.status, 200, "suspend");
    ask().await.expect_error(400, "InvalidTenantId");
}
