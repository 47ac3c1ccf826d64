//! The bundles really are in the bucket, and nowhere on local disk.

use installhub_server::config::BundleStoreConfig;

use crate::common::*;
use crate::import::{import, seed_options, seed_package};

#[tokio::test]
async fn exported_bundles_live_in_the_bucket() {
    let app = TestApp::new().await;
    let BundleStoreConfig::S3 { url, options } = &app.server.state.config().bundles else {
        eprintln!("no S3 server: nothing to check");
        return;
    };
    let (package_id, zip) = seed_package(&app).await;
    let endpoint = &options.iter().find(|(k, _)| k == "endpoint").unwrap().1;
    let bucket = url.trim_start_matches("s3://").split('/').next().unwrap();
    let listing = reqwest::get(format!("{endpoint}/{bucket}?list-type=2"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listing.contains(&format!("<Key>bundles/packages/{package_id}.zip</Key>")),
        "{listing}"
    );
    let local = app.server.state.config().bundle_dir();
    assert!(
        std::fs::read_dir(&local).map_or(true, |mut d| d.next().is_none()),
        "bundles were written to {}",
        local.display()
    );
    // Imported by reference straight from the bucket.
    let reply = app
        .post(
            "/api/installhub/packages/import",
            &serde_json::json!({"sourcePackageId": package_id, "options": seed_options()}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:#}", reply.json());
    assert_eq!(
        import(&app, &zip, &seed_options()).await.json()["artifactsInstalled"],
        0
    );
}
