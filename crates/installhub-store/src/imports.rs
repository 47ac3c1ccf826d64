//! Import records (SPEC §7): one row per import attempt — success, dry run
//! or failure — and what each tenant has installed.
//!
//! # Installed packages and artifact ownership
//!
//! Each artifact of a tenant has at most one owning installed package: the
//! one whose install last created or replaced it (see
//! [`crate::InstallTx::claim_artifacts`]). A package that owns nothing any
//! more because other packages' installs took its artifacts is
//! [`InstalledStatus::Superseded`]; installing it again makes it
//! `Installed`. Writes through the artifact API (a change, a delete) never
//! move ownership: a package whose artifacts were all deleted that way is
//! still `Installed`.
//!
//! # Lifecycle and recovery
//!
//! The server inserts a record `InProgress` when an import starts
//! ([`Store::insert_import`]) and finishes it once: a failure or dry run
//! through [`Store::finish_import`], a successful install through
//! [`crate::InstallTx::finish_import`], in the same transaction as the
//! artifacts, so a committed install and its `Success` record cannot part.
//! Finishing only ever moves an `InProgress` record.
//!
//! A server that stops mid-import leaves its record `InProgress`. Every
//! record carries the `owner` that started it: the [`Store::instance_id`],
//! a random UUID per process unless the server sets a stable one (a pod
//! name) with [`Store::with_instance_id`]. Recovery never touches the
//! imports this store itself started since it connected, and comes in two
//! strengths:
//!
//! - [`Store::fail_interrupted_imports`], for one server per database (the
//!   SQLite deployment): at start-up, every other `InProgress` record is
//!   dead, so all of them become `Failed`.
//! - [`Store::fail_stale_imports`], for replicas sharing a database: only
//!   records that this instance id owned before this process connected (its
//!   own previous life), or that started before a staleness bound, become
//!   `Failed`. Another live replica's running import is younger than the
//!   bound, so it is left alone; the server picks a bound comfortably above
//!   its longest possible import and may call this periodically.
//!
//! Should recovery ever fail a record whose install is still running (a
//! bound set too short), the install cannot commit against it:
//! [`crate::InstallTx::finish_import`] finds no `InProgress` record and
//! answers [`StoreError::ImportNotInProgress`], and the install rolls back.
//! On PostgreSQL the two updates of the record are serialised by its row
//! lock; on SQLite by the single writer.

use chrono::{DateTime, Utc};
use installhub_domain::model::InstalledStatus;
use installhub_domain::{ArtifactId, ImportId, ImportSource, ImportStatus, PackageId, TenantId};
use serde_json::Value;
use sqlx::{Any, Executor};

use crate::db::{Store, from_json, from_micros, parse_wire, to_json, to_micros};
use crate::error::{Result, StoreError};
use crate::packages::name_key;

/// One import attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportRecord {
    /// `imp-<uuid v4>`, made by the caller.
    pub import_id: ImportId,
    /// The target tenant.
    pub tenant_id: TenantId,
    /// `None` when the bundle could not even be read.
    pub package_id: Option<PackageId>,
    pub package_name: Option<String>,
    pub version: Option<String>,
    pub source: ImportSource,
    pub status: ImportStatus,
    pub installed_by: String,
    /// Stored with microsecond precision; pass the current time (recovery
    /// compares it with when the store connected).
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// The API's response body (success, dry run) or error envelope
    /// (failure); `Value::Null` while `InProgress`.
    pub response: Value,
}

