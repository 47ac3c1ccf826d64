//! `POST /api/installhub/packages/export` and its validation (seeds 01, 02).

use std::io::Read;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;

#[tokio::test]
async fn seed_example_exports_a_verifiable_package() {
    let app = TestApp::new().await;
    let reply = app.export(&seed_export()).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    let body = reply.json();
    let package_id = body["packageId"].as_str().unwrap().to_owned();
    assert!(
        package_id.starts_with("pkg-") && package_id.len() == 40,
        "{package_id}"
    );
    assert_eq!(body["packageName"], "Employee Onboarding Suite");
    assert_eq!(body["version"], "2.1.0");
    assert_eq!(body["artifactCount"], 5);
    assert_eq!(body["isSuccess"], true);
    assert_eq!(
        body["bundleDownloadUrl"],
        format!("/api/installhub/packages/{package_id}/download")
    );
    let exported_at = body["exportedAt"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(exported_at).is_ok(),
        "{exported_at}"
    );
    assert!(exported_at.ends_with('Z'));
    let manifest = &body["manifest"];
    assert_eq!(manifest["packageId"], package_id.as_str());
    assert_eq!(manifest["name"], "Employee Onboarding Suite");
    assert_eq!(
        manifest["installOrder"],
        json!([
            "ent-44",
            "rule-305",
            "form-2005",
            "thread-2002",
            "proc-1001"
        ])
    );
    assert_eq!(manifest["formatVersion"], 1);
    assert_eq!(manifest["exportedBy"], "engineer@company.com");
    assert_eq!(manifest["sourceTenantId"], SOURCE);
    assert_eq!(manifest["packageDependencies"], json!([]));
    assert_eq!(manifest["artifacts"].as_array().unwrap().len(), 5);
    let form = manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "form-2005")
        .unwrap();
    assert_eq!(form["path"], "artifacts/form-2005.json");
    assert_eq!(form["dependsOn"], json!(["ent-44"]));
    assert_eq!(form["type"], "AtlasForm");

    // Download and recompute the checksum exactly as SPEC §6 defines it.
    let zip_bytes = app
        .get(&format!("/api/installhub/packages/{package_id}/download"))
        .await
        .body;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are in byte order of their names");
    assert_eq!(names.last().unwrap(), "manifest.json");
    let mut listing = String::new();
    for name in names.iter().filter(|n| *n != "manifest.json") {
        let mut bytes = Vec::new();
        archive
            .by_name(name)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        let line_hash = hex::encode(Sha256::digest(&bytes));
        let in_manifest = manifest["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["path"] == **name)
            .unwrap();
        assert_eq!(in_manifest["sha256"], line_hash.as_str());
        listing.push_str(&format!("{line_hash}  {name}\n"));
    }
    let expected = format!("sha256:{}", hex::encode(Sha256::digest(listing.as_bytes())));
    assert_eq!(body["checksum"], expected.as_str());
    assert_eq!(manifest["checksum"], expected.as_str());

    let mut stored_manifest = String::new();
    archive
        .by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut stored_manifest)
        .unwrap();
    let stored: Value = serde_json::from_str(&stored_manifest).unwrap();
    assert_eq!(&stored, manifest);
}

#[tokio::test]
async fn same_content_gives_the_same_checksum() {
    let app = TestApp::new().await;
    let first = app.export(&seed_export()).await.json();
    let mut again = seed_export();
    again["version"] = json!("2.1.1");
    let second = app.export(&again).await.json();
    assert_eq!(first["checksum"], second["checksum"]);
    assert_ne!(first["packageId"], second["packageId"]);
}

#[tokio::test]
async fn version_conflict_is_409_and_case_insensitive() {
    let app = TestApp::new().await;
    assert_eq!(app.export(&seed_export()).await.status, 200);
    let mut same = seed_export();
    same["packageName"] = json!("EMPLOYEE onboarding suite");
    let body = app.export(&same).await.expect_error(409, "VersionConflict");
    assert_eq!(body["error"], "VersionConflict");
    assert_eq!(body["errors"][0]["field"], "version");
}

