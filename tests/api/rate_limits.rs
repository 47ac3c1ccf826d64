//! Export rate limits (seed 01): per user and per tenant, 429 with
//! `Retry-After` and `retryAfterSeconds`. Windows are shortened in config.

use std::time::Duration;

use installhub_server::config::RateLimit;
use serde_json::json;

use crate::common::*;

fn with_version(i: usize) -> serde_json::Value {
    let mut request = seed_export();
    request["version"] = json!(format!("1.0.{i}"));
    request
}

#[tokio::test]
async fn per_user_limit_refuses_the_eleventh_export() {
    let app = TestApp::new().await; // defaults: 10 per minute per user
    for i in 0..10 {
        assert_eq!(app.export(&with_version(i)).await.status, 200, "export {i}");
    }
    let reply = app.export(&with_version(10)).await;
    let body = reply.expect_error(429, "RateLimitExceeded");
    let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(body["retryAfterSeconds"], retry_after);
    assert_eq!(body["limit"], 10);

    // Another user of the same tenant is not affected.
    let other = Token::full().sub("user-77").mint();
    assert_eq!(
        app.post_as(&other, "/api/installhub/packages/export", &with_version(11))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn per_tenant_limit_counts_all_users_and_resets() {
    let app = TestApp::with_config(|c| {
        c.limits.exports_per_tenant = RateLimit {
            max: 3,
            window: Duration::from_secs(2),
        };
    })
    .await;
    for i in 0..3 {
        let token = Token::full().sub(&format!("user-{i}")).mint();
        let reply = app
            .post_as(&token, "/api/installhub/packages/export", &with_version(i))
            .await;
        assert_eq!(reply.status, 200);
    }
    let token = Token::full().sub("user-9").mint();
    let reply = app
        .post_as(&token, "/api/installhub/packages/export", &with_version(3))
        .await;
    reply.expect_error(429, "RateLimitExceeded");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = app
        .post_as(&token, "/api/installhub/packages/export", &with_version(4))
        .await;
    assert_eq!(reply.status, 200, "the window has passed");
}

#[tokio::test]
async fn invalid_requests_count_and_outsiders_cannot_spend_a_tenants_budget() {
    let app = TestApp::with_config(|c| {
        c.limits.exports_per_user = RateLimit {
            max: 2,
            window: Duration::from_secs(60),
        };
        c.limits.exports_per_tenant = RateLimit {
            max: 2,
            window: Duration::from_secs(60),
        };
    })
    .await;
    // An outsider's requests naming the tenant count only against the outsider.
    let outsider = Token::full().tenants(&[TARGET]).sub("outsider").mint();
    for _ in 0..2 {
        app.post_as(&outsider, "/api/installhub/packages/export", &seed_export())
            .await
            .expect_error(403, "TenantAccessDenied");
    }
    app.post_as(&outsider, "/api/installhub/packages/export", &seed_export())
        .await
        .expect_error(429, "RateLimitExceeded");
    // The tenant's budget is intact; malformed requests still count per user.
    let raw = app
        .send(
            app.http
                .post(app.url("/api/installhub/packages/export"))
                .bearer_auth(&app.token)
                .header("Content-Type", "application/json")
                .body("{oops"),
        )
        .await;
    raw.expect_error(400, "InvalidRequestBody");
    assert_eq!(app.export(&with_version(1)).await.status, 200);
    app.export(&with_version(2))
        .await
        .expect_error(429, "RateLimitExceeded");
}
