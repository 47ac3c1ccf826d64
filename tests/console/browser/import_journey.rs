//! The import wizard end to end in the browser: upload a bundle that
//! replaces an artifact (with JavaScript, so htmx posts it with its
//! progress), read the scan and the diff, choose a strategy, confirm, read
//! the result and the history, roll back with its confirmation, and find
//! the artifact back in the catalog.

use fantoccini::Locator;
use serde_json::json;

use super::{Browser, Driver, browser_available, sign_in_with_token};
use crate::common::{TARGET, TestApp, Token, seed_export};
use crate::import::{exported_zip, own_form_in_target};

/// Whether the page scrolls sideways.
async fn overflows(browser: &Browser) -> bool {
    let sizes = browser
        .client
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    sizes[0].as_f64().unwrap() > sizes[1].as_f64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_wizard_journey() {
    if !browser_available() {
        return;
    }
    let app = TestApp::new().await;
    own_form_in_target(&app).await;
    // The target settles no conflict by itself: the user must choose.
    let reply = app
        .put(
            &format!("/api/installhub/tenants/{TARGET}"),
            &json!({"name": "Acme Subsidiary (demo target)", "plan": "Standard", "status": "Active",
                    "defaultConflictStrategy": "Fail"}),
        )
        .await;
    assert!(reply.status < 300, "{reply:?}");
    let zip = exported_zip(&app, &seed_export()).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("employee-onboarding-2.1.0.zip");
    std::fs::write(&bundle, &zip).unwrap();
    let driver = Driver::start();
    let token = Token::full().mint();
    let mut browser = Browser::open(&driver, "import").await;
    sign_in_with_token(&mut browser, &app, &token).await;

    // Upload, from the tenant's catalog.
    browser
        .goto(&app.url(&format!("/console/tenants/{TARGET}")))
        .await;
    browser.click(Locator::LinkText("Import a package")).await;
    browser.wait_for_heading("Import a package").await;
    browser.shot("upload-form").await;
    browser.check_accessibility().await;
    // A file that is no bundle: htmx posts it, and the API's refusal shows
    // in place of the form, with its code.
    let junk = dir.path().join("notes.zip");
    std::fs::write(&junk, b"not a zip at all").unwrap();
    upload(&browser, &junk).await;
    browser
        .wait_for_heading("That request cannot be answered")
        .await;
    let text = browser.body_text().await;
    assert!(text.contains("Error code InvalidZip"), "{text}");
    browser.shot("hostile-upload-refused").await;
    browser.check_accessibility().await;
    browser
        .click(Locator::LinkText("Upload another package"))
        .await;
    browser.wait_for_heading("Import a package").await;
    upload(&browser, &bundle).await;

    // The scan's verdict, and the refused dry run: the form conflicts.
    browser
        .wait_for_heading("Review Employee Onboarding Suite 2.1.0")
        .await;
    let text = browser.body_text().await;
    assert!(text.contains("Security scan: PASS"), "{text}");
    assert!(
        text.contains("Error code ConflictRequiresResolution"),
        "{text}"
    );
    assert!(text.contains("Changes to EmployeeForm"), "{text}");
    assert!(
        browser
            .client
            .find(Locator::Css("input[name=planId]"))
            .await
            .is_err(),
        "no plan to confirm yet"
    );
    browser.shot("scan-and-refused-plan").await;
    browser.check_accessibility().await;
    // The diff: the tenant's own field goes, the package's come.
    let diff = browser
        .client
        .find(Locator::Css("section.diff"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(diff.contains("/definition/local"), "{diff}");
    assert!(diff.contains("remove"), "{diff}");
    browser
        .client
        .execute(
            "document.querySelector('section.diff').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    browser.shot("diff").await;

    // Choose Replace for the form and update the plan.
    browser
        .client
        .find(Locator::Css("select#strategy-form-2005"))
        .await
        .unwrap()
        .select_by_value("Replace")
        .await
        .unwrap();
    browser.shot("strategy-chosen").await;
    browser
        .click(Locator::XPath(
            "//button[normalize-space()='Update the plan']",
        ))
        .await;
    browser
        .wait_for(
            Locator::Css("input[name=planId]"),
            "the plan with the strategy can be confirmed",
        )
        .await;
    let text = browser.body_text().await;
    assert!(text.contains("The import can run"), "{text}");
    browser.shot("plan-ready").await;
    browser.check_accessibility().await;
    // The same page at 360 px.
    browser.client.set_window_size(360, 780).await.unwrap();
    browser.client.refresh().await.unwrap();
    browser
        .wait_for_heading("Review Employee Onboarding Suite 2.1.0")
        .await;
    assert!(
        !overflows(&browser).await,
        "the review scrolls sideways at 360 px"
    );
    browser.shot("plan-ready-narrow").await;
    browser.client.set_window_size(1280, 900).await.unwrap();

    // Confirm: the result.
    browser
        .click(Locator::XPath("//button[normalize-space()='Import']"))
        .await;
    browser
        .wait_for(
            Locator::XPath("//h1[starts-with(normalize-space(), 'Upload imp-')]"),
            "the import's page",
        )
        .await;
    let text = browser.body_text().await;
    assert!(text.contains("Success"), "{text}");
    assert!(
        text.contains("form-2005 (EmployeeForm): Replace from 1.0.0"),
        "{text}"
    );
    browser.shot("result").await;
    browser.check_accessibility().await;
    let import_path = browser.path().await;
    let import_id = import_path.rsplit('/').next().unwrap().to_owned();

    // The history, from the header: choose the tenant, then it lists the
    // import and the installed package.
    browser.click(Locator::LinkText("History")).await;
    browser.wait_for_heading("Import history of…").await;
    browser.shot("history-choose-tenant").await;
    browser.check_accessibility().await;
    browser
        .click(Locator::LinkText("Acme Subsidiary (demo target)"))
        .await;
    browser
        .wait_for_heading("Import history of Acme Subsidiary (demo target)")
        .await;
    let text = browser.body_text().await;
    assert!(text.contains(&import_id), "{text}");
    assert!(text.contains("Employee Onboarding Suite"), "{text}");
    browser.shot("history").await;
    browser.check_accessibility().await;
    // Uninstall asks first, and cancelling changes nothing.
    browser
        .click(Locator::XPath(
            "//a[starts-with(normalize-space(), 'Uninstall')]",
        ))
        .await;
    browser
        .wait_for_heading("Uninstall Employee Onboarding Suite?")
        .await;
    let text = browser.body_text().await;
    assert!(text.contains("Mark these artifacts Deleted"), "{text}");
    browser.shot("uninstall-confirmation").await;
    browser.check_accessibility().await;
    browser.click(Locator::LinkText("Cancel")).await;
    browser
        .wait_for_heading("Import history of Acme Subsidiary (demo target)")
        .await;
    assert!(browser.body_text().await.contains("Installed"));

    // Rollback, with its confirmation.
    browser.click(Locator::LinkText(&import_id)).await;
    browser.click(Locator::LinkText("Roll back…")).await;
    browser
        .wait_for_heading(&format!("Roll back import {import_id}?"))
        .await;
    let text = browser.body_text().await;
    assert!(text.contains("form-2005: put back as it was."), "{text}");
    browser.shot("rollback-confirmation").await;
    browser.check_accessibility().await;
    browser
        .click(Locator::XPath("//button[normalize-space()='Roll back']"))
        .await;
    browser
        .wait_for(
            Locator::XPath("//h1[starts-with(normalize-space(), 'Rollback imp-')]"),
            "the rollback's page",
        )
        .await;
    browser.shot("rolled-back").await;
    browser.check_accessibility().await;

    // The form is back as it was, in the catalog.
    browser
        .goto(&app.url(&format!("/console/tenants/{TARGET}?q=EmployeeForm")))
        .await;
    browser
        .wait_for(
            Locator::XPath("//tr[td[normalize-space()='form-2005']]/td[normalize-space()='1.0.0']"),
            "form-2005 back at 1.0.0",
        )
        .await;
    browser.shot("artifact-back").await;
    browser.close().await;
}

/// Chooses `file` in the upload form and sends it, as a person would.
async fn upload(browser: &Browser, file: &std::path::Path) {
    browser
        .client
        .find(Locator::Css("input#package"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    browser
        .click(Locator::XPath(
            "//button[normalize-space()='Upload and scan']",
        ))
        .await;
}
