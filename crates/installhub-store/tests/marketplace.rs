//! The marketplace's listings and versions, on SQLite and PostgreSQL.

#[macro_use]
mod common;

use installhub_domain::marketplace::TrustLevel;
use installhub_domain::{ListingId, PackageType, TenantId, Verdict};
use installhub_store::{
    ListingDescription, ListingQuery, ListingRecord, ListingVersionRecord, Store, StoreError,
};
use serde_json::json;

use common::Ctx;
use common::fixtures::*;

backend_suite!(
    a_first_publish_creates_a_community_listing_owned_by_its_tenant,
    racing_first_publishes_share_one_listing,
    a_version_is_published_once,
    a_listing_without_versions_is_not_there,
    search_filters_and_pages,
    trust_level_yank_and_delisting_change_and_are_audited,
);

fn description(
    name: &str,
    summary: &str,
    publisher: &str,
    categories: &[&str],
) -> ListingDescription {
    ListingDescription {
        name: name.to_owned(),
        package_type: PackageType::Workflow,
        summary: summary.to_owned(),
        publisher: publisher.to_owned(),
        categories: categories.iter().map(|c| (*c).to_owned()).collect(),
    }
}

/// A package of `tenant` stored, and the version record publishing it.
async fn version_of(
    store: &Store,
    tenant: &TenantId,
    listing: &ListingRecord,
    version: &str,
) -> ListingVersionRecord {
    let package = package(tenant, &listing.name, version, 1_000_000);
    store.insert_package(&package).await.unwrap();
    ListingVersionRecord {
        listing_id: listing.listing_id.clone(),
        version: version.to_owned(),
        source_package_id: package.package_id.clone(),
        package_type: PackageType::Workflow,
        manifest_checksum: package.checksum.clone(),
        bundle_sha256: package.bundle_sha256.clone(),
        bundle_size: 1234,
        bundle_key: format!("cdn/sha256/{}.zip", package.bundle_sha256),
        signature: "c2ln".to_owned(),
        key_id: "ed25519-0123456789abcdef".to_owned(),
        scan_result: Verdict::Warn,
        scan_findings: json!([{ "ruleId": "plain-http" }]),
        published_at: at_micros(2_000_000 + i64::from(version.as_bytes()[0])),
        published_by: "publisher@company.com".to_owned(),
        yanked: None,
        deprecated: None,
    }
}

async fn publish(
    store: &Store,
    tenant: &TenantId,
    d: &ListingDescription,
    version: &str,
) -> ListingRecord {
    let (listing, _) = store.ensure_listing(d, tenant).await.unwrap();
    let v = version_of(store, tenant, &listing, version).await;
    store.insert_listing_version(&v, d, tenant).await.unwrap();
    store
        .get_listing(&listing.listing_id)
        .await
        .unwrap()
        .unwrap()
}

async fn a_first_publish_creates_a_community_listing_owned_by_its_tenant(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let d = description("HR Onboarding", "Onboarding flows", "Acme HR", &["hr"]);
    let (listing, created) = store.ensure_listing(&d, &tenant).await.unwrap();
    assert!(created);
    assert_eq!(listing.trust_level, TrustLevel::Community);
    assert_eq!(listing.owner_tenant_id, tenant);
    assert!(ListingId::parse(listing.listing_id.as_str()).is_ok());
    // The same name in another case is the same listing.
    let (again, created) = store
        .ensure_listing(&description("hr onboarding", "x", "y", &[]), &tenant)
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.listing_id, listing.listing_id);
    assert_eq!(again.name, "HR Onboarding");

    let v = version_of(store, &tenant, &listing, "1.0.0").await;
    let newer = description(
        "HR Onboarding",
        "Onboarding flows, v2",
        "Acme HR",
        &["hr", "people"],
    );
    store
        .insert_listing_version(&v, &newer, &tenant)
        .await
        .unwrap();
    let stored = store
        .get_listing(&listing.listing_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.summary, "Onboarding flows, v2");
    assert_eq!(stored.categories, ["hr", "people"]);
    assert_eq!(stored.updated_at, v.published_at);
    let versions = store.listing_versions(&listing.listing_id).await.unwrap();
    assert_eq!(versions, std::slice::from_ref(&v));
    let audit = store
        .list_audit(&tenant, Some("marketplace-publish"), 10, None)
        .await
        .unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        audit[0].subject.as_deref(),
        Some(listing.listing_id.as_str())
    );
    assert_eq!(audit[0].actor, "publisher@company.com");
    assert_eq!(
        audit[0].details,
        json!({ "name": "HR Onboarding", "version": "1.0.0", "sourcePackageId": v.source_package_id, "bundleSha256": v.bundle_sha256, "securityScanResult": "WARN" })
    );
}

