//! The store's SQL behaviour, written once and run against SQLite and
//! PostgreSQL (`sqlite::*` and `postgres::*`).

#[macro_use]
mod common;

use std::time::Duration;

use chrono::{TimeZone, Utc};
use futures::StreamExt;
use installhub_domain::{
    ArtifactId, ArtifactStatus, ArtifactType, ConflictStrategy, Ecosystem, Library, PackageId,
    Plan, Reference, TenantId, TenantStatus,
};
use installhub_store::{
    ArtifactFilter, AuditEntry, AuditEvent, AuditOutcome, Backend, DefinitionJson, NewArtifact,
    NewAuditEntry, PackageFilter, RateDecision, Refusal, Store, StoreError, Upserted,
};
use serde_json::json;
use sqlx::Connection;

use common::Ctx;
use common::fixtures::*;

backend_suite!(
    connect_migrates_and_reconnects,
    a_connection_killed_while_idle_is_replaced,
    tenant_upsert_creates_then_updates,
    artifact_upsert_creates_then_updates_keeping_created_at,
    artifact_upsert_needs_the_tenant,
    list_artifacts_pages_in_byte_order,
    list_artifacts_matching_filters_by_type_and_name,
    list_tenants_in_id_order,
    mark_artifact_deleted_keeps_the_row,
    summaries_and_full_artifacts_for_many_ids,
    stored_artifacts_keep_the_definition_as_sorted_compact_text,
    a_large_set_of_stored_artifacts_comes_whole_and_in_id_order,
    tenants_holding_an_artifact,
    closure_follows_references_once_within_the_tenant,
    closure_reads_only_the_artifacts_it_reaches,
    catalog_generation_rises_with_every_committed_artifact_write,
    corrupt_rows_are_reported,
    package_round_trip_and_listing,
    package_version_conflict_ignores_case,
    package_needs_the_tenant,
    concurrent_package_inserts_have_one_winner,
    rate_limit_counts_within_a_window_and_resets,
    concurrent_rate_limit_takes_are_distinct,
    refused_takes_cost_nothing_and_refunds_give_back,
    purge_rate_limits_removes_old_buckets,
    commits_are_durable,
    audit_is_newest_first_and_pages,
    writes_commit_their_audit_entry,
);

// ---------------------------------------------------------------- fixtures

// ------------------------------------------------------------------- tests

async fn connect_migrates_and_reconnects(ctx: Ctx) {
    let expected = if ctx.url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(ctx.store.backend(), expected);
    ctx.store.ping().await.unwrap();

    // A second replica on the same database: migrations are already applied
    // and must not fail or run twice.
    let t = given_tenant(&ctx.store, "tenant-one").await;
    let second = Store::connect(&ctx.url).await.unwrap();
    second.ping().await.unwrap();
    assert!(second.get_tenant(&t).await.unwrap().is_some());
    second.close().await;
}

/// PostgreSQL: a pooled connection the server dropped while it sat idle
/// (a database restart) is found dead by its ping and replaced before the
/// next query uses it, though busy connections skip that ping.
async fn a_connection_killed_while_idle_is_replaced(ctx: Ctx) {
    if ctx.store.backend() != Backend::Postgres {
        return;
    }
    let t = given_tenant(&ctx.store, "tenant-one").await;
    let mut admin = sqlx::AnyConnection::connect(&ctx.url).await.unwrap();
    let killed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!killed.is_empty(), "the pool had no connection to drop");
    admin.close().await.unwrap();
    // Longer than the window in which a connection given back is trusted.
    tokio::time::sleep(Duration::from_millis(700)).await;
    for _ in 0..3 {
        assert!(ctx.store.get_tenant(&t).await.unwrap().is_some());
    }
}

async fn tenant_upsert_creates_then_updates(ctx: Ctx) {
    let store = &ctx.store;
    let mut t = tenant("tenant-7f3a9b12");
    assert_eq!(store.get_tenant(&t.tenant_id).await.unwrap(), None);

    assert_eq!(
        store.upsert_tenant(&t, "tester@company.com").await.unwrap(),
        Upserted::Created
    );
    assert_eq!(
        store.get_tenant(&t.tenant_id).await.unwrap(),
        Some(t.clone())
    );

    t.name = "Renamed".to_owned();
    t.plan = Plan::Enterprise;
    t.status = TenantStatus::Suspended;
    t.default_conflict_strategy = Some(ConflictStrategy::Skip);
    assert_eq!(
        store.upsert_tenant(&t, "tester@company.com").await.unwrap(),
        Upserted::Updated
    );
    assert_eq!(
        store.get_tenant(&t.tenant_id).await.unwrap(),
        Some(t.clone())
    );

    // And back to no strategy: NULL round-trips.
    t.default_conflict_strategy = None;
    assert_eq!(
        store.upsert_tenant(&t, "tester@company.com").await.unwrap(),
        Upserted::Updated
    );
    assert_eq!(store.get_tenant(&t.tenant_id).await.unwrap(), Some(t));
    assert_eq!(store.get_tenant(&tid("tenant-other")).await.unwrap(), None);
}

