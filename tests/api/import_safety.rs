//! A package is untrusted input: every SECURITY.md archive case (1-13, 32)
//! and every lying bundle (29-31) sent to the real import route is refused
//! with its seed code, and the target tenant, its records and the stores
//! are exactly as before. Then the security scan (21-24) on the import and
//! on its own route.

use installhub_domain::ArtifactStatus;
use serde_json::{Value, json};

use crate::bundle_support::*;
use crate::common::*;
use crate::import::{artifacts_of, import, import_as, installed_of, seed_options};

const A: &str = "artifacts/ent-44.json";
const SCAN: &str = "/api/installhub/packages/scan";

/// One hostile archive per case, with the code it must be refused with.
fn hostile_archives() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let seed = seed_bundle();
    let mut cases = Vec::new();
    // 1. Unsafe names.
    for name in [
        "../x.json",
        "artifacts/..\\..\\x.json",
        "/etc/x.json",
        "C:\\x.json",
    ] {
        cases.push((
            "unsafe name",
            Hostile::from_bundle(&seed, &[]).file(name, b"{}").finish(),
            "InvalidZip",
        ));
    }
    // 2. NUL and invalid UTF-8 in a name.
    let mut nul = Hostile::from_bundle(&seed, &[])
        .file("artifacts/a_.json", b"{}")
        .finish();
    rename(&mut nul, b"artifacts/a_.json", b"artifacts/a\0.json");
    cases.push(("NUL in a name", nul, "InvalidZip"));
    let mut utf8 = Hostile::from_bundle(&seed, &[])
        .file("artifacts/a_.json", b"{}")
        .finish();
    rename(&mut utf8, b"artifacts/a_.json", b"artifacts/a\xff.json");
    cases.push(("invalid UTF-8 name", utf8, "InvalidZip"));
    // 3. A symlink.
    cases.push((
        "symlink",
        Hostile::from_bundle(&seed, &[A])
            .symlink(A, "/etc/passwd")
            .finish(),
        "InvalidZip",
    ));
    // 4. Duplicates and case twins.
    let mut dup = Hostile::from_bundle(&seed, &[])
        .file("artifacts/ent-45.json", &seed_file(A))
        .finish();
    rename(&mut dup, b"artifacts/ent-45.json", A.as_bytes());
    cases.push(("duplicate name", dup, "InvalidZip"));
    cases.push((
        "case twin",
        Hostile::from_bundle(&seed, &[])
            .file("artifacts/ENT-44.json", &seed_file(A))
            .finish(),
        "InvalidZip",
    ));
    // 5. Local name differs from the central directory's.
    let mut local = zip_bytes(&seed);
    let r = records(&local, A);
    local[r.local + 30 + A.len() - 6] = b'X';
    cases.push(("local/central name mismatch", local, "InvalidZip"));
    // 6. Bytes before, bytes after, a comment.
    let mut before = b"MZ polyglot".to_vec();
    before.extend(zip_bytes(&seed));
    cases.push(("prefix", before, "InvalidZip"));
    let mut after = zip_bytes(&seed);
    after.extend(b"trailing");
    cases.push(("suffix", after, "InvalidZip"));
    cases.push((
        "comment",
        Hostile::from_bundle(&seed, &[]).comment("hi").finish(),
        "InvalidZip",
    ));
    // 7. A bomb: ratio above 100:1.
    cases.push((
        "ratio bomb",
        Hostile::from_bundle(&seed, &[])
            .file("artifacts/bomb.json", &vec![b' '; 1 << 20])
            .finish(),
        "InvalidZip",
    ));
    // 8. Encrypted flag; another compression method.
    let mut encrypted = zip_bytes(&seed);
    patch_u16(&mut encrypted, A, FLAGS, |f| f | 1);
    cases.push(("encrypted", encrypted, "InvalidZip"));
    let mut bzip = zip_bytes(&seed);
    patch_u16(&mut bzip, A, METHOD, |_| 12);
    cases.push(("bzip2", bzip, "InvalidZip"));
    // 9. A CRC mismatch.
    let mut crc = Hostile::from_bundle(&seed, &[A])
        .with(A, &seed_file(A), stored())
        .finish();
    let r = records(&crc, A);
    crc[r.local + 30 + A.len() + 5] ^= 1;
    cases.push(("CRC mismatch", crc, "InvalidZip"));
    // 10. A nested archive, an unlisted file, a line with no file.
    cases.push((
        "nested zip",
        Hostile::from_bundle(&seed, &[])
            .file("artifacts/inner.zip", &zip_bytes(&seed))
            .finish(),
        "InvalidZip",
    ));
    cases.push((
        "file not in the manifest",
        Hostile::from_bundle(&seed, &[])
            .file("artifacts/extra.json", &seed_file(A))
            .finish(),
        "ChecksumMismatch",
    ));
    cases.push((
        "manifest line with no file",
        Hostile::from_bundle(&seed, &["artifacts/rule-305.json"]).finish(),
        "ChecksumMismatch",
    ));
    // 11. Tampered bytes; a tampered checksum.
    let tampered = String::from_utf8(seed_file(A))
        .unwrap()
        .replace("1.0.0", "6.6.6");
    cases.push((
        "tampered artifact",
        Hostile::from_bundle(&seed, &[A])
            .file(A, tampered.as_bytes())
            .finish(),
        "ChecksumMismatch",
    ));
    let files: Vec<(&str, &[u8])> = seed
        .files()
        .filter(|(p, _)| *p != "manifest.json")
        .collect();
    let forged = forge_manifest(&files, |m| {
        m.checksum = format!("sha256:{}", "0".repeat(64));
    });
    cases.push((
        "tampered checksum",
        Hostile::from_bundle(&seed, &["manifest.json"])
            .file("manifest.json", &forged)
            .finish(),
        "ChecksumMismatch",
    ));
    // 12. Unknown manifest fields; no manifest at all.
    let mut manifest: Value = serde_json::from_slice(&seed_file("manifest.json")).unwrap();
    manifest["installScript"] = json!("rm -rf /");
    cases.push((
        "unknown manifest field",
        Hostile::from_bundle(&seed, &["manifest.json"])
            .file("manifest.json", manifest.to_string().as_bytes())
            .finish(),
        "InvalidZip",
    ));
    cases.push((
        "no manifest",
        Hostile::from_bundle(&seed, &["manifest.json"]).finish(),
        "ManifestMissing",
    ));
    cases.push((
        "not a zip",
        b"PK\x03\x04 but not really".to_vec(),
        "InvalidZip",
    ));
    // 32. Bytes no reader may read differently.
    cases.push((
        "bytes after a deflate stream",
        edited_deflate_stream(A, |c| c.extend_from_slice(b"PK\x03\x04hidden")),
        "InvalidZip",
    ));
    cases.push((
        "ZIP64 extra field claiming 10 GiB",
        with_extra_field(A, 0x0001, &ten_gib_zip64_field(), true, true),
        "InvalidZip",
    ));
    cases
}

