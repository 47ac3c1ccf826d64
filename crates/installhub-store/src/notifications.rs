//! In-app notifications and the durable e-mail outbox (SPEC §8).
//!
//! # Notifications
//!
//! [`Store::notify`] stores a notification for one recipient (the caller
//! identity that may see it: the token's email, else its sub) and, when the
//! notification names an e-mail address, its row in the outbox, in one
//! transaction. [`crate::InstallTx::notify`] does the same inside an install
//! transaction, so an install and its notification commit together.
//! Recipients only ever reach their own: [`Store::list_notifications`] and
//! [`Store::mark_notification_read`] both take the recipient and match it.
//!
//! # The outbox
//!
//! An e-mail is pending while `next_attempt_at` is set. A mailer (several
//! replicas may run one each) claims due e-mails with
//! [`Store::claim_due_emails`], which writes its `lease_owner` and a
//! `lease_until`; nobody else can claim them until that lease runs out (a
//! mailer that died mid-send). It then reports each one:
//! [`Store::email_sent`], or [`Store::email_failed`] with the next attempt's
//! time or `None` to give up (a dead letter, kept with its last error). Both
//! only change a row still leased by the same owner, so a mailer whose lease
//! ran out and was taken over cannot overwrite the new owner's outcome.
//!
//! Claiming is one `UPDATE ... RETURNING` of the chosen rows. On PostgreSQL
//! the choice is `FOR UPDATE SKIP LOCKED`: two mailers claiming at once
//! skip each other's rows instead of waiting or taking the same ones (a row
//! whose claim committed meanwhile is re-checked and no longer due). SQLite
//! has one writer, so the same statement without the locking clause runs
//! alone.

use std::time::Duration;

use chrono::{DateTime, Utc};
use installhub_domain::NotificationKind;
use serde_json::Value;
use sqlx::AnyConnection;

use crate::db::{
    Backend, Store, from_json, from_micros, now_micros, parse_wire, to_json, to_micros,
};
use crate::error::{Result, StoreError};

/// A notification to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    /// Who may see it: the caller identity (token email, else sub).
    pub recipient: String,
    /// Where to e-mail it too, if anywhere (the token's email). The e-mail's
    /// subject is the title; its body is the body and then the link.
    pub email: Option<String>,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    /// An absolute URL (e.g. the import's audit entry).
    pub link: Option<String>,
    /// A JSON object: machine-readable details (the error code, its
    /// message, the import id...).
    pub details: Value,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationRecord {
    /// `ntf-<uuid v4>`.
    pub id: String,
    pub recipient: String,
    pub kind: NotificationKind,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    /// A JSON object.
    pub details: Value,
    /// Stored with microsecond precision.
    pub created_at: DateTime<Utc>,
    /// When the recipient first read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// An e-mail a mailer has claimed and should now send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEmail {
    /// `eml-<uuid v4>`.
    pub id: String,
    /// The notification it tells of, if any.
    pub notification_id: Option<String>,
    pub to: String,
    pub subject: String,
    /// text/plain.
    pub body: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
}

/// The prefix of notification ids.
pub const NOTIFICATION_ID_PREFIX: &str = "ntf-";
/// The prefix of outbox e-mail ids.
pub const EMAIL_ID_PREFIX: &str = "eml-";

const NOTIFICATION_COLUMNS: &str =
    "notification_id, recipient, kind, title, body, link, details, created_at, read_at";

row! {
    struct NotificationRow {
        notification_id: String,
        recipient: String,
        kind: String,
        title: String,
        body: String,
        link: Option<String>,
        details: String,
        created_at: i64,
        read_at: Option<i64>,
    }
}

impl TryFrom<NotificationRow> for NotificationRecord {
    type Error = StoreError;

    fn try_from(row: NotificationRow) -> Result<Self> {
        Ok(NotificationRecord {
            kind: parse_wire(&row.kind, NotificationKind::parse, "notifications.kind")?,
            details: from_json(&row.details, "notifications.details")?,
            created_at: from_micros(row.created_at, "notifications.created_at")?,
            read_at: row
                .read_at
                .map(|at| from_micros(at, "notifications.read_at"))
                .transpose()?,
            id: row.notification_id,
            recipient: row.recipient,
            title: row.title,
            body: row.body,
            link: row.link,
        })
    }
}