async fn racing_first_publishes_share_one_listing(ctx: Ctx) {
    let tenant = given_tenant(&ctx.store, "tenant-a").await;
    let d = description("Race", "s", "p", &[]);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, d, tenant) = (ctx.store.clone(), d.clone(), tenant.clone());
            tokio::spawn(async move { store.ensure_listing(&d, &tenant).await.unwrap() })
        })
        .collect();
    let mut ids = Vec::new();
    let mut created = 0;
    for task in tasks {
        let (listing, new) = task.await.unwrap();
        ids.push(listing.listing_id);
        created += usize::from(new);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(created, 1);
}

async fn a_version_is_published_once(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let d = description("Leave", "s", "p", &[]);
    let listing = publish(store, &tenant, &d, "1.0.0").await;
    let mut twice = store
        .listing_versions(&listing.listing_id)
        .await
        .unwrap()
        .remove(0);
    twice.signature = "b3RoZXI".to_owned();
    let err = store
        .insert_listing_version(&twice, &d, &tenant)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err:?}");
    // Nothing of the refused publish stays: one version, one audit entry.
    assert_eq!(
        store
            .listing_versions(&listing.listing_id)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store
            .list_audit(&tenant, Some("marketplace-publish"), 10, None)
            .await
            .unwrap()
            .len(),
        1
    );
    let second = version_of(store, &tenant, &listing, "1.1.0").await;
    store
        .insert_listing_version(&second, &d, &tenant)
        .await
        .unwrap();
    let versions: Vec<String> = store
        .listing_versions(&listing.listing_id)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, ["1.0.0", "1.1.0"]);
}

async fn a_listing_without_versions_is_not_there(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let (listing, _) = store
        .ensure_listing(&description("Half", "s", "p", &[]), &tenant)
        .await
        .unwrap();
    assert!(
        store
            .get_listing(&listing.listing_id)
            .await
            .unwrap()
            .is_none()
    );
    let query = ListingQuery {
        limit: 10,
        ..ListingQuery::default()
    };
    assert!(store.search_listings(&query).await.unwrap().is_empty());
}

