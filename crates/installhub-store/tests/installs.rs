//! Marketplace installs as durable jobs, on SQLite and PostgreSQL.

#[macro_use]
mod common;

use std::time::Duration;

use installhub_domain::marketplace::{InstallStage, InstallStatus};
use installhub_domain::{ListingId, PackageType, TenantId, Verdict};
use installhub_store::{ListingDescription, ListingVersionRecord, NewInstall, Store, StoreError};
use serde_json::json;

use common::Ctx;
use common::fixtures::*;

backend_suite!(
    an_idempotency_key_queues_one_install,
    a_job_is_claimed_by_one_worker_and_fenced,
    an_install_handed_to_a_worker_is_created_claimed,
    a_lost_lease_is_taken_over_and_the_last_attempt_fails,
    success_commits_with_the_install_transaction,
);

async fn listing(store: &Store, tenant: &TenantId) -> ListingId {
    let description = ListingDescription {
        name: "HR".into(),
        package_type: PackageType::Workflow,
        summary: "s".into(),
        publisher: "p".into(),
        categories: vec![],
    };
    let (listing, _) = store.ensure_listing(&description, tenant).await.unwrap();
    let package = package(tenant, "HR", "1.0.0", 1);
    store.insert_package(&package).await.unwrap();
    let version = ListingVersionRecord {
        listing_id: listing.listing_id.clone(),
        version: "1.0.0".into(),
        source_package_id: package.package_id.clone(),
        package_type: PackageType::Workflow,
        manifest_checksum: package.checksum.clone(),
        bundle_sha256: package.bundle_sha256.clone(),
        bundle_size: 4_096,
        bundle_key: "cdn/x.zip".into(),
        signature: "s".into(),
        key_id: "k".into(),
        scan_result: Verdict::Pass,
        scan_findings: json!([]),
        published_at: at_micros(5),
        published_by: "a".into(),
        yanked: None,
        deprecated: None,
    };
    store
        .insert_listing_version(&version, &description, tenant)
        .await
        .unwrap();
    listing.listing_id
}

fn new_install(
    listing: &ListingId,
    tenant: &TenantId,
    key: Option<&str>,
    max_attempts: u32,
) -> NewInstall {
    NewInstall {
        install_id: format!("mkt-install-{}", uuid::Uuid::new_v4()),
        listing_id: listing.clone(),
        version: "1.0.0".into(),
        target_tenant_id: tenant.clone(),
        requested_by: "engineer@company.com".into(),
        caller: json!({ "identity": "engineer@company.com" }),
        options: json!({ "targetTenantId": tenant }),
        idempotency_key: key.map(str::to_owned),
        max_attempts,
    }
}

const LEASE: Duration = Duration::from_secs(30);

async fn an_idempotency_key_queues_one_install(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let listing = listing(store, &tenant).await;
    let (first, created) = store
        .create_install(&new_install(&listing, &tenant, Some("k1"), 3))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (first.status, first.stage, first.attempt),
        (InstallStatus::InProgress, InstallStage::Queued, 0)
    );
    let (again, created) = store
        .create_install(&new_install(&listing, &tenant, Some("k1"), 3))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.install_id, first.install_id);
    // Without a key, every request is its own install.
    let (a, _) = store
        .create_install(&new_install(&listing, &tenant, None, 3))
        .await
        .unwrap();
    let (b, _) = store
        .create_install(&new_install(&listing, &tenant, None, 3))
        .await
        .unwrap();
    assert_ne!(a.install_id, b.install_id);
}

