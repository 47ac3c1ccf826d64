//! The console's pages as typed askama templates (every value escaped), and
//! the error pages.

use askama::Template;
use axum::body::Body;
use axum::http::{Response, StatusCode};
use axum::response::{Html, IntoResponse};

use super::assets::{AssetNames, names};
use crate::error::ApiError;

/// What the layout shows around every page.
pub struct Chrome {
    /// Who is signed in (the token's e-mail, else its subject).
    pub user: Option<String>,
    /// This visitor's CSRF token, for the forms.
    pub csrf: String,
    /// The navigation entry to mark as current: `catalog`, `audit`,
    /// `marketplace`, `notifications` or "".
    pub section: &'static str,
    pub assets: &'static AssetNames,
    /// The signed-in caller's unread notifications, when counted.
    pub unread: Option<u64>,
}

impl Chrome {
    pub fn new(user: Option<String>, csrf: String, section: &'static str) -> Self {
        Self {
            user,
            csrf,
            section,
            assets: names(),
            unread: None,
        }
    }

    /// The unread notifications to show in the navigation (0: none shown).
    pub fn unread_count(&self) -> u64 {
        self.unread.unwrap_or(0)
    }

    /// For pages shown to nobody in particular (errors outside a visit).
    pub fn anonymous() -> Self {
        Self::new(None, String::new(), "")
    }
}

/// A heading, a message and what to do next.
#[derive(Template)]
#[template(path = "console/message.html")]
pub struct MessagePage {
    pub chrome: Chrome,
    pub heading: String,
    pub message: String,
    pub details: Vec<String>,
    /// `problem`, `notice` or `done`.
    pub tone: &'static str,
    pub link: Option<(String, String)>,
    /// Where to go on at once (a `<meta http-equiv="refresh">`).
    pub refresh: Option<String>,
}

impl MessagePage {
    pub fn problem(chrome: Chrome, heading: &str, message: String) -> Self {
        Self {
            chrome,
            heading: heading.to_owned(),
            message,
            details: Vec::new(),
            tone: "problem",
            link: None,
            refresh: None,
        }
    }

    pub fn link(mut self, href: &str, label: &str) -> Self {
        self.link = Some((href.to_owned(), label.to_owned()));
        self
    }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
pub struct SignInPage {
    pub chrome: Chrome,
    pub problem: Option<String>,
}

pub struct TenantView {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "console/tenants.html")]
pub struct TenantsPage {
    pub chrome: Chrome,
    pub tenants: Vec<TenantView>,
}

pub struct ArtifactView {
    pub id: String,
    /// The preview of its graph.
    pub preview_href: String,
    /// The export form with it as the root.
    pub export_href: String,
    pub name: String,
    pub kind: String,
    pub version: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "console/artifacts.html")]
pub struct ArtifactsPage {
    pub chrome: Chrome,
    pub tenant_id: String,
    pub tenant_name: String,
    pub q: String,
    pub type_filter: String,
    /// Every type, and whether it is the one chosen.
    pub types: Vec<(&'static str, bool)>,
    pub filtered: bool,
    pub artifacts: Vec<ArtifactView>,
    pub next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "console/preview.html")]
pub struct PreviewPage {
    pub chrome: Chrome,
    pub tenant_id: String,
    pub tenant_name: String,
    /// The roots as typed.
    pub roots: String,
    pub problem: Option<String>,
    pub problem_details: Vec<String>,
    pub graph: Option<super::graph::Graph>,
    pub total: usize,
    pub has_cycle: bool,
    /// The preview's warnings: why an export would be refused.
    pub warnings: Vec<String>,
    /// The install order: id and name.
    pub order: Vec<(String, String)>,
}

/// One input of a form: what was typed, the failures found in it, and
/// the ids its `aria-describedby` names (its hint, then its errors).
pub struct FieldState {
    /// The input's id and name: the API's field name.
    pub id: &'static str,
    pub value: String,
    pub errors: Vec<String>,
}

impl FieldState {
    pub fn new(id: &'static str, value: String) -> Self {
        Self {
            id,
            value,
            errors: Vec::new(),
        }
    }

    pub fn invalid(&self) -> bool {
        !self.errors.is_empty()
    }

    /// `<id>-hint`, and `<id>-error` when there are errors.
    pub fn described_by(&self) -> String {
        if self.invalid() {
            format!("{0}-hint {0}-error", self.id)
        } else {
            format!("{}-hint", self.id)
        }
    }
}

