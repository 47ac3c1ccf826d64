//! Governing listings: trust levels and delisting (`marketplace:admin`),
//! and yanks and deprecations (an admin, or the owner tenant's publishers).
//!
//! Each change is idempotent: setting what is already set answers the
//! current state and writes no audit entry; a yank, a deprecation or a
//! delisting keeps its first reason until it is taken back.

use axum::Json;
use axum::extract::State;
use installhub_domain::marketplace::{ReasonBody, TrustLevelBody};
use installhub_domain::{Caller, ErrorCode, Failure, Scope};
use installhub_store::{StoreError, VersionMark};

use super::{ListingDetail, VersionView, find_listing, require_admin_or_owner};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, ListingPath, ListingVersionPath, require_scope};
use crate::state::AppState;

async fn detail(
    state: &AppState,
    id: &installhub_domain::ListingId,
) -> ApiResult<Json<ListingDetail>> {
    let listing = find_listing(state, id).await?;
    let versions = state.store().listing_versions(id).await?;
    Ok(Json(ListingDetail::new(&listing, &versions)))
}

/// Set a listing's trust level (`marketplace:admin`).
#[utoipa::path(
    put,
    path = "/api/marketplace/packages/{packageId}/trust-level",
    tag = "marketplace",
    params(("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing.")),
    request_body = TrustLevelBody,
    responses(
        (status = 200, description = "The listing with its new trust level.", body = ListingDetail),
        (status = 400, description = "InvalidTrustLevel or InvalidPackageId.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Missing `marketplace:admin`.", body = ErrorBody),
        (status = 404, description = "PackageNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn set_trust_level(
    State(state): State<AppState>,
    caller: Caller,
    path: ListingPath,
    JsonBody(body): JsonBody<TrustLevelBody>,
) -> ApiResult<Json<ListingDetail>> {
    require_scope(&caller, Scope::MarketplaceAdmin)?;
    let level = body.validate()?;
    let listing = find_listing(&state, &path.package_id).await?;
    if listing.trust_level != level {
        state
            .store()
            .set_trust_level(&listing, level, &caller.identity)
            .await?;
    }
    detail(&state, &path.package_id).await
}

async fn mark_version(
    state: &AppState,
    caller: &Caller,
    path: &ListingVersionPath,
    kind: VersionMark,
    reason: Option<&str>,
) -> ApiResult<Json<VersionView>> {
    let listing = find_listing(state, &path.package_id).await?;
    require_admin_or_owner(caller, &listing)?;
    let version = path.version.0.as_str();
    match state
        .store()
        .set_version_mark(&listing, version, kind, reason, &caller.identity)
        .await
    {
        Ok(_) => {}
        Err(StoreError::NotFound(_)) => return Err(version_not_found(&listing.name, version)),
        Err(e) => return Err(e.into()),
    }
    let versions = state.store().listing_versions(&listing.listing_id).await?;
    versions
        .iter()
        .find(|v| v.version == version)
        .map(|v| Json(VersionView::from(v)))
        .ok_or_else(|| version_not_found(&listing.name, version))
}

fn version_not_found(name: &str, version: &str) -> ApiError {
    ApiError::not_found(
        Failure::new(
            ErrorCode::VersionNotFound,
            format!(
                "'{name}' has no published version '{}'.",
                installhub_domain::ids::printable(version)
            ),
        )
        .detail("version", installhub_domain::ids::printable(version)),
    )
}

/// Yank a version: it is never chosen as the latest, but still installs
/// when named exactly (the PyPI rule).
///
/// Needs `marketplace:admin`, or `marketplace:publish` with access to the
/// tenant that owns the listing.
#[utoipa::path(
    put,
    path = "/api/marketplace/packages/{packageId}/versions/{version}/yank",
    tag = "marketplace",
    params(
        ("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing."),
        ("version" = String, Path, max_length = 128, description = "The version, exactly as published.", example = "2.1.0"),
    ),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The version, yanked (a second yank keeps the first's reason).", body = VersionView),
        (status = 400, description = "InvalidReason or InvalidPackageId.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission, or ListingOwnedElsewhere.", body = ErrorBody),
        (status = 404, description = "PackageNotFound or VersionNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn yank(
    State(state): State<AppState>,
    caller: Caller,
    path: ListingVersionPath,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<VersionView>> {
    let reason = body.validate()?;
    mark_version(&state, &caller, &path, VersionMark::Yank, Some(&reason)).await
}

/// Take a yank back: the version may be "latest" again.
#[utoipa::path(
    delete,
    path = "/api/marketplace/packages/{packageId}/versions/{version}/yank",
    tag = "marketplace",
    params(
        ("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing."),
        ("version" = String, Path, max_length = 128, description = "The version, exactly as published.", example = "2.1.0"),
    ),
    responses(
        (status = 200, description = "The version, not yanked.", body = VersionView),
        (status = 400, description = "InvalidPackageId.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission, or ListingOwnedElsewhere.", body = ErrorBody),
        (status = 404, description = "PackageNotFound or VersionNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn unyank(
    State(state): State<AppState>,
    caller: Caller,
    path: ListingVersionPath,
) -> ApiResult<Json<VersionView>> {
    mark_version(&state, &caller, &path, VersionMark::Yank, None).await
}

/// Deprecate a version: it still installs, and may still be "latest" (the
/// npm rule), but the listing shows why not to use it and the users who
/// install it are told.
///
/// Needs `marketplace:admin`, or `marketplace:publish` with access to the
/// tenant that owns the listing.
#[utoipa::path(
    put,
    path = "/api/marketplace/packages/{packageId}/versions/{version}/deprecation",
    tag = "marketplace",
    params(
        ("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing."),
        ("version" = String, Path, max_length = 128, description = "The version, exactly as published.", example = "2.1.0"),
    ),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The version, deprecated (a second deprecation keeps the first's reason).", body = VersionView),
        (status = 400, description = "InvalidReason or InvalidPackageId.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission, or ListingOwnedElsewhere.", body = ErrorBody),
        (status = 404, description = "PackageNotFound or VersionNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn deprecate(
    State(state): State<AppState>,
    caller: Caller,
    path: ListingVersionPath,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<VersionView>> {
    let reason = body.validate()?;
    mark_version(
        &state,
        &caller,
        &path,
        VersionMark::Deprecation,
        Some(&reason),
    )
    .await
}

/// Take a deprecation back.
#[utoipa::path(
    delete,
    path = "/api/marketplace/packages/{packageId}/versions/{version}/deprecation",
    tag = "marketplace",
    params(
        ("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing."),
        ("version" = String, Path, max_length = 128, description = "The version, exactly as published.", example = "2.1.0"),
    ),
    responses(
        (status = 200, description = "The version, not deprecated.", body = VersionView),
        (status = 400, description = "InvalidPackageId.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission, or ListingOwnedElsewhere.", body = ErrorBody),
        (status = 404, description = "PackageNotFound or VersionNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn undeprecate(
    State(state): State<AppState>,
    caller: Caller,
    path: ListingVersionPath,
) -> ApiResult<Json<VersionView>> {
    mark_version(&state, &caller, &path, VersionMark::Deprecation, None).await
}

/// Delist a listing (`marketplace:admin`): hidden from search, no new
/// installs; what is installed stays.
#[utoipa::path(
    put,
    path = "/api/marketplace/packages/{packageId}/delisting",
    tag = "marketplace",
    params(("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing.")),
    request_body = ReasonBody,
    responses(
        (status = 200, description = "The listing, delisted (a second delisting keeps the first's reason).", body = ListingDetail),
        (status = 400, description = "InvalidReason or InvalidPackageId.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Missing `marketplace:admin`.", body = ErrorBody),
        (status = 404, description = "PackageNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delist(
    State(state): State<AppState>,
    caller: Caller,
    path: ListingPath,
    JsonBody(body): JsonBody<ReasonBody>,
) -> ApiResult<Json<ListingDetail>> {
    require_scope(&caller, Scope::MarketplaceAdmin)?;
    let reason = body.validate()?;
    let listing = find_listing(&state, &path.package_id).await?;
    state
        .store()
        .set_delisting(&listing, Some(&reason), &caller.identity)
        .await?;
    detail(&state, &path.package_id).await
}

/// List a delisted listing again (`marketplace:admin`).
#[utoipa::path(
    delete,
    path = "/api/marketplace/packages/{packageId}/delisting",
    tag = "marketplace",
    params(("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing.")),
    responses(
        (status = 200, description = "The listing, listed.", body = ListingDetail),
        (status = 400, description = "InvalidPackageId.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Missing `marketplace:admin`.", body = ErrorBody),
        (status = 404, description = "PackageNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn relist(
    State(state): State<AppState>,
    caller: Caller,
    path: ListingPath,
) -> ApiResult<Json<ListingDetail>> {
    require_scope(&caller, Scope::MarketplaceAdmin)?;
    let listing = find_listing(&state, &path.package_id).await?;
    state
        .store()
        .set_delisting(&listing, None, &caller.identity)
        .await?;
    detail(&state, &path.package_id).await
}
