//! The marketplace, the PublicHub (SPEC §8, seed 04): publish, discover,
//! govern, and the CDN and keys installers fetch from.
//!
//! - [`publish`]: `POST /api/marketplace/packages`
//! - [`search`]: `GET /api/marketplace/packages`
//! - [`show`]: `GET /api/marketplace/packages/{packageId}`
//! - [`govern`]: trust level, yank, delisting
//! - [`install`]: install (a durable job) and its status
//! - [`cdn`]: `GET /cdn/bundles/sha256/{file}` and the JWKS
//!
//! Who may do what: reading listings needs any valid token; publishing
//! needs `marketplace:publish` and export access to the package's tenant;
//! a listing belongs to the tenant that first published its name, and
//! only that tenant's packages add versions; trust levels and delisting
//! need `marketplace:admin`; a yank needs `marketplace:admin`, or
//! `marketplace:publish` with access to the owner tenant. Identities
//! (who published, yanked, delisted) stay in the owner tenant's audit log
//! and are not shown to every reader of the marketplace.

pub mod cdn;
pub mod govern;
pub mod install;
pub mod publish;
pub mod search;
pub mod show;

use chrono::{DateTime, Utc};
use installhub_domain::marketplace::{TrustLevel, latest_version};
use installhub_domain::{
    Caller, ErrorCode, Failure, ListingId, PackageType, Scope, Verdict, Version,
};
use installhub_store::{ListingRecord, ListingVersionRecord, Mark};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::extract::require_scope;
use crate::state::AppState;

/// The CDN path of a bundle: content-addressed by its SHA-256.
pub fn bundle_url(sha256: &str) -> String {
    format!("/cdn/bundles/sha256/{sha256}.zip")
}

/// The bundle store key of a CDN bundle.
pub fn cdn_key(sha256: &str) -> String {
    format!("cdn/sha256/{sha256}.zip")
}

/// When and why (who is in the owner tenant's audit log).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MarkView {
    #[schema(value_type = String, format = DateTime)]
    pub at: DateTime<Utc>,
    pub reason: String,
}

impl From<&Mark> for MarkView {
    fn from(mark: &Mark) -> Self {
        MarkView {
            at: mark.at,
            reason: mark.reason.clone(),
        }
    }
}

/// One published version.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VersionView {
    #[schema(example = "2.1.0")]
    pub version: String,
    /// The bundle on the CDN (relative to the PublicHub's base URL).
    #[schema(
        example = "/cdn/bundles/sha256/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08.zip"
    )]
    pub bundle_url: String,
    /// The manifest's checksum (`sha256:` and hex).
    #[schema(example = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    pub checksum: String,
    /// Hex SHA-256 of the bundle ZIP.
    pub bundle_sha256: String,
    pub size_bytes: u64,
    /// Ed25519 over the version's canonical statement, base64url without
    /// padding.
    pub signature: String,
    /// The key in `/.well-known/installhub/publichub-keys.json` that made
    /// the signature.
    #[schema(example = "ed25519-3f2a9c1b7d4e8a06")]
    pub key_id: String,
    #[schema(value_type = String, format = DateTime)]
    pub published_at: DateTime<Utc>,
    pub package_type: PackageType,
    /// The scan's verdict when it was published (`FAIL` is never published).
    #[schema(example = "PASS")]
    pub security_scan_result: Verdict,
    #[schema(value_type = Vec<installhub_scan::Finding>)]
    pub security_findings: serde_json::Value,
    /// Set when the version was yanked: never "latest", still installable
    /// when named exactly.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yanked: Option<MarkView>,
    /// Set when the version was deprecated: it still installs (and may be
    /// "latest"), and its users are told why not to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<MarkView>,
}

impl From<&ListingVersionRecord> for VersionView {
    fn from(v: &ListingVersionRecord) -> Self {
        VersionView {
            version: v.version.clone(),
            bundle_url: bundle_url(&v.bundle_sha256),
            checksum: v.manifest_checksum.clone(),
            bundle_sha256: v.bundle_sha256.clone(),
            size_bytes: v.bundle_size,
            signature: v.signature.clone(),
            key_id: v.key_id.clone(),
            published_at: v.published_at,
            package_type: v.package_type,
            security_scan_result: v.scan_result,
            security_findings: v.scan_findings.clone(),
            yanked: v.yanked.as_ref().map(MarkView::from),
            deprecated: v.deprecated.as_ref().map(MarkView::from),
        }
    }
}