#[tokio::test]
async fn draft_example_of_seed_02_is_reproduced() {
    let app = TestApp::new().await;
    app.set_status(SOURCE, "proc-1001", "Draft").await;
    let reply = app.export(&seed_export()).await;
    let body = reply.expect_error(400, "ArtifactNotExportable");
    assert_eq!(body["error"], "ArtifactNotExportable");
    assert_eq!(
        body["message"],
        "Artifact 'proc-1001' (EmployeeOnboarding) is in Draft state. Publish it before exporting."
    );
    assert_eq!(body["artifactId"], "proc-1001");
    assert_eq!(body["currentStatus"], "Draft");
    assert_eq!(body["requiredStatus"], "Published");
    assert_eq!(body["errors"][0]["field"], "artifactIds[0]");
}

#[tokio::test]
async fn all_failures_come_back_at_once_as_in_seed_02() {
    let app = TestApp::new().await;
    let mut request = seed_export();
    request["artifactIds"] = json!(["proc-9999"]);
    request["version"] = json!("v2.1");
    let reply = app.export(&request).await;
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.json(),
        json!({
            "error": "ValidationFailed",
            "message": "Export request failed validation. See 'errors' for details.",
            "errors": [
                {
                    "code": "InvalidVersion",
                    "field": "version",
                    "message": "Version 'v2.1' is not valid SemVer. Expected format: major.minor.patch (e.g., 2.1.0)"
                },
                {
                    "code": "ArtifactNotFound",
                    "field": "artifactIds[0]",
                    "message": format!("Artifact 'proc-9999' does not exist in tenant '{SOURCE}'"),
                    "artifactId": "proc-9999"
                }
            ]
        })
    );
}

#[tokio::test]
async fn every_request_check_reports_its_field() {
    let app = TestApp::new().await;
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({ "packageName": "" }),
            400,
            "InvalidPackageName",
            "packageName",
        ),
        (
            json!({ "packageName": "Bad/Name" }),
            400,
            "InvalidPackageName",
            "packageName",
        ),
        (
            json!({ "packageName": "x".repeat(101) }),
            400,
            "InvalidPackageName",
            "packageName",
        ),
        (
            json!({ "packageType": "workflow" }),
            400,
            "InvalidPackageType",
            "packageType",
        ),
        (
            json!({ "version": "2.1" }),
            400,
            "InvalidVersion",
            "version",
        ),
        (
            json!({ "version": "01.2.3" }),
            400,
            "InvalidVersion",
            "version",
        ),
        (
            json!({ "artifactIds": [] }),
            400,
            "ArtifactIdsMissing",
            "artifactIds",
        ),
        (
            json!({ "artifactIds": (0..51).map(|i| format!("a{i}")).collect::<Vec<_>>() }),
            400,
            "TooManyRootArtifacts",
            "artifactIds",
        ),
        (
            json!({ "tenantId": "Not_A_Tenant" }),
            400,
            "InvalidTenantId",
            "tenantId",
        ),
        (
            json!({ "artifactIds": ["../etc"] }),
            400,
            "InvalidArtifactId",
            "artifactIds[0]",
        ),
    ];
    for (patch, status, code, field) in cases {
        let mut request = seed_export();
        for (k, v) in patch.as_object().unwrap() {
            request[k] = v.clone();
        }
        let body = app.export(&request).await.expect_error(status, code);
        let failure = body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["code"] == code)
            .unwrap();
        assert_eq!(failure["field"], field, "{code}: {body:#}");
    }
}

#[tokio::test]
async fn missing_fields_report_every_seed_code() {
    let app = TestApp::new().await;
    let body = app
        .export(&json!({}))
        .await
        .expect_error(400, "InvalidPackageName");
    assert_eq!(
        error_codes(&body),
        vec![
            "InvalidPackageName",
            "InvalidPackageType",
            "InvalidVersion",
            "ArtifactIdsMissing",
            "InvalidTenantId"
        ]
    );
    assert_eq!(body["error"], "ValidationFailed");
}

