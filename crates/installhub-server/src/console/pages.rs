//! The console's read pages: the catalog (tenants, then a tenant's
//! artifacts) and the audit log. Each reads through the same functions as
//! the API route that answers the same question, with its checks.

use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Redirect, Response};
use axum_extra::extract::CookieJar;
use installhub_domain::{ArtifactType, Caller};
use installhub_store::{ArtifactFilter, AuditEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::session::{ConsoleForm, Visit};
use super::views::{
    ArtifactView, ArtifactsPage, AuditLogPage, AuditView, PreviewPage, TenantView, TenantsPage,
    api_error_page, render, status_of,
};
use crate::controllers::artifacts::{ArtifactQuery, artifact_page};
use crate::controllers::imports::{AuditParams, audit_page};
use crate::controllers::tenants::visible_tenants;
use crate::extract::{QueryParams, TenantPath};
use crate::state::AppState;

/// How many artifacts a catalog page shows.
const ARTIFACTS_PER_PAGE: i64 = 50;
/// The longest name search accepted (longer ones are cut).
const MAX_SEARCH_CHARS: usize = 200;

/// `GET /console`: the catalog, or the sign-in page.
pub async fn home() -> Redirect {
    Redirect::to("/console/tenants")
}

/// The signed-in caller, or the response that says there is none.
pub(super) fn signed_in(state: &AppState, visit: Visit) -> Result<(Visit, Caller), Box<Response>> {
    match visit.caller(state) {
        Ok(caller) => Ok((visit, caller)),
        Err(problem) => Err(Box::new(visit.session_problem(problem))),
    }
}

/// A signed-in visitor's request: the visit (cookies, TLS, CSRF token) and
/// the caller its session stands for; without a valid session the answer is
/// the session's own page (sign in, or expired). Read pages take it last,
/// after their path and query, so that those are refused first, as before
/// a session is looked at. Forms check their CSRF token first and call
/// [`signed_in`] themselves.
pub(super) struct SignedIn(pub(super) Visit, pub(super) Caller);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let visit = Visit::new(
            CookieJar::from_headers(&parts.headers),
            &parts.headers,
            &parts.uri,
        );
        let (mut visit, caller) = signed_in(state, visit).map_err(|response| *response)?;
        super::notifications::count_unread(state, &mut visit, &caller).await;
        Ok(SignedIn(visit, caller))
    }
}

/// A signed-in visitor's form: the body read as `T`, its CSRF token
/// checked, then the session, in that order, so a forged post is refused
/// before anything else is looked at. Forms take it last (it reads the
/// body), after their path, which is refused first.
pub(super) struct SignedInForm<T>(pub(super) Visit, pub(super) Caller, pub(super) T);

impl<T> FromRequest<AppState> for SignedInForm<T>
where
    T: ConsoleForm + DeserializeOwned + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let visit = Visit::new(
            CookieJar::from_headers(request.headers()),
            request.headers(),
            request.uri(),
        );
        let form = Form::<T>::from_request(request, state).await;
        let (visit, form) = visit.accept(form).map_err(|response| *response)?;
        let (visit, caller) = signed_in(state, visit).map_err(|response| *response)?;
        Ok(SignedInForm(visit, caller, form))
    }
}

