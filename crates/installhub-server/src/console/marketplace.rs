//! The console's marketplace: search, a listing's page with its install
//! form, and an install's page whose progress is pushed by server-sent
//! events. Each reads and writes through the API's own functions:
//! [`search_listings`] (`GET /api/marketplace/packages`), [`listing_detail`]
//! (`GET .../packages/{packageId}`), [`run_install`]
//! (`POST .../packages/{packageId}/install`) and [`readable_install`]
//! (`GET /api/marketplace/installs/{installId}/status`), with their checks.
//!
//! The event stream (`.../installs/{installId}/events`) reads the same
//! status as the status API every [`POLL_EVERY`], sends the rendered status
//! when it changed, and ends at a terminal status, after [`MAX_FOLLOW`],
//! when the server starts shutting down (so it never holds the drain up),
//! or when the browser goes away (the keep-alive comment finds out within
//! [`KEEP_ALIVE`]). A page without JavaScript refreshes itself while the
//! install runs instead.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use installhub_domain::marketplace::{
    InstallBody, InstallId, InstallStage, InstallStatus, TrustLevel, VersionStatement,
};
use installhub_domain::{Caller, ConflictStrategy, ErrorCode, Failure, PackageType, Scope};
use serde::{Deserialize, Serialize};

use super::notifications::count_unread;
use super::pages::{SignedIn, SignedInForm};
use super::session::ConsoleForm;
use super::views::{Chrome, FieldState, api_error_page, render, status_of};
use crate::controllers::marketplace::install::{
    InstallStatusView, check_idempotency_key, readable_install, run_install,
};
use crate::controllers::marketplace::search::{SearchParams, search_listings};
use crate::controllers::marketplace::show::listing_detail;
use crate::controllers::marketplace::{ListingDetail, ListingSummary, VersionView, find_listing};
use crate::controllers::tenants::visible_tenants;
use crate::extract::{InstallPath, ListingPath, QueryParams};
use crate::state::AppState;

/// Listings on one search page.
const PER_PAGE: i64 = 12;
/// How often the event stream reads an install's status.
pub const POLL_EVERY: Duration = Duration::from_millis(400);
/// The longest one event stream runs; the page then asks for a refresh.
pub const MAX_FOLLOW: Duration = Duration::from_secs(10 * 60);
/// How often an idle stream sends a comment (which also notices a browser
/// that went away).
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);
/// How often a page without JavaScript reloads while the install runs.
const REFRESH_SECONDS: u32 = 3;

// ---------------------------------------------------------------- search

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MarketQuery {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    q: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    category: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    trust_level: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    package_type: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    publisher: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cursor: Option<String>,
}

/// A listing as a search result card.
pub struct ListingCard {
    pub href: String,
    pub name: String,
    pub summary: String,
    pub publisher: String,
    pub trust: &'static str,
    pub kind: &'static str,
    pub latest: Option<String>,
    pub install_count: u64,
    pub categories: Vec<String>,
}

impl From<ListingSummary> for ListingCard {
    fn from(l: ListingSummary) -> Self {
        ListingCard {
            href: format!("/console/marketplace/{}", l.package_id),
            name: l.name,
            summary: l.summary,
            publisher: l.publisher,
            trust: l.trust_level.as_str(),
            kind: l.package_type.as_str(),
            latest: l.latest_version,
            install_count: l.install_count,
            categories: l.categories,
        }
    }
}

