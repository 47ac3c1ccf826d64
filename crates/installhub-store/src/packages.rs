//! Exported packages: one row per package, the manifest as JSON and where its
//! bundle lives. Packages are immutable: inserted once, never updated.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use installhub_domain::{Manifest, PackageId, PackageType, TenantId};

use crate::audit::{AuditEvent, NewAuditEntry, PackageExported, insert_audit};
use crate::db::{
    IN_BATCH, Store, from_json, from_micros, is_foreign_key_violation, is_unique_violation,
    parse_wire, placeholders, to_json, to_micros,
};
use crate::error::{Result, StoreError};

/// A stored package. The `name_key` column (the lower-cased name that the
/// uniqueness rule compares) is derived from `package_name` by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct PackageRecord {
    pub package_id: PackageId,
    pub tenant_id: TenantId,
    pub package_name: String,
    pub package_type: PackageType,
    pub version: String,
    pub description: Option<String>,
    pub author: Option<String>,
    pub tags: Vec<String>,
    /// `sha256:<hex>`, the package checksum (SPEC §6).
    pub checksum: String,
    pub artifact_count: u32,
    pub manifest: Manifest,
    /// The bundle's key in the [`crate::BundleStore`].
    pub bundle_key: String,
    pub bundle_size: u64,
    /// Lower-case hex SHA-256 of the whole bundle file.
    pub bundle_sha256: String,
    /// Stored with microsecond precision.
    pub exported_at: DateTime<Utc>,
    pub exported_by: String,
}

impl PackageRecord {
    /// The key the "one name and version per tenant" rule compares.
    pub fn name_key(&self) -> String {
        name_key(&self.package_name)
    }
}

/// Lower-cased with Rust's Unicode rules rather than SQL `lower()`, which
/// only folds ASCII on SQLite: one behaviour on both backends.
pub(crate) fn name_key(name: &str) -> String {
    name.to_lowercase()
}

const PACKAGE_COLUMNS: &str = "package_id, tenant_id, package_name, package_type, version, \
     description, author, tags, checksum, artifact_count, manifest, bundle_key, bundle_size, \
     bundle_sha256, exported_at, exported_by";

row! {
    struct PackageRow {
        package_id: String,
        tenant_id: String,
        package_name: String,
        package_type: String,
        version: String,
        description: Option<String>,
        author: Option<String>,
        tags: String,
        checksum: String,
        artifact_count: i64,
        manifest: String,
        bundle_key: String,
        bundle_size: i64,
        bundle_sha256: String,
        exported_at: i64,
        exported_by: String,
    }
}

impl TryFrom<PackageRow> for PackageRecord {
    type Error = StoreError;

    fn try_from(row: PackageRow) -> Result<Self> {
        Ok(PackageRecord {
            package_type: parse_wire(
                &row.package_type,
                PackageType::parse,
                "packages.package_type",
            )?,
            tags: from_json(&row.tags, "packages.tags")?,
            artifact_count: u32::try_from(row.artifact_count).map_err(|_| {
                StoreError::Corrupt(format!(
                    "packages.artifact_count: {} is out of range",
                    row.artifact_count
                ))
            })?,
            manifest: from_json(&row.manifest, "packages.manifest")?,
            bundle_size: u64::try_from(row.bundle_size).map_err(|_| {
                StoreError::Corrupt(format!(
                    "packages.bundle_size: {} is negative",
                    row.bundle_size
                ))
            })?,
            exported_at: from_micros(row.exported_at, "packages.exported_at")?,
            package_id: PackageId::from_trusted(row.package_id),
            tenant_id: TenantId::from_trusted(row.tenant_id),
            package_name: row.package_name,
            version: row.version,
            description: row.description,
            author: row.author,
            checksum: row.checksum,
            bundle_key: row.bundle_key,
            bundle_sha256: row.bundle_sha256,
            exported_by: row.exported_by,
        })
    }
}