/// `GET /console/tenants`: the tenants the token may see.
pub async fn tenants(State(state): State<AppState>, SignedIn(visit, caller): SignedIn) -> Response {
    let chrome = visit.chrome(Some(&caller), "catalog");
    let response = match visible_tenants(&state, &caller).await {
        Ok(tenants) => render(
            StatusCode::OK,
            &TenantsPage {
                chrome,
                tenants: tenants
                    .into_iter()
                    .map(|t| TenantView {
                        id: t.tenant_id.to_string(),
                        name: t.name,
                        plan: t.plan.as_str().to_owned(),
                        status: t.status.as_str().to_owned(),
                    })
                    .collect(),
            },
        ),
        Err(error) => api_error_page(chrome, error),
    };
    visit.respond(response)
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct CatalogQuery {
    /// Name contains (without case).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    q: String,
    /// An artifact type, or empty for every type.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    kind: String,
    /// The page cursor: the last artifact id of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    after: Option<String>,
}

/// `GET /console/tenants/{tenantId}?q=&type=&after=`: a tenant's artifacts.
pub async fn artifacts(
    State(state): State<AppState>,
    path: TenantPath,
    QueryParams(query): QueryParams<CatalogQuery>,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "catalog");
    let q: String = query.q.trim().chars().take(MAX_SEARCH_CHARS).collect();
    let kind = query.kind.trim();
    let artifact_type = if kind.is_empty() {
        None
    } else {
        match ArtifactType::parse(kind) {
            Some(t) => Some(t),
            None => {
                let error = crate::error::ApiError::from(
                    installhub_domain::Failure::new(
                        installhub_domain::ErrorCode::InvalidRequestBody,
                        format!(
                            "'{}' is not an artifact type; choose one of {}.",
                            installhub_domain::ids::printable(kind),
                            ArtifactType::ALL
                                .iter()
                                .map(|t| t.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                    .field("type"),
                );
                return visit.respond(api_error_page(chrome, error));
            }
        }
    };
    let tenant = match crate::controllers::tenants::find_tenant_for(
        &state,
        &caller,
        &path.tenant_id,
    )
    .await
    {
        Ok(tenant) => tenant,
        Err(error) => return visit.respond(api_error_page(chrome, error)),
    };
    let page = artifact_page(
        &state,
        &caller,
        &path.tenant_id,
        &ArtifactQuery {
            after: query.after.as_deref(),
            limit: Some(ARTIFACTS_PER_PAGE),
            filter: ArtifactFilter {
                artifact_type,
                name_contains: Some(q.as_str()).filter(|q| !q.is_empty()),
            },
        },
    )
    .await;
    let page = match page {
        Ok(page) => page,
        Err(error) => return visit.respond(api_error_page(chrome, error)),
    };
    let next_href = page.next_after.map(|after| {
        let next = CatalogQuery {
            q: q.clone(),
            kind: kind.to_owned(),
            after: Some(after),
        };
        format!(
            "/console/tenants/{}?{}",
            path.tenant_id,
            serde_urlencoded::to_string(&next).unwrap_or_default()
        )
    });
    let response = render(
        StatusCode::OK,
        &ArtifactsPage {
            chrome,
            tenant_id: tenant.tenant_id.to_string(),
            tenant_name: tenant.name,
            filtered: !q.is_empty() || artifact_type.is_some(),
            q,
            type_filter: kind.to_owned(),
            types: ArtifactType::ALL
                .iter()
                .map(|t| (t.as_str(), Some(*t) == artifact_type))
                .collect(),
            artifacts: page
                .artifacts
                .into_iter()
                .map(|a| ArtifactView {
                    preview_href: format!(
                        "/console/tenants/{}/preview?{}",
                        path.tenant_id,
                        serde_urlencoded::to_string([("roots", a.id.as_str())]).unwrap_or_default()
                    ),
                    export_href: format!(
                        "/console/tenants/{}/export?{}",
                        path.tenant_id,
                        serde_urlencoded::to_string([("roots", a.id.as_str())]).unwrap_or_default()
                    ),
                    id: a.id.to_string(),
                    name: a.name,
                    kind: a.artifact_type.as_str().to_owned(),
                    version: a.version,
                    status: a.status.as_str().to_owned(),
                })
                .collect(),
            next_href,
        },
    );
    visit.respond(response)
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    tenant: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    action: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<i64>,
}

/// `GET /console/audit?tenant=&action=&subject=&before=`: the audit log of
/// one of the caller's tenants (the first when none is chosen), read as
/// `GET /api/installhub/audit` reads it.
pub async fn audit(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<AuditQuery>,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "audit");
    let visible = match visible_tenants(&state, &caller).await {
        Ok(tenants) => tenants,
        Err(error) => return visit.respond(api_error_page(chrome, error)),
    };
    let tenant = if query.tenant.trim().is_empty() {
        visible
            .first()
            .map(|t| t.tenant_id.to_string())
            .unwrap_or_default()
    } else {
        query.tenant.trim().to_owned()
    };
    let action = query.action.trim().to_owned();
    let subject = query.subject.trim().to_owned();
    let mut tenants: Vec<(String, bool)> = visible
        .iter()
        .map(|t| {
            let id = t.tenant_id.to_string();
            let chosen = id == tenant;
            (id, chosen)
        })
        .collect();
    if !tenant.is_empty() && !tenants.iter().any(|(_, chosen)| *chosen) {
        // A tenant typed into the address: shown, and refused below if the
        // token may not read it.
        tenants.push((tenant.clone(), true));
    }
    let mut page = AuditLogPage {
        chrome,
        tenants,
        actions: AuditEvent::ACTIONS
            .iter()
            .map(|a| (*a, *a == action))
            .collect(),
        action: action.clone(),
        subject: subject.clone(),
        problem: None,
        entries: Vec::new(),
        next_href: None,
    };
    if tenant.is_empty() {
        page.problem = Some("Your token names no tenant, so there is no audit log to show.".into());
        return visit.respond(render(StatusCode::OK, &page));
    }
    let params = AuditParams {
        tenant_id: Some(tenant.clone()),
        action: Some(action.clone()).filter(|a| !a.is_empty()),
        subject: Some(subject.clone()).filter(|s| !s.is_empty()),
        before: query.before,
        limit: None,
    };
    let status = match audit_page(&state, &caller, &params).await {
        Ok(found) => {
            page.next_href = found.next_before.map(|before| {
                let next = AuditQuery {
                    tenant,
                    action,
                    subject,
                    before: Some(before),
                };
                format!(
                    "/console/audit?{}",
                    serde_urlencoded::to_string(&next).unwrap_or_default()
                )
            });
            page.entries = found
                .entries
                .into_iter()
                .map(|e| AuditView {
                    at: e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    actor: e.actor,
                    action: e.action,
                    subject: e.subject.unwrap_or_default(),
                    outcome: e.outcome,
                })
                .collect();
            StatusCode::OK
        }
        Err(error) => {
            let status = status_of(&error);
            page.problem = Some(error.message());
            status
        }
    };
    visit.respond(render(status, &page))
}

/// Every `roots=` of a query, joined by spaces: a link names its roots in
/// one value (separated by spaces or commas), the catalog's selection sends
/// one value per ticked artifact. Other parameters are ignored.
pub(super) fn roots_of(query: &[(String, String)]) -> String {
    query
        .iter()
        .filter(|(name, _)| name == "roots")
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The most characters of roots read (50 ids of up to 128 characters).
const MAX_ROOTS_CHARS: usize = 50 * 130;

/// `GET /console/tenants/{tenantId}/preview?roots=` (one or more): the
/// graph an export of the roots would take, drawn, with the preview API's checks and
/// warnings.
pub async fn preview(
    State(state): State<AppState>,
    path: TenantPath,
    QueryParams(query): QueryParams<Vec<(String, String)>>,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "catalog");
    let tenant = match crate::controllers::tenants::find_tenant_for(
        &state,
        &caller,
        &path.tenant_id,
    )
    .await
    {
        Ok(tenant) => tenant,
        Err(error) => return visit.respond(api_error_page(chrome, error)),
    };
    let roots: String = roots_of(&query).chars().take(MAX_ROOTS_CHARS).collect();
    let ids: Vec<String> = roots
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect();
    let mut page = PreviewPage {
        chrome,
        tenant_id: tenant.tenant_id.to_string(),
        tenant_name: tenant.name,
        roots: ids.join(" "),
        problem: None,
        problem_details: Vec::new(),
        graph: None,
        total: 0,
        has_cycle: false,
        warnings: Vec::new(),
        order: Vec::new(),
    };
    if ids.is_empty() {
        page.problem = Some("Name one or more root artifacts to preview.".to_owned());
        return visit.respond(render(StatusCode::OK, &page));
    }
    let request = installhub_domain::PreviewRequest {
        tenant_id: Some(path.tenant_id.to_string()),
        artifact_ids: Some(ids),
    };
    let status = match crate::controllers::packages::preview::resolve_preview(
        &state, &caller, &request, None,
    )
    .await
    {
        Ok(resolution) => {
            let names: std::collections::HashMap<String, String> = resolution
                .artifacts()
                .map(|a| (a.id.to_string(), a.name.clone()))
                .collect();
            page.order = resolution
                .install_order
                .iter()
                .map(|id| {
                    let id = id.to_string();
                    let name = names.get(&id).cloned().unwrap_or_default();
                    (id, name)
                })
                .collect();
            page.total = resolution.total_artifacts();
            page.has_cycle = resolution.has_cycle();
            page.warnings = resolution
                .failures
                .iter()
                .map(|f| f.message.clone())
                .collect();
            page.graph = Some(super::graph::layout(&resolution));
            StatusCode::OK
        }
        Err(error) => {
            let status = status_of(&error);
            let failures = error.as_failures();
            if failures.len() > 1 {
                page.problem = Some("The preview was refused:".to_owned());
                page.problem_details = failures.iter().map(|f| f.message.clone()).collect();
            } else {
                page.problem = Some(error.message());
            }
            status
        }
    };
    visit.respond(render(status, &page))
}
