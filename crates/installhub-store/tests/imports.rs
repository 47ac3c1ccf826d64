//! Import records, installed packages and the install transaction, written
//! once and run against SQLite (a file in a temporary directory) and
//! PostgreSQL (`sqlite::*` and `postgres::*`).

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use installhub_domain::model::InstalledStatus::{self, Installed, Superseded};
use installhub_domain::{
    ArtifactId, ArtifactStatus, ImportId, ImportSource, ImportStatus, PackageId, TenantId,
};
use installhub_store::{
    AuditEntry, AuditEvent, Backend, DefinitionJson, Failpoints, ImportRecord, InstalledPackage,
    NewArtifact, NewAuditEntry, PackageExported, PackageImported, Store, StoreError,
};
use serde_json::{Value, json};
use sqlx::Connection;

use common::Ctx;
use common::fixtures::*;

backend_suite!(
    import_record_round_trip,
    finish_only_moves_in_progress,
    list_imports_newest_first_and_pages,
    single_server_recovery_fails_interrupted_imports,
    replica_recovery_leaves_live_imports_alone,
    finishing_in_the_install_needs_an_in_progress_record,
    install_commit_makes_everything_visible_at_once,
    dropped_install_changes_nothing,
    rolled_back_install_changes_nothing,
    failpoint_stops_the_install_and_nothing_is_visible,
    failpoint_delay_slows_each_artifact,
    begin_install_needs_the_tenant,
    install_refuses_rows_of_another_tenant,
    duplicate_ids_in_one_write_last_wins,
    a_large_install_writes_every_artifact,
    concurrent_installs_into_one_tenant_never_interleave,
    installs_into_two_tenants,
    installed_packages_replace_by_name_without_case,
    audit_by_action_pages,
    ownership_moves_only_with_written_artifacts,
    a_package_that_found_its_artifacts_unchanged_is_superseded_when_they_are_replaced,
    installing_a_superseded_package_again_makes_it_installed,
    ownership_rolls_back_with_the_install,
    claiming_needs_the_package_in_the_transaction,
    deleting_through_the_artifact_api_moves_no_ownership,
    concurrent_overlapping_installs_leave_one_owner,
    the_upgrade_gives_existing_artifacts_to_the_latest_package,
);

// ---------------------------------------------------------------- fixtures

/// Now, at the store's microsecond precision.
fn now() -> DateTime<Utc> {
    at_micros(Utc::now().timestamp_micros())
}

fn new_package_id() -> PackageId {
    PackageId::from_uuid(&uuid::Uuid::new_v4().to_string())
}

/// An import id as the tests name them: short and readable, which the
/// store takes as it takes any id it wrote itself.
fn imp(id: &str) -> ImportId {
    ImportId::from_trusted(id.to_owned())
}

fn in_progress(import_id: &str, tenant: &TenantId, started_at: DateTime<Utc>) -> ImportRecord {
    ImportRecord {
        import_id: imp(import_id),
        tenant_id: tenant.clone(),
        package_id: Some(new_package_id()),
        package_name: Some("Leave Requests".to_owned()),
        version: Some("1.2.0".to_owned()),
        source: ImportSource::Upload,
        status: ImportStatus::InProgress,
        installed_by: "engineer@company.com".to_owned(),
        started_at,
        finished_at: None,
        response: Value::Null,
    }
}

fn installed(tenant: &TenantId, name: &str, version: &str, import_id: &str) -> InstalledPackage {
    InstalledPackage {
        tenant_id: tenant.clone(),
        package_id: new_package_id(),
        package_name: name.to_owned(),
        version: version.to_owned(),
        checksum: format!("sha256:{}", "ab".repeat(32)),
        artifact_ids: vec![aid("proc-1001"), aid("form-2005")],
        import_id: imp(import_id),
        installed_at: now(),
        installed_by: "engineer@company.com".to_owned(),
        status: Installed,
        superseded_by: None,
        owned_artifacts: 0,
    }
}

/// An `import` or `export` entry, numbered `i`.
fn audit(tenant: &TenantId, action: &str, i: i64) -> NewAuditEntry {
    let event = match action {
        "import" => AuditEvent::Import(PackageImported {
            import_id: imp(&format!("imp-{i}")),
            package_id: "pkg-1".to_owned(),
            package_name: "Leave Requests".to_owned(),
            version: "1.0.0".to_owned(),
            dry_run: false,
            artifacts_installed: 2,
            conflicts_resolved: 0,
            security_scan_result: installhub_domain::Verdict::Pass,
            bundle_sha256: "00".repeat(32),
        }),
        "export" => AuditEvent::Export(PackageExported {
            package_id: PackageId::from_trusted(format!("pkg-{i}")),
            package_name: "Leave Requests".to_owned(),
            version: "1.0.0".to_owned(),
            artifact_count: 2,
            checksum: format!("sha256:{}", "00".repeat(32)),
        }),
        other => panic!("no test event for {other}"),
    };
    NewAuditEntry {
        at: at_micros(1_790_000_000_000_000 + i),
        tenant_id: tenant.clone(),
        actor: "engineer@company.com".to_owned(),
        event,
    }
}