/// After a refused import: the tenant and the stores are exactly as
/// `before`, and the import's record says `Failed`.
async fn assert_unchanged_and_failed(app: &TestApp, case: &str, reply: &Reply, before: &Snapshot) {
    assert_eq!(&snapshot(app).await, before, "{case} changed something");
    let record = app
        .get(&format!(
            "/api/installhub/imports/{}",
            reply.header("x-import-id").unwrap()
        ))
        .await
        .json();
    assert_eq!(record["status"], "Failed", "{case}");
}

/// One well-formed bundle per lie of SECURITY.md 29-31, with the code it
/// must be refused with and the field the refusal names.
fn lying_bundles() -> Vec<(&'static str, Vec<u8>, &'static str, &'static str)> {
    let seed = seed_artifacts_in_order;
    let mut cases = Vec::new();
    // 29. A reference to a third tenant.
    let mut third = seed();
    third[0].references.push(installhub_domain::Reference {
        artifact_id: installhub_domain::ArtifactId::parse("payroll-7").unwrap(),
        tenant_id: Some(installhub_domain::TenantId::parse("tenant-third").unwrap()),
    });
    cases.push((
        "third-tenant reference",
        lying_zip(&third, |_| {}),
        "CrossTenantReference",
        "artifacts/ent-44.json#references",
    ));
    // 30. dependsOn and installOrder against the files; a cycle.
    cases.push((
        "dependsOn hides a reference",
        lying_zip(&seed(), |m| {
            m.artifacts[4].depends_on.pop();
        }),
        "ChecksumMismatch",
        "manifest.json#artifacts[4].dependsOn",
    ));
    cases.push((
        "installOrder the files contradict",
        // Consistent in itself (no dependencies, so any order), so only the
        // files can tell it lies.
        lying_zip(&seed(), |m| {
            m.install_order.reverse();
            for line in &mut m.artifacts {
                line.depends_on.clear();
            }
        }),
        "ChecksumMismatch",
        "manifest.json#installOrder",
    ));
    cases.push((
        "installOrder other than the export's",
        lying_zip(&seed(), |m| m.install_order.swap(1, 2)),
        "ChecksumMismatch",
        "manifest.json#installOrder",
    ));
    let mut cycle = seed();
    cycle[0].references.push(installhub_domain::Reference {
        artifact_id: installhub_domain::ArtifactId::parse("proc-1001").unwrap(),
        tenant_id: None,
    });
    cases.push((
        "files forming a cycle",
        // The manifest hides the back edge.
        lying_zip(&cycle, |m| m.artifacts[0].depends_on.clear()),
        "CircularDependency",
        "artifacts/ent-44.json#references",
    ));
    // 31. What an export never writes.
    for (status, file) in [
        (ArtifactStatus::Draft, "artifacts/rule-305.json#status"),
        (ArtifactStatus::Deleted, "artifacts/rule-305.json#status"),
    ] {
        let mut artifacts = seed();
        artifacts[1].status = status;
        cases.push((
            "not exportable",
            lying_zip(&artifacts, |_| {}),
            "ArtifactNotExportable",
            file,
        ));
    }
    cases.push((
        "a path as the package name",
        lying_zip(&seed(), |m| m.name = "../../etc/passwd".into()),
        "InvalidPackageName",
        "manifest.json#name",
    ));
    cases.push((
        "ESC in author",
        lying_zip(&seed(), |m| m.author = Some("HR\u{1b}[2J Team".into())),
        "InvalidAuthor",
        "manifest.json#author",
    ));
    cases.push((
        "CR/LF in exportedBy",
        lying_zip(&seed(), |m| {
            m.exported_by = "engineer@company.com\r\nX-Admin: yes".into();
        }),
        "InvalidExportedBy",
        "manifest.json#exportedBy",
    ));
    cases.push((
        "NUL in exportedBy",
        lying_zip(&seed(), |m| m.exported_by = "engineer\0@company.com".into()),
        "InvalidExportedBy",
        "manifest.json#exportedBy",
    ));
    cases.push((
        "U+202E in the description",
        lying_zip(&seed(), |m| {
            m.description = Some("Onboarding \u{202E}exe.fdp".into());
        }),
        "InvalidDescription",
        "manifest.json#description",
    ));
    cases.push((
        "LF in a tag",
        lying_zip(&seed(), |m| m.tags = vec!["hr\nadmin".into()]),
        "InvalidTags",
        "manifest.json#tags[0]",
    ));
    let mut renamed = seed();
    renamed[0].name = "Employee\u{202E}Schema".into();
    cases.push((
        "U+202E in an artifact name",
        lying_zip(&renamed, |_| {}),
        "InvalidArtifactName",
        "artifacts/ent-44.json#name",
    ));
    cases
}