#[derive(Template)]
#[template(path = "console/marketplace.html")]
pub struct MarketplacePage {
    pub chrome: Chrome,
    pub q: FieldState,
    pub category: FieldState,
    pub publisher: FieldState,
    pub trust_level: FieldState,
    pub package_type: FieldState,
    pub trust_levels: Vec<(&'static str, bool)>,
    pub package_types: Vec<(&'static str, bool)>,
    pub filtered: bool,
    /// Why the search was refused: input id (if any) and message.
    pub summary: Vec<(Option<String>, String)>,
    pub listings: Vec<ListingCard>,
    pub next_href: Option<String>,
}

fn some(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// `GET /console/marketplace?q=&category=&trustLevel=&packageType=&publisher=&cursor=`.
pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(query): QueryParams<MarketQuery>,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let field = |id: &'static str, value: &str| FieldState::new(id, value.trim().to_owned());
    let mut page = MarketplacePage {
        chrome: visit.chrome(Some(&caller), "marketplace"),
        q: field("q", &query.q),
        category: field("category", &query.category),
        publisher: field("publisher", &query.publisher),
        trust_level: field("trustLevel", &query.trust_level),
        package_type: field("packageType", &query.package_type),
        trust_levels: TrustLevel::ALL
            .iter()
            .map(|t| (t.as_str(), t.as_str() == query.trust_level.trim()))
            .collect(),
        package_types: PackageType::ALL
            .iter()
            .map(|t| (t.as_str(), t.as_str() == query.package_type.trim()))
            .collect(),
        filtered: [
            &query.q,
            &query.category,
            &query.publisher,
            &query.trust_level,
            &query.package_type,
        ]
        .iter()
        .any(|v| !v.trim().is_empty()),
        summary: Vec::new(),
        listings: Vec::new(),
        next_href: None,
    };
    let params = SearchParams {
        q: some(&query.q),
        package_type: some(&query.package_type),
        trust_level: some(&query.trust_level),
        publisher: some(&query.publisher),
        category: some(&query.category),
        cursor: query.cursor.as_deref().and_then(some),
        limit: Some(PER_PAGE),
    };
    let status = match search_listings(&state, params).await {
        Ok(found) => {
            page.next_href = found.next_cursor.map(|cursor| {
                let next = MarketQuery {
                    q: page.q.value.clone(),
                    category: page.category.value.clone(),
                    trust_level: page.trust_level.value.clone(),
                    package_type: page.package_type.value.clone(),
                    publisher: page.publisher.value.clone(),
                    cursor: Some(cursor),
                };
                format!(
                    "/console/marketplace?{}",
                    serde_urlencoded::to_string(&next).unwrap_or_default()
                )
            });
            page.listings = found.packages.into_iter().map(ListingCard::from).collect();
            StatusCode::OK
        }
        Err(error) => {
            let status = status_of(&error);
            if status.is_server_error() || status == StatusCode::UNAUTHORIZED {
                let chrome = visit.chrome(Some(&caller), "marketplace");
                return visit.respond(api_error_page(chrome, error));
            }
            for failure in error.as_failures() {
                let input = match failure.field.as_deref() {
                    Some("q") => Some(&mut page.q),
                    Some("category") => Some(&mut page.category),
                    Some("publisher") => Some(&mut page.publisher),
                    Some("trustLevel") => Some(&mut page.trust_level),
                    Some("packageType") => Some(&mut page.package_type),
                    _ => None,
                };
                let href = input.map(|input| {
                    input.errors.push(failure.message.clone());
                    format!("#{}", input.id)
                });
                page.summary.push((href, failure.message.clone()));
            }
            // htmx swaps in only successful answers: for its requests the
            // refusal (shown in the results) is answered 200.
            if headers.contains_key("hx-request") {
                StatusCode::OK
            } else {
                status
            }
        }
    };
    visit.respond(render(status, &page))
}

// ---------------------------------------------------------- listing page

/// One published version as the listing page shows it.
pub struct VersionRow {
    pub version: String,
    pub published_at: String,
    pub size: u64,
    pub scan: &'static str,
    pub findings: usize,
    /// Whether its signature verifies against this marketplace's keys, in
    /// words, and whether that is good.
    pub signature: String,
    pub signature_ok: bool,
    /// `(date, reason)` when yanked or deprecated.
    pub yanked: Option<(String, String)>,
    pub deprecated: Option<(String, String)>,
}

fn version_row(state: &AppState, listing: &ListingDetail, v: &VersionView) -> VersionRow {
    let statement = VersionStatement::new(
        &listing.listing.package_id,
        &listing.listing.name,
        &v.version,
        &v.checksum,
        &v.bundle_sha256,
        v.size_bytes,
        v.published_at,
        &v.key_id,
    )
    .canonical_bytes();
    let (signature, signature_ok) =
        match state
            .publichub()
            .keys
            .verify(&v.key_id, &statement, &v.signature)
        {
            Ok(()) => (format!("Valid (Ed25519, key {})", v.key_id), true),
            Err(error) => (format!("Does not verify: {error}"), false),
        };
    let mark = |m: &Option<crate::controllers::marketplace::MarkView>| {
        m.as_ref()
            .map(|m| (m.at.format("%Y-%m-%d").to_string(), m.reason.clone()))
    };
    VersionRow {
        version: v.version.clone(),
        published_at: v.published_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        size: v.size_bytes,
        scan: v.security_scan_result.as_str(),
        findings: v.security_findings.as_array().map_or(0, Vec::len),
        signature,
        signature_ok,
        yanked: mark(&v.yanked),
        deprecated: mark(&v.deprecated),
    }
}

#[derive(Template)]
#[template(path = "console/marketplace_listing.html")]
pub struct ListingPage {
    pub chrome: Chrome,
    pub id: String,
    pub name: String,
    pub summary: String,
    pub publisher: String,
    pub trust: &'static str,
    pub kind: &'static str,
    pub categories: Vec<String>,
    pub install_count: u64,
    pub latest: Option<String>,
    pub updated_at: String,
    /// `(date, reason)` when delisted: nothing installs.
    pub delisted: Option<(String, String)>,
    pub versions: Vec<VersionRow>,
    /// Why this token cannot install at all (missing scopes), if so.
    pub cannot_install: Option<String>,
    /// The install form: tenants (id, name, chosen), versions (value,
    /// label, chosen), strategies (name, chosen).
    pub tenants: Vec<(String, String, bool)>,
    /// The caller's tenants that do not install this listing's trust
    /// level, each with why.
    pub not_offered: Vec<String>,
    pub version_choices: Vec<(String, String, bool)>,
    pub strategies: Vec<(&'static str, bool)>,
    pub target: FieldState,
    pub version: FieldState,
    pub strategy: FieldState,
    pub acknowledge: FieldState,
    pub acknowledged: bool,
    pub community: bool,
    /// A fresh key per form: sending the same form twice queues one install.
    pub idempotency_key: String,
    pub summary_errors: Vec<(Option<String>, String)>,
}

/// The install form's inputs, named as the API's request fields.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallForm {
    csrf: Option<String>,
    #[serde(default)]
    target_tenant_id: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    default_conflict_strategy: String,
    /// `true` when the box is ticked (absent otherwise).
    #[serde(default)]
    acknowledge_community_package: Option<String>,
    #[serde(default)]
    idempotency_key: String,
}

impl ConsoleForm for InstallForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

impl InstallForm {
    fn acknowledged(&self) -> bool {
        self.acknowledge_community_package.as_deref() == Some("true")
    }

    /// The API's request body for these inputs; empty choices are left out
    /// (the latest version, the default strategy).
    fn body(&self) -> InstallBody {
        InstallBody {
            version: some(&self.version),
            target_tenant_id: Some(self.target_tenant_id.trim().to_owned()),
            default_conflict_strategy: some(&self.default_conflict_strategy),
            acknowledge_community_package: self.acknowledged(),
            ..InstallBody::default()
        }
    }
}

fn random_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("console-{}", hex::encode(bytes))
}

/// Scopes an install needs that `caller` lacks (the Community one only for
/// a Community listing), in words.
fn missing_install_scopes(caller: &Caller, community: bool) -> Option<String> {
    let mut needed = vec![Scope::Import, Scope::MarketplaceInstall];
    if community {
        needed.push(Scope::MarketplaceInstallCommunity);
    }
    let missing: Vec<&str> = needed
        .into_iter()
        .filter(|s| !caller.has_scope(*s))
        .map(|s| s.as_str())
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "Your token cannot install this package: it lacks the scope{} {}.",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", ")
        )
    })
}

