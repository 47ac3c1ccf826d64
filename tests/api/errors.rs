//! Bad input on every kind of route gets the JSON envelope, never a
//! framework's plain-text answer and never a 500.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn malformed_bodies() {
    let app = TestApp::new().await;
    let export = app.url("/api/installhub/packages/export");
    let raw = |body: &'static str| {
        app.http
            .post(&export)
            .bearer_auth(&app.token)
            .header("Content-Type", "application/json")
            .body(body)
    };
    app.send(raw("{not json"))
        .await
        .expect_error(400, "InvalidRequestBody");
    app.send(raw(""))
        .await
        .expect_error(400, "InvalidRequestBody");
    app.send(raw("[1,2]"))
        .await
        .expect_error(400, "InvalidRequestBody");

    let body = app
        .export(&json!({ "tenantId": SOURCE, "version": 5, "artifactIds": ["proc-1001"] }))
        .await
        .expect_error(400, "InvalidRequestBody");
    assert_eq!(body["errors"][0]["field"], "version");

    let body = app
        .export(&json!({ "tenantId": SOURCE, "artifactIds": ["proc-1001"], "surprise": true }))
        .await
        .expect_error(400, "InvalidRequestBody");
    assert!(
        body["message"].as_str().unwrap().contains("surprise"),
        "{body:#}"
    );

    let wrong_type = app
        .send(
            app.http
                .post(&export)
                .bearer_auth(&app.token)
                .header("Content-Type", "text/plain")
                .body("{}"),
        )
        .await;
    wrong_type.expect_error(415, "UnsupportedMediaType");

    let deep = "[".repeat(10_000);
    app.send(
        app.http
            .post(app.url("/api/installhub/packages/preview"))
            .bearer_auth(&app.token)
            .header("Content-Type", "application/json")
            .body(deep),
    )
    .await
    .expect_error(400, "InvalidRequestBody");
}

#[tokio::test]
async fn oversized_bodies_are_413_json() {
    let app = TestApp::with_config(|c| c.limits.json_body_bytes = 64 * 1024).await;
    let big =
        json!({ "tenantId": SOURCE, "artifactIds": ["a"], "description": "x".repeat(100_000) });
    app.export(&big).await.expect_error(413, "PayloadTooLarge");
    let reply = app
        .put(
            &format!("/api/installhub/tenants/{SOURCE}/artifacts/big-1"),
            &json!({ "type": "RuleSet", "name": "x", "version": "1.0.0", "status": "Draft",
                     "definition": { "blob": "y".repeat(100_000) } }),
        )
        .await;
    reply.expect_error(413, "PayloadTooLarge");
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = TestApp::new().await;
    let reply = app.get("/api/installhub/nothing-here").await;
    let body = reply.expect_error(404, "NotFound");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("/api/installhub/nothing-here")
    );

    let reply = app
        .send(
            app.http
                .delete(app.url("/api/installhub/packages/export"))
                .bearer_auth(&app.token),
        )
        .await;
    reply.expect_error(405, "MethodNotAllowed");
}

#[tokio::test]
async fn every_error_response_carries_a_request_id() {
    let app = TestApp::new().await;
    let reply = app.get("/api/installhub/packages/not-a-package").await;
    assert!(
        reply
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 32)
    );
}
