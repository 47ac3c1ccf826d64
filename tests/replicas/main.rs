//! Several replicas as one service: two `installhub serve` processes on one
//! PostgreSQL database and one S3 bucket (moto's server on loopback), as
//! behind a load balancer. Rate limits count once across both, one version
//! wins a race, imports into one tenant never interleave, a package
//! exported on one replica downloads and imports on the other, killing
//! one replica mid-import leaves the tenant as it was and the other working,
//! marketplace installs queued on either run once each, and an install
//! whose replica dies is finished by the other.
//!
//! Without PostgreSQL or the S3 server these tests say so and pass without
//! running (`INSTALLHUB_REQUIRE_POSTGRES=1` / `INSTALLHUB_REQUIRE_S3=1` make
//! that a failure, as in `.ci/run`).

/// Where the servers keep their data (for the shared harness).
pub mod backend {
    pub const POSTGRES: bool = true;
    pub const S3: bool = true;
}

use installhub_bundle::fixtures as bundle_support;
#[path = "../api/common.rs"]
mod common;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use installhub_domain::ArtifactType;
use installhub_store::Store;
use serde_json::{Value, json};
use tempfile::TempDir;

use common::{ISSUER, PgDatabase, SOURCE, TARGET, Token, keys, s3_bucket};

const BIN: &str = env!("CARGO_BIN_EXE_installhub");