async fn listing_page(
    state: &AppState,
    chrome: Chrome,
    caller: &Caller,
    detail: ListingDetail,
    form: &InstallForm,
) -> Result<ListingPage, crate::error::ApiError> {
    let community = detail.listing.trust_level == TrustLevel::Community;
    let level = detail.listing.trust_level;
    // A tenant whose allowed trust levels leave this listing's out is not
    // offered (the install would refuse it with TrustLevelNotAllowed).
    let (tenants, refusing): (Vec<_>, Vec<_>) = visible_tenants(state, caller)
        .await?
        .into_iter()
        .partition(|t| {
            t.allowed_trust_levels
                .as_ref()
                .is_none_or(|allowed| allowed.contains(&level))
        });
    let not_offered = refusing
        .into_iter()
        .map(|t| {
            let allowed: Vec<&str> = t
                .allowed_trust_levels
                .iter()
                .flatten()
                .map(|l| l.as_str())
                .collect();
            format!(
                "{} ({}) installs only {} packages.",
                t.name,
                t.tenant_id,
                if allowed.is_empty() {
                    "no marketplace".to_owned()
                } else {
                    allowed.join(" or ")
                }
            )
        })
        .collect();
    let chosen_target = if form.target_tenant_id.is_empty() {
        tenants
            .first()
            .map(|t| t.tenant_id.to_string())
            .unwrap_or_default()
    } else {
        form.target_tenant_id.clone()
    };
    let field = |id: &'static str, value: &str| FieldState::new(id, value.to_owned());
    let latest = detail.listing.latest_version.clone();
    let mut version_choices = vec![(
        String::new(),
        match &latest {
            Some(v) => format!("Latest ({v})"),
            None => "Latest (none: every version is yanked)".to_owned(),
        },
        form.version.is_empty(),
    )];
    version_choices.extend(detail.versions.iter().map(|v| {
        let mut label = v.version.clone();
        if v.yanked.is_some() {
            label.push_str(" (yanked)");
        } else if v.deprecated.is_some() {
            label.push_str(" (deprecated)");
        }
        (v.version.clone(), label, v.version == form.version)
    }));
    let versions = detail
        .versions
        .iter()
        .map(|v| version_row(state, &detail, v))
        .collect();
    let l = detail.listing;
    Ok(ListingPage {
        chrome,
        id: l.package_id.to_string(),
        cannot_install: missing_install_scopes(caller, community),
        name: l.name,
        summary: l.summary,
        publisher: l.publisher,
        trust: l.trust_level.as_str(),
        kind: l.package_type.as_str(),
        categories: l.categories,
        install_count: l.install_count,
        latest,
        updated_at: l.updated_at.format("%Y-%m-%d").to_string(),
        delisted: l
            .delisted
            .map(|d| (d.at.format("%Y-%m-%d").to_string(), d.reason)),
        versions,
        tenants: tenants
            .into_iter()
            .map(|t| {
                let id = t.tenant_id.to_string();
                let chosen = id == chosen_target;
                (id, t.name, chosen)
            })
            .collect(),
        not_offered,
        version_choices,
        strategies: ConflictStrategy::ALL
            .iter()
            .map(|s| {
                let chosen = if form.default_conflict_strategy.is_empty() {
                    *s == ConflictStrategy::Skip
                } else {
                    s.as_str() == form.default_conflict_strategy
                };
                (s.as_str(), chosen)
            })
            .collect(),
        target: field("targetTenantId", &chosen_target),
        version: field("version", &form.version),
        strategy: field("defaultConflictStrategy", &form.default_conflict_strategy),
        acknowledge: field("acknowledgeCommunityPackage", ""),
        acknowledged: form.acknowledged(),
        community,
        idempotency_key: random_key(),
        summary_errors: Vec::new(),
    })
}