row! {
    struct OutboxRow {
        email_id: String,
        notification_id: Option<String>,
        to_address: String,
        subject: String,
        body: String,
        attempts: i64,
        created_at: i64,
    }
}

impl TryFrom<OutboxRow> for OutboxEmail {
    type Error = StoreError;

    fn try_from(row: OutboxRow) -> Result<Self> {
        Ok(OutboxEmail {
            created_at: from_micros(row.created_at, "email_outbox.created_at")?,
            id: row.email_id,
            notification_id: row.notification_id,
            to: row.to_address,
            subject: row.subject,
            body: row.body,
            attempts: row.attempts,
        })
    }
}

/// The text/plain body of a notification's e-mail: its body, then its link.
pub fn email_body(n: &NewNotification) -> String {
    match &n.link {
        Some(link) => format!("{}\n\n{link}\n", n.body.trim_end()),
        None => format!("{}\n", n.body.trim_end()),
    }
}

impl Store {
    /// Stores the notification and, when `email` is `Some`, its outbox row
    /// (due at once), in one transaction. Returns the notification's id.
    /// Fails with [`StoreError::Corrupt`] when `details` is not a JSON
    /// object.
    pub async fn notify(&self, n: &NewNotification) -> Result<String> {
        let mut tx = self.pool.begin().await?;
        let id = insert_notification(&mut tx, n).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The recipient's notifications, newest first (by `created_at`, then
    /// id descending), only unread ones when `unread_only`, at most `limit`.
    /// Pass the last id of a page as `before` for the next page; a cursor
    /// the recipient does not have gives an empty page.
    pub async fn list_notifications(
        &self,
        recipient: &str,
        unread_only: bool,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<NotificationRecord>> {
        let unread = if unread_only {
            "AND read_at IS NULL"
        } else {
            ""
        };
        // A row-value comparison with the cursor's row, as list_imports: a
        // cursor of another recipient matches no row, so the page is empty.
        let query = match before {
            None => format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications \
                 WHERE recipient = $1 {unread} \
                 ORDER BY created_at DESC, notification_id DESC LIMIT $2"
            ),
            Some(_) => format!(
                "SELECT {NOTIFICATION_COLUMNS} FROM notifications \
                 WHERE recipient = $1 {unread} \
                   AND (created_at, notification_id) < \
                       (SELECT created_at, notification_id FROM notifications \
                        WHERE recipient = $1 AND notification_id = $3) \
                 ORDER BY created_at DESC, notification_id DESC LIMIT $2"
            ),
        };
        let mut query = sqlx::query_as::<_, NotificationRow>(&query)
            .bind(recipient)
            .bind(limit);
        if let Some(before) = before {
            query = query.bind(before);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(NotificationRecord::try_from)
            .collect()
    }

    /// How many of the recipient's notifications are unread.
    pub async fn count_unread_notifications(&self, recipient: &str) -> Result<u64> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM notifications WHERE recipient = $1 AND read_at IS NULL",
        )
        .bind(recipient)
        .fetch_one(&self.pool)
        .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Marks the recipient's notification read and returns it; `read_at`
    /// stays that of the first read. `None` when the recipient has no
    /// notification with this id (another recipient's is `None` too).
    pub async fn mark_notification_read(
        &self,
        recipient: &str,
        id: &str,
    ) -> Result<Option<NotificationRecord>> {
        let sql = format!(
            "UPDATE notifications SET read_at = COALESCE(read_at, $3) \
             WHERE notification_id = $1 AND recipient = $2 \
             RETURNING {NOTIFICATION_COLUMNS}"
        );
        sqlx::query_as::<_, NotificationRow>(&sql)
            .bind(id)
            .bind(recipient)
            .bind(now_micros())
            .fetch_optional(&self.pool)
            .await?
            .map(NotificationRecord::try_from)
            .transpose()
    }

    /// Claims up to `max` due e-mails for `owner` for `lease` (oldest due
    /// first), counting an attempt for each. Two claimers never get the
    /// same e-mail while its lease runs (see the module documentation).
    pub async fn claim_due_emails(
        &self,
        owner: &str,
        lease: Duration,
        max: i64,
    ) -> Result<Vec<OutboxEmail>> {
        let now = now_micros();
        let lease = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
        let locking = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // One writer: the UPDATE runs alone.
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE email_outbox SET lease_owner = $1, lease_until = $2, \
               attempts = attempts + 1 \
             WHERE email_id IN ( \
               SELECT email_id FROM email_outbox \
               WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= $3 \
                 AND (lease_until IS NULL OR lease_until <= $3) \
               ORDER BY next_attempt_at, email_id LIMIT $4 {locking}) \
             RETURNING email_id, notification_id, to_address, subject, body, attempts, \
               created_at"
        );
        let mut claimed = sqlx::query_as::<_, OutboxRow>(&sql)
            .bind(owner)
            .bind(now.saturating_add(lease))
            .bind(now)
            .bind(max)
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(OutboxEmail::try_from)
            .collect::<Result<Vec<_>>>()?;
        // RETURNING keeps no order.
        claimed.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(claimed)
    }