/// An install created for an idle worker is claimed in the same commit,
/// as a claim would have left it; no other worker can claim it, and a
/// repeated idempotency key hands nobody anything.
async fn an_install_handed_to_a_worker_is_created_claimed(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let listing = listing(store, &tenant).await;
    let new = new_install(&listing, &tenant, Some("k1"), 3);
    let (job, claim) = store
        .create_install_claimed(&new, "worker-0", LEASE)
        .await
        .unwrap();
    let claim = claim.expect("created, so claimed");
    assert_eq!(
        (job.status, job.stage, job.attempt, job.progress_total),
        (
            InstallStatus::InProgress,
            InstallStage::Downloading,
            1,
            4_096
        )
    );
    assert_eq!(
        (
            claim.install_id.as_str(),
            claim.owner.as_str(),
            claim.attempt
        ),
        (job.install_id.as_str(), "worker-0", 1)
    );
    assert!(
        store
            .claim_install("worker-1", LEASE)
            .await
            .unwrap()
            .is_none()
    );
    // The claim is a real one: fenced stage writes and heartbeats pass.
    assert!(
        store
            .set_install_stage(&claim, InstallStage::Verifying, 0, 0)
            .await
            .unwrap()
    );
    assert!(store.heartbeat_install(&claim, LEASE).await.unwrap());
    let (again, claim) = store
        .create_install_claimed(&new, "worker-1", LEASE)
        .await
        .unwrap();
    assert!(claim.is_none());
    assert_eq!(again.install_id, job.install_id);
    // Queued without a worker, the same listing claims as before.
    let (queued, created) = store
        .create_install(&new_install(&listing, &tenant, None, 3))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(
        (queued.stage, queued.attempt, queued.progress_total),
        (InstallStage::Queued, 0, 0)
    );
}

async fn a_job_is_claimed_by_one_worker_and_fenced(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let listing = listing(store, &tenant).await;
    let (job, _) = store
        .create_install(&new_install(&listing, &tenant, None, 3))
        .await
        .unwrap();
    // Eight workers race for one job: one wins.
    let claims: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .claim_install(&format!("worker-{i}"), LEASE)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = Vec::new();
    for claim in claims {
        if let Some(c) = claim.await.unwrap() {
            won.push(c);
        }
    }
    assert_eq!(won.len(), 1);
    let (claimed, claim) = won.remove(0);
    assert_eq!(claimed.install_id, job.install_id);
    // The claim enters the first stage with the bundle's size as its total,
    // in the job's row as well as in its answer.
    assert_eq!(
        (
            claimed.attempt,
            claimed.stage,
            claimed.progress_done,
            claimed.progress_total
        ),
        (1, InstallStage::Downloading, 0, 4_096)
    );
    let seen = store.get_install(&job.install_id).await.unwrap().unwrap();
    assert_eq!(
        (seen.stage, seen.progress_total),
        (InstallStage::Downloading, 4_096)
    );
    assert!(store.heartbeat_install(&claim, LEASE).await.unwrap());
    assert!(
        store
            .set_install_stage(&claim, InstallStage::Installing, 3, 5)
            .await
            .unwrap()
    );
    let seen = store.get_install(&job.install_id).await.unwrap().unwrap();
    assert_eq!(
        (seen.stage, seen.progress_done, seen.progress_total),
        (InstallStage::Installing, 3, 5)
    );
    // Another owner's or another attempt's writes do nothing.
    let stale = installhub_store::Claim {
        attempt: 0,
        ..claim.clone()
    };
    let thief = installhub_store::Claim {
        owner: "worker-x".into(),
        ..claim.clone()
    };
    // The failure's notification is stored with it, and only with it.
    let notice = installhub_store::NewNotification {
        recipient: "installer@company.com".into(),
        email: None,
        kind: installhub_domain::NotificationKind::InstallFailed,
        title: "Install failed".into(),
        body: "It failed.".into(),
        link: None,
        details: json!({}),
    };
    for other in [&stale, &thief] {
        assert!(!store.heartbeat_install(other, LEASE).await.unwrap());
        assert!(
            !store
                .fail_install(
                    other,
                    InstallStage::Installing,
                    "E",
                    "m",
                    None,
                    Some(&notice)
                )
                .await
                .unwrap()
        );
        assert!(
            !store
                .set_install_stage(other, InstallStage::Verifying, 0, 0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .retry_install(other, chrono::Utc::now(), "E", "m")
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .fail_install(
                &claim,
                InstallStage::Verifying,
                "ChecksumMismatch",
                "tampered",
                None,
                Some(&notice)
            )
            .await
            .unwrap()
    );
    let stored = store
        .list_notifications("installer@company.com", false, None, 10)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "one notification, from the real failure");
    let failed = store.get_install(&job.install_id).await.unwrap().unwrap();
    assert_eq!(
        (failed.status, failed.stage),
        (InstallStatus::Failed, InstallStage::Verifying)
    );
    assert_eq!(failed.error.as_deref(), Some("ChecksumMismatch"));
    assert!(failed.completed_at.is_some());
    assert!(
        store
            .claim_install("worker-9", LEASE)
            .await
            .unwrap()
            .is_none()
    );
}

async fn a_lost_lease_is_taken_over_and_the_last_attempt_fails(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let listing = listing(store, &tenant).await;
    let (job, _) = store
        .create_install(&new_install(&listing, &tenant, None, 2))
        .await
        .unwrap();
    let short = Duration::from_millis(1);
    let (_, first) = store
        .claim_install("worker-1", short)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // The first worker's lease ran out: the second takes the job over.
    let (again, second) = store
        .claim_install("worker-2", short)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.install_id.as_str(), again.attempt),
        (job.install_id.as_str(), 2)
    );
    assert!(
        !store
            .set_install_stage(&first, InstallStage::Installing, 1, 1)
            .await
            .unwrap()
    );
    // A retry puts it back in the queue, due now.
    assert!(
        store
            .retry_install(&second, chrono::Utc::now(), "PublicHubUnavailable", "503")
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .get_install(&job.install_id)
            .await
            .unwrap()
            .unwrap()
            .stage,
        InstallStage::Queued
    );
    // Both attempts are used: a new claim finds nothing to claim.
    assert!(
        store
            .claim_install("worker-3", short)
            .await
            .unwrap()
            .is_none()
    );
    let job2 = store
        .create_install(&new_install(&listing, &tenant, None, 1))
        .await
        .unwrap()
        .0;
    let _ = store
        .claim_install("worker-4", short)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Its worker died on the last attempt: a claim leaves it alone, the
    // sweep fails it and answers it once.
    assert!(
        store
            .claim_install("worker-5", LEASE)
            .await
            .unwrap()
            .is_none()
    );
    let swept = store.fail_interrupted_installs().await.unwrap();
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].install_id, job2.install_id);
    assert_eq!(swept[0].status, InstallStatus::Failed);
    assert!(store.fail_interrupted_installs().await.unwrap().is_empty());
    let interrupted = store.get_install(&job2.install_id).await.unwrap().unwrap();
    assert_eq!(interrupted.status, InstallStatus::Failed);
    assert_eq!(interrupted.error.as_deref(), Some("InstallInterrupted"));
}