impl ListingPage {
    /// Each failure in the summary and at its input. The Community
    /// acknowledgment's message speaks of the form's box rather than the
    /// API's JSON field.
    fn show_failures(&mut self, failures: &[Failure]) {
        for failure in failures {
            let message = if failure.code == ErrorCode::AcknowledgmentRequired {
                "This is a Community package: tick the box to confirm you accept its trust level before installing.".to_owned()
            } else {
                failure.message.clone()
            };
            let top = failure
                .field
                .as_deref()
                .map(|f| f.split(['[', '.']).next().unwrap_or_default());
            let input = match (top, failure.code) {
                (Some("acknowledgeCommunityPackage"), _) => Some(&mut self.acknowledge),
                (Some("version"), _) | (_, ErrorCode::VersionNotFound) => Some(&mut self.version),
                (Some("defaultConflictStrategy"), _) => Some(&mut self.strategy),
                (Some("targetTenantId"), _)
                | (
                    _,
                    ErrorCode::TrustLevelNotAllowed
                    | ErrorCode::TenantAccessDenied
                    | ErrorCode::TenantNotFound,
                ) => Some(&mut self.target),
                _ => None,
            };
            let href = input.map(|input| {
                input.errors.push(message.clone());
                format!("#{}", input.id)
            });
            self.summary_errors.push((href, message));
        }
    }
}

