//! Snapshots, rollback and uninstall (issue 10).
//!
//! # Snapshots
//!
//! An install transaction that was told to keep a snapshot
//! ([`InstallTx::keep_snapshot`]) writes, before each change it makes, what
//! it is about to overwrite, under its import record's id:
//!
//! - `snapshot_artifacts`: each artifact it creates or replaces, with the
//!   whole previous row (every column, timestamps included; `NULL`: it did
//!   not exist) and the [`content_sha256`] of what it wrote;
//! - `snapshot_owners`: each artifact whose owner it changes, with the
//!   previous owner (and the content hash that owner installed);
//! - `snapshot_packages`: each installed-package row it changes, whole.
//!
//! The first snapshot of a row in a transaction wins, so what is kept is
//! the state before the transaction. At [`InstallTx::commit`] the snapshot
//! is sealed: the owners and package rows as the transaction left them are
//! noted, so a later rollback can tell whether anything changed them since.
//!
//! # Rollback
//!
//! [`InstallTx::rollback_import`] puts back everything an earlier record's
//! snapshot kept, in the rollback's own transaction, which keeps a snapshot
//! too (so a rollback can be rolled back). It refuses when any artifact the
//! record wrote no longer has the content it wrote, or an owner or package
//! row is no longer as it left them ([`UndoConflict`]). An artifact that
//! did not exist before is marked `Deleted`, as the artifact API deletes
//! (rows are never removed: other tenants' references keep resolving).
//!
//! # Uninstall
//!
//! [`InstallTx::uninstall_package`] marks every live artifact a package owns
//! `Deleted`, drops its ownership and makes it `Uninstalled`, unless an
//! artifact changed since its owner installed it, a live artifact outside
//! the package references one, or an `Installed` package depends on it.
//!
//! # Retention
//!
//! [`Store::prune_snapshots`] removes the rows of snapshots taken before a
//! bound and keeps their header, so a rollback then says the snapshot
//! expired rather than that there never was one.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use installhub_domain::model::InstalledStatus;
use installhub_domain::{ArtifactId, ArtifactStatus, ImportId, Reference};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use crate::artifacts::NewArtifact;
use crate::db::{IN_BATCH, Store, from_json, now_micros, placeholders, to_json, to_micros};
use crate::error::{Result, StoreError};
use crate::imports::ImportRecord;
use crate::install::InstallTx;
use crate::packages::name_key;

/// What a rollback or an uninstall does, or would do, to one artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UndoAction {
    /// Put back as it was (every column, timestamps included).
    Restore,
    /// Marked `Deleted`: it did not exist before, or its package is
    /// uninstalled.
    Remove,
}

impl UndoAction {
    pub fn as_str(self) -> &'static str {
        match self {
            UndoAction::Restore => "Restore",
            UndoAction::Remove => "Remove",
        }
    }
}

/// Why a rollback or an uninstall would break something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoConflict {
    /// The artifact's content is not what the record (or the package's
    /// install) wrote: something changed it since. `current_status` is
    /// `None` when the artifact is gone.
    ArtifactChanged {
        artifact_id: ArtifactId,
        current_status: Option<ArtifactStatus>,
    },
    /// Another install took (or gave up) the artifact's ownership since.
    OwnerChanged {
        artifact_id: ArtifactId,
        /// The owner's name key now, if any.
        owner: Option<String>,
    },
    /// The installed-package row is not as the record left it (installed
    /// again, superseded, uninstalled...).
    PackageChanged {
        package_name: String,
        current_import_id: Option<ImportId>,
        current_status: Option<InstalledStatus>,
    },
    /// A live artifact outside the package references one it would remove.
    ReferencedBy {
        artifact_id: ArtifactId,
        by: ArtifactId,
        /// The package that owns `by`, if any.
        owner: Option<String>,
    },
    /// An `Installed` package declares a dependency on the package.
    DependedOnBy { package_name: String },
}

/// What a rollback does or would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollbackPlan {
    /// The record a rolled-back rollback had undone (it becomes
    /// rollbackable again).
    pub undoes: Option<ImportId>,
    /// In artifact id byte order.
    pub artifacts: Vec<(ArtifactId, UndoAction)>,
    /// By name key: each installed-package row put back, or removed (it did
    /// not exist before), with its current name.
    pub packages: Vec<(String, UndoAction)>,
    /// How many artifacts get their previous owner back.
    pub owners: usize,
}

/// Why a rollback cannot be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackRefusal {
    /// No snapshot was kept (a record from before snapshots existed).
    NoSnapshot,
    /// Taken before the retention bound (and maybe pruned already).
    Expired { taken_at: DateTime<Utc> },
    /// A rollback undid it already.
    AlreadyRolledBack { by: ImportId },
    /// Things changed since; nothing was written.
    Conflicts(Vec<UndoConflict>),
}

/// What an uninstall does or would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UninstallPlan {
    pub package_name: String,
    pub version: String,
    pub package_id: String,
    /// Marked `Deleted`, in artifact id byte order.
    pub removed: Vec<ArtifactId>,
    /// Owned, but already `Deleted` (through the artifact API): only their
    /// ownership goes.
    pub already_deleted: Vec<ArtifactId>,
}

/// Why an uninstall cannot be done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UninstallRefusal {
    /// The tenant never installed a package of this name.
    NotInstalled,
    /// Uninstalled already, by this record.
    AlreadyUninstalled { by: Option<ImportId> },
    /// Something depends on it or changed; nothing was written.
    Conflicts(Vec<UndoConflict>),
}

