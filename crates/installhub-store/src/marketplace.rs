//! The marketplace's listings and their versions (SPEC §8).
//!
//! A listing is created by the first publish of a package name and never
//! deleted; versions are appended and never changed except for their yank.
//! Publishing is two steps, because the version's signature covers the
//! listing id: [`Store::ensure_listing`] finds or creates the listing,
//! then [`Store::insert_listing_version`] adds the signed version and
//! refreshes the listing's description in one transaction. A listing whose
//! first publish failed after the first step has no versions, and every
//! read below treats it as absent.

use chrono::{DateTime, Utc};
use installhub_domain::marketplace::TrustLevel;
use installhub_domain::{ListingId, PackageId, PackageType, TenantId, Verdict};
use serde_json::Value;

use crate::audit::{AuditEvent, MarketplaceChange, NewAuditEntry, insert_audit};
use crate::db::{
    IN_BATCH, Store, from_json, from_micros, is_unique_violation, now_micros, parse_wire,
    placeholders, to_json, to_micros,
};
use crate::error::{Result, StoreError};
use crate::packages::name_key;

/// Who did something to a listing or version, when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub at: DateTime<Utc>,
    pub by: String,
    pub reason: String,
}

/// A listing as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingRecord {
    pub listing_id: ListingId,
    pub name: String,
    pub package_type: PackageType,
    pub summary: String,
    pub publisher: String,
    pub categories: Vec<String>,
    pub trust_level: TrustLevel,
    pub owner_tenant_id: TenantId,
    pub install_count: u64,
    pub delisted: Option<Mark>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a publish says of the listing; the newest publish's words win.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingDescription {
    pub name: String,
    pub package_type: PackageType,
    pub summary: String,
    pub publisher: String,
    pub categories: Vec<String>,
}

/// One published version.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingVersionRecord {
    pub listing_id: ListingId,
    pub version: String,
    pub source_package_id: PackageId,
    pub package_type: PackageType,
    /// The manifest's `sha256:<hex>` checksum.
    pub manifest_checksum: String,
    /// Lower-case hex SHA-256 of the bundle ZIP.
    pub bundle_sha256: String,
    pub bundle_size: u64,
    /// Where the bundle is in the [`crate::BundleStore`].
    pub bundle_key: String,
    pub signature: String,
    pub key_id: String,
    pub scan_result: Verdict,
    /// The scan's findings as published (JSON array).
    pub scan_findings: Value,
    /// Stored with microsecond precision.
    pub published_at: DateTime<Utc>,
    pub published_by: String,
    pub yanked: Option<Mark>,
    pub deprecated: Option<Mark>,
}

/// The two marks a published version can carry, each with who, when and
/// why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMark {
    /// Never "latest"; still installs when named exactly.
    Yank,
    /// Still installs, and may be "latest"; users are told why not to.
    Deprecation,
}

impl VersionMark {
    /// Its columns: when, who, why.
    fn columns(self) -> [&'static str; 3] {
        match self {
            VersionMark::Yank => ["yanked_at", "yanked_by", "yank_reason"],
            VersionMark::Deprecation => ["deprecated_at", "deprecated_by", "deprecation_reason"],
        }
    }
}

/// The filters of a listing search; every one that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListingQuery {
    /// Words anywhere in the name, summary or publisher (without case).
    pub q: Option<String>,
    pub package_type: Option<PackageType>,
    pub trust_level: Option<TrustLevel>,
    /// The publisher, without case.
    pub publisher: Option<String>,
    pub category: Option<String>,
    /// Also delisted listings.
    pub include_delisted: bool,
    /// Listings after this (name key, listing id) in name order: the
    /// cursor of the previous page's last listing.
    pub after: Option<(String, String)>,
    pub limit: i64,
}

const LISTING_COLUMNS: &str = "listing_id, name, name_key, package_type, summary, publisher, \
     categories, trust_level, owner_tenant_id, install_count, delisted_at, delisted_by, \
     delist_reason, created_at, updated_at";

const VERSION_COLUMNS: &str = "listing_id, version, source_package_id, package_type, \
     manifest_checksum, bundle_sha256, bundle_size, bundle_key, signature, key_id, scan_result, \
     scan_findings, published_at, published_by, yanked_at, yanked_by, yank_reason, deprecated_at, \
     deprecated_by, deprecation_reason";

/// A listing has at least one version; without one it is a publish that
/// failed half-way and does not exist for readers.
const HAS_VERSIONS: &str =
    "EXISTS (SELECT 1 FROM listing_versions v WHERE v.listing_id = listings.listing_id)";

