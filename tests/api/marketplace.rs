//! The marketplace (SPEC §8): publish, search, show, govern, the CDN and
//! the keys, through the real server.

use chrono::{DateTime, Utc};
use installhub_auth::PublisherKeySet;
use installhub_domain::ListingId;
use installhub_domain::marketplace::VersionStatement;
use serde_json::{Value, json};
use sha2::Digest;

use crate::common::*;

const PUBLISHER: &[&str] = &["installhub:export", "marketplace:publish"];

fn publisher() -> String {
    Token::full().scopes(PUBLISHER).mint()
}

fn admin() -> String {
    Token::full().scopes(&["marketplace:admin"]).mint()
}

/// Exports the seed package at `version` and answers its package id.
async fn exported(app: &TestApp, version: &str) -> String {
    let mut body = seed_export();
    body["version"] = json!(version);
    let reply = app.export(&body).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    reply.json()["packageId"].as_str().unwrap().to_owned()
}

fn publish_body(package_id: &str) -> Value {
    json!({
        "sourcePackageId": package_id,
        "summary": "Onboarding workflows, forms and rules for HR teams.",
        "publisher": "Acme HR Platform Team",
        "categories": ["hr", "onboarding"],
    })
}

async fn publish(app: &TestApp, package_id: &str) -> Reply {
    app.post_as(
        &publisher(),
        "/api/marketplace/packages",
        &publish_body(package_id),
    )
    .await
}

/// The statement a version's signature covers, rebuilt from what the
/// marketplace shows, and checked against the served JWKS.
async fn verify_version(app: &TestApp, listing: &Value, version: &Value) {
    let jwks = app
        .send(
            app.http
                .get(app.url("/.well-known/installhub/publichub-keys.json")),
        )
        .await;
    assert_eq!(jwks.status, 200);
    let keys = PublisherKeySet::from_jwks(&jwks.body).unwrap();
    let published_at: DateTime<Utc> = version["publishedAt"].as_str().unwrap().parse().unwrap();
    let statement = VersionStatement::new(
        &ListingId::parse(listing["packageId"].as_str().unwrap()).unwrap(),
        listing["name"].as_str().unwrap(),
        version["version"].as_str().unwrap(),
        version["checksum"].as_str().unwrap(),
        version["bundleSha256"].as_str().unwrap(),
        version["sizeBytes"].as_u64().unwrap(),
        published_at,
        version["keyId"].as_str().unwrap(),
    );
    keys.verify(
        version["keyId"].as_str().unwrap(),
        &statement.canonical_bytes(),
        version["signature"].as_str().unwrap(),
    )
    .expect("the version's signature verifies against the PublicHub's keys");
    // One changed field and it no longer does.
    let mut tampered = statement.clone();
    tampered.version = "9.9.9".into();
    assert!(
        keys.verify(
            version["keyId"].as_str().unwrap(),
            &tampered.canonical_bytes(),
            version["signature"].as_str().unwrap()
        )
        .is_err()
    );
}

