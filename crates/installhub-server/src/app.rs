//! Assembles the router: routes and the OpenAPI document from the same
//! annotations, then the layers every request passes through.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, StatusCode, header};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::HttpLimits;
use crate::controllers::{
    artifacts, health, imports, marketplace, notifications, packages, tenants, undo,
};
use crate::middleware;
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// Room for the multipart framing and the `options` part around a package.
const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

/// Body and time limits per group of routes.
struct RouteLimits {
    upload_bytes: usize,
    timeout: Duration,
    upload_timeout: Duration,
    http: HttpLimits,
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    split(&RouteLimits {
        upload_bytes: usize::MAX,
        timeout: Duration::MAX,
        upload_timeout: Duration::MAX,
        http: HttpLimits::default(),
    })
    .1
}

/// The routes, and the finished document that describes them.
fn split(limits: &RouteLimits) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut api) = api_router(limits).split_for_parts();
    crate::openapi::complete(&mut api);
    (routes, api)
}

/// The routes that receive a package take far larger bodies than the JSON
/// routes, and longer: they stream them to disk and enforce the plan limits
/// themselves (SECURITY.md 14). Everything else keeps the JSON limit and the
/// short timeout.
fn upload_routes(limits: &RouteLimits) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(imports::import_package))
        .routes(routes!(imports::scan_package))
        .layer(DefaultBodyLimit::max(limits.upload_bytes))
        .layer(axum::middleware::from_fn_with_state(
            limits.http,
            middleware::min_upload_rate,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.upload_timeout,
        ))
}

fn json_routes(limits: &RouteLimits) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(health::metrics))
        .routes(routes!(tenants::put_tenant, tenants::get_tenant))
        .routes(routes!(
            artifacts::put_artifact,
            artifacts::get_artifact,
            artifacts::delete_artifact
        ))
        .routes(routes!(artifacts::list_artifacts))
        .routes(routes!(packages::preview::preview))
        .routes(routes!(packages::export::export))
        .routes(routes!(packages::get::get_package))
        .routes(routes!(packages::list::list_packages))
        .routes(routes!(packages::download::download))
        .routes(routes!(imports::get_import))
        .routes(routes!(imports::list_imports))
        .routes(routes!(imports::installed_packages))
        .routes(routes!(undo::rollback_import))
        .routes(routes!(undo::uninstall_package))
        .routes(routes!(imports::audit))
        .routes(routes!(
            marketplace::search::search,
            marketplace::publish::publish
        ))
        .routes(routes!(marketplace::show::show))
        .routes(routes!(marketplace::govern::set_trust_level))
        .routes(routes!(
            marketplace::govern::yank,
            marketplace::govern::unyank
        ))
        .routes(routes!(
            marketplace::govern::deprecate,
            marketplace::govern::undeprecate
        ))
        .routes(routes!(
            marketplace::govern::delist,
            marketplace::govern::relist
        ))
        .routes(routes!(marketplace::install::install))
        .routes(routes!(marketplace::install::status))
        .routes(routes!(marketplace::cdn::bundle))
        .routes(routes!(marketplace::cdn::keys))
        .routes(routes!(notifications::list_notifications))
        .routes(routes!(notifications::mark_read))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ))
}

fn api_router(limits: &RouteLimits) -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(json_routes(limits))
        .merge(upload_routes(limits))
}

/// The whole service.
pub fn router(state: AppState) -> Router {
    let upload_limit =
        usize::try_from(state.config().limits.max_upload_bytes() + MULTIPART_OVERHEAD)
            .unwrap_or(usize::MAX);
    let (routes, api) = split(&RouteLimits {
        upload_bytes: upload_limit,
        timeout: state.config().limits.request_timeout,
        upload_timeout: state.config().limits.upload_timeout,
        http: state.config().limits.http,
    });
    let api = Arc::new(api);
    let body_limit = state.config().limits.json_body_bytes;
    let request_id = HeaderName::from_static("x-request-id");
    let http_limits = state.config().limits.http;

    routes
        .route(
            "/api/openapi.json",
            get(move || {
                let api = Arc::clone(&api);
                async move { axum::Json(api.as_ref().clone()) }
            }),
        )
        .merge(crate::console::routes(
            state.config().limits.request_timeout,
        ))
        .merge(crate::console::upload_routes(
            upload_limit,
            state.config().limits.upload_timeout,
            http_limits,
        ))
        .layer(axum::middleware::from_fn(middleware::track_metrics))
        .with_state(state)
        // Innermost first: each `Router::layer` wraps everything above it.
        .layer(DefaultBodyLimit::max(body_limit))
        // The hard ceiling for every route; JSON routes stop far below it
        // at `DefaultBodyLimit`.
        .layer(RequestBodyLimitLayer::new(upload_limit.max(body_limit)))
        .layer(CatchPanicLayer::custom(middleware::panic_response))
        .layer(axum::middleware::from_fn(middleware::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            http_limits,
            middleware::head_limits,
        ))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(middleware::request_span)
                .on_request(())
                .on_response(middleware::log_response)
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
        ]))
}
