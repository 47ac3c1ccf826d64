//! The host platform API (SPEC §4): tenants and artifacts.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn tenants_are_created_updated_and_validated() {
    let app = TestApp::new().await;
    let path = "/api/installhub/tenants/tenant-new-1";
    let body = json!({ "name": "New", "plan": "Standard", "status": "Active", "defaultConflictStrategy": "Skip" });
    // Creating a tenant takes a token that names it, or "*".
    let admin = Token::full().tenants(&["*"]).mint();
    let put = |body: &serde_json::Value| {
        app.send(app.http.put(app.url(path)).bearer_auth(&admin).json(body))
    };
    let created = put(&body).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.json()["defaultConflictStrategy"], "Skip");
    assert_eq!(put(&body).await.status, 200);

    let admin_less = Token::full()
        .scopes(&["installhub:export"])
        .tenants(&["*"])
        .mint();
    let reply = app
        .send(
            app.http
                .put(app.url(path))
                .bearer_auth(&admin_less)
                .json(&body),
        )
        .await;
    reply.expect_error(403, "InsufficientPermission");

    let bad = put(&json!({ "name": "", "plan": "Gold", "status": "Paused", "defaultConflictStrategy": "Merge" }))
        .await;
    let failure = bad.expect_error(400, "InvalidPlan");
    assert_eq!(
        error_codes(&failure),
        vec![
            "InvalidTenantName",
            "InvalidPlan",
            "InvalidTenantStatus",
            "InvalidConflictStrategy"
        ]
    );

    let reply = app.put("/api/installhub/tenants/Bad_Id", &body).await;
    reply.expect_error(400, "InvalidTenantId");

    let token = Token::full().tenants(&["*"]).mint();
    let reply = app
        .get_as(&token, "/api/installhub/tenants/tenant-missing")
        .await;
    reply.expect_error(404, "TenantNotFound");
}

#[tokio::test]
async fn artifacts_round_trip_list_and_delete() {
    let app = TestApp::new().await;
    let path = format!("/api/installhub/tenants/{TARGET}/artifacts/app-9");
    let body = json!({
        "type": "AppDefinition", "name": "Expenses", "version": "1.2.0-rc.1", "status": "Published",
        "definition": { "screens": [{ "name": "home" }] },
        "references": [{ "artifactId": "form-1" }, { "artifactId": "x-2", "tenantId": SOURCE }],
        "libraries": [{ "ecosystem": "npm", "name": "lodash", "version": "4.17.21" }]
    });
    let created = app.put(&path, &body).await;
    assert_eq!(created.status, 201, "{:#}", created.json());
    let got = app.get(&path).await.json();
    assert_eq!(got["definition"], body["definition"]);
    assert_eq!(got["references"], body["references"]);
    assert_eq!(got["libraries"], body["libraries"]);
    assert_eq!(got["type"], "AppDefinition");
    assert_eq!(got["version"], "1.2.0-rc.1");

    for i in 0..5 {
        app.artifact(TARGET, &format!("page-{i}"), "RuleSet", &[])
            .await;
    }
    let first = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts?limit=4"
        ))
        .await
        .json();
    let ids: Vec<&str> = first["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["app-9", "page-0", "page-1", "page-2"]);
    assert_eq!(first["nextAfter"], "page-2");
    let second = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts?limit=4&after=page-2"
        ))
        .await
        .json();
    assert_eq!(second["artifacts"].as_array().unwrap().len(), 2);
    assert!(second.get("nextAfter").is_none());
    app.get(&format!(
        "/api/installhub/tenants/{TARGET}/artifacts?limit=0"
    ))
    .await
    .expect_error(400, "InvalidRequestBody");

    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json()["status"], "Deleted");
    app.delete(&format!(
        "/api/installhub/tenants/{TARGET}/artifacts/none-1"
    ))
    .await
    .expect_error(404, "ArtifactNotFound");
    app.get(&format!(
        "/api/installhub/tenants/{TARGET}/artifacts/none-1"
    ))
    .await
    .expect_error(404, "ArtifactNotFound");
}

#[tokio::test]
async fn artifact_bodies_are_validated_all_at_once() {
    let app = TestApp::new().await;
    let reply = app
        .put(
            &format!("/api/installhub/tenants/{TARGET}/artifacts/a-1"),
            &json!({ "type": "Workflow", "name": "", "version": "v1", "status": "Live",
                     "references": [{ "artifactId": "../x" }],
                     "libraries": [{ "ecosystem": "cargo", "name": "serde", "version": "1" }] }),
        )
        .await;
    let body = reply.expect_error(400, "InvalidArtifactType");
    assert_eq!(
        error_codes(&body),
        vec![
            "InvalidArtifactType",
            "InvalidArtifactName",
            "InvalidVersion",
            "InvalidArtifactStatus",
            "InvalidRequestBody",
            "InvalidReference",
            "InvalidLibrary"
        ]
    );

    let writer_less = Token::full().scopes(&["installhub:export"]).mint();
    let reply = app
        .send(
            app.http
                .put(app.url(&format!("/api/installhub/tenants/{TARGET}/artifacts/a-1")))
                .bearer_auth(&writer_less)
                .json(&json!({ "type": "RuleSet", "name": "x", "version": "1.0.0", "status": "Draft", "definition": {} })),
        )
        .await;
    reply.expect_error(403, "InsufficientPermission");

    let token = Token::full().tenants(&["*"]).mint();
    let reply = app
        .send(
            app.http
                .put(app.url("/api/installhub/tenants/tenant-ghost/artifacts/a-1"))
                .bearer_auth(&token)
                .json(&json!({ "type": "RuleSet", "name": "x", "version": "1.0.0", "status": "Draft", "definition": {} })),
        )
        .await;
    reply.expect_error(404, "TenantNotFound");
}
