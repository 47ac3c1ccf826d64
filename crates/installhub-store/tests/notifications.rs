//! In-app notifications and the e-mail outbox, on SQLite and PostgreSQL
//! (`sqlite::*` and `postgres::*`).

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::Utc;
use installhub_domain::NotificationKind;
use installhub_store::{NewNotification, Store, StoreError};
use serde_json::json;

use common::Ctx;
use common::fixtures::*;

backend_suite!(
    recipients_list_their_own_newest_first,
    unread_filter_and_paging,
    reading_is_idempotent_and_only_for_the_recipient,
    details_must_be_an_object,
    an_email_is_queued_with_its_notification,
    an_install_transaction_notifies_with_its_commit,
    two_claimers_never_get_the_same_email,
    an_expired_lease_lets_another_claim,
    sent_and_failed_are_fenced_by_owner,
    failures_retry_later_or_give_up,
);

const LEASE: Duration = Duration::from_secs(60);

fn note(recipient: &str, title: &str) -> NewNotification {
    NewNotification {
        recipient: recipient.to_owned(),
        email: None,
        kind: NotificationKind::InstallSucceeded,
        title: title.to_owned(),
        body: format!("{title}: installed."),
        link: None,
        details: json!({ "importId": "imp-1" }),
    }
}

fn mailed(recipient: &str, title: &str) -> NewNotification {
    NewNotification {
        email: Some(format!("{recipient}@example.com")),
        link: Some(format!("https://hub.example.com/audit/{title}")),
        ..note(recipient, title)
    }
}

/// Notifies in turn, a millisecond apart so `created_at` differs too.
async fn notify_all(store: &Store, notes: &[NewNotification]) -> Vec<String> {
    let mut ids = Vec::new();
    for n in notes {
        ids.push(store.notify(n).await.unwrap());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    ids
}

async fn recipients_list_their_own_newest_first(ctx: Ctx) {
    let store = &ctx.store;
    let ids = notify_all(
        store,
        &[
            note("ann", "one"),
            note("bob", "bob's"),
            note("ann", "two"),
            note("ann", "three"),
        ],
    )
    .await;
    for id in &ids {
        assert!(id.starts_with("ntf-") && id.len() == 40, "{id}");
    }

    let ann = store
        .list_notifications("ann", false, None, 50)
        .await
        .unwrap();
    let titles: Vec<&str> = ann.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, ["three", "two", "one"]);
    assert!(ann.iter().all(|n| n.recipient == "ann"));
    let first = ann.last().unwrap();
    assert_eq!(first.id, ids[0]);
    assert_eq!(first.kind, NotificationKind::InstallSucceeded);
    assert_eq!(first.body, "one: installed.");
    assert_eq!(first.link, None);
    assert_eq!(first.details, json!({ "importId": "imp-1" }));
    assert_eq!(first.read_at, None);
    assert!((Utc::now() - first.created_at).num_seconds() < 60);

    let bob = store
        .list_notifications("bob", false, None, 50)
        .await
        .unwrap();
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0].id, ids[1]);
    // Recipients are compared exactly.
    assert!(
        store
            .list_notifications("Ann", false, None, 50)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn unread_filter_and_paging(ctx: Ctx) {
    let store = &ctx.store;
    let notes: Vec<NewNotification> = (0..7).map(|i| note("ann", &format!("n{i}"))).collect();
    let ids = notify_all(store, &notes).await;
    notify_all(store, &[note("bob", "other")]).await;
    store.mark_notification_read("ann", &ids[5]).await.unwrap();
    store.mark_notification_read("ann", &ids[2]).await.unwrap();

    // Pages of 2 over all seven, newest first.
    let mut seen = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let page = store
            .list_notifications("ann", false, before.as_deref(), 2)
            .await
            .unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        before = Some(page.last().unwrap().id.clone());
        seen.extend(page.into_iter().map(|n| n.title));
    }
    assert_eq!(seen, ["n6", "n5", "n4", "n3", "n2", "n1", "n0"]);

    // Unread only, paged too.
    let page = store
        .list_notifications("ann", true, None, 3)
        .await
        .unwrap();
    let titles: Vec<&str> = page.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, ["n6", "n4", "n3"]);
    assert!(page.iter().all(|n| n.read_at.is_none()));
    let rest = store
        .list_notifications("ann", true, Some(&page[2].id), 3)
        .await
        .unwrap();
    let titles: Vec<&str> = rest.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, ["n1", "n0"]);
    // A read notification still works as a cursor for the unread list.
    let after_read = store
        .list_notifications("ann", true, Some(&ids[5]), 10)
        .await
        .unwrap();
    let titles: Vec<&str> = after_read.iter().map(|n| n.title.as_str()).collect();
    assert_eq!(titles, ["n4", "n3", "n1", "n0"]);

    // Another recipient's id, or an unknown one, as a cursor: empty page.
    let bobs = store
        .list_notifications("bob", false, None, 1)
        .await
        .unwrap();
    assert!(
        store
            .list_notifications("ann", false, Some(&bobs[0].id), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_notifications("ann", false, Some("ntf-nope"), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn reading_is_idempotent_and_only_for_the_recipient(ctx: Ctx) {
    let store = &ctx.store;
    let ids = notify_all(store, &[note("ann", "mine"), note("bob", "his")]).await;

    let read = store
        .mark_notification_read("ann", &ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.id, ids[0]);
    assert_eq!(read.title, "mine");
    let first_read = read.read_at.expect("read_at set");

    tokio::time::sleep(Duration::from_millis(5)).await;
    let again = store
        .mark_notification_read("ann", &ids[0])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.read_at, Some(first_read), "the first read is kept");
    assert_eq!(again, read);

    // Bob's, read by Ann: not there, and still unread for Bob.
    assert_eq!(
        store.mark_notification_read("ann", &ids[1]).await.unwrap(),
        None
    );
    let bobs = store
        .list_notifications("bob", true, None, 10)
        .await
        .unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].read_at, None);
    assert_eq!(
        store
            .mark_notification_read("ann", "ntf-unknown")
            .await
            .unwrap(),
        None
    );
}