#[tokio::test]
async fn every_lying_bundle_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    // The builder's honest bundle imports, and references naming the
    // source tenant still point into the target once installed.
    let mut honest = seed_artifacts_in_order();
    for artifact in &mut honest {
        for reference in &mut artifact.references {
            reference.tenant_id = Some(installhub_domain::TenantId::parse(TENANT).unwrap());
        }
    }
    let reply = import(
        &app,
        &lying_zip(&honest, |_| {}),
        &json!({"targetTenantId": SOURCE, "defaultConflictStrategy": "Replace"}),
    )
    .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let proc = app
        .get(&format!(
            "/api/installhub/tenants/{SOURCE}/artifacts/proc-1001"
        ))
        .await
        .json();
    let references = proc["references"].as_array().unwrap();
    assert_eq!(references.len(), 2, "{proc:#}");
    assert!(references.iter().all(|r| r.get("tenantId").is_none()));

    let before = snapshot(&app).await;
    for (case, bytes, code, field) in lying_bundles() {
        let reply = import(&app, &bytes, &seed_options()).await;
        let body = reply.expect_error(400, code);
        let failure = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["code"] == code && e["field"] == field);
        let failure = failure.unwrap_or_else(|| panic!("{case}: no {code} on {field}: {body:#}"));
        assert!(!failure["message"].as_str().unwrap().is_empty(), "{case}");
        assert_unchanged_and_failed(&app, case, &reply, &before).await;
    }
}

