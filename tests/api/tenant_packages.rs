//! `GET /api/installhub/tenants/{tenantId}/packages`: a tenant's exported
//! packages, newest first, filtered by name and paged.

use serde_json::{Value, json};

use crate::common::{SOURCE, TARGET, TestApp, Token};

const LIST: &str = "/api/installhub/tenants/tenant-7f3a9b12/packages";

/// Exports proc-1001 as `name` `version`; returns the package's answer.
async fn export(app: &TestApp, name: &str, version: &str) -> Value {
    let reply = app
        .export(&json!({
            "tenantId": SOURCE, "packageName": name, "packageType": "workflow-package",
            "version": version, "artifactIds": ["proc-1001"]
        }))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    reply.json()
}

fn ids(page: &Value) -> Vec<String> {
    page["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["packageId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn lists_newest_first_each_as_the_package_route_shows_it() {
    let app = TestApp::new().await;
    let empty = app.get(LIST).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json(), json!({"packages": []}));

    let mut exported = Vec::new();
    for version in ["1.0.0", "1.1.0", "2.0.0"] {
        exported.push(export(&app, "Employee Onboarding Suite", version).await);
    }
    let page = app.get(LIST).await;
    assert_eq!(page.status, 200);
    let page = page.json();
    assert!(page.get("nextBefore").is_none(), "{page:#}");
    let listed = page["packages"].as_array().unwrap();
    assert_eq!(listed.len(), 3);
    // Newest export first; exports in the same second by package id,
    // descending. Each entry is the package route's answer.
    let mut expected = Vec::new();
    for package in &exported {
        let id = package["packageId"].as_str().unwrap();
        let one = app.get(&format!("/api/installhub/packages/{id}")).await;
        assert_eq!(one.status, 200);
        expected.push(one.json());
    }
    let key = |p: &Value| {
        (
            p["exportedAt"].as_str().unwrap().to_owned(),
            p["packageId"].as_str().unwrap().to_owned(),
        )
    };
    expected.sort_by_key(|p| std::cmp::Reverse(key(p)));
    assert_eq!(listed, &expected);
}

#[tokio::test]
async fn filters_by_a_name_prefix_without_case() {
    let app = TestApp::new().await;
    let onboarding = export(&app, "Employee Onboarding Suite", "1.0.0").await;
    let leave = export(&app, "Leave Requests", "1.0.0").await;
    for (name, expected) in [
        ("employee onboarding", vec![&onboarding]),
        ("EMPLOYEE ONBOARDING SUITE", vec![&onboarding]),
        ("leave", vec![&leave]),
        ("Onboarding", vec![]),
        ("%", vec![]),
        ("employee\u{0}", vec![]),
        ("employee_", vec![]),
    ] {
        let reply = app
            .send(
                app.http
                    .get(app.url(LIST))
                    .query(&[("name", name)])
                    .bearer_auth(&app.token),
            )
            .await;
        assert_eq!(reply.status, 200, "{name}");
        let expected: Vec<String> = expected
            .iter()
            .map(|p| p["packageId"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids(&reply.json()), expected, "{name}");
    }
    app.get(&format!("{LIST}?name="))
        .await
        .expect_error(400, "InvalidRequestBody");
    let long = "a".repeat(101);
    let body = app
        .get(&format!("{LIST}?name={long}"))
        .await
        .expect_error(400, "InvalidRequestBody");
    assert_eq!(body["errors"][0]["field"], "name", "{body:#}");
}

#[tokio::test]
async fn pages_with_before_until_the_last() {
    let app = TestApp::new().await;
    for version in ["1.0.0", "1.1.0", "1.2.0"] {
        export(&app, "Employee Onboarding Suite", version).await;
    }
    let all = ids(&app.get(LIST).await.json());
    let first = app.get(&format!("{LIST}?limit=2")).await.json();
    assert_eq!(ids(&first), all[..2]);
    assert_eq!(first["nextBefore"], all[1].as_str());
    let second = app
        .get(&format!("{LIST}?limit=2&before={}", all[1]))
        .await
        .json();
    assert_eq!(ids(&second), all[2..]);
    assert!(second.get("nextBefore").is_none(), "{second:#}");

    app.get(&format!("{LIST}?limit=0"))
        .await
        .expect_error(400, "InvalidRequestBody");
    app.get(&format!("{LIST}?limit=201"))
        .await
        .expect_error(400, "InvalidRequestBody");
    let body = app
        .get(&format!("{LIST}?before=imp-1"))
        .await
        .expect_error(400, "InvalidRequestBody");
    assert_eq!(body["errors"][0]["field"], "before", "{body:#}");
    app.get(&format!("{LIST}?colour=red"))
        .await
        .expect_error(400, "InvalidRequestBody");
}

#[tokio::test]
async fn needs_export_and_the_tenant() {
    let app = TestApp::new().await;
    export(&app, "Employee Onboarding Suite", "1.0.0").await;
    let importer = Token::full().scopes(&["installhub:import"]).mint();
    app.get_as(&importer, LIST)
        .await
        .expect_error(403, "InsufficientPermission");
    let target_only = Token::full().tenants(&[TARGET]).mint();
    app.get_as(&target_only, LIST)
        .await
        .expect_error(403, "TenantAccessDenied");
    // The target tenant has exported nothing: its own list is empty.
    let reply = app
        .get(&format!("/api/installhub/tenants/{TARGET}/packages"))
        .await;
    assert_eq!(reply.json(), json!({"packages": []}));
    let everywhere = Token::full().tenants(&["*"]).mint();
    app.get_as(
        &everywhere,
        "/api/installhub/tenants/tenant-nowhere/packages",
    )
    .await
    .expect_error(404, "TenantNotFound");
    let reply = app.send(app.http.get(app.url(LIST))).await;
    assert_eq!(reply.status, 401);
}