/// One replica process.
struct Replica {
    child: Child,
    url: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Replica {
    fn spawn(args: Vec<String>, env: Vec<(String, String)>, port: u16) -> Replica {
        let child = Command::new(BIN)
            .args(&args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env_remove("INSTALLHUB_URL")
            .env_remove("INSTALLHUB_TOKEN")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the replica starts");
        Replica {
            child,
            url: format!("http://127.0.0.1:{port}"),
            args,
            env,
        }
    }

    async fn ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(format!("{}/readyz", self.url)).await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("replica {} did not become ready", self.url);
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Two replicas (or more) on one database and one bucket, with the demo
/// tenants seeded.
struct Cluster {
    replicas: Vec<Replica>,
    http: reqwest::Client,
    token: String,
    _dirs: Vec<TempDir>,
    _database: PgDatabase,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Cluster {
    /// `None` when PostgreSQL or the S3 server is not available.
    async fn start(failpoints: &[Option<&str>]) -> Option<Cluster> {
        let (database, url) = PgDatabase::create().await?;
        let (endpoint, bucket) = s3_bucket().await?;
        // Migrate and seed once, as an operator's first replica would.
        let store = Store::connect(&url).await.unwrap();
        installhub_server::demo::seed(&store).await.unwrap();
        store.close().await;

        let mut dirs = Vec::new();
        let mut replicas = Vec::new();
        // Replicas sign the marketplace's versions with one key.
        let shared = tempfile::tempdir().unwrap();
        installhub_auth::PublisherKey::load_or_create(shared.path()).unwrap();
        let signing_key = shared
            .path()
            .join(installhub_auth::PUBLICHUB_KEY_FILE)
            .display()
            .to_string();
        dirs.push(shared);
        for (i, failpoint) in failpoints.iter().enumerate() {
            let dir = tempfile::tempdir().unwrap();
            let pem = dir.path().join("test-public.pem");
            std::fs::write(&pem, &keys().public_pem).unwrap();
            let port = free_port();
            let args: Vec<String> = [
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
                &dir.path().join("data").display().to_string(),
                "--database-url",
                &url,
                "--bundle-store",
                &format!("s3://{bucket}/bundles"),
                "--jwt-public-key",
                &pem.display().to_string(),
                "--jwt-issuer",
                ISSUER,
                "--instance-id",
                &format!("replica-{i}"),
                "--publichub-signing-key",
                &signing_key,
                "--install-lease-secs",
                "3",
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
            let mut env: Vec<(String, String)> = [
                ("AWS_ENDPOINT", endpoint.as_str()),
                ("AWS_ALLOW_HTTP", "true"),
                ("AWS_REGION", "us-east-1"),
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
                ("INSTALLHUB_LOG", "warn"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            if let Some(f) = failpoint {
                env.push(("INSTALLHUB_TEST_FAILPOINTS".into(), (*f).to_owned()));
            }
            replicas.push(Replica::spawn(args, env, port));
            dirs.push(dir);
        }
        for replica in &replicas {
            replica.ready().await;
        }
        Some(Cluster {
            replicas,
            http: reqwest::Client::new(),
            token: Token::full().mint(),
            _dirs: dirs,
            _database: database,
        })
    }

    fn url(&self, replica: usize, path: &str) -> String {
        format!("{}{path}", self.replicas[replica].url)
    }

    async fn post(&self, replica: usize, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .http
            .post(self.url(replica, path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, replica: usize, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(replica, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap()
    }

    async fn get_json(&self, replica: usize, path: &str) -> Value {
        self.get(replica, path).await.json().await.unwrap()
    }

    async fn import(&self, replica: usize, zip: &[u8]) -> (u16, Value) {
        let form = reqwest::multipart::Form::new()
            .part(
                "package",
                reqwest::multipart::Part::bytes(zip.to_vec()).file_name("p.zip"),
            )
            .part(
                "options",
                reqwest::multipart::Part::text(
                    json!({"targetTenantId": TARGET, "defaultConflictStrategy": "Replace"})
                        .to_string(),
                ),
            );
        let response = self
            .http
            .post(self.url(replica, "/api/installhub/packages/import"))
            .bearer_auth(&self.token)
            .multipart(form)
            .send()
            .await;
        match response {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    async fn target_artifacts(&self, replica: usize) -> usize {
        self.get_json(
            replica,
            &format!("/api/installhub/tenants/{TARGET}/artifacts?limit=1000"),
        )
        .await["artifacts"]
            .as_array()
            .unwrap()
            .len()
    }
}

fn export_request(version: &str) -> Value {
    json!({
        "tenantId": SOURCE, "packageName": "Employee Onboarding Suite",
        "packageType": "workflow-package", "version": version, "artifactIds": ["proc-1001"]
    })
}

const EXPORT: &str = "/api/installhub/packages/export";

#[tokio::test(flavor = "multi_thread")]
async fn the_per_user_limit_counts_once_across_replicas() {
    let Some(cluster) = Cluster::start(&[None, None]).await else {
        return;
    };
    let mut statuses = Vec::new();
    for i in 0..11 {
        let (status, _) = cluster
            .post(i % 2, EXPORT, &export_request(&format!("3.0.{i}")))
            .await;
        statuses.push(status);
    }
    assert_eq!(statuses[..10], [200; 10], "{statuses:?}");
    assert_eq!(statuses[10], 429, "{statuses:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_export_of_a_version_wins_across_replicas() {
    let Some(cluster) = Cluster::start(&[None, None]).await else {
        return;
    };
    // 20 at once: more than the per-user limit, so use two users' worth of
    // budget by spreading them over tokens of distinct subjects.
    let requests = (0..20).map(|i| {
        let token = Token::full().sub(&format!("user-{}", i % 4)).mint();
        let http = cluster.http.clone();
        let url = cluster.url(i % 2, EXPORT);
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&export_request("4.0.0"))
                .send()
                .await
                .unwrap()
        }
    });
    let responses = futures::future::join_all(requests).await;
    let mut ok = 0;
    let mut conflicts = 0;
    for response in responses {
        match response.status().as_u16() {
            200 => ok += 1,
            409 => {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"], "VersionConflict", "{body:#}");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {:?}", response.text().await),
        }
    }
    assert_eq!((ok, conflicts), (1, 19));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_from_one_replica_downloads_and_imports_on_the_other() {
    let Some(cluster) = Cluster::start(&[None, None]).await else {
        return;
    };
    let (status, body) = cluster.post(0, EXPORT, &export_request("2.1.0")).await;
    assert_eq!(status, 200, "{body:#}");
    let package_id = body["packageId"].as_str().unwrap();
    let checksum = body["checksum"].as_str().unwrap();
    let download = cluster
        .get(
            1,
            &format!("/api/installhub/packages/{package_id}/download"),
        )
        .await;
    assert_eq!(download.status(), 200);
    let zip = download.bytes().await.unwrap().to_vec();
    let reader = installhub_bundle::read_bundle(
        std::io::Cursor::new(&zip),
        &installhub_bundle::ReadLimits::default(),
    )
    .unwrap();
    assert_eq!(reader.manifest.checksum, checksum);

    // Eight imports of it at once, split over both replicas: one installs.
    let imports = (0..8).map(|i| cluster.import(i % 2, &zip));
    let results = futures::future::join_all(imports).await;
    let mut installed: Vec<u64> = results
        .iter()
        .map(|(status, body)| {
            assert_eq!(*status, 200, "{body:#}");
            body["artifactsInstalled"].as_u64().unwrap()
        })
        .collect();
    installed.sort_unstable();
    assert_eq!(installed, [0, 0, 0, 0, 0, 0, 0, 5]);
    assert_eq!(cluster.target_artifacts(0).await, 5);
    let records = cluster
        .get_json(1, &format!("/api/installhub/tenants/{TARGET}/imports"))
        .await;
    let records = records["imports"].as_array().unwrap();
    assert_eq!(records.len(), 8);
    assert!(
        records.iter().all(|r| r["status"] == "Success"),
        "{records:#?}"
    );
    let installed = cluster
        .get_json(
            0,
            &format!("/api/installhub/tenants/{TARGET}/installed-packages"),
        )
        .await;
    assert_eq!(installed["installedPackages"].as_array().unwrap().len(), 1);
}

fn large_bundle(count: usize) -> Vec<u8> {
    let ids: Vec<String> = (0..count).map(|i| format!("schema-{i:04}")).collect();
    let artifacts: Vec<_> = ids
        .iter()
        .map(|id| bundle_support::artifact(id, ArtifactType::EntitySchema, &[]))
        .collect();
    let order: Vec<&str> = ids.iter().map(String::as_str).collect();
    bundle_support::zip_bytes(
        &installhub_bundle::prepare(bundle_support::input(&order), &artifacts).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_a_replica_mid_import_leaves_the_tenant_and_the_other_replica_whole() {
    // Replica 0 writes slowly, so the kill lands inside its transaction.
    let Some(mut cluster) = Cluster::start(&[Some("install_artifact_delay_ms=25"), None]).await
    else {
        return;
    };
    let zip = large_bundle(90);
    let pending = {
        let form = reqwest::multipart::Form::new()
            .part(
                "package",
                reqwest::multipart::Part::bytes(zip.clone()).file_name("p.zip"),
            )
            .part(
                "options",
                reqwest::multipart::Part::text(json!({"targetTenantId": TARGET}).to_string()),
            );
        let request = cluster
            .http
            .post(cluster.url(0, "/api/installhub/packages/import"))
            .bearer_auth(&cluster.token)
            .multipart(form)
            .send();
        tokio::spawn(request)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let import_id = loop {
        let list = cluster
            .get_json(1, &format!("/api/installhub/tenants/{TARGET}/imports"))
            .await;
        if let Some(id) = list["imports"][0]["importId"].as_str() {
            break id.to_owned();
        }
        assert!(Instant::now() < deadline, "the import never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    cluster.replicas[0].kill();
    assert!(
        pending.await.unwrap().is_err(),
        "the import finished before the kill"
    );

    // The other replica sees the tenant as before and works.
    assert_eq!(cluster.target_artifacts(1).await, 0);
    let (status, body) = cluster.import(1, &zip).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["artifactsInstalled"], 90);

    // The killed replica, restarted under its instance id, marks its
    // interrupted import Failed at once.
    let old = &cluster.replicas[0];
    let port: u16 = old.url.rsplit(':').next().unwrap().parse().unwrap();
    let (args, env) = (old.args.clone(), old.env.clone());
    cluster.replicas[0] = Replica::spawn(args, env, port);
    cluster.replicas[0].ready().await;
    let record = cluster
        .get_json(0, &format!("/api/installhub/imports/{import_id}"))
        .await;
    assert_eq!(record["status"], "Failed", "{record:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn replicas_starting_at_once_migrate_an_empty_database_once() {
    let Some((_database, url)) = PgDatabase::create().await else {
        return;
    };
    // sqlx takes a PostgreSQL advisory lock around the migrations: four
    // stores connecting at once all succeed and agree on the schema.
    let stores = futures::future::join_all((0..4).map(|_| Store::connect(&url))).await;
    for store in stores {
        let store = store.expect("every replica starts");
        store.ping().await.unwrap();
        store.close().await;
    }
}

/// Every marketplace scope and the import's.
fn marketplace_token() -> String {
    Token::full()
        .scopes(&[
            "installhub:export",
            "installhub:import",
            "marketplace:publish",
            "marketplace:install",
            "marketplace:install:community",
        ])
        .mint()
}

/// Exports the example on `replica` and publishes it; answers the listing.
async fn publish_example(cluster: &Cluster, replica: usize, version: &str) -> String {
    let (status, exported) = cluster
        .post(replica, EXPORT, &export_request(version))
        .await;
    assert_eq!(status, 200, "{exported:#}");
    let response = cluster
        .http
        .post(cluster.url(replica, "/api/marketplace/packages"))
        .bearer_auth(marketplace_token())
        .json(
            &json!({ "sourcePackageId": exported["packageId"], "summary": "s", "publisher": "p" }),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    response.json::<Value>().await.unwrap()["packageId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn queue_install(cluster: &Cluster, replica: usize, listing: &str) -> String {
    let response = cluster
        .http
        .post(cluster.url(replica, &format!("/api/marketplace/packages/{listing}/install")))
        .bearer_auth(marketplace_token())
        .json(&json!({ "targetTenantId": TARGET, "defaultConflictStrategy": "Replace", "acknowledgeCommunityPackage": true }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    response.json::<Value>().await.unwrap()["statusUrl"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn status(cluster: &Cluster, replica: usize, status_url: &str) -> Value {
    cluster
        .http
        .get(cluster.url(replica, status_url))
        .bearer_auth(marketplace_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls `replica` until the install ends.
async fn finished(cluster: &Cluster, replica: usize, status_url: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let body = status(cluster, replica, status_url).await;
        if body["status"] != "InProgress" {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "the install did not end: {body:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_installs_queued_on_two_replicas_each_run_once() {
    let Some(cluster) = Cluster::start(&[None, None]).await else {
        return;
    };
    // Published on one replica, verified by the other's workers too.
    let listing = publish_example(&cluster, 0, "3.0.0").await;
    let mut urls = Vec::new();
    for i in 0..20 {
        urls.push(queue_install(&cluster, i % 2, &listing).await);
    }
    let mut imports = std::collections::BTreeSet::new();
    for (i, url) in urls.iter().enumerate() {
        let done = finished(&cluster, (i + 1) % 2, url).await;
        assert_eq!(done["status"], "Success", "{done:#}");
        assert!(imports.insert(done["importId"].as_str().unwrap().to_owned()));
    }
    let records = cluster
        .get_json(
            0,
            &format!("/api/installhub/tenants/{TARGET}/imports?limit=200"),
        )
        .await;
    let records = records["imports"].as_array().unwrap();
    assert_eq!(
        records.len(),
        20,
        "one import per install, no more: {records:#?}"
    );
    assert!(
        records
            .iter()
            .all(|r| r["status"] == "Success" && r["source"] == "Marketplace")
    );
    let shown = cluster
        .get_json(1, &format!("/api/marketplace/packages/{listing}"))
        .await;
    assert_eq!(shown["installCount"], 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_install_whose_replica_dies_is_finished_by_the_other() {
    // Replica 0 writes each artifact slowly, so the kill lands inside its
    // install transaction.
    let Some(mut cluster) = Cluster::start(&[Some("install_artifact_delay_ms=1500"), None]).await
    else {
        return;
    };
    let listing = publish_example(&cluster, 0, "3.0.0").await;
    // Only replica 0 runs while the install is claimed.
    cluster.replicas[1].kill();
    let url = queue_install(&cluster, 0, &listing).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let body = status(&cluster, 0, &url).await;
        if body["stage"] == "Installing" {
            break;
        }
        assert_eq!(body["status"], "InProgress", "{body:#}");
        assert!(
            Instant::now() < deadline,
            "the install never reached Installing"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let other = &cluster.replicas[1];
    let port: u16 = other.url.rsplit(':').next().unwrap().parse().unwrap();
    let (args, env) = (other.args.clone(), other.env.clone());
    cluster.replicas[1] = Replica::spawn(args, env, port);
    cluster.replicas[1].ready().await;
    cluster.replicas[0].kill();
    assert_eq!(
        cluster.target_artifacts(1).await,
        0,
        "nothing of the killed install is visible"
    );

    // Its lease runs out; the other replica claims the job and finishes it.
    let done = finished(&cluster, 1, &url).await;
    assert_eq!(done["status"], "Success", "{done:#}");
    assert_eq!(done["artifactsInstalled"], 5);
    assert_eq!(cluster.target_artifacts(1).await, 5);
    let records = cluster
        .get_json(1, &format!("/api/installhub/tenants/{TARGET}/imports"))
        .await;
    let successes: Vec<&Value> = records["imports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "Success")
        .collect();
    assert_eq!(successes.len(), 1, "{records:#}");
    assert_eq!(successes[0]["importId"], done["importId"]);
}
