//! The test harness: a real server on an ephemeral port, its own database
//! (SQLite, or with `crate::backend::POSTGRES` a fresh PostgreSQL database)
//! and bundle directory per test, and real RS256 tokens signed by a test key
//! the server knows only as a PEM public key.
//!
//! Shared by several test binaries, each using a different part of it.
#![allow(dead_code)]

use std::path::Path;
use std::sync::OnceLock;

use installhub_server::{RunningServer, ServerConfig};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderMap;
use rsa::RsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};
use tempfile::TempDir;

pub const SOURCE: &str = "tenant-7f3a9b12";
pub const TARGET: &str = "tenant-abc123";
pub const ISSUER: &str = "https://idp.test.installhub";
pub const AUDIENCE: &str = "installhub";

pub const ALL_SCOPES: &[&str] = &[
    "installhub:admin",
    "installhub:artifacts:write",
    "installhub:export",
    "installhub:import",
];

/// The test key pair: generated once per test binary.
pub struct TestKeys {
    pub private_pem: String,
    pub public_pem: String,
}

pub fn keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let private =
            RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("RSA key generation");
        TestKeys {
            private_pem: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            public_pem: private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        }
    })
}

/// Claims of a token under construction; `mint` signs them.
#[derive(Debug, Clone)]
pub struct Token {
    pub claims: serde_json::Map<String, Value>,
    pub kid: Option<String>,
}

impl Token {
    /// Every scope, both demo tenants, valid for an hour.
    pub fn full() -> Self {
        let now = chrono::Utc::now().timestamp();
        let claims = json!({
            "sub": "user-42",
            "email": "engineer@company.com",
            "tenants": [SOURCE, TARGET],
            "scope": ALL_SCOPES.join(" "),
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + 3600,
        });
        // A server configured with a PEM key knows it by its RFC 7638
        // thumbprint; tokens without `kid` are tried against every key.
        Self {
            claims: claims.as_object().unwrap().clone(),
            kid: None,
        }
    }

    pub fn set(mut self, key: &str, value: Value) -> Self {
        self.claims.insert(key.into(), value);
        self
    }

    pub fn without(mut self, key: &str) -> Self {
        self.claims.remove(key);
        self
    }

    pub fn scopes(self, scopes: &[&str]) -> Self {
        self.set("scope", json!(scopes.join(" ")))
    }

    pub fn tenants(self, tenants: &[&str]) -> Self {
        self.set("tenants", json!(tenants))
    }

    pub fn sub(self, sub: &str) -> Self {
        self.set("sub", json!(sub))
    }

    pub fn mint(&self) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.kid.clone();
        let key = EncodingKey::from_rsa_pem(keys().private_pem.as_bytes()).unwrap();
        jsonwebtoken::encode(&header, &self.claims, &key).unwrap()
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status and that the body is our error envelope with
    /// `code` among its failures; returns the body.
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        let body = self.json();
        assert_eq!(self.status, status, "body: {body:#}");
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "content-type {:?}",
            self.header("content-type")
        );
        let codes = error_codes(&body);
        assert!(
            codes.contains(&code.to_owned()),
            "expected {code} in {codes:?}: {body:#}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body:#}"
        );
        body
    }
}

pub fn error_codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["code"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub struct TestApp {
    pub server: RunningServer,
    pub http: reqwest::Client,
    pub token: String,
    _dir: TempDir,
    _database: Option<PgDatabase>,
}

/// Says once per test binary, past the test harness's output capture, that
/// a backend was not there: a passing run must not hide that it tested less.
pub fn notice(message: &str) {
    use std::io::Write;
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|m| m == message) {
        said.push(message.to_owned());
        let _ = writeln!(std::io::stderr(), "NOTE: {message}");
    }
}

/// A real S3 API server on loopback for this test binary: `moto_server`
/// (from PyPI's moto; `.ci/run` installs it), started once and stopped by a
/// watchdog when the test process ends. `None` (said on stderr) when it is
/// not installed: the test then keeps bundles on local disk.
pub async fn s3_endpoint() -> Option<String> {
    static ENDPOINT: tokio::sync::OnceCell<Option<String>> = tokio::sync::OnceCell::const_new();
    ENDPOINT
        .get_or_init(|| async {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .ok()?
                .local_addr()
                .ok()?
                .port();
            // The watchdog ends the server with this process.
            let script = format!(
                "moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & m=$!; \
                 while kill -0 {pid} 2>/dev/null && kill -0 $m 2>/dev/null; do sleep 1; done; kill $m 2>/dev/null",
                pid = std::process::id()
            );
            let started = std::process::Command::new("sh")
                .args(["-c", &script])
                .stdin(std::process::Stdio::null())
                .spawn();
            let endpoint = format!("http://127.0.0.1:{port}");
            if started.is_ok() {
                for _ in 0..150 {
                    if reqwest::get(&endpoint).await.is_ok() {
                        return Some(endpoint);
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
            if std::env::var("INSTALLHUB_REQUIRE_S3").is_ok_and(|v| v == "1") {
                panic!("no S3 server: moto_server did not start and INSTALLHUB_REQUIRE_S3=1");
            }
            notice("no S3 server (pip install 'moto[server]'): S3 tests keep bundles on local disk");
            None
        })
        .await
        .clone()
}

/// A new, empty bucket on the test S3 server: its endpoint and name.
pub async fn s3_bucket() -> Option<(String, String)> {
    let endpoint = s3_endpoint().await?;
    let bucket = format!("ih-{}", uuid::Uuid::new_v4().simple());
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "creating bucket {bucket}: {created:?}"
    );
    Some((endpoint, bucket))
}

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A PostgreSQL database made for one test, dropped with it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// A new, empty database, or `None` (said on stderr) when PostgreSQL
    /// cannot be reached; the test then runs on SQLite.
    pub async fn create() -> Option<(Self, String)> {
        use sqlx::{Connection, Executor};
        let admin_url = std::env::var("INSTALLHUB_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let connect = sqlx::PgConnection::connect(&admin_url);
        let mut admin = match tokio::time::timeout(std::time::Duration::from_secs(5), connect).await
        {
            Ok(Ok(conn)) => conn,
            outcome => {
                let why = match outcome {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".to_owned(),
                };
                if std::env::var("INSTALLHUB_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("PostgreSQL not reachable ({why}) and INSTALLHUB_REQUIRE_POSTGRES=1");
                }
                notice(&format!(
                    "PostgreSQL not reachable ({why}): PostgreSQL tests run on SQLite instead"
                ));
                return None;
            }
        };
        let name = format!("ih_api_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let (base, _) = admin_url
            .rsplit_once('/')
            .expect("a postgres:// URL with a database");
        let url = format!("{base}/{name}");
        Some((PgDatabase { admin_url, name }, url))
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use sqlx::{Connection, Executor};
        let (url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime; a thread with its own runtime
        // can block on the statement. FORCE ends the server's connections.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&url).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = admin.execute(sql.as_str()).await {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                }
            });
        });
        let _ = dropped.join();
    }
}