/// A snapshot's header, as [`Store::snapshot`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub import_id: ImportId,
    pub taken_at: DateTime<Utc>,
    pub undoes: Option<ImportId>,
    pub rolled_back_by: Option<ImportId>,
    pub pruned: bool,
    /// Rows kept: artifacts, owners, packages.
    pub artifacts: u64,
    pub owners: u64,
    pub packages: u64,
}

/// The SHA-256 (hex) of an artifact's content as stored: type, name,
/// version, status and the JSON texts of definition, references and
/// libraries. Timestamps are not content.
pub fn content_sha256(
    artifact_type: &str,
    name: &str,
    version: &str,
    status: &str,
    definition: &str,
    refs: &str,
    libraries: &str,
) -> String {
    let fields = [
        artifact_type,
        name,
        version,
        status,
        definition,
        refs,
        libraries,
    ];
    // A JSON array of the fields as strings keeps them apart whatever they
    // contain. Encoded straight into the hasher: a definition can be
    // megabytes.
    let mut hasher = Sha256::new();
    hasher.update(b"[");
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            hasher.update(b",");
        }
        hash_json_string(&mut hasher, field);
    }
    hasher.update(b"]");
    hex::encode(hasher.finalize())
}

/// Feeds `text` to `hasher` exactly as serde_json writes it as a JSON
/// string. Written out rather than through `serde_json::to_writer`, which
/// looks every byte up in its escape table: in a profile of a 480 MB
/// import that took 3–7% of the import's CPU. The fields
/// hashed are compact JSON texts and short names, which hold no control
/// characters, so only quotes and backslashes need escaping and `memchr`
/// finds them; text with a control character takes serde_json's path.
fn hash_json_string(hasher: &mut Sha256, text: &str) {
    let bytes = text.as_bytes();
    if installhub_domain::text::has_json_control_byte(bytes) {
        serde_json::to_writer(HashingWriter(hasher), text).expect("a JSON string always encodes");
        return;
    }
    hasher.update(b"\"");
    let mut start = 0;
    for at in memchr::memchr2_iter(b'"', b'\\', bytes) {
        hasher.update(&bytes[start..at]);
        hasher.update(if bytes[at] == b'"' { b"\\\"" } else { b"\\\\" });
        start = at + 1;
    }
    hasher.update(&bytes[start..]);
    hasher.update(b"\"");
}

/// Feeds what is written to a SHA-256.
struct HashingWriter<'a>(&'a mut Sha256);

impl std::io::Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub(crate) fn new_artifact_sha256(a: &NewArtifact) -> Result<String> {
    Ok(content_sha256(
        a.artifact_type.as_str(),
        &a.name,
        &a.version,
        a.status.as_str(),
        a.definition.as_str(),
        &to_json(&a.references, "artifact references")?,
        &to_json(&a.libraries, "artifact libraries")?,
    ))
}

row! {
    /// An artifact row, every column as stored.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct RawArtifact {
        tenant_id: String,
        artifact_id: String,
        artifact_type: String,
        name: String,
        version: String,
        status: String,
        definition: String,
        refs: String,
        libraries: String,
        created_at: i64,
        updated_at: i64,
    }
}

impl RawArtifact {
    fn sha256(&self) -> String {
        content_sha256(
            &self.artifact_type,
            &self.name,
            &self.version,
            &self.status,
            &self.definition,
            &self.refs,
            &self.libraries,
        )
    }
}

const RAW_ARTIFACT_COLUMNS: &str = "tenant_id, artifact_id, artifact_type, name, version, \
     status, definition, refs, libraries, created_at, updated_at";

row! {
    /// An installed-package row, every column as stored.
    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct RawPackage {
        tenant_id: String,
        name_key: String,
        package_name: String,
        package_id: String,
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
        depends_on: String,
        uninstalled_by_import_id: Option<String>,
        uninstalled_at: Option<i64>,
    }
}

const RAW_PACKAGE_COLUMNS: &str = "tenant_id, name_key, package_name, package_id, version, \
     checksum, artifact_ids, import_id, installed_at, installed_by, status, \
     superseded_by_name, superseded_by_version, superseded_by_import_id, superseded_at, \
     depends_on, uninstalled_by_import_id, uninstalled_at";

/// Artifacts read at once to hash them (as the install reads them).
const HASH_CHUNK: usize = 50;

/// A kept owner row `(artifact_id, previous_owner, previous_sha256,
/// after_owner)` or package row `(name_key, previous, after_import,
/// after_status)`.
type KeptRow = (String, Option<String>, Option<String>, Option<String>);

row! {
    struct HeaderRow {
        taken_at: i64,
        undoes: Option<String>,
        rolled_back_by: Option<String>,
        pruned_at: Option<i64>,
    }
}

async fn raw_artifacts(
    conn: &mut AnyConnection,
    tenant: &str,
    ids: &[&str],
) -> Result<BTreeMap<String, RawArtifact>> {
    let ids: BTreeSet<&str> = ids.iter().copied().collect();
    let ids: Vec<&str> = ids.into_iter().collect();
    let mut out = BTreeMap::new();
    for batch in ids.chunks(IN_BATCH) {
        let sql = format!(
            "SELECT {RAW_ARTIFACT_COLUMNS} FROM artifacts \
             WHERE tenant_id = $1 AND artifact_id IN ({})",
            placeholders(2, batch.len())
        );
        let mut query = sqlx::query_as::<_, RawArtifact>(&sql)
            .persistent(false)
            .bind(tenant);
        for id in batch {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            out.insert(row.artifact_id.clone(), row);
        }
    }
    Ok(out)
}

