//! `GET /api/installhub/packages/{packageId}`: package metadata and manifest.

use axum::Json;
use axum::extract::State;
use installhub_domain::{Caller, Manifest};
use installhub_store::PackageRecord;
use serde::Serialize;
use utoipa::ToSchema;

use super::{download_url, readable_package};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::PackagePath;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackageResponse {
    #[schema(example = "pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33")]
    pub package_id: String,
    #[schema(example = "Employee Onboarding Suite")]
    pub package_name: String,
    #[schema(example = "workflow-package")]
    pub package_type: String,
    #[schema(example = "2.1.0")]
    pub version: String,
    pub description: Option<String>,
    pub author: Option<String>,
    pub tags: Vec<String>,
    pub source_tenant_id: String,
    /// `sha256:` + hex, see the bundle format.
    pub checksum: String,
    pub artifact_count: u32,
    /// Size of the ZIP in bytes.
    pub size_bytes: u64,
    #[schema(value_type = String, format = DateTime)]
    pub exported_at: chrono::DateTime<chrono::Utc>,
    pub exported_by: String,
    pub bundle_download_url: String,
    pub manifest: Manifest,
}

impl From<PackageRecord> for PackageResponse {
    fn from(p: PackageRecord) -> Self {
        Self {
            bundle_download_url: download_url(&p.package_id),
            package_id: p.package_id.to_string(),
            package_name: p.package_name,
            package_type: p.package_type.as_str().to_owned(),
            version: p.version,
            description: p.description,
            author: p.author,
            tags: p.tags,
            source_tenant_id: p.tenant_id.to_string(),
            checksum: p.checksum,
            artifact_count: p.artifact_count,
            size_bytes: p.bundle_size,
            exported_at: p.exported_at,
            exported_by: p.exported_by,
            manifest: p.manifest,
        }
    }
}

/// Get package metadata and manifest.
#[utoipa::path(
    get,
    path = "/api/installhub/packages/{packageId}",
    tag = "packages",
    params(("packageId" = String, Path, pattern = r"^pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "`pkg-` + UUID.")),
    responses(
        (status = 200, description = "The package.", body = PackageResponse),
        (status = 400, description = "Not a package id.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Missing `installhub:export`.", body = ErrorBody),
        (status = 404, description = "No such package in the caller's tenants.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_package(
    State(state): State<AppState>,
    caller: Caller,
    path: PackagePath,
) -> ApiResult<Json<PackageResponse>> {
    let package = readable_package(&state, &caller, &path.package_id).await?;
    Ok(Json(package.into()))
}