async fn created_and_updated(ctx: &Ctx, tenant: &TenantId, id: &str) -> (i64, i64) {
    let mut conn = raw(ctx).await;
    let row = sqlx::query_as(
        "SELECT created_at, updated_at FROM artifacts WHERE tenant_id = $1 AND artifact_id = $2",
    )
    .bind(tenant.as_str())
    .bind(id)
    .fetch_one(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    row
}

async fn artifact_count(store: &Store, tenant: &TenantId) -> usize {
    store
        .list_artifacts(tenant, None, 100_000)
        .await
        .unwrap()
        .len()
}

// ------------------------------------------------------------- import records

async fn import_record_round_trip(ctx: Ctx) {
    let store = &ctx.store;
    let t = tid("tenant-a");
    let started = now();
    let record = in_progress("imp-1", &t, started);
    store.insert_import(&record).await.unwrap();
    assert_eq!(
        store.get_import(&imp("imp-1")).await.unwrap(),
        Some(record.clone())
    );

    // A record of an unreadable bundle: no package fields. The tenant need
    // not exist (failures into unknown tenants are recorded too).
    let unreadable = ImportRecord {
        import_id: imp("imp-2"),
        tenant_id: tid("tenant-unknown"),
        package_id: None,
        package_name: None,
        version: None,
        source: ImportSource::Marketplace,
        status: ImportStatus::Failed,
        installed_by: "svc".to_owned(),
        started_at: started,
        finished_at: Some(started),
        response: json!({ "error": "InvalidZip", "message": "not a ZIP" }),
    };
    store.insert_import(&unreadable).await.unwrap();
    assert_eq!(
        store.get_import(&imp("imp-2")).await.unwrap(),
        Some(unreadable)
    );

    // Import ids are unique.
    assert!(matches!(
        store.insert_import(&record).await,
        Err(StoreError::Database(_))
    ));
    assert_eq!(store.get_import(&imp("imp-none")).await.unwrap(), None);

    let finished = now();
    let response = json!({ "importId": "imp-1", "status": "Success", "n": [1, 2.5, null] });
    assert!(
        store
            .finish_import(&imp("imp-1"), ImportStatus::Success, finished, &response)
            .await
            .unwrap()
    );
    assert_eq!(
        store.get_import(&imp("imp-1")).await.unwrap(),
        Some(ImportRecord {
            status: ImportStatus::Success,
            finished_at: Some(finished),
            response,
            ..record
        })
    );
}

async fn finish_only_moves_in_progress(ctx: Ctx) {
    let store = &ctx.store;
    let t = tid("tenant-a");
    store
        .insert_import(&in_progress("imp-1", &t, now()))
        .await
        .unwrap();
    let first = json!({ "status": "DryRun" });
    assert!(
        store
            .finish_import(&imp("imp-1"), ImportStatus::DryRun, now(), &first)
            .await
            .unwrap()
    );
    for status in [ImportStatus::Failed, ImportStatus::Success] {
        assert!(
            !store
                .finish_import(&imp("imp-1"), status, now(), &json!("again"))
                .await
                .unwrap()
        );
    }
    let record = store.get_import(&imp("imp-1")).await.unwrap().unwrap();
    assert_eq!(
        (record.status, record.response),
        (ImportStatus::DryRun, first)
    );
    assert!(
        !store
            .finish_import(
                &imp("imp-missing"),
                ImportStatus::Failed,
                now(),
                &Value::Null
            )
            .await
            .unwrap()
    );
}

async fn list_imports_newest_first_and_pages(ctx: Ctx) {
    let store = &ctx.store;
    let a = tid("tenant-a");
    let b = tid("tenant-b");
    let base = 1_790_000_000_000_000_i64;
    // Started-at ties are broken by import id, descending.
    let plan = [
        ("imp-c", base),
        ("imp-a", base + 10),
        ("imp-b", base + 10),
        ("imp-e", base + 5),
        ("imp-d", base + 20),
    ];
    for (id, at) in plan {
        store
            .insert_import(&in_progress(id, &a, at_micros(at)))
            .await
            .unwrap();
        store
            .insert_import(&in_progress(&format!("{id}-b"), &b, at_micros(at)))
            .await
            .unwrap();
    }
    let ids = |records: Vec<ImportRecord>| -> Vec<String> {
        records
            .into_iter()
            .map(|r| r.import_id.to_string())
            .collect()
    };
    let expected = ["imp-d", "imp-b", "imp-a", "imp-e", "imp-c"];
    assert_eq!(
        ids(store.list_imports(&a, 100, None).await.unwrap()),
        expected
    );

    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ids(store.list_imports(&a, 2, cursor.as_deref()).await.unwrap());
        if page.is_empty() {
            break;
        }
        cursor = page.last().cloned();
        pages.push(page);
    }
    assert_eq!(
        pages,
        vec![
            vec!["imp-d", "imp-b"],
            vec!["imp-a", "imp-e"],
            vec!["imp-c"]
        ]
    );

    // A cursor of another tenant, or an unknown one, gives an empty page.
    assert!(
        store
            .list_imports(&a, 10, Some("imp-d-b"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_imports(&a, 10, Some("imp-zzz"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.list_imports(&a, 0, None).await.unwrap().is_empty());
    assert_eq!(store.list_imports(&b, 100, None).await.unwrap().len(), 5);
    assert!(
        store
            .list_imports(&tid("tenant-c"), 10, None)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn single_server_recovery_fails_interrupted_imports(ctx: Ctx) {
    let t = tid("tenant-a");
    let old = ctx.store.clone();
    old.insert_import(&in_progress("imp-stuck-1", &t, now()))
        .await
        .unwrap();
    old.insert_import(&in_progress("imp-stuck-2", &t, at_micros(1)))
        .await
        .unwrap();
    old.insert_import(&in_progress("imp-done", &t, now()))
        .await
        .unwrap();
    let done = json!({ "status": "Success" });
    old.finish_import(&imp("imp-done"), ImportStatus::Success, now(), &done)
        .await
        .unwrap();

    // The server restarts: a new store, a new random instance id.
    let restarted = Store::connect(&ctx.url).await.unwrap();
    assert_ne!(restarted.instance_id(), old.instance_id());
    // An import the new process already started is its own: left alone.
    restarted
        .insert_import(&in_progress("imp-mine", &t, now()))
        .await
        .unwrap();

    let finished = now();
    let envelope = json!({ "error": "InternalError", "message": "the server stopped" });
    assert_eq!(
        restarted
            .fail_interrupted_imports(finished, &envelope)
            .await
            .unwrap(),
        2
    );
    for id in ["imp-stuck-1", "imp-stuck-2"] {
        let record = restarted.get_import(&imp(id)).await.unwrap().unwrap();
        assert_eq!(record.status, ImportStatus::Failed);
        assert_eq!(record.finished_at, Some(finished));
        assert_eq!(record.response, envelope);
    }
    let record = restarted
        .get_import(&imp("imp-done"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.status, record.response),
        (ImportStatus::Success, done)
    );
    let mine = restarted
        .get_import(&imp("imp-mine"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mine.status, ImportStatus::InProgress);
    // Nothing left to recover.
    assert_eq!(
        restarted
            .fail_interrupted_imports(now(), &envelope)
            .await
            .unwrap(),
        0
    );
    restarted.close().await;
}

async fn replica_recovery_leaves_live_imports_alone(ctx: Ctx) {
    let t = tid("tenant-a");
    let replica_a = ctx.store.clone().with_instance_id("replica-a");
    let replica_b = Store::connect(&ctx.url)
        .await
        .unwrap()
        .with_instance_id("replica-b");
    let hour = chrono::Duration::hours(1);
    let envelope = json!({ "error": "InternalError" });

    replica_a
        .insert_import(&in_progress("imp-running-a", &t, now()))
        .await
        .unwrap();
    replica_a
        .insert_import(&in_progress("imp-ancient-a", &t, now() - hour * 2))
        .await
        .unwrap();
    replica_b
        .insert_import(&in_progress("imp-running-b", &t, now()))
        .await
        .unwrap();

    // B recovers: only the record past the staleness bound is failed; A's
    // running import (and B's own) are left alone.
    assert_eq!(
        replica_b
            .fail_stale_imports(now() - hour, now(), &envelope)
            .await
            .unwrap(),
        1
    );
    let status = |id: &'static str| {
        let store = replica_b.clone();
        async move { store.get_import(&imp(id)).await.unwrap().unwrap().status }
    };
    assert_eq!(status("imp-ancient-a").await, ImportStatus::Failed);
    assert_eq!(status("imp-running-a").await, ImportStatus::InProgress);
    assert_eq!(status("imp-running-b").await, ImportStatus::InProgress);

    // Replica A restarts with the same stable id: its previous life's
    // import is failed at once, fresh as it is; B's is not.
    let restarted_a = Store::connect(&ctx.url)
        .await
        .unwrap()
        .with_instance_id("replica-a");
    restarted_a
        .insert_import(&in_progress("imp-new-a", &t, now()))
        .await
        .unwrap();
    assert_eq!(
        restarted_a
            .fail_stale_imports(now() - hour, now(), &envelope)
            .await
            .unwrap(),
        1
    );
    assert_eq!(status("imp-running-a").await, ImportStatus::Failed);
    assert_eq!(status("imp-new-a").await, ImportStatus::InProgress);
    assert_eq!(status("imp-running-b").await, ImportStatus::InProgress);

    restarted_a.close().await;
    replica_b.close().await;
}

async fn finishing_in_the_install_needs_an_in_progress_record(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    store
        .insert_import(&in_progress("imp-1", &t, now()))
        .await
        .unwrap();
    let mut tx = store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&[artifact(&t, "proc-1")]).await.unwrap();
    drop(tx);

    // Recovery (a too-short bound, say) failed the record meanwhile.
    let other = Store::connect(&ctx.url).await.unwrap();
    assert_eq!(
        other
            .fail_stale_imports(now() + chrono::Duration::seconds(1), now(), &json!("gone"))
            .await
            .unwrap(),
        1
    );
    other.close().await;

    let mut tx = store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&[artifact(&t, "proc-1")]).await.unwrap();
    match tx
        .finish_import(&imp("imp-1"), ImportStatus::Success, now(), &json!({}))
        .await
    {
        Err(StoreError::ImportNotInProgress(id)) => assert_eq!(id, "imp-1"),
        other => panic!("expected ImportNotInProgress, got {other:?}"),
    }
    tx.rollback().await.unwrap();
    assert_eq!(artifact_count(store, &t).await, 0);
    let mut tx = store.begin_install(&t).await.unwrap();
    assert!(matches!(
        tx.finish_import(
            &imp("imp-unknown"),
            ImportStatus::Success,
            now(),
            &json!({})
        )
        .await,
        Err(StoreError::ImportNotInProgress(_))
    ));
}

// -------------------------------------------------------- install transaction

async fn install_commit_makes_everything_visible_at_once(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let existing = artifact(&t, "proc-1001");
    store
        .upsert_artifact(&existing, "tester@company.com")
        .await
        .unwrap();
    let (created_before, updated_before) = created_and_updated(&ctx, &t, "proc-1001").await;
    let record = in_progress("imp-1", &t, now());
    store.insert_import(&record).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;

    let mut tx = store.begin_install(&t).await.unwrap();
    assert_eq!(tx.tenant_id(), &t);
    let current = tx
        .artifacts_by_ids(&[aid("proc-1001"), aid("form-2005")])
        .await
        .unwrap();
    assert_eq!(current.len(), 1);
    assert_eq!(NewArtifact::from(current[0].clone()), existing);
    assert!(tx.installed_packages().await.unwrap().is_empty());

    let mut replaced = artifact(&t, "proc-1001");
    replaced.version = "2.0.0".to_owned();
    replaced.name = "Leave v2".to_owned();
    replaced.status = ArtifactStatus::Active;
    replaced.definition = DefinitionJson::from_value(&json!({ "steps": ["v2"] }));
    let created = artifact(&t, "form-2005");
    tx.write_artifacts(&[replaced.clone(), created.clone()])
        .await
        .unwrap();
    // The transaction sees its own writes.
    assert_eq!(
        tx.artifacts_by_ids(&[aid("proc-1001")]).await.unwrap()[0].version,
        "2.0.0"
    );
    let package = installed(&t, "Leave Requests", "1.2.0", "imp-1");
    tx.put_installed_package(&package).await.unwrap();
    assert_eq!(
        tx.installed_packages().await.unwrap(),
        vec![package.clone()]
    );
    let response = json!({ "importId": "imp-1", "status": "Success" });
    let finished = now();
    tx.finish_import(&imp("imp-1"), ImportStatus::Success, finished, &response)
        .await
        .unwrap();
    let audit_id = tx.record_audit(&audit(&t, "import", 1)).await.unwrap();

    // Nothing is visible outside before the commit.
    assert_eq!(
        store
            .get_artifact(&t, &aid("proc-1001"))
            .await
            .unwrap()
            .unwrap()
            .version,
        "1.0.0"
    );
    assert_eq!(
        store.get_artifact(&t, &aid("form-2005")).await.unwrap(),
        None
    );
    assert!(store.installed_packages(&t).await.unwrap().is_empty());
    assert_eq!(
        store
            .get_import(&imp("imp-1"))
            .await
            .unwrap()
            .unwrap()
            .status,
        ImportStatus::InProgress
    );
    assert!(
        store
            .list_audit(&t, Some("import"), 10, None)
            .await
            .unwrap()
            .is_empty()
    );

    tx.commit().await.unwrap();

    let got = store
        .artifacts_by_ids(&t, &[aid("proc-1001"), aid("form-2005")])
        .await
        .unwrap();
    assert_eq!(
        got.into_iter().map(NewArtifact::from).collect::<Vec<_>>(),
        vec![created, replaced]
    );
    let (created_after, updated_after) = created_and_updated(&ctx, &t, "proc-1001").await;
    assert_eq!(created_after, created_before, "created_at kept on replace");
    assert!(updated_after > updated_before, "updated_at bumped");
    let (form_created, form_updated) = created_and_updated(&ctx, &t, "form-2005").await;
    assert_eq!(form_created, form_updated);

    assert_eq!(store.installed_packages(&t).await.unwrap(), vec![package]);
    assert_eq!(
        store.get_import(&imp("imp-1")).await.unwrap(),
        Some(ImportRecord {
            status: ImportStatus::Success,
            finished_at: Some(finished),
            response,
            ..record
        })
    );
    let audit_log = store
        .list_audit(&t, Some("import"), 10, None)
        .await
        .unwrap();
    assert_eq!(audit_log.len(), 1);
    assert_eq!(audit_log[0].id, Some(audit_id));

    let mut conn = raw(&ctx).await;
    let (seq,): (i64,) = sqlx::query_as("SELECT install_seq FROM tenants WHERE tenant_id = $1")
        .bind(t.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(seq, 1);
    conn.close().await.unwrap();
}

/// Writes everything an install writes, then ends the transaction with
/// `end`, and checks the tenant is exactly as before.
async fn install_then_undo<F, Fut>(ctx: &Ctx, end: F)
where
    F: FnOnce(installhub_store::InstallTx) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    store
        .upsert_artifact(&artifact(&t, "proc-1"), "tester@company.com")
        .await
        .unwrap();
    let before_row = store.get_artifact(&t, &aid("proc-1")).await.unwrap();
    let before_times = created_and_updated(ctx, &t, "proc-1").await;
    let kept = installed(&t, "Leave Requests", "1.0.0", "imp-0");
    {
        let mut tx = store.begin_install(&t).await.unwrap();
        tx.put_installed_package(&kept).await.unwrap();
        tx.commit().await.unwrap();
    }
    let record = in_progress("imp-1", &t, now());
    store.insert_import(&record).await.unwrap();

    let mut tx = store.begin_install(&t).await.unwrap();
    let mut changed = artifact(&t, "proc-1");
    changed.version = "9.9.9".to_owned();
    tx.write_artifacts(&[changed, artifact(&t, "proc-2")])
        .await
        .unwrap();
    tx.put_installed_package(&installed(&t, "LEAVE requests", "2.0.0", "imp-1"))
        .await
        .unwrap();
    tx.put_installed_package(&installed(&t, "Other", "1.0.0", "imp-1"))
        .await
        .unwrap();
    tx.finish_import(
        &imp("imp-1"),
        ImportStatus::Success,
        now(),
        &json!({ "ok": true }),
    )
    .await
    .unwrap();
    tx.record_audit(&audit(&t, "import", 1)).await.unwrap();
    end(tx).await;

    assert_eq!(
        store.get_artifact(&t, &aid("proc-1")).await.unwrap(),
        before_row
    );
    assert_eq!(created_and_updated(ctx, &t, "proc-1").await, before_times);
    assert_eq!(store.get_artifact(&t, &aid("proc-2")).await.unwrap(), None);
    assert_eq!(store.installed_packages(&t).await.unwrap(), vec![kept]);
    assert_eq!(store.get_import(&imp("imp-1")).await.unwrap(), Some(record));
    assert!(
        store
            .list_audit(&t, Some("import"), 10, None)
            .await
            .unwrap()
            .is_empty()
    );
    // And the lock is free again.
    store
        .begin_install(&t)
        .await
        .unwrap()
        .commit()
        .await
        .unwrap();
}

async fn dropped_install_changes_nothing(ctx: Ctx) {
    install_then_undo(&ctx, |tx| async move { drop(tx) }).await;
}

async fn rolled_back_install_changes_nothing(ctx: Ctx) {
    install_then_undo(&ctx, |tx| async move { tx.rollback().await.unwrap() }).await;
}

async fn failpoint_stops_the_install_and_nothing_is_visible(ctx: Ctx) {
    let t = given_tenant(&ctx.store, "tenant-a").await;
    let store = ctx.store.clone().with_failpoints(Failpoints {
        fail_install_after_artifacts: Some(150),
        install_artifact_delay: None,
    });
    let artifacts: Vec<NewArtifact> = (0..200)
        .map(|i| artifact(&t, &format!("art-{i:04}")))
        .collect();

    let mut tx = store.begin_install(&t).await.unwrap();
    let err = tx.write_artifacts(&artifacts).await.unwrap_err();
    match &err {
        StoreError::Failpoint(what) => assert_eq!(what, "install stopped after 150 artifacts"),
        other => panic!("expected Failpoint, got {other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "failpoint: install stopped after 150 artifacts"
    );
    // Exactly 150 were written inside the transaction...
    assert_eq!(
        tx.artifacts_by_ids(&artifacts.iter().map(|a| a.id.clone()).collect::<Vec<_>>())
            .await
            .unwrap()
            .len(),
        150
    );
    // ...and further writes keep failing.
    assert!(matches!(
        tx.write_artifacts(&artifacts[199..]).await,
        Err(StoreError::Failpoint(_))
    ));
    drop(tx);
    assert_eq!(artifact_count(&store, &t).await, 0);

    // Fewer artifacts than the bound go through; reaching it exactly fails.
    let mut tx = store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&artifacts[..149]).await.unwrap();
    assert!(matches!(
        tx.write_artifacts(&artifacts[149..150]).await,
        Err(StoreError::Failpoint(_))
    ));
    tx.rollback().await.unwrap();
    assert_eq!(artifact_count(&store, &t).await, 0);

    // The failpoints belong to that store only.
    let mut tx = ctx.store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&artifacts).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(artifact_count(&ctx.store, &t).await, 200);
}

async fn failpoint_delay_slows_each_artifact(ctx: Ctx) {
    let t = given_tenant(&ctx.store, "tenant-a").await;
    let store = ctx.store.clone().with_failpoints(Failpoints {
        fail_install_after_artifacts: None,
        install_artifact_delay: Some(Duration::from_millis(40)),
    });
    let artifacts: Vec<NewArtifact> = (0..5).map(|i| artifact(&t, &format!("a-{i}"))).collect();
    let started = Instant::now();
    let mut tx = store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&artifacts).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(200),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(artifact_count(&store, &t).await, 5);
}

async fn begin_install_needs_the_tenant(ctx: Ctx) {
    match ctx.store.begin_install(&tid("tenant-missing")).await {
        Err(StoreError::NotFound(what)) => assert!(what.contains("tenant-missing"), "{what}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    // The failed attempt left no lock behind.
    let t = given_tenant(&ctx.store, "tenant-missing").await;
    ctx.store
        .begin_install(&t)
        .await
        .unwrap()
        .commit()
        .await
        .unwrap();
}

async fn install_refuses_rows_of_another_tenant(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let b = given_tenant(store, "tenant-b").await;
    let mut tx = store.begin_install(&a).await.unwrap();
    assert!(matches!(
        tx.write_artifacts(&[artifact(&a, "ok-1"), artifact(&b, "wrong-1")])
            .await,
        Err(StoreError::TenantMismatch(..))
    ));
    assert!(matches!(
        tx.put_installed_package(&installed(&b, "P", "1.0.0", "imp-1"))
            .await,
        Err(StoreError::TenantMismatch(..))
    ));
    // Nothing of the refused batch was written.
    assert!(
        tx.artifacts_by_ids(&[aid("ok-1")])
            .await
            .unwrap()
            .is_empty()
    );
    tx.commit().await.unwrap();
    assert_eq!(artifact_count(store, &a).await, 0);
    assert_eq!(artifact_count(store, &b).await, 0);
}

async fn duplicate_ids_in_one_write_last_wins(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let mut last = artifact(&t, "dup-1");
    last.version = "3.0.0".to_owned();
    let mut tx = store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&[artifact(&t, "dup-1"), artifact(&t, "other"), last.clone()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let got = store
        .get_artifact(&t, &aid("dup-1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(NewArtifact::from(got), last);
    assert_eq!(artifact_count(store, &t).await, 2);
}

async fn a_large_install_writes_every_artifact(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    // Half of them already exist and are replaced.
    for i in (0..1000).step_by(2) {
        store
            .upsert_artifact(&artifact(&t, &format!("big-{i:04}")), "tester@company.com")
            .await
            .unwrap();
    }
    let filler = "x".repeat(20 * 1024);
    let artifacts: Vec<NewArtifact> = (0..1000)
        .map(|i| {
            let mut a = artifact(&t, &format!("big-{i:04}"));
            a.version = "2.0.0".to_owned();
            a.definition = DefinitionJson::from_value(&json!({ "i": i, "blob": filler }));
            a
        })
        .collect();
    let ids: Vec<ArtifactId> = artifacts.iter().map(|a| a.id.clone()).collect();

    // How fast is scripts/bench-import.sh's business, never a timed
    // assertion here.
    let mut tx = store.begin_install(&t).await.unwrap();
    assert_eq!(tx.artifacts_by_ids(&ids).await.unwrap().len(), 500);
    tx.write_artifacts(&artifacts).await.unwrap();
    tx.commit().await.unwrap();

    let got = store.artifacts_by_ids(&t, &ids).await.unwrap();
    assert_eq!(got.len(), 1000);
    assert!(got.iter().all(|a| a.version == "2.0.0"));
    assert_eq!(got[999].definition, json!({ "i": 999, "blob": filler }));
}

async fn concurrent_installs_into_one_tenant_never_interleave(ctx: Ctx) {
    let t = given_tenant(&ctx.store, "tenant-a").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = ctx.store.clone();
            let t = t.clone();
            tokio::spawn(async move {
                let mut tx = store.begin_install(&t).await.unwrap();
                let seen = tx.artifacts_by_ids(&[aid("shared-1")]).await.unwrap();
                let created = if seen.is_empty() {
                    // Widen the window in which an interleaving install
                    // would also find nothing.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let mut a = artifact(&t, "shared-1");
                    a.name = format!("created by task {i}");
                    tx.write_artifacts(&[a]).await.unwrap();
                    true
                } else {
                    false
                };
                tx.commit().await.unwrap();
                created
            })
        })
        .collect();
    let mut created = 0;
    let mut saw_it = 0;
    for task in tasks {
        if task.await.unwrap() {
            created += 1;
        } else {
            saw_it += 1;
        }
    }
    assert_eq!((created, saw_it), (1, 7));
    assert_eq!(artifact_count(&ctx.store, &t).await, 1);
}

async fn installs_into_two_tenants(ctx: Ctx) {
    let store = ctx.store.clone();
    let a = given_tenant(&store, "tenant-a").await;
    let b = given_tenant(&store, "tenant-b").await;
    let mut first = store.begin_install(&a).await.unwrap();
    first.write_artifacts(&[artifact(&a, "a-1")]).await.unwrap();

    let install = |tenant: TenantId| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut tx = store.begin_install(&tenant).await.unwrap();
            tx.write_artifacts(&[artifact(&tenant, "x-1")])
                .await
                .unwrap();
            tx.commit().await.unwrap();
        })
    };
    let same_tenant = install(a.clone());
    let other_tenant = install(b.clone());

    match store.backend() {
        Backend::Postgres => {
            // Different rows are locked: the other tenant's install runs
            // to its commit while the first is still open.
            tokio::time::timeout(Duration::from_secs(10), other_tenant)
                .await
                .expect("the other tenant's install does not wait")
                .unwrap();
            assert_eq!(artifact_count(&store, &b).await, 1);
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(!same_tenant.is_finished(), "same tenant must wait");
        }
        Backend::Sqlite => {
            // One writer per database: installs into any tenant wait.
            tokio::time::sleep(Duration::from_millis(300)).await;
            assert!(!same_tenant.is_finished(), "same tenant must wait");
            assert!(
                !other_tenant.is_finished(),
                "SQLite serialises all installs"
            );
            assert_eq!(artifact_count(&store, &b).await, 0);
            first.commit().await.unwrap();
            tokio::time::timeout(Duration::from_secs(10), other_tenant)
                .await
                .unwrap()
                .unwrap();
            tokio::time::timeout(Duration::from_secs(10), same_tenant)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(artifact_count(&store, &a).await, 2);
            assert_eq!(artifact_count(&store, &b).await, 1);
            return;
        }
    }
    // PostgreSQL: the waiting install into tenant-a saw tenant-a's first
    // install commit before it wrote.
    assert_eq!(artifact_count(&store, &a).await, 0);
    first.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), same_tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(artifact_count(&store, &a).await, 2);
}

async fn installed_packages_replace_by_name_without_case(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let b = given_tenant(store, "tenant-b").await;
    let put = |package: InstalledPackage| {
        let store = store.clone();
        async move {
            let mut tx = store.begin_install(&package.tenant_id).await.unwrap();
            tx.put_installed_package(&package).await.unwrap();
            tx.commit().await.unwrap();
        }
    };
    let hr = installed(&a, "HR Onboarding", "1.0.0", "imp-1");
    let zeta = installed(&a, "Zeta", "0.1.0", "imp-2");
    let arzte = installed(&a, "Ärzte Flow", "1.0.0", "imp-3");
    put(hr.clone()).await;
    put(zeta.clone()).await;
    put(arzte.clone()).await;
    put(installed(&b, "hr onboarding", "9.0.0", "imp-4")).await;
    // By name without case (lower-cased, then byte order).
    assert_eq!(
        store.installed_packages(&a).await.unwrap(),
        vec![hr.clone(), zeta.clone(), arzte.clone()]
    );

    // A newer import of the same name, in another case, replaces the row,
    // name spelling included; non-ASCII names fold too.
    let mut newer = installed(&a, "hr ONBOARDING", "1.1.0", "imp-5");
    newer.artifact_ids = vec![aid("proc-9")];
    put(newer.clone()).await;
    let arzte_newer = installed(&a, "ÄRZTE FLOW", "2.0.0", "imp-6");
    put(arzte_newer.clone()).await;
    assert_eq!(
        store.installed_packages(&a).await.unwrap(),
        vec![newer, zeta, arzte_newer]
    );
    let of_b = store.installed_packages(&b).await.unwrap();
    assert_eq!(of_b.len(), 1);
    assert_eq!(of_b[0].version, "9.0.0");
    assert!(
        store
            .installed_packages(&tid("tenant-c"))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn audit_by_action_pages(ctx: Ctx) {
    let store = &ctx.store;
    let t = tid("tenant-a");
    let mut imports = Vec::new();
    for i in 0..6 {
        let action = if i % 2 == 0 { "import" } else { "export" };
        let id = store.record_audit(&audit(&t, action, i)).await.unwrap();
        if action == "import" {
            imports.push(id);
        }
    }
    store
        .record_audit(&audit(&tid("tenant-b"), "import", 9))
        .await
        .unwrap();
    imports.reverse();
    let ids = |entries: Vec<AuditEntry>| -> Vec<i64> {
        entries.into_iter().map(|e| e.id.unwrap()).collect()
    };
    assert_eq!(
        ids(store
            .list_audit(&t, Some("import"), 10, None)
            .await
            .unwrap()),
        imports
    );
    let page1 = ids(store.list_audit(&t, Some("import"), 2, None).await.unwrap());
    assert_eq!(page1, imports[..2]);
    let page2 = ids(store
        .list_audit(&t, Some("import"), 2, page1.last().copied())
        .await
        .unwrap());
    assert_eq!(page2, imports[2..]);
    assert!(
        store
            .list_audit(&t, Some("marketplace-install"), 10, None)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.list_audit(&t, None, 100, None).await.unwrap().len(),
        6
    );
}

// ------------------------------------------------------ artifact ownership

/// One install by package `name`: writes `written` (with content of its
/// own), finds `unchanged` as they are, and claims both. Returns the
/// packages it superseded.
async fn install_owning(
    store: &Store,
    t: &TenantId,
    name: &str,
    written: &[&str],
    unchanged: &[&str],
) -> Vec<String> {
    let mut tx = store.begin_install(t).await.unwrap();
    let superseded = put_and_claim(&mut tx, t, name, written, unchanged).await;
    tx.commit().await.unwrap();
    superseded
}

async fn put_and_claim(
    tx: &mut installhub_store::InstallTx,
    t: &TenantId,
    name: &str,
    written: &[&str],
    unchanged: &[&str],
) -> Vec<String> {
    let artifacts: Vec<NewArtifact> = written
        .iter()
        .map(|id| {
            let mut a = artifact(t, id);
            a.definition = DefinitionJson::from_value(&json!({ "by": name }));
            a
        })
        .collect();
    tx.write_artifacts(&artifacts).await.unwrap();
    let written: Vec<ArtifactId> = written.iter().map(|id| aid(id)).collect();
    let unchanged: Vec<ArtifactId> = unchanged.iter().map(|id| aid(id)).collect();
    let mut package = installed(t, name, "1.0.0", &format!("imp-{name}"));
    package.artifact_ids = written.iter().chain(&unchanged).cloned().collect();
    tx.put_installed_package(&package).await.unwrap();
    tx.claim_artifacts(&package, &written, &unchanged)
        .await
        .unwrap()
}

/// `(name, status, superseded by, owned count)` of each installed package.
async fn states(
    store: &Store,
    t: &TenantId,
) -> Vec<(String, InstalledStatus, Option<String>, u64)> {
    store
        .installed_packages(t)
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.package_name,
                p.status,
                p.superseded_by.map(|by| by.package_name),
                p.owned_artifacts,
            )
        })
        .collect()
}