async fn raw_owners(
    conn: &mut AnyConnection,
    tenant: &str,
    ids: &[&str],
) -> Result<BTreeMap<String, (String, Option<String>)>> {
    let mut out = BTreeMap::new();
    for batch in ids.chunks(IN_BATCH) {
        let sql = format!(
            "SELECT artifact_id, name_key, sha256 FROM artifact_owners \
             WHERE tenant_id = $1 AND artifact_id IN ({})",
            placeholders(2, batch.len())
        );
        let mut query = sqlx::query_as::<_, (String, String, Option<String>)>(&sql)
            .persistent(false)
            .bind(tenant);
        for id in batch {
            query = query.bind(*id);
        }
        for (id, owner, sha) in query.fetch_all(&mut *conn).await? {
            out.insert(id, (owner, sha));
        }
    }
    Ok(out)
}

async fn raw_package(
    conn: &mut AnyConnection,
    tenant: &str,
    key: &str,
) -> Result<Option<RawPackage>> {
    let sql = format!(
        "SELECT {RAW_PACKAGE_COLUMNS} FROM installed_packages \
         WHERE tenant_id = $1 AND name_key = $2"
    );
    Ok(sqlx::query_as::<_, RawPackage>(&sql)
        .bind(tenant)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Writes `row` exactly as it is, every column included.
async fn put_raw_artifact(conn: &mut AnyConnection, row: &RawArtifact) -> Result<()> {
    sqlx::query(
        "INSERT INTO artifacts \
           (tenant_id, artifact_id, artifact_type, name, version, status, \
            definition, refs, libraries, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (tenant_id, artifact_id) DO UPDATE SET \
           artifact_type = excluded.artifact_type, name = excluded.name, \
           version = excluded.version, status = excluded.status, \
           definition = excluded.definition, refs = excluded.refs, \
           libraries = excluded.libraries, created_at = excluded.created_at, \
           updated_at = excluded.updated_at",
    )
    .bind(row.tenant_id.as_str())
    .bind(row.artifact_id.as_str())
    .bind(row.artifact_type.as_str())
    .bind(row.name.as_str())
    .bind(row.version.as_str())
    .bind(row.status.as_str())
    .bind(row.definition.as_str())
    .bind(row.refs.as_str())
    .bind(row.libraries.as_str())
    .bind(row.created_at)
    .bind(row.updated_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes `row` exactly as it is, every column included.
async fn put_raw_package(conn: &mut AnyConnection, row: &RawPackage) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO installed_packages ({RAW_PACKAGE_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
         ON CONFLICT (tenant_id, name_key) DO UPDATE SET \
           package_name = excluded.package_name, package_id = excluded.package_id, \
           version = excluded.version, checksum = excluded.checksum, \
           artifact_ids = excluded.artifact_ids, import_id = excluded.import_id, \
           installed_at = excluded.installed_at, installed_by = excluded.installed_by, \
           status = excluded.status, superseded_by_name = excluded.superseded_by_name, \
           superseded_by_version = excluded.superseded_by_version, \
           superseded_by_import_id = excluded.superseded_by_import_id, \
           superseded_at = excluded.superseded_at, depends_on = excluded.depends_on, \
           uninstalled_by_import_id = excluded.uninstalled_by_import_id, \
           uninstalled_at = excluded.uninstalled_at"
    ))
    .bind(row.tenant_id.as_str())
    .bind(row.name_key.as_str())
    .bind(row.package_name.as_str())
    .bind(row.package_id.as_str())
    .bind(row.version.as_str())
    .bind(row.checksum.as_str())
    .bind(row.artifact_ids.as_str())
    .bind(row.import_id.as_str())
    .bind(row.installed_at)
    .bind(row.installed_by.as_str())
    .bind(row.status.as_str())
    .bind(row.superseded_by_name.as_deref())
    .bind(row.superseded_by_version.as_deref())
    .bind(row.superseded_by_import_id.as_deref())
    .bind(row.superseded_at)
    .bind(row.depends_on.as_str())
    .bind(row.uninstalled_by_import_id.as_deref())
    .bind(row.uninstalled_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Does `refs` (an artifact's stored references) point at one of `ids` in
/// its own tenant `tenant`?
fn references_any<'a>(
    refs: &str,
    tenant: &str,
    ids: &'a BTreeSet<String>,
) -> Result<Option<&'a String>> {
    let refs: Vec<Reference> = from_json(refs, "artifacts.refs")?;
    Ok(refs
        .iter()
        .filter(|r| r.tenant_id.as_ref().is_none_or(|t| t.as_str() == tenant))
        .find_map(|r| ids.get(r.artifact_id.as_str())))
}

/// Snapshot rows per statement: 3 values each plus the import id, far
/// below either backend's parameter limit.
const SNAPSHOT_BATCH: usize = 100;

impl InstallTx {
    /// From now on, keeps what this transaction overwrites under
    /// `import_id`, the record it will commit (see the module
    /// documentation); `undoes` names the record a rollback undoes.
    pub async fn keep_snapshot(
        &mut self,
        import_id: &ImportId,
        undoes: Option<&ImportId>,
    ) -> Result<()> {
        let tenant = self.tenant_id.to_string();
        sqlx::query(
            "INSERT INTO import_snapshots (import_id, tenant_id, taken_at, undoes) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(import_id.as_str())
        .bind(tenant.as_str())
        .bind(now_micros())
        .bind(undoes.map(ImportId::as_str))
        .execute(self.connection())
        .await?;
        self.snapshot = Some(import_id.clone());
        Ok(())
    }

    /// Before artifacts are written: keeps each one's previous row and the
    /// hash of what is written (`(id, sha256)` pairs).
    pub(crate) async fn snapshot_artifacts(&mut self, written: &[(&str, String)]) -> Result<()> {
        let Some(import_id) = self.snapshot.clone() else {
            return Ok(());
        };
        let tenant = self.tenant_id.to_string();
        let ids: Vec<&str> = written.iter().map(|(id, _)| *id).collect();
        let previous = raw_artifacts(self.connection(), &tenant, &ids).await?;
        // One statement per batch: every caller passes distinct ids (the
        // writer keeps the last of each; rollback and uninstall read rows
        // by key), which one statement's ON CONFLICT needs on PostgreSQL.
        // The first snapshot of a row keeps the state before the
        // transaction; a second write only updates what was written.
        for batch in written.chunks(SNAPSHOT_BATCH) {
            let rows = (0..batch.len())
                .map(|row| format!("($1, {})", placeholders(2 + row * 3, 3)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO snapshot_artifacts (import_id, artifact_id, previous, new_sha256) \
                 VALUES {rows} ON CONFLICT (import_id, artifact_id) \
                 DO UPDATE SET new_sha256 = excluded.new_sha256"
            );
            let mut query = sqlx::query(&sql)
                .persistent(batch.len() == SNAPSHOT_BATCH)
                .bind(import_id.as_str());
            for (id, sha) in batch {
                let before = previous
                    .get(*id)
                    .map(|row| to_json(row, "artifact snapshot"))
                    .transpose()?;
                query = query.bind(*id).bind(before).bind(sha.as_str());
            }
            query.execute(self.connection()).await?;
        }
        Ok(())
    }

    /// The [`content_sha256`] of those of `ids` the tenant has, by id.
    pub(crate) async fn content_hashes(
        &mut self,
        ids: &[&str],
    ) -> Result<BTreeMap<String, String>> {
        let tenant = self.tenant_id.to_string();
        let mut hashes = BTreeMap::new();
        let mut unknown = Vec::new();
        for id in ids {
            match self.written_hashes.get(*id) {
                Some(hash) => {
                    hashes.insert((*id).to_owned(), hash.clone());
                }
                None => unknown.push(*id),
            }
        }
        // A few rows at a time: only their hashes are kept, so a large
        // install never holds every definition at once.
        for chunk in unknown.chunks(HASH_CHUNK) {
            for (id, row) in raw_artifacts(self.connection(), &tenant, chunk).await? {
                hashes.insert(id, row.sha256());
            }
        }
        Ok(hashes)
    }

    /// Before owners change: keeps each artifact's current owner.
    pub(crate) async fn snapshot_owners(&mut self, ids: &[&str]) -> Result<()> {
        let Some(import_id) = self.snapshot.clone() else {
            return Ok(());
        };
        let tenant = self.tenant_id.to_string();
        let owners = raw_owners(self.connection(), &tenant, ids).await?;
        for id in ids {
            let (owner, sha) = owners
                .get(*id)
                .map_or((None, None), |(o, s)| (Some(o.as_str()), s.as_deref()));
            sqlx::query(
                "INSERT INTO snapshot_owners (import_id, artifact_id, previous_owner, previous_sha256) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (import_id, artifact_id) DO NOTHING",
            )
            .bind(import_id.as_str())
            .bind(*id)
            .bind(owner)
            .bind(sha)
            .execute(self.connection())
            .await?;
        }
        Ok(())
    }

    /// Before an installed-package row changes: keeps it whole.
    pub(crate) async fn snapshot_package(&mut self, key: &str) -> Result<()> {
        let Some(import_id) = self.snapshot.clone() else {
            return Ok(());
        };
        let tenant = self.tenant_id.to_string();
        let before = raw_package(self.connection(), &tenant, key)
            .await?
            .map(|row| to_json(&row, "installed package snapshot"))
            .transpose()?;
        sqlx::query(
            "INSERT INTO snapshot_packages (import_id, name_key, previous) \
             VALUES ($1, $2, $3) ON CONFLICT (import_id, name_key) DO NOTHING",
        )
        .bind(import_id.as_str())
        .bind(key)
        .bind(before)
        .execute(self.connection())
        .await?;
        Ok(())
    }

    /// Notes how the transaction left the owners and package rows it
    /// snapshotted; [`InstallTx::commit`] calls it.
    pub(crate) async fn seal_snapshot(&mut self) -> Result<()> {
        let Some(import_id) = self.snapshot.clone() else {
            return Ok(());
        };
        let tenant = self.tenant_id.to_string();
        sqlx::query(
            "UPDATE snapshot_owners SET after_owner = \
               (SELECT o.name_key FROM artifact_owners o \
                WHERE o.tenant_id = $2 AND o.artifact_id = snapshot_owners.artifact_id) \
             WHERE import_id = $1",
        )
        .bind(import_id.as_str())
        .bind(tenant.as_str())
        .execute(self.connection())
        .await?;
        sqlx::query(
            "UPDATE snapshot_packages SET \
               after_import = (SELECT p.import_id FROM installed_packages p \
                 WHERE p.tenant_id = $2 AND p.name_key = snapshot_packages.name_key), \
               after_status = (SELECT p.status FROM installed_packages p \
                 WHERE p.tenant_id = $2 AND p.name_key = snapshot_packages.name_key) \
             WHERE import_id = $1",
        )
        .bind(import_id.as_str())
        .bind(tenant.as_str())
        .execute(self.connection())
        .await?;
        Ok(())
    }

    /// Records the dependencies (package names) of the package installed
    /// as `package_name` in this transaction, for uninstall to respect.
    pub async fn set_package_dependencies(
        &mut self,
        package_name: &str,
        depends_on: &[String],
    ) -> Result<()> {
        let keys: BTreeSet<String> = depends_on.iter().map(|n| name_key(n)).collect();
        let tenant = self.tenant_id.to_string();
        sqlx::query(
            "UPDATE installed_packages SET depends_on = $3 WHERE tenant_id = $1 AND name_key = $2",
        )
        .bind(tenant.as_str())
        .bind(name_key(package_name))
        .bind(to_json(&keys, "package dependencies")?)
        .execute(self.connection())
        .await?;
        Ok(())
    }

    /// Records a finished import record (a rollback's or an uninstall's) in
    /// this transaction, owned by this store's instance.
    pub async fn insert_import(&mut self, record: &ImportRecord) -> Result<()> {
        let owner = self.instance_id.clone();
        crate::imports::insert_import(self.connection(), record, &owner).await
    }

    /// Rolls back (`apply`) or plans the rollback of the record `target`
    /// (see the module documentation). Snapshots taken before
    /// `expired_before` are expired. Nothing is written unless `apply` and
    /// the answer is `Ok(Ok(_))`; keep a snapshot first
    /// ([`InstallTx::keep_snapshot`]) so the rollback can be undone too.
    pub async fn rollback_import(
        &mut self,
        target: &ImportId,
        expired_before: DateTime<Utc>,
        apply: bool,
    ) -> Result<Result<RollbackPlan, RollbackRefusal>> {
        self.written_hashes.clear();
        let tenant = self.tenant_id.to_string();
        let header = sqlx::query_as::<_, HeaderRow>(
            "SELECT taken_at, undoes, rolled_back_by, pruned_at FROM import_snapshots \
             WHERE import_id = $1 AND tenant_id = $2",
        )
        .bind(target.as_str())
        .bind(tenant.as_str())
        .fetch_optional(self.connection())
        .await?;
        let Some(header) = header else {
            return Ok(Err(RollbackRefusal::NoSnapshot));
        };
        if let Some(by) = header.rolled_back_by {
            return Ok(Err(RollbackRefusal::AlreadyRolledBack {
                by: ImportId::from_trusted(by),
            }));
        }
        let taken_at = crate::db::from_micros(header.taken_at, "import_snapshots.taken_at")?;
        if header.pruned_at.is_some() || header.taken_at < to_micros(expired_before) {
            return Ok(Err(RollbackRefusal::Expired { taken_at }));
        }

        // Whether each had a previous row, not the row itself: those are
        // read a few at a time when they are put back.
        let artifacts: Vec<(String, i64, String)> = sqlx::query_as(
            "SELECT artifact_id, \
               CAST(CASE WHEN previous IS NULL THEN 0 ELSE 1 END AS BIGINT), new_sha256 \
             FROM snapshot_artifacts WHERE import_id = $1 ORDER BY artifact_id",
        )
        .bind(target.as_str())
        .fetch_all(self.connection())
        .await?;
        let owners: Vec<KeptRow> = sqlx::query_as(
            "SELECT artifact_id, previous_owner, previous_sha256, after_owner \
                 FROM snapshot_owners WHERE import_id = $1 ORDER BY artifact_id",
        )
        .bind(target.as_str())
        .fetch_all(self.connection())
        .await?;
        let packages: Vec<KeptRow> = sqlx::query_as(
            "SELECT name_key, previous, after_import, after_status \
                 FROM snapshot_packages WHERE import_id = $1 ORDER BY name_key",
        )
        .bind(target.as_str())
        .fetch_all(self.connection())
        .await?;

        // What is there now, against what the record left.
        let mut conflicts = Vec::new();
        for chunk in artifacts.chunks(HASH_CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _, _)| id.as_str()).collect();
            let current = raw_artifacts(self.connection(), &tenant, &ids).await?;
            for (id, _, written) in chunk {
                let now = current.get(id);
                if now.map(RawArtifact::sha256).as_ref() != Some(written) {
                    conflicts.push(UndoConflict::ArtifactChanged {
                        artifact_id: ArtifactId::from_trusted(id.clone()),
                        current_status: now.and_then(|row| ArtifactStatus::parse(&row.status)),
                    });
                }
            }
        }
        let owner_ids: Vec<&str> = owners.iter().map(|(id, ..)| id.as_str()).collect();
        let current_owners = raw_owners(self.connection(), &tenant, &owner_ids).await?;
        for (id, _, _, after) in &owners {
            let now = current_owners.get(id).map(|(o, _)| o);
            if now != after.as_ref() {
                conflicts.push(UndoConflict::OwnerChanged {
                    artifact_id: ArtifactId::from_trusted(id.clone()),
                    owner: now.cloned(),
                });
            }
        }
        let mut package_rows = BTreeMap::new();
        for (key, previous, after_import, after_status) in &packages {
            let now = raw_package(self.connection(), &tenant, key).await?;
            let now_state = now.as_ref().map(|p| (&p.import_id, &p.status));
            if now_state != after_import.as_ref().zip(after_status.as_ref()) {
                let previous: Option<RawPackage> = previous
                    .as_deref()
                    .map(|p| from_json(p, "snapshot_packages.previous"))
                    .transpose()?;
                conflicts.push(UndoConflict::PackageChanged {
                    package_name: now
                        .as_ref()
                        .or(previous.as_ref())
                        .map_or_else(|| key.clone(), |p| p.package_name.clone()),
                    current_import_id: now
                        .as_ref()
                        .map(|p| ImportId::from_trusted(p.import_id.clone())),
                    current_status: now.as_ref().and_then(|p| InstalledStatus::parse(&p.status)),
                });
            }
            package_rows.insert(key.clone(), now);
        }
        if !conflicts.is_empty() {
            return Ok(Err(RollbackRefusal::Conflicts(conflicts)));
        }

        let plan = RollbackPlan {
            undoes: header.undoes.clone().map(ImportId::from_trusted),
            artifacts: artifacts
                .iter()
                .map(|(id, kept, _)| {
                    let action = if *kept != 0 {
                        UndoAction::Restore
                    } else {
                        UndoAction::Remove
                    };
                    (ArtifactId::from_trusted(id.clone()), action)
                })
                .collect(),
            packages: packages
                .iter()
                .map(|(key, previous, ..)| {
                    let name = package_rows[key]
                        .as_ref()
                        .map_or_else(|| key.clone(), |p| p.package_name.clone());
                    let action = if previous.is_some() {
                        UndoAction::Restore
                    } else {
                        UndoAction::Remove
                    };
                    (name, action)
                })
                .collect(),
            owners: owners.len(),
        };
        if !apply {
            return Ok(Ok(plan));
        }

        // Artifacts, a few at a time: the previous row exactly, or the
        // current one marked Deleted.
        let now = now_micros();
        for chunk in artifacts.chunks(HASH_CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _, _)| id.as_str()).collect();
            let sql = format!(
                "SELECT artifact_id, previous FROM snapshot_artifacts \
                 WHERE import_id = $1 AND artifact_id IN ({})",
                placeholders(2, ids.len())
            );
            let mut query = sqlx::query_as::<_, (String, Option<String>)>(&sql)
                .persistent(false)
                .bind(target.as_str());
            for id in &ids {
                query = query.bind(*id);
            }
            let previous: BTreeMap<String, Option<String>> = query
                .fetch_all(self.connection())
                .await?
                .into_iter()
                .collect();
            let mut current = raw_artifacts(self.connection(), &tenant, &ids).await?;
            let mut rows = Vec::with_capacity(chunk.len());
            for id in ids {
                let row = match previous.get(id).and_then(Option::as_deref) {
                    Some(previous) => {
                        from_json::<RawArtifact>(previous, "snapshot_artifacts.previous")?
                    }
                    None => {
                        let mut row = current.remove(id).ok_or_else(|| {
                            StoreError::Corrupt(format!("artifact '{id}' vanished mid-rollback"))
                        })?;
                        row.status = ArtifactStatus::Deleted.as_str().to_owned();
                        row.updated_at = now;
                        row
                    }
                };
                rows.push(row);
            }
            let hashes: Vec<(&str, String)> = rows
                .iter()
                .map(|row| (row.artifact_id.as_str(), row.sha256()))
                .collect();
            self.snapshot_artifacts(&hashes).await?;
            for row in &rows {
                put_raw_artifact(self.connection(), row).await?;
            }
        }

        // Package rows that existed before come back first, so the owners
        // restored next can name them.
        for (key, previous, ..) in &packages {
            if let Some(previous) = previous {
                let row: RawPackage = from_json(previous, "snapshot_packages.previous")?;
                self.snapshot_package(key).await?;
                put_raw_package(self.connection(), &row).await?;
            }
        }
        self.snapshot_owners(&owner_ids).await?;
        for (id, previous_owner, previous_sha, _) in &owners {
            match previous_owner {
                Some(owner) => {
                    sqlx::query(
                        "INSERT INTO artifact_owners (tenant_id, artifact_id, name_key, sha256) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, artifact_id) \
                         DO UPDATE SET name_key = excluded.name_key, sha256 = excluded.sha256",
                    )
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .bind(owner.as_str())
                    .bind(previous_sha.as_deref())
                    .execute(self.connection())
                    .await?;
                }
                None => {
                    sqlx::query(
                        "DELETE FROM artifact_owners WHERE tenant_id = $1 AND artifact_id = $2",
                    )
                    .bind(tenant.as_str())
                    .bind(id.as_str())
                    .execute(self.connection())
                    .await?;
                }
            }
        }
        // Package rows that did not exist before go, with anything they
        // still own (nothing, unless ownership was changed outside installs).
        for (key, previous, ..) in &packages {
            if previous.is_none() {
                self.snapshot_package(key).await?;
                let owned: Vec<String> = sqlx::query_scalar(
                    "SELECT artifact_id FROM artifact_owners WHERE tenant_id = $1 AND name_key = $2",
                )
                .bind(tenant.as_str())
                .bind(key.as_str())
                .fetch_all(self.connection())
                .await?;
                let owned: Vec<&str> = owned.iter().map(String::as_str).collect();
                self.snapshot_owners(&owned).await?;
                sqlx::query("DELETE FROM artifact_owners WHERE tenant_id = $1 AND name_key = $2")
                    .bind(tenant.as_str())
                    .bind(key.as_str())
                    .execute(self.connection())
                    .await?;
                sqlx::query(
                    "DELETE FROM installed_packages WHERE tenant_id = $1 AND name_key = $2",
                )
                .bind(tenant.as_str())
                .bind(key.as_str())
                .execute(self.connection())
                .await?;
            }
        }

        let by = self.snapshot.clone().map(|id| id.to_string());
        sqlx::query("UPDATE import_snapshots SET rolled_back_by = $2 WHERE import_id = $1")
            .bind(target.as_str())
            .bind(by.as_deref())
            .execute(self.connection())
            .await?;
        // Undoing a rollback re-applies what it had undone, which can then
        // be rolled back again.
        if let Some(undone) = &header.undoes {
            sqlx::query(
                "UPDATE import_snapshots SET rolled_back_by = NULL \
                 WHERE import_id = $1 AND rolled_back_by = $2",
            )
            .bind(undone.as_str())
            .bind(target.as_str())
            .execute(self.connection())
            .await?;
        }
        Ok(Ok(plan))
    }

    /// Uninstalls (`apply`) or plans the uninstall of the tenant's package
    /// named `package_name` (without case) by the record `record` (see the
    /// module documentation). Nothing is written unless `apply` and the
    /// answer is `Ok(Ok(_))`; keep a snapshot first so it can be rolled
    /// back.
    pub async fn uninstall_package(
        &mut self,
        package_name: &str,
        record: &ImportId,
        at: DateTime<Utc>,
        apply: bool,
    ) -> Result<Result<UninstallPlan, UninstallRefusal>> {
        self.written_hashes.clear();
        let tenant = self.tenant_id.to_string();
        let key = name_key(package_name);
        let Some(package) = raw_package(self.connection(), &tenant, &key).await? else {
            return Ok(Err(UninstallRefusal::NotInstalled));
        };
        if package.status == InstalledStatus::Uninstalled.as_str() {
            return Ok(Err(UninstallRefusal::AlreadyUninstalled {
                by: package
                    .uninstalled_by_import_id
                    .clone()
                    .map(ImportId::from_trusted),
            }));
        }
        let owned: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT artifact_id, sha256 FROM artifact_owners \
             WHERE tenant_id = $1 AND name_key = $2 ORDER BY artifact_id",
        )
        .bind(tenant.as_str())
        .bind(key.as_str())
        .fetch_all(self.connection())
        .await?;
        let owned_ids: Vec<&str> = owned.iter().map(|(id, _)| id.as_str()).collect();

        let mut conflicts = Vec::new();
        let mut removed = Vec::new();
        let mut already_deleted = Vec::new();
        // A few at a time: only their ids are kept.
        for chunk in owned.chunks(HASH_CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
            let current = raw_artifacts(self.connection(), &tenant, &ids).await?;
            for (id, installed_sha) in chunk {
                let Some(row) = current.get(id) else { continue };
                if row.status == ArtifactStatus::Deleted.as_str() {
                    already_deleted.push(id.clone());
                } else if installed_sha
                    .as_ref()
                    .is_some_and(|sha| *sha != row.sha256())
                {
                    conflicts.push(UndoConflict::ArtifactChanged {
                        artifact_id: ArtifactId::from_trusted(id.clone()),
                        current_status: ArtifactStatus::parse(&row.status),
                    });
                } else {
                    removed.push(id.clone());
                }
            }
        }

        // Live artifacts outside the package that reference what it removes.
        let removing: BTreeSet<String> = removed.iter().cloned().collect();
        if !removing.is_empty() {
            let others: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT a.artifact_id, a.refs, o.name_key FROM artifacts a \
                 LEFT JOIN artifact_owners o \
                   ON o.tenant_id = a.tenant_id AND o.artifact_id = a.artifact_id \
                 WHERE a.tenant_id = $1 AND a.status <> $2 ORDER BY a.artifact_id",
            )
            .bind(tenant.as_str())
            .bind(ArtifactStatus::Deleted.as_str())
            .fetch_all(self.connection())
            .await?;
            for (by, refs, owner) in others {
                if removing.contains(&by) || owner.as_deref() == Some(key.as_str()) {
                    continue;
                }
                if let Some(target) = references_any(&refs, &tenant, &removing)? {
                    conflicts.push(UndoConflict::ReferencedBy {
                        artifact_id: ArtifactId::from_trusted(target.clone()),
                        by: ArtifactId::from_trusted(by),
                        owner,
                    });
                }
            }
        }
        // Installed packages that declared a dependency on it.
        let dependants: Vec<(String, String)> = sqlx::query_as(
            "SELECT package_name, depends_on FROM installed_packages \
             WHERE tenant_id = $1 AND status = $2 AND name_key <> $3 ORDER BY name_key",
        )
        .bind(tenant.as_str())
        .bind(InstalledStatus::Installed.as_str())
        .bind(key.as_str())
        .fetch_all(self.connection())
        .await?;
        for (name, depends_on) in dependants {
            let keys: BTreeSet<String> = from_json(&depends_on, "installed_packages.depends_on")?;
            if keys.contains(&key) {
                conflicts.push(UndoConflict::DependedOnBy { package_name: name });
            }
        }
        if !conflicts.is_empty() {
            return Ok(Err(UninstallRefusal::Conflicts(conflicts)));
        }

        let plan = UninstallPlan {
            package_name: package.package_name.clone(),
            version: package.version.clone(),
            package_id: package.package_id.clone(),
            removed: removed
                .iter()
                .cloned()
                .map(ArtifactId::from_trusted)
                .collect(),
            already_deleted: already_deleted
                .iter()
                .cloned()
                .map(ArtifactId::from_trusted)
                .collect(),
        };
        if !apply {
            return Ok(Ok(plan));
        }

        let now = now_micros();
        for chunk in removed.chunks(HASH_CHUNK) {
            let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
            let rows: Vec<RawArtifact> = raw_artifacts(self.connection(), &tenant, &ids)
                .await?
                .into_values()
                .map(|mut row| {
                    row.status = ArtifactStatus::Deleted.as_str().to_owned();
                    row.updated_at = now;
                    row
                })
                .collect();
            let hashes: Vec<(&str, String)> = rows
                .iter()
                .map(|row| (row.artifact_id.as_str(), row.sha256()))
                .collect();
            self.snapshot_artifacts(&hashes).await?;
            for row in &rows {
                put_raw_artifact(self.connection(), row).await?;
            }
        }
        self.snapshot_owners(&owned_ids).await?;
        sqlx::query("DELETE FROM artifact_owners WHERE tenant_id = $1 AND name_key = $2")
            .bind(tenant.as_str())
            .bind(key.as_str())
            .execute(self.connection())
            .await?;
        self.snapshot_package(&key).await?;
        sqlx::query(
            "UPDATE installed_packages SET status = $3, uninstalled_by_import_id = $4, \
               uninstalled_at = $5, superseded_by_name = NULL, superseded_by_version = NULL, \
               superseded_by_import_id = NULL, superseded_at = NULL \
             WHERE tenant_id = $1 AND name_key = $2",
        )
        .bind(tenant.as_str())
        .bind(key.as_str())
        .bind(InstalledStatus::Uninstalled.as_str())
        .bind(record.as_str())
        .bind(to_micros(at))
        .execute(self.connection())
        .await?;
        Ok(Ok(plan))
    }
}