/// A listing as search shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingSummary {
    /// The listing's id: the `packageId` of the marketplace paths.
    #[schema(value_type = String, example = "mkt-pkg-0b8e2f4a-6c1d-4e7b-9a3f-5d2c8e1b7a64")]
    pub package_id: ListingId,
    #[schema(example = "Employee Onboarding Suite")]
    pub name: String,
    pub package_type: PackageType,
    pub summary: String,
    pub publisher: String,
    pub categories: Vec<String>,
    pub trust_level: TrustLevel,
    /// Installs that completed.
    pub install_count: u64,
    /// The highest version that is not yanked; absent when every one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "2.1.0")]
    pub latest_version: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    /// Set when an admin delisted it: no new installs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delisted: Option<MarkView>,
}

impl ListingSummary {
    pub fn new(listing: &ListingRecord, versions: &[&ListingVersionRecord]) -> Self {
        ListingSummary {
            package_id: listing.listing_id.clone(),
            name: listing.name.clone(),
            package_type: listing.package_type,
            summary: listing.summary.clone(),
            publisher: listing.publisher.clone(),
            categories: listing.categories.clone(),
            trust_level: listing.trust_level,
            install_count: listing.install_count,
            latest_version: latest_version(
                versions
                    .iter()
                    .map(|v| (v.version.as_str(), v.yanked.is_some())),
            )
            .map(str::to_owned),
            updated_at: listing.updated_at,
            delisted: listing.delisted.as_ref().map(MarkView::from),
        }
    }
}

/// A listing with every version, newest (by SemVer) first.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingDetail {
    #[serde(flatten)]
    pub listing: ListingSummary,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub versions: Vec<VersionView>,
}

impl ListingDetail {
    pub fn new(listing: &ListingRecord, versions: &[ListingVersionRecord]) -> Self {
        let refs: Vec<&ListingVersionRecord> = versions.iter().collect();
        let mut views: Vec<VersionView> = versions.iter().map(VersionView::from).collect();
        views.sort_by(|a, b| compare_versions(&b.version, &a.version));
        ListingDetail {
            listing: ListingSummary::new(listing, &refs),
            created_at: listing.created_at,
            versions: views,
        }
    }
}

/// SemVer order (the domain's [`Version`]); a version that is not SemVer
/// sorts below every one that is, then by its text.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |v: &str| Version::parse(v, "a listing").ok();
    parse(a).cmp(&parse(b)).then_with(|| a.cmp(b))
}

/// 404 `PackageNotFound` for a marketplace package id.
pub fn listing_not_found(id: &str) -> ApiError {
    ApiError::not_found(
        Failure::new(
            ErrorCode::PackageNotFound,
            format!("Marketplace package '{id}' does not exist."),
        )
        .detail("packageId", id),
    )
}

/// The listing at a marketplace path, or 404.
pub async fn find_listing(state: &AppState, id: &ListingId) -> ApiResult<ListingRecord> {
    state
        .store()
        .get_listing(id)
        .await?
        .ok_or_else(|| listing_not_found(id.as_str()))
}

/// `marketplace:admin`, or `marketplace:publish` with access to the tenant
/// that owns the listing: who may yank its versions.
pub fn require_admin_or_owner(caller: &Caller, listing: &ListingRecord) -> ApiResult<()> {
    if caller.has_scope(Scope::MarketplaceAdmin) {
        return Ok(());
    }
    require_scope(caller, Scope::MarketplacePublish)?;
    if caller.can_access(&listing.owner_tenant_id) {
        Ok(())
    } else {
        Err(Failure::new(
            ErrorCode::ListingOwnedElsewhere,
            format!(
                "Marketplace package '{}' belongs to another tenant's publishers; only they or a marketplace admin may change its versions.",
                listing.listing_id
            ),
        )
        .detail("packageId", listing.listing_id.as_str())
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_by_semver_then_text() {
        let mut v = vec!["1.10.0", "1.9.0", "2.0.0-rc.1", "x", "2.0.0"];
        v.sort_by(|a, b| compare_versions(b, a));
        assert_eq!(v, ["2.0.0", "2.0.0-rc.1", "1.10.0", "1.9.0", "x"]);
    }
}