fn state(
    name: &str,
    status: InstalledStatus,
    by: Option<&str>,
    owned: u64,
) -> (String, InstalledStatus, Option<String>, u64) {
    (name.to_owned(), status, by.map(str::to_owned), owned)
}

async fn ownership_moves_only_with_written_artifacts(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let b_tenant = given_tenant(store, "tenant-b").await;
    assert!(
        install_owning(store, &t, "Alpha", &["x", "y"], &[])
            .await
            .is_empty()
    );
    // Another tenant's packages are another world.
    install_owning(store, &b_tenant, "Beta", &["x", "y"], &[]).await;

    // Beta takes x: Alpha still owns y, so it stays Installed.
    assert!(
        install_owning(store, &t, "Beta", &["x"], &[])
            .await
            .is_empty()
    );
    assert_eq!(
        states(store, &t).await,
        [
            state("Alpha", Installed, None, 1),
            state("Beta", Installed, None, 1)
        ]
    );

    // Gamma finds y unchanged (Alpha keeps it) and skips x (not passed):
    // nothing moves, and an artifact nobody owned (z, written through the
    // artifact API) goes to Gamma.
    store
        .upsert_artifact(&artifact(&t, "z"), "tester@company.com")
        .await
        .unwrap();
    assert!(
        install_owning(store, &t, "Gamma", &[], &["y", "z"])
            .await
            .is_empty()
    );
    assert_eq!(
        states(store, &t).await,
        [
            state("Alpha", Installed, None, 1),
            state("Beta", Installed, None, 1),
            state("Gamma", Installed, None, 1)
        ]
    );

    // Delta replaces y: Alpha's last artifact, so Alpha is Superseded by
    // Delta, with Delta's version, import and install time.
    assert_eq!(
        install_owning(store, &t, "Delta", &["y"], &[]).await,
        ["alpha"]
    );
    let packages = store.installed_packages(&t).await.unwrap();
    let alpha = &packages[0];
    assert_eq!(alpha.status, Superseded);
    let by = alpha.superseded_by.as_ref().unwrap();
    assert_eq!(
        (
            by.package_name.as_str(),
            by.version.as_str(),
            by.import_id.as_str()
        ),
        ("Delta", "1.0.0", "imp-Delta")
    );
    assert_eq!(by.at, packages[2].installed_at);
    assert_eq!(
        states(store, &t).await,
        [
            state("Alpha", Superseded, Some("Delta"), 0),
            state("Beta", Installed, None, 1),
            state("Delta", Installed, None, 1),
            state("Gamma", Installed, None, 1)
        ]
    );
    assert_eq!(
        states(store, &b_tenant).await,
        [state("Beta", Installed, None, 2)]
    );
}

