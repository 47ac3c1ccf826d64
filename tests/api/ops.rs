//! Health, readiness, metrics and the OpenAPI document.

use crate::common::*;

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let reply = app.send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["status"], "ok");
    let reply = app.send(app.http.get(app.url("/readyz"))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["database"], "ok");
    assert_eq!(reply.json()["bundleStore"], "ok");
    // Without a synced index or a refresh: the shipped snapshot, no refresh.
    let advisories = &reply.json()["advisories"];
    assert_eq!(advisories["snapshot"]["source"], "embedded");
    assert_eq!(advisories["snapshot"]["advisoryCount"], 6);
    assert!(advisories.get("lastRefresh").is_none(), "{advisories:#}");
    // No --smtp-url: no outbox to report.
    assert!(reply.json().get("emailsPending").is_none());
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_exports() {
    let app = TestApp::new().await;
    app.export(&seed_export()).await;
    app.get("/api/installhub/packages/not-a-package").await;
    let text = String::from_utf8(app.send(app.http.get(app.url("/metrics"))).await.body).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains(r#"route="/api/installhub/packages/export""#)
            && l.contains(r#"status="200""#)),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("http_requests_total")
            && l.contains(r#"route="/api/installhub/packages/{packageId}""#)
            && l.contains(r#"status="400""#)),
        "{text}"
    );
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.lines().any(
            |l| l.starts_with("installhub_exports_total") && l.contains(r#"outcome="success""#)
        )
    );
}

#[tokio::test]
async fn openapi_document_is_generated_and_complete() {
    let app = TestApp::new().await;
    let reply = app.send(app.http.get(app.url("/api/openapi.json"))).await;
    assert_eq!(reply.status, 200);
    let doc = reply.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/installhub/packages/export",
        "/api/installhub/packages/preview",
        "/api/installhub/packages/{packageId}",
        "/api/installhub/packages/{packageId}/download",
        "/api/installhub/tenants/{tenantId}",
        "/api/installhub/tenants/{tenantId}/artifacts",
        "/api/installhub/tenants/{tenantId}/artifacts/{artifactId}",
        "/api/installhub/packages/import",
        "/api/installhub/packages/scan",
        "/api/installhub/imports/{importId}",
        "/api/installhub/tenants/{tenantId}/imports",
        "/api/installhub/tenants/{tenantId}/installed-packages",
        "/api/installhub/audit",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "missing {path}");
    }
    insta::assert_json_snapshot!("openapi", doc);
}
