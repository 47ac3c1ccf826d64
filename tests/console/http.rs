//! The console over plain HTTP: headers, sessions, CSRF, escaping,
//! permissions and errors. No browser needed.

use serde_json::json;

use crate::common::{SOURCE, TARGET, TestApp, Token};
use crate::page::{get, post, sign_in};

/// `text` as the templates escape it.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn assert_console_headers(page: &crate::page::Page) {
    let csp = page.header("content-security-policy");
    for part in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "CSP lacks {part}: {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(!csp.contains("unsafe-eval"), "{csp}");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
}

#[tokio::test]
async fn every_console_answer_carries_the_security_headers() {
    let app = TestApp::new().await;
    let token = Token::full().mint();
    let cookies = sign_in(&app, &token).await;
    for (path, cookies, status) in [
        ("/console/sign-in", "", 200),
        ("/console/tenants", cookies.as_str(), 200),
        ("/console/tenants/tenant-7f3a9b12", cookies.as_str(), 200),
        ("/console/audit", cookies.as_str(), 200),
        ("/console/no-such-page", "", 404),
        ("/console/tenants/NOT_A_TENANT", cookies.as_str(), 400),
    ] {
        let page = get(&app, path, cookies).await;
        assert_eq!(page.status, status, "{path}: {page:#?}");
        assert!(
            page.header("content-type").starts_with("text/html"),
            "{path}: {page:#?}"
        );
        assert_console_headers(&page);
        assert_eq!(page.header("cache-control"), "no-store", "{path}");
        assert!(page.body.contains("<h1>"), "{path}: {}", page.body);
    }
    // A wrong method is a console page too, not the API's JSON envelope.
    let page = crate::page::send(crate::page::client().delete(app.url("/console/tenants"))).await;
    assert_eq!(page.status, 405);
    assert!(page.header("content-type").starts_with("text/html"));
    assert_console_headers(&page);
    // The API keeps its JSON errors.
    let api = get(&app, "/api/installhub/no-such-route", "").await;
    assert_eq!(api.status, 404);
    assert!(api.header("content-type").starts_with("application/json"));
}