impl Store {
    /// Removes the rows of every snapshot taken before `taken_before`,
    /// keeping its header (marked pruned). Returns how many snapshots.
    pub async fn prune_snapshots(&self, taken_before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let bound = to_micros(taken_before);
        for table in ["snapshot_artifacts", "snapshot_owners", "snapshot_packages"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE import_id IN \
                 (SELECT import_id FROM import_snapshots WHERE taken_at < $1 AND pruned_at IS NULL)"
            ))
            .bind(bound)
            .execute(&mut *tx)
            .await?;
        }
        let pruned = sqlx::query(
            "UPDATE import_snapshots SET pruned_at = $2 WHERE taken_at < $1 AND pruned_at IS NULL",
        )
        .bind(bound)
        .bind(now_micros())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(pruned)
    }

    /// The snapshot kept for an import record, if any.
    pub async fn snapshot(&self, import_id: &ImportId) -> Result<Option<SnapshotInfo>> {
        let header = sqlx::query_as::<_, HeaderRow>(
            "SELECT taken_at, undoes, rolled_back_by, pruned_at FROM import_snapshots \
             WHERE import_id = $1",
        )
        .bind(import_id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(header) = header else {
            return Ok(None);
        };
        let mut counts = [0u64; 3];
        for (i, table) in ["snapshot_artifacts", "snapshot_owners", "snapshot_packages"]
            .iter()
            .enumerate()
        {
            let n: i64 = sqlx::query_scalar(&format!(
                "SELECT COUNT(*) FROM {table} WHERE import_id = $1"
            ))
            .bind(import_id.as_str())
            .fetch_one(&self.pool)
            .await?;
            counts[i] = u64::try_from(n)
                .map_err(|_| StoreError::Corrupt(format!("{table}: negative count")))?;
        }
        Ok(Some(SnapshotInfo {
            import_id: import_id.clone(),
            taken_at: crate::db::from_micros(header.taken_at, "import_snapshots.taken_at")?,
            undoes: header.undoes.map(ImportId::from_trusted),
            rolled_back_by: header.rolled_back_by.map(ImportId::from_trusted),
            pruned: header.pruned_at.is_some(),
            artifacts: counts[0],
            owners: counts[1],
            packages: counts[2],
        }))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::content_sha256;

    /// The content hash as it was first defined: serde_json's encoding of
    /// the fields as a JSON array, hashed. Stored snapshots hold hashes made
    /// this way, so the fast path must never differ from it.
    fn by_serde_json(fields: [&str; 7]) -> String {
        hex::encode(Sha256::digest(serde_json::to_vec(&fields).unwrap()))
    }

    fn hash(fields: [&str; 7]) -> String {
        let [t, n, v, s, d, r, l] = fields;
        content_sha256(t, n, v, s, d, r, l)
    }

    #[test]
    fn the_content_hash_is_serde_json_s_array_of_the_fields() {
        let definition = r#"{"a":"x\"y\\z","b":[1,2.5,null],"c":"é\u0001"}"#;
        for fields in [
            ["Form", "N", "1.0.0", "Published", definition, "[]", "[]"],
            ["", "", "", "", "", "", ""],
            [
                "\"",
                "\\",
                "\n",
                "\u{1f}",
                "\u{7f}",
                "\u{2028}",
                "tab\there",
            ],
        ] {
            assert_eq!(hash(fields), by_serde_json(fields), "{fields:?}");
        }
    }

    proptest! {
        #[test]
        fn the_content_hash_never_differs_from_serde_json_s(
            fields in proptest::array::uniform7(
                proptest::string::string_regex("(.|[\"\\\\\u{0}-\u{1f}]){0,200}").unwrap()
            ),
            long in proptest::string::string_regex("[a-z\"\\\\\n]{0,40}").unwrap(),
        ) {
            let mut fields = fields;
            // A long definition with an escape here and there, as an
            // import's are.
            let definition = format!("{}{long}{}", "A".repeat(5000), "B/+".repeat(700));
            fields[4] = fields[4].clone() + &definition;
            let fields: [&str; 7] = std::array::from_fn(|i| fields[i].as_str());
            prop_assert_eq!(hash(fields), by_serde_json(fields));
        }
    }
}
