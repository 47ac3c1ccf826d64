//! The install transaction (SPEC §7): all-or-nothing, and never interleaved
//! with another install into the same tenant.
//!
//! # The tenant install lock
//!
//! [`Store::begin_install`] opens a transaction whose first statement is
//! `UPDATE tenants SET install_seq = install_seq + 1 WHERE tenant_id = $1`.
//!
//! - On PostgreSQL that takes the tenant row's lock until commit or
//!   rollback, so a second install into the same tenant waits at that
//!   statement; under READ COMMITTED its later statements then see what the
//!   first committed. Installs into different tenants lock different rows
//!   and run side by side.
//! - On SQLite a write as the first statement of a (deferred) transaction
//!   takes the database's single write lock before anything is read, so the
//!   transaction's snapshot is current and every other install — into any
//!   tenant, since SQLite has one writer — waits for it (`busy_timeout`,
//!   30 s, see `db.rs`).
//!
//! Either way everything the install reads through [`InstallTx`] is what the
//! previous install committed, and nothing it writes is visible to anyone
//! until [`InstallTx::commit`]. Dropping an [`InstallTx`] (an error, a
//! panic, a cancelled request) rolls back; a process killed mid-way leaves
//! an uncommitted transaction the database discards.
//!
//! While an [`InstallTx`] is open, write through it only: on SQLite a write
//! through the [`Store`] from the same task would wait for the
//! transaction's own lock. Reads through the [`Store`] are fine but do not
//! see the transaction's uncommitted writes.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use installhub_domain::model::InstalledStatus;
use installhub_domain::{Artifact, ArtifactId, ImportId, ImportStatus, PackageId, TenantId};
use serde_json::Value;
use sqlx::{Any, Transaction};

use crate::artifacts::{NewArtifact, WRITE_BATCH, artifacts_by_ids, upsert_artifacts};
use crate::audit::{NewAuditEntry, insert_audit};
use crate::db::{IN_BATCH, Store, now_micros, placeholders, to_micros};
use crate::error::{Result, StoreError};
use crate::failpoints::Failpoints;
use crate::imports::{
    InstalledPackage, finish_import, installed_packages, put_installed_package, set_import_package,
};
use crate::notifications::{NewNotification, insert_notification};
use crate::packages::name_key;
use crate::snapshots::new_artifact_sha256;

impl Store {
    /// Begins an install into `tenant_id`: opens the transaction and takes
    /// the tenant's install lock, waiting for any other install into the
    /// same tenant to finish (see the module documentation). Fails with
    /// [`StoreError::NotFound`] when the tenant does not exist.
    pub async fn begin_install(&self, tenant_id: &TenantId) -> Result<InstallTx> {
        let mut tx = self.pool.begin().await?;
        let locked =
            sqlx::query("UPDATE tenants SET install_seq = install_seq + 1 WHERE tenant_id = $1")
                .bind(tenant_id.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
        if locked == 0 {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!("tenant '{tenant_id}'")));
        }
        Ok(InstallTx {
            tx,
            tenant_id: tenant_id.clone(),
            failpoints: self.failpoints.clone(),
            artifacts_written: 0,
            snapshot: None,
            instance_id: self.instance_id.clone(),
            written_hashes: HashMap::new(),
        })
    }
}

/// An open install transaction holding its tenant's install lock. Commit
/// with [`InstallTx::commit`]; dropping it, or [`InstallTx::rollback`],
/// undoes everything it wrote.
pub struct InstallTx {
    tx: Transaction<'static, Any>,
    pub(crate) tenant_id: TenantId,
    failpoints: Failpoints,
    artifacts_written: usize,
    /// The record whose snapshot the writes keep, once
    /// [`InstallTx::keep_snapshot`] was called (see `snapshots.rs`).
    pub(crate) snapshot: Option<ImportId>,
    /// The store's instance id, owner of the records inserted here.
    pub(crate) instance_id: std::sync::Arc<str>,
    /// The content hash of each artifact [`InstallTx::write_artifacts`]
    /// wrote while a snapshot was kept, computed for the snapshot anyway:
    /// claiming them then needs no second read of every definition just
    /// written. Any other write of artifacts in the transaction (a rollback,
    /// an uninstall) forgets them all.
    pub(crate) written_hashes: HashMap<String, String>,
}