impl Store {
    /// Stores a new package. Fails with [`StoreError::VersionConflict`] when
    /// the tenant already has this name (compared without case) and version,
    /// even when another replica inserted it a moment ago: the unique index
    /// decides, not a prior check. [`StoreError::NotFound`] when the tenant
    /// does not exist.
    ///
    /// The export's `export` audit entry (actor `exported_by`) commits in the
    /// same transaction as the row: an acknowledged export is always in the
    /// log, and a refused one never appears there as a success.
    pub async fn insert_package(&self, package: &PackageRecord) -> Result<()> {
        let tags = to_json(&package.tags, "package tags")?;
        let manifest = to_json(&package.manifest, "package manifest")?;
        let bundle_size = i64::try_from(package.bundle_size).map_err(|_| {
            StoreError::Corrupt(format!(
                "bundle size {} does not fit the database",
                package.bundle_size
            ))
        })?;
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO packages ({PACKAGE_COLUMNS}, name_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        let result = sqlx::query(&sql)
            .bind(package.package_id.as_str())
            .bind(package.tenant_id.as_str())
            .bind(package.package_name.as_str())
            .bind(package.package_type.as_str())
            .bind(package.version.as_str())
            .bind(package.description.as_deref())
            .bind(package.author.as_deref())
            .bind(tags.as_str())
            .bind(package.checksum.as_str())
            .bind(i64::from(package.artifact_count))
            .bind(manifest.as_str())
            .bind(package.bundle_key.as_str())
            .bind(bundle_size)
            .bind(package.bundle_sha256.as_str())
            .bind(to_micros(package.exported_at))
            .bind(package.exported_by.as_str())
            .bind(package.name_key())
            .execute(&mut *tx)
            .await;
        match result {
            Ok(_) => {
                let event = AuditEvent::Export(PackageExported {
                    package_id: package.package_id.clone(),
                    package_name: package.package_name.clone(),
                    version: package.version.clone(),
                    artifact_count: package.artifact_count,
                    checksum: package.checksum.clone(),
                });
                let entry = NewAuditEntry::now(
                    package.tenant_id.clone(),
                    package.exported_by.as_str(),
                    event,
                );
                insert_audit(&mut *tx, &entry).await?;
                tx.commit().await?;
                Ok(())
            }
            Err(err) if is_unique_violation(&err) => {
                // PostgreSQL refuses every further statement of a transaction
                // after an error: end it before looking.
                tx.rollback().await?;
                // The package id is a fresh UUID, so the name and version
                // are what collided; checking keeps a (theoretical) id
                // collision from being reported as a version conflict.
                // Packages are never deleted, so the row is still there.
                if self
                    .package_version_exists(
                        &package.tenant_id,
                        &package.package_name,
                        &package.version,
                    )
                    .await?
                {
                    Err(StoreError::VersionConflict)
                } else {
                    Err(err.into())
                }
            }
            Err(err) if is_foreign_key_violation(&err) => Err(StoreError::NotFound(format!(
                "tenant '{}'",
                package.tenant_id
            ))),
            Err(err) => Err(err.into()),
        }
    }

    /// Whether the tenant has a package with this name (compared without
    /// case) and exactly this version.
    pub async fn package_version_exists(
        &self,
        tenant_id: &TenantId,
        name: &str,
        version: &str,
    ) -> Result<bool> {
        let found = sqlx::query(
            "SELECT 1 FROM packages WHERE tenant_id = $1 AND name_key = $2 AND version = $3",
        )
        .bind(tenant_id.as_str())
        .bind(name_key(name))
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.is_some())
    }

    /// One package, whichever tenant owns it (the caller checks access).
    pub async fn get_package(&self, package_id: &PackageId) -> Result<Option<PackageRecord>> {
        let sql = format!("SELECT {PACKAGE_COLUMNS} FROM packages WHERE package_id = $1");
        sqlx::query_as::<_, PackageRow>(&sql)
            .bind(package_id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(PackageRecord::try_from)
            .transpose()
    }

    /// Of `keys` (bundle store keys), those some package row names as its
    /// bundle. Looked up through the package id that a key written by
    /// [`crate::BundleStore::package_key`] carries (the primary key), 500
    /// at a time. A key of any other shape is returned as named: a sweep
    /// must never delete what the store did not write.
    pub async fn named_bundle_keys(&self, keys: &[String]) -> Result<HashSet<String>> {
        let mut named = HashSet::new();
        let mut ids = Vec::new();
        for key in keys {
            match key
                .strip_prefix("packages/")
                .and_then(|rest| rest.strip_suffix(".zip"))
            {
                Some(id) if !id.contains('/') => ids.push(id),
                _ => {
                    named.insert(key.clone());
                }
            }
        }
        for batch in ids.chunks(IN_BATCH) {
            let sql = format!(
                "SELECT bundle_key FROM packages WHERE package_id IN ({})",
                placeholders(1, batch.len())
            );
            let mut query = sqlx::query_as::<_, (String,)>(&sql);
            for id in batch {
                query = query.bind(*id);
            }
            for (key,) in query.fetch_all(&self.pool).await? {
                named.insert(key);
            }
        }
        Ok(named)
    }

    /// A tenant's packages, newest export first, at most `limit` (negative
    /// counts as 0). `filter.name_prefix` keeps the packages whose name
    /// starts with it, compared without case (as the name uniqueness rule
    /// compares); `filter.before` starts after that package (a cursor of
    /// another tenant, or of no package, gives an empty page).
    pub async fn list_packages(
        &self,
        tenant_id: &TenantId,
        limit: i64,
        filter: &PackageFilter<'_>,
    ) -> Result<Vec<PackageRecord>> {
        let mut sql = format!("SELECT {PACKAGE_COLUMNS} FROM packages WHERE tenant_id = $1");
        let mut next = 2;
        let pattern = filter.name_prefix.map(|prefix| {
            sql.push_str(&format!(" AND name_key LIKE ${next} ESCAPE '\\'"));
            next += 1;
            format!("{}%", escape_like(&name_key(prefix)))
        });
        if filter.before.is_some() {
            // A row-value comparison with the cursor's row, as imports page.
            sql.push_str(&format!(
                " AND (exported_at, package_id) < \
                   (SELECT exported_at, package_id FROM packages \
                    WHERE tenant_id = $1 AND package_id = ${next})"
            ));
            next += 1;
        }
        sql.push_str(&format!(
            " ORDER BY exported_at DESC, package_id DESC LIMIT ${next}"
        ));
        let mut query = sqlx::query_as::<_, PackageRow>(&sql).bind(tenant_id.as_str());
        if let Some(pattern) = pattern {
            query = query.bind(pattern);
        }
        if let Some(before) = filter.before {
            query = query.bind(before.as_str());
        }
        query
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(PackageRecord::try_from)
            .collect()
    }
}

/// Which of a tenant's packages [`Store::list_packages`] lists.
#[derive(Debug, Clone, Copy, Default)]
pub struct PackageFilter<'a> {
    /// Names starting with this, without case.
    pub name_prefix: Option<&'a str>,
    /// Only packages exported before this one (the page cursor).
    pub before: Option<&'a PackageId>,
}

/// `text` as a literal in a `LIKE ... ESCAPE '\'` pattern.
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
