//! The audit log: who did what to which tenant, and how it went. Rows are
//! only ever appended.

use chrono::{DateTime, Utc};
use installhub_domain::TenantId;
use serde_json::Value;
use sqlx::{Any, Executor};

use crate::db::{Store, from_json, from_micros, parse_wire, to_json, to_micros};
use crate::error::{Result, StoreError};

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOutcome {
    Success,
    Failure,
}

impl AuditOutcome {
    /// `Success` or `Failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Success => "Success",
            AuditOutcome::Failure => "Failure",
        }
    }

    /// Parses `Success` or `Failure` exactly.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "Success" => Some(AuditOutcome::Success),
            "Failure" => Some(AuditOutcome::Failure),
            _ => None,
        }
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Set by the store; ignored by [`Store::record_audit`].
    pub id: Option<i64>,
    /// Stored with microsecond precision.
    pub at: DateTime<Utc>,
    pub tenant_id: TenantId,
    /// The token's email, else its subject (SPEC §2).
    pub actor: String,
    /// What was done, e.g. `export`.
    pub action: String,
    /// What it was done to, e.g. a package id.
    pub subject: Option<String>,
    pub outcome: AuditOutcome,
    pub details: Value,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: i64,
    at: i64,
    tenant_id: String,
    actor: String,
    action: String,
    subject: Option<String>,
    outcome: String,
    details: String,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = StoreError;

    fn try_from(row: AuditRow) -> Result<Self> {
        Ok(AuditEntry {
            id: Some(row.id),
            at: from_micros(row.at, "audit_log.at")?,
            outcome: parse_wire(&row.outcome, AuditOutcome::parse, "audit_log.outcome")?,
            details: from_json(&row.details, "audit_log.details")?,
            tenant_id: TenantId::from_trusted(row.tenant_id),
            actor: row.actor,
            action: row.action,
            subject: row.subject,
        })
    }
}

const AUDIT_COLUMNS: &str = "id, at, tenant_id, actor, action, subject, outcome, details";

impl Store {
    /// Appends an entry and returns its id. Ids grow with every entry, so
    /// they order entries by when they were recorded.
    pub async fn record_audit(&self, entry: &AuditEntry) -> Result<i64> {
        insert_audit(&self.pool, entry).await
    }

    /// A tenant's entries, newest first, at most `limit` (negative counts as
    /// 0), only those whose `action` is exactly `action` (e.g. `import`) when
    /// one is given. Pass the last id of a page as `before` to get the next.
    pub async fn list_audit(
        &self,
        tenant_id: &TenantId,
        action: Option<&str>,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>> {
        let action_filter = if action.is_some() {
            "AND action = $4"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND id < $2 \
             {action_filter} ORDER BY id DESC LIMIT $3"
        );
        let mut query = sqlx::query_as::<_, AuditRow>(&sql)
            .bind(tenant_id.as_str())
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit.max(0));
        if let Some(action) = action {
            query = query.bind(action);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(AuditEntry::try_from)
            .collect()
    }
}

/// [`Store::record_audit`] on any executor (the pool, or an install
/// transaction so the entry commits or rolls back with the install).
pub(crate) async fn insert_audit<'c, E>(executor: E, entry: &AuditEntry) -> Result<i64>
where
    E: Executor<'c, Database = Any>,
{
    let details = to_json(&entry.details, "audit details")?;
    // RETURNING works on both backends; the id comes from AUTOINCREMENT
    // on SQLite and an identity column on PostgreSQL.
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO audit_log (at, tenant_id, actor, action, subject, outcome, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(to_micros(entry.at))
    .bind(entry.tenant_id.as_str())
    .bind(entry.actor.as_str())
    .bind(entry.action.as_str())
    .bind(entry.subject.as_deref())
    .bind(entry.outcome.as_str())
    .bind(details.as_str())
    .fetch_one(executor)
    .await?;
    Ok(id)
}