/// A package installed in a tenant: the latest import of its name.
#[derive(Debug, Clone, PartialEq)]
pub struct InstalledPackage {
    pub tenant_id: TenantId,
    pub package_id: PackageId,
    pub package_name: String,
    pub version: String,
    /// `sha256:<hex>`, the package checksum.
    pub checksum: String,
    /// What its install created, replaced or found unchanged (not what it
    /// skipped).
    pub artifact_ids: Vec<ArtifactId>,
    /// The import that installed it.
    pub import_id: ImportId,
    /// Stored with microsecond precision.
    pub installed_at: DateTime<Utc>,
    pub installed_by: String,
    /// Read back from the store; [`crate::InstallTx::put_installed_package`]
    /// always writes `Installed`.
    pub status: InstalledStatus,
    /// Who took its last artifact, when `Superseded` (read back only).
    pub superseded_by: Option<Supersession>,
    /// How many of the tenant's artifacts it owns (read back only).
    pub owned_artifacts: u64,
}

/// The install that took a package's last artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct Supersession {
    /// The superseding package's name and version at that install.
    pub package_name: String,
    pub version: String,
    pub import_id: ImportId,
    /// Stored with microsecond precision.
    pub at: DateTime<Utc>,
}

const IMPORT_COLUMNS: &str = "import_id, tenant_id, package_id, package_name, version, source, \
     status, installed_by, started_at, finished_at, response";

row! {
    struct ImportRow {
        import_id: String,
        tenant_id: String,
        package_id: Option<String>,
        package_name: Option<String>,
        version: Option<String>,
        source: String,
        status: String,
        installed_by: String,
        started_at: i64,
        finished_at: Option<i64>,
        response: String,
    }
}

impl TryFrom<ImportRow> for ImportRecord {
    type Error = StoreError;

    fn try_from(row: ImportRow) -> Result<Self> {
        Ok(ImportRecord {
            source: parse_wire(&row.source, ImportSource::parse, "imports.source")?,
            status: parse_wire(&row.status, ImportStatus::parse, "imports.status")?,
            started_at: from_micros(row.started_at, "imports.started_at")?,
            finished_at: row
                .finished_at
                .map(|at| from_micros(at, "imports.finished_at"))
                .transpose()?,
            response: from_json(&row.response, "imports.response")?,
            import_id: ImportId::from_trusted(row.import_id),
            tenant_id: TenantId::from_trusted(row.tenant_id),
            package_id: row.package_id.map(PackageId::from_trusted),
            package_name: row.package_name,
            version: row.version,
            installed_by: row.installed_by,
        })
    }
}

const INSTALLED_COLUMNS: &str = "tenant_id, package_id, package_name, version, checksum, \
     artifact_ids, import_id, installed_at, installed_by";
/// What reads add to [`INSTALLED_COLUMNS`], from `installed_packages p`.
const INSTALLED_STATE_COLUMNS: &str = "status, superseded_by_name, superseded_by_version, \
     superseded_by_import_id, superseded_at, \
     (SELECT COUNT(*) FROM artifact_owners o \
      WHERE o.tenant_id = p.tenant_id AND o.name_key = p.name_key) AS owned_artifacts";

row! {
    struct InstalledRow {
        tenant_id: String,
        package_id: String,
        package_name: String,
        version: String,
        checksum: String,
        artifact_ids: String,
        import_id: String,
        installed_at: i64,
        installed_by: String,
        status: String,
        superseded_by_name: Option<String>,
        superseded_by_version: Option<String>,
        superseded_by_import_id: Option<String>,
        superseded_at: Option<i64>,
        owned_artifacts: i64,
    }
}

impl TryFrom<InstalledRow> for InstalledPackage {
    type Error = StoreError;