async fn a_package_that_found_its_artifacts_unchanged_is_superseded_when_they_are_replaced(
    ctx: Ctx,
) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install_owning(store, &t, "Alpha", &["x", "y"], &[]).await;
    // Copy brings the same content: it owns nothing but had installed x, y.
    install_owning(store, &t, "Copy", &[], &["x", "y"]).await;
    assert_eq!(
        states(store, &t).await,
        [
            state("Alpha", Installed, None, 2),
            state("Copy", Installed, None, 0)
        ]
    );
    // Replacing only x leaves Alpha owning y; Copy, owning nothing and
    // having lost what it installed, is superseded now.
    assert_eq!(
        install_owning(store, &t, "Other", &["x"], &[]).await,
        ["copy"]
    );
    assert_eq!(
        states(store, &t).await,
        [
            state("Alpha", Installed, None, 1),
            state("Copy", Superseded, Some("Other"), 0),
            state("Other", Installed, None, 1)
        ]
    );
    // A package that installed nothing is never superseded.
    install_owning(store, &t, "Empty", &[], &[]).await;
    install_owning(store, &t, "Last", &["x", "y"], &[]).await;
    assert_eq!(
        states(store, &t).await,
        [
            state("Alpha", Superseded, Some("Last"), 0),
            state("Copy", Superseded, Some("Other"), 0),
            state("Empty", Installed, None, 0),
            state("Last", Installed, None, 2),
            state("Other", Superseded, Some("Last"), 0)
        ]
    );
}

