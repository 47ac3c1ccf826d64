//! The console's import wizard and import history over plain HTTP: the
//! whole flow, CSRF on every form, the API's permissions, uploads bound to
//! their user and tenant, hostile archives, and escaping in the diff.

use reqwest::header::COOKIE;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::common::{SOURCE, TARGET, TestApp, Token, seed_export};
use crate::page::{Page, client, get, post, send, sign_in};

fn csrf_of(cookies: &str) -> String {
    cookies.split("installhub_csrf=").nth(1).unwrap().to_owned()
}

/// Exports `request` from the source tenant and downloads its ZIP.
pub async fn exported_zip(app: &TestApp, request: &Value) -> Vec<u8> {
    let reply = app.export(request).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let id = reply.json()["packageId"].as_str().unwrap().to_owned();
    let zip = app
        .get(&format!("/api/installhub/packages/{id}/download"))
        .await;
    assert_eq!(zip.status, 200);
    zip.body
}

/// The target's form-2005 at 1.0.0 with content of its own, so the seed
/// package replaces it.
pub async fn own_form_in_target(app: &TestApp) {
    let reply = app
        .put_artifact(
            TARGET,
            "form-2005",
            json!({"type": "AtlasForm", "name": "EmployeeForm", "version": "1.0.0",
                   "status": "Active", "definition": {"local": true}, "references": []}),
        )
        .await;
    assert!(reply.status < 300, "{reply:?}");
}

/// Posts the upload form as the page does: `csrf` (when given) first,
/// then the package.
async fn upload(
    app: &TestApp,
    cookies: &str,
    tenant: &str,
    csrf: Option<&str>,
    zip: &[u8],
) -> Page {
    let mut form = Form::new();
    if let Some(csrf) = csrf {
        form = form.text("csrf", csrf.to_owned());
    }
    form = form.part(
        "package",
        Part::bytes(zip.to_vec())
            .file_name("bundle.zip")
            .mime_str("application/zip")
            .unwrap(),
    );
    let mut request = client()
        .post(app.url(&format!("/console/tenants/{tenant}/uploads")))
        .multipart(form);
    if !cookies.is_empty() {
        request = request.header(COOKIE, cookies);
    }
    send(request).await
}

/// Uploads `zip` into the target and answers the review page's address.
async fn uploaded(app: &TestApp, cookies: &str, zip: &[u8]) -> String {
    let page = upload(app, cookies, TARGET, Some(&csrf_of(cookies)), zip).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let location = page.header("location").to_owned();
    assert!(
        location.starts_with(&format!("/console/tenants/{TARGET}/import/")),
        "{location}"
    );
    location
}

