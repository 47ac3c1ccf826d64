//! Snapshots, rollback and uninstall in the install transaction, on SQLite
//! and PostgreSQL (`sqlite::*` and `postgres::*`).

#[macro_use]
mod common;

use chrono::{Duration, Utc};
use installhub_domain::model::InstalledStatus::{self, Installed, Superseded, Uninstalled};
use installhub_domain::{ArtifactId, ArtifactStatus, ImportId, PackageId, Reference, TenantId};
use installhub_store::{
    DefinitionJson, HashedArtifact, InstalledPackage, NewArtifact, RollbackPlan, RollbackRefusal,
    Store, UndoAction, UndoConflict, UninstallRefusal,
};
use serde_json::json;

use common::Ctx;
use common::fixtures::*;

backend_suite!(
    rollback_restores_replaced_rows_exactly_and_removes_created_ones,
    a_rollback_restores_every_row_of_an_install_larger_than_a_batch,
    a_rollback_can_be_rolled_back,
    a_change_since_refuses_the_rollback_and_writes_nothing,
    a_planned_rollback_writes_nothing,
    expired_and_pruned_snapshots_refuse,
    rolling_back_the_superseding_install_gives_ownership_back,
    uninstall_removes_what_the_package_owns_and_can_be_rolled_back,
    uninstall_refuses_while_something_depends_on_the_package,
    uninstall_refuses_an_artifact_changed_since_the_install,
    an_install_without_a_snapshot_keeps_none,
);

fn imp(id: &str) -> ImportId {
    ImportId::from_trusted(id.to_owned())
}

fn long_ago() -> chrono::DateTime<Utc> {
    Utc::now() - Duration::days(30)
}

fn content(t: &TenantId, id: &str, by: &str, refs: &[&str]) -> NewArtifact {
    let mut a = artifact(t, id);
    a.definition = DefinitionJson::from_value(&json!({ "by": by }));
    a.references = refs
        .iter()
        .map(|r| Reference {
            artifact_id: aid(r),
            tenant_id: None,
        })
        .collect();
    a
}

fn package_of(t: &TenantId, name: &str, import_id: &str, ids: &[&str]) -> InstalledPackage {
    InstalledPackage {
        tenant_id: t.clone(),
        package_id: PackageId::from_uuid(&uuid::Uuid::new_v4().to_string()),
        package_name: name.to_owned(),
        version: "1.0.0".to_owned(),
        checksum: format!("sha256:{}", "ab".repeat(32)),
        artifact_ids: ids.iter().map(|id| aid(id)).collect(),
        import_id: imp(import_id),
        installed_at: at_micros(Utc::now().timestamp_micros()),
        installed_by: "engineer@company.com".to_owned(),
        status: Installed,
        superseded_by: None,
        owned_artifacts: 0,
    }
}

/// One install by package `name` as record `import_id`, with a snapshot:
/// writes `written` (content `by`, referencing `refs`), claims them. The
/// first artifact goes through `write_artifacts`, the rest through
/// `write_hashed_artifacts` (as an import writes): a hash computed ahead
/// that differed from the store's own would make every rollback and
/// uninstall below see the artifacts as changed since, and refuse.
async fn install(
    store: &Store,
    t: &TenantId,
    import_id: &str,
    name: &str,
    written: &[(&str, &[&str])],
    depends_on: &[&str],
) {
    let mut tx = store.begin_install(t).await.unwrap();
    tx.keep_snapshot(&imp(import_id), None).await.unwrap();
    let artifacts: Vec<NewArtifact> = written
        .iter()
        .map(|(id, refs)| content(t, id, name, refs))
        .collect();
    let (first, rest) = artifacts.split_at(artifacts.len().min(1));
    tx.write_artifacts(first).await.unwrap();
    let hashed: Vec<HashedArtifact> = rest
        .iter()
        .map(|a| HashedArtifact::new(a.clone()).unwrap())
        .collect();
    tx.write_hashed_artifacts(&hashed).await.unwrap();
    let ids: Vec<&str> = written.iter().map(|(id, _)| *id).collect();
    let package = package_of(t, name, import_id, &ids);
    tx.put_installed_package(&package).await.unwrap();
    let deps: Vec<String> = depends_on.iter().map(|d| (*d).to_owned()).collect();
    tx.set_package_dependencies(name, &deps).await.unwrap();
    let written: Vec<ArtifactId> = ids.iter().map(|id| aid(id)).collect();
    tx.claim_artifacts(&package, &written, &[]).await.unwrap();
    tx.commit().await.unwrap();
}