async fn installing_a_superseded_package_again_makes_it_installed(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install_owning(store, &t, "Alpha", &["x"], &[]).await;
    install_owning(store, &t, "Beta", &["x"], &[]).await;
    assert_eq!(states(store, &t).await[0].1, Superseded);
    // Alpha again (another case of its name), replacing x: Beta is
    // superseded in its turn.
    assert_eq!(
        install_owning(store, &t, "ALPHA", &["x"], &[]).await,
        ["beta"]
    );
    assert_eq!(
        states(store, &t).await,
        [
            state("ALPHA", Installed, None, 1),
            state("Beta", Superseded, Some("ALPHA"), 0)
        ]
    );
    // Installed again finding x unchanged: Alpha keeps it; Beta, which
    // owns nothing, is Installed again by its own install.
    install_owning(store, &t, "Beta", &[], &["x"]).await;
    assert_eq!(
        states(store, &t).await,
        [
            state("ALPHA", Installed, None, 1),
            state("Beta", Installed, None, 0)
        ]
    );
}

async fn ownership_rolls_back_with_the_install(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install_owning(store, &t, "Alpha", &["x"], &[]).await;
    let before = store.installed_packages(&t).await.unwrap();
    {
        let mut tx = store.begin_install(&t).await.unwrap();
        assert_eq!(
            put_and_claim(&mut tx, &t, "Beta", &["x", "y"], &[]).await,
            ["alpha"]
        );
        // Dropped: rolled back.
    }
    assert_eq!(store.installed_packages(&t).await.unwrap(), before);
    assert_eq!(
        states(store, &t).await,
        [state("Alpha", Installed, None, 1)]
    );
}