/// What a refused import must leave as it was: the target's artifacts, its
/// installed packages, the stored bundles and the scratch files.
type Snapshot = (Vec<(String, String)>, Vec<Value>, usize, usize);

/// Everything an import could change, read through the API and the disk.
async fn snapshot(app: &TestApp) -> Snapshot {
    let bundles = app.server.state.config().bundle_dir();
    let count = |dir: std::path::PathBuf| walk(&dir);
    (
        artifacts_of(app, TARGET).await,
        installed_of(app, TARGET).await,
        count(bundles),
        count(app.server.state.config().tmp_dir()),
    )
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn every_hostile_archive_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    // The honest archive these are made from imports (into another tenant).
    let honest = import(
        &app,
        &zip_bytes(&seed_bundle()),
        &json!({"targetTenantId": SOURCE, "defaultConflictStrategy": "Replace"}),
    )
    .await;
    assert_eq!(honest.status, 200, "{:#}", honest.json());

    let before = snapshot(&app).await;
    for (case, bytes, code) in hostile_archives() {
        let reply = import(&app, &bytes, &seed_options()).await;
        let body = reply.expect_error(400, code);
        assert!(!body["message"].as_str().unwrap().is_empty(), "{case}");
        assert_unchanged_and_failed(&app, case, &reply, &before).await;
    }
}

/// A package whose one artifact carries `definition` and `libraries`.
async fn package_with(app: &TestApp, definition: Value, libraries: Value) -> Vec<u8> {
    app.put_artifact(
        SOURCE,
        "app-9",
        json!({"type": "AppDefinition", "name": "Scripted", "version": "1.0.0",
               "status": "Published", "definition": definition, "references": [],
               "libraries": libraries}),
    )
    .await;
    let (_, zip) = crate::import::export_package(
        app,
        &json!({"tenantId": SOURCE, "packageName": "Scripted App", "packageType": "app-package",
                "version": "1.0.0", "artifactIds": ["app-9"]}),
    )
    .await;
    zip
}

#[tokio::test]
async fn a_failing_scan_refuses_the_import_with_its_findings() {
    let app = TestApp::new().await;
    let zip = package_with(
        &app,
        json!({"steps": [{"script": "var f = window['ev' + 'al']; f(input.code)"}]}),
        json!([]),
    )
    .await;
    let body = import(&app, &zip, &seed_options())
        .await
        .expect_error(403, "SecurityScanFailed");
    assert_eq!(body["securityScanResult"], "FAIL");
    let finding = &body["securityFindings"][0];
    assert_eq!(finding["artifactId"], "app-9");
    assert_eq!(finding["path"], "/steps/0/script");
    assert!(artifacts_of(&app, TARGET).await.is_empty());
}

