//! The console's marketplace and notifications over plain HTTP: search and
//! listing pages (escaped), the install form (CSRF, the Community
//! acknowledgment), the install page and its event stream (another
//! tenant's install refused, the stream ends at a terminal status), and
//! marking a notification read.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::IntoResponse;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::common::{SOURCE, TARGET, TestApp, Token, seed_export};
use crate::page::{Page, client, get, post, send, sign_in};

/// What the script-named publisher and summary are called.
pub const SCRIPT: &str = "<script>alert(1)</script>";
/// The same, as the console's templates escape it.
const ESCAPED: &str = "&#60;script&#62;alert(1)&#60;/script&#62;";

/// Every scope a Community install needs, with the usual ones.
pub fn installer_token() -> Token {
    Token::full().scopes(&[
        "installhub:admin",
        "installhub:artifacts:write",
        "installhub:export",
        "installhub:import",
        "marketplace:install",
        "marketplace:install:community",
    ])
}

/// Exports the seed package as `version` and publishes it (a Community
/// listing, as every new one is) with `summary` and `publisher`; answers
/// the listing id.
pub async fn publish(app: &TestApp, version: &str, summary: &str, publisher: &str) -> String {
    publish_named(
        app,
        "Employee Onboarding Suite",
        version,
        summary,
        publisher,
    )
    .await
}

/// [`publish`] under the package name `name`.
async fn publish_named(
    app: &TestApp,
    name: &str,
    version: &str,
    summary: &str,
    publisher: &str,
) -> String {
    let mut body = seed_export();
    body["version"] = json!(version);
    body["packageName"] = json!(name);
    // One exporter per package name: exports are rate limited per user.
    let exporter = Token::full().sub(&name.replace(' ', "-")).mint();
    let exported = app
        .post_as(&exporter, "/api/installhub/packages/export", &body)
        .await;
    assert!(exported.status < 300, "{:#}", exported.json());
    let package = exported.json()["packageId"].as_str().unwrap().to_owned();
    let token = Token::full()
        .scopes(&["installhub:export", "marketplace:publish"])
        .mint();
    let reply = app
        .post_as(
            &token,
            "/api/marketplace/packages",
            &json!({
                "sourcePackageId": package,
                "summary": summary,
                "publisher": publisher,
                "categories": ["hr"],
            }),
        )
        .await;
    assert_eq!(reply.status, 201, "{:#}", reply.json());
    reply.json()["packageId"].as_str().unwrap().to_owned()
}

#[derive(Clone)]
struct Hub {
    real: String,
    /// Bundle downloads wait for a permit.
    gate: Arc<Semaphore>,
    /// Flip a byte of every bundle (the install then fails at Verifying).
    tamper: bool,
}