    fn try_from(row: InstalledRow) -> Result<Self> {
        let superseded_by = match (
            row.superseded_by_name,
            row.superseded_by_version,
            row.superseded_by_import_id,
            row.superseded_at,
        ) {
            (Some(package_name), Some(version), Some(import_id), Some(at)) => Some(Supersession {
                package_name,
                version,
                import_id: ImportId::from_trusted(import_id),
                at: from_micros(at, "installed_packages.superseded_at")?,
            }),
            _ => None,
        };
        Ok(InstalledPackage {
            status: parse_wire(
                &row.status,
                InstalledStatus::parse,
                "installed_packages.status",
            )?,
            superseded_by,
            owned_artifacts: u64::try_from(row.owned_artifacts).map_err(|_| {
                StoreError::Corrupt(format!(
                    "installed_packages: negative owned count {}",
                    row.owned_artifacts
                ))
            })?,
            artifact_ids: from_json(&row.artifact_ids, "installed_packages.artifact_ids")?,
            installed_at: from_micros(row.installed_at, "installed_packages.installed_at")?,
            tenant_id: TenantId::from_trusted(row.tenant_id),
            package_id: PackageId::from_trusted(row.package_id),
            package_name: row.package_name,
            version: row.version,
            checksum: row.checksum,
            import_id: ImportId::from_trusted(row.import_id),
            installed_by: row.installed_by,
        })
    }
}

impl Store {
    /// Records an import (normally `InProgress`, `finished_at: None`,
    /// `response: Null`), owned by this store's [`Store::instance_id`].
    /// A duplicate `import_id` is a database error.
    pub async fn insert_import(&self, record: &ImportRecord) -> Result<()> {
        insert_import(&self.pool, record, &self.instance_id).await
    }

    /// Sets the outcome of an `InProgress` record. Returns `false`, changing
    /// nothing, when there is no such record or it is already finished.
    /// A successful install finishes its record inside the install
    /// transaction instead ([`crate::InstallTx::finish_import`]).
    pub async fn finish_import(
        &self,
        import_id: &ImportId,
        status: ImportStatus,
        finished_at: DateTime<Utc>,
        response: &Value,
    ) -> Result<bool> {
        Ok(finish_import(&self.pool, import_id, status, finished_at, response).await? > 0)
    }

    /// Names the package of an `InProgress` import once its bundle has been
    /// read, so the record says what was imported even if the import fails
    /// later. Returns whether a record was updated. An install names it in
    /// its transaction instead ([`crate::InstallTx::set_import_package`]).
    pub async fn set_import_package(
        &self,
        import_id: &ImportId,
        package_id: &PackageId,
        package_name: &str,
        version: &str,
    ) -> Result<bool> {
        let updated =
            set_import_package(&self.pool, import_id, package_id, package_name, version).await?;
        Ok(updated > 0)
    }

    /// One import, whichever tenant it targeted (the caller checks access).
    pub async fn get_import(&self, import_id: &ImportId) -> Result<Option<ImportRecord>> {
        let sql = format!("SELECT {IMPORT_COLUMNS} FROM imports WHERE import_id = $1");
        sqlx::query_as::<_, ImportRow>(&sql)
            .bind(import_id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(ImportRecord::try_from)
            .transpose()
    }

    /// A tenant's imports, newest first (by `started_at`, then `import_id`
    /// descending), at most `limit`. Pass the last `import_id` of a page as
    /// `before` for the next page; a cursor the tenant does not have gives
    /// an empty page.
    pub async fn list_imports(
        &self,
        tenant_id: &TenantId,
        limit: u32,
        before: Option<&str>,
    ) -> Result<Vec<ImportRecord>> {
        let first = format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE tenant_id = $1 \
             ORDER BY started_at DESC, import_id DESC LIMIT $2"
        );
        // A row-value comparison with the cursor's row: both backends
        // support it, and a cursor of another tenant (or none) matches no
        // row, so the page is empty.
        let after = format!(
            "SELECT {IMPORT_COLUMNS} FROM imports WHERE tenant_id = $1 \
               AND (started_at, import_id) < \
                   (SELECT started_at, import_id FROM imports \
                    WHERE tenant_id = $1 AND import_id = $2) \
             ORDER BY started_at DESC, import_id DESC LIMIT $3"
        );
        let query = match before {
            None => sqlx::query_as::<_, ImportRow>(&first)
                .bind(tenant_id.as_str())
                .bind(i64::from(limit)),
            Some(before) => sqlx::query_as::<_, ImportRow>(&after)
                .bind(tenant_id.as_str())
                .bind(before)
                .bind(i64::from(limit)),
        };
        query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(ImportRecord::try_from)
            .collect()
    }