#[tokio::test]
async fn an_obfuscated_script_is_refused_for_what_it_reaches() {
    let app = TestApp::new().await;
    let zip = package_with(
        &app,
        json!({"steps": [
            {"name": "run", "script": "const total = 1;\nthis[(693741).toString(36)](input.code);"},
            {"name": "check", "condition": "amount > 1000 && region == 'EU'"}
        ]}),
        json!([]),
    )
    .await;
    let body = import(&app, &zip, &seed_options())
        .await
        .expect_error(403, "SecurityScanFailed");
    let findings = body["securityFindings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{body:#}");
    assert_eq!(findings[0]["path"], "/steps/0/script");
    assert_eq!(findings[0]["ruleId"], "code-host-access");
    assert_eq!(findings[0]["capability"], "HostObject");
    assert_eq!(
        findings[0]["snippet"],
        "this[(693741).toString(36)](input.code)"
    );
    assert!(artifacts_of(&app, TARGET).await.is_empty());

    // The same shape with an ordinary script passes (a new service: an
    // export's name and version are taken once per tenant).
    let app = TestApp::new().await;
    let zip = package_with(
        &app,
        json!({"steps": [
            {"name": "run", "script": "const rows = JSON.parse(input.text);\nreturn rows.map(r => r[field]);"},
            {"name": "check", "condition": "amount > 1000 && region == 'EU'"}
        ]}),
        json!([]),
    )
    .await;
    let reply = import(&app, &zip, &seed_options()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(reply.json()["securityScanResult"], "PASS");
}

#[tokio::test]
async fn a_critical_cve_fails_the_scan() {
    let app = TestApp::new().await;
    let zip = package_with(
        &app,
        json!({}),
        json!([{"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core", "version": "2.14.1"}]),
    )
    .await;
    let body = import(&app, &zip, &seed_options())
        .await
        .expect_error(403, "SecurityScanFailed");
    assert_eq!(body["securityScanResult"], "FAIL");
    assert!(
        body["securityFindings"]
            .to_string()
            .contains("CVE-2021-44228"),
        "{body:#}"
    );
}

#[tokio::test]
async fn warnings_need_the_option_and_its_permission() {
    let app = TestApp::new().await;
    let zip = package_with(
        &app,
        json!({"endpoint": "http://payroll.acme-corp.net/api"}),
        json!([]),
    )
    .await;
    let body = import(&app, &zip, &seed_options())
        .await
        .expect_error(403, "SecurityScanFailed");
    assert_eq!(body["securityScanResult"], "WARN");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("allowSecurityWarnings")
    );

    let mut scopes = ALL_SCOPES.to_vec();
    scopes.push("installhub:import:override-security-warnings");
    let token = Token::full().scopes(&scopes).mint();
    let mut options = seed_options();
    options["allowSecurityWarnings"] = json!(true);
    let reply = import_as(&app, &token, &zip, &options, "").await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body:#}");
    assert_eq!(body["securityScanResult"], "WARN");
    assert_eq!(body["warnings"][0]["code"], "SecurityFinding");
    assert_eq!(body["warnings"][0]["artifactId"], "app-9");
    assert_eq!(body["warnings"][0]["path"], "/endpoint");
}

#[tokio::test]
async fn the_scan_route_answers_whatever_the_verdict() {
    let app = TestApp::new().await;
    let zip = package_with(
        &app,
        json!({"code": "require('child_process').exec(cmd)"}),
        json!([]),
    )
    .await;
    let form = reqwest::multipart::Form::new().part(
        "package",
        reqwest::multipart::Part::bytes(zip).file_name("p.zip"),
    );
    let reply = app.post_form(SCAN, form).await;
    let body = reply.json();
    assert_eq!(reply.status, 200, "{body:#}");
    assert_eq!(body["result"], "FAIL");
    assert_eq!(body["packageName"], "Scripted App");
    assert_eq!(body["advisorySnapshot"]["source"], "embedded", "{body:#}");
    assert!(!body["securityFindings"].as_array().unwrap().is_empty());

    let clean = reqwest::multipart::Form::new().part(
        "package",
        reqwest::multipart::Part::bytes(zip_bytes(&seed_bundle())).file_name("p.zip"),
    );
    let body = app.post_form(SCAN, clean).await.json();
    assert_eq!(body["result"], "PASS", "{body:#}");

    let bad = reqwest::multipart::Form::new()
        .part("package", reqwest::multipart::Part::bytes(b"nope".to_vec()));
    app.post_form(SCAN, bad)
        .await
        .expect_error(400, "InvalidZip");

    // No package part, an options part the scan does not take, not multipart.
    let empty = reqwest::multipart::Form::new().text("note", "x");
    let body = app
        .post_form(SCAN, empty)
        .await
        .expect_error(400, "InvalidRequestBody");
    assert!(
        body["message"].as_str().unwrap().contains("'package'"),
        "{body:#}"
    );
    let options = reqwest::multipart::Form::new().text("options", "{}");
    app.post_form(SCAN, options)
        .await
        .expect_error(400, "InvalidRequestBody");
    app.post(SCAN, &json!({}))
        .await
        .expect_error(415, "UnsupportedMediaType");
}

/// Letters that do not repeat, so a package of them stays about as large
/// zipped as inflated (no ratio limit is near).
fn noise(len: usize, seed: u64) -> String {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            char::from(b'a' + ((state >> 33) % 26) as u8)
        })
        .collect()
}