/// Rolls `target` back as record `by`, committing when it is allowed.
async fn rollback(
    store: &Store,
    t: &TenantId,
    target: &str,
    by: &str,
) -> Result<RollbackPlan, RollbackRefusal> {
    let mut tx = store.begin_install(t).await.unwrap();
    tx.keep_snapshot(&imp(by), Some(&imp(target)))
        .await
        .unwrap();
    let outcome = tx
        .rollback_import(&imp(target), long_ago(), true)
        .await
        .unwrap();
    if outcome.is_ok() {
        tx.commit().await.unwrap();
    }
    outcome
}

/// `(name, status, owned count)` of each installed package.
async fn packages(store: &Store, t: &TenantId) -> Vec<(String, InstalledStatus, u64)> {
    store
        .installed_packages(t)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.package_name, p.status, p.owned_artifacts))
        .collect()
}

fn pkg(name: &str, status: InstalledStatus, owned: u64) -> (String, InstalledStatus, u64) {
    (name.to_owned(), status, owned)
}

async fn get(store: &Store, t: &TenantId, id: &str) -> installhub_domain::Artifact {
    store.get_artifact(t, &aid(id)).await.unwrap().unwrap()
}

async fn rollback_restores_replaced_rows_exactly_and_removes_created_ones(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    store
        .upsert_artifact(&content(&t, "x", "the platform", &[]), "someone")
        .await
        .unwrap();
    let before = get(store, &t, "x").await;

    install(
        store,
        &t,
        "imp-a",
        "Alpha",
        &[("x", &[]), ("y", &["x"])],
        &[],
    )
    .await;
    assert_eq!(get(store, &t, "x").await.definition, json!({"by": "Alpha"}));
    assert_eq!(packages(store, &t).await, vec![pkg("Alpha", Installed, 2)]);

    let plan = rollback(store, &t, "imp-a", "imp-r").await.unwrap();
    assert_eq!(
        plan.artifacts,
        vec![
            (aid("x"), UndoAction::Restore),
            (aid("y"), UndoAction::Remove)
        ]
    );
    assert_eq!(
        plan.packages,
        vec![("Alpha".to_owned(), UndoAction::Remove)]
    );
    assert_eq!(plan.owners, 2);
    // Every column as it was, timestamps included.
    assert_eq!(get(store, &t, "x").await, before);
    assert_eq!(get(store, &t, "y").await.status, ArtifactStatus::Deleted);
    assert!(packages(store, &t).await.is_empty());
    let snapshot = store.snapshot(&imp("imp-a")).await.unwrap().unwrap();
    assert_eq!(snapshot.rolled_back_by, Some(imp("imp-r")));
    assert_eq!(
        rollback(store, &t, "imp-a", "imp-r2").await,
        Err(RollbackRefusal::AlreadyRolledBack { by: imp("imp-r") })
    );
}

/// More rows than one write batch and one snapshot statement (100 each),
/// the last batch partial: every replaced row comes back exactly, every
/// created one goes.
async fn a_rollback_restores_every_row_of_an_install_larger_than_a_batch(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let kept: Vec<String> = (0..250).map(|i| format!("kept-{i:03}")).collect();
    let added: Vec<String> = (0..40).map(|i| format!("added-{i:03}")).collect();
    let rows = |ids: &[String]| -> Vec<(String, Vec<&str>)> {
        ids.iter().map(|id| (id.clone(), Vec::new())).collect()
    };
    let alpha = rows(&kept);
    let alpha: Vec<(&str, &[&str])> = alpha.iter().map(|(id, r)| (id.as_str(), &r[..])).collect();
    install(store, &t, "imp-a", "Alpha", &alpha, &[]).await;
    let mut before = Vec::new();
    for id in &kept {
        before.push(get(store, &t, id).await);
    }

    let beta = rows(&[kept.clone(), added.clone()].concat());
    let beta: Vec<(&str, &[&str])> = beta.iter().map(|(id, r)| (id.as_str(), &r[..])).collect();
    install(store, &t, "imp-b", "Beta", &beta, &[]).await;
    assert_eq!(
        get(store, &t, "kept-249").await.definition,
        json!({"by": "Beta"})
    );

    let plan = rollback(store, &t, "imp-b", "imp-r").await.unwrap();
    let restored = plan
        .artifacts
        .iter()
        .filter(|(_, action)| *action == UndoAction::Restore)
        .count();
    let removed = plan
        .artifacts
        .iter()
        .filter(|(_, action)| *action == UndoAction::Remove)
        .count();
    assert_eq!((restored, removed), (250, 40));
    for (id, was) in kept.iter().zip(&before) {
        assert_eq!(&get(store, &t, id).await, was, "{id}");
    }
    for id in &added {
        assert_eq!(
            get(store, &t, id).await.status,
            ArtifactStatus::Deleted,
            "{id}"
        );
    }
}