row! {
    struct ListingRow {
        listing_id: String,
        name: String,
        name_key: String,
        package_type: String,
        summary: String,
        publisher: String,
        categories: String,
        trust_level: String,
        owner_tenant_id: String,
        install_count: i64,
        delisted_at: Option<i64>,
        delisted_by: Option<String>,
        delist_reason: Option<String>,
        created_at: i64,
        updated_at: i64,
    }
}

fn mark(
    at: Option<i64>,
    by: Option<String>,
    reason: Option<String>,
    what: &str,
) -> Result<Option<Mark>> {
    match (at, by, reason) {
        (None, None, None) => Ok(None),
        (Some(at), Some(by), Some(reason)) => Ok(Some(Mark {
            at: from_micros(at, what)?,
            by,
            reason,
        })),
        _ => Err(StoreError::Corrupt(format!("{what}: partly set"))),
    }
}

impl TryFrom<ListingRow> for ListingRecord {
    type Error = StoreError;

    fn try_from(row: ListingRow) -> Result<Self> {
        Ok(ListingRecord {
            package_type: parse_wire(
                &row.package_type,
                PackageType::parse,
                "listings.package_type",
            )?,
            categories: from_json(&row.categories, "listings.categories")?,
            trust_level: parse_wire(&row.trust_level, TrustLevel::parse, "listings.trust_level")?,
            install_count: u64::try_from(row.install_count).map_err(|_| {
                StoreError::Corrupt(format!(
                    "listings.install_count: {} is negative",
                    row.install_count
                ))
            })?,
            delisted: mark(
                row.delisted_at,
                row.delisted_by,
                row.delist_reason,
                "listings.delisted",
            )?,
            created_at: from_micros(row.created_at, "listings.created_at")?,
            updated_at: from_micros(row.updated_at, "listings.updated_at")?,
            listing_id: ListingId::from_trusted(row.listing_id),
            owner_tenant_id: TenantId::from_trusted(row.owner_tenant_id),
            name: row.name,
            summary: row.summary,
            publisher: row.publisher,
        })
    }
}

row! {
    struct VersionRow {
        listing_id: String,
        version: String,
        source_package_id: String,
        package_type: String,
        manifest_checksum: String,
        bundle_sha256: String,
        bundle_size: i64,
        bundle_key: String,
        signature: String,
        key_id: String,
        scan_result: String,
        scan_findings: String,
        published_at: i64,
        published_by: String,
        yanked_at: Option<i64>,
        yanked_by: Option<String>,
        yank_reason: Option<String>,
        deprecated_at: Option<i64>,
        deprecated_by: Option<String>,
        deprecation_reason: Option<String>,
    }
}

impl TryFrom<VersionRow> for ListingVersionRecord {
    type Error = StoreError;

    fn try_from(row: VersionRow) -> Result<Self> {
        Ok(ListingVersionRecord {
            package_type: parse_wire(
                &row.package_type,
                PackageType::parse,
                "listing_versions.package_type",
            )?,
            bundle_size: u64::try_from(row.bundle_size).map_err(|_| {
                StoreError::Corrupt(format!(
                    "listing_versions.bundle_size: {} is negative",
                    row.bundle_size
                ))
            })?,
            scan_result: parse_wire(
                &row.scan_result,
                Verdict::parse,
                "listing_versions.scan_result",
            )?,
            scan_findings: from_json(&row.scan_findings, "listing_versions.scan_findings")?,
            published_at: from_micros(row.published_at, "listing_versions.published_at")?,
            yanked: mark(
                row.yanked_at,
                row.yanked_by,
                row.yank_reason,
                "listing_versions.yanked",
            )?,
            deprecated: mark(
                row.deprecated_at,
                row.deprecated_by,
                row.deprecation_reason,
                "listing_versions.deprecated",
            )?,
            listing_id: ListingId::from_trusted(row.listing_id),
            source_package_id: PackageId::from_trusted(row.source_package_id),
            version: row.version,
            manifest_checksum: row.manifest_checksum,
            bundle_sha256: row.bundle_sha256,
            bundle_key: row.bundle_key,
            signature: row.signature,
            key_id: row.key_id,
            published_by: row.published_by,
        })
    }
}

/// The text `q` searches: name, summary and publisher, lower-cased.
fn search_text(description: &ListingDescription) -> String {
    format!(
        "{}\n{}\n{}",
        description.name, description.summary, description.publisher
    )
    .to_lowercase()
}

/// `%text%` for LIKE, with LIKE's own characters escaped.
fn like_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

