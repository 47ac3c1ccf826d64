//! A crash in the middle of an install: the real `installhub serve` process
//! is killed (SIGKILL, no chance to clean up) while it writes a large
//! package inside its install transaction, then started again on the same
//! data directory. The tenant must be exactly as before or fully imported,
//! never in between, and the import's record must say which; the upload
//! the killed server was reading is swept when it starts again. The same
//! for a marketplace install: after the restart its job is taken up again
//! and succeeds once, or, killed on its last attempt, fails cleanly and the
//! user is told.

use installhub_bundle::fixtures as bundle_support;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use installhub_auth::{LocalKeyPair, MintRequest};
use installhub_domain::ArtifactType;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_installhub");
const TENANT: &str = "tenant-crash";
const ARTIFACTS: usize = 300;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the server on `port`; `failpoints` slow each artifact write.
/// A server process, killed when dropped: a failing test never leaves one
/// running.
struct Server(Child);

impl Server {
    /// SIGKILL, no chance to clean up, and reaped.
    fn kill(&mut self) {
        self.0.kill().unwrap();
        self.0.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(data: &Path, port: u16, failpoints: Option<&str>) -> Server {
    spawn_with(data, port, failpoints, &[])
}

fn spawn_with(data: &Path, port: u16, failpoints: Option<&str>, args: &[&str]) -> Server {
    let mut command = Command::new(BIN);
    command
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env_remove("INSTALLHUB_TEST_FAILPOINTS")
        .env_remove("INSTALLHUB_DATABASE_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(f) = failpoints {
        command.env("INSTALLHUB_TEST_FAILPOINTS", f);
    }
    Server(command.spawn().expect("the server starts"))
}

async fn wait_ready(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server at {base} did not become ready");
}

/// A package of `ARTIFACTS` schemas, each with some content to write.
fn large_bundle() -> Vec<u8> {
    let ids: Vec<String> = (0..ARTIFACTS).map(|i| format!("schema-{i:04}")).collect();
    let artifacts: Vec<_> = ids
        .iter()
        .map(|id| {
            let mut a = bundle_support::artifact(id, ArtifactType::EntitySchema, &[]);
            a.definition = json!({"fields": (0..50).map(|f| json!({"name": format!("f{f}"), "type": "text"})).collect::<Vec<_>>()});
            a
        })
        .collect();
    let order: Vec<&str> = ids.iter().map(String::as_str).collect();
    let bundle = installhub_bundle::prepare(bundle_support::input(&order), &artifacts).unwrap();
    bundle_support::zip_bytes(&bundle)
}

async fn json_get(http: &reqwest::Client, token: &str, url: &str) -> Value {
    http.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_install_leaves_the_tenant_whole() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    // 25 ms per artifact: the install transaction runs for several seconds.
    let mut server = spawn(&data, port, Some("install_artifact_delay_ms=25"));
    wait_ready(&http, &base).await;
    let token = LocalKeyPair::load_or_create(&data.join("keys"))
        .unwrap()
        .mint(&MintRequest {
            email: Some("crash@company.com".into()),
            tenants: vec![TENANT.into()],
            scopes: vec!["installhub:admin".into(), "installhub:import".into()],
            ..MintRequest::new("crash-test")
        })
        .unwrap();
    let put = http
        .put(format!("{base}/api/installhub/tenants/{TENANT}"))
        .bearer_auth(&token)
        .json(&json!({"name": "Crash", "plan": "Enterprise", "status": "Active"}))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());

    let zip = large_bundle();
    let form = reqwest::multipart::Form::new()
        .part(
            "package",
            reqwest::multipart::Part::bytes(zip.clone())
                .file_name("large.zip")
                .mime_str("application/zip")
                .unwrap(),
        )
        .part(
            "options",
            reqwest::multipart::Part::text(json!({"targetTenantId": TENANT}).to_string()),
        );
    let request = http
        .post(format!("{base}/api/installhub/packages/import"))
        .bearer_auth(&token)
        .multipart(form)
        .send();
    let pending = tokio::spawn(request);

    // The import record is committed before the install transaction opens;
    // once it shows, the install is under way. Then kill the server
    // mid-transaction.
    let imports_url = format!("{base}/api/installhub/tenants/{TENANT}/imports");
    let deadline = Instant::now() + Duration::from_secs(30);
    let import_id = loop {
        let list = json_get(&http, &token, &imports_url).await;
        if let Some(id) = list["imports"][0]["importId"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "the import never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();
    assert!(
        pending.await.unwrap().is_err(),
        "the import answered before the kill: make the install slower"
    );

    // The received upload was still in use: the kill leaves it behind.
    let uploads = || {
        std::fs::read_dir(data.join("tmp"))
            .map(|dir| {
                dir.filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().starts_with("upload-"))
                    .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(uploads(), 1, "the killed import's upload is left behind");

    // Restart without failpoints on the same data directory.
    let mut server = spawn(&data, port, None);
    wait_ready(&http, &base).await;
    // A SQLite server is alone on its data directory: start-up sweeps
    // every scratch file the killed one left.
    assert_eq!(uploads(), 0, "the leftover upload is swept at start-up");
    let artifacts = json_get(
        &http,
        &token,
        &format!("{base}/api/installhub/tenants/{TENANT}/artifacts?limit=1000"),
    )
    .await;
    let count = artifacts["artifacts"].as_array().unwrap().len();
    let record = json_get(
        &http,
        &token,
        &format!("{base}/api/installhub/imports/{import_id}"),
    )
    .await;
    let installed = json_get(
        &http,
        &token,
        &format!("{base}/api/installhub/tenants/{TENANT}/installed-packages"),
    )
    .await;
    match count {
        0 => {
            assert_eq!(record["status"], "Failed", "{record:#}");
            assert!(
                record["result"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("stopped")
            );
            assert_eq!(installed["installedPackages"], json!([]));
        }
        n if n == ARTIFACTS => {
            assert_eq!(record["status"], "Success", "{record:#}");
            assert_eq!(installed["installedPackages"].as_array().unwrap().len(), 1);
        }
        n => panic!("{n} of {ARTIFACTS} artifacts are visible after the crash"),
    }

    // The same package imports whole after the restart.
    let form = reqwest::multipart::Form::new()
        .part(
            "package",
            reqwest::multipart::Part::bytes(zip).file_name("large.zip"),
        )
        .part(
            "options",
            reqwest::multipart::Part::text(json!({"targetTenantId": TENANT}).to_string()),
        );
    let reply = http
        .post(format!("{base}/api/installhub/packages/import"))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let artifacts = json_get(
        &http,
        &token,
        &format!("{base}/api/installhub/tenants/{TENANT}/artifacts?limit=1000"),
    )
    .await;
    assert_eq!(artifacts["artifacts"].as_array().unwrap().len(), ARTIFACTS);
    server.kill();
}

/// Kills the demo server while a marketplace install of its listing is
/// `Installing` (each artifact write slowed to 1.5 s), starts it again on
/// the same data directory, and answers the install's end, the tenant's
/// artifact count right after the restart, its import records and the
/// installing user's notifications.
async fn kill_a_marketplace_install(max_attempts: &str) -> (Value, usize, Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let args = [
        "--demo",
        "--install-lease-secs",
        "3",
        "--install-max-attempts",
        max_attempts,
    ];
    let mut server = spawn_with(&data, port, Some("install_artifact_delay_ms=1500"), &args);
    wait_ready(&http, &base).await;
    let target = "tenant-abc123";
    let token = LocalKeyPair::load_or_create(&data.join("keys"))
        .unwrap()
        .mint(&MintRequest {
            email: Some("crash@company.com".into()),
            tenants: vec![target.into()],
            scopes: vec![
                "installhub:import".into(),
                "marketplace:install".into(),
                "marketplace:install:community".into(),
            ],
            ..MintRequest::new("crash-test")
        })
        .unwrap();
    // The demo publishes its listing once it serves.
    let deadline = Instant::now() + Duration::from_secs(60);
    let listing = loop {
        let search = json_get(&http, &token, &format!("{base}/api/marketplace/packages")).await;
        if let Some(id) = search["packages"][0]["packageId"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "the demo never published");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let accepted: Value = http
        .post(format!("{base}/api/marketplace/packages/{listing}/install"))
        .bearer_auth(&token)
        .json(&json!({
            "targetTenantId": target,
            "defaultConflictStrategy": "Replace",
            "acknowledgeCommunityPackage": true,
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let status_url = format!("{base}{}", accepted["statusUrl"].as_str().unwrap());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = json_get(&http, &token, &status_url).await;
        if status["stage"] == "Installing" {
            break;
        }
        assert_eq!(status["status"], "InProgress", "{status:#}");
        assert!(
            Instant::now() < deadline,
            "the install never reached Installing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    server.kill();

    let mut server = spawn_with(&data, port, None, &args);
    wait_ready(&http, &base).await;
    let artifacts_url = format!("{base}/api/installhub/tenants/{target}/artifacts");
    let count_after_restart = json_get(&http, &token, &artifacts_url).await["artifacts"]
        .as_array()
        .unwrap()
        .len();
    let deadline = Instant::now() + Duration::from_secs(90);
    let done = loop {
        let status = json_get(&http, &token, &status_url).await;
        if status["status"] != "InProgress" {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the install never ended: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let imports = json_get(
        &http,
        &token,
        &format!("{base}/api/installhub/tenants/{target}/imports"),
    )
    .await;
    let notifications = json_get(&http, &token, &format!("{base}/api/notifications")).await;
    let artifacts = json_get(&http, &token, &artifacts_url).await;
    assert_eq!(
        artifacts["artifacts"].as_array().unwrap().len(),
        if done["status"] == "Success" { 5 } else { 0 },
        "the tenant is whole: {artifacts:#}"
    );
    server.kill();
    (done, count_after_restart, imports, notifications)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_marketplace_install_killed_mid_install_is_taken_up_again_after_restart() {
    let (done, after_restart, imports, notifications) = kill_a_marketplace_install("3").await;
    assert!(
        after_restart == 0 || after_restart == 5,
        "{after_restart} of 5 artifacts visible after the crash"
    );
    assert_eq!(done["status"], "Success", "{done:#}");
    assert_eq!(done["artifactsInstalled"], 5);
    // Exactly one import succeeded; the killed attempt's record says it
    // failed, with nothing installed.
    let records = imports["imports"].as_array().unwrap();
    let successes: Vec<&Value> = records
        .iter()
        .filter(|r| r["status"] == "Success")
        .collect();
    assert_eq!(successes.len(), 1, "{imports:#}");
    assert_eq!(successes[0]["importId"], done["importId"]);
    assert!(
        records.iter().any(|r| r["status"] == "Failed"),
        "the killed attempt is recorded: {imports:#}"
    );
    assert_eq!(
        notifications["notifications"][0]["kind"],
        "InstallSucceeded"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_marketplace_install_killed_on_its_last_attempt_fails_cleanly_and_says_so() {
    let (done, after_restart, imports, notifications) = kill_a_marketplace_install("1").await;
    assert_eq!(after_restart, 0, "nothing of the killed install is visible");
    assert_eq!(done["status"], "Failed", "{done:#}");
    assert_eq!(done["error"], "InstallInterrupted");
    assert_eq!(done["stage"], "Installing");
    assert_eq!(done["rolledBack"], true);
    assert!(
        imports["imports"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "Failed"),
        "{imports:#}"
    );
    let notice = &notifications["notifications"][0];
    assert_eq!(notice["kind"], "InstallFailed", "{notifications:#}");
    assert_eq!(notice["details"]["error"], "InstallInterrupted");
    assert_eq!(notice["details"]["stage"], "Installing");
    assert_eq!(notifications["notifications"].as_array().unwrap().len(), 1);
}