/// `GET /console/marketplace/{packageId}`: the listing, its versions and
/// the install form.
pub async fn listing(
    State(state): State<AppState>,
    path: ListingPath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "marketplace");
    let page = match listing_detail(&state, &path.package_id).await {
        Ok(detail) => listing_page(&state, chrome, &caller, detail, &InstallForm::default()).await,
        Err(error) => Err(error),
    };
    match page {
        Ok(page) => visit.respond(render(StatusCode::OK, &page)),
        Err(error) => {
            let chrome = visit.chrome(Some(&caller), "marketplace");
            visit.respond(api_error_page(chrome, error))
        }
    }
}

/// `POST /console/marketplace/{packageId}/install`: the install, checked
/// and queued by the API's own code; then the install's page (303). A
/// refusal shows the listing page again with each problem at its input.
pub async fn install(
    State(state): State<AppState>,
    path: ListingPath,
    SignedInForm(mut visit, caller, form): SignedInForm<InstallForm>,
) -> Response {
    // The form's key, checked as the API checks its header (an empty one:
    // none).
    let key = some(&form.idempotency_key)
        .map(|key| check_idempotency_key(Some(&key)))
        .transpose();
    let installed = match key {
        Ok(key) => run_install(&state, &caller, &path.package_id, form.body(), key).await,
        Err(error) => Err(error),
    };
    let error = match installed {
        Ok(accepted) => {
            return visit.respond(Redirect::to(&format!(
                "/console/marketplace/installs/{}",
                accepted.install_id
            )));
        }
        Err(error) => error,
    };
    count_unread(&state, &mut visit, &caller).await;
    let status = status_of(&error);
    let detail = match listing_detail(&state, &path.package_id).await {
        Ok(detail) if !status.is_server_error() && status != StatusCode::UNAUTHORIZED => detail,
        _ => {
            let chrome = visit.chrome(Some(&caller), "marketplace");
            return visit.respond(api_error_page(chrome, error));
        }
    };
    let chrome = visit.chrome(Some(&caller), "marketplace");
    match listing_page(&state, chrome, &caller, detail, &form).await {
        Ok(mut page) => {
            page.show_failures(error.as_failures());
            visit.respond(render(status, &page))
        }
        Err(other) => {
            let chrome = visit.chrome(Some(&caller), "marketplace");
            visit.respond(api_error_page(chrome, other))
        }
    }
}

