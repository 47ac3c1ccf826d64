//! The client commands end to end: the built `installhub` binary, run as a
//! user runs it, against a real server on an ephemeral port with the seed's
//! demo data and a token minted with the server's own local key pair.
//!
//! The binary is run with a blocking `Command` on tokio's blocking pool, so
//! the server (on the same runtime) keeps answering while a command waits.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use installhub_auth::{LocalKeyPair, MintRequest};
use installhub_server::config::RateLimit;
use installhub_server::demo::{SOURCE_TENANT, TARGET_TENANT};
use installhub_server::{RunningServer, ServerConfig};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

#[path = "support/binary.rs"]
mod binary;
#[path = "support/seeded.rs"]
mod seeded;

use binary::{Run, run_blocking};

const SEED_ORDER: &str = "ent-44 → rule-305 → form-2005 → thread-2002 → proc-1001";

async fn run_cli(args: &[&str], env: &[(&str, String)], cwd: &Path) -> Run {
    binary::run(args, env, cwd).await
}

/// A seeded server, a token for the demo source tenant, and a working
/// directory for the files commands write.
struct TestServer {
    server: RunningServer,
    token: String,
    work: PathBuf,
    _dir: TempDir,
}

impl TestServer {
    async fn start() -> Self {
        Self::with_config(|_| {}).await
    }

    async fn with_config(adjust: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig::for_testing(dir.path());
        adjust(&mut config);
        let (server, token) =
            seeded::start(config, "cli-test", SOURCE_TENANT, "installhub:export").await;
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        Self {
            server,
            token,
            work,
            _dir: dir,
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("INSTALLHUB_URL", self.server.url()),
            ("INSTALLHUB_TOKEN", self.token.clone()),
        ]
    }

    /// Runs a command configured through the environment, in `work`.
    async fn run(&self, args: &[&str]) -> Run {
        run_cli(args, &self.env(), &self.work).await
    }

    /// Exports proc-1001 at `version`; returns the package id and checksum.
    async fn export(&self, version: &str) -> (String, String) {
        let run = self
            .run(&[
                "export",
                "--json",
                "--tenant",
                SOURCE_TENANT,
                "--name",
                "Employee Onboarding Suite",
                "--type",
                "workflow-package",
                "--version",
                version,
                "proc-1001",
            ])
            .await;
        let body = run.expect_success().json();
        (
            body["packageId"].as_str().unwrap().to_owned(),
            body["checksum"].as_str().unwrap().to_owned(),
        )
    }

    /// Exports and downloads a package; returns the file and the checksum.
    async fn bundle(&self, version: &str) -> (PathBuf, String) {
        let (package_id, checksum) = self.export(version).await;
        let file = self.work.join(format!("bundle-{version}.zip"));
        self.run(&["download", &package_id, "-o", file.to_str().unwrap()])
            .await
            .expect_success();
        (file, checksum)
    }
}

fn sha256_file(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
}