pub fn test_config(dir: &Path) -> ServerConfig {
    let pem = dir.join("test-public.pem");
    std::fs::write(&pem, &keys().public_pem).unwrap();
    let mut config = ServerConfig::for_testing(dir);
    config.auth.public_keys = vec![pem];
    config.auth.issuer = Some(ISSUER.into());
    config
}

impl TestApp {
    /// A server with the demo tenants and artifacts.
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    pub async fn with_config(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = test_config(dir.path());
        if crate::backend::S3
            && let Some((endpoint, bucket)) = s3_bucket().await
        {
            config.bundles = installhub_server::config::BundleStoreConfig::S3 {
                url: format!("s3://{bucket}/bundles"),
                options: [
                    ("endpoint", endpoint.as_str()),
                    ("allow_http", "true"),
                    ("region", "us-east-1"),
                    ("access_key_id", "test"),
                    ("secret_access_key", "test"),
                ]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            };
        }
        let database = if crate::backend::POSTGRES {
            PgDatabase::create().await.map(|(db, url)| {
                config.database.url = Some(url);
                db
            })
        } else {
            None
        };
        adjust(&mut config);
        let server = RunningServer::start(config).await.expect("server starts");
        installhub_server::demo::seed(server.state.store())
            .await
            .unwrap();
        Self {
            server,
            http: reqwest::Client::new(),
            token: Token::full().mint(),
            _dir: dir,
            _database: database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request reaches the server");
        Reply {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Reply {
        self.send(self.http.get(self.url(path)).bearer_auth(token))
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.get_as(&self.token, path).await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: &Value) -> Reply {
        self.send(self.http.post(self.url(path)).bearer_auth(token).json(body))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_as(&self.token, path, body).await
    }

    /// POSTs a multipart form as the full-scope caller.
    pub async fn post_form(&self, path: &str, form: reqwest::multipart::Form) -> Reply {
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(&self.token)
                .multipart(form),
        )
        .await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(
            self.http
                .put(self.url(path))
                .bearer_auth(&self.token)
                .json(body),
        )
        .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.http.delete(self.url(path)).bearer_auth(&self.token))
            .await
    }

    /// Writes an artifact through the host platform API.
    pub async fn put_artifact(&self, tenant: &str, id: &str, body: Value) -> Reply {
        let reply = self
            .put(
                &format!("/api/installhub/tenants/{tenant}/artifacts/{id}"),
                &body,
            )
            .await;
        assert!(
            reply.status == 200 || reply.status == 201,
            "{}: {:#}",
            reply.status,
            reply.json()
        );
        reply
    }

    /// A published artifact of the given type referencing `refs`.
    pub async fn artifact(&self, tenant: &str, id: &str, kind: &str, refs: &[&str]) {
        let references: Vec<Value> = refs.iter().map(|r| json!({ "artifactId": r })).collect();
        self.put_artifact(
            tenant,
            id,
            json!({
                "type": kind, "name": format!("Name {id}"), "version": "1.0.0",
                "status": "Published", "definition": { "id": id }, "references": references
            }),
        )
        .await;
    }

    pub async fn set_status(&self, tenant: &str, id: &str, status: &str) {
        let path = format!("/api/installhub/tenants/{tenant}/artifacts/{id}");
        let mut body = self.get(&path).await.json();
        let obj = body.as_object_mut().unwrap();
        for k in ["tenantId", "id", "updatedAt"] {
            obj.remove(k);
        }
        obj.insert("status".into(), json!(status));
        self.put_artifact(tenant, id, body).await;
    }

    pub async fn export(&self, body: &Value) -> Reply {
        self.post("/api/installhub/packages/export", body).await
    }

    pub async fn preview(&self, body: &Value) -> Reply {
        self.post("/api/installhub/packages/preview", body).await
    }
}

/// The seed 01 export request.
pub fn seed_export() -> Value {
    json!({
        "tenantId": SOURCE,
        "packageName": "Employee Onboarding Suite",
        "packageType": "workflow-package",
        "version": "2.1.0",
        "description": "Complete onboarding workflow",
        "author": "HR Automation Team",
        "tags": ["hr", "onboarding"],
        "artifactIds": ["proc-1001"]
    })
}

/// Redacts ids, times and checksums for snapshots.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match key.as_str() {
                    "packageId" | "exportedAt" | "checksum" | "sha256" | "bundleDownloadUrl"
                    | "updatedAt" => *v = json!(format!("[{key}]")),
                    _ => redact(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}
