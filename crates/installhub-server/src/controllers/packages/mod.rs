//! The Export API (seed 01): preview, export, metadata, download.

pub mod download;
pub mod export;
pub mod get;
pub mod list;
pub mod preview;

use installhub_domain::{Caller, ErrorCode, Failure, PackageId, Scope};
use installhub_store::PackageRecord;

use crate::error::{ApiError, ApiResult};
use crate::extract::require_scope;
use crate::state::AppState;

/// The package, when the caller may read it. A package of a tenant the
/// caller cannot access is answered exactly like a missing one, so its
/// existence is not revealed (SECURITY.md 20).
pub async fn readable_package(
    state: &AppState,
    caller: &Caller,
    id: &PackageId,
) -> ApiResult<PackageRecord> {
    require_scope(caller, Scope::Export)?;
    match state.store().get_package(id).await? {
        Some(package) if caller.can_access(&package.tenant_id) => Ok(package),
        _ => Err(ApiError::not_found(
            Failure::new(
                ErrorCode::PackageNotFound,
                format!("Package '{id}' does not exist."),
            )
            .detail("packageId", id.as_str()),
        )),
    }
}

pub fn download_url(id: &PackageId) -> String {
    format!("/api/installhub/packages/{id}/download")
}