#[derive(Template)]
#[template(path = "console/export.html")]
pub struct ExportPage {
    pub chrome: Chrome,
    pub tenant_id: String,
    pub tenant_name: String,
    /// Every package type, and whether it is the one chosen.
    pub types: Vec<(&'static str, bool)>,
    pub package_name: FieldState,
    pub package_type: FieldState,
    pub version: FieldState,
    pub description: FieldState,
    pub author: FieldState,
    pub tags: FieldState,
    pub artifact_ids: FieldState,
    pub package_dependencies: FieldState,
    /// Every failure: the input it belongs to (`#id`), if any, and its
    /// message.
    pub summary: Vec<(Option<String>, String)>,
}

/// One artifact of a package's manifest.
pub struct ManifestRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub version: String,
    /// The bundled artifacts it references, comma separated.
    pub depends_on: String,
}

#[derive(Template)]
#[template(path = "console/package.html")]
pub struct PackagePage {
    pub chrome: Chrome,
    pub package_id: String,
    pub tenant_id: String,
    pub name: String,
    pub kind: String,
    pub version: String,
    pub description: String,
    pub author: String,
    pub tags: String,
    /// `sha256:` and hex.
    pub checksum: String,
    pub size: u64,
    pub size_readable: String,
    pub exported_at: String,
    pub exported_by: String,
    pub artifact_count: u32,
    /// The manifest's artifacts in install order.
    pub rows: Vec<ManifestRow>,
    /// Packages the target must have: name and version range.
    pub dependencies: Vec<(String, String)>,
    pub download_href: String,
}

pub struct AuditView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub outcome: String,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
pub struct AuditLogPage {
    pub chrome: Chrome,
    pub tenants: Vec<(String, bool)>,
    pub action: String,
    pub actions: Vec<(&'static str, bool)>,
    pub subject: String,
    pub problem: Option<String>,
    pub entries: Vec<AuditView>,
    pub next_href: Option<String>,
}

/// The page as HTML with `status`; a template that fails to render (it
/// should not) is logged and answered with a plain 500 page.
pub fn render(status: StatusCode, page: &impl Template) -> axum::response::Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering a console page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html("<!doctype html><html lang=\"en\"><title>Error</title><h1>The page could not be shown</h1></html>"),
            )
                .into_response()
        }
    }
}

/// The status an API error is answered with.
pub fn status_of(error: &ApiError) -> StatusCode {
    match error {
        ApiError::Failures {
            failures, status, ..
        } => status.unwrap_or_else(|| {
            crate::error::status_of(installhub_domain::failure::overall_kind(failures))
        }),
        ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An API error (from the shared controller code) as a console page: its
/// message, and each failure when there are several.
pub fn api_error_page(chrome: Chrome, error: ApiError) -> axum::response::Response {
    if let ApiError::Internal(cause) = &error {
        tracing::error!(error = %format!("{cause:#}"), "console request failed");
    }
    let status = status_of(&error);
    let mut page = MessagePage::problem(chrome, heading_for(status), error.message());
    let failures = error.as_failures();
    if failures.len() > 1 {
        page.message = "The request was refused:".to_owned();
        page.details = failures.iter().map(|f| f.message.clone()).collect();
    }
    render(
        status,
        &page.link("/console/tenants", "Back to the catalog"),
    )
}

pub fn heading_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNAUTHORIZED => "Not signed in",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "That request cannot be answered",
        StatusCode::PAYLOAD_TOO_LARGE => "Too large",
        StatusCode::METHOD_NOT_ALLOWED => "Not possible here",
        s if s.is_server_error() => "Something went wrong",
        _ => "The request was refused",
    }
}

/// The largest error body read to find its message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Any other error response as a console page: the message of a JSON
/// envelope (a rejected path or query), else a sentence for the status.
pub async fn error_from_response(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), ERROR_BODY_LIMIT)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| match status {
            StatusCode::NOT_FOUND => "There is no console page at this address.".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED => {
                "This page does not accept that kind of request.".to_owned()
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                "What was sent is larger than the console accepts.".to_owned()
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "Send the form as the page does (application/x-www-form-urlencoded).".to_owned()
            }
            StatusCode::REQUEST_TIMEOUT => {
                "The request took too long to complete. Try again later.".to_owned()
            }
            s if s.is_server_error() => {
                "An unexpected error occurred on the server. It has been logged.".to_owned()
            }
            s => format!("The request was refused ({s})."),
        });
    let page = MessagePage::problem(Chrome::anonymous(), heading_for(status), message)
        .link("/console", "Go to the console");
    render(status, &page)
}
