//! `POST /api/marketplace/packages`: publish an exported package as a
//! version of its listing.
//!
//! In order: permissions and the body (every problem at once); the package
//! in a tenant the caller may export from; its stored bundle read, verified
//! and scanned exactly as an import does (`FAIL` refused); the listing
//! found or created (`Community`); the bundle copied to the CDN under its
//! SHA-256; the version's statement signed; the version, the listing's new
//! description and the owner tenant's audit entry committed together. A
//! refusal at any step publishes nothing; a crash between the CDN copy and
//! the commit leaves at most a content-addressed bundle no version names.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use chrono::{DateTime, Utc};
use installhub_bundle::ReadLimits;
use installhub_domain::marketplace::{PublishBody, TrustLevel, VersionStatement};
use installhub_domain::{Caller, ErrorCode, Failure, ListingId, Scope, Verdict};
use installhub_store::{ListingDescription, ListingVersionRecord, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

use super::{VersionView, cdn_key};
use crate::controllers::packages::readable_package;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, require_scope};
use crate::import::{ReadPackage, copy_stored, verify_and_scan};
use crate::state::AppState;

/// The published version and the listing it joined.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublishResponse {
    /// The listing's id: the `packageId` of the marketplace paths.
    #[schema(value_type = String, example = "mkt-pkg-0b8e2f4a-6c1d-4e7b-9a3f-5d2c8e1b7a64")]
    pub package_id: ListingId,
    #[schema(example = "Employee Onboarding Suite")]
    pub name: String,
    /// The listing's trust level (`Community` for a new listing).
    pub trust_level: TrustLevel,
    /// Whether this publish created the listing.
    pub new_listing: bool,
    #[serde(flatten)]
    pub version: VersionView,
}

/// Publish an exported package to the marketplace.
///
/// Needs `marketplace:publish` and `installhub:export` with access to the
/// package's tenant. One listing per package name (without case); a new
/// listing starts `Community` and belongs to the publishing tenant; the
/// same version twice is `409 VersionConflict`. The package is scanned as
/// an import would scan it: `FAIL` is `403 SecurityScanFailed` with the
/// findings; `WARN` is published and shown on the version.
#[utoipa::path(
    post,
    path = "/api/marketplace/packages",
    tag = "marketplace",
    request_body = PublishBody,
    responses(
        (status = 201, description = "Published. `Location` names the listing.", body = PublishResponse),
        (status = 400, description = "The body failed validation (every problem listed).", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission, SecurityScanFailed (with `securityFindings`), or ListingOwnedElsewhere: the name's listing belongs to another tenant.", body = ErrorBody),
        (status = 404, description = "PackageNotFound: no such package in the caller's tenants.", body = ErrorBody),
        (status = 409, description = "VersionConflict: the listing already has this version.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody<PublishBody>,
) -> ApiResult<(StatusCode, HeaderMap, Json<PublishResponse>)> {
    require_scope(&caller, Scope::MarketplacePublish)?;
    let request = body.validate().map_err(ApiError::failures)?;
    let package = readable_package(&state, &caller, &request.source_package_id).await?;

    let bundle = copy_stored(&state, &package).await?;
    let limit = state.config().limits.max_upload_bytes();
    let ReadPackage {
        manifest, report, ..
    } = verify_and_scan(&state, &bundle, ReadLimits::with_size_limit(limit)).await?;
    if report.result == Verdict::Fail {
        return Err(Failure::new(
            ErrorCode::SecurityScanFailed,
            format!(
                "The security scan failed with {} finding(s); the package was not published.",
                report.security_findings.len()
            ),
        )
        .detail("securityScanResult", Verdict::Fail.as_str())
        .detail(
            "securityFindings",
            serde_json::to_value(&report.security_findings).map_err(ApiError::internal)?,
        )
        .into());
    }

    let description = ListingDescription {
        name: package.package_name.clone(),
        package_type: package.package_type,
        summary: request.summary,
        publisher: request.publisher,
        categories: request.categories,
    };
    let (listing, new_listing) = state
        .store()
        .ensure_listing(&description, &package.tenant_id)
        .await?;
    if listing.owner_tenant_id != package.tenant_id {
        return Err(Failure::new(
            ErrorCode::ListingOwnedElsewhere,
            format!(
                "The marketplace package '{}' belongs to another tenant; publish this package under another name.",
                listing.name
            ),
        )
        .field("sourcePackageId")
        .detail("packageId", listing.listing_id.as_str())
        .into());
    }
    let conflict = || -> ApiError {
        Failure::new(
            ErrorCode::VersionConflict,
            format!(
                "Version {} of '{}' is already published; export a new version to publish it.",
                package.version, listing.name
            ),
        )
        .field("sourcePackageId")
        .detail("packageId", listing.listing_id.as_str())
        .detail("version", package.version.as_str())
        .into()
    };
    // Checked before the copy to the CDN, which a conflict would waste; the
    // insert below still decides a race.
    let published = state.store().listing_versions(&listing.listing_id).await?;
    if published.iter().any(|v| v.version == package.version) {
        return Err(conflict());
    }

    let key = cdn_key(&package.bundle_sha256);
    match state.bundles().head(&key).await? {
        // Content-addressed: the same bytes are already there.
        Some(info) if info.size == package.bundle_size => {}
        _ => {
            state.bundles().put_file(&key, bundle.file.path()).await?;
        }
    }

    // Stored with microsecond precision: the statement must be rebuilt
    // from the stored time byte for byte.
    let now = Utc::now();
    let published_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
    let signing = &state.publichub().signing;
    let statement = VersionStatement::new(
        &listing.listing_id,
        &package.package_name,
        &package.version,
        &manifest.checksum,
        &package.bundle_sha256,
        package.bundle_size,
        published_at,
        signing.kid(),
    );
    let version = ListingVersionRecord {
        listing_id: listing.listing_id.clone(),
        version: package.version.clone(),
        source_package_id: package.package_id.clone(),
        package_type: package.package_type,
        manifest_checksum: manifest.checksum.clone(),
        bundle_sha256: package.bundle_sha256.clone(),
        bundle_size: package.bundle_size,
        bundle_key: key,
        signature: signing.sign(&statement.canonical_bytes()),
        key_id: signing.kid().to_owned(),
        scan_result: report.result,
        scan_findings: serde_json::to_value(&report.security_findings)
            .map_err(ApiError::internal)?,
        published_at,
        published_by: caller.identity.clone(),
        yanked: None,
        deprecated: None,
    };
    match state
        .store()
        .insert_listing_version(&version, &description, &package.tenant_id)
        .await
    {
        Ok(()) => {}
        Err(StoreError::VersionConflict) => return Err(conflict()),
        Err(e) => return Err(e.into()),
    }
    metrics::counter!("installhub_marketplace_publishes_total").increment(1);
    tracing::info!(
        listing = %listing.listing_id,
        version = %version.version,
        verdict = %version.scan_result,
        "published to the marketplace"
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        header::LOCATION,
        HeaderValue::from_str(&format!("/api/marketplace/packages/{}", listing.listing_id))
            .map_err(ApiError::internal)?,
    );
    Ok((
        StatusCode::CREATED,
        headers,
        Json(PublishResponse {
            package_id: listing.listing_id.clone(),
            name: description.name,
            trust_level: listing.trust_level,
            new_listing,
            version: VersionView::from(&version),
        }),
    ))
}