fn size_to_db(size: u64) -> Result<i64> {
    i64::try_from(size)
        .map_err(|_| StoreError::Corrupt(format!("bundle size {size} does not fit the database")))
}

impl Store {
    /// The listing of `description.name` (compared without case), created
    /// with trust level `Community` and owner `owner` if there is none.
    /// Two publishers racing on a new name get the same listing: the
    /// unique name key decides. Answers the listing and whether it is new.
    pub async fn ensure_listing(
        &self,
        description: &ListingDescription,
        owner: &TenantId,
    ) -> Result<(ListingRecord, bool)> {
        let now = now_micros();
        let inserted = sqlx::query(
            "INSERT INTO listings (listing_id, name, name_key, package_type, summary, publisher, \
               publisher_key, search_text, categories, trust_level, owner_tenant_id, created_at, \
               updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
             ON CONFLICT (name_key) DO NOTHING",
        )
        .bind(ListingId::random().as_str())
        .bind(description.name.as_str())
        .bind(name_key(&description.name))
        .bind(description.package_type.as_str())
        .bind(description.summary.as_str())
        .bind(description.publisher.as_str())
        .bind(description.publisher.to_lowercase())
        .bind(search_text(description))
        .bind(to_json(&description.categories, "listing categories")?)
        .bind(TrustLevel::Community.as_str())
        .bind(owner.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        let sql = format!("SELECT {LISTING_COLUMNS} FROM listings WHERE name_key = $1");
        let listing = sqlx::query_as::<_, ListingRow>(&sql)
            .bind(name_key(&description.name))
            .fetch_one(&self.pool)
            .await?
            .try_into()?;
        Ok((listing, inserted > 0))
    }

    /// Adds a signed version to its listing and makes the listing's
    /// description the publish's, in one transaction with the audit entry
    /// (in the owner tenant's log). [`StoreError::VersionConflict`] when the
    /// listing has this version already, even if another replica added it
    /// a moment ago.
    pub async fn insert_listing_version(
        &self,
        version: &ListingVersionRecord,
        description: &ListingDescription,
        owner: &TenantId,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let sql = format!(
            "INSERT INTO listing_versions ({VERSION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
               NULL, NULL, NULL, NULL, NULL, NULL)"
        );
        let result = sqlx::query(&sql)
            .bind(version.listing_id.as_str())
            .bind(version.version.as_str())
            .bind(version.source_package_id.as_str())
            .bind(version.package_type.as_str())
            .bind(version.manifest_checksum.as_str())
            .bind(version.bundle_sha256.as_str())
            .bind(size_to_db(version.bundle_size)?)
            .bind(version.bundle_key.as_str())
            .bind(version.signature.as_str())
            .bind(version.key_id.as_str())
            .bind(version.scan_result.as_str())
            .bind(to_json(&version.scan_findings, "scan findings")?)
            .bind(to_micros(version.published_at))
            .bind(version.published_by.as_str())
            .execute(&mut *tx)
            .await;
        match result {
            Ok(_) => {}
            Err(err) if is_unique_violation(&err) => {
                tx.rollback().await?;
                return Err(StoreError::VersionConflict);
            }
            Err(err) => return Err(err.into()),
        }
        sqlx::query(
            "UPDATE listings SET name = $1, package_type = $2, summary = $3, publisher = $4, \
               publisher_key = $5, search_text = $6, categories = $7, updated_at = $8 \
             WHERE listing_id = $9",
        )
        .bind(description.name.as_str())
        .bind(description.package_type.as_str())
        .bind(description.summary.as_str())
        .bind(description.publisher.as_str())
        .bind(description.publisher.to_lowercase())
        .bind(search_text(description))
        .bind(to_json(&description.categories, "listing categories")?)
        .bind(to_micros(version.published_at))
        .bind(version.listing_id.as_str())
        .execute(&mut *tx)
        .await?;
        let change = MarketplaceChange::Published {
            listing_id: version.listing_id.clone(),
            name: description.name.clone(),
            version: version.version.clone(),
            source_package_id: version.source_package_id.clone(),
            bundle_sha256: version.bundle_sha256.clone(),
            security_scan_result: version.scan_result,
        };
        let mut entry = NewAuditEntry::now(
            owner.clone(),
            version.published_by.as_str(),
            AuditEvent::Marketplace(change),
        );
        entry.at = version.published_at;
        insert_audit(&mut *tx, &entry).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A listing that has at least one version.
    pub async fn get_listing(&self, listing_id: &ListingId) -> Result<Option<ListingRecord>> {
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM listings WHERE listing_id = $1 AND {HAS_VERSIONS}"
        );
        sqlx::query_as::<_, ListingRow>(&sql)
            .bind(listing_id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(ListingRecord::try_from)
            .transpose()
    }

    /// A listing's versions, in the order they were published.
    pub async fn listing_versions(
        &self,
        listing_id: &ListingId,
    ) -> Result<Vec<ListingVersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM listing_versions WHERE listing_id = $1 \
             ORDER BY published_at, version"
        );
        sqlx::query_as::<_, VersionRow>(&sql)
            .bind(listing_id.as_str())
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(ListingVersionRecord::try_from)
            .collect()
    }

    /// The versions of several listings, in publish order per listing.
    pub async fn versions_of_listings(
        &self,
        listing_ids: &[ListingId],
    ) -> Result<Vec<ListingVersionRecord>> {
        let mut versions = Vec::new();
        for batch in listing_ids.chunks(IN_BATCH) {
            let sql = format!(
                "SELECT {VERSION_COLUMNS} FROM listing_versions WHERE listing_id IN ({}) \
                 ORDER BY listing_id, published_at, version",
                placeholders(1, batch.len())
            );
            let mut query = sqlx::query_as::<_, VersionRow>(&sql);
            for id in batch {
                query = query.bind(id.as_str());
            }
            for row in query.fetch_all(&self.pool).await? {
                versions.push(row.try_into()?);
            }
        }
        Ok(versions)
    }

    /// Listings in name order that match every filter of `query`, at most
    /// `query.limit`. Answers each with its cursor (name key, id).
    pub async fn search_listings(
        &self,
        query: &ListingQuery,
    ) -> Result<Vec<(ListingRecord, (String, String))>> {
        let mut conditions = vec![HAS_VERSIONS.to_owned()];
        let mut binds: Vec<String> = Vec::new();
        let bind = |value: String, binds: &mut Vec<String>| {
            binds.push(value);
            format!("${}", binds.len())
        };
        if let Some(q) = query.q.as_deref() {
            // Every word must appear (in any order).
            for word in q.split_whitespace() {
                let p = bind(like_pattern(&word.to_lowercase()), &mut binds);
                conditions.push(format!("search_text LIKE {p} ESCAPE '\\'"));
            }
        }
        if let Some(package_type) = query.package_type {
            let p = bind(package_type.as_str().to_owned(), &mut binds);
            conditions.push(format!("package_type = {p}"));
        }
        if let Some(level) = query.trust_level {
            let p = bind(level.as_str().to_owned(), &mut binds);
            conditions.push(format!("trust_level = {p}"));
        }
        if let Some(publisher) = query.publisher.as_deref() {
            let p = bind(publisher.to_lowercase(), &mut binds);
            conditions.push(format!("publisher_key = {p}"));
        }
        if let Some(category) = query.category.as_deref() {
            // Categories are slugs without quotes, so the quoted slug
            // matches one element of the JSON array exactly.
            let p = bind(like_pattern(&format!("\"{category}\"")), &mut binds);
            conditions.push(format!("categories LIKE {p} ESCAPE '\\'"));
        }
        if !query.include_delisted {
            conditions.push("delisted_at IS NULL".to_owned());
        }
        if let Some((key, id)) = &query.after {
            let k = bind(key.clone(), &mut binds);
            let i = bind(id.clone(), &mut binds);
            conditions.push(format!(
                "(name_key > {k} OR (name_key = {k} AND listing_id > {i}))"
            ));
        }
        let sql = format!(
            "SELECT {LISTING_COLUMNS} FROM listings WHERE {} \
             ORDER BY name_key, listing_id LIMIT {}",
            conditions.join(" AND "),
            query.limit.max(0)
        );
        let mut statement = sqlx::query_as::<_, ListingRow>(&sql);
        for value in &binds {
            statement = statement.bind(value.as_str());
        }
        statement
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(|row| {
                let cursor = (row.name_key.clone(), row.listing_id.clone());
                ListingRecord::try_from(row).map(|listing| (listing, cursor))
            })
            .collect()
    }

    /// Sets a listing's trust level; the audit entry goes to the owner
    /// tenant's log. [`StoreError::NotFound`] for no such listing.
    pub async fn set_trust_level(
        &self,
        listing: &ListingRecord,
        level: TrustLevel,
        actor: &str,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let updated = sqlx::query(
            "UPDATE listings SET trust_level = $1, updated_at = $2 WHERE listing_id = $3",
        )
        .bind(level.as_str())
        .bind(now)
        .bind(listing.listing_id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound(format!(
                "listing '{}'",
                listing.listing_id
            )));
        }
        let change = MarketplaceChange::TrustLevel {
            listing_id: listing.listing_id.clone(),
            from: listing.trust_level,
            to: level,
        };
        insert_audit(
            &mut *tx,
            &NewAuditEntry::now(
                listing.owner_tenant_id.clone(),
                actor,
                AuditEvent::Marketplace(change),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Yanks a version (`Some(reason)`) or takes the yank back (`None`):
    /// [`Store::set_version_mark`] with [`VersionMark::Yank`].
    pub async fn set_yank(
        &self,
        listing: &ListingRecord,
        version: &str,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<bool> {
        self.set_version_mark(listing, version, VersionMark::Yank, reason, actor)
            .await
    }

    /// Marks a version (`Some(reason)`) or takes the mark back (`None`),
    /// with its audit entry in the owner tenant's log. Answers whether
    /// anything changed: marking a marked version keeps its first mark.
    /// [`StoreError::NotFound`] for no such version.
    pub async fn set_version_mark(
        &self,
        listing: &ListingRecord,
        version: &str,
        kind: VersionMark,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<bool> {
        let [at, by, why] = kind.columns();
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let (set, unset);
        let updated = match reason {
            Some(reason) => {
                set = format!(
                    "UPDATE listing_versions SET {at} = $1, {by} = $2, {why} = $3 \
                     WHERE listing_id = $4 AND version = $5 AND {at} IS NULL"
                );
                sqlx::query(&set)
                    .bind(now)
                    .bind(actor)
                    .bind(reason)
                    .bind(listing.listing_id.as_str())
                    .bind(version)
            }
            None => {
                unset = format!(
                    "UPDATE listing_versions SET {at} = NULL, {by} = NULL, {why} = NULL \
                     WHERE listing_id = $1 AND version = $2 AND {at} IS NOT NULL"
                );
                sqlx::query(&unset)
                    .bind(listing.listing_id.as_str())
                    .bind(version)
            }
        }
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            let exists = sqlx::query(
                "SELECT 1 FROM listing_versions WHERE listing_id = $1 AND version = $2",
            )
            .bind(listing.listing_id.as_str())
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
            tx.rollback().await?;
            return match exists {
                Some(_) => Ok(false),
                None => Err(StoreError::NotFound(format!(
                    "version '{version}' of listing '{}'",
                    listing.listing_id
                ))),
            };
        }
        let (listing_id, version, reason) = (
            listing.listing_id.clone(),
            version.to_owned(),
            reason.map(str::to_owned),
        );
        let change = match kind {
            VersionMark::Yank => MarketplaceChange::Yank {
                listing_id,
                version,
                yanked: reason.is_some(),
                reason,
            },
            VersionMark::Deprecation => MarketplaceChange::Deprecation {
                listing_id,
                version,
                deprecated: reason.is_some(),
                reason,
            },
        };
        insert_audit(
            &mut *tx,
            &NewAuditEntry::now(
                listing.owner_tenant_id.clone(),
                actor,
                AuditEvent::Marketplace(change),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Delists a listing (`Some(reason)`: no new installs, hidden from
    /// search) or lists it again (`None`). Answers whether anything
    /// changed.
    pub async fn set_delisting(
        &self,
        listing: &ListingRecord,
        reason: Option<&str>,
        actor: &str,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let now = now_micros();
        let updated = match reason {
            Some(reason) => sqlx::query(
                "UPDATE listings SET delisted_at = $1, delisted_by = $2, delist_reason = $3, \
                   updated_at = $1 \
                 WHERE listing_id = $4 AND delisted_at IS NULL",
            )
            .bind(now)
            .bind(actor)
            .bind(reason)
            .bind(listing.listing_id.as_str()),
            None => sqlx::query(
                "UPDATE listings SET delisted_at = NULL, delisted_by = NULL, delist_reason = NULL, \
                   updated_at = $1 \
                 WHERE listing_id = $2 AND delisted_at IS NOT NULL",
            )
            .bind(now)
            .bind(listing.listing_id.as_str()),
        }
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let change = MarketplaceChange::Delisting {
            listing_id: listing.listing_id.clone(),
            delisted: reason.is_some(),
            reason: reason.map(str::to_owned),
        };
        insert_audit(
            &mut *tx,
            &NewAuditEntry::now(
                listing.owner_tenant_id.clone(),
                actor,
                AuditEvent::Marketplace(change),
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