async fn a_rollback_can_be_rolled_back(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    store
        .upsert_artifact(&content(&t, "x", "the platform", &[]), "someone")
        .await
        .unwrap();
    install(store, &t, "imp-a", "Alpha", &[("x", &[]), ("y", &[])], &[]).await;
    let installed_x = get(store, &t, "x").await;
    let installed_y = get(store, &t, "y").await;
    let installed = store.installed_packages(&t).await.unwrap();

    rollback(store, &t, "imp-a", "imp-r").await.unwrap();
    let undo = rollback(store, &t, "imp-r", "imp-rr").await.unwrap();
    assert_eq!(undo.undoes, Some(imp("imp-a")));
    assert_eq!(get(store, &t, "x").await, installed_x);
    assert_eq!(get(store, &t, "y").await, installed_y);
    assert_eq!(store.installed_packages(&t).await.unwrap(), installed);

    // The import stands again, so it can be rolled back again.
    let snapshot = store.snapshot(&imp("imp-a")).await.unwrap().unwrap();
    assert_eq!(snapshot.rolled_back_by, None);
    rollback(store, &t, "imp-a", "imp-r3").await.unwrap();
    assert_eq!(get(store, &t, "y").await.status, ArtifactStatus::Deleted);
}

async fn a_change_since_refuses_the_rollback_and_writes_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install(store, &t, "imp-a", "Alpha", &[("x", &[]), ("y", &[])], &[]).await;
    store
        .upsert_artifact(&content(&t, "y", "a person", &[]), "someone")
        .await
        .unwrap();
    store
        .mark_artifact_deleted(&t, &aid("x"), "someone")
        .await
        .unwrap();
    let x = get(store, &t, "x").await;
    let y = get(store, &t, "y").await;

    let refused = rollback(store, &t, "imp-a", "imp-r").await;
    assert_eq!(
        refused,
        Err(RollbackRefusal::Conflicts(vec![
            UndoConflict::ArtifactChanged {
                artifact_id: aid("x"),
                current_status: Some(ArtifactStatus::Deleted),
            },
            UndoConflict::ArtifactChanged {
                artifact_id: aid("y"),
                current_status: Some(ArtifactStatus::Published),
            },
        ]))
    );
    assert_eq!(get(store, &t, "x").await, x);
    assert_eq!(get(store, &t, "y").await, y);
    assert_eq!(packages(store, &t).await, vec![pkg("Alpha", Installed, 2)]);
    assert!(store.snapshot(&imp("imp-r")).await.unwrap().is_none());

    // A later install of the same package changes its row: a conflict too.
    install(store, &t, "imp-b", "Alpha", &[("z", &[])], &[]).await;
    let Err(RollbackRefusal::Conflicts(conflicts)) = rollback(store, &t, "imp-a", "imp-r").await
    else {
        panic!("the package row changed since imp-a");
    };
    assert!(conflicts.contains(&UndoConflict::PackageChanged {
        package_name: "Alpha".to_owned(),
        current_import_id: Some(imp("imp-b")),
        current_status: Some(Installed),
    }));
}

async fn a_planned_rollback_writes_nothing(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install(store, &t, "imp-a", "Alpha", &[("x", &[])], &[]).await;
    let mut tx = store.begin_install(&t).await.unwrap();
    let plan = tx
        .rollback_import(&imp("imp-a"), long_ago(), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.artifacts, vec![(aid("x"), UndoAction::Remove)]);
    tx.commit().await.unwrap();
    assert_eq!(get(store, &t, "x").await.status, ArtifactStatus::Published);
    assert_eq!(packages(store, &t).await, vec![pkg("Alpha", Installed, 1)]);
    let snapshot = store.snapshot(&imp("imp-a")).await.unwrap().unwrap();
    assert_eq!(snapshot.rolled_back_by, None);
}