async fn claiming_needs_the_package_in_the_transaction(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let other = given_tenant(store, "tenant-b").await;
    let mut tx = store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&[artifact(&t, "x")]).await.unwrap();
    // Not put first: the owner must be a row of installed_packages.
    let package = installed(&t, "Alpha", "1.0.0", "imp-1");
    assert!(matches!(
        tx.claim_artifacts(&package, &[aid("x")], &[]).await,
        Err(StoreError::Database(_))
    ));
    drop(tx);
    let mut tx = store.begin_install(&t).await.unwrap();
    assert!(matches!(
        tx.claim_artifacts(
            &installed(&other, "Alpha", "1.0.0", "imp-1"),
            &[aid("x")],
            &[]
        )
        .await,
        Err(StoreError::TenantMismatch(..))
    ));
}

async fn deleting_through_the_artifact_api_moves_no_ownership(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install_owning(store, &t, "Alpha", &["x", "y"], &[]).await;
    store
        .mark_artifact_deleted(&t, &aid("x"), "tester@company.com")
        .await
        .unwrap();
    store
        .mark_artifact_deleted(&t, &aid("y"), "tester@company.com")
        .await
        .unwrap();
    let mut changed = artifact(&t, "y");
    changed.version = "1.1.0".to_owned();
    store
        .upsert_artifact(&changed, "tester@company.com")
        .await
        .unwrap();
    assert_eq!(
        states(store, &t).await,
        [state("Alpha", Installed, None, 2)]
    );
    // An install bringing x back (it counts as created) takes it.
    install_owning(store, &t, "Beta", &["x"], &[]).await;
    assert_eq!(
        states(store, &t).await,
        [
            state("Alpha", Installed, None, 1),
            state("Beta", Installed, None, 1)
        ]
    );
}

