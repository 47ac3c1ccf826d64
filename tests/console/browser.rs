//! Browser journeys through the console in the system's headless Chromium,
//! driven over WebDriver (chromedriver on a free loopback port). Each
//! journey opens a fresh browser profile, saves screenshots under
//! `target/console-screenshots/` and runs axe-core (vendored in
//! `support/`) on the pages it visits, failing on any serious or critical
//! violation. Without Chromium or chromedriver the journeys say so and pass,
//! unless `INSTALLHUB_REQUIRE_BROWSER=1`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common::{SOURCE, TestApp, Token, notice};

mod marketplace_journey;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const AXE: &str = include_str!("support/axe.min.js");

/// Whether the browser is there; when it is not, says so (or fails when
/// `INSTALLHUB_REQUIRE_BROWSER=1`).
fn browser_available() -> bool {
    let found = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !found {
        let message = format!(
            "the console's browser journeys need {CHROMIUM} and {CHROMEDRIVER} \
             (Debian: apt-get install chromium chromium-driver); skipped"
        );
        assert!(
            std::env::var("INSTALLHUB_REQUIRE_BROWSER").as_deref() != Ok("1"),
            "INSTALLHUB_REQUIRE_BROWSER=1 but {message}"
        );
        notice(&message);
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running chromedriver, killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    /// Asks chromedriver to shut down, which also quits the browsers of a
    /// journey that failed before closing its own; kills it if it does not
    /// exit soon, so a failing test leaves no process behind.
    fn drop(&mut self) {
        use std::io::Write;
        let address = self.url.trim_start_matches("http://").to_owned();
        if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
            let _ = write!(
                stream,
                "GET /shutdown HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
            );
        }
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it says it is
    /// ready (its first line of output).
    fn start() -> Self {
        let port = free_port();
        let mut child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            if line.unwrap_or_default().contains("started successfully") {
                break;
            }
        }
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// One journey's browser: a fresh profile in a temporary directory.
struct Browser {
    client: Client,
    journey: &'static str,
    shots: usize,
    _profile: tempfile::TempDir,
}

fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Browser {
    async fn open(driver: &Driver, journey: &'static str) -> Self {
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .expect("a Chromium session starts");
        Self {
            client,
            journey,
            shots: 0,
            _profile: profile,
        }
    }

    /// Clicks the element `locator` finds.
    async fn click(&self, locator: Locator<'_>) {
        self.client
            .find(locator)
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Waits until `locator` finds an element; `what` says what was awaited.
    async fn wait_for(&self, locator: Locator<'_>, what: &str) {
        self.client.wait().for_element(locator).await.expect(what);
    }

    async fn goto(&self, url: &str) {
        self.client.goto(url).await.unwrap();
    }

    /// Saves a screenshot as `<journey>-<n>-<what>.png`.
    async fn shot(&mut self, what: &str) {
        self.shots += 1;
        let png = self.client.screenshot().await.unwrap();
        let file = screenshot_dir().join(format!("{}-{}-{what}.png", self.journey, self.shots));
        std::fs::write(&file, png).unwrap();
    }

    async fn h1(&self) -> String {
        self.client
            .wait()
            .for_element(Locator::Css("h1"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Waits until the page's heading is `heading`.
    async fn wait_for_heading(&self, heading: &str) {
        let xpath = format!("//h1[normalize-space()='{heading}']");
        if self
            .client
            .wait()
            .for_element(Locator::XPath(&xpath))
            .await
            .is_err()
        {
            panic!(
                "expected the heading '{heading}', the page shows '{}'",
                self.h1().await
            );
        }
    }

    async fn body_text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Runs axe-core on the page; fails on serious or critical violations.
    async fn check_accessibility(&self) {
        self.client
            .execute(&format!("{AXE}\n;return true;"), vec![])
            .await
            .expect("axe-core loads");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];\
                 axe.run(document, { resultTypes: ['violations'] })\
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,\
                       nodes: v.nodes.map(n => n.target.join(' ')) }))))\
                   .catch(e => done({ error: String(e) }));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        assert!(result.get("error").is_none(), "axe-core failed: {result}");
        let violations = result.as_array().cloned().unwrap_or_default();
        let serious: Vec<&Value> = violations
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            serious.is_empty(),
            "{} on {}: serious accessibility violations: {serious:#?}",
            self.journey,
            self.client.current_url().await.unwrap()
        );
    }

    async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// Signs in through the form with `token`.