async fn expired_and_pruned_snapshots_refuse(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install(store, &t, "imp-a", "Alpha", &[("x", &[])], &[]).await;
    let snapshot = store.snapshot(&imp("imp-a")).await.unwrap().unwrap();
    assert_eq!(
        (snapshot.artifacts, snapshot.owners, snapshot.packages),
        (1, 1, 1)
    );
    let later = snapshot.taken_at + Duration::microseconds(1);

    let mut tx = store.begin_install(&t).await.unwrap();
    let refused = tx
        .rollback_import(&imp("imp-a"), later, false)
        .await
        .unwrap();
    assert_eq!(
        refused,
        Err(RollbackRefusal::Expired {
            taken_at: snapshot.taken_at
        })
    );
    drop(tx);

    assert_eq!(store.prune_snapshots(snapshot.taken_at).await.unwrap(), 0);
    assert_eq!(store.prune_snapshots(later).await.unwrap(), 1);
    let pruned = store.snapshot(&imp("imp-a")).await.unwrap().unwrap();
    assert!(pruned.pruned);
    assert_eq!(
        (pruned.artifacts, pruned.owners, pruned.packages),
        (0, 0, 0)
    );
    // Pruned is expired whatever the bound.
    let mut tx = store.begin_install(&t).await.unwrap();
    assert!(matches!(
        tx.rollback_import(&imp("imp-a"), long_ago(), false)
            .await
            .unwrap(),
        Err(RollbackRefusal::Expired { .. })
    ));
    assert_eq!(
        tx.rollback_import(&imp("imp-unknown"), long_ago(), false)
            .await
            .unwrap(),
        Err(RollbackRefusal::NoSnapshot)
    );
}

async fn rolling_back_the_superseding_install_gives_ownership_back(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install(store, &t, "imp-a", "Alpha", &[("x", &[])], &[]).await;
    let alpha_x = get(store, &t, "x").await;
    let alpha = store.installed_packages(&t).await.unwrap();
    install(store, &t, "imp-b", "Beta", &[("x", &[])], &[]).await;
    assert_eq!(
        packages(store, &t).await,
        vec![pkg("Alpha", Superseded, 0), pkg("Beta", Installed, 1)]
    );

    let plan = rollback(store, &t, "imp-b", "imp-r").await.unwrap();
    assert_eq!(
        plan.packages,
        vec![
            ("Alpha".to_owned(), UndoAction::Restore),
            ("Beta".to_owned(), UndoAction::Remove)
        ]
    );
    assert_eq!(get(store, &t, "x").await, alpha_x);
    assert_eq!(store.installed_packages(&t).await.unwrap(), alpha);
}

async fn uninstall_removes_what_the_package_owns_and_can_be_rolled_back(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install(
        store,
        &t,
        "imp-a",
        "Alpha",
        &[("x", &[]), ("y", &["x"])],
        &[],
    )
    .await;
    install(store, &t, "imp-b", "Beta", &[("z", &[])], &[]).await;
    let x = get(store, &t, "x").await;
    let before = store.installed_packages(&t).await.unwrap();

    // A plan writes nothing.
    let mut tx = store.begin_install(&t).await.unwrap();
    let plan = tx
        .uninstall_package("ALPHA", &imp("imp-u"), Utc::now(), false)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.removed, vec![aid("x"), aid("y")]);
    tx.commit().await.unwrap();
    assert_eq!(store.installed_packages(&t).await.unwrap(), before);

    let mut tx = store.begin_install(&t).await.unwrap();
    tx.keep_snapshot(&imp("imp-u"), None).await.unwrap();
    let plan = tx
        .uninstall_package("alpha", &imp("imp-u"), Utc::now(), true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.package_name, "Alpha");
    tx.commit().await.unwrap();
    assert_eq!(get(store, &t, "x").await.status, ArtifactStatus::Deleted);
    assert_eq!(get(store, &t, "y").await.status, ArtifactStatus::Deleted);
    assert_eq!(get(store, &t, "z").await.status, ArtifactStatus::Published);
    assert_eq!(
        packages(store, &t).await,
        vec![pkg("Alpha", Uninstalled, 0), pkg("Beta", Installed, 1)]
    );
    let mut tx = store.begin_install(&t).await.unwrap();
    assert_eq!(
        tx.uninstall_package("Alpha", &imp("imp-u2"), Utc::now(), true)
            .await
            .unwrap(),
        Err(UninstallRefusal::AlreadyUninstalled {
            by: Some(imp("imp-u"))
        })
    );
    assert_eq!(
        tx.uninstall_package("Gamma", &imp("imp-u2"), Utc::now(), true)
            .await
            .unwrap(),
        Err(UninstallRefusal::NotInstalled)
    );
    drop(tx);

    // The uninstall is a record like any other: rolling it back reinstalls.
    rollback(store, &t, "imp-u", "imp-r").await.unwrap();
    assert_eq!(get(store, &t, "x").await, x);
    assert_eq!(store.installed_packages(&t).await.unwrap(), before);
}