// ---------------------------------------------------------- install page

/// An install's status as the page (and each event) shows it.
pub struct StatusPart {
    /// `InProgress`, `Success` or `Failed`.
    pub status: &'static str,
    pub terminal: bool,
    /// Every stage, and whether it is done, current or to come.
    pub stages: Vec<(&'static str, &'static str)>,
    pub stage: Option<&'static str>,
    pub progress: Option<String>,
    pub import_id: Option<String>,
    pub artifacts_installed: Option<u64>,
    pub conflicts_resolved: Option<u64>,
    pub completed_at: Option<String>,
    pub dry_run: bool,
    pub error: Option<String>,
    pub message: Option<String>,
    pub rolled_back: bool,
}

impl From<&InstallStatusView> for StatusPart {
    fn from(v: &InstallStatusView) -> Self {
        let current = v.stage;
        let position = |s: InstallStage| InstallStage::ALL.iter().position(|x| *x == s);
        let at = current.and_then(position);
        let stages = InstallStage::ALL
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let state = match (v.status, at) {
                    (InstallStatus::Success, _) => "done",
                    (_, Some(at)) if i < at => "done",
                    (InstallStatus::Failed, Some(at)) if i == at => "failed",
                    (_, Some(at)) if i == at => "current",
                    _ => "todo",
                };
                (s.as_str(), state)
            })
            .collect();
        StatusPart {
            status: v.status.as_str(),
            terminal: v.status != InstallStatus::InProgress,
            stages,
            stage: current.map(InstallStage::as_str),
            progress: v.progress.clone(),
            import_id: v.import_id.clone(),
            artifacts_installed: v.artifacts_installed,
            conflicts_resolved: v.conflicts_resolved,
            completed_at: v
                .completed_at
                .map(|at| at.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
            dry_run: v.dry_run.unwrap_or(false),
            error: v.error.clone(),
            message: v.message.clone(),
            rolled_back: v.rolled_back.unwrap_or(false),
        }
    }
}

/// The status alone: what each event carries.
#[derive(Template)]
#[template(path = "console/marketplace_install_status.html")]
pub struct StatusFragment {
    pub status: StatusPart,
}

#[derive(Template)]
#[template(path = "console/marketplace_install.html")]
pub struct InstallPage {
    pub chrome: Chrome,
    pub install_id: String,
    pub listing_href: String,
    pub listing_name: String,
    pub version: String,
    pub target_tenant_id: String,
    pub events_href: String,
    pub refresh_seconds: u32,
    pub status: StatusPart,
}

/// `GET /console/marketplace/installs/{installId}`: the install's status,
/// read as the status API reads it (another tenant's install is not
/// found), followed live by the page's script.
pub async fn install_page(
    State(state): State<AppState>,
    path: InstallPath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "marketplace");
    let (view, job) = match readable_install(&state, &caller, &path.install_id).await {
        Ok(found) => found,
        Err(error) => return visit.respond(api_error_page(chrome, error)),
    };
    let listing_name = match find_listing(&state, &job.listing_id).await {
        Ok(listing) => listing.name,
        Err(_) => job.listing_id.to_string(),
    };
    let page = InstallPage {
        chrome,
        install_id: job.install_id.clone(),
        listing_href: format!("/console/marketplace/{}", job.listing_id),
        listing_name,
        version: job.version.clone(),
        target_tenant_id: job.target_tenant_id.to_string(),
        events_href: format!("/console/marketplace/installs/{}/events", job.install_id),
        refresh_seconds: REFRESH_SECONDS,
        status: StatusPart::from(&view),
    };
    visit.respond(render(StatusCode::OK, &page))
}

/// The status as HTML for an event: one line per `data:` line, without
/// carriage returns (an event cannot carry them).
fn fragment(view: &InstallStatusView) -> String {
    StatusFragment {
        status: StatusPart::from(view),
    }
    .render()
    .unwrap_or_default()
    .replace('\r', "")
}

