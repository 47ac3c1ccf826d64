//! The audit log: who did what to which tenant, and how it went. Rows are
//! only ever appended, and only from an [`AuditEvent`]: each action's
//! `action`, `subject`, `outcome` and `details` are spelled here, once, so
//! the log's wire shape cannot drift between the routes that write it.

use chrono::{DateTime, Utc};
use installhub_domain::marketplace::TrustLevel;
use installhub_domain::{
    ArtifactId, ArtifactStatus, ArtifactType, ConflictStrategy, ErrorCode, Failure, ImportId,
    ListingId, PackageId, Plan, Tenant, TenantId, TenantStatus, Verdict,
};
use serde::Serialize;
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

/// What happened, one variant per audited action, with the details each
/// records. [`AuditEvent::action`] is the `action` of its entries (what
/// `GET /api/installhub/audit?action=` filters on).
#[derive(Debug, Clone, PartialEq)]
pub enum AuditEvent {
    /// `export`, `Success`: a package was created.
    Export(PackageExported),
    /// `export`, `Failure`: the export was refused or failed.
    ExportRefused(Refusal),
    /// `import`, `Success`: a package was installed, or a dry run checked.
    Import(PackageImported),
    /// `import`, `Failure`.
    ImportFailed(ImportFailed),
    /// `tenant-put`: a tenant was created or updated.
    TenantPut(TenantPut),
    /// `artifact-put`: an artifact was created or replaced.
    ArtifactPut(ArtifactPut),
    /// `artifact-delete`: an artifact was marked `Deleted`.
    ArtifactDelete { artifact_id: ArtifactId },
    /// `marketplace-*`: a listing of the tenant changed on the marketplace.
    Marketplace(MarketplaceChange),
    /// `rollback`: an import record was rolled back.
    Rollback(ImportRolledBack),
    /// `uninstall`: an installed package was removed with its artifacts.
    Uninstall(PackageUninstalled),
}

/// Details of [`AuditEvent::Rollback`]; the subject is the rollback's own
/// record id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportRolledBack {
    #[serde(skip)]
    pub import_id: ImportId,
    /// The record rolled back.
    pub rolled_back_import_id: ImportId,
    pub artifacts_restored: Vec<ArtifactId>,
    pub artifacts_removed: Vec<ArtifactId>,
    /// Installed-package rows put back or removed, by name.
    pub packages: Vec<String>,
}

/// Details of [`AuditEvent::Uninstall`]; the subject is the uninstall's
/// record id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageUninstalled {
    #[serde(skip)]
    pub import_id: ImportId,
    pub package_name: String,
    pub version: String,
    pub artifacts_removed: Vec<ArtifactId>,
}

/// What changed on a listing; logged in the tenant that owns it, with the
/// listing id as the subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", untagged)]
pub enum MarketplaceChange {
    /// `marketplace-publish`: a version was published.
    #[serde(rename_all = "camelCase")]
    Published {
        #[serde(skip)]
        listing_id: ListingId,
        name: String,
        version: String,
        source_package_id: PackageId,
        bundle_sha256: String,
        security_scan_result: Verdict,
    },
    /// `marketplace-trust-level`.
    TrustLevel {
        #[serde(skip)]
        listing_id: ListingId,
        from: TrustLevel,
        to: TrustLevel,
    },
    /// `marketplace-yank`: a version was yanked, or the yank taken back.
    Yank {
        #[serde(skip)]
        listing_id: ListingId,
        version: String,
        yanked: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// `marketplace-deprecate`: a version was deprecated, or the
    /// deprecation taken back.
    Deprecation {
        #[serde(skip)]
        listing_id: ListingId,
        version: String,
        deprecated: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// `marketplace-delist`: the listing was delisted, or listed again.
    Delisting {
        #[serde(skip)]
        listing_id: ListingId,
        delisted: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
}

impl MarketplaceChange {
    fn listing_id(&self) -> &ListingId {
        match self {
            MarketplaceChange::Published { listing_id, .. }
            | MarketplaceChange::TrustLevel { listing_id, .. }
            | MarketplaceChange::Yank { listing_id, .. }
            | MarketplaceChange::Deprecation { listing_id, .. }
            | MarketplaceChange::Delisting { listing_id, .. } => listing_id,
        }
    }
}

/// Details of [`AuditEvent::Export`]; the subject is the package id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageExported {
    #[serde(skip)]
    pub package_id: PackageId,
    pub package_name: String,
    pub version: String,
    pub artifact_count: u32,
    pub checksum: String,
}

/// Why an action produced nothing: the error code answered and, unless the
/// error was internal, every failure reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Refusal {
    pub error: ErrorCode,
    pub failures: Option<Vec<Failure>>,
}

/// Details of [`AuditEvent::Import`]; the subject is the import id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PackageImported {
    pub import_id: ImportId,
    pub package_id: String,
    pub package_name: String,
    pub version: String,
    pub dry_run: bool,
    pub artifacts_installed: usize,
    pub conflicts_resolved: usize,
    /// The scan's verdict as the import answers it.
    pub security_scan_result: Verdict,
    /// SHA-256 of the exact bytes imported.
    pub bundle_sha256: String,
}