async fn success_commits_with_the_install_transaction(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let listing = listing(store, &tenant).await;
    let (job, _) = store
        .create_install(&new_install(&listing, &tenant, None, 3))
        .await
        .unwrap();
    let (_, claim) = store
        .claim_install("worker-1", LEASE)
        .await
        .unwrap()
        .unwrap();

    // Rolled back: the job is still running, the count unchanged.
    let mut tx = store.begin_install(&tenant).await.unwrap();
    tx.finish_marketplace_install(
        &claim,
        Some(&listing),
        "imp-1",
        &json!({ "artifactsInstalled": 5 }),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        store
            .get_install(&job.install_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        InstallStatus::InProgress
    );

    // A stale claim cannot finish it; the holder's commit does.
    let stale = installhub_store::Claim {
        attempt: 7,
        ..claim.clone()
    };
    let mut tx = store.begin_install(&tenant).await.unwrap();
    let err = tx
        .finish_marketplace_install(&stale, Some(&listing), "imp-1", &json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InstallFenced(_)), "{err:?}");
    tx.rollback().await.unwrap();
    let mut tx = store.begin_install(&tenant).await.unwrap();
    tx.finish_marketplace_install(
        &claim,
        Some(&listing),
        "imp-1",
        &json!({ "artifactsInstalled": 5 }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let done = store.get_install(&job.install_id).await.unwrap().unwrap();
    assert_eq!(done.status, InstallStatus::Success);
    assert_eq!(done.import_id.as_deref(), Some("imp-1"));
    assert_eq!(done.result, Some(json!({ "artifactsInstalled": 5 })));
    assert_eq!(
        store
            .get_listing(&listing)
            .await
            .unwrap()
            .unwrap()
            .install_count,
        1
    );
}