async fn concurrent_overlapping_installs_leave_one_owner(ctx: Ctx) {
    let t = given_tenant(&ctx.store, "tenant-a").await;
    let ids: Vec<String> = (0..150).map(|i| format!("shared-{i:03}")).collect();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = ctx.store.clone();
            let t = t.clone();
            let ids = ids.clone();
            tokio::spawn(async move {
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                install_owning(&store, &t, &format!("Package {i}"), &ids, &[]).await
            })
        })
        .collect();
    let mut superseded = Vec::new();
    for task in tasks {
        superseded.extend(task.await.unwrap());
    }
    let packages = states(&ctx.store, &t).await;
    let winners: Vec<_> = packages.iter().filter(|p| p.1 == Installed).collect();
    assert_eq!(winners.len(), 1, "{packages:?}");
    assert_eq!(winners[0].3, 150);
    // Each of the others was superseded exactly once, by a later install.
    superseded.sort();
    assert_eq!(superseded.len(), 7);
    superseded.dedup();
    assert_eq!(superseded.len(), 7);
    for (name, status, by, owned) in &packages {
        if status == &Superseded {
            assert_eq!(*owned, 0);
            assert_ne!(by.as_deref(), Some(name.as_str()));
            assert!(by.is_some());
        }
    }
}

/// The ownership migration's version: the test undoes it by hand, plants
/// rows as an older server wrote them, and lets the store migrate again.
const OWNERSHIP_MIGRATION: i64 = 20_260_314_000_000;
const SNAPSHOT_MIGRATION: i64 = 20_261_207_000_000;

