//! `GET /api/installhub/packages/{id}` and `.../download` (seed 01, SPEC §6).

use crate::common::*;

async fn exported(app: &TestApp) -> String {
    let body = app.export(&seed_export()).await.json();
    body["packageId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn metadata_has_the_manifest() {
    let app = TestApp::new().await;
    let id = exported(&app).await;
    let reply = app.get(&format!("/api/installhub/packages/{id}")).await;
    assert_eq!(reply.status, 200);
    let mut body = reply.json();
    assert!(body["sizeBytes"].as_i64().unwrap() > 200);
    assert_eq!(body["manifest"]["packageId"], id.as_str());
    redact(&mut body);
    body["sizeBytes"] = serde_json::json!("[sizeBytes]");
    insta::assert_json_snapshot!("package_metadata", body);
}

#[tokio::test]
async fn download_headers_etag_and_ranges() {
    let app = TestApp::new().await;
    let id = exported(&app).await;
    let path = format!("/api/installhub/packages/{id}/download");
    let full = app.get(&path).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.header("content-type"), Some("application/zip"));
    assert_eq!(
        full.header("content-disposition"),
        Some("attachment; filename=\"employee-onboarding-suite-2.1.0.zip\"")
    );
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    assert_eq!(
        full.header("content-length").unwrap(),
        full.body.len().to_string()
    );
    let etag = full.header("etag").unwrap().to_owned();
    use sha2::Digest;
    assert_eq!(
        etag,
        format!("\"{}\"", hex::encode(sha2::Sha256::digest(&full.body)))
    );
    assert_eq!(&full.body[..4], b"PK\x03\x04");

    let cached = app
        .send(
            app.http
                .get(app.url(&path))
                .bearer_auth(&app.token)
                .header("If-None-Match", &etag),
        )
        .await;
    assert_eq!(cached.status, 304);
    assert!(cached.body.is_empty());

    let part = app
        .send(
            app.http
                .get(app.url(&path))
                .bearer_auth(&app.token)
                .header("Range", "bytes=10-99"),
        )
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, full.body[10..100]);
    assert_eq!(
        part.header("content-range").unwrap(),
        format!("bytes 10-99/{}", full.body.len())
    );

    let tail = app
        .send(
            app.http
                .get(app.url(&path))
                .bearer_auth(&app.token)
                .header("Range", "bytes=-22"),
        )
        .await;
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, full.body[full.body.len() - 22..]);

    let beyond = format!("bytes={}-", full.body.len() + 10);
    let reply = app
        .send(
            app.http
                .get(app.url(&path))
                .bearer_auth(&app.token)
                .header("Range", beyond),
        )
        .await;
    reply.expect_error(416, "RangeNotSatisfiable");

    // A stale If-Range validator gets the whole file.
    let stale = app
        .send(
            app.http
                .get(app.url(&path))
                .bearer_auth(&app.token)
                .header("Range", "bytes=0-9")
                .header("If-Range", "\"stale\""),
        )
        .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body, full.body);
}

/// RFC 9110 §14.2: a range in a unit the server does not know is ignored
/// (the whole file, 200); a malformed byte range is refused with 416.
#[tokio::test]
async fn ranges_in_other_units_are_ignored() {
    let app = TestApp::new().await;
    let path = format!("/api/installhub/packages/{}/download", exported(&app).await);
    let full = app.get(&path).await;
    for range in ["items=0-5", "uG=>Wx", "0-5"] {
        let reply = app
            .send(
                app.http
                    .get(app.url(&path))
                    .bearer_auth(&app.token)
                    .header("Range", range),
            )
            .await;
        assert_eq!(reply.status, 200, "{range}");
        assert_eq!(reply.body, full.body, "{range}");
    }
    let reply = app
        .send(
            app.http
                .get(app.url(&path))
                .bearer_auth(&app.token)
                .header("Range", "bytes=abc"),
        )
        .await;
    reply.expect_error(416, "RangeNotSatisfiable");
}

#[tokio::test]
async fn unknown_and_malformed_package_ids() {
    let app = TestApp::new().await;
    app.get("/api/installhub/packages/pkg-00000000-0000-4000-8000-000000000000")
        .await
        .expect_error(404, "PackageNotFound");
    app.get("/api/installhub/packages/pkg-00000000-0000-4000-8000-000000000000/download")
        .await
        .expect_error(404, "PackageNotFound");
    app.get("/api/installhub/packages/not-a-package")
        .await
        .expect_error(400, "InvalidPackageId");
    let no_scope = Token::full().scopes(&["installhub:import"]).mint();
    app.get_as(
        &no_scope,
        "/api/installhub/packages/pkg-00000000-0000-4000-8000-000000000000",
    )
    .await
    .expect_error(403, "InsufficientPermission");
}