/// Details of [`AuditEvent::ImportFailed`]; the subject is the import id.
/// The package is named once its bundle was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportFailed {
    pub import_id: ImportId,
    pub package_id: Option<String>,
    pub package_name: Option<String>,
    pub version: Option<String>,
    #[serde(flatten)]
    pub refusal: Refusal,
}

/// Details of [`AuditEvent::TenantPut`]: the tenant as written; the subject
/// is its id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantPut {
    /// `true` when the tenant did not exist before.
    pub created: bool,
    pub name: String,
    pub plan: Plan,
    pub status: TenantStatus,
    pub default_conflict_strategy: Option<ConflictStrategy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_trust_levels: Option<Vec<TrustLevel>>,
}

impl TenantPut {
    pub fn new(tenant: &Tenant, created: bool) -> Self {
        TenantPut {
            created,
            name: tenant.name.clone(),
            plan: tenant.plan,
            status: tenant.status,
            default_conflict_strategy: tenant.default_conflict_strategy,
            allowed_trust_levels: tenant.allowed_trust_levels.clone(),
        }
    }
}

/// Details of [`AuditEvent::ArtifactPut`]; the subject is the artifact id.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactPut {
    #[serde(skip)]
    pub artifact_id: ArtifactId,
    /// `true` when the artifact did not exist before.
    pub created: bool,
    #[serde(rename = "type")]
    pub artifact_type: ArtifactType,
    pub name: String,
    pub version: String,
    pub status: ArtifactStatus,
}

impl AuditEvent {
    /// Every `action` [`AuditEvent::action`] answers, for filters that
    /// offer a choice.
    pub const ACTIONS: &'static [&'static str] = &[
        "export",
        "import",
        "rollback",
        "uninstall",
        "tenant-put",
        "artifact-put",
        "artifact-delete",
        "marketplace-publish",
        "marketplace-trust-level",
        "marketplace-yank",
        "marketplace-deprecate",
        "marketplace-delist",
    ];

    /// The `action` of the event's entries.
    pub fn action(&self) -> &'static str {
        match self {
            AuditEvent::Export(_) | AuditEvent::ExportRefused(_) => "export",
            AuditEvent::Import(_) | AuditEvent::ImportFailed(_) => "import",
            AuditEvent::TenantPut(_) => "tenant-put",
            AuditEvent::ArtifactPut(_) => "artifact-put",
            AuditEvent::ArtifactDelete { .. } => "artifact-delete",
            AuditEvent::Rollback(_) => "rollback",
            AuditEvent::Uninstall(_) => "uninstall",
            AuditEvent::Marketplace(change) => match change {
                MarketplaceChange::Published { .. } => "marketplace-publish",
                MarketplaceChange::TrustLevel { .. } => "marketplace-trust-level",
                MarketplaceChange::Yank { .. } => "marketplace-yank",
                MarketplaceChange::Deprecation { .. } => "marketplace-deprecate",
                MarketplaceChange::Delisting { .. } => "marketplace-delist",
            },
        }
    }

    pub fn outcome(&self) -> AuditOutcome {
        match self {
            AuditEvent::ExportRefused(_) | AuditEvent::ImportFailed(_) => AuditOutcome::Failure,
            AuditEvent::Export(_)
            | AuditEvent::Import(_)
            | AuditEvent::TenantPut(_)
            | AuditEvent::ArtifactPut(_)
            | AuditEvent::ArtifactDelete { .. }
            | AuditEvent::Rollback(_)
            | AuditEvent::Uninstall(_)
            | AuditEvent::Marketplace(_) => AuditOutcome::Success,
        }
    }

    /// What the action was done to, for a tenant `tenant_id`.
    fn subject(&self, tenant_id: &TenantId) -> Option<String> {
        match self {
            AuditEvent::Export(e) => Some(e.package_id.to_string()),
            AuditEvent::ExportRefused(_) => None,
            AuditEvent::Import(e) => Some(e.import_id.to_string()),
            AuditEvent::ImportFailed(e) => Some(e.import_id.to_string()),
            AuditEvent::TenantPut(_) => Some(tenant_id.to_string()),
            AuditEvent::ArtifactPut(e) => Some(e.artifact_id.to_string()),
            AuditEvent::ArtifactDelete { artifact_id } => Some(artifact_id.to_string()),
            AuditEvent::Marketplace(change) => Some(change.listing_id().to_string()),
            AuditEvent::Rollback(e) => Some(e.import_id.to_string()),
            AuditEvent::Uninstall(e) => Some(e.import_id.to_string()),
        }
    }

    /// The `details` column: the variant's fields as a JSON object.
    fn details_json(&self) -> Result<String> {
        let what = "audit details";
        match self {
            AuditEvent::Export(e) => to_json(e, what),
            AuditEvent::ExportRefused(e) => to_json(e, what),
            AuditEvent::Import(e) => to_json(e, what),
            AuditEvent::ImportFailed(e) => to_json(e, what),
            AuditEvent::TenantPut(e) => to_json(e, what),
            AuditEvent::ArtifactPut(e) => to_json(e, what),
            AuditEvent::ArtifactDelete { .. } => Ok("{}".to_owned()),
            AuditEvent::Marketplace(change) => to_json(change, what),
            AuditEvent::Rollback(e) => to_json(e, what),
            AuditEvent::Uninstall(e) => to_json(e, what),
        }
    }
}

