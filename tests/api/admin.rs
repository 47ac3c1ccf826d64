//! Administration (SECURITY.md 34): `installhub:admin` acts only on the
//! tenants of its token (`"*"`: every tenant), and every write to tenants
//! and artifacts is in the audit log.

use serde_json::{Value, json};

use crate::common::*;

const SUSPEND: &str = r#"{ "name": "Taken over", "plan": "Enterprise", "status": "Suspended" }"#;

async fn put_as(app: &TestApp, token: &str, path: &str, body: &Value) -> Reply {
    app.send(app.http.put(app.url(path)).bearer_auth(token).json(body))
        .await
}

/// The tenant's `action` entries written through the API (the demo data
/// the harness seeds is written, and audited, as `installhub-demo`).
async fn audit(app: &TestApp, tenant: &str, action: &str) -> Vec<Value> {
    let reply = app
        .get(&format!(
            "/api/installhub/audit?tenantId={tenant}&action={action}"
        ))
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    reply.json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] != "installhub-demo")
        .cloned()
        .collect()
}

#[tokio::test]
async fn an_admin_of_one_tenant_cannot_touch_another() {
    let app = TestApp::new().await;
    let admin_of_target = Token::full()
        .tenants(&[TARGET])
        .scopes(&["installhub:admin", "installhub:artifacts:write"])
        .mint();
    let suspend: Value = serde_json::from_str(SUSPEND).unwrap();
    let source = format!("/api/installhub/tenants/{SOURCE}");
    let before = app.get(&source).await.json();

    // Another tenant: refused as every route refuses a tenant the token lacks.
    let reply = put_as(&app, &admin_of_target, &source, &suspend).await;
    let body = reply.expect_error(403, "TenantAccessDenied");
    assert_eq!(body["tenantId"], SOURCE, "{body:#}");
    assert_eq!(app.get(&source).await.json(), before);

    // A tenant that does not exist yet cannot be created either.
    let new = "/api/installhub/tenants/tenant-new-2";
    put_as(&app, &admin_of_target, new, &suspend)
        .await
        .expect_error(403, "TenantAccessDenied");
    let everything = Token::full().tenants(&["*"]).mint();
    app.get_as(&everything, new)
        .await
        .expect_error(404, "TenantNotFound");

    // Nor do the scopes together reach another tenant's artifacts.
    let artifact = format!("{source}/artifacts/proc-1001");
    let artifact_before = app.get(&artifact).await.json();
    let reply = app
        .send(
            app.http
                .delete(app.url(&artifact))
                .bearer_auth(&admin_of_target),
        )
        .await;
    reply.expect_error(403, "TenantAccessDenied");
    assert_eq!(app.get(&artifact).await.json(), artifact_before);

    // Refusals change nothing, so they leave nothing in the victim's log.
    assert!(audit(&app, SOURCE, "tenant-put").await.is_empty());
    assert!(audit(&app, SOURCE, "artifact-delete").await.is_empty());

    // Its own tenant it administers; `"*"` administers any, new ones too.
    let own = format!("/api/installhub/tenants/{TARGET}");
    let reply = put_as(
        &app,
        &admin_of_target,
        &own,
        &json!({ "name": "Renamed", "plan": "Standard", "status": "Active" }),
    )
    .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let reply = put_as(&app, &everything, new, &suspend).await;
    assert_eq!(reply.status, 201, "{:#}", reply.json());
}

#[tokio::test]
async fn tenant_and_artifact_writes_are_audited() {
    let app = TestApp::new().await;
    let own = format!("/api/installhub/tenants/{TARGET}");
    let reply = app
        .put(
            &own,
            &json!({ "name": "Renamed", "plan": "Standard", "status": "Suspended" }),
        )
        .await;
    assert_eq!(reply.status, 200);
    let entries = audit(&app, TARGET, "tenant-put").await;
    assert_eq!(entries.len(), 1, "{entries:#?}");
    let entry = &entries[0];
    assert_eq!(entry["tenantId"], TARGET);
    assert_eq!(entry["actor"], "engineer@company.com");
    assert_eq!(entry["action"], "tenant-put");
    assert_eq!(entry["subject"], TARGET);
    assert_eq!(entry["outcome"], "Success");
    assert_eq!(
        entry["details"],
        json!({ "created": false, "name": "Renamed", "plan": "Standard", "status": "Suspended", "defaultConflictStrategy": null })
    );

    let path = format!("/api/installhub/tenants/{SOURCE}/artifacts/rule-9");
    let artifact = json!({ "type": "RuleSet", "name": "Nine", "version": "1.0.0", "status": "Published", "definition": {}, "references": [] });
    assert_eq!(app.put(&path, &artifact).await.status, 201);
    assert_eq!(app.put(&path, &artifact).await.status, 200);
    assert_eq!(app.delete(&path).await.status, 200);
    let puts = audit(&app, SOURCE, "artifact-put").await;
    let created: Vec<&Value> = puts.iter().map(|e| &e["details"]["created"]).collect();
    assert_eq!(
        created,
        [&json!(false), &json!(true)],
        "newest first: {puts:#?}"
    );
    assert_eq!(puts[0]["subject"], "rule-9");
    assert_eq!(
        puts[0]["details"],
        json!({ "created": false, "type": "RuleSet", "name": "Nine", "version": "1.0.0", "status": "Published" })
    );
    let deletes = audit(&app, SOURCE, "artifact-delete").await;
    assert_eq!(deletes.len(), 1, "{deletes:#?}");
    assert_eq!(deletes[0]["subject"], "rule-9");
    assert_eq!(deletes[0]["actor"], "engineer@company.com");
    assert_eq!(deletes[0]["outcome"], "Success");

    // A write that changes nothing (an artifact that does not exist) leaves
    // no entry.
    app.delete(&format!(
        "/api/installhub/tenants/{SOURCE}/artifacts/nope-1"
    ))
    .await
    .expect_error(404, "ArtifactNotFound");
    assert_eq!(audit(&app, SOURCE, "artifact-delete").await.len(), 1);
}