async fn search_filters_and_pages(ctx: Ctx) {
    let store = &ctx.store;
    let a = given_tenant(store, "tenant-a").await;
    let b = given_tenant(store, "tenant-b").await;
    publish(
        store,
        &a,
        &description(
            "Leave Requests",
            "Approve 100% of leave_days",
            "Acme HR",
            &["hr", "leave"],
        ),
        "1.0.0",
    )
    .await;
    publish(
        store,
        &a,
        &description(
            "Invoice Approval",
            "Finance approvals",
            "Acme Finance",
            &["finance"],
        ),
        "2.0.0",
    )
    .await;
    let forms = ListingDescription {
        package_type: PackageType::Form,
        ..description(
            "Onboarding Forms",
            "Forms for new hires",
            "Beta Corp",
            &["hr-forms"],
        )
    };
    let onboarding = publish(store, &b, &forms, "0.1.0").await;
    let names = |found: Vec<(ListingRecord, (String, String))>| -> Vec<String> {
        found.into_iter().map(|(l, _)| l.name).collect()
    };
    let search = |query: ListingQuery| async move {
        store
            .search_listings(&ListingQuery { limit: 10, ..query })
            .await
            .unwrap()
    };

    assert_eq!(
        names(search(ListingQuery::default()).await),
        ["Invoice Approval", "Leave Requests", "Onboarding Forms"]
    );
    assert_eq!(
        names(
            search(ListingQuery {
                q: Some("APPROV".into()),
                ..Default::default()
            })
            .await
        ),
        ["Invoice Approval", "Leave Requests"]
    );
    assert_eq!(
        names(
            search(ListingQuery {
                q: Some("approve leave".into()),
                ..Default::default()
            })
            .await
        ),
        ["Leave Requests"]
    );
    // LIKE's own characters are literal.
    assert_eq!(
        names(
            search(ListingQuery {
                q: Some("100%".into()),
                ..Default::default()
            })
            .await
        ),
        ["Leave Requests"]
    );
    assert_eq!(
        names(
            search(ListingQuery {
                // As a wildcard `_` would match "leave requests".
                q: Some("e_r".into()),
                ..Default::default()
            })
            .await
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        names(
            search(ListingQuery {
                q: Some("acme finance".into()),
                ..Default::default()
            })
            .await
        ),
        ["Invoice Approval"]
    );
    assert_eq!(
        names(
            search(ListingQuery {
                publisher: Some("acme hr".into()),
                ..Default::default()
            })
            .await
        ),
        ["Leave Requests"]
    );
    assert_eq!(
        names(
            search(ListingQuery {
                category: Some("hr".into()),
                ..Default::default()
            })
            .await
        ),
        ["Leave Requests"]
    );
    assert_eq!(
        names(
            search(ListingQuery {
                package_type: Some(PackageType::Form),
                ..Default::default()
            })
            .await
        ),
        ["Onboarding Forms"]
    );
    assert_eq!(
        names(
            search(ListingQuery {
                trust_level: Some(TrustLevel::Verified),
                ..Default::default()
            })
            .await
        ),
        Vec::<String>::new()
    );

    // Pages of one, by cursor.
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let page = store
            .search_listings(&ListingQuery {
                limit: 1,
                after: after.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        let Some((listing, cursor)) = page.into_iter().next() else {
            break;
        };
        seen.push(listing.name);
        after = Some(cursor);
    }
    assert_eq!(
        seen,
        ["Invoice Approval", "Leave Requests", "Onboarding Forms"]
    );

    // Delisted listings leave search unless asked for.
    assert!(
        store
            .set_delisting(&onboarding, Some("superseded"), "admin@company.com")
            .await
            .unwrap()
    );
    assert_eq!(names(search(ListingQuery::default()).await).len(), 2);
    assert_eq!(
        names(
            search(ListingQuery {
                include_delisted: true,
                ..Default::default()
            })
            .await
        )
        .len(),
        3
    );
}

async fn trust_level_yank_and_delisting_change_and_are_audited(ctx: Ctx) {
    let store = &ctx.store;
    let tenant = given_tenant(store, "tenant-a").await;
    let listing = publish(
        store,
        &tenant,
        &description("Leave", "s", "p", &[]),
        "1.0.0",
    )
    .await;

    store
        .set_trust_level(&listing, TrustLevel::Verified, "admin@company.com")
        .await
        .unwrap();
    let listing = store
        .get_listing(&listing.listing_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(listing.trust_level, TrustLevel::Verified);

    assert!(
        store
            .set_yank(&listing, "1.0.0", Some("broken"), "publisher@company.com")
            .await
            .unwrap()
    );
    // A second yank keeps the first one's record.
    assert!(
        !store
            .set_yank(&listing, "1.0.0", Some("again"), "other@company.com")
            .await
            .unwrap()
    );
    let yanked = store
        .listing_versions(&listing.listing_id)
        .await
        .unwrap()
        .remove(0)
        .yanked
        .unwrap();
    assert_eq!(
        (yanked.by.as_str(), yanked.reason.as_str()),
        ("publisher@company.com", "broken")
    );
    assert!(
        store
            .set_yank(&listing, "1.0.0", None, "publisher@company.com")
            .await
            .unwrap()
    );
    assert!(
        store.listing_versions(&listing.listing_id).await.unwrap()[0]
            .yanked
            .is_none()
    );
    let missing = store
        .set_yank(&listing, "9.9.9", Some("x"), "a")
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing:?}");

    assert!(
        store
            .set_delisting(&listing, Some("policy"), "admin@company.com")
            .await
            .unwrap()
    );
    let delisted = store
        .get_listing(&listing.listing_id)
        .await
        .unwrap()
        .unwrap()
        .delisted
        .unwrap();
    assert_eq!(delisted.reason, "policy");
    assert!(
        !store
            .set_delisting(&listing, Some("again"), "admin@company.com")
            .await
            .unwrap()
    );
    assert!(
        store
            .set_delisting(&listing, None, "admin@company.com")
            .await
            .unwrap()
    );
    assert!(
        store
            .get_listing(&listing.listing_id)
            .await
            .unwrap()
            .unwrap()
            .delisted
            .is_none()
    );

    let actions: Vec<(String, serde_json::Value)> = store
        .list_audit(&tenant, None, 20, None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("marketplace-"))
        .map(|e| (e.action, e.details))
        .collect();
    assert_eq!(
        actions,
        [
            (
                "marketplace-delist".to_owned(),
                json!({ "delisted": false })
            ),
            (
                "marketplace-delist".to_owned(),
                json!({ "delisted": true, "reason": "policy" })
            ),
            (
                "marketplace-yank".to_owned(),
                json!({ "version": "1.0.0", "yanked": false })
            ),
            (
                "marketplace-yank".to_owned(),
                json!({ "version": "1.0.0", "yanked": true, "reason": "broken" })
            ),
            (
                "marketplace-trust-level".to_owned(),
                json!({ "from": "Community", "to": "Verified" })
            ),
            (
                "marketplace-publish".to_owned(),
                actions.last().unwrap().1.clone()
            ),
        ]
    );
}