/// An entry to append: who did what, in which tenant, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    /// Stored with microsecond precision.
    pub at: DateTime<Utc>,
    pub tenant_id: TenantId,
    /// The token's email, else its subject (SPEC §2).
    pub actor: String,
    pub event: AuditEvent,
}

impl NewAuditEntry {
    /// An entry dated now.
    pub fn now(tenant_id: TenantId, actor: impl Into<String>, event: AuditEvent) -> Self {
        NewAuditEntry {
            at: Utc::now(),
            tenant_id,
            actor: actor.into(),
            event,
        }
    }
}

/// One audit record as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Set by the store.
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

row! {
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

/// Which audit entries to list, besides the tenant.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter<'a> {
    pub action: Option<&'a str>,
    pub subject: Option<&'a str>,
}

const AUDIT_COLUMNS: &str = "id, at, tenant_id, actor, action, subject, outcome, details";

impl Store {
    /// Appends an entry and returns its id. Ids grow with every entry, so
    /// they order entries by when they were recorded.
    pub async fn record_audit(&self, entry: &NewAuditEntry) -> Result<i64> {
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
        let filter = AuditFilter {
            action,
            subject: None,
        };
        self.list_audit_filtered(tenant_id, &filter, limit, before)
            .await
    }

    /// [`Store::list_audit`] with every filter: the action and the subject
    /// (an import id, a package id, an artifact id...).
    pub async fn list_audit_filtered(
        &self,
        tenant_id: &TenantId,
        filter: &AuditFilter<'_>,
        limit: i64,
        before: Option<i64>,
    ) -> Result<Vec<AuditEntry>> {
        let mut conditions = String::new();
        let mut next = 4;
        for (column, value) in [("action", filter.action), ("subject", filter.subject)] {
            if value.is_some() {
                conditions.push_str(&format!(" AND {column} = ${next}"));
                next += 1;
            }
        }
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE tenant_id = $1 AND id < $2 \
             {conditions} ORDER BY id DESC LIMIT $3"
        );
        let mut query = sqlx::query_as::<_, AuditRow>(&sql)
            .bind(tenant_id.as_str())
            .bind(before.unwrap_or(i64::MAX))
            .bind(limit.max(0));
        for value in [filter.action, filter.subject].into_iter().flatten() {
            query = query.bind(value);
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
pub(crate) async fn insert_audit<'c, E>(executor: E, entry: &NewAuditEntry) -> Result<i64>
where
    E: Executor<'c, Database = Any>,
{
    let details = entry.event.details_json()?;
    // RETURNING works on both backends; the id comes from AUTOINCREMENT
    // on SQLite and an identity column on PostgreSQL.
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO audit_log (at, tenant_id, actor, action, subject, outcome, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(to_micros(entry.at))
    .bind(entry.tenant_id.as_str())
    .bind(entry.actor.as_str())
    .bind(entry.event.action())
    .bind(entry.event.subject(&entry.tenant_id))
    .bind(entry.event.outcome().as_str())
    .bind(details.as_str())
    .fetch_one(executor)
    .await?;
    Ok(id)
}
