//! Real advisory data end to end: OSV export zips written by the test and
//! served by a real HTTP server on an ephemeral port, imported by the built
//! `installhub advisories sync`, used by `installhub scan`; and a running
//! server refreshing its snapshot from that source on a schedule, keeping
//! the last good one while the source fails.
//!
//! Nothing here waits a fixed time: each step polls `/readyz` until the
//! expected state shows, with a generous deadline.

use std::io::{Cursor, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use installhub_bundle::fixtures::{SEED_ORDER, input, seed_artifacts};
use installhub_server::advisories::RefreshConfig;
use installhub_server::demo::TARGET_TENANT;
use installhub_server::{RunningServer, ServerConfig};
use serde_json::{Value, json};

#[path = "support/binary.rs"]
mod binary;
#[path = "support/seeded.rs"]
mod seeded;

use binary::Run;

const LODASH_2020: &str = "GHSA-p6mc-m468-83gw";
const LODASH_2021: &str = "GHSA-35jh-r3h4-6jhm";

/// A shipped real OSV record, as OSV's export holds it.
fn osv_record(id: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("crates/installhub-scan/advisories")
        .join(format!("{id}.json"));
    std::fs::read(path).unwrap()
}

/// An OSV export zip: one `<ID>.json` entry per record, deflated, plus a
/// malformed record that must be skipped, not abort the import.
fn export_zip(ids: &[&str]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for id in ids {
        zip.start_file(format!("{id}.json"), options).unwrap();
        zip.write_all(&osv_record(id)).unwrap();
    }
    zip.start_file("GHSA-broken.json", options).unwrap();
    zip.write_all(br#"{"id": "GHSA-broken", "affected": "#)
        .unwrap();
    zip.finish().unwrap().into_inner()
}

/// What the export server answers for `/npm/all.zip`.
#[derive(Clone)]
enum Served {
    Zip(Vec<u8>),
    Status(StatusCode),
    /// 200 with bytes that are not a zip.
    Junk,
}

/// A real HTTP server on 127.0.0.1 serving one export, switchable.
struct ExportServer {
    url: String,
    served: Arc<Mutex<Served>>,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

type ExportState = (Arc<Mutex<Served>>, Arc<AtomicUsize>);

async fn serve_export(State((served, requests)): State<ExportState>) -> axum::response::Response {
    requests.fetch_add(1, Ordering::SeqCst);
    let served = served.lock().unwrap().clone();
    match served {
        Served::Zip(bytes) => (StatusCode::OK, bytes).into_response(),
        Served::Status(status) => (status, "no export here").into_response(),
        Served::Junk => {
            // Starts like a zip, is not one: a truncated download.
            (StatusCode::OK, b"PK\x03\x04truncated".to_vec()).into_response()
        }
    }
}

impl ExportServer {
    async fn start(served: Served) -> Self {
        let served = Arc::new(Mutex::new(served));
        let requests = Arc::new(AtomicUsize::new(0));
        let app = axum::Router::new()
            .route("/npm/all.zip", axum::routing::get(serve_export))
            .with_state((Arc::clone(&served), Arc::clone(&requests)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        ExportServer {
            url: format!("http://{addr}/npm/all.zip"),
            served,
            requests,
            task,
        }
    }

    fn serve(&self, served: Served) {
        *self.served.lock().unwrap() = served;
    }
}

impl Drop for ExportServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A bundle of the seed package whose proc-1001 uses lodash 4.17.15,
/// affected by both lodash advisories.
fn vulnerable_bundle(dir: &Path) -> std::path::PathBuf {
    let mut artifacts = seed_artifacts();
    for artifact in &mut artifacts {
        for library in &mut artifact.libraries {
            library.version = "4.17.15".into();
        }
    }
    let bundle = installhub_bundle::prepare(input(&SEED_ORDER), &artifacts).unwrap();
    let bytes = installhub_bundle::write_zip(&bundle, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let path = dir.join("onboarding.zip");
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs the built binary with no `INSTALLHUB_*` variables from outside.
async fn installhub(args: &[&str], cwd: &Path) -> Run {
    binary::run(args, &[], cwd).await
}

fn advisory_ids(findings: &Value) -> Vec<String> {
    let mut ids: Vec<String> = findings
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["advisory"]["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[tokio::test]
async fn sync_from_an_http_export_then_scan_names_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let export = ExportServer::start(Served::Zip(export_zip(&[LODASH_2020]))).await;

    let run = installhub(
        &[
            "advisories",
            "sync",
            "--from",
            &export.url,
            "--data-dir",
            "data",
            "--json",
        ],
        work,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:#?}");
    let synced = run.json();
    let snapshot = synced["snapshot"].clone();
    assert_eq!(snapshot["source"], export.url.as_str());
    assert_eq!(snapshot["advisoryCount"], 1);
    assert_eq!(snapshot["newestModified"], "2023-10-24T20:06:48Z");
    assert_eq!(synced["stats"]["records"], 2);
    assert_eq!(
        synced["stats"]["skipped"], 1,
        "the malformed record is skipped"
    );
    assert_eq!(synced["stats"]["byEcosystem"], json!({"npm": 1}));
    assert!(work.join("data/advisories/index.json").is_file());
    let id = snapshot["id"].as_str().unwrap().to_owned();

    // The text form says the same in words.
    let shown = installhub(&["advisories", "show", "--data-dir", "data"], work).await;
    assert_eq!(shown.code, Some(0), "{shown:#?}");
    assert!(
        shown
            .stdout
            .contains(&format!("snapshot {id} from {}", export.url)),
        "{shown:#?}"
    );

    // `scan` uses the data directory's index: only the synced advisory
    // (the embedded snapshot would also report the 2021 one).
    let bundle = vulnerable_bundle(work);
    let bundle = bundle.to_str().unwrap();
    let scan = installhub(
        &["scan", bundle, "--format", "json", "--data-dir", "data"],
        work,
    )
    .await;
    assert_eq!(scan.code, Some(0), "a High advisory warns: {scan:#?}");
    let report = scan.json();
    assert_eq!(report["result"], "WARN");
    assert_eq!(advisory_ids(&report["securityFindings"]), vec![LODASH_2020]);
    assert_eq!(report["advisorySnapshot"], snapshot);
    let text = installhub(&["scan", bundle, "--data-dir", "data"], work).await;
    assert!(
        text.stdout.contains(&format!("advisories: snapshot {id}")),
        "{text:#?}"
    );
    let sarif = installhub(
        &["scan", bundle, "--format", "sarif", "--data-dir", "data"],
        work,
    )
    .await
    .json();
    assert_eq!(
        sarif["runs"][0]["properties"]["advisorySnapshot"]["id"],
        id.as_str()
    );

    // Without an index, the embedded snapshot, named as such.
    let embedded = installhub(
        &["scan", bundle, "--format", "json", "--data-dir", "none"],
        work,
    )
    .await
    .json();
    assert_eq!(embedded["advisorySnapshot"]["source"], "embedded");
    assert_eq!(
        advisory_ids(&embedded["securityFindings"]),
        vec![LODASH_2021, LODASH_2020]
    );

    // A failed sync names the reason and leaves the index as it was: the
    // source missing, not a zip, or a zip with no usable record.
    for (served, reason) in [
        (Served::Status(StatusCode::NOT_FOUND), "404"),
        (Served::Junk, "not a readable zip archive"),
        (
            Served::Zip(export_zip(&[])),
            "no usable advisory (1 records read, 1 unusable",
        ),
    ] {
        export.serve(served);
        let run = installhub(
            &[
                "advisories",
                "sync",
                "--from",
                &export.url,
                "--data-dir",
                "data",
            ],
            work,
        )
        .await;
        assert_eq!(run.code, Some(1), "{run:#?}");
        assert!(run.stderr.contains(reason), "{reason}: {run:#?}");
        assert!(
            run.stderr.contains("the advisory index was not changed"),
            "{run:#?}"
        );
        let shown = installhub(
            &["advisories", "show", "--data-dir", "data", "--json"],
            work,
        )
        .await
        .json();
        assert_eq!(shown["snapshot"]["id"], id.as_str(), "{reason}");
    }
    assert!(export.requests.load(Ordering::SeqCst) >= 3);
}

/// A server with the seed's tenants, refreshing its advisories from
/// `source` every second.
async fn refreshing_server(dir: &Path, source: &str) -> (RunningServer, String) {
    let mut config = ServerConfig::for_testing(dir);
    config.advisory_refresh = Some(RefreshConfig {
        sources: vec![source.to_owned()],
        every: Duration::from_secs(1),
    });
    seeded::start(
        config,
        "advisories-test",
        TARGET_TENANT,
        "installhub:import",
    )
    .await
}

/// Polls `/readyz` until `ready` holds for its `advisories`; panics with
/// the last answer after a generous deadline.
async fn wait_for(server: &RunningServer, what: &str, ready: impl Fn(&Value) -> bool) -> Value {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let body: Value = http
            .get(format!("{}/readyz", server.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let advisories = body["advisories"].clone();
        if ready(&advisories) {
            return advisories;
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {what}: {advisories:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The scan route's answer for `bundle`.
async fn scan_route(server: &RunningServer, token: &str, bundle: &[u8]) -> Value {
    let form = reqwest::multipart::Form::new().part("package", package_part(bundle));
    let reply = reqwest::Client::new()
        .post(format!("{}/api/installhub/packages/scan", server.url()))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    reply.json().await.unwrap()
}

/// The multipart part that carries a package.
fn package_part(bundle: &[u8]) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bundle.to_vec())
        .file_name("onboarding.zip")
        .mime_str("application/zip")
        .expect("a valid MIME type")
}

/// The import route's refusal of `bundle` (its lodash warning is not
/// allowed), which carries the findings and the snapshot.
async fn import_refusal(server: &RunningServer, token: &str, bundle: &[u8]) -> Value {
    let options = json!({"targetTenantId": TARGET_TENANT, "dryRun": true});
    let form = reqwest::multipart::Form::new()
        .part("package", package_part(bundle))
        .part(
            "options",
            reqwest::multipart::Part::text(options.to_string())
                .mime_str("application/json")
                .unwrap(),
        );
    let reply = reqwest::Client::new()
        .post(format!("{}/api/installhub/packages/import", server.url()))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let body: Value = reply.json().await.unwrap();
    assert!(status.is_client_error(), "{status}: {body:#}");
    body["errors"][0].clone()
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_last_good_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let export = ExportServer::start(Served::Zip(export_zip(&[LODASH_2020]))).await;
    let (server, token) = refreshing_server(dir.path(), &export.url).await;
    let bundle = std::fs::read(vulnerable_bundle(dir.path())).unwrap();

    // The first refresh runs at start.
    let first = wait_for(&server, "the first snapshot", |a| {
        a["snapshot"]["source"] == export.url.as_str() && a["lastRefresh"]["ok"] == true
    })
    .await;
    let first_snapshot = first["snapshot"].clone();
    assert_eq!(first_snapshot["advisoryCount"], 1);
    // Another refresh of the same data keeps the snapshot, date included.
    let first_at = first["lastRefresh"]["at"].clone();
    let again = wait_for(&server, "a second refresh", |a| {
        a["lastRefresh"]["at"] != first_at && a["lastRefresh"]["ok"] == true
    })
    .await;
    assert_eq!(again["snapshot"], first_snapshot);
    let scan = scan_route(&server, &token, &bundle).await;
    assert_eq!(scan["advisorySnapshot"], first_snapshot);
    assert_eq!(advisory_ids(&scan["securityFindings"]), vec![LODASH_2020]);
    let refusal = import_refusal(&server, &token, &bundle).await;
    assert_eq!(refusal["advisorySnapshot"], first_snapshot, "{refusal:#}");

    // The source answers 404, then a broken zip: each refresh fails, says
    // why, and the server keeps scanning with the first snapshot.
    for (served, reason) in [
        (Served::Status(StatusCode::NOT_FOUND), "404"),
        (Served::Junk, "not a readable zip archive"),
    ] {
        export.serve(served);
        let failed = wait_for(&server, reason, |a| {
            a["lastRefresh"]["ok"] == false
                && a["lastRefresh"]["error"]
                    .as_str()
                    .is_some_and(|e| e.contains(reason))
        })
        .await;
        assert_eq!(failed["snapshot"], first_snapshot, "{reason}");
        let scan = scan_route(&server, &token, &bundle).await;
        assert_eq!(scan["advisorySnapshot"], first_snapshot, "{reason}");
        assert_eq!(advisory_ids(&scan["securityFindings"]), vec![LODASH_2020]);
        // The index on disk is still the last good one.
        let on_disk = installhub_scan::AdvisoryDb::load_index(
            &installhub_server::advisories::index_path(dir.path()),
        )
        .unwrap();
        assert_eq!(
            on_disk.snapshot().id,
            first_snapshot["id"].as_str().unwrap()
        );
    }

    // A newer export: the next refresh takes it, and scans name it.
    export.serve(Served::Zip(export_zip(&[LODASH_2020, LODASH_2021])));
    let second = wait_for(&server, "the second snapshot", |a| {
        a["snapshot"]["advisoryCount"] == 2 && a["lastRefresh"]["ok"] == true
    })
    .await;
    let second_snapshot = second["snapshot"].clone();
    assert_ne!(second_snapshot["id"], first_snapshot["id"]);
    let scan = scan_route(&server, &token, &bundle).await;
    assert_eq!(scan["advisorySnapshot"], second_snapshot);
    assert_eq!(
        advisory_ids(&scan["securityFindings"]),
        vec![LODASH_2021, LODASH_2020]
    );
    let refusal = import_refusal(&server, &token, &bundle).await;
    assert_eq!(refusal["advisorySnapshot"], second_snapshot, "{refusal:#}");

    // The count is published for Prometheus too.
    let metrics = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("installhub_advisories "), "{metrics}");
    assert!(
        metrics.contains("installhub_advisory_refresh_total{outcome=\"failed\"}"),
        "{metrics}"
    );
    server.stop().await.unwrap();
}