/// A real import writes each artifact as soon as it was read and scanned,
/// so a package refused at its last file is refused after several write
/// batches went to the database (here about 4 MB of artifacts before it):
/// the install transaction must take every one of them back, replaced
/// artifacts included, and the record says `Failed`.
#[tokio::test]
async fn a_package_refused_at_its_last_file_leaves_the_tenant_as_it_was() {
    use installhub_domain::{Artifact, ArtifactType};
    let app = TestApp::new().await;
    let seeded = import(&app, &zip_bytes(&seed_bundle()), &seed_options()).await;
    assert_eq!(seeded.status, 200, "{:#}", seeded.json());
    let before = snapshot(&app).await;
    assert_eq!(before.0.len(), 5);

    // The seed again at a new minor version (each one a Replace) and large
    // schemas, then the last file, an app (apps install last).
    let mut artifacts: Vec<Artifact> = seed_artifacts_in_order();
    for artifact in &mut artifacts {
        artifact.version = "1.1.0".into();
    }
    for i in 0..12 {
        let mut large = artifact(
            &format!("ent-{}", 7000 + i),
            ArtifactType::EntitySchema,
            &[],
        );
        large.definition["payload"] = json!(noise(350_000, i));
        artifacts.push(large);
    }
    let mut scripted = artifact("app-7100", ArtifactType::AppDefinition, &[]);
    scripted.definition =
        json!({"steps": [{"script": "var f = window['ev' + 'al']; f(input.code)"}]});
    let failing_scan = in_export_order([artifacts.clone(), vec![scripted]].concat());
    let lying = in_export_order(
        [
            artifacts.clone(),
            vec![artifact("app-7101", ArtifactType::AppDefinition, &[])],
        ]
        .concat(),
    );
    assert_eq!(failing_scan.last().unwrap().id.as_str(), "app-7100");
    assert_eq!(lying.last().unwrap().id.as_str(), "app-7101");
    let failing_scan = lying_zip(&failing_scan, |_| {});
    let lying = lying_zip(&lying, |m| {
        m.artifacts.last_mut().unwrap().sha256 = "0".repeat(64);
    });
    // The plan is made before the last file is read, but the package's
    // refusals still come first: a plan that conflicts (`Fail`) or a pin
    // to another plan is answered only for a package that passed.
    let mut fail = seed_options();
    fail["defaultConflictStrategy"] = json!("Fail");
    let mut pinned = seed_options();
    pinned["planId"] = json!(format!("plan-{}", "ab".repeat(32)));
    let cases = [
        (
            "the last file fails the scan",
            &failing_scan,
            seed_options(),
            403,
            "SecurityScanFailed",
        ),
        (
            "the same, with conflicts to fail on",
            &failing_scan,
            fail.clone(),
            403,
            "SecurityScanFailed",
        ),
        (
            "the last file is not what its manifest line hashes",
            &lying,
            seed_options(),
            400,
            "ChecksumMismatch",
        ),
        (
            "the same, pinned to another plan",
            &lying,
            pinned.clone(),
            400,
            "ChecksumMismatch",
        ),
    ];
    for (case, bytes, options, status, code) in cases {
        // 4.2 MB of artifact files, 2.5 MB zipped.
        assert!(bytes.len() > 2_000_000, "{case}: {} bytes", bytes.len());
        let reply = import(&app, bytes, &options).await;
        let body = reply.expect_error(status, code);
        assert_eq!(
            body["errors"].as_array().unwrap().len(),
            1,
            "{case}: {body:#}"
        );
        assert_unchanged_and_failed(&app, case, &reply, &before).await;
    }

    // The same package without its last file: those options do refuse it
    // (so the package's refusal above did come first), and without them
    // it installs: what was refused was the file, not the rest.
    let honest = lying_zip(&in_export_order(artifacts), |_| {});
    let reply = import(&app, &honest, &fail).await;
    reply.expect_error(409, "ConflictRequiresResolution");
    let reply = import(&app, &honest, &pinned).await;
    reply.expect_error(400, "InvalidPlanId");
    assert_eq!(snapshot(&app).await, before);
    let reply = import(&app, &honest, &seed_options()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(artifacts_of(&app, TARGET).await.len(), 17);
}

/// `artifacts` in the install order an export of them writes, which the
/// import checks the manifest's against.
fn in_export_order(
    mut artifacts: Vec<installhub_domain::Artifact>,
) -> Vec<installhub_domain::Artifact> {
    let files: Vec<_> = artifacts
        .iter()
        .map(|a| installhub_bundle::ArtifactFile::from(a).bundled())
        .collect();
    let source = installhub_domain::TenantId::parse(TENANT).unwrap();
    let order = installhub_domain::imported::export_install_order(&source, &files).unwrap();
    artifacts.sort_by_key(|a| order.iter().position(|id| *id == a.id));
    artifacts
}
