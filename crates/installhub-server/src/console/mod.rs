//! The web console under `/console`: server-rendered pages (askama) over
//! the same domain and store code, and the same permission checks, as the
//! API routes. htmx (vendored, served from the binary) only enhances pages
//! that work without JavaScript.
//!
//! Every console response, the error pages included, carries a strict
//! Content-Security-Policy (`default-src 'self'`, no inline script or
//! style, `frame-ancestors 'none'`), `X-Content-Type-Options: nosniff`,
//! `Referrer-Policy: no-referrer` and, except the static files,
//! `Cache-Control: no-store`: [`finish_response`] sets them on the way out.

mod assets;
mod export;
mod graph;
mod history;
mod import;
mod marketplace;
mod notifications;
mod pages;
mod session;
mod staging;
mod views;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, Response, StatusCode, header};
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

pub use marketplace::followers as install_followers;
pub use session::{SIGN_IN_LINK_TTL, SignInLinks};
pub use staging::sweep_expired as sweep_expired_uploads;

use crate::config::HttpLimits;
use crate::state::AppState;

/// Where the console lives.
pub const PREFIX: &str = "/console";

/// The console's Content-Security-Policy: everything from this origin only,
/// no inline script or style (the templates have none), no plugins, no
/// framing, forms post only here.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Whether `path` is one of the console's (so its answers are HTML).
pub fn is_console_path(path: &str) -> bool {
    path == PREFIX || path.starts_with("/console/")
}

/// The console's routes, merged beside the API's.
pub fn routes(timeout: Duration) -> Router<AppState> {
    Router::new()
        .route(PREFIX, get(pages::home))
        .route("/console/", get(pages::home))
        .route(
            "/console/sign-in",
            get(session::sign_in_page).post(session::sign_in),
        )
        .route("/console/sign-in/link", get(session::sign_in_link))
        .route("/console/sign-out", post(session::sign_out))
        .route("/console/tenants", get(pages::tenants))
        .route("/console/tenants/{tenantId}", get(pages::artifacts))
        .route("/console/tenants/{tenantId}/preview", get(pages::preview))
        .route(
            "/console/tenants/{tenantId}/export",
            get(export::export_form).post(export::export),
        )
        .route("/console/packages/{packageId}", get(export::package))
        .route(
            "/console/packages/{packageId}/download",
            get(export::download),
        )
        // The import wizard and the import history.
        .route("/console/import", get(history::choose_tenant))
        .route("/console/history", get(history::choose_tenant))
        .route(
            "/console/tenants/{tenantId}/import",
            get(import::upload_form),
        )
        .route(
            "/console/tenants/{tenantId}/import/{uploadId}",
            get(import::review),
        )
        .route(
            "/console/tenants/{tenantId}/import/{uploadId}/plan",
            post(import::plan),
        )
        .route(
            "/console/tenants/{tenantId}/import/{uploadId}/confirm",
            post(import::confirm),
        )
        .route(
            "/console/tenants/{tenantId}/import/{uploadId}/discard",
            post(import::discard),
        )
        .route("/console/tenants/{tenantId}/imports", get(history::history))
        .route("/console/imports/{importId}", get(history::import_page))
        .route(
            "/console/imports/{importId}/rollback",
            get(history::rollback_form).post(history::rollback),
        )
        .route(
            "/console/tenants/{tenantId}/installed-packages/{packageName}/uninstall",
            get(history::uninstall_form).post(history::uninstall),
        )
        .route("/console/audit", get(pages::audit))
        .route("/console/marketplace", get(marketplace::search))
        .route(
            "/console/marketplace/{packageId}",
            get(marketplace::listing),
        )
        .route(
            "/console/marketplace/{packageId}/install",
            post(marketplace::install),
        )
        .route(
            "/console/marketplace/installs/{installId}",
            get(marketplace::install_page),
        )
        .route(
            "/console/marketplace/installs/{installId}/events",
            get(marketplace::install_events),
        )
        .route("/console/notifications", get(notifications::notifications))
        .route(
            "/console/notifications/{notificationId}/read",
            post(notifications::mark_read),
        )
        .route("/console/assets/{file}", get(assets::serve))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
}

/// The console's upload of a bundle for the import wizard: the body
/// limit, minimum rate and timeout of the API's upload routes (app.rs
/// `upload_routes`), with the multipart framing read by the same code.
pub fn upload_routes(body_limit: usize, timeout: Duration, http: HttpLimits) -> Router<AppState> {
    Router::new()
        .route("/console/tenants/{tenantId}/uploads", post(import::upload))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            http,
            crate::middleware::min_upload_rate,
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
}

/// The last step of every console response: an error that is not already
/// a console page (axum's 404 and 405, a body over the limit, a rejected
/// path or query, a timeout, a panic) becomes one, and the security headers
/// are set.
pub async fn finish_response(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let mut response = if (status.is_client_error() || status.is_server_error()) && !is_html {
        views::error_from_response(response).await
    } else {
        response
    };
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ] {
        headers.insert(name, value);
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}