/// The value of the hidden `planId` field.
fn plan_id(body: &str) -> String {
    let marker = r#"name="planId" value=""#;
    let start = body.find(marker).expect("a confirm form") + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

fn uploads_dir(app: &TestApp) -> std::path::PathBuf {
    app.server.state.config().data_dir.join("console-uploads")
}

/// How many uploads wait with their bundle.
fn kept_uploads(app: &TestApp) -> usize {
    std::fs::read_dir(uploads_dir(app))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().join("bundle.zip").exists())
                .count()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn the_wizard_scans_plans_imports_and_rolls_back_through_the_api() {
    let app = TestApp::new().await;
    own_form_in_target(&app).await;
    let zip = exported_zip(&app, &seed_export()).await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let csrf = csrf_of(&cookies);

    let form = get(&app, &format!("/console/tenants/{TARGET}/import"), &cookies).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains(r#"enctype="multipart/form-data""#));
    assert!(form.body.contains(r#"hx-encoding="multipart/form-data""#));

    // With JavaScript, htmx posts the form (to show its progress) and is
    // told where to go next; without, the form posts and is redirected.
    let htmx = send(
        client()
            .post(app.url(&format!("/console/tenants/{TARGET}/uploads")))
            .header(COOKIE, &cookies)
            .header("hx-request", "true")
            .multipart(
                Form::new()
                    .text("csrf", csrf.clone())
                    .part("package", Part::bytes(zip.clone()).file_name("b.zip")),
            ),
    )
    .await;
    assert_eq!(htmx.status, 200, "{}", htmx.body);
    let discard = format!("{}/discard", htmx.header("hx-redirect"));
    assert!(
        discard.starts_with(&format!("/console/tenants/{TARGET}/import/")),
        "{discard}"
    );
    let gone = post(&app, &discard, &cookies, &[("csrf", &csrf)]).await;
    assert_eq!(gone.status, 303);
    assert_eq!(kept_uploads(&app), 0);

    let review = uploaded(&app, &cookies, &zip).await;
    assert_eq!(kept_uploads(&app), 1);
    let page = get(&app, &review, &cookies).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Security scan"), "{}", page.body);
    assert!(page.body.contains("verdict-PASS"), "{}", page.body);
    // The target's own form is replaced: its changes are listed by field.
    assert!(page.body.contains("action-Replace"), "{}", page.body);
    assert!(
        page.body.contains("Changes to EmployeeForm"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<code>/definition/local</code>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"name="strategy-form-2005""#));
    let first_plan = plan_id(&page.body);
    assert!(first_plan.starts_with("plan-"), "{first_plan}");

    // Skipping the form makes a new plan, without changing anything.
    let skipped = post(
        &app,
        &format!("{review}/plan"),
        &cookies,
        &[("csrf", &csrf), ("strategy-form-2005", "Skip")],
    )
    .await;
    assert_eq!(skipped.status, 303, "{}", skipped.body);
    let page = get(&app, &review, &cookies).await;
    assert!(page.body.contains("action-Skip"), "{}", page.body);
    let skip_plan = plan_id(&page.body);
    assert_ne!(skip_plan, first_plan);
    // An unknown strategy is the API's refusal, with its code.
    let wrong = post(
        &app,
        &format!("{review}/plan"),
        &cookies,
        &[("csrf", &csrf), ("strategy-form-2005", "Merge")],
    )
    .await;
    assert_eq!(wrong.status, 303);
    let page = get(&app, &review, &cookies).await;
    assert!(
        page.body.contains("Error code InvalidConflictStrategy"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(r#"name="planId""#),
        "no plan to confirm"
    );
    // Back to Replace.
    let replaced = post(
        &app,
        &format!("{review}/plan"),
        &cookies,
        &[("csrf", &csrf), ("strategy-form-2005", "Replace")],
    )
    .await;
    assert_eq!(replaced.status, 303);
    let page = get(&app, &review, &cookies).await;
    let plan = plan_id(&page.body);

    // A pin the tenant no longer matches is refused, readable, with its
    // code; nothing was installed and the upload stays.
    let stale = post(
        &app,
        &format!("{review}/confirm"),
        &cookies,
        &[("csrf", &csrf), ("planId", &skip_plan)],
    )
    .await;
    assert_eq!(stale.status, 409, "{}", stale.body);
    assert!(
        stale.body.contains("Error code PlanOutdated"),
        "{}",
        stale.body
    );
    assert!(
        !stale.body.contains("&#34;:"),
        "no JSON dump: {}",
        stale.body
    );
    assert_eq!(kept_uploads(&app), 1);

    let done = post(
        &app,
        &format!("{review}/confirm"),
        &cookies,
        &[("csrf", &csrf), ("planId", &plan)],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let result = done.header("location").to_owned();
    assert!(result.starts_with("/console/imports/imp-"), "{result}");
    assert_eq!(kept_uploads(&app), 0, "the upload goes after its import");
    let import_id = result.rsplit('/').next().unwrap().to_owned();
    let page = get(&app, &result, &cookies).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Success"), "{}", page.body);
    assert!(
        page.body
            .contains("form-2005 (EmployeeForm): Replace from 1.0.0"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("/console/imports/{import_id}/rollback"))
    );
    // The API's record says the same.
    let record = app
        .get(&format!("/api/installhub/imports/{import_id}"))
        .await;
    assert_eq!(record.json()["status"], "Success");
    assert_eq!(record.json()["result"]["planId"], json!(plan));

    // The history lists it, with the installed package.
    let history = get(
        &app,
        &format!("/console/tenants/{TARGET}/imports"),
        &cookies,
    )
    .await;
    assert_eq!(history.status, 200);
    assert!(history.body.contains(&import_id));
    assert!(history.body.contains("Employee Onboarding Suite"));
    assert!(
        history
            .body
            .contains("/installed-packages/Employee%20Onboarding%20Suite/uninstall")
    );

    // Rollback: the confirmation says what will be undone and changes
    // nothing; the post rolls back.
    let confirm = get(
        &app,
        &format!("/console/imports/{import_id}/rollback"),
        &cookies,
    )
    .await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains("form-2005: put back as it was."),
        "{}",
        confirm.body
    );
    let form_now = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/form-2005"
        ))
        .await;
    assert_ne!(
        form_now.json()["version"],
        "1.0.0",
        "the confirmation changed nothing"
    );
    let rolled = post(
        &app,
        &format!("/console/imports/{import_id}/rollback"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(rolled.status, 303, "{}", rolled.body);
    let form_back = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/artifacts/form-2005"
        ))
        .await;
    assert_eq!(form_back.json()["version"], "1.0.0");
    assert_eq!(form_back.json()["definition"], json!({"local": true}));
    let rollback_page = get(&app, rolled.header("location"), &cookies).await;
    assert!(
        rollback_page.body.contains("Rollback"),
        "{}",
        rollback_page.body
    );
    // Rolling back twice is the API's refusal, as a page with its code.
    let again = post(
        &app,
        &format!("/console/imports/{import_id}/rollback"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body.contains("Error code ImportNotRollbackable"),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn an_installed_package_is_uninstalled_after_its_confirmation() {
    let app = TestApp::new().await;
    let zip = exported_zip(&app, &seed_export()).await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let csrf = csrf_of(&cookies);
    let review = uploaded(&app, &cookies, &zip).await;
    let page = get(&app, &review, &cookies).await;
    let done = post(
        &app,
        &format!("{review}/confirm"),
        &cookies,
        &[("csrf", &csrf), ("planId", &plan_id(&page.body))],
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let path = format!(
        "/console/tenants/{TARGET}/installed-packages/Employee%20Onboarding%20Suite/uninstall"
    );
    let confirm = get(&app, &path, &cookies).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(
        confirm.body.contains("Mark these artifacts Deleted"),
        "{}",
        confirm.body
    );
    assert!(confirm.body.contains("proc-1001"));
    let installed = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/installed-packages"
        ))
        .await;
    assert_eq!(
        installed.json()["installedPackages"][0]["status"],
        "Installed"
    );
    let gone = post(&app, &path, &cookies, &[("csrf", &csrf)]).await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    let installed = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/installed-packages"
        ))
        .await;
    assert_eq!(
        installed.json()["installedPackages"][0]["status"],
        "Uninstalled"
    );
    let record = get(&app, gone.header("location"), &cookies).await;
    assert!(
        record.body.contains("Artifacts marked Deleted"),
        "{}",
        record.body
    );
    // Not installed any more: the API's 404, with its code.
    let again = get(&app, &path, &cookies).await;
    assert_eq!(again.status, 404);
    assert!(
        again.body.contains("Error code PackageNotInstalled"),
        "{}",
        again.body
    );
}

#[tokio::test]
async fn every_new_form_refuses_a_post_without_its_csrf_token() {
    let app = TestApp::new().await;
    let zip = exported_zip(&app, &seed_export()).await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let csrf = csrf_of(&cookies);
    let review = uploaded(&app, &cookies, &zip).await;
    let page = get(&app, &review, &cookies).await;
    let plan = plan_id(&page.body);
    let before = app
        .get(&format!("/api/installhub/tenants/{TARGET}/imports"))
        .await;

    // The upload: no token, a wrong one, or the token not first.
    for csrf_part in [None, Some("0".repeat(64))] {
        let page = upload(&app, &cookies, TARGET, csrf_part.as_deref(), &zip).await;
        assert_eq!(page.status, 403, "{csrf_part:?}: {}", page.body);
        assert!(page.body.contains("CSRF token is missing or wrong"));
    }
    let late = send(
        client()
            .post(app.url(&format!("/console/tenants/{TARGET}/uploads")))
            .header(COOKIE, &cookies)
            .multipart(
                Form::new()
                    .part("package", Part::bytes(zip.clone()).file_name("b.zip"))
                    .text("csrf", csrf.clone()),
            ),
    )
    .await;
    assert_eq!(late.status, 403, "{}", late.body);
    assert_eq!(kept_uploads(&app), 1, "no refused upload was kept");

    // Every other form, with a wrong token and with none.
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("{review}/plan"),
            vec![("strategy-form-2005", "Skip")],
        ),
        (format!("{review}/confirm"), vec![("planId", plan.as_str())]),
        (format!("{review}/discard"), vec![]),
    ];
    for (path, fields) in &forms {
        for token in ["", "f00d"] {
            let mut form = fields.clone();
            if !token.is_empty() {
                form.push(("csrf", token));
            }
            let page = post(&app, path, &cookies, &form).await;
            assert_eq!(page.status, 403, "{path}: {}", page.body);
            assert!(
                page.body.contains("CSRF token is missing or wrong"),
                "{path}"
            );
        }
    }
    assert_eq!(kept_uploads(&app), 1, "nothing was discarded");
    let after = app
        .get(&format!("/api/installhub/tenants/{TARGET}/imports"))
        .await;
    assert_eq!(
        before.json()["imports"].as_array().unwrap().len(),
        after.json()["imports"].as_array().unwrap().len(),
        "no dry run or import ran"
    );

    // Rollback and uninstall need the token too.
    let done = post(
        &app,
        &format!("{review}/confirm"),
        &cookies,
        &[("csrf", &csrf), ("planId", &plan)],
    )
    .await;
    assert_eq!(done.status, 303);
    let result = done.header("location").to_owned();
    for path in [
        format!("{result}/rollback"),
        format!(
            "/console/tenants/{TARGET}/installed-packages/Employee%20Onboarding%20Suite/uninstall"
        ),
    ] {
        let page = post(&app, &path, &cookies, &[("csrf", "wrong")]).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        let page = post(&app, &path, &cookies, &[]).await;
        assert_eq!(page.status, 403, "{path}");
    }
    let installed = app
        .get(&format!(
            "/api/installhub/tenants/{TARGET}/installed-packages"
        ))
        .await;
    assert_eq!(
        installed.json()["installedPackages"][0]["status"],
        "Installed"
    );

    // Discarding with the token removes the upload.
    let review = uploaded(&app, &cookies, &zip).await;
    assert_eq!(kept_uploads(&app), 1);
    let discarded = post(
        &app,
        &format!("{review}/discard"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(discarded.status, 303);
    assert_eq!(kept_uploads(&app), 0);
    assert_eq!(get(&app, &review, &cookies).await.status, 404);
}

#[tokio::test]
async fn the_wizard_and_history_keep_the_apis_permissions() {
    let app = TestApp::new().await;
    let zip = exported_zip(&app, &seed_export()).await;

    // A viewer (no installhub:import) can neither import nor read history.
    let viewer = Token::full()
        .scopes(&["installhub:export"])
        .sub("viewer-1")
        .mint();
    let cookies = sign_in(&app, &viewer).await;
    for path in [
        format!("/console/tenants/{TARGET}/import"),
        format!("/console/tenants/{TARGET}/imports"),
    ] {
        let page = get(&app, &path, &cookies).await;
        assert_eq!(page.status, 403, "{path}: {}", page.body);
        assert!(
            page.body.contains("Error code InsufficientPermission"),
            "{path}: {}",
            page.body
        );
    }
    let page = upload(&app, &cookies, TARGET, Some(&csrf_of(&cookies)), &zip).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("InsufficientPermission"),
        "{}",
        page.body
    );
    assert_eq!(kept_uploads(&app), 0, "refused before the package was kept");

    // A token for the source tenant only cannot import into the target.
    let other = Token::full().tenants(&[SOURCE]).sub("source-only").mint();
    let cookies = sign_in(&app, &other).await;
    let page = upload(&app, &cookies, TARGET, Some(&csrf_of(&cookies)), &zip).await;
    assert_eq!(page.status, 403, "{}", page.body);
    assert!(
        page.body.contains("Error code TenantAccessDenied"),
        "{}",
        page.body
    );
    let page = get(
        &app,
        &format!("/console/tenants/{TARGET}/imports"),
        &cookies,
    )
    .await;
    assert_eq!(page.status, 403);

    // Another user's import is not found, as in the API.
    let owner = sign_in(&app, &Token::full().mint()).await;
    let review = uploaded(&app, &owner, &zip).await;
    let page = get(&app, &review, &owner).await;
    let done = post(
        &app,
        &format!("{review}/confirm"),
        &owner,
        &[("csrf", &csrf_of(&owner)), ("planId", &plan_id(&page.body))],
    )
    .await;
    let result = done.header("location").to_owned();
    let page = get(&app, &result, &cookies).await;
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(page.body.contains("Error code ImportNotFound"));
    let page = post(
        &app,
        &format!("{result}/rollback"),
        &cookies,
        &[("csrf", &csrf_of(&cookies))],
    )
    .await;
    assert_eq!(page.status, 404, "{}", page.body);
}

#[tokio::test]
async fn an_upload_is_only_its_users_and_its_tenants() {
    let app = TestApp::new().await;
    let zip = exported_zip(&app, &seed_export()).await;
    let owner = sign_in(&app, &Token::full().mint()).await;
    let review = uploaded(&app, &owner, &zip).await;
    let upload_id = review.rsplit('/').next().unwrap().to_owned();
    assert_eq!(upload_id.len(), 64);

    // Same tenants and scopes, another subject.
    let someone = sign_in(&app, &Token::full().sub("user-43").mint()).await;
    let csrf = csrf_of(&someone);
    let page = get(&app, &review, &someone).await;
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(page.body.contains("This upload does not exist"));
    for (action, form) in [
        (
            "plan",
            vec![("csrf", csrf.as_str()), ("strategy-form-2005", "Skip")],
        ),
        (
            "confirm",
            vec![("csrf", csrf.as_str()), ("planId", "plan-0")],
        ),
        ("discard", vec![("csrf", csrf.as_str())]),
    ] {
        let page = post(&app, &format!("{review}/{action}"), &someone, &form).await;
        assert_eq!(page.status, 404, "{action}: {}", page.body);
    }
    // The owner, through another tenant's address.
    let page = get(
        &app,
        &format!("/console/tenants/{SOURCE}/import/{upload_id}"),
        &owner,
    )
    .await;
    assert_eq!(page.status, 404, "{}", page.body);
    // A malformed id.
    let page = get(
        &app,
        &format!("/console/tenants/{TARGET}/import/..%2Fetc"),
        &owner,
    )
    .await;
    assert_eq!(page.status, 404, "{}", page.body);
    // Still there for its owner.
    assert_eq!(get(&app, &review, &owner).await.status, 200);
    assert_eq!(kept_uploads(&app), 1);

    // At most three waiting uploads per user.
    for _ in 0..2 {
        uploaded(&app, &owner, &zip).await;
    }
    let page = upload(&app, &owner, TARGET, Some(&csrf_of(&owner)), &zip).await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(
        page.body.contains("Error code RateLimitExceeded"),
        "{}",
        page.body
    );
    assert_eq!(kept_uploads(&app), 3);
}

#[tokio::test]
async fn a_hostile_archive_is_refused_as_the_api_refuses_it() {
    let app = TestApp::new().await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let csrf = csrf_of(&cookies);
    let page = upload(&app, &cookies, TARGET, Some(&csrf), b"not a zip at all").await;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.body.contains("Error code InvalidZip"), "{}", page.body);
    assert!(page.header("content-type").starts_with("text/html"));
    // The API answers the same code for the same bytes.
    let api = app
        .post_form(
            "/api/installhub/packages/scan",
            Form::new().part(
                "package",
                Part::bytes(b"not a zip at all".to_vec()).file_name("x.zip"),
            ),
        )
        .await;
    assert_eq!(api.status, 400);
    assert_eq!(api.json()["error"], "InvalidZip");
    assert_eq!(kept_uploads(&app), 0, "nothing refused is kept");
    assert!(
        std::fs::read_dir(uploads_dir(&app))
            .unwrap()
            .next()
            .is_none(),
        "no directory is left behind"
    );
}

#[tokio::test]
async fn an_artifact_named_like_a_script_shows_as_text_in_the_diff() {
    let app = TestApp::new().await;
    let name = "<script>alert(1)</script>";
    for (tenant, version) in [(SOURCE, "1.1.0"), (TARGET, "1.0.0")] {
        let reply = app
            .put_artifact(
                tenant,
                "xss-1",
                json!({"type": "AtlasForm", "name": name, "version": version,
                       "status": "Published", "definition": {"label": format!("{name} {tenant}")}}),
            )
            .await;
        assert!(reply.status < 300, "{reply:?}");
    }
    let mut request = seed_export();
    request["artifactIds"] = json!(["xss-1"]);
    request["packageName"] = json!("Scripted");
    let zip = exported_zip(&app, &request).await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let review = uploaded(&app, &cookies, &zip).await;
    let page = get(&app, &review, &cookies).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("Changes to &#60;script&#62;alert(1)&#60;/script&#62;"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("<code>/definition/label</code>"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
}

#[tokio::test]
async fn a_failing_scan_shows_each_finding_at_its_pointer_and_offers_no_import() {
    let app = TestApp::new().await;
    let reply = app
        .put_artifact(
            SOURCE,
            "app-9",
            json!({"type": "AppDefinition", "name": "Scripted", "version": "1.0.0",
                   "status": "Published", "references": [], "libraries": [],
                   "definition": {"steps": [{"script": "var f = window['ev' + 'al']; f(input.code)"}]}}),
        )
        .await;
    assert!(reply.status < 300, "{reply:?}");
    let zip = exported_zip(
        &app,
        &json!({"tenantId": SOURCE, "packageName": "Scripted App", "packageType": "app-package",
                "version": "1.0.0", "artifactIds": ["app-9"]}),
    )
    .await;
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let review = uploaded(&app, &cookies, &zip).await;
    let page = get(&app, &review, &cookies).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("verdict-FAIL"), "{}", page.body);
    assert!(
        page.body.contains("<code>/steps/0/script</code>"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Error code SecurityScanFailed"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(r#"name="planId""#),
        "nothing to confirm"
    );
    // Confirming anyway (a hand-made post) is the API's refusal.
    let forced = post(
        &app,
        &format!("{review}/confirm"),
        &cookies,
        &[
            ("csrf", &csrf_of(&cookies)),
            ("planId", &format!("plan-{}", "0".repeat(64))),
        ],
    )
    .await;
    assert_eq!(forced.status, 403, "{}", forced.body);
    assert!(
        forced.body.contains("Error code SecurityScanFailed"),
        "{}",
        forced.body
    );
    assert!(forced.body.contains("Finding "), "{}", forced.body);
    let artifacts = app
        .get(&format!("/api/installhub/tenants/{TARGET}/artifacts/app-9"))
        .await;
    assert_eq!(artifacts.status, 404, "nothing was installed");
}

#[tokio::test]
async fn an_upload_over_the_largest_plans_size_is_stopped_as_the_api_stops_it() {
    let app = TestApp::with_config(|c| {
        c.limits.standard_plan.max_package_bytes = 1_000;
        c.limits.enterprise_plan.max_package_bytes = 1_500;
    })
    .await;
    let zip = exported_zip(&app, &seed_export()).await;
    assert!(
        zip.len() > 1_500,
        "the seed package is larger than the limit"
    );
    let cookies = sign_in(&app, &Token::full().mint()).await;
    let page = upload(&app, &cookies, TARGET, Some(&csrf_of(&cookies)), &zip).await;
    assert_eq!(page.status, 413, "{}", page.body);
    assert!(
        page.body.contains("Error code PayloadTooLarge"),
        "{}",
        page.body
    );
    assert!(page.body.contains("1500 bytes"), "{}", page.body);
    assert_eq!(kept_uploads(&app), 0);
    // The API's upload route says the same.
    let api = app
        .post_form(
            "/api/installhub/packages/scan",
            Form::new().part("package", Part::bytes(zip).file_name("x.zip")),
        )
        .await;
    assert_eq!(api.status, 413);
    assert_eq!(api.json()["error"], "PayloadTooLarge");
}

#[tokio::test]
async fn a_major_upgrade_is_allowed_by_its_box_with_the_apis_scope() {
    let app = TestApp::new().await;
    let reply = app
        .put_artifact(
            TARGET,
            "form-2005",
            json!({"type": "AtlasForm", "name": "EmployeeForm", "version": "0.9.0",
                   "status": "Active", "definition": {"local": true}, "references": []}),
        )
        .await;
    assert!(reply.status < 300, "{reply:?}");
    let zip = exported_zip(&app, &seed_export()).await;
    let mut scopes = crate::common::ALL_SCOPES.to_vec();
    scopes.push("installhub:import:override-major-version");
    let cookies = sign_in(&app, &Token::full().scopes(&scopes).mint()).await;
    let csrf = csrf_of(&cookies);
    let review = uploaded(&app, &cookies, &zip).await;
    let page = get(&app, &review, &cookies).await;
    assert!(
        page.body
            .contains("Error code MajorVersionUpgradeNotAllowed"),
        "{}",
        page.body
    );
    assert!(page.body.contains(r#"name="allowMajorVersionUpgrade""#));
    assert!(
        !page.body.contains(r#"name="allowSecurityWarnings""#),
        "the scan passed"
    );
    assert!(!page.body.contains(r#"name="planId""#));
    let ticked = post(
        &app,
        &format!("{review}/plan"),
        &cookies,
        &[("csrf", &csrf), ("allowMajorVersionUpgrade", "true")],
    )
    .await;
    assert_eq!(ticked.status, 303);
    let page = get(&app, &review, &cookies).await;
    assert!(page.body.contains(r#"name="planId""#), "{}", page.body);
    assert!(
        page.body.contains(r#"value="true" checked"#),
        "{}",
        page.body
    );

    // Without the scope, ticking the box is the API's refusal.
    let plain = sign_in(&app, &Token::full().sub("user-44").mint()).await;
    let review = uploaded(&app, &plain, &zip).await;
    let ticked = post(
        &app,
        &format!("{review}/plan"),
        &plain,
        &[
            ("csrf", &csrf_of(&plain)),
            ("allowMajorVersionUpgrade", "true"),
        ],
    )
    .await;
    assert_eq!(ticked.status, 303);
    let page = get(&app, &review, &plain).await;
    assert!(
        page.body.contains("Error code InsufficientPermission"),
        "{}",
        page.body
    );
}