/// A [`NewArtifact`] and its content hash (see [`crate::content_sha256`]),
/// computed ahead for [`InstallTx::write_hashed_artifacts`]. Only this
/// constructor sets the hash, so it always matches the artifact.
#[derive(Debug, Clone)]
pub struct HashedArtifact {
    artifact: NewArtifact,
    sha256: String,
}

impl HashedArtifact {
    /// Hashes `artifact`'s content as the store would.
    pub fn new(artifact: NewArtifact) -> Result<Self> {
        let sha256 = new_artifact_sha256(&artifact)?;
        Ok(HashedArtifact { artifact, sha256 })
    }
}

impl std::fmt::Debug for InstallTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallTx")
            .field("tenant_id", &self.tenant_id)
            .field("artifacts_written", &self.artifacts_written)
            .field("failpoints", &self.failpoints)
            .finish_non_exhaustive()
    }
}

impl InstallTx {
    /// The tenant this transaction installs into.
    pub fn tenant_id(&self) -> &TenantId {
        &self.tenant_id
    }

    /// The tenant's current rows for those of `ids` it has, in id byte order
    /// (as [`Store::artifacts_by_ids`], read inside the transaction).
    pub async fn artifacts_by_ids(&mut self, ids: &[ArtifactId]) -> Result<Vec<Artifact>> {
        artifacts_by_ids(&mut self.tx, &self.tenant_id, ids).await
    }

    /// The tenant's installed packages, by name without case (as
    /// [`Store::installed_packages`]), read inside the transaction.
    pub async fn installed_packages(&mut self) -> Result<Vec<InstalledPackage>> {
        installed_packages(&mut *self.tx, &self.tenant_id).await
    }

    /// Creates or replaces each artifact: every field is replaced but
    /// `created_at`, which a replaced row keeps; `updated_at` becomes now.
    /// When an id appears more than once the last one wins. Written in
    /// multi-row statements of 100. Every artifact must belong to the
    /// transaction's tenant ([`StoreError::TenantMismatch`] otherwise,
    /// before anything is written).
    pub async fn write_artifacts(&mut self, artifacts: &[NewArtifact]) -> Result<()> {
        let artifacts: Vec<(&NewArtifact, Option<&str>)> =
            artifacts.iter().map(|a| (a, None)).collect();
        self.write(&artifacts).await
    }

    /// [`InstallTx::write_artifacts`] of artifacts whose content hashes were
    /// computed ahead ([`HashedArtifact::new`]), off the task that writes:
    /// an import hashes each definition on its reader thread while this
    /// transaction writes the previous batch.
    pub async fn write_hashed_artifacts(&mut self, artifacts: &[HashedArtifact]) -> Result<()> {
        let artifacts: Vec<(&NewArtifact, Option<&str>)> = artifacts
            .iter()
            .map(|h| (&h.artifact, Some(h.sha256.as_str())))
            .collect();
        self.write(&artifacts).await
    }

    async fn write(&mut self, artifacts: &[(&NewArtifact, Option<&str>)]) -> Result<()> {
        if let Some((other, _)) = artifacts
            .iter()
            .find(|(a, _)| a.tenant_id != self.tenant_id)
        {
            return Err(StoreError::TenantMismatch(
                format!("artifact '{}' of tenant '{}'", other.id, other.tenant_id),
                self.tenant_id.to_string(),
            ));
        }
        let mut last = HashMap::with_capacity(artifacts.len());
        for (i, (artifact, _)) in artifacts.iter().enumerate() {
            last.insert(artifact.id.as_str(), i);
        }
        let unique: Vec<(&NewArtifact, Option<&str>)> = artifacts
            .iter()
            .enumerate()
            .filter(|(i, (artifact, _))| last[artifact.id.as_str()] == *i)
            .map(|(_, item)| *item)
            .collect();

        let now = now_micros();
        let mut rest = unique.as_slice();
        while !rest.is_empty() {
            let take = self
                .failpoints
                .next_batch(self.artifacts_written, WRITE_BATCH.min(rest.len()))?;
            let (batch, tail) = rest.split_at(take);
            let hashes = if self.snapshot.is_some() {
                let hashes = batch
                    .iter()
                    .map(|(a, hash)| {
                        let hash = match hash {
                            Some(hash) => (*hash).to_owned(),
                            None => new_artifact_sha256(a)?,
                        };
                        Ok((a.id.as_str(), hash))
                    })
                    .collect::<Result<Vec<_>>>()?;
                self.snapshot_artifacts(&hashes).await?;
                hashes
            } else {
                Vec::new()
            };
            let rows: Vec<&NewArtifact> = batch.iter().map(|(a, _)| *a).collect();
            upsert_artifacts(&mut self.tx, &rows, now).await?;
            for (id, hash) in hashes {
                self.written_hashes.insert(id.to_owned(), hash);
            }
            self.artifacts_written += take;
            self.failpoints.after_batch().await;
            rest = tail;
        }
        self.failpoints.after_all(self.artifacts_written)
    }