async fn uninstall_refuses_while_something_depends_on_the_package(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install(
        store,
        &t,
        "imp-a",
        "Alpha",
        &[("x", &[]), ("y", &["x"])],
        &[],
    )
    .await;
    install(store, &t, "imp-b", "Beta", &[("z", &["x"])], &["alpha"]).await;
    let before = store.installed_packages(&t).await.unwrap();

    let mut tx = store.begin_install(&t).await.unwrap();
    tx.keep_snapshot(&imp("imp-u"), None).await.unwrap();
    let refused = tx
        .uninstall_package("Alpha", &imp("imp-u"), Utc::now(), true)
        .await
        .unwrap();
    assert_eq!(
        refused,
        Err(UninstallRefusal::Conflicts(vec![
            UndoConflict::ReferencedBy {
                artifact_id: aid("x"),
                by: aid("z"),
                owner: Some("beta".to_owned()),
            },
            UndoConflict::DependedOnBy {
                package_name: "Beta".to_owned()
            },
        ]))
    );
    drop(tx);
    assert_eq!(store.installed_packages(&t).await.unwrap(), before);

    // Once the dependant is gone, the uninstall goes through; y references
    // x but goes with it.
    let mut tx = store.begin_install(&t).await.unwrap();
    tx.uninstall_package("Beta", &imp("imp-u"), Utc::now(), true)
        .await
        .unwrap()
        .unwrap();
    tx.uninstall_package("Alpha", &imp("imp-u"), Utc::now(), true)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        packages(store, &t).await,
        vec![pkg("Alpha", Uninstalled, 0), pkg("Beta", Uninstalled, 0)]
    );
}

async fn uninstall_refuses_an_artifact_changed_since_the_install(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    install(store, &t, "imp-a", "Alpha", &[("x", &[]), ("y", &[])], &[]).await;
    store
        .upsert_artifact(&content(&t, "x", "a person", &[]), "someone")
        .await
        .unwrap();
    // Deleted through the artifact API: nothing left to remove, no conflict.
    store
        .mark_artifact_deleted(&t, &aid("y"), "someone")
        .await
        .unwrap();
    let mut tx = store.begin_install(&t).await.unwrap();
    assert_eq!(
        tx.uninstall_package("Alpha", &imp("imp-u"), Utc::now(), true)
            .await
            .unwrap(),
        Err(UninstallRefusal::Conflicts(vec![
            UndoConflict::ArtifactChanged {
                artifact_id: aid("x"),
                current_status: Some(ArtifactStatus::Published),
            }
        ]))
    );
    drop(tx);
    // Put back as installed, it goes.
    store
        .upsert_artifact(&content(&t, "x", "Alpha", &[]), "someone")
        .await
        .unwrap();
    let mut tx = store.begin_install(&t).await.unwrap();
    let plan = tx
        .uninstall_package("Alpha", &imp("imp-u"), Utc::now(), true)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plan.removed, vec![aid("x")]);
    assert_eq!(plan.already_deleted, vec![aid("y")]);
}

async fn an_install_without_a_snapshot_keeps_none(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let mut tx = store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&[content(&t, "x", "Alpha", &[])])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_install(&t).await.unwrap();
    assert_eq!(
        tx.rollback_import(&imp("imp-a"), long_ago(), true)
            .await
            .unwrap(),
        Err(RollbackRefusal::NoSnapshot)
    );
}
