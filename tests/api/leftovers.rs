//! What a killed server leaves behind (upload and export scratch files, a
//! bundle stored without its package row, a cut-short bundle write, ended
//! rate-limit windows) is swept when the server starts again on the same
//! data directory and database, and real bundles still download.

use std::path::Path;
use std::time::{Duration, SystemTime};

use installhub_server::RunningServer;
use serde_json::Value;
use sqlx::Connection;

use crate::common::*;

/// Sets a file's modification time `secs` seconds into the past.
fn age(path: &Path, secs: u64) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap();
}

fn leave(path: &Path, bytes: &[u8], secs_old: Option<u64>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    if let Some(secs) = secs_old {
        age(path, secs);
    }
}

async fn rate_limit_rows(url: &str, bucket: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rate_limits WHERE bucket = $1")
        .bind(bucket)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_are_swept_when_the_server_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    let database = if crate::backend::POSTGRES {
        PgDatabase::create().await.map(|(db, url)| {
            config.database.url = Some(url);
            db
        })
    } else {
        None
    };
    let url = config.database.url_for(&config.data_dir);
    let http = reqwest::Client::new();
    let token = Token::full().mint();

    let server = RunningServer::start(config.clone()).await.unwrap();
    installhub_server::demo::seed(server.state.store())
        .await
        .unwrap();
    let exported = http
        .post(format!("{}/api/installhub/packages/export", server.url()))
        .bearer_auth(&token)
        .json(&seed_export())
        .send()
        .await
        .unwrap();
    assert_eq!(exported.status(), 200);
    let exported: Value = exported.json().await.unwrap();
    let download = format!(
        "/api/installhub/packages/{}/download",
        exported["packageId"].as_str().unwrap()
    );
    let bundle = http
        .get(format!("{}{download}", server.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    // A window that ended two hours ago, and the export's own, still open.
    let two_hours_ago = chrono::Utc::now() - chrono::Duration::hours(2);
    server
        .state
        .store()
        .take_rate_limit(
            "export:user:gone",
            Duration::from_secs(60),
            10,
            two_hours_ago,
        )
        .await
        .unwrap();
    server.stop().await.unwrap();

    // What a kill -9 leaves: scratch files of an upload and of an export,
    // a whole bundle stored without its row, a cut-short local write; and
    // an unnamed bundle written a moment ago, as by an export still running
    // on another replica.
    let tmp = config.tmp_dir();
    let packages = config.bundle_dir().join("packages");
    let orphan_id = uuid::Uuid::new_v4();
    let young_id = uuid::Uuid::new_v4();
    let upload = tmp.join("upload-leftover.zip");
    let export_tmp = tmp.join(".tmpLeftover");
    let orphan = packages.join(format!("pkg-{orphan_id}.zip"));
    let cut_short = packages.join(format!("pkg-{orphan_id}.zip#1"));
    let young_orphan = packages.join(format!("pkg-{young_id}.zip"));
    leave(&upload, &vec![7; 64 * 1024], Some(3 * 3600));
    leave(&export_tmp, b"PK\x03\x04partial", Some(3 * 3600));
    leave(&orphan, &bundle, Some(3 * 3600));
    leave(&cut_short, &bundle[..bundle.len() / 2], Some(3 * 3600));
    leave(&young_orphan, &bundle, None);
    // The real bundle is as old as the orphans: only its row keeps it.
    let exported_id = exported["packageId"].as_str().unwrap();
    age(&packages.join(format!("{exported_id}.zip")), 3 * 3600);

    let server = RunningServer::start(config.clone()).await.unwrap();
    for gone in [&upload, &export_tmp, &orphan, &cut_short] {
        assert!(!gone.exists(), "{} is still there", gone.display());
    }
    assert!(
        young_orphan.exists(),
        "a young bundle may still get its row"
    );
    assert_eq!(rate_limit_rows(&url, "export:user:gone").await, 0);
    assert_eq!(rate_limit_rows(&url, "export:user:user-42").await, 1);
    let again = http
        .get(format!("{}{download}", server.url()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.bytes().await.unwrap(), bundle);
    server.stop().await.unwrap();
    drop(database);
}