    /// Records `package` as installed in the tenant, replacing the row of
    /// the same name compared without case.
    pub async fn put_installed_package(&mut self, package: &InstalledPackage) -> Result<()> {
        if package.tenant_id != self.tenant_id {
            return Err(StoreError::TenantMismatch(
                format!(
                    "installed package '{}' of tenant '{}'",
                    package.package_name, package.tenant_id
                ),
                self.tenant_id.to_string(),
            ));
        }
        self.snapshot_package(&name_key(&package.package_name))
            .await?;
        put_installed_package(&mut *self.tx, package).await
    }

    /// Moves ownership to `owner`, a package already put in this
    /// transaction ([`InstallTx::put_installed_package`]; a database error
    /// otherwise): it now owns every artifact in `written` (created or
    /// replaced by this install) and those in `unchanged` (found identical)
    /// that no package owned. An unchanged artifact another package owns
    /// stays that package's: the install changed nothing there.
    ///
    /// Then every other `Installed` package that owns nothing any more but
    /// owned, or had installed (its `artifact_ids`), one of `written` becomes
    /// `Superseded` by `owner`. Returns their names, by name without case.
    pub async fn claim_artifacts(
        &mut self,
        owner: &InstalledPackage,
        written: &[ArtifactId],
        unchanged: &[ArtifactId],
    ) -> Result<Vec<String>> {
        if owner.tenant_id != self.tenant_id {
            return Err(StoreError::TenantMismatch(
                format!(
                    "installed package '{}' of tenant '{}'",
                    owner.package_name, owner.tenant_id
                ),
                self.tenant_id.to_string(),
            ));
        }
        let owner_key = name_key(&owner.package_name);
        // Sets: PostgreSQL refuses an upsert that meets one row twice.
        let written: BTreeSet<&str> = written.iter().map(ArtifactId::as_str).collect();
        let unchanged: BTreeSet<&str> = unchanged
            .iter()
            .map(ArtifactId::as_str)
            .filter(|id| !written.contains(id))
            .collect();
        let written: Vec<&str> = written.into_iter().collect();
        let unchanged: Vec<&str> = unchanged.into_iter().collect();

        // Who may lose their last artifact: whoever owns one of `written`
        // now, and whoever installed one of them without owning it (it
        // found it unchanged).
        let mut candidates = BTreeSet::new();
        for batch in written.chunks(IN_BATCH) {
            let sql = format!(
                "SELECT DISTINCT name_key FROM artifact_owners \
                 WHERE tenant_id = $1 AND name_key <> $2 AND artifact_id IN ({})",
                placeholders(3, batch.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql)
                .bind(self.tenant_id.as_str())
                .bind(owner_key.as_str());
            for id in batch {
                query = query.bind(*id);
            }
            candidates.extend(query.fetch_all(&mut *self.tx).await?);
        }
        let written_set: BTreeSet<&str> = written.iter().copied().collect();
        for package in installed_packages(&mut *self.tx, &self.tenant_id).await? {
            let key = name_key(&package.package_name);
            if key != owner_key
                && package.status == InstalledStatus::Installed
                && package
                    .artifact_ids
                    .iter()
                    .any(|id| written_set.contains(id.as_str()))
            {
                candidates.insert(key);
            }
        }

        // What the owner installed, so an uninstall can tell a change since.
        let claimed: Vec<&str> = written.iter().chain(&unchanged).copied().collect();
        let hashes = self.content_hashes(&claimed).await?;
        self.snapshot_owners(&claimed).await?;
        for key in &candidates {
            self.snapshot_package(key).await?;
        }

        // Four values a row, well under both backends' parameter limits.
        for (ids, on_conflict) in [
            (
                &written,
                "DO UPDATE SET name_key = excluded.name_key, sha256 = excluded.sha256",
            ),
            (&unchanged, "DO NOTHING"),
        ] {
            for batch in ids.chunks(IN_BATCH) {
                let rows: Vec<String> = (0..batch.len())
                    .map(|i| format!("($1, ${}, $2, ${})", 2 * i + 3, 2 * i + 4))
                    .collect();
                let sql = format!(
                    "INSERT INTO artifact_owners (tenant_id, artifact_id, name_key, sha256) \
                     VALUES {} ON CONFLICT (tenant_id, artifact_id) {on_conflict}",
                    rows.join(", ")
                );
                let mut query = sqlx::query(&sql)
                    .bind(self.tenant_id.as_str())
                    .bind(owner_key.as_str());
                for id in batch {
                    query = query.bind(*id).bind(hashes.get(*id).map(String::as_str));
                }
                query.execute(&mut *self.tx).await?;
            }
        }

        let candidates: Vec<String> = candidates.into_iter().collect();
        let mut superseded = Vec::new();
        for batch in candidates.chunks(IN_BATCH) {
            let sql = format!(
                "UPDATE installed_packages SET status = $2, superseded_by_name = $3, \
                   superseded_by_version = $4, superseded_by_import_id = $5, superseded_at = $6 \
                 WHERE tenant_id = $1 AND status = $7 AND name_key IN ({}) \
                   AND NOT EXISTS (SELECT 1 FROM artifact_owners o \
                     WHERE o.tenant_id = installed_packages.tenant_id \
                       AND o.name_key = installed_packages.name_key) \
                 RETURNING name_key",
                placeholders(8, batch.len())
            );
            let mut query = sqlx::query_scalar::<_, String>(&sql)
                .bind(self.tenant_id.as_str())
                .bind(InstalledStatus::Superseded.as_str())
                .bind(owner.package_name.as_str())
                .bind(owner.version.as_str())
                .bind(owner.import_id.as_str())
                .bind(to_micros(owner.installed_at))
                .bind(InstalledStatus::Installed.as_str());
            for key in batch {
                query = query.bind(key.as_str());
            }
            superseded.extend(query.fetch_all(&mut *self.tx).await?);
        }
        superseded.sort();
        Ok(superseded)
    }

    /// Finishes the `InProgress` import record in this transaction, so the
    /// record and the install commit together. Fails with
    /// [`StoreError::ImportNotInProgress`] when the record is not
    /// `InProgress` (e.g. recovery failed it meanwhile): roll back then.
    pub async fn finish_import(
        &mut self,
        import_id: &ImportId,
        status: ImportStatus,
        finished_at: DateTime<Utc>,
        response: &Value,
    ) -> Result<()> {
        if finish_import(&mut *self.tx, import_id, status, finished_at, response).await? == 0 {
            return Err(StoreError::ImportNotInProgress(import_id.to_string()));
        }
        Ok(())
    }

    /// Names the import's package ([`Store::set_import_package`]) in this
    /// transaction: the name commits with the install, so a package read
    /// and written in one pass names its record only once every file of it
    /// was verified.
    pub async fn set_import_package(
        &mut self,
        import_id: &ImportId,
        package_id: &PackageId,
        package_name: &str,
        version: &str,
    ) -> Result<()> {
        let updated =
            set_import_package(&mut *self.tx, import_id, package_id, package_name, version).await?;
        if updated == 0 {
            return Err(StoreError::ImportNotInProgress(import_id.to_string()));
        }
        Ok(())
    }

    /// Appends an audit entry that commits, or rolls back, with the install.
    pub async fn record_audit(&mut self, entry: &NewAuditEntry) -> Result<i64> {
        insert_audit(&mut *self.tx, entry).await
    }

    /// The transaction's connection, for the store's other modules.
    pub(crate) fn connection(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    /// Stores a notification (and its outbox e-mail) in this transaction,
    /// as [`Store::notify`] does: they commit, or roll back, with the
    /// install. Wake the mailer after the commit.
    pub async fn notify(&mut self, n: &NewNotification) -> Result<String> {
        insert_notification(&mut self.tx, n).await
    }

    /// Makes everything written visible at once and releases the lock.
    /// A kept snapshot is sealed first (see `snapshots.rs`).
    pub async fn commit(mut self) -> Result<()> {
        self.seal_snapshot().await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Undoes everything written and releases the lock (dropping the
    /// transaction does the same, without waiting for it).
    pub async fn rollback(self) -> Result<()> {
        self.tx.rollback().await?;
        Ok(())
    }
}