    /// Start-up recovery for one server per database: every `InProgress`
    /// record (a server stopped mid-install) becomes `Failed` with
    /// `finished_at` and `response`, except the imports this store has
    /// started since it connected. Returns how many. With replicas use
    /// [`Store::fail_stale_imports`], which leaves the others' running
    /// imports alone (see the module documentation).
    pub async fn fail_interrupted_imports(
        &self,
        finished_at: DateTime<Utc>,
        response: &Value,
    ) -> Result<u64> {
        self.fail_in_progress(
            "owner <> $5 OR started_at < $6",
            None,
            finished_at,
            response,
        )
        .await
    }

    /// Recovery for replicas sharing a database: `InProgress` records become
    /// `Failed` when they started before `stale_before` (whoever owns them),
    /// or when this instance id owned them before this store connected (a
    /// previous process with the same [`Store::with_instance_id`]). Returns
    /// how many. Safe to call at start-up and periodically, as long as
    /// `stale_before` is further back than the longest import can run.
    pub async fn fail_stale_imports(
        &self,
        stale_before: DateTime<Utc>,
        finished_at: DateTime<Utc>,
        response: &Value,
    ) -> Result<u64> {
        self.fail_in_progress(
            "(owner = $5 AND started_at < $6) OR started_at < $7",
            Some(stale_before),
            finished_at,
            response,
        )
        .await
    }

    /// What both recoveries share: `$1`-`$4` set the outcome and pick
    /// `InProgress`, `$5` is this instance id, `$6` when this store
    /// connected, `$7` the staleness bound if `which` uses one.
    async fn fail_in_progress(
        &self,
        which: &str,
        stale_before: Option<DateTime<Utc>>,
        finished_at: DateTime<Utc>,
        response: &Value,
    ) -> Result<u64> {
        let response = to_json(response, "import response")?;
        let sql = format!(
            "UPDATE imports SET status = $1, finished_at = $2, response = $3 \
             WHERE status = $4 AND ({which})"
        );
        let mut query = sqlx::query(&sql)
            .bind(ImportStatus::Failed.as_str())
            .bind(to_micros(finished_at))
            .bind(response)
            .bind(ImportStatus::InProgress.as_str())
            .bind(&*self.instance_id)
            .bind(to_micros(self.connected_at));
        if let Some(stale_before) = stale_before {
            query = query.bind(to_micros(stale_before));
        }
        let failed = query.execute(&self.pool).await?.rows_affected();
        if failed > 0 {
            tracing::warn!(failed, "marked interrupted imports as failed");
        }
        Ok(failed)
    }

    /// The packages installed in a tenant, by name without case (the
    /// lower-cased name in byte order, the same on both backends).
    pub async fn installed_packages(&self, tenant_id: &TenantId) -> Result<Vec<InstalledPackage>> {
        installed_packages(&self.pool, tenant_id).await
    }
}

/// [`Store::insert_import`] on any executor, with the owning instance id.
pub(crate) async fn insert_import<'c, E>(
    executor: E,
    record: &ImportRecord,
    owner: &str,
) -> Result<()>
where
    E: Executor<'c, Database = Any>,
{
    let response = to_json(&record.response, "import response")?;
    let sql = format!(
        "INSERT INTO imports ({IMPORT_COLUMNS}, owner) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    );
    sqlx::query(&sql)
        .bind(record.import_id.as_str())
        .bind(record.tenant_id.as_str())
        .bind(record.package_id.as_ref().map(PackageId::as_str))
        .bind(record.package_name.as_deref())
        .bind(record.version.as_deref())
        .bind(record.source.as_str())
        .bind(record.status.as_str())
        .bind(record.installed_by.as_str())
        .bind(to_micros(record.started_at))
        .bind(record.finished_at.map(to_micros))
        .bind(response)
        .bind(owner)
        .execute(executor)
        .await?;
    Ok(())
}

/// Moves an `InProgress` record to `status`; returns the rows changed (0
/// or 1).
pub(crate) async fn set_import_package<'c, E>(
    executor: E,
    import_id: &ImportId,
    package_id: &PackageId,
    package_name: &str,
    version: &str,
) -> Result<u64>
where
    E: Executor<'c, Database = Any>,
{
    let done = sqlx::query(
        "UPDATE imports SET package_id = $2, package_name = $3, version = $4 \
         WHERE import_id = $1 AND status = $5",
    )
    .bind(import_id.as_str())
    .bind(package_id.as_str())
    .bind(package_name)
    .bind(version)
    .bind(ImportStatus::InProgress.as_str())
    .execute(executor)
    .await?;
    Ok(done.rows_affected())
}