/// The gauge of install event streams open now.
const OPEN_STREAMS: &str = "installhub_console_install_streams";

/// The event streams open now, per install.
static FOLLOWERS: LazyLock<Mutex<HashMap<String, usize>>> = LazyLock::new(Mutex::default);

/// How many event streams follow the install now: one for each browser
/// page open on it (the `installhub_console_install_streams` gauge counts
/// them all).
pub fn followers(install_id: &str) -> usize {
    FOLLOWERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(install_id)
        .copied()
        .unwrap_or(0)
}

/// Counts one open event stream, until the stream is dropped (it ended,
/// or the browser went away).
struct StreamOpen(String);

impl StreamOpen {
    fn new(install_id: &str) -> Self {
        *FOLLOWERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(install_id.to_owned())
            .or_default() += 1;
        metrics::gauge!(OPEN_STREAMS).increment(1.0);
        StreamOpen(install_id.to_owned())
    }
}

impl Drop for StreamOpen {
    fn drop(&mut self) {
        let mut followers = FOLLOWERS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = followers.get_mut(&self.0) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                followers.remove(&self.0);
            }
        }
        metrics::gauge!(OPEN_STREAMS).decrement(1.0);
    }
}

/// Where a followed install's event stream stands.
struct Follow {
    state: AppState,
    caller: Caller,
    install_id: InstallId,
    started: Instant,
    last: Option<String>,
    ended: bool,
    /// Turns `true` when the server shuts down: the stream ends then.
    stopping: tokio::sync::watch::Receiver<bool>,
    _open: StreamOpen,
}

impl Follow {
    /// The next event: the status when it changed, `end` once it is
    /// terminal (or no longer readable, or after [`MAX_FOLLOW`]); `None`
    /// after `end`.
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Self)> {
        if self.ended {
            return None;
        }
        loop {
            if *self.stopping.borrow() {
                return Some((self.end("restart"), self));
            }
            if self.started.elapsed() >= MAX_FOLLOW {
                return Some((self.end("timeout"), self));
            }
            let view = match readable_install(&self.state, &self.caller, &self.install_id).await {
                Ok((view, _)) => view,
                Err(error) => {
                    tracing::warn!(error = %error.message(), "following a marketplace install");
                    return Some((self.end("unavailable"), self));
                }
            };
            let html = fragment(&view);
            if self.last.as_deref() != Some(html.as_str()) {
                self.last = Some(html.clone());
                let event = Event::default().event("status").data(html);
                return Some((Ok(event), self));
            }
            if view.status != InstallStatus::InProgress {
                return Some((self.end("done"), self));
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_EVERY) => {}
                // Checked at the top of the loop.
                _ = self.stopping.changed() => {}
            }
        }
    }

    fn end(&mut self, why: &'static str) -> Result<Event, Infallible> {
        self.ended = true;
        Ok(Event::default().event("end").data(why))
    }
}

/// `GET /console/marketplace/installs/{installId}/events`: the install's
/// status as server-sent events (`status` with the rendered status, then
/// `end` with `done`, `timeout`, `restart` (the server shuts down) or
/// `unavailable`). Refused as the status
/// API refuses, before the stream starts.
pub async fn install_events(
    State(state): State<AppState>,
    path: InstallPath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    if let Err(error) = readable_install(&state, &caller, &path.install_id).await {
        let chrome = visit.chrome(Some(&caller), "marketplace");
        return visit.respond(api_error_page(chrome, error));
    }
    let open = StreamOpen::new(path.install_id.as_str());
    let follow = Follow {
        stopping: state.stopping(),
        state,
        caller,
        install_id: path.install_id,
        started: Instant::now(),
        last: None,
        ended: false,
        _open: open,
    };
    let stream = futures::stream::unfold(follow, Follow::next);
    let sse = Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE));
    visit.respond(sse.into_response())
}