#[tokio::test]
async fn tenant_must_exist_and_be_active() {
    let app = TestApp::new().await;
    let mut request = seed_export();
    request["tenantId"] = json!("tenant-nowhere");
    let token = Token::full().tenants(&["*"]).mint();
    let reply = app
        .post_as(&token, "/api/installhub/packages/export", &request)
        .await;
    reply.expect_error(400, "InvalidTenantId");

    let put = app
        .put(
            &format!("/api/installhub/tenants/{SOURCE}"),
            &json!({ "name": "Acme HR", "plan": "Enterprise", "status": "Suspended" }),
        )
        .await;
    assert_eq!(put.status, 200);
    let body = app
        .export(&seed_export())
        .await
        .expect_error(400, "InvalidTenantId");
    assert!(body["message"].as_str().unwrap().contains("Suspended"));
}

#[tokio::test]
async fn header_and_body_tenants_must_agree() {
    let app = TestApp::new().await;
    let reply = app
        .send(
            app.http
                .post(app.url("/api/installhub/packages/export"))
                .bearer_auth(&app.token)
                .header("X-Tenant-Id", TARGET)
                .json(&seed_export()),
        )
        .await;
    reply.expect_error(400, "TenantIdConflict");

    let mut without = seed_export();
    without.as_object_mut().unwrap().remove("tenantId");
    let reply = app
        .send(
            app.http
                .post(app.url("/api/installhub/packages/export"))
                .bearer_auth(&app.token)
                .header("X-Tenant-Id", SOURCE)
                .json(&without),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
}

#[tokio::test]
async fn authorization_failures_are_403_and_hide_the_catalog() {
    let app = TestApp::new().await;
    let no_scope = Token::full().scopes(&["installhub:import"]).mint();
    let mut request = seed_export();
    request["artifactIds"] = json!(["proc-9999"]);
    let body = app
        .post_as(&no_scope, "/api/installhub/packages/export", &request)
        .await
        .expect_error(403, "InsufficientPermission");
    assert!(
        !error_codes(&body).contains(&"ArtifactNotFound".to_owned()),
        "{body:#}"
    );

    let other_tenant = Token::full().tenants(&[TARGET]).mint();
    let body = app
        .post_as(&other_tenant, "/api/installhub/packages/export", &request)
        .await
        .expect_error(403, "TenantAccessDenied");
    assert_eq!(error_codes(&body), vec!["TenantAccessDenied"]);
}

#[tokio::test]
async fn tenant_mismatch_for_an_artifact_of_another_tenant() {
    let app = TestApp::new().await;
    app.artifact(TARGET, "rule-target-only", "RuleSet", &[])
        .await;
    let mut request = seed_export();
    request["artifactIds"] = json!(["proc-1001", "rule-target-only"]);
    let body = app
        .export(&request)
        .await
        .expect_error(403, "TenantMismatch");
    assert_eq!(body["errors"][0]["field"], "artifactIds[1]");
}

#[tokio::test]
async fn graph_failures() {
    let app = TestApp::new().await;
    // IncompleteArtifact: a reference to a deleted artifact.
    assert_eq!(
        app.delete(&format!(
            "/api/installhub/tenants/{SOURCE}/artifacts/ent-44"
        ))
        .await
        .status,
        200
    );
    let body = app
        .export(&seed_export())
        .await
        .expect_error(400, "IncompleteArtifact");
    assert_eq!(body["artifactId"], "form-2005");
    assert_eq!(body["missingReferences"], json!(["ent-44"]));

    // CircularDependency.
    app.artifact(SOURCE, "loop-a", "ProcessDefinition", &["loop-b"])
        .await;
    app.artifact(SOURCE, "loop-b", "RuleSet", &["loop-a"]).await;
    let mut request = seed_export();
    request["artifactIds"] = json!(["loop-a"]);
    let body = app
        .export(&request)
        .await
        .expect_error(400, "CircularDependency");
    assert_eq!(body["cycle"], json!(["loop-a", "loop-b"]));

    // CrossTenantReference.
    app.put_artifact(
        SOURCE,
        "uses-other",
        json!({ "type": "AppDefinition", "name": "Uses other", "version": "1.0.0", "status": "Active",
                "definition": {}, "references": [{ "artifactId": "x-1", "tenantId": TARGET }] }),
    )
    .await;
    request["artifactIds"] = json!(["uses-other"]);
    let body = app
        .export(&request)
        .await
        .expect_error(400, "CrossTenantReference");
    assert_eq!(body["referencedTenantId"], TARGET);
}

#[tokio::test]
async fn depth_of_eleven_is_refused() {
    let app = TestApp::new().await;
    for i in (0..=11).rev() {
        let next = format!("d{:02}", i + 1);
        let refs: Vec<&str> = if i < 11 { vec![next.as_str()] } else { vec![] };
        app.artifact(SOURCE, &format!("d{i:02}"), "RuleSet", &refs)
            .await;
    }
    let mut request = seed_export();
    request["artifactIds"] = json!(["d01"]);
    assert_eq!(
        app.export(&request).await.status,
        200,
        "10 references deep is allowed"
    );
    request["artifactIds"] = json!(["d00"]);
    request["version"] = json!("3.0.0");
    let body = app
        .export(&request)
        .await
        .expect_error(400, "DependencyDepthExceeded");
    assert_eq!(body["depth"], 11);
}

#[tokio::test]
async fn more_than_500_artifacts_is_bundle_size_exceeded() {
    let app = TestApp::new().await;
    let store = app.server.state.store();
    let tenant = installhub_domain::TenantId::parse(SOURCE).unwrap();
    let mut refs = Vec::new();
    for i in 0..500 {
        let id = format!("leaf-{i:03}");
        refs.push(json!({ "artifactId": id }));
        let artifact = installhub_domain::Artifact {
            tenant_id: tenant.clone(),
            id: installhub_domain::ArtifactId::parse(&id).unwrap(),
            artifact_type: installhub_domain::ArtifactType::RuleSet,
            name: id.clone(),
            version: "1.0.0".into(),
            status: installhub_domain::ArtifactStatus::Published,
            definition: json!({}),
            references: vec![],
            libraries: vec![],
            updated_at: chrono::Utc::now(),
        };
        store
            .upsert_artifact(&artifact.into(), "tester@company.com")
            .await
            .unwrap();
    }
    app.put_artifact(
        SOURCE,
        "big-app",
        json!({ "type": "AppDefinition", "name": "Big", "version": "1.0.0", "status": "Active",
                "definition": {}, "references": refs }),
    )
    .await;
    let mut request = seed_export();
    request["artifactIds"] = json!(["big-app"]);
    let body = app
        .export(&request)
        .await
        .expect_error(400, "BundleSizeExceeded");
    assert_eq!(body["maxArtifacts"], 500);
}

#[tokio::test]
async fn package_dependencies_are_recorded_in_the_manifest() {
    let app = TestApp::new().await;
    let mut request = seed_export();
    request["packageDependencies"] = json!([{ "packageName": "HR Core", "versionRange": "^1.2" }]);
    let body = app.export(&request).await.json();
    assert_eq!(
        body["manifest"]["packageDependencies"],
        json!([{ "packageName": "HR Core", "versionRange": "^1.2" }])
    );
    request["version"] = json!("2.2.0");
    request["packageDependencies"] =
        json!([{ "packageName": "HR Core", "versionRange": "one point two" }]);
    let body = app
        .export(&request)
        .await
        .expect_error(400, "InvalidPackageDependency");
    assert_eq!(
        body["errors"][0]["field"],
        "packageDependencies[0].versionRange"
    );
}

#[tokio::test]
async fn exports_are_in_the_audit_log() {
    let app = TestApp::new().await;
    app.export(&seed_export()).await;
    app.export(&seed_export()).await; // VersionConflict
    let tenant = installhub_domain::TenantId::parse(SOURCE).unwrap();
    let entries = app
        .server
        .state
        .store()
        .list_audit(&tenant, Some("export"), 10, None)
        .await
        .unwrap();
    let outcomes: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, vec![("export", "Failure"), ("export", "Success")]);
    assert_eq!(entries[1].actor, "engineer@company.com");
}