#[tokio::test]
async fn publishing_creates_a_signed_community_listing() {
    let app = TestApp::new().await;
    let package_id = exported(&app, "2.1.0").await;
    let reply = publish(&app, &package_id).await;
    assert_eq!(reply.status, 201, "{:#}", reply.json());
    let body = reply.json();
    let listing_id = body["packageId"].as_str().unwrap().to_owned();
    assert!(listing_id.starts_with("mkt-pkg-"));
    assert_ne!(listing_id, package_id);
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/marketplace/packages/{listing_id}").as_str())
    );
    assert_eq!(body["name"], "Employee Onboarding Suite");
    assert_eq!(body["version"], "2.1.0");
    assert_eq!(body["trustLevel"], "Community");
    assert_eq!(body["newListing"], true);
    assert_eq!(body["securityScanResult"], "PASS");
    assert!(body["keyId"].as_str().unwrap().starts_with("ed25519-"));

    // The listing shows the version, and the signature verifies.
    let shown = app
        .get(&format!("/api/marketplace/packages/{listing_id}"))
        .await;
    assert_eq!(shown.status, 200);
    let listing = shown.json();
    assert_eq!(
        listing["summary"],
        "Onboarding workflows, forms and rules for HR teams."
    );
    assert_eq!(listing["publisher"], "Acme HR Platform Team");
    assert_eq!(listing["categories"], json!(["hr", "onboarding"]));
    assert_eq!(listing["latestVersion"], "2.1.0");
    assert_eq!(listing["installCount"], 0);
    assert!(listing.get("delisted").is_none());
    let version = &listing["versions"][0];
    for field in [
        "version",
        "bundleUrl",
        "checksum",
        "bundleSha256",
        "signature",
        "keyId",
        "sizeBytes",
        "securityScanResult",
    ] {
        assert_eq!(version[field], body[field], "{field}");
    }
    verify_version(&app, &listing, version).await;

    // The package's own metadata names the same manifest checksum.
    let package = app
        .get(&format!("/api/installhub/packages/{package_id}"))
        .await
        .json();
    assert_eq!(version["checksum"], package["checksum"]);

    // The owner tenant's audit log has the publish.
    let audit = app
        .get(&format!(
            "/api/installhub/audit?tenantId={SOURCE}&action=marketplace-publish"
        ))
        .await
        .json();
    let entry = &audit["entries"][0];
    assert_eq!(entry["subject"], listing_id.as_str());
    assert_eq!(entry["actor"], "engineer@company.com");
    assert_eq!(entry["details"]["version"], "2.1.0");
}