async fn details_must_be_an_object(ctx: Ctx) {
    let store = &ctx.store;
    let mut n = mailed("ann", "bad");
    n.details = json!(["not", "an", "object"]);
    let err = store.notify(&n).await.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    assert!(err.to_string().contains("JSON object"), "{err}");
    assert!(
        store
            .list_notifications("ann", false, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.pending_email_count().await.unwrap(), 0);
}

async fn an_email_is_queued_with_its_notification(ctx: Ctx) {
    let store = &ctx.store;
    notify_all(store, &[note("bob", "no mail")]).await;
    assert_eq!(store.pending_email_count().await.unwrap(), 0);

    let mut n = mailed("ann", "failed-install");
    n.kind = NotificationKind::InstallFailed;
    n.body = "Installing crm-sync 1.2.0 into tenant-a failed: SecurityScanFailed.\n".to_owned();
    let id = store.notify(&n).await.unwrap();
    assert_eq!(store.pending_email_count().await.unwrap(), 1);

    let claimed = store.claim_due_emails("mailer-1", LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let email = &claimed[0];
    assert!(
        email.id.starts_with("eml-") && email.id.len() == 40,
        "{email:?}"
    );
    assert_eq!(email.notification_id.as_deref(), Some(id.as_str()));
    assert_eq!(email.to, "ann@example.com");
    assert_eq!(email.subject, "failed-install");
    assert_eq!(
        email.body,
        "Installing crm-sync 1.2.0 into tenant-a failed: SecurityScanFailed.\n\n\
         https://hub.example.com/audit/failed-install\n"
    );
    assert_eq!(email.attempts, 1);

    let stored = store
        .list_notifications("ann", false, None, 10)
        .await
        .unwrap();
    assert_eq!(stored[0].kind, NotificationKind::InstallFailed);
    assert_eq!(
        stored[0].link.as_deref(),
        Some("https://hub.example.com/audit/failed-install")
    );

    assert!(store.email_sent(&email.id, "mailer-1").await.unwrap());
    assert_eq!(store.pending_email_count().await.unwrap(), 0);
    assert!(
        store
            .claim_due_emails("mailer-1", LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "a sent e-mail is never claimed again"
    );
    // Settled: a second report changes nothing.
    assert!(!store.email_sent(&email.id, "mailer-1").await.unwrap());
    assert!(
        !store
            .email_failed(&email.id, "mailer-1", "late", None)
            .await
            .unwrap()
    );
}

async fn an_install_transaction_notifies_with_its_commit(ctx: Ctx) {
    let store = &ctx.store;
    let t = given_tenant(store, "tenant-a").await;

    let mut tx = store.begin_install(&t).await.unwrap();
    tx.notify(&mailed("ann", "rolled back")).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(
        store
            .list_notifications("ann", false, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.pending_email_count().await.unwrap(), 0);

    let mut tx = store.begin_install(&t).await.unwrap();
    let id = tx.notify(&mailed("ann", "committed")).await.unwrap();
    tx.commit().await.unwrap();
    let listed = store
        .list_notifications("ann", false, None, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(store.pending_email_count().await.unwrap(), 1);
}

async fn two_claimers_never_get_the_same_email(ctx: Ctx) {
    let store = &ctx.store;
    let notes: Vec<NewNotification> = (0..40).map(|i| mailed("ann", &format!("m{i}"))).collect();
    for n in &notes {
        store.notify(n).await.unwrap();
    }
    // Two replicas: two stores (two pools) on the same database, claiming
    // small batches at the same time until nothing is left.
    let second = Store::connect(&ctx.url).await.unwrap();
    let claimer = |store: Store, owner: &'static str| {
        tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = store.claim_due_emails(owner, LEASE, 3).await.unwrap();
                if batch.is_empty() {
                    break got;
                }
                assert!(batch.len() <= 3);
                got.extend(batch.into_iter().map(|e| e.id));
            }
        })
    };
    let a = claimer(store.clone(), "mailer-a");
    let b = claimer(second.clone(), "mailer-b");
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    second.close().await;

    let all: BTreeSet<&String> = a.iter().chain(&b).collect();
    assert_eq!(a.len() + b.len(), 40, "a: {}, b: {}", a.len(), b.len());
    assert_eq!(all.len(), 40, "an e-mail was claimed twice");
    // Each owner reports its own.
    for id in &a {
        assert!(store.email_sent(id, "mailer-a").await.unwrap());
    }
    for id in &b {
        assert!(!store.email_sent(id, "mailer-a").await.unwrap());
        assert!(store.email_sent(id, "mailer-b").await.unwrap());
    }
    assert_eq!(store.pending_email_count().await.unwrap(), 0);
}

async fn an_expired_lease_lets_another_claim(ctx: Ctx) {
    let store = &ctx.store;
    store.notify(&mailed("ann", "slow")).await.unwrap();
    let short = Duration::from_millis(300);

    let first = store.claim_due_emails("mailer-a", short, 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store
            .claim_due_emails("mailer-b", LEASE, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased to mailer-a"
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let taken = store.claim_due_emails("mailer-b", LEASE, 10).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].id, first[0].id);
    assert_eq!(taken[0].attempts, 2, "each claim counts an attempt");

    // mailer-a wakes up late: its reports change nothing.
    assert!(!store.email_sent(&first[0].id, "mailer-a").await.unwrap());
    assert!(
        !store
            .email_failed(&first[0].id, "mailer-a", "timed out", None)
            .await
            .unwrap()
    );
    assert_eq!(store.pending_email_count().await.unwrap(), 1);
    assert!(store.email_sent(&taken[0].id, "mailer-b").await.unwrap());
    assert_eq!(store.pending_email_count().await.unwrap(), 0);
}

async fn sent_and_failed_are_fenced_by_owner(ctx: Ctx) {
    let store = &ctx.store;
    notify_all(store, &[mailed("ann", "one"), mailed("ann", "two")]).await;
    let claimed = store.claim_due_emails("mailer-a", LEASE, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let subjects: Vec<&str> = claimed.iter().map(|e| e.subject.as_str()).collect();
    assert_eq!(subjects, ["one", "two"], "oldest first");

    let (one, two) = (&claimed[0].id, &claimed[1].id);
    assert!(!store.email_sent(one, "mailer-b").await.unwrap());
    assert!(
        !store
            .email_failed(two, "mailer-b", "not mine", None)
            .await
            .unwrap()
    );
    assert!(!store.email_sent("eml-unknown", "mailer-a").await.unwrap());
    assert_eq!(store.pending_email_count().await.unwrap(), 2);

    let mut conn = raw(&ctx).await;
    let row: (Option<String>, Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT lease_owner, sent_at, last_error FROM email_outbox WHERE email_id = $1",
    )
    .bind(two.as_str())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(row, (Some("mailer-a".to_owned()), None, None));

    assert!(store.email_sent(one, "mailer-a").await.unwrap());
    assert!(
        store
            .email_failed(two, "mailer-a", "550 mailbox unavailable", None)
            .await
            .unwrap()
    );
    assert_eq!(store.pending_email_count().await.unwrap(), 0);
}

async fn failures_retry_later_or_give_up(ctx: Ctx) {
    let store = &ctx.store;
    store.notify(&mailed("ann", "flaky")).await.unwrap();
    let id = store.claim_due_emails("mailer-a", LEASE, 10).await.unwrap()[0]
        .id
        .clone();

    // Retry in an hour: pending, not due, claimable by nobody now.
    let later = Utc::now() + chrono::Duration::hours(1);
    assert!(
        store
            .email_failed(&id, "mailer-a", "connection refused", Some(later))
            .await
            .unwrap()
    );
    assert_eq!(store.pending_email_count().await.unwrap(), 1);
    assert!(
        store
            .claim_due_emails("mailer-b", LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // Retry now: claimable again (by anyone), the attempts counted.
    let mut conn = raw(&ctx).await;
    sqlx::query("UPDATE email_outbox SET next_attempt_at = $1 WHERE email_id = $2")
        .bind(Utc::now().timestamp_micros() - 1)
        .bind(id.as_str())
        .execute(&mut conn)
        .await
        .unwrap();
    let again = store.claim_due_emails("mailer-b", LEASE, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].attempts, 2);

    // Give up: kept as a dead letter with its last error, never claimed.
    assert!(
        store
            .email_failed(&id, "mailer-b", "550 no such user", None)
            .await
            .unwrap()
    );
    assert_eq!(store.pending_email_count().await.unwrap(), 0);
    assert!(
        store
            .claim_due_emails("mailer-b", LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let row: (
        i64,
        Option<i64>,
        Option<i64>,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT attempts, next_attempt_at, sent_at, last_error, lease_owner \
         FROM email_outbox WHERE email_id = $1",
    )
    .bind(id.as_str())
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        row,
        (2, None, None, Some("550 no such user".to_owned()), None)
    );
}
