//! In-app notifications and their e-mails (SPEC §8): each caller lists and
//! reads only their own; e-mails go through the outbox to a real SMTP
//! server on loopback (aiosmtpd from PyPI, writing a Maildir), and one
//! that is down only delays them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use installhub_domain::NotificationKind;
use installhub_server::config::SmtpUrl;
use installhub_store::NewNotification;
use serde_json::{Value, json};

use crate::common::{TestApp, Token, notice};

const ME: &str = "engineer@company.com";

fn note(recipient: &str, title: &str) -> NewNotification {
    NewNotification {
        recipient: recipient.to_owned(),
        email: None,
        kind: NotificationKind::InstallSucceeded,
        title: title.to_owned(),
        body: format!("{title} was installed."),
        link: None,
        details: json!({ "title": title }),
    }
}

fn failed_install(to: &str, link: &str) -> NewNotification {
    NewNotification {
        recipient: to.to_owned(),
        email: Some(to.to_owned()),
        kind: NotificationKind::InstallFailed,
        title: "Install of crm-sync 1.2.0 into tenant-b failed".to_owned(),
        body: "SecurityScanFailed: the package calls eval().".to_owned(),
        link: Some(link.to_owned()),
        details: json!({ "error": "SecurityScanFailed", "message": "the package calls eval()." }),
    }
}

