//! `PUT` and `GET /api/installhub/tenants/{tenantId}` (SPEC §4).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use installhub_domain::caller::TenantAccess;
use installhub_domain::catalog::TenantBody;
use installhub_domain::{Caller, ErrorCode, Scope, Tenant};
use installhub_store::Upserted;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, TenantPath, require_scope, require_tenant};
use crate::state::AppState;

/// Create or update a tenant: one the token names, or any with `"*"`.
#[utoipa::path(
    put,
    path = "/api/installhub/tenants/{tenantId}",
    tag = "tenants",
    params(("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "Lower-case letters, digits and '-', 3-64 characters.", example = "tenant-7f3a9b12")),
    request_body = TenantBody,
    responses(
        (status = 200, description = "The tenant was updated.", body = Tenant),
        (status = 201, description = "The tenant was created.", body = Tenant),
        (status = 400, description = "The body failed validation.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The token lacks `installhub:admin`, or does not name this tenant.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_tenant(
    State(state): State<AppState>,
    caller: Caller,
    path: TenantPath,
    JsonBody(body): JsonBody<TenantBody>,
) -> ApiResult<(StatusCode, Json<Tenant>)> {
    require_scope(&caller, Scope::Admin)?;
    // SECURITY.md 34: the admin scope is not a pass to every tenant; it
    // acts on the tenants of its token, as every other scope does.
    require_tenant(&caller, &path.tenant_id)?;
    let tenant = body
        .into_tenant(path.tenant_id)
        .map_err(ApiError::failures)?;
    let status = match state
        .store()
        .upsert_tenant(&tenant, &caller.identity)
        .await?
    {
        Upserted::Created => StatusCode::CREATED,
        Upserted::Updated => StatusCode::OK,
    };
    Ok((status, Json(tenant)))
}

/// Read a tenant.
#[utoipa::path(
    get,
    path = "/api/installhub/tenants/{tenantId}",
    tag = "tenants",
    params(("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The tenant.", example = "tenant-7f3a9b12")),
    responses(
        (status = 200, description = "The tenant.", body = Tenant),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "The token has no access to this tenant.", body = ErrorBody),
        (status = 404, description = "No such tenant.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_tenant(
    State(state): State<AppState>,
    caller: Caller,
    path: TenantPath,
) -> ApiResult<Json<Tenant>> {
    Ok(Json(
        find_tenant_for(&state, &caller, &path.tenant_id).await?,
    ))
}

/// The tenant, when `caller` may read it: 403 `TenantAccessDenied` first,
/// then 404 `TenantNotFound`.
pub async fn find_tenant_for(
    state: &AppState,
    caller: &Caller,
    tenant_id: &installhub_domain::TenantId,
) -> ApiResult<Tenant> {
    require_tenant(caller, tenant_id)?;
    find_tenant(state, tenant_id).await
}

/// The tenant, or 404 `TenantNotFound`. Call only after the access check,
/// so the answer reveals nothing to a caller without access.
pub async fn find_tenant(
    state: &AppState,
    tenant_id: &installhub_domain::TenantId,
) -> ApiResult<Tenant> {
    state.store().get_tenant(tenant_id).await?.ok_or_else(|| {
        ApiError::new(
            ErrorCode::TenantNotFound,
            format!("Tenant '{tenant_id}' does not exist."),
        )
    })
}

/// How many tenants a token naming `"*"` is shown at most.
pub const VISIBLE_TENANTS_MAX: i64 = 500;

/// The tenants `caller` may see, in id order: those its token names that
/// exist, or with `"*"` every tenant (the first [`VISIBLE_TENANTS_MAX`]).
pub async fn visible_tenants(state: &AppState, caller: &Caller) -> ApiResult<Vec<Tenant>> {
    match &caller.tenants {
        TenantAccess::All => Ok(state.store().list_tenants(VISIBLE_TENANTS_MAX).await?),
        TenantAccess::Some(ids) => {
            let mut tenants = Vec::with_capacity(ids.len());
            for id in ids {
                require_tenant(caller, id)?;
                if let Some(tenant) = state.store().get_tenant(id).await? {
                    tenants.push(tenant);
                }
            }
            Ok(tenants)
        }
    }
}