async fn artifact_upsert_creates_then_updates_keeping_created_at(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let mut a = artifact(&t, "proc-1001");
    a.references = vec![
        Reference {
            artifact_id: aid("form-2005"),
            tenant_id: None,
        },
        Reference {
            artifact_id: aid("ent-44"),
            tenant_id: Some(tid("tenant-b")),
        },
    ];
    a.libraries = vec![Library {
        ecosystem: Ecosystem::CratesIo,
        name: "serde".to_owned(),
        version: "1.0.0".to_owned(),
    }];

    let before = Utc::now();
    assert_eq!(
        store
            .upsert_artifact(&a, "tester@company.com")
            .await
            .unwrap(),
        Upserted::Created
    );
    let first = store.get_artifact(&t, &a.id).await.unwrap().unwrap();
    assert_eq!(NewArtifact::from(first.clone()), a);
    assert!(first.updated_at >= before - chrono::Duration::milliseconds(1));

    tokio::time::sleep(Duration::from_millis(5)).await;
    a.name = "Leave approval v2".to_owned();
    a.version = "2.0.0-rc.1".to_owned();
    a.status = ArtifactStatus::Active;
    a.artifact_type = ArtifactType::AppDefinition;
    a.definition = DefinitionJson::from_value(&json!({ "changed": [1, 2, 3] }));
    a.references.pop();
    a.libraries.clear();
    assert_eq!(
        store
            .upsert_artifact(&a, "tester@company.com")
            .await
            .unwrap(),
        Upserted::Updated
    );
    let second = store.get_artifact(&t, &a.id).await.unwrap().unwrap();
    assert_eq!(NewArtifact::from(second.clone()), a);
    assert!(second.updated_at > first.updated_at);

    let mut conn = raw(&ctx).await;
    let (created_at, updated_at): (i64, i64) = sqlx::query_as(
        "SELECT created_at, updated_at FROM artifacts WHERE tenant_id = $1 AND artifact_id = $2",
    )
    .bind(t.as_str())
    .bind(a.id.as_str())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        created_at,
        first.updated_at.timestamp_micros(),
        "created_at kept"
    );
    assert_eq!(updated_at, second.updated_at.timestamp_micros());
    conn.close().await.unwrap();

    assert_eq!(store.get_artifact(&t, &aid("nope")).await.unwrap(), None);
    assert_eq!(
        store.get_artifact(&tid("tenant-b"), &a.id).await.unwrap(),
        None
    );
}