async fn bundle(State(hub): State<Hub>, uri: Uri) -> axum::response::Response {
    let _permit = hub.gate.acquire().await.unwrap();
    let mut bytes = reqwest::get(format!("{}{}", hub.real, uri.path()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    if hub.tamper {
        let last = bytes.len() - 30;
        bytes[last] ^= 0x01;
    }
    bytes.into_response()
}

async fn keys(State(hub): State<Hub>) -> axum::response::Response {
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

/// An app whose installs download through a gated PublicHub in front of
/// it; the semaphore lets downloads through.
pub async fn app_behind_gate() -> (TestApp, Arc<Semaphore>) {
    app_behind_hub(false).await
}

/// An app behind a gated PublicHub that flips a byte of every bundle when
/// `tamper`.
async fn app_behind_hub(tamper: bool) -> (TestApp, Arc<Semaphore>) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let gate = Arc::new(Semaphore::new(0));
    let router = axum::Router::new()
        .route("/cdn/bundles/sha256/{file}", axum::routing::get(bundle))
        .route(
            "/.well-known/installhub/publichub-keys.json",
            axum::routing::get(keys),
        )
        .with_state(Hub {
            real: format!("http://{listen}"),
            gate: Arc::clone(&gate),
            tamper,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hub = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let app = TestApp::with_config(|config| {
        config.listen = listen;
        config.publichub.url = Some(hub);
    })
    .await;
    (app, gate)
}

fn csrf_of(cookies: &str) -> String {
    cookies
        .split("; ")
        .find_map(|c| c.strip_prefix("installhub_csrf="))
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn search_and_listing_pages_show_listings_escaped() {
    let app = TestApp::new().await;
    let listing = publish(&app, "2.1.0", SCRIPT, SCRIPT).await;
    let cookies = sign_in(&app, &installer_token().mint()).await;

    let found = get(&app, "/console/marketplace?q=onboarding", &cookies).await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.contains("Employee Onboarding Suite"));
    assert!(
        found
            .body
            .contains(&format!("href=\"/console/marketplace/{listing}\""))
    );
    assert!(found.body.contains("trust-Community"), "a trust badge");
    assert!(found.body.contains(ESCAPED), "{}", found.body);
    assert!(!found.body.contains(SCRIPT), "nothing unescaped");
    assert!(
        found.body.contains(">Marketplace</a>"),
        "the navigation has the marketplace"
    );

    // Filters the API refuses are shown at their inputs.
    let refused = get(
        &app,
        "/console/marketplace?trustLevel=Gold&category=HR%20stuff",
        &cookies,
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("id=\"trustLevel-error\""));
    assert!(refused.body.contains("id=\"category-error\""));
    assert!(
        refused
            .body
            .contains("trustLevel &#39;Gold&#39; is not valid"),
        "{}",
        refused.body
    );

    // htmx swaps only what answers 200: its request gets the refusal in
    // the results with 200.
    let swapped = send(
        client()
            .get(app.url("/console/marketplace?category=HR%20stuff"))
            .header(reqwest::header::COOKIE, &cookies)
            .header("HX-Request", "true"),
    )
    .await;
    assert_eq!(swapped.status, 200);
    let results = &swapped.body[swapped.body.find("<div id=\"results\"").unwrap()..];
    assert!(results.contains("id=\"error-summary\""), "{results}");

    let none = get(&app, "/console/marketplace?trustLevel=Official", &cookies).await;
    assert_eq!(none.status, 200);
    assert!(none.body.contains("No listing matches this search."));

    let page = get(&app, &format!("/console/marketplace/{listing}"), &cookies).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<h1>Employee Onboarding Suite</h1>"));
    assert!(page.body.contains(ESCAPED));
    assert!(!page.body.contains(SCRIPT));
    assert!(page.body.contains("Valid (Ed25519, key "), "{}", page.body);
    assert!(page.body.contains("verdict-PASS"));
    assert!(page.body.contains("name=\"acknowledgeCommunityPackage\""));
    assert!(page.body.contains(&format!("value=\"{TARGET}\"")));

    let missing = get(
        &app,
        "/console/marketplace/mkt-pkg-00000000-0000-4000-8000-000000000000",
        &cookies,
    )
    .await;
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("does not exist"), "{}", missing.body);
}

#[tokio::test]
async fn an_install_from_the_form_is_followed_to_success() {
    let app = TestApp::new().await;
    let listing = publish(&app, "2.1.0", "Onboarding", "Acme HR").await;
    let cookies = sign_in(&app, &installer_token().mint()).await;
    let csrf = csrf_of(&cookies);
    let action = format!("/console/marketplace/{listing}/install");

    // Without the form's CSRF token: refused, nothing queued.
    for token in ["", &"0".repeat(64)] {
        let refused = post(
            &app,
            &action,
            &cookies,
            &[
                ("csrf", token),
                ("targetTenantId", TARGET),
                ("acknowledgeCommunityPackage", "true"),
            ],
        )
        .await;
        assert_eq!(refused.status, 403, "{}", refused.body);
        assert!(refused.body.contains("Form refused"));
    }

    // A Community listing without the acknowledgment: the API's refusal,
    // at the box.
    let unacknowledged = post(
        &app,
        &action,
        &cookies,
        &[
            ("csrf", &csrf),
            ("targetTenantId", TARGET),
            ("defaultConflictStrategy", "Skip"),
        ],
    )
    .await;
    assert_eq!(unacknowledged.status, 400, "{}", unacknowledged.body);
    assert!(unacknowledged.body.contains("id=\"error-summary\""));
    assert!(
        unacknowledged
            .body
            .contains("id=\"acknowledgeCommunityPackage-error\""),
        "{}",
        unacknowledged.body
    );
    assert!(
        unacknowledged
            .body
            .contains("tick the box to confirm you accept its trust level")
    );
    assert!(unacknowledged.body.contains(
        "aria-describedby=\"acknowledgeCommunityPackage-hint acknowledgeCommunityPackage-error\" aria-invalid=\"true\""
    ));
    let notifications = app
        .get_as(&installer_token().mint(), "/api/notifications")
        .await
        .json();
    assert_eq!(notifications["notifications"], json!([]));

    // A version that does not exist: at the version input.
    let no_version = post(
        &app,
        &action,
        &cookies,
        &[
            ("csrf", &csrf),
            ("targetTenantId", TARGET),
            ("version", "9.9.9"),
            ("acknowledgeCommunityPackage", "true"),
        ],
    )
    .await;
    assert_eq!(no_version.status, 404, "{}", no_version.body);
    assert!(no_version.body.contains("id=\"version-error\""));

    // A key the API would refuse in its header is refused from the form.
    let bad_key = post(
        &app,
        &action,
        &cookies,
        &[
            ("csrf", &csrf),
            ("targetTenantId", TARGET),
            ("acknowledgeCommunityPackage", "true"),
            ("idempotencyKey", &"k".repeat(256)),
        ],
    )
    .await;
    assert_eq!(bad_key.status, 400, "{}", bad_key.body);
    assert!(
        bad_key
            .body
            .contains("Idempotency-Key must be 1-255 printable characters.")
    );

    // Acknowledged: queued, and the install's page.
    let installed = post(
        &app,
        &action,
        &cookies,
        &[
            ("csrf", &csrf),
            ("targetTenantId", TARGET),
            ("version", ""),
            ("defaultConflictStrategy", "Skip"),
            ("acknowledgeCommunityPackage", "true"),
            ("idempotencyKey", "console-test-key"),
        ],
    )
    .await;
    assert_eq!(installed.status, 303, "{}", installed.body);
    let location = installed.header("location").to_owned();
    let install_id = location
        .strip_prefix("/console/marketplace/installs/")
        .expect("the install's page")
        .to_owned();
    assert!(install_id.starts_with("mkt-install-"), "{location}");

    // The events: the status as it changes, until a terminal one; the
    // response ends there by itself.
    let events = send(
        client()
            .get(app.url(&format!("{location}/events")))
            .header(reqwest::header::COOKIE, &cookies),
    )
    .await;
    assert_eq!(events.status, 200, "{}", events.body);
    assert!(
        events
            .header("content-type")
            .starts_with("text/event-stream")
    );
    assert!(events.body.contains("event: status"), "{}", events.body);
    assert!(
        events.body.contains("id=\"install-state\">Success<"),
        "{}",
        events.body
    );
    assert!(
        events.body.trim_end().ends_with("event: end\ndata: done"),
        "{}",
        events.body
    );

    // The page, as the status API: Success with 5 artifacts.
    let page = get(&app, &location, &cookies).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<h1>Installing Employee Onboarding Suite 2.1.0</h1>")
    );
    assert!(page.body.contains("id=\"install-state\">Success<"));
    assert!(page.body.contains("id=\"artifacts-installed\">5<"));
    assert!(
        !page.body.contains("http-equiv=\"refresh\""),
        "no refresh once it ended"
    );
    let api = app
        .get_as(
            &installer_token().mint(),
            &format!("/api/marketplace/installs/{install_id}/status"),
        )
        .await
        .json();
    assert_eq!(api["status"], "Success");
    assert_eq!(api["artifactsInstalled"], 5);

    // The same form sent again (its idempotency key): the same install.
    let again = post(
        &app,
        &action,
        &cookies,
        &[
            ("csrf", &csrf),
            ("targetTenantId", TARGET),
            ("version", ""),
            ("defaultConflictStrategy", "Skip"),
            ("acknowledgeCommunityPackage", "true"),
            ("idempotencyKey", "console-test-key"),
        ],
    )
    .await;
    assert_eq!(again.status, 303);
    assert_eq!(again.header("location"), location);

    // Someone without access to the target tenant: no such install, on the
    // page and on the stream.
    let other = sign_in(
        &app,
        &installer_token()
            .sub("user-77")
            .set("email", json!("other@company.com"))
            .tenants(&[SOURCE])
            .mint(),
    )
    .await;
    let refused = get(&app, &location, &other).await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert!(refused.body.contains("No marketplace install"));
    let refused = get(&app, &format!("{location}/events"), &other).await;
    assert_eq!(refused.status, 404);
    assert!(refused.header("content-type").starts_with("text/html"));
    let malformed = get(&app, "/console/marketplace/installs/nope/events", &cookies).await;
    assert_eq!(malformed.status, 404);

    // The notification: in the navigation's count and on its page.
    let list = get(&app, "/console/notifications", &cookies).await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains(&format!(
        "Installed Employee Onboarding Suite 2.1.0 into {TARGET}"
    )));
    assert!(
        list.body
            .contains("<span class=\"count\">1<span class=\"visually-hidden\"> unread</span>"),
        "{}",
        list.body
    );
    assert!(list.body.contains(&format!("href=\"{location}\"")));
    let notification = app
        .get_as(&installer_token().mint(), "/api/notifications")
        .await
        .json()["notifications"][0]["notificationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let read_action = format!("/console/notifications/{notification}/read");
    let refused = post(&app, &read_action, &cookies, &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let refused = post(&app, &read_action, &cookies, &[("csrf", &"1".repeat(64))]).await;
    assert_eq!(refused.status, 403);
    // Another user cannot mark it: not found, as the API answers.
    let others = post(&app, &read_action, &other, &[("csrf", &csrf_of(&other))]).await;
    assert_eq!(others.status, 404, "{}", others.body);
    let read = post(&app, &read_action, &cookies, &[("csrf", &csrf)]).await;
    assert_eq!(read.status, 303, "{}", read.body);
    assert_eq!(read.header("location"), "/console/notifications");
    let api = app
        .get_as(&installer_token().mint(), "/api/notifications")
        .await
        .json();
    assert!(api["notifications"][0]["readAt"].is_string(), "{api:#}");
    let list = get(&app, "/console/notifications", &cookies).await;
    assert!(!list.body.contains("class=\"count\""), "{}", list.body);
    assert!(!list.body.contains("Mark as read"));
    let unread = get(&app, "/console/notifications?show=unread", &cookies).await;
    assert!(unread.body.contains("You have no unread notifications."));
}

#[tokio::test]
async fn a_token_without_the_install_scopes_is_told_and_refused() {
    let app = TestApp::new().await;
    let listing = publish(&app, "2.1.0", "Onboarding", "Acme HR").await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let page: Page = get(&app, &format!("/console/marketplace/{listing}"), &cookies).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains(
            "Your token cannot install this package: it lacks the scopes marketplace:install, marketplace:install:community."
        ),
        "{}",
        page.body
    );
    let refused = post(
        &app,
        &format!("/console/marketplace/{listing}/install"),
        &cookies,
        &[
            ("csrf", &csrf_of(&cookies)),
            ("targetTenantId", TARGET),
            ("acknowledgeCommunityPackage", "true"),
        ],
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("marketplace:install"),
        "{}",
        refused.body
    );
}

/// Waits until `followers` says `count` event streams follow the install
/// (the server notices a closed stream at its next write, a keep-alive at
/// the latest).
async fn wait_for_followers(install_id: &str, count: usize) {
    for _ in 0..600 {
        if installhub_server::console::install_followers(install_id) == count {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "{} event streams follow {install_id}, not {count}",
        installhub_server::console::install_followers(install_id)
    );
}

#[tokio::test]
async fn an_event_stream_ends_when_its_reader_goes_away() {
    let (app, gate) = app_behind_gate().await;
    let listing = publish(&app, "2.1.0", "Onboarding", "Acme HR").await;
    let cookies = sign_in(&app, &installer_token().mint()).await;
    let installed = post(
        &app,
        &format!("/console/marketplace/{listing}/install"),
        &cookies,
        &[
            ("csrf", &csrf_of(&cookies)),
            ("targetTenantId", TARGET),
            ("acknowledgeCommunityPackage", "true"),
        ],
    )
    .await;
    assert_eq!(installed.status, 303, "{}", installed.body);
    let location = installed.header("location").to_owned();
    let install_id = location.rsplit('/').next().unwrap().to_owned();

    // While it runs, the page without JavaScript reloads itself, and offers
    // a link; with it, its script follows the events.
    let page = get(&app, &location, &cookies).await;
    assert!(
        page.body.contains("id=\"install-state\">InProgress<"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(r#"<noscript><meta http-equiv="refresh" content="3"></noscript>"#)
    );
    assert!(
        page.body
            .contains(&format!(r#"data-events="{location}/events""#))
    );
    assert!(
        page.body
            .contains(&format!(r#"<a href="{location}">Refresh the status</a>"#))
    );

    // The download is held: the stream sends the running status and stays
    // open.
    let mut stream = client()
        .get(app.url(&format!("{location}/events")))
        .header(reqwest::header::COOKIE, &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.unwrap().expect("a first event");
    let first = String::from_utf8_lossy(&first).into_owned();
    assert!(first.contains("event: status"), "{first}");
    assert!(first.contains("InProgress"), "{first}");
    assert_eq!(
        installhub_server::console::install_followers(&install_id),
        1
    );

    // The reader goes away: the server drops the stream.
    drop(stream);
    wait_for_followers(&install_id, 0).await;

    // Released, a new stream follows it to the end and closes.
    gate.add_permits(100);
    let events = get(&app, &format!("{location}/events"), &cookies).await;
    assert!(events.body.contains("Success"), "{}", events.body);
    assert!(
        events.body.trim_end().ends_with("data: done"),
        "{}",
        events.body
    );
    assert_eq!(
        installhub_server::console::install_followers(&install_id),
        0
    );
}

/// PUTs `body` to `path` as a marketplace admin.
async fn govern(app: &TestApp, path: &str, body: serde_json::Value) {
    let admin = Token::full().scopes(&["marketplace:admin"]).mint();
    let reply = app
        .send(app.http.put(app.url(path)).bearer_auth(&admin).json(&body))
        .await;
    assert_eq!(reply.status, 200, "{path}: {:#}", reply.json());
}

#[tokio::test]
async fn the_listing_page_marks_yanked_and_deprecated_versions_and_trust() {
    let app = TestApp::new().await;
    let listing = publish(&app, "2.1.0", "Onboarding", "Acme HR").await;
    assert_eq!(
        publish(&app, "2.2.0", "Onboarding", "Acme HR").await,
        listing
    );
    let base = format!("/api/marketplace/packages/{listing}");
    govern(
        &app,
        &format!("{base}/versions/2.2.0/yank"),
        json!({ "reason": "Breaks approvals; use 2.1.0." }),
    )
    .await;
    govern(
        &app,
        &format!("{base}/versions/2.1.0/deprecation"),
        json!({ "reason": "Moves to the <b>HR Suite</b>." }),
    )
    .await;
    let cookies = sign_in(&app, &installer_token().mint()).await;
    let page = get(&app, &format!("/console/marketplace/{listing}"), &cookies).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<span class=\"badge yanked\">Yanked</span>")
    );
    assert!(page.body.contains("Breaks approvals; use 2.1.0."));
    assert!(
        page.body
            .contains("<span class=\"badge deprecated\">Deprecated</span>")
    );
    assert!(
        page.body
            .contains("Moves to the &#60;b&#62;HR Suite&#60;/b&#62;.")
    );
    assert!(
        page.body
            .contains("<option value=\"2.2.0\">2.2.0 (yanked)</option>")
    );
    assert!(
        page.body
            .contains("<option value=\"2.1.0\">2.1.0 (deprecated)</option>")
    );
    assert!(
        page.body.contains("Latest (2.1.0)"),
        "the latest is not the yanked one"
    );

    // Raised to Verified: no acknowledgment asked for, and the badge says so.
    govern(
        &app,
        &format!("{base}/trust-level"),
        json!({ "trustLevel": "Verified" }),
    )
    .await;
    let page = get(&app, &format!("/console/marketplace/{listing}"), &cookies).await;
    assert!(page.body.contains("trust-Verified"));
    assert!(!page.body.contains("acknowledgeCommunityPackage"));
    let found = get(&app, "/console/marketplace?trustLevel=Verified", &cookies).await;
    assert!(
        found.body.contains("Employee Onboarding Suite"),
        "{}",
        found.body
    );
}

#[tokio::test]
async fn an_event_stream_ends_when_the_server_shuts_down() {
    let (app, _gate) = app_behind_gate().await;
    let listing = publish(&app, "2.1.0", "Onboarding", "Acme HR").await;
    let cookies = sign_in(&app, &installer_token().mint()).await;
    let installed = post(
        &app,
        &format!("/console/marketplace/{listing}/install"),
        &cookies,
        &[
            ("csrf", &csrf_of(&cookies)),
            ("targetTenantId", TARGET),
            ("acknowledgeCommunityPackage", "true"),
        ],
    )
    .await;
    assert_eq!(installed.status, 303, "{}", installed.body);
    let location = installed.header("location").to_owned();
    let mut stream = client()
        .get(app.url(&format!("{location}/events")))
        .header(reqwest::header::COOKIE, &cookies)
        .send()
        .await
        .unwrap();
    let first = stream.chunk().await.unwrap().expect("a first event");
    assert!(String::from_utf8_lossy(&first).contains("InProgress"));

    // The download stays held; stopping the server ends the stream (with
    // `restart`) instead of waiting for the install.
    let TestApp { server, .. } = app;
    let stopped = tokio::spawn(server.stop());
    let mut rest = String::new();
    while let Some(chunk) = stream.chunk().await.unwrap() {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(rest.contains("event: end\ndata: restart"), "{rest}");
    stopped.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_failed_install_shows_where_and_why_and_the_notification_says_so() {
    let (app, gate) = app_behind_hub(true).await;
    gate.add_permits(100);
    let listing = publish(&app, "2.1.0", "Onboarding", "Acme HR").await;
    let cookies = sign_in(&app, &installer_token().mint()).await;
    let installed = post(
        &app,
        &format!("/console/marketplace/{listing}/install"),
        &cookies,
        &[
            ("csrf", &csrf_of(&cookies)),
            ("targetTenantId", TARGET),
            ("acknowledgeCommunityPackage", "true"),
        ],
    )
    .await;
    assert_eq!(installed.status, 303, "{}", installed.body);
    let location = installed.header("location").to_owned();
    let events = get(&app, &format!("{location}/events"), &cookies).await;
    assert!(
        events.body.contains("id=\"install-state\">Failed<"),
        "{}",
        events.body
    );
    assert!(
        events.body.trim_end().ends_with("data: done"),
        "{}",
        events.body
    );
    let page = get(&app, &location, &cookies).await;
    assert!(page.body.contains("id=\"install-state\">Failed<"));
    assert!(
        page.body.contains("<dt>Stopped at</dt><dd>Verifying</dd>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<code>ChecksumMismatch</code>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("nothing was installed"), "{}", page.body);
    assert!(page.body.contains("<li class=\"stage failed\">Verifying"));
    let list = get(&app, "/console/notifications", &cookies).await;
    assert!(
        list.body.contains("notification problem unread"),
        "{}",
        list.body
    );
    assert!(list.body.contains("InstallFailed"));
    assert!(list.body.contains(&format!("href=\"{location}\"")));
}

#[tokio::test]
async fn search_results_page_in_name_order_with_the_filters_kept() {
    let app = TestApp::new().await;
    for letter in 'a'..='m' {
        publish_named(
            &app,
            &format!("Suite {letter}"),
            "1.0.0",
            "Onboarding",
            "Acme HR",
        )
        .await;
    }
    let cookies = sign_in(&app, &installer_token().mint()).await;
    let first = get(
        &app,
        "/console/marketplace?q=suite&publisher=acme%20hr",
        &cookies,
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(
        first.body.contains("12 listings on this page"),
        "{}",
        first.body
    );
    assert!(first.body.contains(">Suite a</a>") && first.body.contains(">Suite l</a>"));
    assert!(!first.body.contains(">Suite m</a>"));
    let marker = "<p class=\"pager\"><a href=\"";
    let start = first.body.find(marker).expect("a next page link") + marker.len();
    let next = first.body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&#38;", "&")
        .replace("&amp;", "&");
    assert!(
        next.contains("q=suite") && next.contains("publisher=acme+hr"),
        "{next}"
    );
    let second = get(&app, &next, &cookies).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert!(
        second.body.contains("1 listing, in name order."),
        "{}",
        second.body
    );
    assert!(second.body.contains(">Suite m</a>"));
    assert!(!second.body.contains("class=\"pager\""));
}

#[tokio::test]
async fn tenants_that_refuse_the_listings_trust_level_are_not_offered() {
    let app = TestApp::new().await;
    let listing = publish(&app, "2.1.0", "Onboarding", "Acme HR").await;
    let tenant_path = format!("/api/installhub/tenants/{TARGET}");
    let mut tenant = app.get(&tenant_path).await.json();
    tenant.as_object_mut().unwrap().remove("tenantId");
    tenant["allowedTrustLevels"] = json!(["Official", "Verified"]);
    let reply = app.put(&tenant_path, &tenant).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let cookies = sign_in(&app, &installer_token().mint()).await;
    let page = get(&app, &format!("/console/marketplace/{listing}"), &cookies).await;
    assert_eq!(page.status, 200);
    assert!(
        !page.body.contains(&format!("<option value=\"{TARGET}\"")),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("<option value=\"{SOURCE}\"")));
    assert!(
        page.body.contains(&format!(
            "Not offered: Acme Subsidiary (demo target) ({TARGET}) installs only Official or Verified packages."
        )),
        "{}",
        page.body
    );
    // Sent anyway (a form built by hand): the API's refusal, at the target.
    let refused = post(
        &app,
        &format!("/console/marketplace/{listing}/install"),
        &cookies,
        &[
            ("csrf", &csrf_of(&cookies)),
            ("targetTenantId", TARGET),
            ("acknowledgeCommunityPackage", "true"),
        ],
    )
    .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"targetTenantId-error\""),
        "{}",
        refused.body
    );
}
