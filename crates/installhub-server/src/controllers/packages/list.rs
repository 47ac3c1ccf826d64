//! `GET /api/installhub/tenants/{tenantId}/packages`: a tenant's exported
//! packages, newest first, each as `GET .../packages/{packageId}` shows it.

// utoipa's expansion of `params(...)` qualifies the types again.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use installhub_domain::export::MAX_PACKAGE_NAME_CHARS;
use installhub_domain::{Caller, ErrorCode, Failure, PackageId, Scope};
use installhub_store::PackageFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::get::PackageResponse;
use crate::controllers::tenants::find_tenant;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{
    QueryParams, TenantPath, page_limit, require_scope, require_tenant, split_page,
};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PackageListParams {
    /// Only packages whose name starts with this, compared without case
    /// (a whole name matches itself and any longer name it begins).
    #[param(min_length = 1, max_length = 100, example = "employee onboarding")]
    name: Option<String>,
    /// Packages exported before this one (from `nextBefore`).
    #[param(pattern = r"^pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    before: Option<String>,
    /// Page size, 1-200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PackagePage {
    /// Newest export first.
    pub packages: Vec<PackageResponse>,
    /// Pass as `before` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_before: Option<String>,
}

/// List a tenant's exported packages, newest first.
///
/// Each entry is what `GET /api/installhub/packages/{packageId}` answers
/// for it, manifest included.
#[utoipa::path(
    get,
    path = "/api/installhub/tenants/{tenantId}/packages",
    tag = "packages",
    params(("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The tenant that exported them.", example = "tenant-7f3a9b12"), PackageListParams),
    responses(
        (status = 200, description = "One page of packages.", body = PackagePage),
        (status = 400, description = "A bad name filter or paging parameter.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "No access to the tenant, or no installhub:export.", body = ErrorBody),
        (status = 404, description = "No such tenant.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_packages(
    State(state): State<AppState>,
    caller: Caller,
    path: TenantPath,
    QueryParams(params): QueryParams<PackageListParams>,
) -> ApiResult<Json<PackagePage>> {
    require_scope(&caller, Scope::Export)?;
    require_tenant(&caller, &path.tenant_id)?;
    find_tenant(&state, &path.tenant_id).await?;
    let limit = page_limit(params.limit, 50, 200)?;
    if let Some(name) = params.name.as_deref() {
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_PACKAGE_NAME_CHARS {
            return Err(Failure::new(
                ErrorCode::InvalidRequestBody,
                format!(
                    "name must be 1 to {MAX_PACKAGE_NAME_CHARS} characters (the start of a package name)."
                ),
            )
            .field("name")
            .into());
        }
    }
    let before = params
        .before
        .as_deref()
        .map(PackageId::parse)
        .transpose()
        .map_err(|e| {
            ApiError::from(Failure::new(ErrorCode::InvalidRequestBody, e.0).field("before"))
        })?;
    // Package names hold only letters, digits, spaces and hyphens: a
    // prefix with anything else matches nothing, and is never sent to the
    // database (PostgreSQL refuses a NUL in text).
    if let Some(name) = params.name.as_deref()
        && !name
            .chars()
            .all(|c| c.is_alphanumeric() || c == ' ' || c == '-')
    {
        return Ok(Json(PackagePage {
            packages: Vec::new(),
            next_before: None,
        }));
    }
    let filter = PackageFilter {
        name_prefix: params.name.as_deref(),
        before: before.as_ref(),
    };
    let rows = state
        .store()
        .list_packages(&path.tenant_id, limit + 1, &filter)
        .await?;
    let (packages, next_before) = split_page(rows, limit, |p| Some(p.package_id.to_string()));
    Ok(Json(PackagePage {
        packages: packages.into_iter().map(Into::into).collect(),
        next_before,
    }))
}