#[tokio::test]
async fn static_files_are_served_with_long_cache_headers() {
    let app = TestApp::new().await;
    let page = get(&app, "/console/sign-in", "").await;
    let mut linked = Vec::new();
    for marker in [r#"<link rel="stylesheet" href=""#, r#"<script src=""#] {
        let start = page.body.find(marker).unwrap() + marker.len();
        linked.push(page.body[start..].split('"').next().unwrap().to_owned());
    }
    assert!(linked[1].contains("htmx-2.0.11.min."), "{linked:?}");
    for (href, kind) in linked.iter().zip(["text/css", "text/javascript"]) {
        let asset = get(&app, href, "").await;
        assert_eq!(asset.status, 200, "{href}");
        assert!(asset.header("content-type").starts_with(kind), "{href}");
        assert_eq!(
            asset.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_console_headers(&asset);
    }
    let missing = get(&app, "/console/assets/htmx.min.js", "").await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn signing_in_with_a_token_sets_a_strict_session_cookie() {
    let app = TestApp::new().await;
    let form = get(&app, "/console/sign-in", "").await;
    let csrf_cookie = form.set_cookie("installhub_csrf").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(csrf_cookie.contains(attribute), "{csrf_cookie}");
    }
    let csrf = form.cookie_value("installhub_csrf").unwrap();
    assert_eq!(form.csrf_field(), csrf);
    let token = Token::full().mint();

    let signed = post(
        &app,
        "/console/sign-in",
        &format!("installhub_csrf={csrf}"),
        &[("csrf", &csrf), ("token", &token)],
    )
    .await;
    assert_eq!(signed.status, 303, "{signed:#?}");
    assert_eq!(signed.header("location"), "/console/tenants");
    let session = signed.set_cookie("installhub_session").unwrap();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    assert_eq!(signed.cookie_value("installhub_session").unwrap(), token);
    // A new CSRF token for the session.
    let fresh = signed.cookie_value("installhub_csrf").unwrap();
    assert_ne!(fresh, csrf);

    let catalog = get(
        &app,
        "/console/tenants",
        &format!("installhub_session={token}; installhub_csrf={fresh}"),
    )
    .await;
    assert_eq!(catalog.status, 200);
    assert!(catalog.body.contains("engineer@company.com"));
    assert!(catalog.body.contains(SOURCE) && catalog.body.contains(TARGET));

    // Behind a TLS-terminating proxy the cookies are Secure.
    let behind_tls = crate::page::send(
        crate::page::client()
            .post(app.url("/console/sign-in"))
            .header("cookie", format!("installhub_csrf={fresh}"))
            .header("x-forwarded-proto", "https")
            .form(&[("csrf", fresh.as_str()), ("token", token.as_str())]),
    )
    .await;
    assert_eq!(behind_tls.status, 303);
    assert!(
        behind_tls
            .set_cookie("installhub_session")
            .unwrap()
            .contains("Secure")
    );
}

#[tokio::test]
async fn a_token_the_api_refuses_is_refused_with_its_reason() {
    let app = TestApp::new().await;
    let form = get(&app, "/console/sign-in", "").await;
    let csrf = form.cookie_value("installhub_csrf").unwrap();
    let cookie = format!("installhub_csrf={csrf}");
    let expired = Token::full()
        .set("exp", json!(chrono::Utc::now().timestamp() - 3600))
        .mint();
    for (token, status, says) in [
        ("", 400, "Paste a token to sign in."),
        ("not-a-jwt", 401, "not a well-formed JWT"),
        (expired.as_str(), 401, "The token has expired."),
    ] {
        let page = post(
            &app,
            "/console/sign-in",
            &cookie,
            &[("csrf", &csrf), ("token", token)],
        )
        .await;
        assert_eq!(page.status, status, "{page:#?}");
        assert!(page.body.contains(says), "{}", page.body);
        assert!(page.set_cookie("installhub_session").is_none());
    }
    let huge = "x".repeat(4000);
    let page = post(
        &app,
        "/console/sign-in",
        &cookie,
        &[("csrf", &csrf), ("token", &huge)],
    )
    .await;
    assert_eq!(page.status, 400);
    assert!(page.body.contains("4000 bytes long"), "{}", page.body);
    // A body far over the limit is refused before it is read.
    let page = post(
        &app,
        "/console/sign-in",
        &cookie,
        &[("csrf", &csrf), ("token", &"x".repeat(20 * 1024 * 1024))],
    )
    .await;
    assert_eq!(page.status, 413, "{page:#?}");
    assert!(page.header("content-type").starts_with("text/html"));
}

#[tokio::test]
async fn posts_without_the_right_csrf_token_are_refused() {
    let app = TestApp::new().await;
    let token = Token::full().mint();
    let cookies = sign_in(&app, &token).await;
    let csrf = cookies.split("installhub_csrf=").nth(1).unwrap().to_owned();
    let session_only = cookies.split(';').next().unwrap().to_owned();

    for (cookies, form) in [
        // No field.
        (cookies.clone(), vec![]),
        // A wrong field.
        (cookies.clone(), vec![("csrf", "0".repeat(64))]),
        // The right field without the cookie (as a cross-site form would
        // send it, were the cookie not SameSite=Strict).
        (session_only.clone(), vec![("csrf", csrf.clone())]),
        // An empty field and an empty cookie.
        (
            format!("{session_only}; installhub_csrf="),
            vec![("csrf", String::new())],
        ),
    ] {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let page = post(&app, "/console/sign-out", &cookies, &form).await;
        assert_eq!(page.status, 403, "{form:?}: {page:#?}");
        assert!(page.body.contains("CSRF token is missing or wrong"));
        assert!(page.set_cookie("installhub_session").is_none());
        assert_console_headers(&page);
    }
    let still = get(&app, "/console/tenants", &cookies).await;
    assert_eq!(still.status, 200, "the refused posts changed nothing");

    // The sign-in form is protected too.
    let page = post(
        &app,
        "/console/sign-in",
        "",
        &[("csrf", &csrf), ("token", &token)],
    )
    .await;
    assert_eq!(page.status, 403);
    assert!(page.set_cookie("installhub_session").is_none());

    // With the right token, signing out ends the session.
    let out = post(&app, "/console/sign-out", &cookies, &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 200, "{out:#?}");
    assert!(out.body.contains("You are signed out"));
    let removed = out.set_cookie("installhub_session").unwrap();
    assert!(removed.starts_with("installhub_session=;"), "{removed}");
    assert!(removed.contains("Max-Age=0"), "{removed}");
    assert_ne!(out.cookie_value("installhub_csrf").unwrap(), csrf);
}

#[tokio::test]
async fn no_session_goes_to_sign_in_and_an_expired_one_says_so() {
    let app = TestApp::new().await;
    let page = get(&app, "/console", "").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), "/console/tenants");
    let page = get(&app, "/console/tenants", "").await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), "/console/sign-in");

    let expired = Token::full()
        .set("exp", json!(chrono::Utc::now().timestamp() - 60))
        .mint();
    let page = get(
        &app,
        "/console/tenants/tenant-7f3a9b12",
        &format!("installhub_session={expired}"),
    )
    .await;
    assert_eq!(page.status, 401, "{page:#?}");
    assert!(
        page.body.contains("Your session has expired"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"href="/console/sign-in""#));
    let removed = page.set_cookie("installhub_session").unwrap();
    assert!(removed.contains("Max-Age=0"), "{removed}");
    assert!(!page.body.contains("proc-1001"));
}

#[tokio::test]
async fn an_artifact_named_like_a_script_shows_as_text() {
    let app = TestApp::new().await;
    let name = "<script>alert(1)</script>";
    let reply = app
        .put_artifact(
            SOURCE,
            "xss-1",
            json!({
                "type": "AtlasForm",
                "name": name,
                "version": "1.0.0",
                "status": "Published",
                "definition": {},
            }),
        )
        .await;
    assert!(reply.status < 300, "{reply:?}");
    let cookies = sign_in(&app, &Token::full().mint()).await;
    for path in [
        "/console/tenants/tenant-7f3a9b12",
        "/console/tenants/tenant-7f3a9b12?q=%3Cscript%3E",
        "/console/audit?tenant=tenant-7f3a9b12&subject=%22%3E%3Cimg%20src%3Dx%3E",
        "/console/tenants/tenant-7f3a9b12?q=%22%3E%3Cimg%20src%3Dx%3E",
    ] {
        let page = get(&app, path, &cookies).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(
            !page.body.contains("<script>alert"),
            "{path}: {}",
            page.body
        );
        assert!(!page.body.contains("<img src=x>"), "{path}");
    }
    let page = get(&app, "/console/tenants/tenant-7f3a9b12?q=script", &cookies).await;
    assert!(page.body.contains(&escaped(name)), "{}", page.body);
}

#[tokio::test]
async fn the_catalog_filters_with_the_apis_permission_checks() {
    let app = TestApp::new().await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let rows = |body: &str| body.matches("<td class=\"id\">").count();

    let all = get(&app, "/console/tenants/tenant-7f3a9b12", &cookies).await;
    assert_eq!(rows(&all.body), 5, "{}", all.body);
    let forms = get(
        &app,
        "/console/tenants/tenant-7f3a9b12?type=AtlasForm",
        &cookies,
    )
    .await;
    assert_eq!(rows(&forms.body), 1, "{}", forms.body);
    assert!(forms.body.contains("form-2005"));
    assert!(
        forms
            .body
            .contains(r#"<option value="AtlasForm" selected>"#)
    );
    let searched = get(&app, "/console/tenants/tenant-7f3a9b12?q=ONBOARD", &cookies).await;
    assert!(rows(&searched.body) >= 1, "{}", searched.body);
    assert!(searched.body.contains("proc-1001"));
    let none = get(
        &app,
        "/console/tenants/tenant-7f3a9b12?type=RuleSet&q=no-such-name",
        &cookies,
    )
    .await;
    assert_eq!(rows(&none.body), 0);
    assert!(none.body.contains("No artifact matches these filters."));
    let bad = get(
        &app,
        "/console/tenants/tenant-7f3a9b12?type=Spreadsheet",
        &cookies,
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("is not an artifact type"), "{}", bad.body);
    let unknown = get(&app, "/console/tenants/tenant-missing", &cookies).await;
    assert_eq!(unknown.status, 403, "the token does not name it");

    // A token for one tenant sees that one only, and is refused the other
    // as the API refuses it.
    let one = Token::full().tenants(&[SOURCE]).mint();
    let cookies = sign_in(&app, &one).await;
    let tenants = get(&app, "/console/tenants", &cookies).await;
    assert!(tenants.body.contains(SOURCE));
    assert!(!tenants.body.contains(TARGET));
    let denied = get(&app, "/console/tenants/tenant-abc123", &cookies).await;
    assert_eq!(denied.status, 403);
    let api = app
        .get_as(&one, "/api/installhub/tenants/tenant-abc123/artifacts")
        .await;
    assert_eq!(api.status, 403);
    assert!(
        denied
            .body
            .contains(&escaped(api.json()["message"].as_str().unwrap())),
        "{}",
        denied.body
    );

    // A token for every tenant ("*") sees every tenant there is.
    let star = Token::full().tenants(&["*"]).mint();
    let cookies = sign_in(&app, &star).await;
    let tenants = get(&app, "/console/tenants", &cookies).await;
    assert!(tenants.body.contains(SOURCE) && tenants.body.contains(TARGET));
    let unknown = get(&app, "/console/tenants/tenant-missing", &cookies).await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.contains("does not exist"));
}

#[tokio::test]
async fn the_catalog_pages_through_a_large_tenant() {
    let app = TestApp::new().await;
    for i in 0..60 {
        app.artifact(TARGET, &format!("rule-{i:03}"), "RuleSet", &[])
            .await;
    }
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let first = get(
        &app,
        "/console/tenants/tenant-abc123?type=RuleSet",
        &cookies,
    )
    .await;
    assert_eq!(first.body.matches("<td class=\"id\">").count(), 50);
    let marker = r#"<p class="pager"><a href=""#;
    let start = first.body.find(marker).expect("a next page link") + marker.len();
    let next = first.body[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(next.contains("after=rule-049"), "{next}");
    assert!(next.contains("type=RuleSet"), "{next}");
    let second = get(&app, &next, &cookies).await;
    assert_eq!(second.body.matches("<td class=\"id\">").count(), 10);
    assert!(second.body.contains("rule-059"));
    assert!(!second.body.contains(marker));
}

#[tokio::test]
async fn the_audit_page_reads_the_log_as_the_api_does() {
    let app = TestApp::new().await;
    app.artifact(SOURCE, "audit-me", "RuleSet", &[]).await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let page = get(
        &app,
        "/console/audit?tenant=tenant-7f3a9b12&action=artifact-put&subject=audit-me",
        &cookies,
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.body.matches("<td class=\"id\">audit-me</td>").count(),
        1
    );
    assert!(page.body.contains("engineer@company.com"));
    assert!(
        page.body
            .contains(r#"<option value="artifact-put" selected>"#)
    );
    let api = app
        .get("/api/installhub/audit?tenantId=tenant-7f3a9b12&action=artifact-put&subject=audit-me")
        .await;
    assert_eq!(api.json()["entries"].as_array().unwrap().len(), 1);

    // Without installhub:import the API refuses the log, and so does the
    // console, with the same message.
    let reader = Token::full().scopes(&["installhub:export"]).mint();
    let cookies = sign_in(&app, &reader).await;
    let page = get(&app, "/console/audit?tenant=tenant-7f3a9b12", &cookies).await;
    let api = app
        .get_as(&reader, "/api/installhub/audit?tenantId=tenant-7f3a9b12")
        .await;
    assert_eq!(api.status, 403);
    assert_eq!(page.status, 403);
    assert!(
        page.body
            .contains(&escaped(api.json()["message"].as_str().unwrap())),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_sign_in_link_works_once() {
    let app = TestApp::new().await;
    let token = Token::full().mint();
    let secret = app.server.state.console_links().issue(token.clone());
    let link = format!("/console/sign-in/link?secret={secret}");
    let page = get(&app, &link, "").await;
    assert_eq!(page.status, 200, "{page:#?}");
    assert_eq!(page.cookie_value("installhub_session").unwrap(), token);
    assert!(
        page.body
            .contains("You are signed in as engineer@company.com")
    );
    assert!(
        page.body
            .contains(r#"<meta http-equiv="refresh" content="0; url=/console/tenants">"#)
    );
    let again = get(&app, &link, "").await;
    assert_eq!(again.status, 410);
    assert!(again.body.contains("already used, has expired"));
    assert!(again.set_cookie("installhub_session").is_none());
    let guessed = get(
        &app,
        &format!("/console/sign-in/link?secret={}", "0".repeat(64)),
        "",
    )
    .await;
    assert_eq!(guessed.status, 410);
    let missing = get(&app, "/console/sign-in/link", "").await;
    assert_eq!(missing.status, 410);
}

#[tokio::test]
async fn the_preview_draws_the_graph_the_api_resolves() {
    let app = TestApp::new().await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let page = get(
        &app,
        "/console/tenants/tenant-7f3a9b12/preview?roots=proc-1001",
        &cookies,
    )
    .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_console_headers(&page);
    let api = app
        .preview(&json!({ "tenantId": SOURCE, "artifactIds": ["proc-1001"] }))
        .await
        .json();
    // Every artifact the API resolves is drawn, numbered in its order.
    let order: Vec<&str> = api["installOrder"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(order.len(), 5);
    assert_eq!(page.body.matches("data-artifact=").count(), 5);
    let mut last = 0;
    for (i, id) in order.iter().enumerate() {
        let at = page
            .body
            .find(&format!("<li><code>{id}</code>"))
            .unwrap_or_else(|| panic!("{id} in the install order list"));
        assert!(at > last, "{id} listed in the API's order");
        last = at;
        assert!(page.body.contains(&format!(">{}</text>", i + 1)));
    }
    assert!(
        page.body
            .contains(r#"<g class="node root" data-artifact="proc-1001">"#)
    );
    assert!(!page.body.contains("class=\"edge cycle\""));
    // A preview an export would take links the export form with its roots.
    assert!(
        page.body
            .contains(r#"href="/console/tenants/tenant-7f3a9b12/export?roots=proc-1001""#),
        "{}",
        page.body
    );

    // A cycle: drawn in the problem colour, no order, the API's warning.
    app.artifact(TARGET, "loop-a", "RuleSet", &["loop-b"]).await;
    app.artifact(TARGET, "loop-b", "RuleSet", &["loop-a"]).await;
    let page = get(
        &app,
        "/console/tenants/tenant-abc123/preview?roots=loop-a",
        &cookies,
    )
    .await;
    assert_eq!(page.status, 200);
    let api = app
        .preview(&json!({ "tenantId": TARGET, "artifactIds": ["loop-a"] }))
        .await
        .json();
    assert_eq!(api["hasCircularDependency"], true);
    for warning in api["warnings"].as_array().unwrap() {
        let message = warning["message"].as_str().unwrap();
        assert!(page.body.contains(&escaped(message)), "{message}");
    }
    assert_eq!(page.body.matches("class=\"edge cycle\"").count(), 2);
    assert!(
        page.body
            .contains(r#"<g class="node root cycle" data-artifact="loop-a">"#)
    );
    assert!(page.body.contains("a cycle has no order to install in"));
    assert!(
        !page.body.contains("Export these roots"),
        "it would be refused"
    );

    // What the API refuses, the page refuses with the same message.
    let missing = get(
        &app,
        "/console/tenants/tenant-7f3a9b12/preview?roots=no-such-artifact",
        &cookies,
    )
    .await;
    let api = app
        .preview(&json!({ "tenantId": SOURCE, "artifactIds": ["no-such-artifact"] }))
        .await;
    assert_eq!(missing.status, api.status);
    assert!(
        missing
            .body
            .contains(&escaped(api.json()["message"].as_str().unwrap())),
        "{}",
        missing.body
    );
    let reader = Token::full().scopes(&["installhub:import"]).mint();
    let cookies = sign_in(&app, &reader).await;
    let denied = get(
        &app,
        "/console/tenants/tenant-7f3a9b12/preview?roots=proc-1001",
        &cookies,
    )
    .await;
    let api = app
        .send(
            app.http
                .post(app.url("/api/installhub/packages/preview"))
                .bearer_auth(&reader)
                .json(&json!({ "tenantId": SOURCE, "artifactIds": ["proc-1001"] })),
        )
        .await;
    assert_eq!(api.status, 403);
    assert_eq!(denied.status, 403);
    assert!(
        denied
            .body
            .contains(&escaped(api.json()["message"].as_str().unwrap()))
    );
}

/// The messages listed beside the input `id` (its `<ul id="{id}-error">`).
fn errors_at(body: &str, id: &str) -> String {
    let marker = format!(r#"<ul class="field-errors" id="{id}-error">"#);
    let Some(start) = body.find(&marker) else {
        return String::new();
    };
    let rest = &body[start + marker.len()..];
    rest[..rest.find("</ul>").unwrap()].to_owned()
}

/// The `<input>`, `<select>` or `<textarea>` tag of the input `id`.
fn input_tag(body: &str, id: &str) -> String {
    let marker = format!(r#" id="{id}" name="{id}""#);
    let at = body.find(&marker).unwrap_or_else(|| panic!("input {id}"));
    let start = body[..at].rfind('<').unwrap();
    let end = at + body[at..].find('>').unwrap();
    body[start..=end].to_owned()
}

/// The export form's fields for the seed export, with `changes`.
fn export_form<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("csrf", csrf),
        ("packageName", "Employee Onboarding Suite"),
        ("packageType", "workflow-package"),
        ("version", "2.1.0"),
        ("description", "Complete onboarding workflow"),
        ("author", "HR Automation Team"),
        ("tags", "hr, onboarding"),
        ("artifactIds", "proc-1001"),
        ("packageDependencies", ""),
    ];
    for (name, value) in changes {
        form.iter_mut().find(|(n, _)| n == name).unwrap().1 = value;
    }
    form
}

fn csrf_of(cookies: &str) -> String {
    cookies.split("installhub_csrf=").nth(1).unwrap().to_owned()
}

#[tokio::test]
async fn the_export_form_shows_every_failure_the_api_finds_at_its_input() {
    let app = TestApp::new().await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let csrf = csrf_of(&cookies);

    // The catalog links the form, which takes its roots from the link.
    let catalog = get(&app, "/console/tenants/tenant-7f3a9b12", &cookies).await;
    assert!(
        catalog
            .body
            .contains(r#"href="/console/tenants/tenant-7f3a9b12/export?roots=proc-1001""#),
        "{}",
        catalog.body
    );
    let form = get(
        &app,
        "/console/tenants/tenant-7f3a9b12/export?roots=proc-1001,form-2005",
        &cookies,
    )
    .await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert_console_headers(&form);
    assert_eq!(form.csrf_field(), csrf);
    assert!(
        input_tag(&form.body, "artifactIds").contains(r#"value="proc-1001 form-2005""#),
        "{}",
        form.body
    );
    for id in [
        "packageName",
        "packageType",
        "version",
        "artifactIds",
        "description",
        "author",
        "tags",
        "packageDependencies",
    ] {
        assert!(
            form.body.contains(&format!(r#"<label for="{id}">"#)),
            "label for {id}"
        );
        assert!(!input_tag(&form.body, id).contains("aria-invalid"));
    }

    // Every field wrong: each failure of the API's answer is beside its
    // input, marked invalid and described by its messages.
    let wrong = [
        ("packageName", "Onboarding <Suite>"),
        ("packageType", "spreadsheet-package"),
        ("version", "2.1"),
        ("tags", "hr, "),
        ("artifactIds", "proc-1001 bad!id no-such-artifact"),
        ("packageDependencies", "HR Core @ not a range"),
        ("author", "Team\u{7}"),
    ];
    let page = post(
        &app,
        "/console/tenants/tenant-7f3a9b12/export",
        &cookies,
        &export_form(&csrf, &wrong),
    )
    .await;
    let api = app
        .export(&json!({
            "tenantId": SOURCE,
            "packageName": "Onboarding <Suite>",
            "packageType": "spreadsheet-package",
            "version": "2.1",
            "description": "Complete onboarding workflow",
            "author": "Team\u{7}",
            "tags": ["hr", ""],
            "artifactIds": ["proc-1001", "bad!id", "no-such-artifact"],
            "packageDependencies": [{ "packageName": "HR Core", "versionRange": "not a range" }]
        }))
        .await;
    let api = api.expect_error(page.status, "InvalidPackageName");
    let errors = api["errors"].as_array().unwrap();
    assert!(errors.len() >= 7, "{api:#}");
    assert!(page.body.contains(&format!(
        "The export was refused: {} problems",
        errors.len()
    )));
    for error in errors {
        let message = escaped(error["message"].as_str().unwrap());
        let field = error["field"].as_str().unwrap_or("artifactIds");
        let input = field.split(['[', '.']).next().unwrap();
        assert!(
            errors_at(&page.body, input).contains(&message),
            "{message} beside {input}: {}",
            page.body
        );
        let tag = input_tag(&page.body, input);
        assert!(tag.contains(r#"aria-invalid="true""#), "{tag}");
        assert!(
            tag.contains(&format!(r#"aria-describedby="{input}-hint {input}-error""#)),
            "{tag}"
        );
        // And in the summary, linked to the input.
        assert!(
            page.body
                .contains(&format!(r##"<a href="#{input}">{message}</a>"##)),
            "{message} in the summary"
        );
    }
    // What was typed is kept; the fields without failures are not marked.
    assert!(input_tag(&page.body, "packageName").contains(r#"value="Onboarding &#60;Suite&#62;""#));
    assert!(input_tag(&page.body, "version").contains(r#"value="2.1""#));
    assert!(!input_tag(&page.body, "description").contains("aria-invalid"));
    assert!(
        page.body
            .contains(">Complete onboarding workflow</textarea>")
    );

    // Empty required fields are "required", as the API says of missing ones.
    let empty = post(
        &app,
        "/console/tenants/tenant-7f3a9b12/export",
        &cookies,
        &export_form(
            &csrf,
            &[("packageName", ""), ("version", ""), ("artifactIds", " ")],
        ),
    )
    .await;
    assert_eq!(empty.status, 400);
    assert!(errors_at(&empty.body, "packageName").contains("packageName is required."));
    assert!(errors_at(&empty.body, "version").contains("version is required."));
    assert!(
        errors_at(&empty.body, "artifactIds")
            .contains("artifactIds must list at least one artifact id.")
    );
}

#[tokio::test]
async fn the_export_form_is_refused_as_the_api_refuses_it() {
    let app = TestApp::new().await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let csrf = csrf_of(&cookies);
    let session_only = cookies.split(';').next().unwrap().to_owned();

    // Without the CSRF token: nothing is exported.
    for (cookies, csrf) in [
        (cookies.as_str(), "0".repeat(64)),
        (session_only.as_str(), csrf.clone()),
    ] {
        let page = post(
            &app,
            "/console/tenants/tenant-7f3a9b12/export",
            cookies,
            &export_form(&csrf, &[]),
        )
        .await;
        assert_eq!(page.status, 403, "{page:#?}");
        assert!(page.body.contains("CSRF token is missing or wrong"));
    }
    let packages = app
        .get("/api/installhub/tenants/tenant-7f3a9b12/packages")
        .await;
    assert_eq!(packages.status, 200, "{:?}", packages.json());
    assert!(
        !String::from_utf8_lossy(&packages.body).contains("pkg-"),
        "the refused forms exported nothing"
    );

    // A token for the other tenant only, and one without the export
    // scope: the API's refusal, as a page, for the form and its post.
    let other = Token::full().tenants(&[TARGET]).mint();
    let reader = Token::full().scopes(&["installhub:import"]).mint();
    for token in [other, reader] {
        let cookies = sign_in(&app, &token).await;
        let csrf = csrf_of(&cookies);
        let api = app
            .post_as(
                &token,
                "/api/installhub/packages/export",
                &crate::common::seed_export(),
            )
            .await;
        assert_eq!(api.status, 403);
        let message = escaped(api.json()["message"].as_str().unwrap());
        let page = post(
            &app,
            "/console/tenants/tenant-7f3a9b12/export",
            &cookies,
            &export_form(&csrf, &[]),
        )
        .await;
        assert_eq!(page.status, 403, "{}", page.body);
        assert!(page.body.contains(&message), "{message}: {}", page.body);
        assert!(!page.body.contains("name=\"packageName\""), "no form");
        let form = get(&app, "/console/tenants/tenant-7f3a9b12/export", &cookies).await;
        assert_eq!(form.status, 403);
    }

    // Not signed in: to the sign-in page, before anything is read.
    let page = post(
        &app,
        "/console/tenants/tenant-7f3a9b12/export",
        &format!("installhub_csrf={csrf}"),
        &export_form(&csrf, &[]),
    )
    .await;
    assert_eq!(page.status, 303);
    assert_eq!(page.header("location"), "/console/sign-in");
    // An expired session says so.
    let expired = Token::full()
        .set("exp", json!(chrono::Utc::now().timestamp() - 60))
        .mint();
    let page = post(
        &app,
        "/console/tenants/tenant-7f3a9b12/export",
        &format!("installhub_session={expired}; installhub_csrf={csrf}"),
        &export_form(&csrf, &[]),
    )
    .await;
    assert_eq!(page.status, 401, "{page:#?}");
    assert!(page.body.contains("Your session has expired"));
    // A body far over the limit, and a tenant id that is not one: pages
    // that say so.
    let huge = "x".repeat(20 * 1024 * 1024);
    let page = post(
        &app,
        "/console/tenants/tenant-7f3a9b12/export",
        &cookies,
        &export_form(&csrf, &[("description", &huge)]),
    )
    .await;
    assert_eq!(page.status, 413, "{}", page.status);
    assert!(page.header("content-type").starts_with("text/html"));
    let page = post(
        &app,
        "/console/tenants/NOT_A_TENANT/export",
        &cookies,
        &export_form(&csrf, &[]),
    )
    .await;
    assert_eq!(page.status, 400);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.body.contains("NOT_A_TENANT"), "{}", page.body);
    // A tenant that does not exist, for a token naming every tenant: the
    // API's answer (400 InvalidTenantId), as a page.
    let star = Token::full().tenants(&["*"]).mint();
    let star_cookies = sign_in(&app, &star).await;
    let mut body = crate::common::seed_export();
    body["tenantId"] = json!("tenant-missing");
    let api = app
        .post_as(&star, "/api/installhub/packages/export", &body)
        .await;
    api.expect_error(400, "InvalidTenantId");
    let page = post(
        &app,
        "/console/tenants/tenant-missing/export",
        &star_cookies,
        &export_form(&csrf_of(&star_cookies), &[]),
    )
    .await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(
        page.body
            .contains(&escaped(api.json()["message"].as_str().unwrap()))
    );
    // A description over the API's 2000 characters is the API's failure,
    // at the description.
    let long = "d".repeat(2001);
    let page = post(
        &app,
        "/console/tenants/tenant-7f3a9b12/export",
        &cookies,
        &export_form(&csrf, &[("description", &long)]),
    )
    .await;
    assert_eq!(page.status, 400);
    assert!(
        errors_at(&page.body, "description")
            .contains("description is 2001 characters long; at most 2000 are allowed.")
    );
}

#[tokio::test]
async fn an_export_from_the_console_shows_its_package_and_gives_the_apis_bytes() {
    let app = TestApp::new().await;
    let token = Token::full().mint();
    let cookies = sign_in(&app, &token).await;
    let csrf = csrf_of(&cookies);
    let done = post(
        &app,
        "/console/tenants/tenant-7f3a9b12/export",
        &cookies,
        &export_form(&csrf, &[("packageDependencies", "HR Core @ ^1.2")]),
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let location = done.header("location").to_owned();
    let package_id = location.strip_prefix("/console/packages/").unwrap();
    assert!(package_id.starts_with("pkg-"), "{location}");

    let page = get(&app, &location, &cookies).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_console_headers(&page);
    let api = app
        .get_as(&token, &format!("/api/installhub/packages/{package_id}"))
        .await
        .json();
    let checksum = api["checksum"].as_str().unwrap();
    assert!(checksum.starts_with("sha256:"));
    assert!(
        page.body
            .contains(&format!(r#"<code class="checksum">{checksum}</code>"#))
    );
    assert!(page.body.contains(&format!("({} bytes)", api["sizeBytes"])));
    assert!(page.body.contains("engineer@company.com"));
    assert!(page.body.contains("HR Core <code>^1.2</code>"));
    // The manifest's artifacts, in install order, with type and version.
    let mut last = 0;
    for id in api["manifest"]["installOrder"].as_array().unwrap() {
        let at = page
            .body
            .find(&format!(r#"<td class="id">{}</td>"#, id.as_str().unwrap()))
            .unwrap_or_else(|| panic!("{id} listed"));
        assert!(at > last, "{id} in install order");
        last = at;
    }
    assert_eq!(
        api["manifest"]["installOrder"].as_array().unwrap().len(),
        api["artifactCount"].as_u64().unwrap() as usize
    );

    // The download link gives the API's bytes, headers and all.
    let href = format!("/console/packages/{package_id}/download");
    assert!(page.body.contains(&format!(r#"href="{href}""#)));
    let console = crate::page::client()
        .get(app.url(&href))
        .header("cookie", &cookies)
        .send()
        .await
        .unwrap();
    assert_eq!(console.status(), 200);
    let disposition = console.headers()["content-disposition"].clone();
    let etag = console.headers()["etag"].clone();
    assert_eq!(console.headers()["content-type"], "application/zip");
    let bytes = console.bytes().await.unwrap();
    let api_download = app
        .get_as(
            &token,
            &format!("/api/installhub/packages/{package_id}/download"),
        )
        .await;
    assert_eq!(api_download.status, 200);
    assert_eq!(bytes.as_ref(), api_download.body.as_slice());
    assert_eq!(api_download.header("etag").unwrap(), etag);
    assert_eq!(
        api_download.header("content-disposition").unwrap(),
        disposition
    );

    // The same name and version again: the API's conflict, at the version.
    let again = post(
        &app,
        "/console/tenants/tenant-7f3a9b12/export",
        &cookies,
        &export_form(&csrf, &[]),
    )
    .await;
    let api = app.export(&crate::common::seed_export()).await;
    let api = api.expect_error(409, "VersionConflict");
    assert_eq!(again.status, 409);
    assert!(errors_at(&again.body, "version").contains(&escaped(api["message"].as_str().unwrap())));

    // Another tenant's caller is told the package does not exist, as the
    // API tells them, and gets no bytes.
    let other = Token::full().tenants(&[TARGET]).mint();
    let cookies = sign_in(&app, &other).await;
    let api = app
        .get_as(&other, &format!("/api/installhub/packages/{package_id}"))
        .await;
    assert_eq!(api.status, 404);
    let message = escaped(api.json()["message"].as_str().unwrap());
    for path in [location.clone(), href] {
        let page = get(&app, &path, &cookies).await;
        assert_eq!(page.status, 404, "{path}");
        assert!(page.body.contains(&message), "{path}: {}", page.body);
        assert!(page.header("content-type").starts_with("text/html"));
    }
    let bad = get(&app, "/console/packages/not-a-package", &cookies).await;
    assert_eq!(bad.status, 400);
}