async fn sign_in_with_token(browser: &mut Browser, app: &TestApp, token: &str) {
    browser.goto(&app.url("/console")).await;
    browser.wait_for_heading("Sign in").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    browser.shot("sign-in-form").await;
    browser.check_accessibility().await;
    let field = browser
        .client
        .find(Locator::Css("textarea#token"))
        .await
        .unwrap();
    field.send_keys(token).await.unwrap();
    browser
        .click(Locator::XPath("//button[normalize-space()='Sign in']"))
        .await;
    browser.wait_for_heading("Catalog").await;
}

/// Posts a form built in the page (as another page could): `fields` as
/// hidden inputs to `action`.
async fn post_from_page(browser: &Browser, action: &str, fields: Value) {
    browser
        .client
        .execute(
            "const [action, fields] = arguments;\
             const form = document.createElement('form');\
             form.method = 'post'; form.action = action;\
             for (const [name, value] of Object.entries(fields)) {\
               const input = document.createElement('input');\
               input.type = 'hidden'; input.name = name; input.value = value;\
               form.appendChild(input);\
             }\
             document.body.appendChild(form); form.submit(); return true;",
            vec![json!(action), fields],
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_journeys() {
    if !browser_available() {
        return;
    }
    let app = TestApp::new().await;
    let reply = app
        .put_artifact(
            SOURCE,
            "xss-1",
            json!({
                "type": "AtlasForm",
                "name": "<script>alert(1)</script>",
                "version": "1.0.0",
                "status": "Published",
                "definition": {},
            }),
        )
        .await;
    assert!(reply.status < 300, "{reply:?}");
    app.artifact(crate::common::TARGET, "loop-a", "RuleSet", &["loop-b"])
        .await;
    app.artifact(crate::common::TARGET, "loop-b", "RuleSet", &["loop-a"])
        .await;
    let driver = Driver::start();
    let token = Token::full().mint();

    // Sign in with a token, then browse and filter the catalog.
    let mut browser = Browser::open(&driver, "catalog").await;
    sign_in_with_token(&mut browser, &app, &token).await;
    browser.shot("tenants").await;
    browser.check_accessibility().await;
    let text = browser.body_text().await;
    assert!(text.contains("Signed in as engineer@company.com"), "{text}");
    assert!(text.contains("Acme HR (demo source)"), "{text}");
    browser
        .click(Locator::LinkText("Acme HR (demo source)"))
        .await;
    browser
        .wait_for_heading("Acme HR (demo source) artifacts")
        .await;
    let rows = browser
        .client
        .find_all(Locator::Css("#results tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 6, "5 demo artifacts and the script-named one");
    // htmx loaded from the console's own file, configured not to inject
    // the inline style the CSP would refuse.
    let htmx = browser
        .client
        .execute(
            "return [typeof htmx, htmx.config.includeIndicatorStyles, \
                     document.querySelectorAll('style, [style]').length];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(htmx, json!(["object", false, 0]));
    browser.shot("artifacts").await;
    browser.check_accessibility().await;
    // Choosing a type filters at once (htmx), and the address follows.
    browser
        .client
        .find(Locator::Css("select#type"))
        .await
        .unwrap()
        .select_by_value("EntitySchema")
        .await
        .unwrap();
    browser
        .client
        .wait()
        .for_element(Locator::XPath(
            "//table/caption[starts-with(normalize-space(), '1 artifact matching')]",
        ))
        .await
        .expect("the table is filtered to one entity schema");
    let rows = browser
        .client
        .find_all(Locator::Css("#results tbody tr td.id"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].text().await.unwrap(), "ent-44");
    let url = browser.client.current_url().await.unwrap();
    assert!(
        url.query()
            .unwrap_or_default()
            .contains("type=EntitySchema"),
        "{url}"
    );
    browser.shot("filtered-by-type").await;
    browser.check_accessibility().await;
    // The search field with its button, as without JavaScript.
    browser
        .goto(&app.url("/console/tenants/tenant-7f3a9b12?q=employee"))
        .await;
    browser
        .wait_for_heading("Acme HR (demo source) artifacts")
        .await;
    let ids: Vec<String> = {
        let mut ids = Vec::new();
        for cell in browser
            .client
            .find_all(Locator::Css("#results tbody td.id"))
            .await
            .unwrap()
        {
            ids.push(cell.text().await.unwrap());
        }
        ids
    };
    assert!(ids.contains(&"proc-1001".to_owned()), "{ids:?}");
    assert!(!ids.contains(&"rule-305".to_owned()), "{ids:?}");
    browser.shot("searched-by-name").await;
    // The graph of proc-1001, drawn.
    browser
        .client
        .find(Locator::XPath(
            "//tr[td[normalize-space()='proc-1001']]//a[starts-with(normalize-space(),'Preview')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for_heading("Dependency graph").await;
    let drawn = browser
        .client
        .find_all(Locator::Css("svg g.node"))
        .await
        .unwrap();
    assert_eq!(drawn.len(), 5);
    browser.shot("preview-graph").await;
    browser.check_accessibility().await;
    // The audit log, filtered.
    browser.click(Locator::LinkText("Audit log")).await;
    browser.wait_for_heading("Audit log").await;
    browser
        .client
        .find(Locator::Css("select#action"))
        .await
        .unwrap()
        .select_by_value("artifact-put")
        .await
        .unwrap();
    browser
        .click(Locator::XPath("//button[normalize-space()='Show']"))
        .await;
    browser
        .wait_for(
            Locator::XPath("//td[normalize-space()='xss-1']"),
            "the audit log shows the artifact write",
        )
        .await;
    browser.shot("audit-log").await;
    browser.check_accessibility().await;
    // A phone-sized window: the navigation and table still fit.
    browser.client.set_window_size(360, 780).await.unwrap();
    browser
        .goto(&app.url("/console/tenants/tenant-7f3a9b12"))
        .await;
    browser
        .wait_for_heading("Acme HR (demo source) artifacts")
        .await;
    let width = browser
        .client
        .execute("return document.documentElement.scrollWidth;", vec![])
        .await
        .unwrap();
    let viewport = browser
        .client
        .execute("return document.documentElement.clientWidth;", vec![])
        .await
        .unwrap();
    assert!(
        width.as_f64().unwrap() <= viewport.as_f64().unwrap(),
        "the page scrolls sideways at 360 px: {width} > {viewport}"
    );
    browser.shot("narrow").await;
    browser.check_accessibility().await;
    browser.close().await;

    // An artifact named like a script shows as text and runs nothing.
    let mut browser = Browser::open(&driver, "xss").await;
    sign_in_with_token(&mut browser, &app, &token).await;
    browser
        .goto(&app.url("/console/tenants/tenant-7f3a9b12?q=script"))
        .await;
    browser
        .wait_for_heading("Acme HR (demo source) artifacts")
        .await;
    let cell = browser
        .client
        .find(Locator::Css("#results tbody td"))
        .await
        .unwrap();
    assert_eq!(cell.text().await.unwrap(), "<script>alert(1)</script>");
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "no alert is open"
    );
    let scripts = browser
        .client
        .execute(
            "return Array.from(document.scripts).map(s => s.src || s.textContent);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(scripts.as_array().unwrap().len(), 1, "only htmx: {scripts}");
    browser.shot("script-named-artifact").await;
    // A cycle in the graph, drawn in the problem colour.
    browser
        .goto(&app.url("/console/tenants/tenant-abc123/preview?roots=loop-a"))
        .await;
    browser.wait_for_heading("Dependency graph").await;
    let cycle = browser
        .client
        .find_all(Locator::Css("svg path.edge.cycle"))
        .await
        .unwrap();
    assert_eq!(cycle.len(), 2);
    browser.shot("preview-cycle").await;
    browser.check_accessibility().await;
    browser.close().await;

    // CSRF: a post without the form's token, or with a wrong one, is
    // refused and the session goes on; then signing out ends it.
    let mut browser = Browser::open(&driver, "csrf-and-sign-out").await;
    sign_in_with_token(&mut browser, &app, &token).await;
    post_from_page(&browser, "/console/sign-out", json!({})).await;
    browser.wait_for_heading("Form refused").await;
    browser.shot("no-csrf-token").await;
    browser.check_accessibility().await;
    browser.goto(&app.url("/console/tenants")).await;
    browser.wait_for_heading("Catalog").await;
    post_from_page(
        &browser,
        "/console/sign-out",
        json!({ "csrf": "0".repeat(64) }),
    )
    .await;
    browser.wait_for_heading("Form refused").await;
    browser.shot("wrong-csrf-token").await;
    browser.goto(&app.url("/console/tenants")).await;
    browser.wait_for_heading("Catalog").await;
    browser
        .click(Locator::XPath("//button[normalize-space()='Sign out']"))
        .await;
    browser.wait_for_heading("Signed out").await;
    browser.shot("signed-out").await;
    browser.check_accessibility().await;
    browser.goto(&app.url("/console/tenants")).await;
    browser.wait_for_heading("Sign in").await;
    assert_eq!(browser.path().await, "/console/sign-in");
    browser.close().await;

    // An expired token ends the session with a page that says so.
    let mut browser = Browser::open(&driver, "expired-session").await;
    browser.goto(&app.url("/console/sign-in")).await;
    let expired = Token::full()
        .set("exp", json!(chrono::Utc::now().timestamp() - 60))
        .mint();
    let mut cookie = fantoccini::cookies::Cookie::new("installhub_session", expired);
    cookie.set_path("/console");
    cookie.set_domain("127.0.0.1");
    cookie.set_http_only(true);
    cookie.set_same_site(cookie::SameSite::Strict);
    browser.client.add_cookie(cookie).await.unwrap();
    browser.goto(&app.url("/console/tenants")).await;
    browser.wait_for_heading("Session ended").await;
    let text = browser.body_text().await;
    assert!(text.contains("Your session has expired"), "{text}");
    browser.shot("expired").await;
    browser.check_accessibility().await;
    browser.goto(&app.url("/console/tenants")).await;
    browser.wait_for_heading("Sign in").await;
    browser.close().await;
}

/// `serve --demo` prints a link that opens the console signed in as the
/// demo user, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_link_signs_in_once() {
    if !browser_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_installhub"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .env_remove("INSTALLHUB_URL")
        .env_remove("INSTALLHUB_TOKEN")
        .env_remove("INSTALLHUB_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = server.stdout.take().unwrap();
    let server = Kill(server);
    let link = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let link = lines
            .by_ref()
            .map_while(Result::ok)
            .find(|line| line.contains("/console/sign-in/link?secret="))
            .expect("serve --demo prints the console link");
        std::thread::spawn(move || for _ in lines {});
        link.trim().to_owned()
    })
    .await
    .unwrap();
    assert!(
        link.starts_with(&format!("http://127.0.0.1:{port}/console/")),
        "{link}"
    );

    let driver = Driver::start();
    let mut browser = Browser::open(&driver, "demo-link").await;
    browser.goto(&link).await;
    browser.wait_for_heading("Catalog").await;
    let text = browser.body_text().await;
    assert!(text.contains("Signed in as engineer@company.com"), "{text}");
    assert!(text.contains("Acme Subsidiary (demo target)"), "{text}");
    browser.shot("signed-in").await;
    browser.check_accessibility().await;
    browser.close().await;

    // The same link in another browser: used up.
    let mut browser = Browser::open(&driver, "demo-link-again").await;
    browser.goto(&link).await;
    browser.wait_for_heading("Sign-in link not valid").await;
    browser.shot("used").await;
    browser.check_accessibility().await;
    browser.close().await;
    drop(server);
}

/// Types `text` into the input `id`, replacing what it held.
async fn fill(browser: &Browser, id: &str, text: &str) {
    let field = browser
        .client
        .find(Locator::Id(id))
        .await
        .unwrap_or_else(|_| panic!("input {id}"));
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn attribute(browser: &Browser, id: &str, name: &str) -> Option<String> {
    browser
        .client
        .find(Locator::Id(id))
        .await
        .unwrap()
        .attr(name)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_with_a_validation_error_then_success() {
    if !browser_available() {
        return;
    }
    let app = TestApp::new().await;
    let driver = Driver::start();
    let token = Token::full().mint();
    let mut browser = Browser::open(&driver, "export").await;
    sign_in_with_token(&mut browser, &app, &token).await;

    // From the catalog's row of proc-1001 to the form, its root filled in.
    browser
        .goto(&app.url("/console/tenants/tenant-7f3a9b12"))
        .await;
    browser
        .client
        .find(Locator::XPath(
            "//tr[td[@class='id' and normalize-space()='proc-1001']]//a[starts-with(normalize-space(), 'Export')]",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for_heading("Export a package").await;
    assert_eq!(
        attribute(&browser, "artifactIds", "value").await.as_deref(),
        Some("proc-1001")
    );
    browser.shot("form").await;
    browser.check_accessibility().await;

    // A name the API refuses and no type: both shown at their inputs.
    fill(&browser, "packageName", "Onboarding Suite!").await;
    fill(&browser, "version", "2.1.0").await;
    fill(&browser, "tags", "hr, onboarding").await;
    browser
        .click(Locator::XPath("//button[normalize-space()='Export']"))
        .await;
    browser
        .wait_for(
            Locator::Id("error-summary"),
            "the form comes back with its problems",
        )
        .await;
    browser.wait_for_heading("Export a package").await;
    let summary = browser
        .client
        .find(Locator::Id("error-summary"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(summary.contains("2 problems"), "{summary}");
    for (id, words) in [
        ("packageName", "contains characters other than"),
        ("packageType", "packageType is required"),
    ] {
        assert_eq!(
            attribute(&browser, id, "aria-invalid").await.as_deref(),
            Some("true"),
            "{id}"
        );
        let described = attribute(&browser, id, "aria-describedby").await.unwrap();
        let error_id = described.split(' ').nth(1).expect("an error id");
        let error = browser
            .client
            .find(Locator::Id(error_id))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(error.contains(words), "{id}: {error}");
    }
    // What was typed is still there.
    assert_eq!(
        attribute(&browser, "packageName", "value").await.as_deref(),
        Some("Onboarding Suite!")
    );
    assert_eq!(
        attribute(&browser, "tags", "value").await.as_deref(),
        Some("hr, onboarding")
    );
    assert!(
        attribute(&browser, "version", "aria-invalid")
            .await
            .is_none()
    );
    browser.shot("validation-errors").await;
    browser.check_accessibility().await;
    // The summary's link takes the keyboard to the input.
    browser
        .click(Locator::Css("#error-summary a[href='#packageName']"))
        .await;
    let focused = browser
        .client
        .execute("return document.activeElement.id;", vec![])
        .await
        .unwrap();
    assert_eq!(focused, json!("packageName"));

    // Corrected: the package page, with the API's checksum.
    fill(&browser, "packageName", "Onboarding Suite").await;
    browser
        .client
        .find(Locator::Css("select#packageType"))
        .await
        .unwrap()
        .select_by_value("workflow-package")
        .await
        .unwrap();
    browser
        .click(Locator::XPath("//button[normalize-space()='Export']"))
        .await;
    browser.wait_for_heading("Onboarding Suite 2.1.0").await;
    let path = browser.path().await;
    let package_id = path.strip_prefix("/console/packages/").unwrap().to_owned();
    let api = app
        .get_as(&token, &format!("/api/installhub/packages/{package_id}"))
        .await
        .json();
    let checksum = browser
        .client
        .find(Locator::Css("code.checksum"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(checksum, api["checksum"].as_str().unwrap());
    let rows = browser
        .client
        .find_all(Locator::Css("tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), api["artifactCount"].as_u64().unwrap() as usize);
    browser.shot("package").await;
    browser.check_accessibility().await;
    // At a phone's width too.
    browser.client.set_window_size(360, 780).await.unwrap();
    browser.shot("package-narrow").await;
    browser.check_accessibility().await;
    browser.close().await;
}

mod import_journey;
