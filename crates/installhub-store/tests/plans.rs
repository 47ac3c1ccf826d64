//! The plans dry runs store (see `installhub_domain::import::pin`), on
//! SQLite and PostgreSQL (`sqlite::*` and `postgres::*`): kept per tenant,
//! written with the install transaction, renewed and swept by last use.

#[macro_use]
mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use installhub_domain::PlannedAction;
use installhub_domain::import::pin::{PinnedArtifact, PinnedOptions, PinnedPackage, PinnedPlan};

use common::Ctx;
use common::fixtures::*;

backend_suite!(
    a_stored_plan_is_read_back_in_its_tenant_only,
    a_rolled_back_dry_run_stores_no_plan,
    plans_are_swept_by_last_use,
);

/// Now, at the store's microsecond precision.
fn now() -> DateTime<Utc> {
    at_micros(Utc::now().timestamp_micros())
}

fn plan(tenant: &str, live: &str) -> PinnedPlan {
    PinnedPlan {
        tenant_id: tenant.to_owned(),
        package: PinnedPackage {
            package_id: "pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13".into(),
            name: "Plan Suite".into(),
            version: "1.0.0".into(),
            checksum: "sha256:00".into(),
        },
        options: PinnedOptions {
            default_conflict_strategy: None,
            conflict_strategies: BTreeMap::new(),
            allow_major_version_upgrade: false,
            allow_security_warnings: false,
        },
        artifacts: vec![PinnedArtifact {
            artifact_id: "form-2005".into(),
            action: PlannedAction::Replace,
            previous_version: Some("1.0.0".into()),
            version: "1.3.0".into(),
            live_sha256: Some(live.into()),
            incoming_sha256: "bb".into(),
        }],
    }
}

async fn a_stored_plan_is_read_back_in_its_tenant_only(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let b = given_tenant(store, "tenant-b").await;
    let stored = plan("tenant-a", "aa");
    let id = stored.id();
    let mut tx = store.begin_install(&a).await.unwrap();
    tx.put_import_plan(&id, &stored, now()).await.unwrap();
    // The same plan again (a second dry run) keeps one row.
    tx.put_import_plan(&id, &stored, now()).await.unwrap();
    assert_eq!(tx.import_plan(&id).await.unwrap(), Some(stored.clone()));
    tx.commit().await.unwrap();

    let mut tx = store.begin_install(&a).await.unwrap();
    assert_eq!(tx.import_plan(&id).await.unwrap(), Some(stored));
    let other = plan("tenant-a", "cc").id();
    assert_eq!(tx.import_plan(&other).await.unwrap(), None);
    tx.commit().await.unwrap();
    let mut tx = store.begin_install(&b).await.unwrap();
    assert_eq!(tx.import_plan(&id).await.unwrap(), None);
    tx.commit().await.unwrap();
}

async fn a_rolled_back_dry_run_stores_no_plan(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let stored = plan("tenant-a", "aa");
    let mut tx = store.begin_install(&a).await.unwrap();
    tx.put_import_plan(&stored.id(), &stored, now())
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut tx = store.begin_install(&a).await.unwrap();
    assert_eq!(tx.import_plan(&stored.id()).await.unwrap(), None);
}

async fn plans_are_swept_by_last_use(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let start = now();
    let old = plan("tenant-a", "old");
    let renewed = plan("tenant-a", "renewed");
    let mut tx = store.begin_install(&a).await.unwrap();
    tx.put_import_plan(&old.id(), &old, start).await.unwrap();
    tx.put_import_plan(&renewed.id(), &renewed, start)
        .await
        .unwrap();
    // A later dry run answering the same plan renews it.
    tx.put_import_plan(&renewed.id(), &renewed, start + Duration::days(2))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let swept = store
        .purge_import_plans(start + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(swept, 1);
    let mut tx = store.begin_install(&a).await.unwrap();
    assert_eq!(tx.import_plan(&old.id()).await.unwrap(), None);
    assert_eq!(
        tx.import_plan(&renewed.id()).await.unwrap(),
        Some(renewed.clone())
    );
}
