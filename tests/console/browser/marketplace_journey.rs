//! The marketplace journey in the browser: search, a listing, an install
//! into a tenant with the Community acknowledgment, its progress pushed to
//! the open page until Success, then the notification, marked read.
//!
//! The server fetches bundles through a PublicHub in front of itself that
//! holds every bundle download until the test lets it go, so the install
//! page is certainly open while the install runs; nothing waits on time.

use fantoccini::Locator;
use serde_json::json;

use super::{Browser, Driver, browser_available, sign_in_with_token};
use crate::common::TARGET;
use crate::marketplace::{app_behind_gate, installer_token, publish};

async fn text_of(browser: &Browser, css: &str) -> String {
    browser
        .client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|_| panic!("{css}"))
        .text()
        .await
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The page is no wider than the window.
async fn fits(browser: &Browser) {
    let widths = browser
        .client
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        widths[0].as_f64().unwrap() <= widths[1].as_f64().unwrap(),
        "the page scrolls sideways: {widths}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn marketplace_install_followed_to_success() {
    if !browser_available() {
        return;
    }
    let (app, gate) = app_behind_gate().await;
    publish(
        &app,
        "2.1.0",
        "Onboarding workflows, forms and rules for HR teams.",
        "Acme HR Platform Team",
    )
    .await;
    let driver = Driver::start();
    let token = installer_token().mint();
    let mut browser = Browser::open(&driver, "marketplace").await;
    sign_in_with_token(&mut browser, &app, &token).await;

    // Search.
    browser.click(Locator::LinkText("Marketplace")).await;
    browser.wait_for_heading("Marketplace").await;
    browser.shot("marketplace").await;
    browser.check_accessibility().await;
    let q = browser.client.find(Locator::Id("q")).await.unwrap();
    q.send_keys("onboarding").await.unwrap();
    browser
        .click(Locator::XPath("//button[normalize-space()='Search']"))
        .await;
    browser
        .wait_for(
            Locator::XPath(
                "//ul[@class='listings']//a[normalize-space()='Employee Onboarding Suite']",
            ),
            "the search finds the listing",
        )
        .await;
    assert_eq!(
        text_of(&browser, ".listing .trust").await,
        "Community",
        "a trust badge"
    );
    browser.shot("search-results").await;
    browser.check_accessibility().await;

    // The listing.
    browser
        .click(Locator::LinkText("Employee Onboarding Suite"))
        .await;
    browser.wait_for_heading("Employee Onboarding Suite").await;
    let versions = text_of(&browser, "table tbody").await;
    assert!(versions.contains("2.1.0"), "{versions}");
    assert!(versions.contains("PASS"), "{versions}");
    assert!(versions.contains("Valid (Ed25519"), "{versions}");
    browser.shot("listing").await;
    browser.check_accessibility().await;

    // Install into the target without the acknowledgment: refused at the box.
    browser
        .client
        .find(Locator::Css("select#targetTenantId"))
        .await
        .unwrap()
        .select_by_value(TARGET)
        .await
        .unwrap();
    browser
        .click(Locator::XPath("//button[normalize-space()='Install']"))
        .await;
    browser
        .wait_for(
            Locator::Id("acknowledgeCommunityPackage-error"),
            "the acknowledgment is asked for",
        )
        .await;
    assert_eq!(
        super::attribute(&browser, "acknowledgeCommunityPackage", "aria-invalid")
            .await
            .as_deref(),
        Some("true")
    );
    let chosen = browser
        .client
        .execute(
            "return document.getElementById('targetTenantId').value;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(chosen, json!(TARGET), "the choice is kept");
    browser
        .client
        .execute(
            "document.getElementById('error-summary').scrollIntoView(); return true;",
            vec![],
        )
        .await
        .unwrap();
    browser.shot("acknowledgment-required").await;
    browser.check_accessibility().await;

    // Acknowledged: the install's page, while its download is held.
    browser
        .click(Locator::Id("acknowledgeCommunityPackage"))
        .await;
    browser
        .click(Locator::XPath("//button[normalize-space()='Install']"))
        .await;
    browser
        .wait_for_heading("Installing Employee Onboarding Suite 2.1.0")
        .await;
    browser
        .wait_for(
            Locator::XPath("//li[contains(@class,'stage') and contains(@class,'current') and starts-with(normalize-space(),'Downloading')]"),
            "the page shows the download running",
        )
        .await;
    assert_eq!(text_of(&browser, "#install-state").await, "InProgress");
    browser.shot("install-in-progress").await;
    browser.check_accessibility().await;

    // Let the download through: the page follows to Success by itself
    // (the marker set on this page survives, so it was not reloaded).
    browser
        .client
        .execute("window.followedLive = true; return true;", vec![])
        .await
        .unwrap();
    gate.add_permits(100);
    browser
        .wait_for(
            Locator::XPath("//span[@id='install-state' and normalize-space()='Success']"),
            "the install reaches Success on the open page",
        )
        .await;
    let marker = browser
        .client
        .execute("return window.followedLive === true;", vec![])
        .await
        .unwrap();
    assert_eq!(marker, json!(true), "pushed to the page, not reloaded");
    assert_eq!(text_of(&browser, "#artifacts-installed").await, "5");
    browser.shot("install-success").await;
    browser.check_accessibility().await;

    // The notification, counted in the navigation once a page is loaded.
    browser.click(Locator::Id("nav-notifications")).await;
    browser.wait_for_heading("Notifications").await;
    assert_eq!(
        text_of(&browser, "#nav-notifications").await,
        "Notifications 1 unread"
    );
    let first = text_of(&browser, ".notification h2").await;
    assert!(
        first.contains(&format!(
            "Installed Employee Onboarding Suite 2.1.0 into {TARGET}"
        )),
        "{first}"
    );
    browser.shot("notifications").await;
    browser.check_accessibility().await;
    browser
        .click(Locator::XPath(
            "//button[starts-with(normalize-space(),'Mark as read')]",
        ))
        .await;
    browser.wait_for_heading("Notifications").await;
    browser
        .wait_for(
            Locator::XPath("//dt[normalize-space()='Read']"),
            "the notification shows when it was read",
        )
        .await;
    assert_eq!(
        text_of(&browser, "#nav-notifications").await,
        "Notifications"
    );
    assert!(
        browser
            .client
            .find(Locator::XPath(
                "//button[starts-with(normalize-space(),'Mark as read')]"
            ))
            .await
            .is_err()
    );
    browser.shot("notification-read").await;
    browser.check_accessibility().await;

    // At a phone's width: the install page and the marketplace still fit.
    browser.client.set_window_size(360, 780).await.unwrap();
    browser
        .click(Locator::XPath(
            "//a[starts-with(normalize-space(), 'Open the install')]",
        ))
        .await;
    browser
        .wait_for_heading("Installing Employee Onboarding Suite 2.1.0")
        .await;
    fits(&browser).await;
    browser.shot("install-narrow").await;
    browser.check_accessibility().await;
    browser.goto(&app.url("/console/marketplace")).await;
    browser.wait_for_heading("Marketplace").await;
    fits(&browser).await;
    browser.shot("marketplace-narrow").await;
    browser.check_accessibility().await;
    browser
        .click(Locator::LinkText("Employee Onboarding Suite"))
        .await;
    browser.wait_for_heading("Employee Onboarding Suite").await;
    fits(&browser).await;
    browser.shot("listing-narrow").await;
    browser.check_accessibility().await;
    browser.goto(&app.url("/console/notifications")).await;
    browser.wait_for_heading("Notifications").await;
    fits(&browser).await;
    browser.shot("notifications-narrow").await;
    browser.check_accessibility().await;
    browser.close().await;
}

/// The catalog's selection: two artifacts ticked, previewed together, then
/// the same two sent to the export form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_selection_previews_and_exports_several_roots() {
    if !browser_available() {
        return;
    }
    let app = crate::common::TestApp::new().await;
    let driver = Driver::start();
    let token = crate::common::Token::full().mint();
    let mut browser = Browser::open(&driver, "selection").await;
    sign_in_with_token(&mut browser, &app, &token).await;
    browser
        .goto(&app.url("/console/tenants/tenant-7f3a9b12"))
        .await;
    browser
        .wait_for_heading("Acme HR (demo source) artifacts")
        .await;
    for id in ["proc-1001", "ent-44"] {
        browser
            .click(Locator::Css(&format!("input[name='roots'][value='{id}']")))
            .await;
    }
    browser.shot("ticked").await;
    browser.check_accessibility().await;
    browser
        .click(Locator::XPath(
            "//button[normalize-space()='Preview selected']",
        ))
        .await;
    browser.wait_for_heading("Dependency graph").await;
    let roots = browser
        .client
        .find_all(Locator::Css("svg g.node.root"))
        .await
        .unwrap();
    assert_eq!(roots.len(), 2, "both ticked artifacts are roots");
    assert_eq!(
        super::attribute(&browser, "roots", "value")
            .await
            .as_deref(),
        Some("ent-44 proc-1001")
    );
    browser.shot("preview-selected").await;
    browser.check_accessibility().await;

    browser.client.back().await.unwrap();
    browser
        .wait_for_heading("Acme HR (demo source) artifacts")
        .await;
    for id in ["proc-1001", "ent-44"] {
        let tick = browser
            .client
            .find(Locator::Css(&format!("input[name='roots'][value='{id}']")))
            .await
            .unwrap();
        if !tick.is_selected().await.unwrap() {
            tick.click().await.unwrap();
        }
    }
    browser
        .click(Locator::XPath(
            "//button[normalize-space()='Export selected']",
        ))
        .await;
    browser.wait_for_heading("Export a package").await;
    assert_eq!(
        super::attribute(&browser, "artifactIds", "value")
            .await
            .as_deref(),
        Some("ent-44 proc-1001")
    );
    browser.shot("export-selected").await;
    browser.close().await;
}
