//! Installing from the marketplace (seed 04): the request, the durable job,
//! its stages and status, and a PublicHub that fails or lies.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// Every scope an installer of a Community package needs.
const INSTALLER: &[&str] = &[
    "installhub:import",
    "marketplace:install",
    "marketplace:install:community",
];

fn installer() -> String {
    Token::full().scopes(INSTALLER).mint()
}

/// Exports the seed package and publishes it; answers the listing id.
async fn published(app: &TestApp, version: &str) -> String {
    let mut body = seed_export();
    body["version"] = json!(version);
    let package = app.export(&body).await.json()["packageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let publisher = Token::full()
        .scopes(&["installhub:export", "marketplace:publish"])
        .mint();
    let reply = app
        .post_as(
            &publisher,
            "/api/marketplace/packages",
            &json!({ "sourcePackageId": package, "summary": "Onboarding", "publisher": "Acme HR" }),
        )
        .await;
    assert_eq!(reply.status, 201, "{:#}", reply.json());
    reply.json()["packageId"].as_str().unwrap().to_owned()
}

fn install_body() -> Value {
    json!({
        "targetTenantId": TARGET,
        "defaultConflictStrategy": "Skip",
        "dryRun": false,
        "acknowledgeCommunityPackage": true,
    })
}

async fn request_install(app: &TestApp, token: &str, listing: &str, body: &Value) -> Reply {
    app.post_as(
        token,
        &format!("/api/marketplace/packages/{listing}/install"),
        body,
    )
    .await
}

/// Polls the status until the install ends; answers every status seen.
async fn follow(app: &TestApp, token: &str, status_url: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    for _ in 0..600 {
        let reply = app.get_as(token, status_url).await;
        assert_eq!(reply.status, 200, "{:#}", reply.json());
        let body = reply.json();
        let done = body["status"] != "InProgress";
        if seen.last() != Some(&body) {
            seen.push(body);
        }
        if done {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the install did not end: {seen:#?}");
}

#[tokio::test]
async fn a_community_package_installs_as_the_seed_shows() {
    let app = TestApp::new().await;
    let listing = published(&app, "2.1.0").await;

    // The seed's refusal, word for word.
    let mut body = install_body();
    body.as_object_mut()
        .unwrap()
        .remove("acknowledgeCommunityPackage");
    let reply = request_install(&app, &installer(), &listing, &body).await;
    let refused = reply.expect_error(400, "AcknowledgmentRequired");
    assert_eq!(refused["error"], "AcknowledgmentRequired");
    assert_eq!(
        refused["message"],
        "This is a Community package. Set 'acknowledgeCommunityPackage': true to confirm."
    );

    let reply = request_install(&app, &installer(), &listing, &install_body()).await;
    assert_eq!(reply.status, 202, "{:#}", reply.json());
    let accepted = reply.json();
    let install_id = accepted["installId"].as_str().unwrap();
    assert!(install_id.starts_with("mkt-install-"));
    assert_eq!(accepted["status"], "InProgress");
    assert_eq!(
        accepted["statusUrl"],
        format!("/api/marketplace/installs/{install_id}/status")
    );
    assert!(accepted["estimatedSeconds"].as_u64().unwrap() > 0);
    assert_eq!(accepted.as_object().unwrap().len(), 4, "{accepted:#}");

    let seen = follow(&app, &installer(), accepted["statusUrl"].as_str().unwrap()).await;
    for status in &seen[..seen.len() - 1] {
        assert_eq!(status["status"], "InProgress");
        let stage = status["stage"].as_str().unwrap();
        assert!(
            [
                "Queued",
                "Downloading",
                "Verifying",
                "SecurityScan",
                "Installing"
            ]
            .contains(&stage),
            "{status}"
        );
        assert!(status["progress"].is_string());
    }
    let done = seen.last().unwrap();
    assert_eq!(done["status"], "Success", "{seen:#?}");
    assert_eq!(done["artifactsInstalled"], 5);
    assert_eq!(done["conflictsResolved"], 0);
    assert!(done["completedAt"].is_string());
    let import_id = done["importId"].as_str().unwrap();

    // What the import pipeline recorded, with the marketplace as its source.
    let record = app
        .get(&format!("/api/installhub/imports/{import_id}"))
        .await
        .json();
    assert_eq!(record["status"], "Success");
    assert_eq!(record["source"], "Marketplace");
    assert_eq!(record["installedBy"], "engineer@company.com");
    let artifact = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/proc-1001"
        ))
        .await;
    assert_eq!(artifact.status, 200);
    let shown = app
        .get(&format!("/api/marketplace/packages/{listing}"))
        .await
        .json();
    assert_eq!(shown["installCount"], 1);

    let metrics =
        String::from_utf8(app.send(app.http.get(app.url("/metrics"))).await.body).unwrap();
    assert!(
        metrics
            .contains(r#"installhub_marketplace_installs{status="Success",stage="Installing"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains("installhub_marketplace_install_seconds"),
        "{metrics}"
    );
    let ready = app.send(app.http.get(app.url("/readyz"))).await.json();
    assert_eq!(
        ready["installWorkers"],
        json!({ "workers": 2, "running": 0 })
    );

    // The installing user is told, in the app.
    let notifications = app.get_as(&installer(), "/api/notifications").await.json();
    let notice = &notifications["notifications"][0];
    assert_eq!(notice["kind"], "InstallSucceeded", "{notifications:#}");
    assert_eq!(
        notice["title"],
        format!("Installed Employee Onboarding Suite 2.1.0 into {TARGET}")
    );
    assert!(
        notice["link"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/installhub/imports/{import_id}"))
    );
    assert_eq!(notice["details"]["installId"], install_id);
    assert_eq!(notice["details"]["artifactsInstalled"], 5);
}

#[tokio::test]
async fn permissions_each_alone_and_the_request_checks() {
    let app = TestApp::new().await;
    let listing = published(&app, "2.1.0").await;
    let body = install_body();
    for (missing, code) in [
        ("installhub:import", "InsufficientPermission"),
        ("marketplace:install", "InsufficientPermission"),
        ("marketplace:install:community", "InsufficientPermission"),
    ] {
        let scopes: Vec<&str> = INSTALLER
            .iter()
            .copied()
            .filter(|s| *s != missing)
            .collect();
        let token = Token::full().scopes(&scopes).mint();
        let reply = request_install(&app, &token, &listing, &body).await;
        let refused = reply.expect_error(403, code);
        assert_eq!(refused["requiredPermission"], missing, "{refused:#}");
    }
    // The target must be one of the token's tenants, and exist.
    let other = Token::full().scopes(INSTALLER).tenants(&[SOURCE]).mint();
    request_install(&app, &other, &listing, &body)
        .await
        .expect_error(403, "TenantAccessDenied");
    let mut bad = install_body();
    bad["defaultConflictStrategy"] = json!("Merge");
    request_install(&app, &installer(), &listing, &bad)
        .await
        .expect_error(400, "InvalidConflictStrategy");
    let mut unknown = install_body();
    unknown["version"] = json!("9.9.9");
    request_install(&app, &installer(), &listing, &unknown)
        .await
        .expect_error(404, "VersionNotFound");
    request_install(
        &app,
        &installer(),
        "mkt-pkg-00000000-0000-4000-8000-000000000000",
        &body,
    )
    .await
    .expect_error(404, "PackageNotFound");
    let reply = app
        .send(
            app.http
                .post(app.url(&format!("/api/marketplace/packages/{listing}/install")))
                .json(&body),
        )
        .await;
    reply.expect_error(401, "Unauthenticated");

    // A status is the requester's, or the target tenant's importers'.
    let accepted = request_install(&app, &installer(), &listing, &body)
        .await
        .json();
    let url = accepted["statusUrl"].as_str().unwrap();
    let stranger = Token::full()
        .scopes(&["installhub:import"])
        .tenants(&[SOURCE])
        .sub("someone")
        .set("email", json!("someone@company.com"))
        .mint();
    app.get_as(&stranger, url)
        .await
        .expect_error(404, "InstallNotFound");
    let colleague = Token::full()
        .scopes(&["installhub:import"])
        .sub("colleague")
        .set("email", json!("colleague@company.com"))
        .mint();
    assert_eq!(app.get_as(&colleague, url).await.status, 200);
    app.get("/api/marketplace/installs/mkt-install-nope/status")
        .await
        .expect_error(404, "InstallNotFound");
    follow(&app, &installer(), url).await;
}

#[tokio::test]
async fn a_dry_run_runs_every_stage_and_installs_nothing() {
    let app = TestApp::new().await;
    let listing = published(&app, "2.1.0").await;
    let mut body = install_body();
    body["dryRun"] = json!(true);
    let accepted = request_install(&app, &installer(), &listing, &body)
        .await
        .json();
    let seen = follow(&app, &installer(), accepted["statusUrl"].as_str().unwrap()).await;
    let done = seen.last().unwrap();
    assert_eq!(done["status"], "Success", "{seen:#?}");
    assert_eq!(done["dryRun"], true);
    assert_eq!(done["artifactsInstalled"], 0);
    let planned = done["plannedActions"].as_array().unwrap();
    assert_eq!(planned.len(), 5);
    assert!(
        planned.iter().all(|a| a["action"] == "Create"),
        "{planned:#?}"
    );
    let artifact = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/proc-1001"
        ))
        .await;
    assert_eq!(artifact.status, 404);
    let shown = app
        .get(&format!("/api/marketplace/packages/{listing}"))
        .await
        .json();
    assert_eq!(shown["installCount"], 0);
}

#[tokio::test]
async fn an_idempotency_key_answers_the_same_install() {
    let app = TestApp::new().await;
    let listing = published(&app, "2.1.0").await;
    let url = app.url(&format!("/api/marketplace/packages/{listing}/install"));
    let send = || {
        app.send(
            app.http
                .post(&url)
                .bearer_auth(installer())
                .header("Idempotency-Key", "deploy-42")
                .json(&install_body()),
        )
    };
    let first = send().await.json();
    let second = send().await.json();
    assert_eq!(first["installId"], second["installId"]);
    let seen = follow(&app, &installer(), first["statusUrl"].as_str().unwrap()).await;
    assert_eq!(seen.last().unwrap()["status"], "Success");
    // After it ended, the same key still answers it: nothing runs twice.
    let third = send().await;
    assert_eq!(third.status, 202);
    assert_eq!(third.json()["installId"], first["installId"]);
    assert_eq!(third.json()["status"], "Success");
    // The same key for another request is refused, naming the install it
    // belongs to; nothing new is queued.
    let mut other = install_body();
    other["dryRun"] = json!(true);
    let reused = app
        .send(
            app.http
                .post(&url)
                .bearer_auth(installer())
                .header("Idempotency-Key", "deploy-42")
                .json(&other),
        )
        .await;
    reused.expect_error(409, "IdempotencyKeyReused");
    assert_eq!(reused.json()["installId"], first["installId"]);
    assert_eq!(reused.json()["errors"][0]["field"], "Idempotency-Key");
    // Another caller's key space is their own.
    let other_caller = Token::full()
        .scopes(INSTALLER)
        .sub("user-43")
        .set("email", json!("second@company.com"))
        .mint();
    let theirs = app
        .send(
            app.http
                .post(&url)
                .bearer_auth(other_caller)
                .header("Idempotency-Key", "deploy-42")
                .json(&other),
        )
        .await;
    assert_eq!(theirs.status, 202, "{:?}", theirs.json());
    assert_ne!(theirs.json()["installId"], first["installId"]);
    let too_long = app
        .send(
            app.http
                .post(&url)
                .bearer_auth(installer())
                .header("Idempotency-Key", "k".repeat(300))
                .json(&install_body()),
        )
        .await;
    too_long.expect_error(400, "InvalidRequestBody");
}

#[tokio::test]
async fn a_deprecated_version_still_installs_and_its_users_are_told() {
    let app = TestApp::new().await;
    let listing = published(&app, "2.1.0").await;
    let url = app.url(&format!(
        "/api/marketplace/packages/{listing}/versions/2.1.0/deprecation"
    ));
    let publisher = Token::full()
        .scopes(&["installhub:export", "marketplace:publish"])
        .mint();
    let outsider = Token::full()
        .scopes(&["marketplace:publish"])
        .tenants(&[TARGET])
        .mint();
    let reason = "Use 2.2.0: 2.1.0 skips the budget rule.";
    let deprecate =
        |token: String, body: Value| app.send(app.http.put(&url).bearer_auth(token).json(&body));
    deprecate(outsider, json!({ "reason": "x" }))
        .await
        .expect_error(403, "ListingOwnedElsewhere");
    deprecate(publisher.clone(), json!({ "reason": " " }))
        .await
        .expect_error(400, "InvalidReason");
    let reply = deprecate(publisher.clone(), json!({ "reason": reason })).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(reply.json()["deprecated"]["reason"], reason);
    // A second deprecation keeps the first's reason.
    let again = deprecate(publisher.clone(), json!({ "reason": "other" })).await;
    assert_eq!(again.json()["deprecated"]["reason"], reason);
    let shown = app
        .get(&format!("/api/marketplace/packages/{listing}"))
        .await
        .json();
    assert_eq!(shown["versions"][0]["deprecated"]["reason"], reason);
    // Still the latest, and it installs; the user is told why not to.
    assert_eq!(shown["latestVersion"], "2.1.0", "{shown:#}");
    let accepted = request_install(&app, &installer(), &listing, &install_body())
        .await
        .json();
    let seen = follow(&app, &installer(), accepted["statusUrl"].as_str().unwrap()).await;
    assert_eq!(seen.last().unwrap()["status"], "Success", "{seen:#?}");
    let notifications = app.get_as(&installer(), "/api/notifications").await.json();
    let notice = &notifications["notifications"][0];
    assert_eq!(notice["details"]["deprecation"], reason, "{notice:#}");
    assert!(
        notice["body"]
            .as_str()
            .unwrap()
            .contains(&format!("Version 2.1.0 is deprecated: {reason}"))
    );
    // Audited once in the owner tenant's log, taken back, audited again.
    let audit = format!("/api/installhub/audit?tenantId={SOURCE}&action=marketplace-deprecate");
    assert_eq!(
        app.get(&audit).await.json()["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let undone = app
        .send(app.http.delete(&url).bearer_auth(&publisher))
        .await;
    assert_eq!(undone.status, 200);
    assert!(
        undone.json().get("deprecated").is_none(),
        "{:#}",
        undone.json()
    );
    let entries = app.get(&audit).await.json()["entries"].clone();
    assert_eq!(entries.as_array().unwrap().len(), 2);
    assert_eq!(entries[0]["details"]["deprecated"], false);
    let missing = app
        .send(
            app.http
                .put(app.url(&format!(
                    "/api/marketplace/packages/{listing}/versions/9.9.9/deprecation"
                )))
                .bearer_auth(&publisher)
                .json(&json!({ "reason": reason })),
        )
        .await;
    missing.expect_error(404, "VersionNotFound");
}

#[tokio::test]
async fn yanked_versions_are_not_latest_and_delisted_listings_do_not_install() {
    let app = TestApp::new().await;
    let listing = published(&app, "2.1.0").await;
    // The second version of the same listing.
    let mut export = seed_export();
    export["version"] = json!("2.2.0");
    let package = app.export(&export).await.json()["packageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let publisher = Token::full()
        .scopes(&["installhub:export", "marketplace:publish"])
        .mint();
    app.post_as(
        &publisher,
        "/api/marketplace/packages",
        &json!({ "sourcePackageId": package, "summary": "s", "publisher": "p" }),
    )
    .await;
    let admin = Token::full().scopes(&["marketplace:admin"]).mint();
    let yank = app.url(&format!(
        "/api/marketplace/packages/{listing}/versions/2.2.0/yank"
    ));
    assert_eq!(
        app.send(
            app.http
                .put(&yank)
                .bearer_auth(&admin)
                .json(&json!({ "reason": "broken" }))
        )
        .await
        .status,
        200
    );

    // Omitted: the latest not yanked.
    let accepted = request_install(&app, &installer(), &listing, &install_body())
        .await
        .json();
    follow(&app, &installer(), accepted["statusUrl"].as_str().unwrap()).await;
    let import_id = app
        .get_as(&installer(), accepted["statusUrl"].as_str().unwrap())
        .await
        .json()["importId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/api/installhub/imports/{import_id}"))
            .await
            .json()["version"],
        "2.1.0"
    );
    // Named: the yanked one installs.
    let mut named = install_body();
    named["version"] = json!("2.2.0");
    let accepted = request_install(&app, &installer(), &listing, &named)
        .await
        .json();
    let seen = follow(&app, &installer(), accepted["statusUrl"].as_str().unwrap()).await;
    let import_id = seen.last().unwrap()["importId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.get(&format!("/api/installhub/imports/{import_id}"))
            .await
            .json()["version"],
        "2.2.0"
    );

    let delist = app.url(&format!("/api/marketplace/packages/{listing}/delisting"));
    assert_eq!(
        app.send(
            app.http
                .put(&delist)
                .bearer_auth(&admin)
                .json(&json!({ "reason": "policy" }))
        )
        .await
        .status,
        200
    );
    request_install(&app, &installer(), &listing, &install_body())
        .await
        .expect_error(403, "ListingDelisted");
}

/// How a [`flaky_hub`] lies, beyond answering 503 at first.
#[derive(Clone, Copy, PartialEq)]
enum Lie {
    None,
    /// Flips a byte of every bundle.
    TamperedBytes,
    /// Serves the keys of an impostor instead of the PublicHub's.
    ForeignKeys,
}

/// A PublicHub in front of the real one that misbehaves: answers 503 to
/// the first `fail_first` bundle requests, and lies as `lie` says.
async fn flaky_hub(real: String, fail_first: usize, lie: Lie) -> (String, Arc<AtomicUsize>) {
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let hits = Arc::new(AtomicUsize::new(0));
    #[derive(Clone)]
    struct Hub {
        real: String,
        hits: Arc<AtomicUsize>,
        fail_first: usize,
        lie: Lie,
    }
    async fn bundle(State(hub): State<Hub>, uri: axum::http::Uri) -> axum::response::Response {
        let n = hub.hits.fetch_add(1, Ordering::SeqCst);
        if n < hub.fail_first {
            return (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
        }
        let mut bytes = reqwest::get(format!("{}{}", hub.real, uri.path()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .to_vec();
        if hub.lie == Lie::TamperedBytes {
            let last = bytes.len() - 30;
            bytes[last] ^= 0x01;
        }
        bytes.into_response()
    }
    async fn keys(State(hub): State<Hub>) -> axum::response::Response {
        if hub.lie == Lie::ForeignKeys {
            let dir = tempfile::tempdir().unwrap();
            let impostor = installhub_auth::PublisherKey::load_or_create(dir.path()).unwrap();
            let jwks = installhub_auth::PublisherKeySet::new(vec![impostor.public()])
                .unwrap()
                .to_jwks();
            return axum::Json(jwks).into_response();
        }
        let body = reqwest::get(format!(
            "{}/.well-known/installhub/publichub-keys.json",
            hub.real
        ))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
        ([("content-type", "application/json")], body).into_response()
    }
    let router = axum::Router::new()
        .route("/cdn/bundles/sha256/{file}", axum::routing::get(bundle))
        .route(
            "/.well-known/installhub/publichub-keys.json",
            axum::routing::get(keys),
        )
        .with_state(Hub {
            real,
            hits: Arc::clone(&hits),
            fail_first,
            lie,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, hits)
}

/// The app's own PublicHub URL is its listen address; a second app shares
/// its database through the same data directory's SQLite file only on
/// PostgreSQL, so these tests point one app at a hub in front of itself.
async fn app_behind_hub(fail_first: usize, lie: Lie) -> (TestApp, Arc<AtomicUsize>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let (hub, hits) = flaky_hub(format!("http://{listen}"), fail_first, lie).await;
    let app = TestApp::with_config(|config| {
        config.listen = listen;
        config.publichub.url = Some(hub.clone());
    })
    .await;
    (app, hits)
}

#[tokio::test]
async fn a_publichub_that_answers_503_twice_is_retried() {
    let (app, hits) = app_behind_hub(2, Lie::None).await;
    let listing = published(&app, "2.1.0").await;
    let accepted = request_install(&app, &installer(), &listing, &install_body())
        .await
        .json();
    let seen = follow(&app, &installer(), accepted["statusUrl"].as_str().unwrap()).await;
    assert_eq!(seen.last().unwrap()["status"], "Success", "{seen:#?}");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

/// Installs through a PublicHub that lies as `lie` says: the install
/// fails at `Verifying` with `error` and a message saying `why`; nothing is
/// installed, no import is started, and the user is told, with a link to
/// the install's own record.
async fn fails_at_verifying(lie: Lie, error: &str, why: &str) {
    let (app, _) = app_behind_hub(0, lie).await;
    let listing = published(&app, "2.1.0").await;
    let accepted = request_install(&app, &installer(), &listing, &install_body())
        .await
        .json();
    let status_url = accepted["statusUrl"].as_str().unwrap();
    let seen = follow(&app, &installer(), status_url).await;
    let done = seen.last().unwrap();
    assert_eq!(done["status"], "Failed", "{seen:#?}");
    assert_eq!(done["stage"], "Verifying");
    assert_eq!(done["error"], error);
    assert_eq!(done["rolledBack"], true);
    assert!(done["message"].as_str().unwrap().contains(why), "{done:#}");
    assert!(done.get("importId").is_none(), "{done:#}");
    let notifications = app.get_as(&installer(), "/api/notifications").await.json();
    let notice = &notifications["notifications"][0];
    assert_eq!(notice["kind"], "InstallFailed", "{notifications:#}");
    assert_eq!(notice["details"]["error"], error);
    assert_eq!(notice["details"]["stage"], "Verifying");
    assert!(
        notice["body"]
            .as_str()
            .unwrap()
            .contains("Nothing was installed")
    );
    assert!(
        notice["link"].as_str().unwrap().ends_with(status_url),
        "{notice:#}"
    );
    let artifact = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/proc-1001"
        ))
        .await;
    assert_eq!(artifact.status, 404);
}

#[tokio::test]
async fn tampered_bytes_fail_at_verifying_and_install_nothing() {
    fails_at_verifying(
        Lie::TamperedBytes,
        "ChecksumMismatch",
        "not the published one",
    )
    .await;
}

#[tokio::test]
async fn a_signature_the_publichubs_keys_do_not_vouch_for_fails_at_verifying() {
    fails_at_verifying(
        Lie::ForeignKeys,
        "SignatureInvalid",
        "does not verify against the PublicHub's keys",
    )
    .await;
}

#[tokio::test]
async fn a_package_the_scan_warns_about_fails_at_the_scan_without_the_override() {
    let app = TestApp::new().await;
    app.put_artifact(
        SOURCE,
        "proc-1001",
        json!({
            "type": "ProcessDefinition", "name": "Onboarding", "version": "1.0.0", "status": "Published",
            "definition": { "endpoint": "http://payroll.acme-corp.net/api" }
        }),
    )
    .await;
    let listing = published(&app, "2.1.0").await;
    let accepted = request_install(&app, &installer(), &listing, &install_body())
        .await
        .json();
    let seen = follow(&app, &installer(), accepted["statusUrl"].as_str().unwrap()).await;
    let done = seen.last().unwrap();
    assert_eq!(done["status"], "Failed", "{seen:#?}");
    assert_eq!(done["stage"], "SecurityScan");
    assert_eq!(done["error"], "SecurityScanFailed");
    assert_eq!(done["rolledBack"], true);
    // The import record of the refusal is named, for its audit entry.
    let import_id = done["importId"].as_str().unwrap();
    assert_eq!(
        app.get(&format!("/api/installhub/imports/{import_id}"))
            .await
            .json()["status"],
        "Failed"
    );
    // The failure notification links to exactly that import's audit
    // entries, and the link works as given.
    let notifications = app.get_as(&installer(), "/api/notifications").await.json();
    let notice = &notifications["notifications"][0];
    assert_eq!(notice["details"]["importId"], import_id, "{notice:#}");
    let link = notice["link"].as_str().unwrap();
    let path = &link[link.find("/api/").unwrap()..];
    assert_eq!(
        path,
        format!("/api/installhub/audit?tenantId={TARGET}&subject={import_id}")
    );
    let entries = app.get(path).await.json()["entries"].clone();
    let entries = entries.as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["subject"] == import_id),
        "{entries:#?}"
    );
    assert_eq!(entries[0]["outcome"], "Failure");
}

#[tokio::test]
async fn a_tenant_installs_only_the_trust_levels_it_allows() {
    let app = TestApp::new().await;
    let listing = published(&app, "2.1.0").await;
    let tenant_path = format!("/api/installhub/tenants/{TARGET}");
    let mut tenant = app.get(&tenant_path).await.json();
    tenant.as_object_mut().unwrap().remove("tenantId");
    tenant["allowedTrustLevels"] = json!(["Official", "Verified", "Verified"]);
    let reply = app.put(&tenant_path, &tenant).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(
        reply.json()["allowedTrustLevels"],
        json!(["Official", "Verified"])
    );
    assert_eq!(
        app.get(&tenant_path).await.json()["allowedTrustLevels"],
        json!(["Official", "Verified"])
    );

    let refused = request_install(&app, &installer(), &listing, &install_body())
        .await
        .expect_error(403, "TrustLevelNotAllowed");
    assert_eq!(refused["trustLevel"], "Community");
    assert_eq!(
        refused["allowedTrustLevels"],
        json!(["Official", "Verified"])
    );

    let admin = Token::full().scopes(&["marketplace:admin"]).mint();
    let trust = app.url(&format!("/api/marketplace/packages/{listing}/trust-level"));
    app.send(
        app.http
            .put(&trust)
            .bearer_auth(&admin)
            .json(&json!({ "trustLevel": "Verified" })),
    )
    .await;
    // Verified needs neither the Community permission nor the acknowledgment.
    let token = Token::full()
        .scopes(&["installhub:import", "marketplace:install"])
        .mint();
    let body = json!({ "targetTenantId": TARGET });
    let accepted = request_install(&app, &token, &listing, &body).await;
    assert_eq!(accepted.status, 202, "{:#}", accepted.json());
    let seen = follow(&app, &token, accepted.json()["statusUrl"].as_str().unwrap()).await;
    assert_eq!(seen.last().unwrap()["status"], "Success");

    tenant["allowedTrustLevels"] = json!(["Bogus"]);
    app.put(&tenant_path, &tenant)
        .await
        .expect_error(400, "InvalidTrustLevel");
}