async fn the_upgrade_gives_existing_artifacts_to_the_latest_package(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let b = given_tenant(store, "tenant-b").await;
    for id in ["x", "y", "z"] {
        store
            .upsert_artifact(&artifact(&a, id), "tester@company.com")
            .await
            .unwrap();
    }
    store
        .upsert_artifact(&artifact(&b, "x"), "tester@company.com")
        .await
        .unwrap();

    let mut conn = raw(&ctx).await;
    // The snapshot migration, which comes later and alters both tables,
    // runs again too.
    for sql in [
        "DROP TABLE snapshot_packages",
        "DROP TABLE snapshot_owners",
        "DROP TABLE snapshot_artifacts",
        "DROP INDEX import_snapshots_taken",
        "DROP TABLE import_snapshots",
        "ALTER TABLE installed_packages DROP COLUMN depends_on",
        "ALTER TABLE installed_packages DROP COLUMN uninstalled_by_import_id",
        "ALTER TABLE installed_packages DROP COLUMN uninstalled_at",
        "DROP INDEX artifact_owners_package",
        "DROP TABLE artifact_owners",
        "ALTER TABLE installed_packages DROP COLUMN status",
        "ALTER TABLE installed_packages DROP COLUMN superseded_by_name",
        "ALTER TABLE installed_packages DROP COLUMN superseded_by_version",
        "ALTER TABLE installed_packages DROP COLUMN superseded_by_import_id",
        "ALTER TABLE installed_packages DROP COLUMN superseded_at",
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    for version in [OWNERSHIP_MIGRATION, SNAPSHOT_MIGRATION] {
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = $1")
            .bind(version)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let legacy = [
        (&a, "Alpha", 1, json!(["x", "y"])),
        (&a, "Beta", 2, json!(["x"])),
        (&a, "Gamma", 3, json!(["y", "z"])),
        (&a, "Nothing", 4, json!([])),
        (&a, "Ghost", 5, json!(["not-there"])),
        (&b, "Alpha", 1, json!(["x"])),
    ];
    for (tenant, name, at, ids) in legacy {
        sqlx::query(
            "INSERT INTO installed_packages (tenant_id, name_key, package_name, package_id, \
               version, checksum, artifact_ids, import_id, installed_at, installed_by) \
             VALUES ($1, $2, $3, $4, '1.0.0', 'sha256:00', $5, $6, $7, 'someone')",
        )
        .bind(tenant.as_str())
        .bind(name.to_lowercase())
        .bind(name)
        .bind(new_package_id().to_string())
        .bind(ids.to_string())
        .bind(format!("imp-{name}"))
        .bind(1_790_000_000_000_000_i64 + at)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    conn.close().await.unwrap();

    let upgraded = Store::connect(&ctx.url).await.unwrap();
    assert_eq!(
        states(&upgraded, &a).await,
        [
            state("Alpha", Superseded, Some("Gamma"), 0),
            state("Beta", Installed, None, 1),
            state("Gamma", Installed, None, 2),
            state("Ghost", Installed, None, 0),
            state("Nothing", Installed, None, 0),
        ]
    );
    let alpha = &upgraded.installed_packages(&a).await.unwrap()[0];
    let by = alpha.superseded_by.as_ref().unwrap();
    assert_eq!(by.import_id.as_str(), "imp-Gamma");
    assert_eq!(by.at, at_micros(1_790_000_000_000_003));
    assert_eq!(
        states(&upgraded, &b).await,
        [state("Alpha", Installed, None, 1)]
    );
    // And installs go on from there.
    assert_eq!(
        install_owning(&upgraded, &a, "Delta", &["x", "y", "z"], &[]).await,
        ["beta", "gamma"]
    );
    upgraded.close().await;
}