async fn artifact_upsert_needs_the_tenant(ctx: Ctx) {
    let a = artifact(&tid("tenant-missing"), "proc-1");
    match ctx.store.upsert_artifact(&a, "tester@company.com").await {
        Err(StoreError::NotFound(what)) => assert!(what.contains("tenant-missing"), "{what}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

async fn list_artifacts_matching_filters_by_type_and_name(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let other = given_tenant(store, "tenant-b").await;
    let named = |tenant: &TenantId, id: &str, kind, name: &str| {
        let mut a = artifact(tenant, id);
        a.artifact_type = kind;
        a.name = name.to_owned();
        a
    };
    for a in [
        named(&t, "a1", ArtifactType::AtlasForm, "Onboarding Form"),
        named(
            &t,
            "a2",
            ArtifactType::ProcessDefinition,
            "Employee ONBOARDING",
        ),
        named(&t, "a3", ArtifactType::AtlasForm, "Expense form"),
        named(&t, "a4", ArtifactType::AtlasForm, "100% _done_"),
        named(&other, "a5", ArtifactType::AtlasForm, "Onboarding Form"),
    ] {
        store
            .upsert_artifact(&a, "tester@company.com")
            .await
            .unwrap();
    }
    let t = &t;
    let ids = |filter: ArtifactFilter<'static>, after: Option<&str>, limit| {
        let after = after.map(aid);
        async move {
            store
                .list_artifacts_matching(t, &filter, after.as_ref(), limit)
                .await
                .unwrap()
                .into_iter()
                .map(|a| a.id.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };
    let forms = ArtifactFilter {
        artifact_type: Some(ArtifactType::AtlasForm),
        name_contains: None,
    };
    assert_eq!(ids(forms, None, 10).await, ["a1", "a3", "a4"]);
    assert_eq!(ids(forms, Some("a1"), 1).await, ["a3"]);
    let onboarding = ArtifactFilter {
        artifact_type: None,
        name_contains: Some("onBoarding"),
    };
    assert_eq!(ids(onboarding, None, 10).await, ["a1", "a2"]);
    let both = ArtifactFilter {
        artifact_type: Some(ArtifactType::AtlasForm),
        name_contains: Some("FORM"),
    };
    assert_eq!(ids(both, None, 10).await, ["a1", "a3"]);
    // LIKE's wildcards in the search are literal text.
    let percent = ArtifactFilter {
        artifact_type: None,
        name_contains: Some("0% _d"),
    };
    assert_eq!(ids(percent, None, 10).await, ["a4"]);
    let underscore = ArtifactFilter {
        artifact_type: None,
        name_contains: Some("_"),
    };
    assert_eq!(ids(underscore, None, 10).await, ["a4"]);
    assert_eq!(ids(ArtifactFilter::default(), None, 10).await.len(), 4);
}

async fn list_tenants_in_id_order(ctx: Ctx) {
    let store = &ctx.store;
    given_tenant(store, "tenant-b").await;
    given_tenant(store, "tenant-a").await;
    given_tenant(store, "tenant-c").await;
    let ids = |tenants: Vec<installhub_domain::Tenant>| {
        tenants
            .into_iter()
            .map(|t| t.tenant_id.as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(store.list_tenants(10).await.unwrap()),
        ["tenant-a", "tenant-b", "tenant-c"]
    );
    assert_eq!(
        ids(store.list_tenants(2).await.unwrap()),
        ["tenant-a", "tenant-b"]
    );
    assert!(store.list_tenants(-1).await.unwrap().is_empty());
}

async fn list_artifacts_pages_in_byte_order(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let other = given_tenant(store, "tenant-b").await;
    // Mixed case, digits and punctuation: byte order puts '-' < '.' < digits
    // < upper case < '_' < lower case, which a locale collation would not.
    let mut ids: Vec<String> = (0..20)
        .map(|i| format!("proc-{:02}", (i * 7) % 20))
        .collect();
    ids.extend(["B-1", "a-1", "A.2", "a_3", "Z9", "0x", "b.b"].map(String::from));
    for id in &ids {
        store
            .upsert_artifact(&artifact(&t, id), "tester@company.com")
            .await
            .unwrap();
    }
    store
        .upsert_artifact(&artifact(&other, "proc-05"), "tester@company.com")
        .await
        .unwrap();
    store
        .upsert_artifact(&artifact(&other, "zzz"), "tester@company.com")
        .await
        .unwrap();

    let mut expected = ids.clone();
    expected.sort();
    let mut seen = Vec::new();
    let mut after: Option<ArtifactId> = None;
    let mut pages = 0;
    loop {
        let page = store.list_artifacts(&t, after.as_ref(), 10).await.unwrap();
        if page.is_empty() {
            break;
        }
        pages += 1;
        assert!(page.len() <= 10);
        assert!(page.iter().all(|a| a.tenant_id == t));
        after = page.last().map(|a| a.id.clone());
        seen.extend(page.into_iter().map(|a| a.id.as_str().to_owned()));
    }
    assert_eq!(pages, 3, "27 artifacts in pages of 10");
    assert_eq!(seen, expected);

    assert!(store.list_artifacts(&t, None, 0).await.unwrap().is_empty());
    assert!(store.list_artifacts(&t, None, -5).await.unwrap().is_empty());
    let last = aid(expected.last().unwrap());
    assert!(
        store
            .list_artifacts(&t, Some(&last), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn mark_artifact_deleted_keeps_the_row(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let a = artifact(&t, "proc-1");
    store
        .upsert_artifact(&a, "tester@company.com")
        .await
        .unwrap();
    let before = store.get_artifact(&t, &a.id).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;

    assert!(
        store
            .mark_artifact_deleted(&t, &a.id, "tester@company.com")
            .await
            .unwrap()
    );
    let after = store.get_artifact(&t, &a.id).await.unwrap().unwrap();
    assert_eq!(after.status, ArtifactStatus::Deleted);
    assert!(after.updated_at > before.updated_at);
    assert_eq!(after.definition, before.definition);

    assert!(
        !store
            .mark_artifact_deleted(&t, &aid("proc-2"), "tester@company.com")
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_artifact_deleted(&tid("tenant-b"), &a.id, "tester@company.com")
            .await
            .unwrap()
    );
}

async fn summaries_and_full_artifacts_for_many_ids(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let other = given_tenant(store, "tenant-b").await;
    let ids: Vec<String> = (0..650).map(|i| format!("art-{i:04}")).collect();
    futures::stream::iter(ids.iter().enumerate())
        .for_each_concurrent(8, |(i, id)| {
            let mut a = artifact(&t, id);
            a.references = vec![Reference {
                artifact_id: aid(&format!("dep-{i}")),
                tenant_id: None,
            }];
            async move {
                store
                    .upsert_artifact(&a, "tester@company.com")
                    .await
                    .unwrap();
            }
        })
        .await;
    // Same id in another tenant: must not leak into tenant-a's answer.
    store
        .upsert_artifact(&artifact(&other, "art-0001"), "tester@company.com")
        .await
        .unwrap();
    store
        .upsert_artifact(&artifact(&other, "only-b"), "tester@company.com")
        .await
        .unwrap();

    // Ask in reverse, with duplicates and ids the tenant does not have.
    let mut asked: Vec<ArtifactId> = ids.iter().rev().map(|id| aid(id)).collect();
    asked.extend([
        aid("art-0003"),
        aid("missing-1"),
        aid("only-b"),
        aid("art-0003"),
    ]);

    let summaries = store.artifact_summaries(&t, &asked).await.unwrap();
    let got: Vec<&str> = summaries.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    for (i, summary) in summaries.iter().enumerate() {
        assert_eq!(summary.tenant_id, t);
        assert_eq!(summary.artifact_type, ArtifactType::ProcessDefinition);
        assert_eq!(summary.status, ArtifactStatus::Published);
        assert_eq!(summary.name, format!("Artifact {}", ids[i]));
        assert_eq!(
            summary.references[0].artifact_id.as_str(),
            format!("dep-{i}")
        );
    }

    let full = store.artifacts_by_ids(&t, &asked).await.unwrap();
    assert_eq!(full.len(), 650);
    assert_eq!(
        full.iter().map(|a| a.summary()).collect::<Vec<_>>(),
        summaries
    );
    assert_eq!(
        full[42].definition,
        json!({ "steps": ["art-0042", { "n": 1.5, "ok": true }] })
    );

    assert!(store.artifact_summaries(&t, &[]).await.unwrap().is_empty());
    assert!(
        store
            .artifacts_by_ids(&t, &[aid("nope")])
            .await
            .unwrap()
            .is_empty()
    );
}

/// Enough artifacts for PostgreSQL to load them in two halves at once (one
/// snapshot, two connections): every row once, in id byte order, each the
/// row a load of it alone answers; unknown ids are left out.
async fn a_large_set_of_stored_artifacts_comes_whole_and_in_id_order(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let mut ids = Vec::new();
    for i in (0..150).rev() {
        let mut a = artifact(&t, &format!("art-{i:03}"));
        a.definition = DefinitionJson::from_value(&json!({ "n": i }));
        store
            .upsert_artifact(&a, "tester@company.com")
            .await
            .unwrap();
        ids.push(a.id);
    }
    ids.push(aid("missing"));
    ids.push(ids[3].clone());
    let stored = store.stored_artifacts_by_ids(&t, &ids).await.unwrap();
    let got: Vec<&str> = stored.iter().map(|a| a.id.as_str()).collect();
    let want: Vec<String> = (0..150).map(|i| format!("art-{i:03}")).collect();
    assert_eq!(got, want.iter().map(String::as_str).collect::<Vec<_>>());
    for a in [&stored[0], &stored[74], &stored[75], &stored[149]] {
        let alone = store
            .stored_artifacts_by_ids(&t, std::slice::from_ref(&a.id))
            .await
            .unwrap();
        assert_eq!(alone.len(), 1);
        assert_eq!(
            (
                &alone[0].id,
                &alone[0].definition_json,
                &alone[0].references
            ),
            (&a.id, &a.definition_json, &a.references)
        );
    }
}

/// Export re-encodes a stored definition as it reads the text, which gives
/// the bytes of the parsed `Value` only when the text is serde_json's own
/// compact form with keys sorted: what both backends must hand back.
async fn stored_artifacts_keep_the_definition_as_sorted_compact_text(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let mut written = artifact(&t, "art-1");
    let definition = json!({
        "zeta": [1.5e-300, -0.0, 0.1, 18446744073709551615_u64, -9223372036854775808_i64],
        "Alpha": { "é": "\u{2028}\"quoted\"\n", "e": {}, "a": [] },
        "mid": null
    });
    written.definition = DefinitionJson::from_value(&definition);
    written.references = vec![Reference {
        artifact_id: aid("art-0"),
        tenant_id: None,
    }];
    store
        .upsert_artifact(&written, "tester@company.com")
        .await
        .unwrap();

    let stored = store
        .stored_artifacts_by_ids(&t, &[aid("art-1"), aid("missing")])
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    let full = store.artifacts_by_ids(&t, &[aid("art-1")]).await.unwrap();
    let a = &stored[0];
    assert_eq!(
        (&a.tenant_id, &a.id, a.artifact_type, &a.name, &a.version),
        (
            &t,
            &written.id,
            written.artifact_type,
            &written.name,
            &written.version
        )
    );
    assert_eq!(a.status, written.status);
    assert_eq!(a.references, written.references);
    assert_eq!(a.libraries, written.libraries);
    assert_eq!(a.updated_at, full[0].updated_at);
    assert_eq!(
        a.definition_json,
        serde_json::to_string(&definition).unwrap()
    );
    assert_eq!(a.definition_json, written.definition.as_str());
    assert!(
        a.definition_json
            .starts_with(r#"{"Alpha":{"a":[],"e":{},"é":"#),
        "{}",
        a.definition_json
    );
}

async fn closure_follows_references_once_within_the_tenant(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let other = given_tenant(store, "tenant-b").await;
    let refs = |ids: &[(&str, Option<&TenantId>)]| -> Vec<Reference> {
        ids.iter()
            .map(|(id, tenant)| Reference {
                artifact_id: aid(id),
                tenant_id: tenant.cloned(),
            })
            .collect()
    };
    // root -> a, b (b named with its own tenant), c in tenant-b, gone;
    // a -> b; b -> root (a cycle); far -> nothing (not reachable).
    let graph: [(&str, Vec<Reference>); 4] = [
        (
            "root",
            refs(&[
                ("a", None),
                ("b", Some(&t)),
                ("c", Some(&other)),
                ("gone", None),
            ]),
        ),
        ("a", refs(&[("b", None)])),
        ("b", refs(&[("root", None)])),
        ("far", vec![]),
    ];
    for (id, references) in graph {
        let mut new = artifact(&t, id);
        new.references = references;
        store
            .upsert_artifact(&new, "tester@company.com")
            .await
            .unwrap();
    }
    // tenant-b has "c" and also an "a" that must not stand in for ours.
    for id in ["c", "a"] {
        store
            .upsert_artifact(&artifact(&other, id), "tester@company.com")
            .await
            .unwrap();
    }

    let mut got = store
        .artifact_closure(&t, &[aid("root")], 100)
        .await
        .unwrap();
    got.sort_by(|x, y| x.0.cmp(&y.0));
    let ids: Vec<(&str, bool)> = got
        .iter()
        .map(|(id, summary)| (id.as_str(), summary.is_some()))
        .collect();
    assert_eq!(
        ids,
        [("a", true), ("b", true), ("gone", false), ("root", true)]
    );
    for (id, summary) in &got {
        if let Some(summary) = summary {
            assert_eq!(summary.tenant_id, t);
            assert_eq!(&summary.id, id);
        }
    }
    let root = got.iter().find(|(id, _)| id.as_str() == "root").unwrap();
    assert_eq!(root.1.as_ref().unwrap().references.len(), 4);

    // Several roots, one unknown; and a bound that stops the walk early.
    let got = store
        .artifact_closure(&t, &[aid("far"), aid("nope")], 100)
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    let bounded = store.artifact_closure(&t, &[aid("root")], 2).await.unwrap();
    assert_eq!(bounded.len(), 2);
    assert!(
        store
            .artifact_closure(&t, &[], 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// The walk looks up each reached artifact by its key; it never reads the
/// rest of the tenant (a large catalog would make every preview cost the
/// whole catalog). Proved by an unreachable artifact whose references do
/// not parse: reading it would fail the query. On PostgreSQL, without
/// statistics, a join from the walk to `artifacts` is planned as a hash of
/// the whole tenant already at this size.
async fn closure_reads_only_the_artifacts_it_reaches(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let mut catalog: Vec<NewArtifact> = Vec::new();
    for i in 0..1_000 {
        let mut new = artifact(&t, &format!("noise-{i:04}"));
        // Noise that uses the closure: references point into it, never out.
        new.references = vec![Reference {
            artifact_id: aid(if i % 2 == 0 { "root" } else { "leaf" }),
            tenant_id: None,
        }];
        catalog.push(new);
    }
    let mut root = artifact(&t, "root");
    root.references = vec![Reference {
        artifact_id: aid("leaf"),
        tenant_id: None,
    }];
    catalog.push(root);
    catalog.push(artifact(&t, "leaf"));
    let mut tx = store.begin_install(&t).await.unwrap();
    tx.write_artifacts(&catalog).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = raw(&ctx).await;
    sqlx::query("UPDATE artifacts SET refs = $1 WHERE artifact_id = $2")
        .bind("[{not json")
        .bind("noise-0500")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    let mut got: Vec<String> = store
        .artifact_closure(&t, &[aid("root")], 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(id, summary)| {
            assert!(summary.is_some(), "{id}");
            id.to_string()
        })
        .collect();
    got.sort();
    assert_eq!(got, ["leaf", "root"]);
}

async fn catalog_generation_rises_with_every_committed_artifact_write(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let b = given_tenant(store, "tenant-b").await;
    let generation = |t: TenantId| async move {
        let (tenant, generation) = store.get_tenant_with_generation(&t).await.unwrap().unwrap();
        assert_eq!(tenant.tenant_id, t);
        generation
    };
    assert!(
        store
            .get_tenant_with_generation(&tid("tenant-none"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(generation(a.clone()).await, 0);
    let mut seen = 0;
    let mut rose = |now: i64, what: &str| {
        assert!(now > seen, "{what}: {now} after {seen}");
        seen = now;
    };

    store
        .upsert_artifact(&artifact(&a, "proc-1"), "tester@company.com")
        .await
        .unwrap();
    rose(generation(a.clone()).await, "create");
    store
        .upsert_artifact(&artifact(&a, "proc-1"), "tester@company.com")
        .await
        .unwrap();
    rose(generation(a.clone()).await, "replace");
    store
        .mark_artifact_deleted(&a, &aid("proc-1"), "tester@company.com")
        .await
        .unwrap();
    rose(generation(a.clone()).await, "delete");
    let before = generation(a.clone()).await;
    let mut tx = store.begin_install(&a).await.unwrap();
    tx.write_artifacts(&[artifact(&a, "proc-2"), artifact(&a, "proc-3")])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let after = generation(a.clone()).await;
    rose(after, "install");
    if store.backend() == Backend::Postgres {
        // Raised once per transaction, not once per row written.
        assert_eq!(after, before + 1);
    }

    // Undone writes leave it as it was; another tenant's writes too.
    let before = generation(a.clone()).await;
    let mut tx = store.begin_install(&a).await.unwrap();
    tx.write_artifacts(&[artifact(&a, "proc-4")]).await.unwrap();
    tx.rollback().await.unwrap();
    store
        .upsert_artifact(&artifact(&b, "proc-1"), "tester@company.com")
        .await
        .unwrap();
    assert_eq!(generation(a.clone()).await, before);
    assert!(generation(b.clone()).await > 0);

    // Whatever writes the rows: a statement from outside the store too.
    let mut conn = sqlx::AnyConnection::connect(&ctx.url).await.unwrap();
    sqlx::query("DELETE FROM artifacts WHERE tenant_id = $1 AND artifact_id = $2")
        .bind(a.as_str())
        .bind("proc-2")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    rose(generation(a.clone()).await, "a row deleted by hand");
}

async fn tenants_holding_an_artifact(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let c = given_tenant(store, "tenant-c").await;
    let b = given_tenant(store, "tenant-b").await;
    for t in [&a, &c, &b] {
        store
            .upsert_artifact(&artifact(t, "shared-1"), "tester@company.com")
            .await
            .unwrap();
    }
    store
        .upsert_artifact(&artifact(&b, "only-b"), "tester@company.com")
        .await
        .unwrap();

    let id = aid("shared-1");
    assert_eq!(
        store.tenants_holding_artifact(&id, &a).await.unwrap(),
        vec![b.clone(), c.clone()]
    );
    assert_eq!(
        store
            .tenants_holding_artifact(&id, &tid("tenant-x"))
            .await
            .unwrap(),
        vec![a.clone(), b.clone(), c.clone()]
    );
    assert_eq!(
        store
            .tenants_holding_artifact(&aid("only-b"), &a)
            .await
            .unwrap(),
        vec![b.clone()]
    );
    assert!(
        store
            .tenants_holding_artifact(&aid("only-b"), &b)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .tenants_holding_artifact(&aid("nowhere"), &a)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn corrupt_rows_are_reported(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    store
        .upsert_artifact(&artifact(&t, "bad-status"), "tester@company.com")
        .await
        .unwrap();
    store
        .upsert_artifact(&artifact(&t, "bad-json"), "tester@company.com")
        .await
        .unwrap();
    let mut conn = raw(&ctx).await;
    sqlx::query("UPDATE artifacts SET status = $1 WHERE artifact_id = $2")
        .bind("Frozen")
        .bind("bad-status")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE artifacts SET refs = $1 WHERE artifact_id = $2")
        .bind("[{not json")
        .bind("bad-json")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    match store.get_artifact(&t, &aid("bad-status")).await {
        Err(StoreError::Corrupt(msg)) => assert!(msg.contains("Frozen"), "{msg}"),
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert!(matches!(
        store.artifact_summaries(&t, &[aid("bad-json")]).await,
        Err(StoreError::Corrupt(_))
    ));
}

async fn package_round_trip_and_listing(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    let other = given_tenant(store, "tenant-b").await;
    let base = Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .unwrap()
        .timestamp_micros();

    let older = package(&t, "Leave Requests", "1.0.0", base + 1);
    let mut newer = package(&t, "Leave Requests", "1.1.0", base + 2_000_000);
    newer.author = Some("Ada".to_owned());
    newer.description = None;
    newer.manifest.author = Some("Ada".to_owned());
    let elsewhere = package(&other, "Leave Requests", "1.0.0", base + 3);
    for p in [&older, &newer, &elsewhere] {
        store.insert_package(p).await.unwrap();
    }

    assert_eq!(
        store.get_package(&older.package_id).await.unwrap(),
        Some(older.clone())
    );
    assert_eq!(
        store.get_package(&newer.package_id).await.unwrap(),
        Some(newer.clone())
    );
    let unknown = PackageId::from_uuid(&uuid::Uuid::new_v4().to_string());
    assert_eq!(store.get_package(&unknown).await.unwrap(), None);

    let listed = store
        .list_packages(&t, 10, &PackageFilter::default())
        .await
        .unwrap();
    assert_eq!(
        listed,
        vec![newer.clone(), older.clone()],
        "newest first, own tenant only"
    );
    assert_eq!(
        store
            .list_packages(&t, 1, &PackageFilter::default())
            .await
            .unwrap(),
        vec![newer.clone()]
    );
    assert!(
        store
            .list_packages(&t, -1, &PackageFilter::default())
            .await
            .unwrap()
            .is_empty()
    );

    // The next page starts after the cursor; a cursor of another tenant
    // gives nothing.
    let after_newer = PackageFilter {
        before: Some(&newer.package_id),
        ..PackageFilter::default()
    };
    assert_eq!(
        store.list_packages(&t, 10, &after_newer).await.unwrap(),
        vec![older.clone()]
    );
    let foreign = PackageFilter {
        before: Some(&elsewhere.package_id),
        ..PackageFilter::default()
    };
    assert!(
        store
            .list_packages(&t, 10, &foreign)
            .await
            .unwrap()
            .is_empty()
    );
    // Names by prefix, without case; LIKE's wildcards are plain characters.
    for (prefix, expected) in [
        ("leave", vec![newer.clone(), older.clone()]),
        ("LEAVE REQUESTS", vec![newer.clone(), older.clone()]),
        ("Requests", vec![]),
        ("%", vec![]),
        ("Leave_", vec![]),
    ] {
        let filter = PackageFilter {
            name_prefix: Some(prefix),
            ..PackageFilter::default()
        };
        assert_eq!(
            store.list_packages(&t, 10, &filter).await.unwrap(),
            expected,
            "{prefix}"
        );
    }

    assert!(
        store
            .package_version_exists(&t, "leave requests", "1.0.0")
            .await
            .unwrap()
    );
    assert!(
        store
            .package_version_exists(&t, "LEAVE REQUESTS", "1.1.0")
            .await
            .unwrap()
    );
    assert!(
        !store
            .package_version_exists(&t, "Leave Requests", "2.0.0")
            .await
            .unwrap()
    );
    assert!(
        !store
            .package_version_exists(&t, "Leave", "1.0.0")
            .await
            .unwrap()
    );
    assert!(
        !store
            .package_version_exists(&tid("tenant-c"), "Leave Requests", "1.0.0")
            .await
            .unwrap()
    );
    assert_eq!(older.name_key(), "leave requests");
}

async fn package_version_conflict_ignores_case(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;
    store
        .insert_package(&package(&t, "HR Onboarding", "1.2.0", 1))
        .await
        .unwrap();
    let duplicate = package(&t, "hr ONBOARDING", "1.2.0", 2);
    assert!(matches!(
        store.insert_package(&duplicate).await,
        Err(StoreError::VersionConflict)
    ));
    // Non-ASCII names fold too (SQLite's lower() would not do this).
    store
        .insert_package(&package(&t, "Ärzte Flow", "1.0.0", 3))
        .await
        .unwrap();
    assert!(matches!(
        store
            .insert_package(&package(&t, "ÄRZTE FLOW", "1.0.0", 4))
            .await,
        Err(StoreError::VersionConflict)
    ));
    // Another version, or the same in another tenant, is fine.
    store
        .insert_package(&package(&t, "hr onboarding", "1.2.1", 5))
        .await
        .unwrap();
    let other = given_tenant(store, "tenant-b").await;
    store
        .insert_package(&package(&other, "HR Onboarding", "1.2.0", 6))
        .await
        .unwrap();
    assert_eq!(
        store
            .list_packages(&t, 100, &PackageFilter::default())
            .await
            .unwrap()
            .len(),
        3
    );
}

async fn package_needs_the_tenant(ctx: Ctx) {
    let p = package(&tid("tenant-missing"), "Anything", "1.0.0", 1);
    assert!(matches!(
        ctx.store.insert_package(&p).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn concurrent_package_inserts_have_one_winner(ctx: Ctx) {
    let t = given_tenant(&ctx.store, "tenant-a").await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = ctx.store.clone();
            // Different ids and name case in each: only the unique index
            // can stop them.
            let name = if i % 2 == 0 {
                "Race Package"
            } else {
                "RACE package"
            };
            let record = package(&t, name, "3.0.0", i);
            tokio::spawn(async move { store.insert_package(&record).await })
        })
        .collect();
    let mut ok = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::VersionConflict) => conflicts += 1,
            Err(other) => panic!("unexpected error: {other:?}"),
        }
    }
    assert_eq!((ok, conflicts), (1, 9));
    assert_eq!(
        ctx.store
            .list_packages(&t, 100, &PackageFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

/// Takes one unit; panics when refused. Returns `(hits, resets_at)`.
async fn take(
    store: &Store,
    bucket: &str,
    window: Duration,
    max: i64,
    now: chrono::DateTime<Utc>,
) -> (i64, chrono::DateTime<Utc>) {
    match store
        .take_rate_limit(bucket, window, max, now)
        .await
        .unwrap()
    {
        RateDecision::Granted(charge) => (charge.hits, charge.resets_at),
        refused => panic!("refused: {refused:?}"),
    }
}

async fn rate_limit_counts_within_a_window_and_resets(ctx: Ctx) {
    let store = &ctx.store;
    let window = Duration::from_millis(1500);
    let t0 = 1_790_000_000_000_000_i64;
    let end = t0 + 1_500_000;
    let bucket = "export:user-1:tenant-a";

    for expected in 1..=3 {
        let taken = take(store, bucket, window, 100, at_micros(t0 + expected - 1)).await;
        assert_eq!(
            taken,
            (expected, at_micros(end)),
            "window starts at the first unit"
        );
    }
    // Another bucket counts on its own.
    let other = take(
        store,
        "export:user-2:tenant-a",
        window,
        100,
        at_micros(t0 + 10),
    )
    .await;
    assert_eq!(other.0, 1);

    let last_inside = take(store, bucket, window, 100, at_micros(end - 1)).await;
    assert_eq!(last_inside, (4, at_micros(end)));

    // At the window's end a new window opens at this unit.
    let reset = take(store, bucket, window, 100, at_micros(end)).await;
    assert_eq!(reset, (1, at_micros(end + 1_500_000)));
    let next = take(store, bucket, window, 100, at_micros(end + 20)).await;
    assert_eq!(next, (2, at_micros(end + 1_500_000)));

    // Long after: reset again.
    let much_later = take(store, bucket, window, 100, at_micros(end + 60_000_000)).await;
    assert_eq!(much_later.0, 1);
}

async fn concurrent_rate_limit_takes_are_distinct(ctx: Ctx) {
    let now = at_micros(1_790_000_000_000_000);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = ctx.store.clone();
            tokio::spawn(async move {
                store
                    .take_rate_limit("export:burst", Duration::from_secs(60), 12, now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut hits = Vec::new();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            RateDecision::Granted(charge) => hits.push(charge.hits),
            RateDecision::Refused { resets_at } => {
                assert_eq!(resets_at, at_micros(1_790_000_060_000_000));
                refused += 1;
            }
        }
    }
    hits.sort_unstable();
    assert_eq!(hits, (1..=12).collect::<Vec<i64>>());
    assert_eq!(refused, 8);
}

/// A refused take counts nothing, a refund gives a unit back to its own
/// window only, and a window that has ended owes nothing.
async fn refused_takes_cost_nothing_and_refunds_give_back(ctx: Ctx) {
    let store = &ctx.store;
    let window = Duration::from_secs(60);
    let t0 = 1_790_000_000_000_000_i64;
    let first = match store
        .take_rate_limit("b", window, 2, at_micros(t0))
        .await
        .unwrap()
    {
        RateDecision::Granted(charge) => charge,
        refused => panic!("{refused:?}"),
    };
    take(store, "b", window, 2, at_micros(t0 + 1)).await;
    for i in 0..5 {
        let refused = store
            .take_rate_limit("b", window, 2, at_micros(t0 + 2 + i))
            .await
            .unwrap();
        assert_eq!(
            refused,
            RateDecision::Refused {
                resets_at: at_micros(t0 + 60_000_000)
            }
        );
    }
    // One unit back: exactly one more fits, as if the refusals never were.
    store.refund_rate_limit(&first).await.unwrap();
    assert_eq!(take(store, "b", window, 2, at_micros(t0 + 10)).await.0, 2);
    assert!(matches!(
        store
            .take_rate_limit("b", window, 2, at_micros(t0 + 11))
            .await
            .unwrap(),
        RateDecision::Refused { .. }
    ));

    // A refund that arrives after its window ended leaves the new one alone.
    let next = take(store, "b", window, 2, at_micros(t0 + 60_000_000)).await;
    assert_eq!(next.0, 1);
    store.refund_rate_limit(&first).await.unwrap();
    assert_eq!(
        take(store, "b", window, 2, at_micros(t0 + 60_000_001))
            .await
            .0,
        2
    );
    // A limit of 0 refuses without a row.
    assert!(matches!(
        store
            .take_rate_limit("none", window, 0, at_micros(t0))
            .await
            .unwrap(),
        RateDecision::Refused { .. }
    ));
}

async fn purge_rate_limits_removes_old_buckets(ctx: Ctx) {
    let store = &ctx.store;
    let window = Duration::from_secs(60);
    let t0 = 1_790_000_000_000_000_i64;
    take(store, "old", window, 10, at_micros(t0)).await;
    take(store, "old", window, 10, at_micros(t0 + 5)).await;
    take(store, "new", window, 10, at_micros(t0 + 1_000)).await;

    assert_eq!(
        store
            .purge_rate_limits(at_micros(t0 + 1_000))
            .await
            .unwrap(),
        1
    );
    let mut conn = raw(&ctx).await;
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rate_limits WHERE bucket = 'old'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0, "the ended window's row is gone");
    // "old" starts over; "new" keeps counting.
    assert_eq!(
        take(store, "old", window, 10, at_micros(t0 + 2_000))
            .await
            .0,
        1
    );
    assert_eq!(
        take(store, "new", window, 10, at_micros(t0 + 2_000))
            .await
            .0,
        2
    );
}

/// SQLite syncs every commit (`synchronous=FULL`); PostgreSQL is durable
/// by default (`synchronous_commit=on`).
async fn commits_are_durable(ctx: Ctx) {
    // Several at once, so that more than one pooled connection answers.
    let checks = futures::future::join_all((0..5).map(|_| ctx.store.commits_are_durable())).await;
    assert!(checks.into_iter().all(|c| c.unwrap()));
}

async fn audit_is_newest_first_and_pages(ctx: Ctx) {
    let store = &ctx.store;
    let a = tid("tenant-a");
    let b = tid("tenant-b");
    let base = 1_790_000_000_000_000_i64;
    let mut recorded = Vec::new();
    for i in 0..5_i64 {
        let failures = vec![installhub_domain::Failure::new(
            installhub_domain::ErrorCode::ArtifactNotFound,
            format!("Artifact 'x-{i}' does not exist."),
        )];
        let entry = NewAuditEntry {
            at: at_micros(base + i),
            tenant_id: a.clone(),
            actor: "engineer@company.com".to_owned(),
            event: AuditEvent::ExportRefused(Refusal {
                error: installhub_domain::ErrorCode::ArtifactNotFound,
                failures: (i != 3).then_some(failures),
            }),
        };
        let id = store.record_audit(&entry).await.unwrap();
        let failures = if i == 3 {
            json!(null)
        } else {
            json!([{ "code": "ArtifactNotFound", "message": format!("Artifact 'x-{i}' does not exist.") }])
        };
        recorded.push(AuditEntry {
            id: Some(id),
            at: entry.at,
            tenant_id: a.clone(),
            actor: entry.actor,
            action: "export".to_owned(),
            subject: None,
            outcome: AuditOutcome::Failure,
            details: json!({ "error": "ArtifactNotFound", "failures": failures }),
        });
        // Interleave another tenant's entries.
        store
            .record_audit(&NewAuditEntry {
                at: at_micros(base + i),
                tenant_id: b.clone(),
                actor: "other".to_owned(),
                event: AuditEvent::ArtifactDelete {
                    artifact_id: aid("proc-1"),
                },
            })
            .await
            .unwrap();
    }
    let ids: Vec<i64> = recorded.iter().map(|e| e.id.unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids grow: {ids:?}");

    let newest_first: Vec<AuditEntry> = recorded.iter().rev().cloned().collect();
    assert_eq!(
        store.list_audit(&a, None, 10, None).await.unwrap(),
        newest_first
    );

    let page1 = store.list_audit(&a, None, 2, None).await.unwrap();
    assert_eq!(page1, newest_first[..2]);
    let page2 = store.list_audit(&a, None, 2, page1[1].id).await.unwrap();
    assert_eq!(page2, newest_first[2..4]);
    let page3 = store.list_audit(&a, None, 2, page2[1].id).await.unwrap();
    assert_eq!(page3, newest_first[4..]);
    assert!(
        store
            .list_audit(&a, None, 2, page3[0].id)
            .await
            .unwrap()
            .is_empty()
    );

    let of_b = store.list_audit(&b, None, 100, None).await.unwrap();
    assert_eq!(of_b.len(), 5);
    assert!(of_b.iter().all(|e| e.tenant_id == b
        && e.action == "artifact-delete"
        && e.subject.as_deref() == Some("proc-1")
        && e.outcome == AuditOutcome::Success
        && e.details == json!({})));
    assert!(
        store
            .list_audit(&tid("tenant-c"), None, 10, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// SECURITY.md 34: every write to tenants and artifacts, and every created
/// package, leaves its audit entry, written in the write's own transaction;
/// a write that changes nothing leaves none.
async fn writes_commit_their_audit_entry(ctx: Ctx) {
    let store = &ctx.store;
    let mut t = tenant("tenant-a");
    let id = t.tenant_id.clone();
    store.upsert_tenant(&t, "admin@company.com").await.unwrap();
    t.status = TenantStatus::Suspended;
    store.upsert_tenant(&t, "admin@company.com").await.unwrap();
    let a = artifact(&id, "proc-1");
    store.upsert_artifact(&a, "dev@company.com").await.unwrap();
    assert!(
        store
            .mark_artifact_deleted(&id, &a.id, "dev@company.com")
            .await
            .unwrap()
    );
    assert!(
        !store
            .mark_artifact_deleted(&id, &aid("proc-2"), "dev@company.com")
            .await
            .unwrap()
    );
    let p = package(&id, "HR Onboarding", "1.2.0", 1);
    store.insert_package(&p).await.unwrap();
    // Refused: no row, and no entry.
    let mut duplicate = package(&id, "HR ONBOARDING", "1.2.0", 2);
    duplicate.exported_by = "someone-else".to_owned();
    assert!(matches!(
        store.insert_package(&duplicate).await,
        Err(StoreError::VersionConflict)
    ));
    assert!(matches!(
        store
            .upsert_artifact(
                &artifact(&tid("tenant-missing"), "proc-1"),
                "dev@company.com"
            )
            .await,
        Err(StoreError::NotFound(_))
    ));

    let entries = store.list_audit(&id, None, 100, None).await.unwrap();
    let seen: Vec<(&str, &str, Option<&str>, &serde_json::Value)> = entries
        .iter()
        .rev()
        .map(|e| {
            (
                e.action.as_str(),
                e.actor.as_str(),
                e.subject.as_deref(),
                &e.details,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                "tenant-put",
                "admin@company.com",
                Some("tenant-a"),
                &json!({ "created": true, "name": t.name, "plan": t.plan, "status": "Active", "defaultConflictStrategy": t.default_conflict_strategy })
            ),
            (
                "tenant-put",
                "admin@company.com",
                Some("tenant-a"),
                &json!({ "created": false, "name": t.name, "plan": t.plan, "status": "Suspended", "defaultConflictStrategy": t.default_conflict_strategy })
            ),
            (
                "artifact-put",
                "dev@company.com",
                Some("proc-1"),
                &json!({ "created": true, "type": a.artifact_type, "name": a.name, "version": a.version, "status": a.status })
            ),
            (
                "artifact-delete",
                "dev@company.com",
                Some("proc-1"),
                &json!({})
            ),
            (
                "export",
                p.exported_by.as_str(),
                Some(p.package_id.as_str()),
                &json!({ "packageName": "HR Onboarding", "version": "1.2.0", "artifactCount": p.artifact_count, "checksum": p.checksum })
            ),
        ]
    );
    assert!(entries.iter().all(|e| e.outcome == AuditOutcome::Success));
    assert!(
        store
            .list_audit(&tid("tenant-missing"), None, 10, None)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Commits leave SQLite's WAL to the store's checkpointer (a large
/// import's answer would otherwise wait for the copy), which moves it into
/// the database file within about a second; what was committed reads back
/// the same after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_the_wal_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("installhub.sqlite");
    let store = Store::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let t = given_tenant(&store, "tenant-a").await;
    let before = std::fs::metadata(&path).unwrap().len();
    let filler = "x".repeat(64 * 1024);
    let mut tx = store.begin_install(&t).await.unwrap();
    let written: Vec<NewArtifact> = (0..64)
        .map(|i| {
            let mut a = artifact(&t, &format!("art-{i:02}"));
            a.definition = DefinitionJson::from_value(&json!({ "i": i, "blob": filler }));
            a
        })
        .collect();
    tx.write_artifacts(&written).await.unwrap();
    tx.commit().await.unwrap();

    // About 4 MB committed: into the WAL at once, into the file soon after.
    let mut waited = Duration::ZERO;
    while std::fs::metadata(&path).unwrap().len() < before + 4_000_000 {
        assert!(
            waited < Duration::from_secs(10),
            "the database file stayed at {} bytes",
            std::fs::metadata(&path).unwrap().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    let ids: Vec<_> = written.iter().map(|a| a.id.clone()).collect();
    let read = store.artifacts_by_ids(&t, &ids).await.unwrap();
    assert_eq!(read.len(), 64);
    assert_eq!(read[63].definition, json!({ "i": 63, "blob": filler }));
    store.close().await;
}
