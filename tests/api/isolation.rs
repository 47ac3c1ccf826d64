//! Tenant isolation on every route (SECURITY.md 20): a valid token for
//! tenant B gets 403 on tenant A's routes, and 404 (not 403) for A's
//! packages, so it cannot learn whether they exist.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_token_for_another_tenant_gets_nothing() {
    let app = TestApp::new().await;
    let package = app.export(&seed_export()).await.json();
    let package_id = package["packageId"].as_str().unwrap();
    let outsider = Token::full().tenants(&[TARGET]).mint();
    let artifact = format!("/api/installhub/tenants/{SOURCE}/artifacts/proc-1001");
    let missing_artifact = format!("/api/installhub/tenants/{SOURCE}/artifacts/nope-1");

    let cases = [
        (
            "GET",
            format!("/api/installhub/tenants/{SOURCE}"),
            None,
            403,
        ),
        (
            "GET",
            format!("/api/installhub/tenants/{SOURCE}/artifacts"),
            None,
            403,
        ),
        ("GET", artifact.clone(), None, 403),
        ("GET", missing_artifact.clone(), None, 403),
        (
            "PUT",
            artifact.clone(),
            Some(
                json!({ "type": "RuleSet", "name": "x", "version": "1.0.0", "status": "Draft", "definition": {} }),
            ),
            403,
        ),
        ("DELETE", artifact.clone(), None, 403),
        ("DELETE", missing_artifact, None, 403),
        (
            "POST",
            "/api/installhub/packages/preview".into(),
            Some(json!({ "tenantId": SOURCE, "artifactIds": ["proc-1001"] })),
            403,
        ),
        (
            "POST",
            "/api/installhub/packages/export".into(),
            Some(seed_export()),
            403,
        ),
        (
            "GET",
            format!("/api/installhub/packages/{package_id}"),
            None,
            404,
        ),
        (
            "GET",
            format!("/api/installhub/packages/{package_id}/download"),
            None,
            404,
        ),
    ];
    for (method, path, body, status) in cases {
        let mut request = app
            .http
            .request(method.parse().unwrap(), app.url(&path))
            .bearer_auth(&outsider);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = app.send(request).await;
        let code = if status == 403 {
            "TenantAccessDenied"
        } else {
            "PackageNotFound"
        };
        reply.expect_error(status, code);
    }

    // The 404 for a foreign package is the same as for one that never existed.
    let foreign = app
        .get_as(&outsider, &format!("/api/installhub/packages/{package_id}"))
        .await
        .json();
    let never = app
        .get_as(
            &outsider,
            "/api/installhub/packages/pkg-00000000-0000-4000-8000-000000000000",
        )
        .await
        .json();
    assert_eq!(
        foreign["message"]
            .as_str()
            .unwrap()
            .replace(package_id, "X"),
        never["message"]
            .as_str()
            .unwrap()
            .replace("pkg-00000000-0000-4000-8000-000000000000", "X")
    );

    // The owner still sees everything.
    assert_eq!(
        app.get(&format!("/api/installhub/packages/{package_id}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn the_star_claim_reaches_every_tenant() {
    let app = TestApp::new().await;
    let everyone = Token::full().tenants(&["*"]).mint();
    assert_eq!(
        app.get_as(&everyone, &format!("/api/installhub/tenants/{SOURCE}"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.get_as(&everyone, &format!("/api/installhub/tenants/{TARGET}"))
            .await
            .status,
        200
    );
}