    /// Records that `owner` sent the e-mail: it is no longer pending.
    /// Returns `false`, changing nothing, unless `owner` still holds its
    /// claim (it was taken over after the lease ran out, or already
    /// settled).
    pub async fn email_sent(&self, id: &str, owner: &str) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE email_outbox SET sent_at = $3, next_attempt_at = NULL, last_error = NULL, \
               lease_owner = NULL, lease_until = NULL \
             WHERE email_id = $1 AND lease_owner = $2 AND next_attempt_at IS NOT NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(now_micros())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records that `owner` failed to send the e-mail with `error`: it is
    /// due again at `retry_at`, or with `None` given up (kept as a dead
    /// letter with `error`). Releases the claim. Returns `false`, changing
    /// nothing, unless `owner` still holds the claim.
    pub async fn email_failed(
        &self,
        id: &str,
        owner: &str,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE email_outbox SET next_attempt_at = $3, last_error = $4, \
               lease_owner = NULL, lease_until = NULL \
             WHERE email_id = $1 AND lease_owner = $2 AND next_attempt_at IS NOT NULL",
        )
        .bind(id)
        .bind(owner)
        .bind(retry_at.map(to_micros))
        .bind(error)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// How many e-mails are still to be sent (neither sent nor given up),
    /// claimed or not.
    pub async fn pending_email_count(&self) -> Result<i64> {
        let (count,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM email_outbox WHERE next_attempt_at IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        Ok(count)
    }
}

/// The one insert behind [`Store::notify`] and [`crate::InstallTx::notify`]:
/// the notification, then its e-mail, on a connection in a transaction.
pub(crate) async fn insert_notification(
    conn: &mut AnyConnection,
    n: &NewNotification,
) -> Result<String> {
    if !n.details.is_object() {
        return Err(StoreError::Corrupt(format!(
            "notification details must be a JSON object, not {}",
            n.details
        )));
    }
    let id = format!("{NOTIFICATION_ID_PREFIX}{}", uuid::Uuid::new_v4());
    let now = now_micros();
    let sql = format!(
        "INSERT INTO notifications ({NOTIFICATION_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)"
    );
    sqlx::query(&sql)
        .bind(id.as_str())
        .bind(n.recipient.as_str())
        .bind(n.kind.as_str())
        .bind(n.title.as_str())
        .bind(n.body.as_str())
        .bind(n.link.as_deref())
        .bind(to_json(&n.details, "notification details")?)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    if let Some(to) = &n.email {
        let email_id = format!("{EMAIL_ID_PREFIX}{}", uuid::Uuid::new_v4());
        sqlx::query(
            "INSERT INTO email_outbox (email_id, notification_id, to_address, subject, body, \
               created_at, attempts, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $6)",
        )
        .bind(email_id)
        .bind(id.as_str())
        .bind(to.as_str())
        .bind(n.title.as_str())
        .bind(email_body(n))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}
