//! `POST /api/installhub/packages/preview`: the resolved dependency graph,
//! without a bundle.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use installhub_domain::resolve::Resolution;
use installhub_domain::{ArtifactSummary, Caller, ErrorCode, Failure, PreviewRequest};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::export::{self, Graph};
use crate::extract::{JsonBody, TenantHeader};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewArtifact {
    #[serde(rename = "type")]
    #[schema(example = "ProcessDefinition")]
    pub artifact_type: String,
    #[schema(example = "proc-1001")]
    pub id: String,
    #[schema(example = "EmployeeOnboarding")]
    pub name: String,
    /// The artifact through which this dependency was first reached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_from: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewResponse {
    pub root_artifacts: Vec<PreviewArtifact>,
    /// Dependencies in breadth-first order from the roots.
    pub resolved_dependencies: Vec<PreviewArtifact>,
    pub total_artifacts: usize,
    /// Dependencies first; empty when there is a cycle.
    #[schema(example = json!(["ent-44", "rule-305", "form-2005", "thread-2002", "proc-1001"]))]
    pub install_order: Vec<String>,
    pub has_circular_dependency: bool,
    /// Each cycle as the ids along it, starting at its smallest id; only
    /// present when there is a cycle.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cycles: Vec<Vec<String>>,
    /// Everything that would make the export fail (not exportable,
    /// incomplete, cross-tenant, depth, size, cycles), in the error format.
    pub warnings: Vec<Failure>,
}

fn entry(a: &ArtifactSummary, resolved_from: Option<String>) -> PreviewArtifact {
    PreviewArtifact {
        artifact_type: a.artifact_type.as_str().to_owned(),
        id: a.id.to_string(),
        name: a.name.clone(),
        resolved_from,
    }
}

impl From<&Resolution> for PreviewResponse {
    fn from(r: &Resolution) -> Self {
        Self {
            root_artifacts: r.roots.iter().map(|a| entry(a, None)).collect(),
            resolved_dependencies: r
                .dependencies
                .iter()
                .map(|d| entry(&d.artifact, Some(d.resolved_from.to_string())))
                .collect(),
            total_artifacts: r.total_artifacts(),
            install_order: r.install_order.iter().map(ToString::to_string).collect(),
            has_circular_dependency: r.has_cycle(),
            cycles: r
                .cycles
                .iter()
                .map(|c| c.iter().map(ToString::to_string).collect())
                .collect(),
            warnings: r.failures.clone(),
        }
    }
}

/// Preview the dependency graph of an export.
///
/// Runs the request, authorization and existence checks of an export;
/// problems with the graph itself come back as `warnings` with status 200,
/// and a cycle as `hasCircularDependency` with its `cycles`.
#[utoipa::path(
    post,
    path = "/api/installhub/packages/preview",
    tag = "packages",
    params(("X-Tenant-Id" = Option<String>, Header, nullable = false, pattern = r"^[a-z0-9-]{3,64}$", description = "May stand in for the body's tenantId.")),
    request_body = PreviewRequest,
    responses(
        (status = 200, description = "The resolved graph.", body = PreviewResponse),
        (status = 400, description = "The request failed validation (e.g. ArtifactNotFound).", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Missing `installhub:export`, no access to the tenant, or TenantMismatch.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    TenantHeader(header): TenantHeader,
    JsonBody(request): JsonBody<PreviewRequest>,
) -> ApiResult<Response> {
    let graph = resolve_preview(&state, &caller, &request, header.as_deref()).await?;
    // Written once per kept graph: the answer depends on nothing else.
    let body = graph.preview_json(|resolution| {
        let answer = PreviewResponse::from(resolution);
        // Plain data (strings, numbers, string-keyed maps) always encodes.
        serde_json::to_vec(&answer)
            .expect("a preview answer encodes as JSON")
            .into()
    });
    Ok(([(CONTENT_TYPE, "application/json")], body).into_response())
}

/// The graph a preview shows, with every check of an export's request,
/// authorization and roots: the API route and the console both ask here.
/// The checks and the tenant's row are read every time; the graph is
/// reused while the tenant's catalog is unchanged (see
/// [`export::GraphCache`]).
pub async fn resolve_preview(
    state: &AppState,
    caller: &Caller,
    request: &PreviewRequest,
    header: Option<&str>,
) -> ApiResult<Arc<Graph>> {
    let checked = request.check(header);
    let mut failures = checked.failures;
    let source =
        export::authorize(state, caller, checked.tenant_id.as_ref(), &mut failures).await?;
    let Some(export::Source { tenant, generation }) = source.filter(|_| failures.is_empty()) else {
        return Err(ApiError::failures(failures).with_summary(SUMMARY));
    };
    let tenant_id = &tenant.tenant_id;
    if let Some(resolution) = state.graphs().get(tenant_id, generation, &checked.roots) {
        metrics::counter!("installhub_previews_total").increment(1);
        metrics::counter!("installhub_preview_graphs_reused_total").increment(1);
        return Ok(resolution);
    }
    let resolution = export::resolve(state.store(), tenant_id, checked.roots.clone()).await?;
    let missing = export::missing_root_failures(state.store(), tenant_id, &resolution).await?;
    if !missing.is_empty() {
        return Err(ApiError::failures(missing).with_summary(SUMMARY));
    }
    let graph = Arc::new(Graph::new(resolution));
    state
        .graphs()
        .insert(tenant_id, generation, checked.roots, Arc::clone(&graph));
    metrics::counter!("installhub_previews_total").increment(1);
    debug_assert!(
        graph
            .failures
            .iter()
            .all(|f| f.code != ErrorCode::ArtifactNotFound)
    );
    Ok(graph)
}

const SUMMARY: &str = "Preview request failed validation. See 'errors' for details.";
