//! `GET /api/marketplace/packages/{packageId}`: one listing and every
//! version.

use axum::Json;
use axum::extract::State;
use installhub_domain::Caller;

use super::{ListingDetail, find_listing};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::ListingPath;
use crate::state::AppState;

/// A marketplace listing with every version.
///
/// Any valid token may read it; a delisted listing is still shown (with
/// `delisted`), so those who installed it can see why.
#[utoipa::path(
    get,
    path = "/api/marketplace/packages/{packageId}",
    tag = "marketplace",
    params(("packageId" = String, Path, pattern = r"^mkt-pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The listing: `mkt-pkg-` and a UUID.")),
    responses(
        (status = 200, description = "The listing; versions newest (SemVer) first.", body = ListingDetail),
        (status = 400, description = "InvalidPackageId: not a marketplace package id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 404, description = "PackageNotFound.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    _caller: Caller,
    path: ListingPath,
) -> ApiResult<Json<ListingDetail>> {
    listing_detail(&state, &path.package_id).await.map(Json)
}

/// A listing with every version, or 404 `PackageNotFound`.
pub async fn listing_detail(
    state: &AppState,
    id: &installhub_domain::ListingId,
) -> ApiResult<ListingDetail> {
    let listing = find_listing(state, id).await?;
    let versions = state.store().listing_versions(&listing.listing_id).await?;
    Ok(ListingDetail::new(&listing, &versions))
}