fn line_value<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no line starting with {label:?} in:\n{text}"))
        .trim()
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_draws_the_seed_graph_as_a_tree() {
    let app = TestServer::start().await;
    let run = app
        .run(&["preview", "--tenant", SOURCE_TENANT, "proc-1001"])
        .await;
    run.expect_success();
    assert_eq!(
        run.stdout,
        format!(
            "\
proc-1001 (ProcessDefinition) EmployeeOnboarding
├── thread-2002 (ThreadDefinition) ApprovalSubflow
├── form-2005 (AtlasForm) EmployeeForm
│   └── ent-44 (EntitySchema) EmployeeSchema
└── rule-305 (RuleSet) ApprovalRules

Install order: {SEED_ORDER}
Total: 5 artifacts
"
        )
    );
    assert_eq!(run.stderr, "");
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_json_is_the_servers_answer_and_flags_stand_in_for_the_environment() {
    let app = TestServer::start().await;
    // --server and --token instead of the variables.
    let url = app.server.url();
    let run = run_cli(
        &[
            "preview",
            "--json",
            "--server",
            &url,
            "--token",
            &app.token,
            "--tenant",
            SOURCE_TENANT,
            "proc-1001",
        ],
        &[],
        &app.work,
    )
    .await;
    let printed = run.expect_success().json();

    let direct: Value = reqwest::Client::new()
        .post(format!("{url}/api/installhub/packages/preview"))
        .bearer_auth(&app.token)
        .json(&json!({"tenantId": SOURCE_TENANT, "artifactIds": ["proc-1001"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printed, direct);
    assert_eq!(printed["rootArtifacts"][0]["id"], "proc-1001");
    assert_eq!(
        printed["installOrder"],
        json!([
            "ent-44",
            "rule-305",
            "form-2005",
            "thread-2002",
            "proc-1001"
        ])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn export_download_verify_round_trip() {
    let app = TestServer::start().await;

    // Export, as a person reads it.
    let run = app
        .run(&[
            "export",
            "--tenant",
            SOURCE_TENANT,
            "--name",
            "Employee Onboarding Suite",
            "--type",
            "workflow-package",
            "--version",
            "2.1.0",
            "proc-1001",
        ])
        .await;
    run.expect_success();
    let out = &run.stdout;
    assert!(
        out.starts_with("Exported Employee Onboarding Suite 2.1.0\n"),
        "{out}"
    );
    let package_id = line_value(out, "package id:").to_owned();
    assert!(package_id.starts_with("pkg-"), "{out}");
    let checksum = line_value(out, "checksum:").to_owned();
    assert!(
        checksum.starts_with("sha256:") && checksum.len() == 71,
        "{out}"
    );
    assert_eq!(line_value(out, "artifacts:"), "5");
    assert_eq!(line_value(out, "install order:"), SEED_ORDER);
    assert!(
        out.contains(&format!("installhub download {package_id}")),
        "{out}"
    );

    // Every optional flag reaches the manifest.
    let run = app
        .run(&[
            "export",
            "--json",
            "--tenant",
            SOURCE_TENANT,
            "--name",
            "Employee Onboarding Suite",
            "--type",
            "workflow-package",
            "--version",
            "2.2.0",
            "--description",
            "Complete onboarding",
            "--author",
            "HR Team",
            "--tag",
            "hr",
            "--tag",
            "onboarding",
            "--requires",
            "HR Core@^1.2",
            "proc-1001",
        ])
        .await;
    let manifest = run.expect_success().json()["manifest"].clone();
    assert_eq!(manifest["description"], "Complete onboarding");
    assert_eq!(manifest["author"], "HR Team");
    assert_eq!(manifest["tags"], json!(["hr", "onboarding"]));
    assert_eq!(
        manifest["packageDependencies"],
        json!([{"packageName": "HR Core", "versionRange": "^1.2"}])
    );

    // Download under the server's file name.
    let run = app.run(&["download", &package_id]).await;
    run.expect_success();
    let file = app.work.join("employee-onboarding-suite-2.1.0.zip");
    assert!(file.is_file(), "{run:#?}");
    let sha = sha256_file(&file);
    let size = std::fs::metadata(&file).unwrap().len();
    assert_eq!(
        line_value(&run.stdout, "Saved"),
        "employee-onboarding-suite-2.1.0.zip"
    );
    assert_eq!(line_value(&run.stdout, "sha256:"), sha);
    assert!(
        line_value(&run.stdout, "size:").starts_with(&format!("{size} bytes")),
        "{run:#?}"
    );

    // Not again without --force, and the file is left alone.
    std::fs::write(&file, b"keep me").unwrap();
    let run = app.run(&["download", &package_id]).await;
    run.expect_failure();
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("--force"),
        "{run:#?}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    app.run(&["download", &package_id, "--force"])
        .await
        .expect_success();
    assert_eq!(sha256_file(&file), sha);

    // --json and -o, to a file and into a directory.
    let run = app
        .run(&["download", &package_id, "--json", "-o", "copy.zip"])
        .await;
    assert_eq!(
        run.expect_success().json(),
        json!({"path": "copy.zip", "sizeBytes": size, "sha256": sha})
    );
    std::fs::create_dir(app.work.join("into")).unwrap();
    app.run(&["download", &package_id, "-o", "into"])
        .await
        .expect_success();
    assert_eq!(
        sha256_file(&app.work.join("into/employee-onboarding-suite-2.1.0.zip")),
        sha
    );
    assert!(part_files(&app.work).is_empty());

    // Verify offline.
    let run = app
        .run(&["verify", "employee-onboarding-suite-2.1.0.zip"])
        .await;
    run.expect_success();
    let out = &run.stdout;
    assert!(
        out.starts_with("Employee Onboarding Suite 2.1.0 (workflow-package)\n"),
        "{out}"
    );
    assert_eq!(line_value(out, "package id:"), package_id);
    assert_eq!(line_value(out, "source tenant:"), SOURCE_TENANT);
    assert_eq!(line_value(out, "artifacts:"), "5");
    assert!(out.contains("per-entry SHA-256: ok (5 entries)\n"), "{out}");
    assert!(out.contains(&format!("checksum: ok {checksum}\n")), "{out}");

    let run = app.run(&["verify", "--json", "copy.zip"]).await;
    assert_eq!(
        run.expect_success().json(),
        json!({
            "valid": true,
            "packageId": package_id,
            "name": "Employee Onboarding Suite",
            "version": "2.1.0",
            "checksum": checksum,
            "artifacts": 5,
        })
    );
}

/// Rewrites one entry of a ZIP with other (still valid JSON) content,
/// copying the rest: the archive is sound, its contents are not.
fn rewrite_entry(path: &Path, entry: &str, edit: impl Fn(&str) -> String) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut entries = Vec::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).unwrap();
        let mut content = String::new();
        file.read_to_string(&mut content).unwrap();
        entries.push((file.name().unwrap().into_owned(), file.is_dir(), content));
    }
    let mut writer = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    let mut edited = false;
    for (name, is_dir, content) in entries {
        if is_dir {
            writer.add_directory(name, options).unwrap();
            continue;
        }
        let content = if name == entry {
            let changed = edit(&content);
            assert_ne!(changed, content, "the edit changes {entry}");
            edited = true;
            changed
        } else {
            content
        };
        writer.start_file(name, options).unwrap();
        writer.write_all(content.as_bytes()).unwrap();
    }
    writer.finish().unwrap();
    assert!(edited, "{entry} is in the bundle");
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_rejects_a_bundle_whose_entry_was_changed() {
    let app = TestServer::start().await;
    let (file, _) = app.bundle("2.1.0").await;
    rewrite_entry(&file, "artifacts/ent-44.json", |text| {
        text.replace("200", "999")
    });

    let path = file.to_str().unwrap();
    let run = app.run(&["verify", path]).await;
    run.expect_failure();
    assert!(run.stderr.contains("ChecksumMismatch"), "{run:#?}");
    assert!(run.stderr.contains("artifacts/ent-44.json"), "{run:#?}");
    assert!(!run.stdout.contains("checksum: ok"), "{run:#?}");

    let run = app.run(&["verify", "--json", path]).await;
    let body = run.expect_failure().json();
    assert_eq!(body["valid"], false);
    assert_eq!(body["error"], "ChecksumMismatch");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("artifacts/ent-44.json"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_rejects_a_bundle_with_a_flipped_byte() {
    let app = TestServer::start().await;
    let (file, _) = app.bundle("2.1.0").await;
    let mut bytes = std::fs::read(&file).unwrap();
    // The middle of proc-1001's stored data, found from its local header.
    let (start, len) = {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&bytes)).unwrap();
        let entry = archive.by_name("artifacts/proc-1001.json").unwrap();
        (
            entry.header_start() as usize,
            entry.compressed_size() as usize,
        )
    };
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
    let data = start + 30 + u16_at(start + 26) + u16_at(start + 28);
    bytes[data + len / 2] ^= 0x55;
    std::fs::write(&file, &bytes).unwrap();

    let run = app.run(&["verify", "--json", file.to_str().unwrap()]).await;
    let body = run.expect_failure().json();
    assert_eq!(body["valid"], false);
    let code = body["error"].as_str().unwrap();
    assert!(code == "InvalidZip" || code == "ChecksumMismatch", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("proc-1001"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_of_something_that_is_not_a_zip_fails() {
    let app = TestServer::start().await;
    std::fs::write(app.work.join("notes.zip"), b"just text").unwrap();
    let run = app.run(&["verify", "notes.zip"]).await;
    run.expect_failure();
    assert!(
        run.stderr
            .starts_with("error: notes.zip is not a valid bundle: InvalidZip: "),
        "{run:#?}"
    );
    let run = app.run(&["verify", "--json", "missing.zip"]).await;
    assert_eq!(run.expect_failure().json()["error"], "FileNotFound");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_print_the_servers_message_and_each_failure() {
    let app = TestServer::start().await;
    let args = [
        "export",
        "--tenant",
        SOURCE_TENANT,
        "--name",
        "Employee Onboarding Suite",
        "--type",
        "workflow-package",
        "--version",
        "2.1.0",
        "proc-1001",
        "nope-1",
    ];
    let run = app.run(&args).await;
    run.expect_failure();
    assert_eq!(run.stdout, "");
    // One failure: said once, its code and field in front.
    assert_eq!(
        run.stderr,
        "error: ArtifactNotFound [artifactIds[1]]: Artifact 'nope-1' does not exist in tenant 'tenant-7f3a9b12'\n",
        "{run:#?}"
    );

    let mut json_args = args.to_vec();
    json_args.insert(1, "--json");
    let run = app.run(&json_args).await;
    let body = run.expect_failure().json();
    assert_eq!(body["error"], "ArtifactNotFound");
    assert_eq!(body["errors"][0]["code"], "ArtifactNotFound");
    assert_eq!(run.stderr, "");

    // Nothing was exported, so the package does not exist either.
    let run = app
        .run(&["download", "pkg-00000000-0000-4000-8000-000000000000"])
        .await;
    run.expect_failure();
    assert!(run.stderr.contains("PackageNotFound"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_exports_mention_retry_after() {
    let app = TestServer::with_config(|config| {
        config.limits.exports_per_user = RateLimit {
            max: 1,
            window: std::time::Duration::from_secs(600),
        };
    })
    .await;
    app.export("2.1.0").await;
    let run = app
        .run(&[
            "export",
            "--tenant",
            SOURCE_TENANT,
            "--name",
            "Employee Onboarding Suite",
            "--type",
            "workflow-package",
            "--version",
            "2.1.1",
            "proc-1001",
        ])
        .await;
    run.expect_failure();
    assert!(run.stderr.contains("RateLimitExceeded"), "{run:#?}");
    assert!(run.stderr.contains("Retry-After: "), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_missing_or_rejected_are_explained() {
    let app = TestServer::start().await;
    let url = app.server.url();
    let preview = ["preview", "--tenant", SOURCE_TENANT, "proc-1001"];

    let run = run_cli(&preview, &[("INSTALLHUB_URL", url.clone())], &app.work).await;
    run.expect_failure();
    assert!(
        run.stderr.contains("no token")
            && run.stderr.contains("--token")
            && run.stderr.contains("INSTALLHUB_TOKEN"),
        "{run:#?}"
    );
    let run = run_cli(
        &["preview", "--json", "--tenant", SOURCE_TENANT, "proc-1001"],
        &[("INSTALLHUB_URL", url.clone())],
        &app.work,
    )
    .await;
    assert_eq!(run.expect_failure().json()["error"], "MissingToken");

    let run = run_cli(
        &preview,
        &[
            ("INSTALLHUB_URL", url),
            ("INSTALLHUB_TOKEN", "not-a-jwt".into()),
        ],
        &app.work,
    )
    .await;
    run.expect_failure();
    assert!(
        run.stderr.starts_with("error: Unauthenticated: "),
        "{run:#?}"
    );
    assert!(
        run.stderr.contains("--token or INSTALLHUB_TOKEN"),
        "{run:#?}"
    );
}

#[test]
fn an_unreachable_server_is_named() {
    // A port that was free a moment ago and has no listener now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().unwrap();
    let args: Vec<String> = [
        "preview",
        "--server",
        &server,
        "--token",
        "t",
        "--tenant",
        SOURCE_TENANT,
        "proc-1001",
    ]
    .iter()
    .map(|a| (*a).to_owned())
    .collect();
    let run = run_blocking(&args, &[], dir.path());
    run.expect_failure();
    assert!(
        run.stderr
            .starts_with(&format!("error: could not reach the server at {server}: ")),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("\nhint: is 'installhub serve' running there?"),
        "{run:#?}"
    );

    let mut json_args = args.clone();
    json_args.insert(1, "--json".into());
    let run = run_blocking(&json_args, &[], dir.path());
    assert_eq!(run.expect_failure().json()["error"], "ServerUnreachable");
}

/// A one-route HTTP server that answers every request with `response`,
/// for what the real server never does: lie about a download.
async fn fake_server(response: Vec<u8>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = socket.write_all(&response).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    url
}

fn zip_response(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n",
        body.len()
    )
    .into_bytes();
    response.extend_from_slice(body);
    response
}

fn part_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".part"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn download_keeps_the_servers_file_name_inside_the_target_directory() {
    let body = b"PK not really a zip".as_slice();
    let url = fake_server(zip_response(
        "Content-Disposition: attachment; filename=\"../../escaped.zip\"\r\n",
        body,
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("a/b");
    std::fs::create_dir_all(&work).unwrap();
    let run = run_cli(
        &["download", "pkg-1", "--json"],
        &[("INSTALLHUB_URL", url), ("INSTALLHUB_TOKEN", "t".into())],
        &work,
    )
    .await;
    let saved = run.expect_success().json();
    assert_eq!(saved["path"], "escaped.zip");
    assert_eq!(std::fs::read(work.join("escaped.zip")).unwrap(), body);
    assert!(!dir.path().join("escaped.zip").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn download_saves_nothing_when_the_bytes_do_not_match_the_etag() {
    let wrong = "0".repeat(64);
    let url = fake_server(zip_response(
        &format!(
            "ETag: \"{wrong}\"\r\nContent-Disposition: attachment; filename=\"p-1.0.0.zip\"\r\n"
        ),
        b"some bytes",
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_cli(
        &["download", "pkg-1"],
        &[("INSTALLHUB_URL", url), ("INSTALLHUB_TOKEN", "t".into())],
        dir.path(),
    )
    .await;
    run.expect_failure();
    assert!(
        run.stderr.contains("ETag") && run.stderr.contains("nothing was saved"),
        "{run:#?}"
    );
    assert!(!dir.path().join("p-1.0.0.zip").exists());
    assert!(part_files(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn download_saves_nothing_when_the_body_is_cut_short() {
    // Announces 100 bytes, sends 10, closes.
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Type: application/zip\r\nContent-Length: 100\r\nConnection: close\r\n\
Content-Disposition: attachment; filename=\"p-1.0.0.zip\"\r\n\r\n"
        .to_vec();
    response.extend_from_slice(b"0123456789");
    let url = fake_server(response).await;
    let dir = tempfile::tempdir().unwrap();
    let run = run_cli(
        &["download", "pkg-1", "--json"],
        &[("INSTALLHUB_URL", url), ("INSTALLHUB_TOKEN", "t".into())],
        dir.path(),
    )
    .await;
    let body = run.expect_failure().json();
    assert_eq!(body["error"], "DownloadFailed", "{run:#?}");
    assert!(!dir.path().join("p-1.0.0.zip").exists());
    assert!(part_files(dir.path()).is_empty());
}

/// A token that may export from the source and import into the target.
fn importer_token(app: &TestServer) -> String {
    LocalKeyPair::load_or_create(&app._dir.path().join("keys"))
        .unwrap()
        .mint(&MintRequest {
            email: Some("cli-test@company.com".into()),
            tenants: vec![SOURCE_TENANT.into(), TARGET_TENANT.into()],
            scopes: vec!["installhub:export".into(), "installhub:import".into()],
            ..MintRequest::new("cli-test")
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn import_uploads_a_bundle_and_shows_the_plan_and_the_result() {
    let app = TestServer::start().await;
    let (file, _) = app.bundle("2.1.0").await;
    let file = file.to_str().unwrap().to_owned();
    let env = [
        ("INSTALLHUB_URL", app.server.url()),
        ("INSTALLHUB_TOKEN", importer_token(&app)),
    ];

    let run = run_cli(
        &["import", &file, "--tenant", TARGET_TENANT, "--dry-run"],
        &env,
        &app.work,
    )
    .await;
    run.expect_success();
    assert!(
        run.stdout
            .starts_with("Dry run of Employee Onboarding Suite 2.1.0"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("nothing was installed"), "{run:#?}");
    assert!(
        run.stdout
            .contains("ent-44       EntitySchema       Create"),
        "{run:#?}"
    );

    let run = run_cli(
        &[
            "import",
            &file,
            "--tenant",
            TARGET_TENANT,
            "--strategy",
            "Replace",
        ],
        &env,
        &app.work,
    )
    .await;
    run.expect_success();
    assert!(
        run.stdout
            .starts_with("Imported Employee Onboarding Suite 2.1.0"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("installed 5 artifact(s)"), "{run:#?}");
    assert!(
        run.stdout
            .contains("order:    ent-44 → rule-305 → form-2005 → thread-2002 → proc-1001"),
        "{run:#?}"
    );

    let run = run_cli(
        &["import", &file, "--tenant", TARGET_TENANT, "--json"],
        &env,
        &app.work,
    )
    .await;
    let body = run.expect_success().json();
    assert_eq!(body["status"], "Success");
    assert_eq!(body["artifactsInstalled"], 0);

    // A tenant the token cannot reach: the server's error, exit code 1.
    let run = run_cli(
        &["import", &file, "--tenant", "tenant-elsewhere"],
        &env,
        &app.work,
    )
    .await;
    run.expect_failure();
    assert!(run.stderr.contains("TenantAccessDenied"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_reports_offline_as_text_json_and_sarif() {
    let app = TestServer::start().await;
    let (file, _) = app.bundle("2.1.0").await;
    let file = file.to_str().unwrap().to_owned();
    let run = run_cli(&["scan", &file], &[], &app.work).await;
    run.expect_success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "Employee Onboarding Suite 2.1.0: PASS (0 finding(s))"
    );
    // With no synced index, the snapshot built in, named.
    assert!(lines[1].starts_with("  advisories: snapshot "), "{run:#?}");
    assert!(
        lines[1].contains(" from embedded, created 2024-07-25T20:12:08Z: 6 advisories"),
        "{run:#?}"
    );
    assert_eq!(lines.len(), 2, "{run:#?}");

    let body = run_cli(&["scan", &file, "--format", "json"], &[], &app.work)
        .await
        .expect_success()
        .json();
    assert_eq!(body["result"], "PASS");
    assert_eq!(body["securityFindings"], json!([]));
    assert_eq!(body["advisorySnapshot"]["source"], "embedded");

    let sarif = run_cli(&["scan", &file, "--format", "sarif"], &[], &app.work)
        .await
        .expect_success()
        .json();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["name"],
        "installhub-scan"
    );
    assert!(
        !sarif["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    std::fs::write(app.work.join("junk.zip"), b"not a zip").unwrap();
    let run = run_cli(&["scan", "junk.zip"], &[], &app.work).await;
    assert_eq!(run.code, Some(2), "{run:#?}");
    assert!(run.stderr.contains("InvalidZip"), "{run:#?}");
}

/// A reader that stops early (`| head -1`) or output nobody can take (a
/// full disk): the command neither panics nor pretends. Stdout is a pipe
/// whose reader is already closed, so every write meets a broken pipe, or
/// `/dev/full`, where every write fails with "no space left".
#[tokio::test(flavor = "multi_thread")]
async fn output_to_a_closed_pipe_ends_quietly_and_to_a_full_disk_fails() {
    let app = TestServer::start().await;
    let (file, _) = app.bundle("2.1.0").await;
    let file = file.to_str().unwrap().to_owned();
    let (work, env) = (app.work.clone(), app.env());
    tokio::task::spawn_blocking(move || {
        let commands: [&[&str]; 4] = [
            &["scan", &file],
            &["verify", &file],
            &["packages", "list", "--tenant", SOURCE_TENANT],
            &["completions", "bash"],
        ];
        for args in commands {
            let run = |stdout: std::process::Stdio| {
                let mut command = std::process::Command::new(binary::BIN);
                command.args(args).current_dir(&work).stdout(stdout);
                command.env("INSTALLHUB_CONFIG", work.join("installhub-config.toml"));
                for (key, value) in &env {
                    command.env(key, value);
                }
                command.output().expect("the installhub binary runs")
            };
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            let closed = run(writer.into());
            let stderr = String::from_utf8_lossy(&closed.stderr);
            assert_eq!(closed.status.code(), Some(0), "{args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");

            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap();
            let failed = run(full.into());
            let stderr = String::from_utf8_lossy(&failed.stderr);
            assert_eq!(failed.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(
                stderr.contains("error: cannot write")
                    && stderr.contains("No space left on device"),
                "{args:?}: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        }
    })
    .await
    .unwrap();
}

/// A script that reaches `eval` without spelling it: the text output names
/// the capability and shows the code, and the exit code fails a pipeline.
#[tokio::test(flavor = "multi_thread")]
async fn scan_shows_what_code_reaches_and_the_code() {
    use installhub_bundle::fixtures::{SEED_ORDER, input, seed_artifacts};
    let app = TestServer::start().await;
    let mut artifacts = seed_artifacts();
    artifacts[0].definition = json!({"steps": [{"name": "run", "script": "const f = globalThis['ev' + 'al'];\nf(input.code);"}]});
    let id = artifacts[0].id.to_string();
    let bundle = installhub_bundle::prepare(input(&SEED_ORDER), &artifacts).unwrap();
    let bytes = installhub_bundle::write_zip(&bundle, std::io::Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    std::fs::write(app.work.join("hostile.zip"), bytes).unwrap();

    let run = run_cli(&["scan", "hostile.zip"], &[], &app.work).await;
    assert_eq!(run.code, Some(1), "{run:#?}");
    assert!(run.stdout.contains(": FAIL ("), "{run:#?}");
    let finding = format!("  - High code-host-access {id}/steps/0/script: ");
    let at = run
        .stdout
        .find(&finding)
        .unwrap_or_else(|| panic!("{run:#?}"));
    let rest: Vec<&str> = run.stdout[at..].lines().take(3).collect();
    assert_eq!(rest[1], "      capability: HostObject", "{run:#?}");
    assert_eq!(
        rest[2], "      code: f = globalThis['ev' + 'al']",
        "{run:#?}"
    );
}

// --- The marketplace: publish, search, show, install (followed), govern,
// and the offline check of a downloaded version's PublicHub signature.

/// Every scope the marketplace commands need, on both demo tenants.
fn marketplace_token(app: &TestServer) -> String {
    LocalKeyPair::load_or_create(&app._dir.path().join("keys"))
        .unwrap()
        .mint(&MintRequest {
            email: Some("cli-test@company.com".into()),
            tenants: vec![SOURCE_TENANT.into(), TARGET_TENANT.into()],
            scopes: [
                "installhub:export",
                "installhub:import",
                "installhub:artifacts:write",
                "marketplace:publish",
                "marketplace:install",
                "marketplace:install:community",
                "marketplace:admin",
            ]
            .map(String::from)
            .to_vec(),
            ..MintRequest::new("cli-test")
        })
        .unwrap()
}

impl TestServer {
    /// Runs a command with the marketplace token.
    async fn market(&self, args: &[&str]) -> Run {
        let env = [
            ("INSTALLHUB_URL", self.server.url()),
            ("INSTALLHUB_TOKEN", marketplace_token(self)),
        ];
        run_cli(args, &env, &self.work).await
    }

    /// Exports proc-1001 as `name` `version` and publishes it; answers the
    /// publish command's JSON.
    async fn publish(&self, name: &str, version: &str) -> Value {
        let run = self
            .run(&[
                "export",
                "--json",
                "--tenant",
                SOURCE_TENANT,
                "--name",
                name,
                "--type",
                "workflow-package",
                "--version",
                version,
                "proc-1001",
            ])
            .await;
        let package = run.expect_success().json()["packageId"]
            .as_str()
            .unwrap()
            .to_owned();
        let run = self
            .market(&[
                "marketplace",
                "publish",
                "--package",
                &package,
                "--summary",
                "Onboarding workflows, forms and rules for HR teams.",
                "--publisher",
                "Acme HR",
                "--category",
                "hr",
                "--json",
            ])
            .await;
        run.expect_success().json()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn marketplace_publish_search_show_and_install_to_success() {
    let app = TestServer::start().await;
    let first = app.publish("Employee Onboarding Suite", "2.1.0").await;
    let listing = first["packageId"].as_str().unwrap().to_owned();
    assert!(listing.starts_with("mkt-pkg-"), "{first:#}");
    assert_eq!(first["newListing"], true);
    assert_eq!(first["trustLevel"], "Community");
    let other = app.publish("Payroll Sync", "1.0.0").await;

    // A second version, published as a person reads it.
    let package = app.export("2.2.0").await.0;
    let run = app
        .market(&[
            "marketplace",
            "publish",
            "--package",
            &package,
            "--summary",
            "Onboarding workflows.",
            "--publisher",
            "Acme HR",
        ])
        .await;
    run.expect_success();
    assert!(
        run.stdout.starts_with(&format!(
            "Published Employee Onboarding Suite 2.2.0 as {listing}\n"
        )),
        "{run:#?}"
    );
    assert!(run.stdout.contains("scan:      PASS"), "{run:#?}");

    // Search: the table, and every page with --all.
    let run = app.market(&["marketplace", "search", "employee"]).await;
    run.expect_success();
    let mut lines = run.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "PACKAGE",
            "ID",
            "NAME",
            "LATEST",
            "TRUST",
            "INSTALLS",
            "PUBLISHER"
        ]
    );
    let row = lines.next().unwrap();
    for cell in [
        listing.as_str(),
        "Employee Onboarding Suite",
        "2.2.0",
        "Community",
        "0",
        "Acme HR",
    ] {
        assert!(row.contains(cell), "{cell} in {run:#?}");
    }
    assert_eq!(lines.next(), None, "{run:#?}");

    let run = app.market(&["marketplace", "search", "--limit", "1"]).await;
    run.expect_success();
    assert!(run.stdout.contains("add --all"), "{run:#?}");
    let page = app
        .market(&["marketplace", "search", "--limit", "1", "--json"])
        .await
        .expect_success()
        .json();
    assert_eq!(page["packages"].as_array().unwrap().len(), 1);
    assert!(page["nextCursor"].is_string(), "{page:#}");
    let all = app
        .market(&["marketplace", "search", "--limit", "1", "--all", "--json"])
        .await
        .expect_success()
        .json();
    let ids: Vec<&str> = all["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["packageId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [listing.as_str(), other["packageId"].as_str().unwrap()]
    );
    let none = app
        .market(&["marketplace", "search", "--trust-level", "Official"])
        .await;
    assert_eq!(none.expect_success().stdout, "No listings match.\n");

    // Show: the listing and its versions, newest first.
    let run = app.market(&["marketplace", "show", &listing]).await;
    run.expect_success();
    assert!(
        run.stdout
            .starts_with(&format!("Employee Onboarding Suite ({listing})\n")),
        "{run:#?}"
    );
    assert!(run.stdout.contains("Versions (2):"), "{run:#?}");
    let versions: Vec<&str> = run
        .stdout
        .lines()
        .skip_while(|l| !l.contains("VERSION"))
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(versions, ["2.2.0", "2.1.0"], "{run:#?}");
    let shown = app
        .market(&["marketplace", "show", &listing, "--json"])
        .await
        .expect_success()
        .json();
    assert_eq!(shown["versions"][1]["version"], "2.1.0");

    // A Community package needs the acknowledgment.
    let run = app
        .market(&[
            "marketplace",
            "install",
            &listing,
            "--tenant",
            TARGET_TENANT,
        ])
        .await;
    run.expect_failure();
    assert!(
        run.stderr.contains("This is a Community package"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("--accept-community"), "{run:#?}");

    // Install, followed to its end.
    let run = app
        .market(&[
            "marketplace",
            "install",
            &listing,
            "--tenant",
            TARGET_TENANT,
            "--version",
            "2.1.0",
            "--accept-community",
            "--conflict-strategy",
            "Skip",
        ])
        .await;
    run.expect_success();
    assert!(
        run.stdout
            .contains("succeeded: 5 artifact(s) installed, 0 conflict(s) resolved"),
        "{run:#?}"
    );
    let import_id = line_value(&run.stdout, "import:");
    assert!(import_id.starts_with("imp-"), "{run:#?}");

    // A dry run, as JSON: the final status.
    let run = app
        .market(&[
            "marketplace",
            "install",
            &listing,
            "--tenant",
            TARGET_TENANT,
            "--accept-community",
            "--dry-run",
            "--json",
        ])
        .await;
    let done = run.expect_success().json();
    assert_eq!(done["status"], "Success", "{done:#}");
    assert_eq!(done["dryRun"], true, "{done:#}");

    // --no-wait answers the 202; status follows it by hand.
    let run = app
        .market(&[
            "marketplace",
            "install",
            &listing,
            "--tenant",
            TARGET_TENANT,
            "--accept-community",
            "--idempotency-key",
            "cli-test-1",
            "--no-wait",
            "--json",
        ])
        .await;
    let accepted = run.expect_success().json();
    let install_id = accepted["installId"].as_str().unwrap().to_owned();
    assert!(install_id.starts_with("mkt-install-"), "{accepted:#}");
    let mut status = Value::Null;
    for _ in 0..200 {
        let run = app
            .market(&["marketplace", "status", &install_id, "--json"])
            .await;
        status = run.expect_success().json();
        if status["status"] != "InProgress" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "Success", "{status:#}");
    let run = app.market(&["marketplace", "status", &install_id]).await;
    run.expect_success();
    assert!(
        run.stdout
            .starts_with(&format!("Install {install_id} succeeded")),
        "{run:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn marketplace_a_failed_install_exits_non_zero_with_its_error() {
    let app = TestServer::start().await;
    // A process that calls a plain-HTTP endpoint: the scan warns, and an
    // install without --allow-security-warnings fails at the scan.
    let reply = reqwest::Client::new()
        .put(format!(
            "{}/api/installhub/tenants/{SOURCE_TENANT}/artifacts/proc-1001",
            app.server.url()
        ))
        .bearer_auth(marketplace_token(&app))
        .json(&json!({
            "type": "ProcessDefinition", "name": "Onboarding", "version": "1.0.0", "status": "Published",
            "definition": { "endpoint": "http://payroll.acme-corp.net/api" }
        }))
        .send()
        .await
        .unwrap();
    assert!(reply.status().is_success(), "{reply:?}");
    let listing = app.publish("Employee Onboarding Suite", "2.1.0").await["packageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let install = [
        "marketplace",
        "install",
        listing.as_str(),
        "--tenant",
        TARGET_TENANT,
        "--accept-community",
    ];

    let run = app.market(&install).await;
    run.expect_failure();
    assert!(
        run.stderr
            .contains("failed at SecurityScan: SecurityScanFailed: "),
        "{run:#?}"
    );
    assert!(run.stderr.contains("import:  imp-"), "{run:#?}");
    assert!(run.stderr.contains("rolled back"), "{run:#?}");

    let mut json_install = install.to_vec();
    json_install.push("--json");
    let run = app.market(&json_install).await;
    let failed = run.expect_failure().json();
    assert_eq!(failed["status"], "Failed", "{failed:#}");
    assert_eq!(failed["error"], "SecurityScanFailed");
    assert_eq!(failed["rolledBack"], true);
    assert!(failed["message"].is_string());

    // With the override (a scope this token lacks) the server refuses it up front.
    let mut overridden = install.to_vec();
    overridden.push("--allow-security-warnings");
    let run = app.market(&overridden).await;
    run.expect_failure();
    assert!(run.stderr.contains("error: "), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn marketplace_yank_trust_and_delist() {
    let app = TestServer::start().await;
    let listing = app.publish("Employee Onboarding Suite", "2.1.0").await["packageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let package = app.export("2.2.0").await.0;
    app.market(&[
        "marketplace",
        "publish",
        "--package",
        &package,
        "--summary",
        "Onboarding.",
        "--publisher",
        "Acme HR",
    ])
    .await
    .expect_success();
    let latest = |body: Value| body["packages"][0]["latestVersion"].clone();

    let run = app
        .market(&[
            "marketplace",
            "yank",
            &listing,
            "2.2.0",
            "--reason",
            "Breaks approvals; use 2.1.0.",
        ])
        .await;
    run.expect_success();
    assert!(
        run.stdout.starts_with(&format!(
            "Yanked 2.2.0 of {listing}: Breaks approvals; use 2.1.0.\n"
        )),
        "{run:#?}"
    );
    let shown = app.market(&["marketplace", "show", &listing]).await;
    assert!(
        shown
            .expect_success()
            .stdout
            .contains("YANKED: Breaks approvals; use 2.1.0."),
        "{shown:#?}"
    );
    let found = app.market(&["marketplace", "search", "--json"]).await;
    assert_eq!(latest(found.expect_success().json()), "2.1.0");
    // A reason is required to yank, and not taken with --undo.
    app.market(&["marketplace", "yank", &listing, "2.2.0"])
        .await
        .expect_failure_code(2);
    let undone = app
        .market(&["marketplace", "yank", "--undo", &listing, "2.2.0", "--json"])
        .await
        .expect_success()
        .json();
    assert!(undone.get("yanked").is_none(), "{undone:#}");
    let found = app.market(&["marketplace", "search", "--json"]).await;
    assert_eq!(latest(found.expect_success().json()), "2.2.0");

    // A deprecation warns and stays "latest".
    let run = app
        .market(&[
            "marketplace",
            "deprecate",
            &listing,
            "2.2.0",
            "--reason",
            "Use 2.3.0.",
        ])
        .await;
    assert!(
        run.expect_success()
            .stdout
            .starts_with(&format!("Deprecated 2.2.0 of {listing}: Use 2.3.0.\n")),
        "{run:#?}"
    );
    let shown = app.market(&["marketplace", "show", &listing]).await;
    assert!(
        shown
            .expect_success()
            .stdout
            .contains("DEPRECATED: Use 2.3.0."),
        "{shown:#?}"
    );
    let found = app.market(&["marketplace", "search", "--json"]).await;
    assert_eq!(latest(found.expect_success().json()), "2.2.0");
    let run = app
        .market(&["marketplace", "deprecate", "--undo", &listing, "2.2.0"])
        .await;
    assert_eq!(
        run.expect_success().stdout,
        format!("2.2.0 of {listing} is not deprecated.\n")
    );

    let run = app
        .market(&["marketplace", "trust", &listing, "Verified"])
        .await;
    assert_eq!(
        run.expect_success().stdout,
        format!("Employee Onboarding Suite ({listing}) is Verified.\n")
    );
    let run = app
        .market(&["marketplace", "search", "--trust-level", "Verified"])
        .await;
    assert!(run.expect_success().stdout.contains(&listing), "{run:#?}");
    app.market(&["marketplace", "trust", &listing, "Gold"])
        .await
        .expect_failure_code(2);

    let run = app
        .market(&[
            "marketplace",
            "delist",
            &listing,
            "--reason",
            "Unmaintained.",
        ])
        .await;
    assert!(
        run.expect_success()
            .stdout
            .contains("is delisted: Unmaintained."),
        "{run:#?}"
    );
    let run = app.market(&["marketplace", "search"]).await;
    assert_eq!(run.expect_success().stdout, "No listings match.\n");
    let run = app
        .market(&[
            "marketplace",
            "install",
            &listing,
            "--tenant",
            TARGET_TENANT,
            "--accept-community",
            "--json",
        ])
        .await;
    assert_eq!(run.expect_failure().json()["error"], "ListingDelisted");
    app.market(&["marketplace", "delist", "--undo", &listing])
        .await
        .expect_success();
    let run = app.market(&["marketplace", "search"]).await;
    assert!(run.expect_success().stdout.contains(&listing), "{run:#?}");

    // Without marketplace:admin, trust is refused with the server's words.
    let run = app
        .run(&["marketplace", "trust", &listing, "Official"])
        .await;
    run.expect_failure();
    assert!(run.stderr.contains("marketplace:admin"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn marketplace_verify_checks_the_publichub_signature_offline() {
    let app = TestServer::start().await;
    let published = app.publish("Employee Onboarding Suite", "2.1.0").await;
    let listing = published["packageId"].as_str().unwrap();
    let http = reqwest::Client::new();
    let fetch = |path: String| {
        let http = http.clone();
        let url = format!("{}{path}", app.server.url());
        async move {
            let reply = http.get(url).send().await.unwrap();
            assert!(reply.status().is_success(), "{reply:?}");
            reply.bytes().await.unwrap()
        }
    };
    let bundle = app.work.join("from-cdn.zip");
    std::fs::write(
        &bundle,
        fetch(published["bundleUrl"].as_str().unwrap().to_owned()).await,
    )
    .unwrap();
    let keys = app.work.join("publichub-keys.json");
    std::fs::write(
        &keys,
        fetch("/.well-known/installhub/publichub-keys.json".into()).await,
    )
    .unwrap();
    let saved = app.work.join("listing.json");
    let run = app
        .market(&["marketplace", "show", listing, "--json"])
        .await;
    std::fs::write(&saved, &run.expect_success().stdout).unwrap();
    let (bundle, keys, saved) = (
        bundle.to_str().unwrap(),
        keys.to_str().unwrap(),
        saved.to_str().unwrap(),
    );

    let run = app
        .run(&[
            "verify",
            bundle,
            "--publichub-key",
            keys,
            "--listing",
            saved,
            "--package-id",
            listing,
        ])
        .await;
    run.expect_success();
    assert!(
        run.stdout
            .contains("PublicHub signature: ok, version 2.1.0"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("verdict: "), "{run:#?}");
    let body = app
        .run(&[
            "verify",
            bundle,
            "--json",
            "--publichub-key",
            keys,
            "--listing",
            saved,
            "--version",
            "2.1.0",
        ])
        .await
        .expect_success()
        .json();
    assert_eq!(body["valid"], true, "{body:#}");
    assert_eq!(body["checks"].as_array().unwrap().len(), 4, "{body:#}");

    // A wrong key: the signature names a key the file does not hold.
    let other_dir = tempfile::tempdir().unwrap();
    let other = installhub_auth::PublisherKey::load_or_create(other_dir.path()).unwrap();
    let wrong = app.work.join("wrong.pem");
    std::fs::write(&wrong, other.public().to_spki_pem()).unwrap();
    let run = app
        .run(&[
            "verify",
            bundle,
            "--publichub-key",
            wrong.to_str().unwrap(),
            "--listing",
            saved,
        ])
        .await;
    run.expect_failure();
    assert!(run.stderr.contains("signature  MISMATCH"), "{run:#?}");
    assert!(
        run.stderr.contains("not one of the trusted keys"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("do not install it"), "{run:#?}");

    // A listing whose fields were changed no longer matches the signature.
    let mut changed: Value =
        serde_json::from_str(&std::fs::read_to_string(saved).unwrap()).unwrap();
    changed["name"] = json!("Employee Onboarding Suite (patched)");
    let changed_path = app.work.join("changed.json");
    std::fs::write(&changed_path, changed.to_string()).unwrap();
    let body = app
        .run(&[
            "verify",
            bundle,
            "--json",
            "--publichub-key",
            keys,
            "--listing",
            changed_path.to_str().unwrap(),
        ])
        .await
        .expect_failure()
        .json();
    assert_eq!(body["valid"], false, "{body:#}");
    assert_eq!(body["error"], "SignatureVerificationFailed");
    let failed: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["signature"], "{body:#}");

    // A tampered copy: a sound archive with a changed entry is refused by
    // the bundle checks; another valid bundle is not the signed file.
    let tampered = app.work.join("tampered.zip");
    std::fs::copy(bundle, &tampered).unwrap();
    rewrite_entry(&tampered, "artifacts/ent-44.json", |text| {
        text.replace("200", "999")
    });
    let tampered = tampered.to_str().unwrap();
    let run = app
        .run(&[
            "verify",
            tampered,
            "--publichub-key",
            keys,
            "--listing",
            saved,
        ])
        .await;
    run.expect_failure();
    assert!(run.stderr.contains("ChecksumMismatch"), "{run:#?}");
    let (another, _) = app.bundle("2.1.1").await;
    let body = app
        .run(&[
            "verify",
            another.to_str().unwrap(),
            "--json",
            "--publichub-key",
            keys,
            "--listing",
            saved,
            "--version",
            "2.1.0",
        ])
        .await
        .expect_failure()
        .json();
    let failed: Vec<&str> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    // Same artifacts, so the same manifest checksum (and a signature
    // that holds for the listing); other bytes.
    assert!(failed.contains(&"sha256"), "{body:#}");
    assert!(
        !failed.contains(&"checksum") && !failed.contains(&"signature"),
        "{body:#}"
    );
    // --listing without --publichub-key is a usage error.
    app.run(&["verify", bundle, "--listing", saved])
        .await
        .expect_failure_code(2);
}

/// The config file the tests' commands save logins to (see
/// `binary::run_blocking`).
fn config_file(app: &TestServer) -> PathBuf {
    app.work.join("installhub-config.toml")
}

/// Runs a command with no server or token in the environment: only what a
/// saved profile gives.
async fn run_bare(app: &TestServer, args: &[&str]) -> Run {
    run_cli(args, &[], &app.work).await
}

#[tokio::test(flavor = "multi_thread")]
async fn login_saves_a_private_profile_that_whoami_and_commands_use_until_logout() {
    let app = TestServer::start().await;
    let url = app.server.url();
    let token_file = app.work.join("token.txt");
    std::fs::write(&token_file, format!("{}\n", app.token)).unwrap();
    let token_path = token_file.to_str().unwrap();

    // A token the server refuses is not saved.
    let run = run_bare(&app, &["login", "--server", &url, "--token", "not-a-jwt"]).await;
    run.expect_failure();
    assert!(run.stderr.starts_with("error: "), "{run:#?}");
    assert!(run.stderr.contains("\nhint: nothing was saved"), "{run:#?}");
    assert!(!config_file(&app).exists());

    let run = run_bare(
        &app,
        &["login", "--server", &url, "--token-file", token_path],
    )
    .await;
    run.expect_success();
    assert!(
        run.stdout.starts_with(&format!(
            "Logged in to {url} as cli-test@company.com (profile 'default'"
        )),
        "{run:#?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(config_file(&app))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let saved = std::fs::read_to_string(config_file(&app)).unwrap();
    assert!(saved.contains("[profiles.default]"), "{saved}");
    assert!(saved.contains(&format!("server = \"{url}\"")), "{saved}");

    // whoami reads the token's claims and asks the server.
    let run = run_bare(&app, &["whoami"]).await;
    run.expect_success();
    assert_eq!(line_value(&run.stdout, "server:"), url);
    assert_eq!(line_value(&run.stdout, "subject:"), "cli-test");
    assert_eq!(line_value(&run.stdout, "email:"), "cli-test@company.com");
    assert_eq!(line_value(&run.stdout, "scopes:"), "installhub:export");
    assert_eq!(line_value(&run.stdout, "tenants:"), SOURCE_TENANT);
    assert_eq!(line_value(&run.stdout, "accepted:"), "yes");
    assert!(
        line_value(&run.stdout, "expires:").ends_with(')'),
        "{run:#?}"
    );
    let body = run_bare(&app, &["whoami", "--json"])
        .await
        .expect_success()
        .json();
    assert_eq!(body["accepted"], true);
    assert_eq!(body["tenants"], json!([SOURCE_TENANT]));
    assert_eq!(body["expired"], false);
    assert!(
        chrono::DateTime::parse_from_rfc3339(body["expiresAt"].as_str().unwrap()).is_ok(),
        "{body:#}"
    );

    // Commands use the profile; a flag still wins over it.
    app.export("2.1.0").await;
    let body = run_bare(
        &app,
        &["packages", "list", "--tenant", SOURCE_TENANT, "--json"],
    )
    .await
    .expect_success()
    .json();
    assert_eq!(body["packages"].as_array().unwrap().len(), 1);
    let run = run_bare(
        &app,
        &[
            "packages",
            "list",
            "--tenant",
            SOURCE_TENANT,
            "--token",
            "bad",
        ],
    )
    .await;
    run.expect_failure();
    assert!(run.stderr.contains("Unauthenticated"), "{run:#?}");

    // A second, named profile; an unknown one is an error with a hint.
    let run = run_bare(
        &app,
        &[
            "login",
            "--profile",
            "work",
            "--server",
            &url,
            "--token-file",
            token_path,
        ],
    )
    .await;
    run.expect_success();
    run_bare(
        &app,
        &[
            "packages",
            "list",
            "--tenant",
            SOURCE_TENANT,
            "--profile",
            "work",
        ],
    )
    .await
    .expect_success();
    let run = run_bare(&app, &["whoami", "--profile", "nope"]).await;
    run.expect_failure();
    assert!(
        run.stderr
            .starts_with("error: there is no profile 'nope' in "),
        "{run:#?}"
    );
    assert!(
        run.stderr
            .contains("\nhint: log in first: installhub login --profile nope"),
        "{run:#?}"
    );

    // logout removes the token (twice is fine); the server stays.
    let run = run_bare(&app, &["logout"]).await;
    run.expect_success();
    assert!(run.stdout.starts_with("Logged out"), "{run:#?}");
    let saved = std::fs::read_to_string(config_file(&app)).unwrap();
    assert_eq!(saved.matches("token = ").count(), 1, "{saved}");
    let run = run_bare(&app, &["logout"]).await;
    run.expect_success();
    assert!(run.stdout.contains("nothing to remove"), "{run:#?}");
    let run = run_bare(&app, &["whoami"]).await;
    run.expect_failure();
    assert!(run.stderr.starts_with("error: no token given"), "{run:#?}");
    run_bare(&app, &["whoami", "--profile", "work"])
        .await
        .expect_success();
}

#[tokio::test(flavor = "multi_thread")]
async fn packages_imports_installed_and_audit_list_as_tables_and_json() {
    let app = TestServer::start().await;
    let (package_id, _) = app.export("2.1.0").await;
    let env = [
        ("INSTALLHUB_URL", app.server.url()),
        ("INSTALLHUB_TOKEN", importer_token(&app)),
    ];
    let run = |args: &'static [&'static str]| run_cli(args, &env, &app.work);

    // Import by reference: the server's stored package, no file.
    let imported = run_cli(
        &["import", &package_id, "--tenant", TARGET_TENANT],
        &env,
        &app.work,
    )
    .await;
    imported.expect_success();
    assert!(
        imported
            .stdout
            .starts_with("Imported Employee Onboarding Suite 2.1.0"),
        "{imported:#?}"
    );
    let import_id = line_value(&imported.stdout, "import:").to_owned();

    let table = run(&["packages", "list", "--tenant", SOURCE_TENANT]).await;
    table.expect_success();
    assert!(table.stdout.starts_with("  PACKAGE ID "), "{table:#?}");
    assert!(table.stdout.contains(&package_id), "{table:#?}");
    let printed = run(&["packages", "list", "--tenant", SOURCE_TENANT, "--json"])
        .await
        .expect_success()
        .json();
    let direct: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/installhub/tenants/{SOURCE_TENANT}/packages",
            app.server.url()
        ))
        .bearer_auth(importer_token(&app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(printed, direct);
    let run_named = run_cli(
        &[
            "packages",
            "list",
            "--tenant",
            SOURCE_TENANT,
            "--name",
            "leave",
        ],
        &env,
        &app.work,
    )
    .await;
    run_named.expect_success();
    assert!(
        run_named
            .stdout
            .starts_with("Tenant tenant-7f3a9b12 has exported no package"),
        "{run_named:#?}"
    );

    let table = run(&["imports", "list", "--tenant", TARGET_TENANT]).await;
    table.expect_success();
    assert!(table.stdout.contains(&import_id), "{table:#?}");
    assert!(table.stdout.contains("PackageReference"), "{table:#?}");
    let body = run(&["imports", "list", "--tenant", TARGET_TENANT, "--json"])
        .await
        .expect_success()
        .json();
    assert_eq!(body["imports"][0]["importId"], import_id.as_str());

    let shown = run_cli(&["imports", "show", &import_id], &env, &app.work).await;
    shown.expect_success();
    assert_eq!(line_value(&shown.stdout, "status:"), "Success");
    assert!(
        shown.stdout.contains("ent-44 → rule-305 → form-2005"),
        "{shown:#?}"
    );
    let body = run_cli(&["imports", "show", &import_id, "--json"], &env, &app.work)
        .await
        .expect_success()
        .json();
    assert_eq!(body["status"], "Success");
    assert_eq!(body["source"], "PackageReference");

    let table = run(&["installed", "list", "--tenant", TARGET_TENANT]).await;
    table.expect_success();
    assert!(
        table
            .stdout
            .contains("Employee Onboarding Suite  2.1.0    Installed  5"),
        "{table:#?}"
    );
    let body = run(&["installed", "list", "--tenant", TARGET_TENANT, "--json"])
        .await
        .expect_success()
        .json();
    assert_eq!(body["installedPackages"][0]["version"], "2.1.0");

    let table = run(&["audit", "--tenant", TARGET_TENANT, "--action", "import"]).await;
    table.expect_success();
    assert!(table.stdout.contains(&import_id), "{table:#?}");
    let body = run(&["audit", "--tenant", TARGET_TENANT, "--json"])
        .await
        .expect_success()
        .json();
    assert!(
        body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "import" && e["subject"] == import_id.as_str()),
        "{body:#}"
    );
    // A token of two tenants must say which log.
    let run_any = run(&["audit"]).await;
    run_any.expect_failure();
    assert_eq!(
        run_any.stderr,
        format!(
            "error: the token names more than one tenant ({SOURCE_TENANT}, {TARGET_TENANT})\nhint: name the tenant with --tenant TENANT_ID\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_are_generated_for_bash_zsh_and_fish() {
    let app = TestServer::start().await;
    for (shell, marker) in [
        ("bash", "complete -F _installhub"),
        ("zsh", "#compdef installhub"),
        ("fish", "complete -c installhub"),
    ] {
        let run = app.run(&["completions", shell]).await;
        run.expect_success();
        assert!(run.stdout.contains(marker), "{shell}: {run:#?}");
        for command in ["whoami", "pack", "unpack", "installed"] {
            assert!(run.stdout.contains(command), "{shell} lacks {command}");
        }
    }
    app.run(&["completions", "tcsh"])
        .await
        .expect_failure_code(2);
}

/// Rewrites every JSON file under `dir` with `format`.
fn reformat(dir: &Path, format: &dyn Fn(&Value) -> String) {
    let mut files = vec![dir.join("manifest.json")];
    for entry in std::fs::read_dir(dir.join("artifacts")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        let value: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        std::fs::write(&file, format(&value)).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unpack_and_pack_round_trip_and_a_hand_edited_package_imports() {
    let app = TestServer::start().await;
    let (bundle, checksum) = app.bundle("2.1.0").await;
    let bundle = bundle.to_str().unwrap().to_owned();

    let run = app.run(&["unpack", &bundle, "pkg"]).await;
    run.expect_success();
    assert!(app.work.join("pkg/manifest.json").is_file());
    assert!(app.work.join("pkg/artifacts/ent-44.json").is_file());
    // A second unpack into it is refused, unless forced.
    let run = app.run(&["unpack", &bundle, "pkg"]).await;
    run.expect_failure();
    assert_eq!(
        run.stderr,
        "error: pkg is not empty\nhint: unpack into a new directory, or pass --force to replace its manifest.json and artifacts/\n"
    );
    app.run(&["unpack", &bundle, "pkg", "--force"])
        .await
        .expect_success();

    // unpack → pack gives the exported file back, byte for byte, and so
    // does the same directory in other formatting.
    let body = app
        .run(&["pack", "pkg", "-o", "again.zip", "--json"])
        .await
        .expect_success()
        .json();
    assert_eq!(body["checksum"], checksum.as_str());
    assert_eq!(
        sha256_file(&app.work.join("again.zip")),
        sha256_file(Path::new(&bundle))
    );
    let indented = |v: &Value| {
        let mut out = Vec::new();
        let mut writer = serde_json::Serializer::with_formatter(
            &mut out,
            serde_json::ser::PrettyFormatter::with_indent(b"\t"),
        );
        serde::Serialize::serialize(v, &mut writer).unwrap();
        String::from_utf8(out).unwrap()
    };
    reformat(&app.work.join("pkg"), &indented);
    app.run(&["pack", "pkg", "-o", "tabs.zip"])
        .await
        .expect_success();
    assert_eq!(
        sha256_file(&app.work.join("tabs.zip")),
        sha256_file(Path::new(&bundle))
    );
    reformat(&app.work.join("pkg"), &|v: &Value| v.to_string());
    app.run(&["pack", "pkg", "-o", "compact.zip"])
        .await
        .expect_success();
    assert_eq!(
        sha256_file(&app.work.join("compact.zip")),
        sha256_file(Path::new(&bundle))
    );

    // Edited by hand: a new rule in rule-305 and the next version.
    let rule = app.work.join("pkg/artifacts/rule-305.json");
    let mut artifact: Value = serde_json::from_slice(&std::fs::read(&rule).unwrap()).unwrap();
    artifact["definition"]["addedByHand"] = json!({"when": "always"});
    std::fs::write(&rule, serde_json::to_string_pretty(&artifact).unwrap()).unwrap();
    let manifest = app.work.join("pkg/manifest.json");
    let mut fields: Value = serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    fields["version"] = json!("2.2.0");
    std::fs::write(&manifest, fields.to_string()).unwrap();
    let run = app.run(&["pack", "pkg", "-o", "edited.zip"]).await;
    run.expect_success();
    assert!(
        run.stdout
            .starts_with("Packed Employee Onboarding Suite 2.2.0 into edited.zip"),
        "{run:#?}"
    );
    assert!(
        run.stdout
            .contains("install order:  ent-44 → rule-305 → form-2005 → thread-2002 → proc-1001"),
        "{run:#?}"
    );
    app.run(&["verify", "edited.zip"]).await.expect_success();
    let env = [
        ("INSTALLHUB_URL", app.server.url()),
        ("INSTALLHUB_TOKEN", importer_token(&app)),
    ];
    let body = run_cli(
        &["import", "edited.zip", "--tenant", TARGET_TENANT, "--json"],
        &env,
        &app.work,
    )
    .await
    .expect_success()
    .json();
    assert_eq!(body["status"], "Success");
    assert_eq!(body["version"], "2.2.0");
    let installed: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/installhub/tenants/{TARGET_TENANT}/artifacts/rule-305",
            app.server.url()
        ))
        .bearer_auth(importer_token(&app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        installed["definition"]["addedByHand"]["when"], "always",
        "{installed:#}"
    );

    // A file pack would leave out, and a broken reference, are refused.
    std::fs::write(app.work.join("pkg/notes.txt"), "x").unwrap();
    let run = app.run(&["pack", "pkg", "-o", "bad.zip"]).await;
    run.expect_failure();
    assert!(
        run.stderr
            .starts_with("error: pkg/notes.txt is neither manifest.json nor artifacts/"),
        "{run:#?}"
    );
    std::fs::remove_file(app.work.join("pkg/notes.txt")).unwrap();
    std::fs::remove_file(app.work.join("pkg/artifacts/ent-44.json")).unwrap();
    let run = app.run(&["pack", "pkg", "-o", "bad.zip"]).await;
    run.expect_failure();
    assert!(
        run.stderr.starts_with(
            "error: pkg does not make a package an import accepts:\n  - IncompleteArtifact ["
        ),
        "{run:#?}"
    );
    assert!(run.stderr.contains("ent-44"), "{run:#?}");
    assert!(!app.work.join("bad.zip").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_imports_say_the_error_once_then_a_hint_in_flags() {
    let app = TestServer::start().await;
    let (bundle, _) = app.bundle("2.1.0").await;
    let bundle = bundle.to_str().unwrap().to_owned();
    let env = [
        ("INSTALLHUB_URL", app.server.url()),
        ("INSTALLHUB_TOKEN", importer_token(&app)),
    ];
    run_cli(
        &["import", &bundle, "--tenant", TARGET_TENANT],
        &env,
        &app.work,
    )
    .await
    .expect_success();

    // A strategy for an artifact the package does not have.
    let run = run_cli(
        &[
            "import",
            &bundle,
            "--tenant",
            TARGET_TENANT,
            "--artifact-strategy",
            "form-9999=Skip",
        ],
        &env,
        &app.work,
    )
    .await;
    run.expect_failure();
    assert!(
        run.stderr.starts_with("error: --artifact-strategy names 'form-9999', which is not in the package (it has ent-44, "),
        "{run:#?}"
    );

    // The same package with other content: a conflict.
    app.run(&["unpack", &bundle, "pkg"]).await.expect_success();
    let rule = app.work.join("pkg/artifacts/rule-305.json");
    let mut artifact: Value = serde_json::from_slice(&std::fs::read(&rule).unwrap()).unwrap();
    artifact["definition"]["changed"] = json!(true);
    std::fs::write(&rule, artifact.to_string()).unwrap();
    app.run(&["pack", "pkg", "-o", "changed.zip"])
        .await
        .expect_success();
    for dry_run in [false, true] {
        // The target tenant's own default is Replace; Fail refuses.
        let mut args = vec![
            "import",
            "changed.zip",
            "--tenant",
            TARGET_TENANT,
            "--strategy",
            "Fail",
        ];
        if dry_run {
            args.push("--dry-run");
        }
        let run = run_cli(&args, &env, &app.work).await;
        run.expect_failure();
        assert_eq!(run.stdout, "");
        assert_eq!(run.stderr.matches("error: ").count(), 1, "{run:#?}");
        assert!(run.stderr.starts_with("error: "), "{run:#?}");
        let hint = run.stderr.lines().last().unwrap();
        assert!(
            hint.starts_with(
                "hint: choose what happens to the conflicts with --strategy Replace|Skip"
            ),
            "{run:#?}"
        );
        assert_eq!(hint.contains("--dry-run"), !dry_run, "{run:#?}");
        // Flags, never the API's option names.
        assert!(!run.stderr.contains("defaultConflictStrategy"), "{run:#?}");
        assert!(!run.stderr.contains("conflictStrategies"), "{run:#?}");
        // --json keeps the server's answer.
        args.push("--json");
        let body = run_cli(&args, &env, &app.work)
            .await
            .expect_failure()
            .json();
        assert_eq!(body["errors"][0]["code"], "ConflictRequiresResolution");
        assert_eq!(
            body["errors"][0]["field"],
            "options.defaultConflictStrategy"
        );
    }

    // A major version upgrade of the installed package.
    let (major, _) = app.bundle("3.0.0").await;
    let run = run_cli(
        &["import", major.to_str().unwrap(), "--tenant", TARGET_TENANT],
        &env,
        &app.work,
    )
    .await;
    run.expect_failure();
    assert!(
        run.stderr.contains("MajorVersionUpgradeNotAllowed"),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("allowMajorVersionUpgrade"), "{run:#?}");
    assert!(
        run.stderr.ends_with("hint: pass --allow-major-version-upgrade (the token needs the installhub:import:override-major-version scope)\n"),
        "{run:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_names_a_directory_and_a_missing_file() {
    let app = TestServer::start().await;
    std::fs::create_dir(app.work.join("unpacked")).unwrap();
    let run = app.run(&["verify", "unpacked"]).await;
    run.expect_failure();
    assert_eq!(
        run.stderr,
        "error: unpacked is a directory, not a bundle file (.zip)\nhint: to check an unpacked package, pack it first: installhub pack unpacked -o FILE.zip\n"
    );
    let body = app
        .run(&["verify", "unpacked", "--json"])
        .await
        .expect_failure()
        .json();
    assert_eq!(body["error"], "NotAFile");
    let run = app.run(&["verify", "missing.zip"]).await;
    run.expect_failure();
    assert_eq!(run.stderr, "error: missing.zip does not exist\n");
    let run = app.run(&["scan", "missing.zip", "--json"]).await;
    assert_eq!(run.expect_failure_code(2).json()["error"], "FileNotFound");
    let run = app
        .run(&["import", "missing.zip", "--tenant", TARGET_TENANT])
        .await;
    run.expect_failure();
    assert_eq!(run.stderr, "error: missing.zip does not exist\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_refuses_without_the_servers_key_and_names_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let run = run_cli(&["token", "--tenant", SOURCE_TENANT], &[], dir.path()).await;
    run.expect_failure();
    assert!(
        run.stderr
            .starts_with("error: no server key pair in ./installhub-data/keys"),
        "{run:#?}"
    );
    assert!(run.stderr.contains("\nhint: pass --data-dir"), "{run:#?}");
    assert!(!dir.path().join("installhub-data").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_names_an_unreachable_database_once_with_its_host() {
    let dir = tempfile::tempdir().unwrap();
    // A port that was free a moment ago and has no listener now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://installhub:hunter2@127.0.0.1:{port}/installhub");
    let run = run_cli(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            dir.path().join("data").to_str().unwrap(),
            "--database-url",
            &url,
        ],
        &[],
        dir.path(),
    )
    .await;
    run.expect_failure();
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{run:#?}");
    let address = format!("127.0.0.1:{port}");
    assert!(
        errors[0].contains(&format!("cannot connect to the database at {address}: ")),
        "{run:#?}"
    );
    assert!(!run.stderr.contains("hunter2"), "{run:#?}");
    // The start line names the server, not its whole configuration.
    assert!(run.stderr.contains("starting"), "{run:#?}");
    assert!(!run.stderr.contains("ServerConfig"), "{run:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_export_of_a_version_hints_at_another_version() {
    let app = TestServer::start().await;
    app.export("2.1.0").await;
    let run = app
        .run(&[
            "export",
            "--tenant",
            SOURCE_TENANT,
            "--name",
            "Employee Onboarding Suite",
            "--type",
            "workflow-package",
            "--version",
            "2.1.0",
            "proc-1001",
        ])
        .await;
    run.expect_failure();
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    assert!(
        lines[0].starts_with("error: VersionConflict [version]: "),
        "{run:#?}"
    );
    assert_eq!(
        lines[1],
        "hint: a version is exported once: pass another --version ('installhub packages list --tenant tenant-7f3a9b12 --name \"Employee Onboarding Suite\"' shows those exported)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn day_two_from_the_cli_diff_a_pinned_import_rollback_and_uninstall() {
    let app = TestServer::start().await;
    let (file, _) = app.bundle("2.1.0").await;
    let file = file.to_str().unwrap().to_owned();
    let env = [
        ("INSTALLHUB_URL", app.server.url()),
        ("INSTALLHUB_TOKEN", importer_token(&app)),
    ];

    // Into an empty tenant, everything is created.
    let run = run_cli(&["diff", &file, "--tenant", TARGET_TENANT], &env, &app.work).await;
    run.expect_success();
    assert!(
        run.stdout
            .starts_with("Employee Onboarding Suite 2.1.0\n+ Create ent-44 (EntitySchema)"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("\n5 Create\n"), "{run:#?}");
    // Not a terminal: no colours.
    assert!(!run.stdout.contains('\u{1b}'), "{run:#?}");
    let plan = run_cli(
        &["diff", &file, "--tenant", TARGET_TENANT, "--json"],
        &env,
        &app.work,
    )
    .await
    .expect_success()
    .json();
    let plan_id = plan["planId"].as_str().unwrap().to_owned();
    // The reviewed plan is installed exactly.
    let imported = run_cli(
        &[
            "import",
            &file,
            "--tenant",
            TARGET_TENANT,
            "--plan-id",
            &plan_id,
            "--json",
        ],
        &env,
        &app.work,
    )
    .await
    .expect_success()
    .json();
    assert_eq!(imported["status"], "Success");
    let first_import = imported["importId"].as_str().unwrap().to_owned();

    // A hand-edited rule: the diff shows the field, and with the Fail
    // strategy the whole plan, then the refusal with a hint in flags.
    run_cli(&["unpack", &file, "pkg"], &env, &app.work)
        .await
        .expect_success();
    let rule = app.work.join("pkg/artifacts/rule-305.json");
    let mut artifact: Value = serde_json::from_slice(&std::fs::read(&rule).unwrap()).unwrap();
    artifact["definition"]["addedByHand"] = json!(true);
    std::fs::write(&rule, artifact.to_string()).unwrap();
    run_cli(&["pack", "pkg", "-o", "edited.zip"], &env, &app.work)
        .await
        .expect_success();
    let run = run_cli(
        &[
            "diff",
            "edited.zip",
            "--tenant",
            TARGET_TENANT,
            "--strategy",
            "Fail",
        ],
        &env,
        &app.work,
    )
    .await;
    run.expect_failure();
    assert!(
        run.stdout.contains("! Conflict rule-305 (RuleSet)"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("    + /definition/addedByHand = true"),
        "{run:#?}"
    );
    assert!(run.stderr.starts_with("error: "), "{run:#?}");
    assert!(
        run.stderr
            .contains("hint: choose what happens to the conflicts with --strategy"),
        "{run:#?}"
    );
    let run = run_cli(
        &[
            "diff",
            "edited.zip",
            "--tenant",
            TARGET_TENANT,
            "--strategy",
            "Replace",
        ],
        &env,
        &app.work,
    )
    .await;
    run.expect_success();
    assert!(
        run.stdout.contains("~ Replace rule-305 (RuleSet)"),
        "{run:#?}"
    );
    // A pin the tenant has moved past is refused, with a hint.
    let edited_plan = run_cli(
        &[
            "diff",
            "edited.zip",
            "--tenant",
            TARGET_TENANT,
            "--strategy",
            "Replace",
            "--json",
        ],
        &env,
        &app.work,
    )
    .await
    .expect_success()
    .json();
    let edited_plan_id = edited_plan["planId"].as_str().unwrap().to_owned();
    let second = run_cli(
        &[
            "import",
            "edited.zip",
            "--tenant",
            TARGET_TENANT,
            "--strategy",
            "Replace",
            "--json",
        ],
        &env,
        &app.work,
    )
    .await
    .expect_success()
    .json();
    assert_eq!(second["status"], "Success");
    let second_import = second["importId"].as_str().unwrap().to_owned();

    // Roll the replacement back: a dry run first, then for real.
    let run = run_cli(&["rollback", &second_import, "--dry-run"], &env, &app.work).await;
    run.expect_success();
    assert!(
        run.stdout.starts_with(&format!(
            "Dry run: rolling back {second_import} in {TARGET_TENANT} would change:\n"
        )),
        "{run:#?}"
    );
    assert!(run.stdout.contains("  Restore  rule-305\n"), "{run:#?}");
    let run = run_cli(&["rollback", &second_import], &env, &app.work).await;
    run.expect_success();
    assert!(
        run.stdout
            .starts_with(&format!("Rolled back {second_import}")),
        "{run:#?}"
    );
    let rule_now: Value = reqwest::Client::new()
        .get(format!(
            "{}/api/installhub/tenants/{TARGET_TENANT}/artifacts/rule-305",
            app.server.url()
        ))
        .bearer_auth(importer_token(&app))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        rule_now["definition"].get("addedByHand").is_none(),
        "{rule_now:#}"
    );
    // The edited plan was made before the rollback; the tenant is back
    // where it was then, so the pin holds again and installs.
    let run = run_cli(
        &[
            "import",
            "edited.zip",
            "--tenant",
            TARGET_TENANT,
            "--strategy",
            "Replace",
            "--plan-id",
            &edited_plan_id,
        ],
        &env,
        &app.work,
    )
    .await;
    run.expect_success();

    // Uninstall: a dry run lists what goes; then it goes; twice is an error.
    let name = "Employee Onboarding Suite";
    let run = run_cli(
        &["uninstall", name, "--tenant", TARGET_TENANT, "--dry-run"],
        &env,
        &app.work,
    )
    .await;
    run.expect_success();
    assert!(
        run.stdout.starts_with(&format!(
            "Dry run: uninstalling {name} 2.1.0 from {TARGET_TENANT} would remove:\n"
        )),
        "{run:#?}"
    );
    assert!(run.stdout.contains("  removed  ent-44\n"), "{run:#?}");
    // --json prints the server's answer unchanged, nothing else.
    let body = run_cli(
        &[
            "uninstall",
            name,
            "--tenant",
            TARGET_TENANT,
            "--dry-run",
            "--json",
        ],
        &env,
        &app.work,
    )
    .await
    .expect_success()
    .json();
    assert_eq!(body["status"], "DryRun", "{body:#}");
    assert_eq!(body["removedArtifacts"].as_array().unwrap().len(), 5);
    let run = run_cli(
        &["uninstall", name, "--tenant", TARGET_TENANT],
        &env,
        &app.work,
    )
    .await;
    run.expect_success();
    assert!(
        run.stdout.starts_with(&format!("Uninstalled {name} 2.1.0")),
        "{run:#?}"
    );
    let run = run_cli(
        &["uninstall", name, "--tenant", TARGET_TENANT],
        &env,
        &app.work,
    )
    .await;
    run.expect_failure();
    assert!(run.stderr.contains("PackageNotInstalled"), "{run:#?}");
    // The first import's artifacts were replaced since: its rollback is
    // refused, with what changed and a hint.
    let run = run_cli(&["rollback", &first_import], &env, &app.work).await;
    run.expect_failure();
    assert!(run.stderr.starts_with("error: "), "{run:#?}");
    assert!(run.stderr.contains("hint: "), "{run:#?}");
}
