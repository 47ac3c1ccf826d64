//! Export rate limits (seed 01): per user and per tenant, 429 with
//! `Retry-After` and `retryAfterSeconds`; only exports that create a
//! package count. Windows are shortened in config.

use std::time::Duration;

use installhub_server::config::RateLimit;
use serde_json::json;

use crate::common::*;

fn with_version(i: usize) -> serde_json::Value {
    let mut request = seed_export();
    request["version"] = json!(format!("1.0.{i}"));
    request
}

/// A server whose user and tenant may each create two packages a minute.
async fn app_allowing_two_a_minute() -> TestApp {
    TestApp::with_config(|c| {
        let two = RateLimit {
            max: 2,
            window: Duration::from_secs(60),
        };
        c.limits.exports_per_user = two;
        c.limits.exports_per_tenant = two;
    })
    .await
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
async fn outsiders_cannot_spend_a_tenants_budget() {
    let app = app_allowing_two_a_minute().await;
    // An outsider's requests naming the tenant are refused and spend
    // nothing, not even the outsider's own allowance.
    let outsider = Token::full().tenants(&[TARGET]).sub("outsider").mint();
    for _ in 0..3 {
        app.post_as(&outsider, "/api/installhub/packages/export", &seed_export())
            .await
            .expect_error(403, "TenantAccessDenied");
    }
    // The tenant's budget is intact.
    assert_eq!(app.export(&with_version(1)).await.status, 200);
    assert_eq!(app.export(&with_version(2)).await.status, 200);
    app.export(&with_version(3))
        .await
        .expect_error(429, "RateLimitExceeded");
}

/// Twenty exports at once by one user (distinct versions, so none conflicts):
/// writers wait their turn instead of failing, exactly the allowance is
/// created and every other request is a 429 with `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_exports_create_exactly_the_allowance() {
    let app = TestApp::new().await; // defaults: 10 per minute per user
    let requests: Vec<_> = (0..20).map(with_version).collect();
    let replies = futures::future::join_all(requests.iter().map(|r| app.export(r))).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.expect_error(429, "RateLimitExceeded");
        let retry_after: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
    }
    for reply in replies.iter().filter(|r| r.status == 200) {
        let id = reply.json()["packageId"].as_str().unwrap().to_owned();
        let got = app.get(&format!("/api/installhub/packages/{id}")).await;
        assert_eq!(got.status, 200, "package {id}");
    }
}

/// Exports that create no package (an invalid body, a version that exists
/// already, a 429 itself) leave the allowance untouched, per user and per
/// tenant.
#[tokio::test]
async fn refused_exports_do_not_use_up_the_allowance() {
    let app = app_allowing_two_a_minute().await;
    assert_eq!(app.export(&with_version(0)).await.status, 200);
    for _ in 0..5 {
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
        app.export(&with_version(0))
            .await
            .expect_error(409, "VersionConflict");
    }
    assert_eq!(app.export(&with_version(1)).await.status, 200);
    // The allowance is now used up; refusals do not push the window on.
    for _ in 0..3 {
        app.export(&with_version(2))
            .await
            .expect_error(429, "RateLimitExceeded");
    }
}