pub(crate) async fn finish_import<'c, E>(
    executor: E,
    import_id: &ImportId,
    status: ImportStatus,
    finished_at: DateTime<Utc>,
    response: &Value,
) -> Result<u64>
where
    E: Executor<'c, Database = Any>,
{
    let response = to_json(response, "import response")?;
    let updated = sqlx::query(
        "UPDATE imports SET status = $1, finished_at = $2, response = $3 \
         WHERE import_id = $4 AND status = $5",
    )
    .bind(status.as_str())
    .bind(to_micros(finished_at))
    .bind(response)
    .bind(import_id.as_str())
    .bind(ImportStatus::InProgress.as_str())
    .execute(executor)
    .await?
    .rows_affected();
    Ok(updated)
}

pub(crate) async fn installed_packages<'c, E>(
    executor: E,
    tenant_id: &TenantId,
) -> Result<Vec<InstalledPackage>>
where
    E: Executor<'c, Database = Any>,
{
    let sql = format!(
        "SELECT {INSTALLED_COLUMNS}, {INSTALLED_STATE_COLUMNS} FROM installed_packages p \
         WHERE tenant_id = $1 ORDER BY name_key"
    );
    sqlx::query_as::<_, InstalledRow>(&sql)
        .bind(tenant_id.as_str())
        .fetch_all(executor)
        .await?
        .into_iter()
        .map(InstalledPackage::try_from)
        .collect()
}

/// Creates or replaces the tenant's row for this package name (compared
/// without case): the name's case, id, version and the rest all come from
/// `package`, but it is `Installed` whatever `package.status` says (being
/// installed again ends a supersession). The artifacts the name owns stay
/// its own.
pub(crate) async fn put_installed_package<'c, E>(
    executor: E,
    package: &InstalledPackage,
) -> Result<()>
where
    E: Executor<'c, Database = Any>,
{
    let artifact_ids = to_json(&package.artifact_ids, "installed package artifact ids")?;
    let sql = format!(
        "INSERT INTO installed_packages ({INSTALLED_COLUMNS}, name_key, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, name_key) DO UPDATE SET \
           package_id = excluded.package_id, package_name = excluded.package_name, \
           version = excluded.version, checksum = excluded.checksum, \
           artifact_ids = excluded.artifact_ids, import_id = excluded.import_id, \
           installed_at = excluded.installed_at, installed_by = excluded.installed_by, \
           status = excluded.status, superseded_by_name = NULL, \
           superseded_by_version = NULL, superseded_by_import_id = NULL, \
           superseded_at = NULL"
    );
    sqlx::query(&sql)
        .bind(package.tenant_id.as_str())
        .bind(package.package_id.as_str())
        .bind(package.package_name.as_str())
        .bind(package.version.as_str())
        .bind(package.checksum.as_str())
        .bind(artifact_ids)
        .bind(package.import_id.as_str())
        .bind(to_micros(package.installed_at))
        .bind(package.installed_by.as_str())
        .bind(name_key(&package.package_name))
        .bind(InstalledStatus::Installed.as_str())
        .execute(executor)
        .await?;
    Ok(())
}