async fn given(app: &TestApp, notes: &[NewNotification]) -> Vec<String> {
    let mut ids = Vec::new();
    for n in notes {
        ids.push(app.server.state.store().notify(n).await.unwrap());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    ids
}

fn titles(page: &Value) -> Vec<String> {
    page["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn callers_list_only_their_own_newest_first() {
    let app = TestApp::new().await;
    let ids = given(
        &app,
        &[
            note(ME, "first"),
            note("someone@else.com", "not yours"),
            note(ME, "second"),
            note("user-7", "by sub"),
        ],
    )
    .await;

    let page = app.get("/api/notifications").await;
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    let page = page.json();
    assert_eq!(titles(&page), ["second", "first"]);
    assert!(page.get("nextBefore").is_none());
    let first = &page["notifications"][1];
    assert_eq!(first["notificationId"], ids[0].as_str());
    assert_eq!(first["kind"], "InstallSucceeded");
    assert_eq!(first["body"], "first was installed.");
    assert_eq!(first["details"], json!({ "title": "first" }));
    assert!(first["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(first.get("readAt").is_none() && first.get("link").is_none());

    // Without an email claim the identity is the sub.
    let by_sub = Token::full().without("email").sub("user-7").mint();
    let page = app.get_as(&by_sub, "/api/notifications").await.json();
    assert_eq!(titles(&page), ["by sub"]);

    // A token with no scope and no tenant still lists its own (none here).
    let stranger = Token::full()
        .scopes(&[])
        .tenants(&["tenant-other"])
        .set("email", json!("stranger@company.com"))
        .mint();
    let page = app.get_as(&stranger, "/api/notifications").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json(), json!({ "notifications": [] }));

    // Another's id as a cursor shows nothing of theirs.
    let page = app
        .get(&format!("/api/notifications?before={}", ids[1]))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.json(), json!({ "notifications": [] }));
}

#[tokio::test]
async fn unread_filter_and_paging() {
    let app = TestApp::new().await;
    let notes: Vec<NewNotification> = (0..5).map(|i| note(ME, &format!("n{i}"))).collect();
    let ids = given(&app, &notes).await;
    let read = app
        .post(&format!("/api/notifications/{}/read", ids[3]), &json!({}))
        .await;
    assert_eq!(read.status, 200);

    let mut seen = Vec::new();
    let mut url = "/api/notifications?limit=2".to_owned();
    loop {
        let page = app.get(&url).await.json();
        seen.extend(titles(&page));
        match page["nextBefore"].as_str() {
            Some(next) => url = format!("/api/notifications?limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ["n4", "n3", "n2", "n1", "n0"]);

    let unread = app
        .get("/api/notifications?unread=true&limit=3")
        .await
        .json();
    assert_eq!(titles(&unread), ["n4", "n2", "n1"]);
    assert_eq!(unread["nextBefore"], ids[1].as_str());
    let rest = app
        .get(&format!("/api/notifications?unread=true&before={}", ids[1]))
        .await
        .json();
    assert_eq!(titles(&rest), ["n0"]);

    app.get("/api/notifications?limit=0")
        .await
        .expect_error(400, "InvalidRequestBody");
    app.get("/api/notifications?before=imp-1")
        .await
        .expect_error(400, "InvalidRequestBody");
    app.get("/api/notifications?unread=maybe")
        .await
        .expect_error(400, "InvalidRequestBody");
}

#[tokio::test]
async fn reading_is_idempotent_and_never_reveals_anothers() {
    let app = TestApp::new().await;
    let ids = given(
        &app,
        &[note(ME, "mine"), note("someone@else.com", "theirs")],
    )
    .await;

    let first = app
        .post(&format!("/api/notifications/{}/read", ids[0]), &json!({}))
        .await;
    assert_eq!(first.status, 200);
    let first = first.json();
    assert_eq!(first["notificationId"], ids[0].as_str());
    assert_eq!(first["title"], "mine");
    let read_at = first["readAt"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = app
        .send(
            app.http
                .post(app.url(&format!("/api/notifications/{}/read", ids[0])))
                .bearer_auth(&app.token),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.json()["readAt"],
        read_at.as_str(),
        "the first read is kept"
    );

    // Another's, an unknown id and a malformed one: the same 404.
    let mut answers = Vec::new();
    for id in [
        ids[1].as_str(),
        "ntf-00000000-0000-4000-8000-000000000000",
        "not-an-id",
    ] {
        let body = app
            .post(&format!("/api/notifications/{id}/read"), &json!({}))
            .await
            .expect_error(404, "NotificationNotFound");
        // The same answer apart from the id it names.
        let mut body: Value = serde_json::from_str(&body.to_string().replace(id, "<id>")).unwrap();
        if let Some(trace) = body.get_mut("traceId") {
            *trace = Value::Null;
        }
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[1], answers[2]);

    // Theirs is still unread for them.
    let theirs = Token::full().set("email", json!("someone@else.com")).mint();
    let page = app
        .get_as(&theirs, "/api/notifications?unread=true")
        .await
        .json();
    assert_eq!(titles(&page), ["theirs"]);
}

#[tokio::test]
async fn without_a_token_is_401() {
    let app = TestApp::new().await;
    let ids = given(&app, &[note(ME, "mine")]).await;
    let reply = app.send(app.http.get(app.url("/api/notifications"))).await;
    reply.expect_error(401, "Unauthenticated");
    let reply = app
        .send(
            app.http
                .post(app.url(&format!("/api/notifications/{}/read", ids[0]))),
        )
        .await;
    reply.expect_error(401, "Unauthenticated");
}

// ------------------------------------------------------------------ e-mail

/// aiosmtpd on a loopback port, delivering into a Maildir; stopped on drop.
struct SmtpServer {
    child: Child,
    maildir: PathBuf,
}

impl SmtpServer {
    /// Whether aiosmtpd can run here; says why not once otherwise (and
    /// fails when `INSTALLHUB_REQUIRE_SMTP=1`).
    fn available() -> bool {
        let ok = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            if std::env::var("INSTALLHUB_REQUIRE_SMTP").is_ok_and(|v| v == "1") {
                panic!(
                    "aiosmtpd is not installed (python3 -m pip install aiosmtpd) and INSTALLHUB_REQUIRE_SMTP=1"
                );
            }
            notice(
                "NOTE: aiosmtpd is not installed (python3 -m pip install aiosmtpd); the e-mail tests pass without running",
            );
        }
        ok
    }

    async fn start(port: u16, dir: &Path) -> Self {
        let maildir = dir.join("Maildir");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 -m aiosmtpd starts");
        let server = Self { child, maildir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on {port}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// The messages delivered so far, as text.
    fn messages(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }

    async fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            assert!(
                Instant::now() < deadline,
                "{count} e-mails expected, {} arrived",
                messages.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn app_mailing_to(port: u16) -> TestApp {
    TestApp::with_config(|config| {
        let n = &mut config.notifications;
        n.smtp = Some(SmtpUrl::parse(&format!("smtp://127.0.0.1:{port}")).unwrap());
        n.from = "InstallHub Test <hub@installhub.test>".to_owned();
        n.public_url = Some("https://hub.example.com/".to_owned());
        n.poll_every = Duration::from_millis(200);
        n.first_retry_delay = Duration::from_millis(300);
        n.max_retry_delay = Duration::from_secs(1);
    })
    .await
}

/// The header block and the body of a delivered message, the body
/// decoded when it is quoted-printable (lettre's choice for long lines).
fn split_message(message: &str) -> (String, String) {
    let message = message.replace("\r\n", "\n");
    let (headers, body) = message.split_once("\n\n").expect("headers, then a body");
    let body = if header(headers, "Content-Transfer-Encoding") == ["quoted-printable"] {
        let decoded =
            quoted_printable::decode(body.as_bytes(), quoted_printable::ParseMode::Robust)
                .expect("a valid quoted-printable body");
        String::from_utf8(decoded).unwrap()
    } else {
        body.to_owned()
    };
    (headers.to_owned(), body)
}

fn header<'a>(headers: &'a str, name: &str) -> Vec<&'a str> {
    headers
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
        .collect()
}

#[tokio::test]
async fn a_failed_install_is_mailed_with_its_link() {
    if !SmtpServer::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let smtp = SmtpServer::start(port, dir.path()).await;
    let app = app_mailing_to(port).await;
    let state = &app.server.state;

    let link = installhub_server::notifications::link(
        state,
        "/api/installhub/audit?tenantId=tenant-b&subject=imp-00000000-0000-4000-8000-000000000000",
    );
    assert_eq!(
        link,
        "https://hub.example.com/api/installhub/audit?tenantId=tenant-b&subject=imp-00000000-0000-4000-8000-000000000000"
    );
    let id = installhub_server::notifications::notify(state, failed_install(ME, &link))
        .await
        .unwrap();

    let messages = smtp.wait_for(1).await;
    assert_eq!(messages.len(), 1);
    let (headers, body) = split_message(&messages[0]);
    assert_eq!(header(&headers, "To"), [ME], "{headers}");
    assert_eq!(
        header(&headers, "From"),
        ["\"InstallHub Test\" <hub@installhub.test>"],
        "{headers}"
    );
    assert_eq!(
        header(&headers, "Subject"),
        ["Install of crm-sync 1.2.0 into tenant-b failed"]
    );
    assert!(
        body.contains("SecurityScanFailed: the package calls eval()."),
        "{body}"
    );
    assert!(body.contains(&link), "{body}");

    // In the app too, with the error and the link.
    let page = app.get("/api/notifications").await.json();
    let n = &page["notifications"][0];
    assert_eq!(n["notificationId"], id.as_str());
    assert_eq!(n["kind"], "InstallFailed");
    assert_eq!(n["link"], link.as_str());
    assert_eq!(n["details"]["error"], "SecurityScanFailed");

    // Sent once: the outbox is empty, the metric counts it (the recorder
    // is shared by every test of this process, so at least this one).
    wait_until_pending(&app, 0).await;
    let metrics = app.get("/metrics").await;
    let text = String::from_utf8_lossy(&metrics.body);
    let sent = text
        .lines()
        .find_map(|line| line.strip_prefix("installhub_emails_sent_total "))
        .and_then(|n| n.trim().parse::<u64>().ok());
    assert!(sent.is_some_and(|n| n >= 1), "{text}");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(smtp.messages().len(), 1, "sent exactly once");
}

async fn wait_until_pending(app: &TestApp, expected: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = app.get("/readyz").await;
        assert_eq!(
            ready.status, 200,
            "a mail server never makes the service unready"
        );
        if ready.json()["emailsPending"] == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "emailsPending stayed {} (expected {expected})",
            ready.json()["emailsPending"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_down_mail_server_only_delays_the_email() {
    if !SmtpServer::available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on the port yet.
    let port = free_port();
    let app = app_mailing_to(port).await;
    let state = &app.server.state;

    // Queued through the store, as an install transaction would: the
    // mailer finds it on its own.
    let link = installhub_server::notifications::link(state, "/api/installhub/audit");
    state
        .store()
        .notify(&failed_install("ops@company.com", &link))
        .await
        .unwrap();
    installhub_server::notifications::notify(state, failed_install(ME, &link))
        .await
        .unwrap();

    // Attempts fail and are retried; nothing else fails.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let metrics = app.get("/metrics").await;
        let text = String::from_utf8_lossy(&metrics.body).into_owned();
        if text.contains("installhub_email_failures_total{outcome=\"retry\"}") {
            break;
        }
        assert!(Instant::now() < deadline, "no failed attempt was counted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_until_pending(&app, 2).await;
    assert_eq!(
        app.get("/api/notifications").await.json()["notifications"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The mail server comes up: both arrive.
    let smtp = SmtpServer::start(port, dir.path()).await;
    let messages = smtp.wait_for(2).await;
    let mut recipients: Vec<String> = messages
        .iter()
        .map(|m| header(&split_message(m).0, "To").join(","))
        .collect();
    recipients.sort();
    assert_eq!(recipients, ["engineer@company.com", "ops@company.com"]);
    wait_until_pending(&app, 0).await;
}
