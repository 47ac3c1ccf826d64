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
