//! The artifact catalog of a tenant (SPEC §4): write, read, list, delete.

// utoipa's expansion of `params(..., ListParams)` qualifies the type again.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use installhub_domain::catalog::ArtifactBody;
use installhub_domain::{Artifact, ArtifactId, Caller, ErrorCode, Scope, TenantId};
use installhub_store::{ArtifactFilter, Upserted};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::controllers::tenants::find_tenant;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{
    ArtifactPath, JsonBody, QueryParams, TenantPath, page_limit, require_scope, require_tenant,
    split_page,
};
use crate::state::AppState;

/// Create or replace an artifact.
#[utoipa::path(
    put,
    path = "/api/installhub/tenants/{tenantId}/artifacts/{artifactId}",
    tag = "artifacts",
    params(
        ("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The owning tenant.", example = "tenant-7f3a9b12"),
        ("artifactId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", description = "`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`", example = "proc-1001"),
    ),
    request_body = ArtifactBody,
    responses(
        (status = 200, description = "The artifact was replaced.", body = Artifact),
        (status = 201, description = "The artifact was created.", body = Artifact),
        (status = 400, description = "The body failed validation.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Missing `installhub:artifacts:write` or no access to the tenant.", body = ErrorBody),
        (status = 404, description = "No such tenant.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_artifact(
    State(state): State<AppState>,
    caller: Caller,
    path: ArtifactPath,
    JsonBody(body): JsonBody<ArtifactBody>,
) -> ApiResult<(StatusCode, Json<Artifact>)> {
    require_scope(&caller, Scope::ArtifactsWrite)?;
    require_tenant(&caller, &path.tenant_id)?;
    find_tenant(&state, &path.tenant_id).await?;
    let artifact = body
        .into_artifact(path.tenant_id, path.artifact_id, chrono::Utc::now())
        .map_err(ApiError::failures)?;
    let status = match state
        .store()
        .upsert_artifact(&artifact.clone().into(), &caller.identity)
        .await?
    {
        Upserted::Created => StatusCode::CREATED,
        Upserted::Updated => StatusCode::OK,
    };
    let stored = fetch(&state, &artifact.tenant_id, &artifact.id).await?;
    Ok((status, Json(stored)))
}

/// Read an artifact.
#[utoipa::path(
    get,
    path = "/api/installhub/tenants/{tenantId}/artifacts/{artifactId}",
    tag = "artifacts",
    params(
        ("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The owning tenant.", example = "tenant-7f3a9b12"),
        ("artifactId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", description = "The artifact.", example = "proc-1001"),
    ),
    responses(
        (status = 200, description = "The artifact.", body = Artifact),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "No access to the tenant.", body = ErrorBody),
        (status = 404, description = "No such artifact.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_artifact(
    State(state): State<AppState>,
    caller: Caller,
    path: ArtifactPath,
) -> ApiResult<Json<Artifact>> {
    require_tenant(&caller, &path.tenant_id)?;
    Ok(Json(
        fetch(&state, &path.tenant_id, &path.artifact_id).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Return artifacts whose id sorts after this one (from `nextAfter`).
    #[param(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    after: Option<String>,
    /// Page size, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactPage {
    pub artifacts: Vec<Artifact>,
    /// Pass as `after` for the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<String>,
}

/// List a tenant's artifacts, ordered by id.
#[utoipa::path(
    get,
    path = "/api/installhub/tenants/{tenantId}/artifacts",
    tag = "artifacts",
    params(("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The owning tenant.", example = "tenant-7f3a9b12"), ListParams),
    responses(
        (status = 200, description = "One page of artifacts.", body = ArtifactPage),
        (status = 400, description = "Bad paging parameters.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "No access to the tenant.", body = ErrorBody),
        (status = 404, description = "No such tenant.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_artifacts(
    State(state): State<AppState>,
    caller: Caller,
    path: TenantPath,
    QueryParams(params): QueryParams<ListParams>,
) -> ApiResult<Json<ArtifactPage>> {
    let query = ArtifactQuery {
        after: params.after.as_deref(),
        limit: params.limit,
        filter: ArtifactFilter::default(),
    };
    Ok(Json(
        artifact_page(&state, &caller, &path.tenant_id, &query).await?,
    ))
}

/// One page of a tenant's catalog as asked for: the paging parameters as
/// sent (checked here), and which artifacts to keep.
#[derive(Debug, Default)]
pub struct ArtifactQuery<'a> {
    pub after: Option<&'a str>,
    pub limit: Option<i64>,
    pub filter: ArtifactFilter<'a>,
}

/// A page of the tenant's artifacts, ordered by id, with the checks of
/// `GET .../artifacts`: access to the tenant, paging parameters, the
/// tenant's existence. The API route and the console both read it here.
pub async fn artifact_page(
    state: &AppState,
    caller: &Caller,
    tenant: &TenantId,
    query: &ArtifactQuery<'_>,
) -> ApiResult<ArtifactPage> {
    require_tenant(caller, tenant)?;
    let mut failures = Vec::new();
    let limit = page_limit(query.limit, 100, 1000).unwrap_or_else(|failure| {
        failures.push(failure);
        0
    });
    let after = match query.after.map(ArtifactId::parse).transpose() {
        Ok(after) => after,
        Err(e) => {
            failures.push(
                installhub_domain::Failure::new(ErrorCode::InvalidArtifactId, e.0).field("after"),
            );
            None
        }
    };
    if !failures.is_empty() {
        return Err(ApiError::failures(failures));
    }
    find_tenant(state, tenant).await?;
    let rows = state
        .store()
        .list_artifacts_matching(tenant, &query.filter, after.as_ref(), limit + 1)
        .await?;
    let (artifacts, next_after) = split_page(rows, limit, |a| Some(a.id.to_string()));
    Ok(ArtifactPage {
        artifacts,
        next_after,
    })
}

/// Delete an artifact: it stays, with status `Deleted`, so references to it
/// are reported as dangling rather than silently missing.
#[utoipa::path(
    delete,
    path = "/api/installhub/tenants/{tenantId}/artifacts/{artifactId}",
    tag = "artifacts",
    params(
        ("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The owning tenant.", example = "tenant-7f3a9b12"),
        ("artifactId" = String, Path, pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", description = "The artifact."),
    ),
    responses(
        (status = 200, description = "The artifact, now `Deleted`.", body = Artifact),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Missing `installhub:artifacts:write` or no access to the tenant.", body = ErrorBody),
        (status = 404, description = "No such artifact.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_artifact(
    State(state): State<AppState>,
    caller: Caller,
    path: ArtifactPath,
) -> ApiResult<Json<Artifact>> {
    require_scope(&caller, Scope::ArtifactsWrite)?;
    require_tenant(&caller, &path.tenant_id)?;
    if !state
        .store()
        .mark_artifact_deleted(&path.tenant_id, &path.artifact_id, &caller.identity)
        .await?
    {
        return Err(not_found(&path.tenant_id, &path.artifact_id));
    }
    Ok(Json(
        fetch(&state, &path.tenant_id, &path.artifact_id).await?,
    ))
}

async fn fetch(
    state: &AppState,
    tenant: &installhub_domain::TenantId,
    id: &ArtifactId,
) -> ApiResult<Artifact> {
    state
        .store()
        .get_artifact(tenant, id)
        .await?
        .ok_or_else(|| not_found(tenant, id))
}

fn not_found(tenant: &installhub_domain::TenantId, id: &ArtifactId) -> ApiError {
    ApiError::not_found(
        installhub_domain::Failure::new(
            ErrorCode::ArtifactNotFound,
            format!("Artifact '{id}' does not exist in tenant '{tenant}'."),
        )
        .detail("artifactId", id.as_str()),
    )
}