#[tokio::test]
async fn the_cdn_serves_immutable_content_addressed_bundles() {
    let app = TestApp::new().await;
    let package_id = exported(&app, "2.1.0").await;
    let published = publish(&app, &package_id).await.json();
    let url = published["bundleUrl"].as_str().unwrap().to_owned();
    let sha = published["bundleSha256"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/cdn/bundles/sha256/{sha}.zip"));

    // No token needed; the bytes are the package's and hash to the name.
    let full = app.send(app.http.get(app.url(&url))).await;
    assert_eq!(full.status, 200);
    assert_eq!(hex::encode(sha2::Sha256::digest(&full.body)), sha);
    assert_eq!(
        full.body.len() as u64,
        published["sizeBytes"].as_u64().unwrap()
    );
    assert_eq!(
        full.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(full.header("etag"), Some(format!("\"{sha}\"").as_str()));
    assert_eq!(full.header("content-type"), Some("application/zip"));
    let download = app
        .get(&format!("/api/installhub/packages/{package_id}/download"))
        .await;
    assert_eq!(full.body, download.body);

    let head = app.send(app.http.head(app.url(&url))).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(
        head.header("content-length"),
        Some(full.body.len().to_string().as_str())
    );

    let cached = app
        .send(
            app.http
                .get(app.url(&url))
                .header("If-None-Match", format!("\"{sha}\"")),
        )
        .await;
    assert_eq!(cached.status, 304);
    let part = app
        .send(app.http.get(app.url(&url)).header("Range", "bytes=0-3"))
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, b"PK\x03\x04");
    assert_eq!(
        part.header("content-range"),
        Some(format!("bytes 0-3/{}", full.body.len()).as_str())
    );
    let beyond = app
        .send(
            app.http
                .get(app.url(&url))
                .header("Range", format!("bytes={}-", full.body.len() + 10)),
        )
        .await;
    beyond.expect_error(416, "RangeNotSatisfiable");

    // Names that are not a published SHA-256 are not there.
    for missing in [
        format!("/cdn/bundles/sha256/{}.zip", "0".repeat(64)),
        format!("/cdn/bundles/sha256/{}.zip", sha.to_uppercase()),
        "/cdn/bundles/sha256/..%2F..%2Finstallhub.db".to_owned(),
        format!("/cdn/bundles/sha256/{sha}"),
    ] {
        let reply = app.send(app.http.get(app.url(&missing))).await;
        reply.expect_error(404, "NotFound");
    }
}

#[tokio::test]
async fn versions_join_their_listing_and_conflicts_are_refused() {
    let app = TestApp::new().await;
    let first = exported(&app, "2.1.0").await;
    let listing_id = publish(&app, &first).await.json()["packageId"]
        .as_str()
        .unwrap()
        .to_owned();

    let again = publish(&app, &first).await;
    let body = again.expect_error(409, "VersionConflict");
    assert_eq!(body["packageId"], listing_id.as_str());

    let second = exported(&app, "2.2.0").await;
    let mut request = publish_body(&second);
    request["summary"] = json!("Now with offboarding.");
    let reply = app
        .post_as(&publisher(), "/api/marketplace/packages", &request)
        .await;
    assert_eq!(reply.status, 201, "{:#}", reply.json());
    assert_eq!(reply.json()["packageId"], listing_id.as_str());
    assert_eq!(reply.json()["newListing"], false);

    let listing = app
        .get(&format!("/api/marketplace/packages/{listing_id}"))
        .await
        .json();
    assert_eq!(listing["summary"], "Now with offboarding.");
    assert_eq!(listing["latestVersion"], "2.2.0");
    let versions: Vec<&str> = listing["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["2.2.0", "2.1.0"]);
    for version in listing["versions"].as_array().unwrap() {
        verify_version(&app, &listing, version).await;
    }
}

#[tokio::test]
async fn a_listing_belongs_to_the_tenant_that_first_published_it() {
    let app = TestApp::new().await;
    let first = exported(&app, "2.1.0").await;
    let listing_id = publish(&app, &first).await.json()["packageId"]
        .as_str()
        .unwrap()
        .to_owned();

    // The other tenant exports a package of the same name (another case).
    app.artifact(TARGET, "proc-9", "ProcessDefinition", &[])
        .await;
    let mut body = seed_export();
    body["tenantId"] = json!(TARGET);
    body["packageName"] = json!("EMPLOYEE onboarding suite");
    body["version"] = json!("9.0.0");
    body["artifactIds"] = json!(["proc-9"]);
    let theirs = app.export(&body).await.json()["packageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply = publish(&app, &theirs).await;
    let refused = reply.expect_error(403, "ListingOwnedElsewhere");
    assert_eq!(refused["packageId"], listing_id.as_str());
    let listing = app
        .get(&format!("/api/marketplace/packages/{listing_id}"))
        .await
        .json();
    assert_eq!(listing["versions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn publishing_needs_its_permissions_and_a_readable_package() {
    let app = TestApp::new().await;
    let package_id = exported(&app, "2.1.0").await;
    let path = "/api/marketplace/packages";
    let body = publish_body(&package_id);

    let no_publish = Token::full().scopes(&["installhub:export"]).mint();
    let reply = app.post_as(&no_publish, path, &body).await;
    assert_eq!(
        reply.expect_error(403, "InsufficientPermission")["requiredPermission"],
        "marketplace:publish"
    );
    let no_export = Token::full().scopes(&["marketplace:publish"]).mint();
    let reply = app.post_as(&no_export, path, &body).await;
    assert_eq!(
        reply.expect_error(403, "InsufficientPermission")["requiredPermission"],
        "installhub:export"
    );
    // A package of a tenant the token does not name is answered as missing.
    let other_tenant = Token::full().scopes(PUBLISHER).tenants(&[TARGET]).mint();
    app.post_as(&other_tenant, path, &body)
        .await
        .expect_error(404, "PackageNotFound");
    let unknown = publish_body("pkg-00000000-0000-4000-8000-000000000000");
    app.post_as(&publisher(), path, &unknown)
        .await
        .expect_error(404, "PackageNotFound");
    let reply = app.send(app.http.post(app.url(path)).json(&body)).await;
    reply.expect_error(401, "Unauthenticated");

    // Every problem of a body at once.
    let bad = json!({ "sourcePackageId": "pkg-1", "summary": " ", "publisher": "x".repeat(101), "categories": ["HR"] });
    let reply = app.post_as(&publisher(), path, &bad).await;
    let body = reply.expect_error(400, "InvalidSummary");
    assert_eq!(body["error"], "ValidationFailed");
    assert_eq!(
        error_codes(&body),
        [
            "InvalidPackageId",
            "InvalidSummary",
            "InvalidPublisher",
            "InvalidCategories"
        ]
    );
    let unknown_field = json!({ "sourcePackageId": package_id, "summary": "s", "publisher": "p", "trustLevel": "Official" });
    app.post_as(&publisher(), path, &unknown_field)
        .await
        .expect_error(400, "InvalidRequestBody");
    let search = app.get("/api/marketplace/packages").await.json();
    assert_eq!(search["packages"], json!([]), "nothing was published");
}

#[tokio::test]
async fn a_package_the_scan_fails_is_not_published() {
    let app = TestApp::new().await;
    app.put_artifact(
        SOURCE,
        "proc-1001",
        json!({
            "type": "ProcessDefinition", "name": "Onboarding", "version": "1.0.0", "status": "Published",
            "definition": { "steps": [{ "script": "const f = (0, eval); return f(params.code);" }] }
        }),
    )
    .await;
    let package_id = exported(&app, "2.1.0").await;
    let reply = publish(&app, &package_id).await;
    let body = reply.expect_error(403, "SecurityScanFailed");
    assert_eq!(body["securityScanResult"], "FAIL");
    let findings = body["securityFindings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["ruleId"] == "code-eval"),
        "{findings:#?}"
    );
    assert_eq!(
        app.get("/api/marketplace/packages").await.json()["packages"],
        json!([])
    );
}

#[tokio::test]
async fn search_filters_and_pages_by_cursor() {
    let app = TestApp::new().await;
    let mut names = Vec::new();
    for (i, (name, categories)) in [
        ("Leave Requests", ["hr", "leave"]),
        ("Invoice Approval", ["finance", "approvals"]),
        ("Expense Claims", ["finance", "expenses"]),
    ]
    .iter()
    .enumerate()
    {
        let mut body = seed_export();
        body["packageName"] = json!(name);
        let package_id = app.export(&body).await.json()["packageId"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut request = publish_body(&package_id);
        request["categories"] = json!(categories);
        request["publisher"] = json!(if i == 0 { "People Ops" } else { "Finance Ops" });
        let reply = app
            .post_as(&publisher(), "/api/marketplace/packages", &request)
            .await;
        assert_eq!(reply.status, 201, "{:#}", reply.json());
        names.push(name.to_string());
    }
    let names_of = |reply: &Reply| -> Vec<String> {
        reply.json()["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/api/marketplace/packages").await;
    assert_eq!(
        names_of(&all),
        ["Expense Claims", "Invoice Approval", "Leave Requests"]
    );
    let first = &all.json()["packages"][0];
    assert_eq!(first["latestVersion"], "2.1.0");
    assert_eq!(first["trustLevel"], "Community");
    assert_eq!(first["packageType"], "workflow-package");
    assert!(all.json().get("nextCursor").is_none());

    for (query, expected) in [
        ("q=finance+ops", vec!["Expense Claims", "Invoice Approval"]),
        ("q=LEAVE", vec!["Leave Requests"]),
        (
            "category=finance",
            vec!["Expense Claims", "Invoice Approval"],
        ),
        ("publisher=people%20ops", vec!["Leave Requests"]),
        ("packageType=form-package", vec![]),
        (
            "trustLevel=Community&category=approvals",
            vec!["Invoice Approval"],
        ),
        ("trustLevel=Official", vec![]),
    ] {
        let reply = app.get(&format!("/api/marketplace/packages?{query}")).await;
        assert_eq!(reply.status, 200, "{query}: {:#}", reply.json());
        assert_eq!(names_of(&reply), expected, "{query}");
    }

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/marketplace/packages?limit=2&cursor={c}"),
            None => "/api/marketplace/packages?limit=2".to_owned(),
        };
        let page = app.get(&path).await;
        seen.extend(names_of(&page));
        match page.json()["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["Expense Claims", "Invoice Approval", "Leave Requests"]
    );

    // Any other cursor text is a position in name order.
    let after_j = app.get("/api/marketplace/packages?cursor=j").await;
    assert_eq!(names_of(&after_j), ["Leave Requests"]);

    let reply = app
        .get("/api/marketplace/packages?trustLevel=official&packageType=zip&category=Bad&limit=0")
        .await;
    let body = reply.expect_error(400, "InvalidTrustLevel");
    assert_eq!(body["error"], "ValidationFailed");
    let mut codes = error_codes(&body);
    codes.sort();
    assert_eq!(
        codes,
        [
            "InvalidCategories",
            "InvalidPackageType",
            "InvalidRequestBody",
            "InvalidTrustLevel"
        ]
    );
    app.get("/api/marketplace/packages?sort=name")
        .await
        .expect_error(400, "InvalidRequestBody");
    let anonymous = app
        .send(app.http.get(app.url("/api/marketplace/packages")))
        .await;
    anonymous.expect_error(401, "Unauthenticated");
}

#[tokio::test]
async fn trust_levels_yanks_and_delisting_are_governed() {
    let app = TestApp::new().await;
    let first = exported(&app, "2.1.0").await;
    let listing_id = publish(&app, &first).await.json()["packageId"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = exported(&app, "2.2.0").await;
    assert_eq!(publish(&app, &second).await.status, 201);
    let base = format!("/api/marketplace/packages/{listing_id}");

    // Trust level: admins only.
    let trust = format!("{base}/trust-level");
    let reply = app
        .send(
            app.http
                .put(app.url(&trust))
                .bearer_auth(publisher())
                .json(&json!({ "trustLevel": "Official" })),
        )
        .await;
    reply.expect_error(403, "InsufficientPermission");
    let reply = app
        .send(
            app.http
                .put(app.url(&trust))
                .bearer_auth(admin())
                .json(&json!({ "trustLevel": "Trusted" })),
        )
        .await;
    reply.expect_error(400, "InvalidTrustLevel");
    let reply = app
        .send(
            app.http
                .put(app.url(&trust))
                .bearer_auth(admin())
                .json(&json!({ "trustLevel": "Verified" })),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(reply.json()["trustLevel"], "Verified");
    let search = app
        .get("/api/marketplace/packages?trustLevel=Verified")
        .await
        .json();
    assert_eq!(search["packages"][0]["packageId"], listing_id.as_str());

    // Yank: never latest, still shown; the publisher may, another tenant's may not.
    let yank = format!("{base}/versions/2.2.0/yank");
    let outsider = Token::full().scopes(PUBLISHER).tenants(&[TARGET]).mint();
    let reply = app
        .send(
            app.http
                .put(app.url(&yank))
                .bearer_auth(&outsider)
                .json(&json!({ "reason": "x" })),
        )
        .await;
    reply.expect_error(403, "ListingOwnedElsewhere");
    let reply = app
        .send(
            app.http
                .put(app.url(&yank))
                .bearer_auth(publisher())
                .json(&json!({})),
        )
        .await;
    reply.expect_error(400, "InvalidReason");
    let reply = app
        .send(
            app.http
                .put(app.url(&yank))
                .bearer_auth(publisher())
                .json(&json!({ "reason": "Breaks approvals; use 2.1.0." })),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(
        reply.json()["yanked"]["reason"],
        "Breaks approvals; use 2.1.0."
    );
    let listing = app.get(&base).await.json();
    assert_eq!(listing["latestVersion"], "2.1.0");
    assert_eq!(listing["versions"][0]["version"], "2.2.0");
    assert!(listing["versions"][0]["yanked"]["at"].is_string());
    assert!(
        listing["versions"][0]["yanked"].get("by").is_none(),
        "identities stay in the audit log"
    );
    let missing = format!("{base}/versions/9.9.9/yank");
    let reply = app
        .send(
            app.http
                .put(app.url(&missing))
                .bearer_auth(admin())
                .json(&json!({ "reason": "x" })),
        )
        .await;
    reply.expect_error(404, "VersionNotFound");
    let reply = app
        .send(app.http.delete(app.url(&yank)).bearer_auth(admin()))
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.json().get("yanked").is_none());
    assert_eq!(app.get(&base).await.json()["latestVersion"], "2.2.0");

    // Delisting: admins only; out of search, still readable.
    let delisting = format!("{base}/delisting");
    let reply = app
        .send(
            app.http
                .put(app.url(&delisting))
                .bearer_auth(publisher())
                .json(&json!({ "reason": "x" })),
        )
        .await;
    reply.expect_error(403, "InsufficientPermission");
    let reply = app
        .send(
            app.http
                .put(app.url(&delisting))
                .bearer_auth(admin())
                .json(&json!({ "reason": "Policy review" })),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(reply.json()["delisted"]["reason"], "Policy review");
    assert_eq!(
        app.get("/api/marketplace/packages").await.json()["packages"],
        json!([])
    );
    assert_eq!(app.get(&base).await.status, 200);
    let reply = app
        .send(app.http.delete(app.url(&delisting)).bearer_auth(admin()))
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        app.get("/api/marketplace/packages").await.json()["packages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let actions: Vec<String> = app
        .get(&format!("/api/installhub/audit?tenantId={SOURCE}"))
        .await
        .json()["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .filter(|a| a.starts_with("marketplace-"))
        .collect();
    assert_eq!(
        actions,
        [
            "marketplace-delist",
            "marketplace-delist",
            "marketplace-yank",
            "marketplace-yank",
            "marketplace-trust-level",
            "marketplace-publish",
            "marketplace-publish"
        ]
    );
}

#[tokio::test]
async fn unknown_and_malformed_listing_ids() {
    let app = TestApp::new().await;
    app.get("/api/marketplace/packages/mkt-pkg-00000000-0000-4000-8000-000000000000")
        .await
        .expect_error(404, "PackageNotFound");
    app.get("/api/marketplace/packages/pkg-00000000-0000-4000-8000-000000000000")
        .await
        .expect_error(400, "InvalidPackageId");
}

#[tokio::test]
async fn the_signing_key_is_kept_and_earlier_keys_stay_published() {
    let dir = tempfile::tempdir().unwrap();
    // An earlier key, as a rotated-out deployment would keep it.
    let earlier = installhub_auth::PublisherKey::load_or_create(dir.path()).unwrap();
    let earlier_pem = dir.path().join("earlier.pem");
    std::fs::write(&earlier_pem, earlier.public().to_spki_pem()).unwrap();
    let app =
        TestApp::with_config(|config| config.publichub.previous_keys = vec![earlier_pem.clone()])
            .await;
    let jwks = app
        .send(
            app.http
                .get(app.url("/.well-known/installhub/publichub-keys.json")),
        )
        .await;
    assert_eq!(jwks.header("cache-control"), Some("public, max-age=300"));
    let keys = PublisherKeySet::from_jwks(&jwks.body).unwrap();
    let kids: Vec<&str> = keys.keys().iter().map(|k| k.kid()).collect();
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(kids.contains(&earlier.kid()));
    for key in jwks.json()["keys"].as_array().unwrap() {
        assert_eq!(
            (key["kty"].as_str(), key["crv"].as_str()),
            (Some("OKP"), Some("Ed25519"))
        );
    }
    // New versions are signed by the server's own key, not the earlier one.
    let package_id = exported(&app, "2.1.0").await;
    let body = publish(&app, &package_id).await.json();
    assert_ne!(body["keyId"], earlier.kid());
    assert!(kids.contains(&body["keyId"].as_str().unwrap()));
}
