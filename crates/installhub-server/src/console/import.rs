//! The console's import wizard: upload a bundle, read its scan and its dry
//! run (each replaced artifact's changes), choose a strategy per conflict,
//! confirm. Every step runs the API's own code: the upload is streamed and
//! framed as `POST /api/installhub/packages/import` reads it
//! ([`GuardedMultipart`], under the same body limit and upload timeout),
//! the scan is [`verify_and_scan`] as `POST .../packages/scan` runs it, and
//! the dry run and the import are [`import::run`], the whole pipeline with
//! its permission checks, records and audit entries. The confirmed import
//! is pinned to the plan the page showed (`options.planId`), so a tenant
//! that changed since is refused with `PlanOutdated` instead of surprised.
//!
//! The bundle waits between the steps in [`staging`](super::staging).

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use chrono::Utc;
use installhub_bundle::ReadLimits;
use installhub_domain::import::ImportOptions;
use installhub_domain::{Caller, ErrorCode, Failure, ImportSource, Scope, Tenant};
use serde::Deserialize;
use serde_json::Value;

use super::pages::{SignedIn, SignedInForm, signed_in};
use super::session::{ConsoleForm, TokenOnlyForm, Visit};
use super::staging::{self, Upload};
use super::views::{Chrome, MessagePage, render, status_of};
use crate::controllers::imports::ScanResponse;
use crate::controllers::tenants::find_tenant_for;
use crate::error::{ApiError, ApiResult};
use crate::extract::{TenantPath, UploadPath, require_scope};
use crate::import::{self, GuardedMultipart, ImportInput, error_body, verify_and_scan};
use crate::state::AppState;

/// Largest `csrf` part read.
const MAX_CSRF_BYTES: usize = 256;
/// Longest JSON value shown whole in a change; longer ones are cut.
const MAX_VALUE_CHARS: usize = 600;

/// The tenant when the caller may import into it: the import scope and the
/// tenant's access, the API's checks, before anything is read.
async fn importing_tenant(
    state: &AppState,
    caller: &Caller,
    tenant: &installhub_domain::TenantId,
) -> ApiResult<Tenant> {
    require_scope(caller, Scope::Import)?;
    find_tenant_for(state, caller, tenant).await
}

/// A domain error as a page: its message, then each failure with its code
/// and what its details say (conflicts, plan differences, findings), as
/// sentences, never the JSON.
pub(super) fn problem_page(chrome: Chrome, error: &ApiError, back: (&str, &str)) -> Response {
    if let ApiError::Internal(cause) = error {
        tracing::error!(error = %format!("{cause:#}"), "console request failed");
    }
    let status = status_of(error);
    let mut page = MessagePage::problem(chrome, super::views::heading_for(status), error.message());
    page.details = failure_lines(&error_body(error));
    render(status, &page.link(back.0, back.1))
}

/// Each failure of an error envelope as `Code: message`, with the lines its
/// details add.
pub(super) fn failure_lines(envelope: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    let failures = envelope["errors"].as_array().map_or(&[][..], Vec::as_slice);
    for failure in failures {
        let code = failure["code"].as_str().unwrap_or_default();
        let message = failure["message"].as_str().unwrap_or_default();
        // One failure's message is the page's already.
        if failures.len() == 1 {
            lines.push(format!("Error code {code}"));
        } else {
            lines.push(format!("Error code {code}: {message}"));
        }
        for difference in failure["differences"].as_array().into_iter().flatten() {
            lines.push(difference_line(difference));
        }
        for finding in failure["securityFindings"].as_array().into_iter().flatten() {
            lines.push(format!(
                "Finding {} ({}) in {} at {}: {}",
                text(&finding["ruleId"]),
                text(&finding["severity"]),
                text(&finding["artifactId"]),
                text(&finding["path"]),
                text(&finding["message"]),
            ));
        }
    }
    lines
}

/// One difference of a plan that no longer holds (`PlanOutdated`), as a
/// sentence.
fn difference_line(difference: &Value) -> String {
    let part = text(&difference["part"]);
    let (pinned, now) = (&difference["pinned"], &difference["now"]);
    if part == "artifact" {
        let mut line = format!(
            "Artifact {}: the reviewed plan said {}; the plan now says {}",
            text(&difference["artifactId"]),
            planned(pinned),
            planned(now)
        );
        if !pinned.is_null() && !now.is_null() && pinned["liveSha256"] != now["liveSha256"] {
            line.push_str("; the tenant's copy changed since the review");
        }
        return format!("{line}.");
    }
    let mut changed = Vec::new();
    if let (Some(before), Some(after)) = (pinned.as_object(), now.as_object()) {
        let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
        for key in keys {
            let (was, is) = (
                before.get(key).unwrap_or(&Value::Null),
                after.get(key).unwrap_or(&Value::Null),
            );
            if was != is {
                changed.push(format!("{key} was {} and is now {}", flat(was), flat(is)));
            }
        }
    } else {
        changed.push(format!("was {} and is now {}", flat(pinned), flat(now)));
    }
    format!("The {part}: {}.", changed.join("; "))
}

/// An artifact's entry of a pinned plan, as words.
fn planned(entry: &Value) -> String {
    if entry.is_null() {
        return "nothing (not in the plan)".to_owned();
    }
    let previous = entry["previousVersion"].as_str().unwrap_or("none");
    format!(
        "{} ({previous} to {})",
        text(&entry["action"]),
        text(&entry["version"])
    )
}

/// A value without JSON punctuation: members as `name: value`.
fn flat(value: &Value) -> String {
    match value {
        Value::Null => "none".to_owned(),
        Value::Object(members) if members.is_empty() => "none".to_owned(),
        Value::Object(members) => members
            .iter()
            .map(|(k, v)| format!("{k}: {}", flat(v)))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(items) => items.iter().map(flat).collect::<Vec<_>>().join(", "),
        other => text(other),
    }
}

pub(super) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A JSON value on one line, cut when long.
fn readable(value: &Value) -> String {
    let whole = match value {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    if whole.chars().count() > MAX_VALUE_CHARS {
        let cut: String = whole.chars().take(MAX_VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        whole
    }
}

#[derive(Template)]
#[template(path = "console/import.html")]
pub struct UploadPage {
    pub chrome: Chrome,
    pub tenant_id: String,
    pub tenant_name: String,
    /// The largest package accepted, readable.
    pub max_size: String,
}

/// `GET /console/tenants/{tenantId}/import`: the upload form.
pub async fn upload_form(
    State(state): State<AppState>,
    path: TenantPath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "import");
    let response = match importing_tenant(&state, &caller, &path.tenant_id).await {
        Ok(tenant) => render(
            StatusCode::OK,
            &UploadPage {
                chrome,
                tenant_id: tenant.tenant_id.to_string(),
                tenant_name: tenant.name,
                max_size: super::export::readable_size(state.config().limits.max_upload_bytes()),
            },
        ),
        Err(error) => problem_page(chrome, &error, ("/console/tenants", "Back to the catalog")),
    };
    visit.respond(response)
}

fn wizard_href(tenant: &str, upload: &str) -> String {
    format!("/console/tenants/{tenant}/import/{upload}")
}

/// Where to go next: a redirect, or for htmx (which posts the upload to
/// show its progress) `HX-Redirect`, so the browser loads the page itself.
fn go_to(headers: &HeaderMap, href: &str) -> Response {
    if headers.contains_key("hx-request")
        && let Ok(value) = HeaderValue::from_str(href)
    {
        let mut response = StatusCode::OK.into_response();
        response.headers_mut().insert("hx-redirect", value);
        return response;
    }
    Redirect::to(href).into_response()
}

/// `POST /console/tenants/{tenantId}/uploads` (multipart: `csrf` first,
/// then `package`): keeps the bundle, scans it and runs the first dry run,
/// then shows them. The CSRF part is checked before the package is read; a
/// bundle the API would refuse is refused the same way, and not kept.
pub async fn upload(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    uri: Uri,
    path: TenantPath,
    request: Request,
) -> Response {
    let visit = Visit::new(jar, &headers, &uri);
    let read = async {
        let mut form = GuardedMultipart::new(&state, request).await?;
        let csrf = first_text(&mut form, "csrf").await?;
        Ok::<_, ApiError>((form, csrf))
    };
    let (mut form, csrf) = match read.await {
        Ok(read) => read,
        Err(error) => {
            let chrome = visit.chrome(None, "import");
            return visit.respond(problem_page(
                chrome,
                &error,
                ("/console", "Go to the console"),
            ));
        }
    };
    let visit = match visit.accept_token(csrf.as_deref()) {
        Ok(visit) => visit,
        Err(response) => return *response,
    };
    let (visit, caller) = match signed_in(&state, visit) {
        Ok(signed_in) => signed_in,
        Err(response) => return *response,
    };
    let chrome = visit.chrome(Some(&caller), "import");
    let back = format!("/console/tenants/{}/import", path.tenant_id);
    match receive(&state, &caller, &path, &mut form).await {
        Ok(upload) => {
            let href = wizard_href(&upload.tenant_id, &upload.id);
            visit.respond(go_to(&headers, &href))
        }
        Err(error) => visit.respond(problem_page(
            chrome,
            &error,
            (&back, "Upload another package"),
        )),
    }
}

/// The first part, which must be `name`, as text.
async fn first_text(form: &mut GuardedMultipart, name: &str) -> ApiResult<Option<String>> {
    let guard = &form.guard;
    let Some(field) = guard.next(&mut form.multipart).await? else {
        return Ok(None);
    };
    if field.name() != Some(name) {
        return Ok(None);
    }
    let value = guard.text(field, MAX_CSRF_BYTES, name).await?;
    Ok(Some(value))
}

/// The rest of the upload, once the form was accepted: permissions first
/// (before the package is read), a staging slot, the package, the scan,
/// the first dry run.
async fn receive(
    state: &AppState,
    caller: &Caller,
    path: &TenantPath,
    form: &mut GuardedMultipart,
) -> ApiResult<Upload> {
    let tenant = importing_tenant(state, caller, &path.tenant_id).await?;
    let slot = staging::take_slot(state, caller).await?;
    let guard = &form.guard;
    let field = guard.next(&mut form.multipart).await?;
    let Some(field) = field.filter(|f| f.name() == Some("package")) else {
        return Err(Failure::new(
            ErrorCode::InvalidRequestBody,
            "Choose the package's ZIP file to upload.",
        )
        .field("package")
        .into());
    };
    let file_name = field
        .file_name()
        .map(|n| {
            installhub_domain::ids::printable(n)
                .chars()
                .take(200)
                .collect()
        })
        .unwrap_or_default();
    let bundle = guard.package(state, field, slot.dir()).await?;
    if bundle.size == 0 {
        return Err(Failure::new(
            ErrorCode::InvalidRequestBody,
            "The file is empty: choose the package's ZIP file.",
        )
        .field("package")
        .into());
    }
    if guard.next(&mut form.multipart).await?.is_some() {
        return Err(Failure::new(
            ErrorCode::InvalidRequestBody,
            "Send the form as the page does: its CSRF token, then one package.",
        )
        .into());
    }
    // The scan, exactly as the scan route runs it; a hostile archive stops
    // here with the API's refusal and the slot (with the file) goes.
    let limit = state.config().limits.max_upload_bytes();
    let read = verify_and_scan(state, &bundle, ReadLimits::with_size_limit(limit)).await?;
    let scan = serde_json::to_value(ScanResponse::from(read)).map_err(ApiError::internal)?;
    let mut upload = Upload {
        id: slot.id.clone(),
        subject: caller.subject.clone(),
        tenant_id: tenant.tenant_id.to_string(),
        created_at: Utc::now(),
        file_name,
        size: bundle.size,
        sha256: bundle.sha256.clone(),
        scan,
        strategies: BTreeMap::new(),
        allow_security_warnings: false,
        allow_major_version_upgrade: false,
        dry_run_status: 0,
        dry_run: Value::Null,
    };
    slot.keep(bundle, &upload).await?;
    dry_run(state, caller, &mut upload).await?;
    Ok(upload)
}

/// The options the wizard imports with: the target, the chosen strategies
/// (the tenant's default for the rest), and a dry run or a pinned plan.
fn options_for(upload: &Upload, plan_id: Option<String>) -> ImportOptions {
    ImportOptions {
        target_tenant_id: Some(upload.tenant_id.clone()),
        conflict_strategies: upload.strategies.clone(),
        allow_security_warnings: upload.allow_security_warnings,
        allow_major_version_upgrade: upload.allow_major_version_upgrade,
        dry_run: Some(plan_id.is_none()),
        plan_id,
        ..ImportOptions::default()
    }
}

/// Runs the pipeline on a copy of the kept bundle, in a task of its own as
/// the API does (a browser that goes away cannot cut an import off
/// half-recorded). An internal error is the caller's; a refusal is an
/// answer.
async fn run_import(
    state: &AppState,
    caller: &Caller,
    upload: &Upload,
    plan_id: Option<String>,
) -> ApiResult<Result<import::ImportResponse, ApiError>> {
    let bundle = staging::bundle(state, upload).await?;
    let options = options_for(upload, plan_id);
    let (state, caller) = (state.clone(), caller.clone());
    let task = tokio::spawn(async move {
        let input = ImportInput {
            source: ImportSource::Upload,
            bundle,
            job: None,
        };
        import::run(&state, &caller, &options, None, input).await
    });
    let outcome = task.await.map_err(ApiError::internal)?;
    match outcome.result {
        Err(ApiError::Internal(cause)) => Err(ApiError::Internal(cause)),
        other => Ok(other),
    }
}

/// A dry run with the upload's strategies; its answer is kept with it.
async fn dry_run(state: &AppState, caller: &Caller, upload: &mut Upload) -> ApiResult<()> {
    match run_import(state, caller, upload, None).await? {
        Ok(response) => {
            upload.dry_run_status = StatusCode::OK.as_u16();
            upload.dry_run = serde_json::to_value(&response).map_err(ApiError::internal)?;
        }
        Err(error) => {
            upload.dry_run_status = status_of(&error).as_u16();
            upload.dry_run = error_body(&error);
        }
    }
    staging::save(state, upload).await
}

/// One finding of the scan.
pub struct FindingView {
    pub rule: String,
    pub severity: String,
    pub artifact: String,
    pub location: String,
    pub message: String,
}

/// One change of a replaced artifact: a JSON Patch operation.
pub struct ChangeView {
    pub op: String,
    pub path: String,
    pub value: String,
}

/// One artifact of the plan.
pub struct PlanRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub action: String,
    pub previous_version: String,
    pub version: String,
    /// Stops the import (a refused dry run's entry), with its code.
    pub error: Option<String>,
    pub changes: Vec<ChangeView>,
    /// The artifact conflicts with the tenant's: a strategy applies.
    pub conflict: bool,
    /// The strategy chosen for it, or "" for the tenant's default.
    pub strategy: String,
}

#[derive(Template)]
#[template(path = "console/import_review.html")]
pub struct ReviewPage {
    pub chrome: Chrome,
    pub tenant_id: String,
    pub upload_id: String,
    pub file_name: String,
    pub size: u64,
    pub sha256: String,
    pub package_name: String,
    pub version: String,
    pub package_id: String,
    pub verdict: String,
    pub findings: Vec<FindingView>,
    /// The plan id to pin, when the dry run passed.
    pub plan_id: Option<String>,
    /// A refused dry run: its message and each failure.
    pub refusal: Option<(String, Vec<String>)>,
    pub rows: Vec<PlanRow>,
    pub warnings: Vec<String>,
    pub strategies: &'static [&'static str],
    /// The `allowSecurityWarnings` box: shown for a `WARN` verdict (or
    /// once ticked), and whether it is.
    pub warnings_option: Option<bool>,
    /// The `allowMajorVersionUpgrade` box: shown when the dry run was
    /// refused for a major upgrade (or once ticked), and whether it is.
    pub major_option: Option<bool>,
}

impl ReviewPage {
    pub fn has_conflicts(&self) -> bool {
        self.rows.iter().any(|r| r.conflict)
    }

    /// Whether the plan form has anything to choose.
    pub fn has_choices(&self) -> bool {
        self.has_conflicts() || self.warnings_option.is_some() || self.major_option.is_some()
    }
}

fn review_page(chrome: Chrome, upload: &Upload) -> ReviewPage {
    let scan = &upload.scan;
    let findings = scan["securityFindings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| FindingView {
            rule: text(&f["ruleId"]),
            severity: text(&f["severity"]),
            artifact: text(&f["artifactId"]),
            location: text(&f["path"]),
            message: text(&f["message"]),
        })
        .collect();
    let body = &upload.dry_run;
    let passed = upload.dry_run_status == StatusCode::OK.as_u16();
    let rows = body["plannedActions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|entry| {
            let id = text(&entry["artifactId"]);
            let action = text(&entry["action"]);
            PlanRow {
                strategy: upload.strategies.get(&id).cloned().unwrap_or_default(),
                conflict: matches!(action.as_str(), "Replace" | "Skip" | "Conflict"),
                id,
                name: text(&entry["artifactName"]),
                kind: text(&entry["type"]),
                previous_version: text(&entry["previousVersion"]),
                version: text(&entry["version"]),
                error: entry["error"].as_str().map(str::to_owned),
                changes: entry["changes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|op| ChangeView {
                        op: text(&op["op"]),
                        path: text(&op["path"]),
                        value: match op.get("value") {
                            Some(v) => readable(v),
                            None => match op.get("from") {
                                Some(from) => format!("from {}", text(from)),
                                None => String::new(),
                            },
                        },
                    })
                    .collect(),
                action,
            }
        })
        .collect();
    let warnings = body["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| format!("{}: {}", text(&w["code"]), text(&w["message"])))
        .collect();
    ReviewPage {
        chrome,
        tenant_id: upload.tenant_id.clone(),
        upload_id: upload.id.clone(),
        file_name: upload.file_name.clone(),
        size: upload.size,
        sha256: upload.sha256.clone(),
        package_name: text(&scan["packageName"]),
        version: text(&scan["version"]),
        package_id: text(&scan["packageId"]),
        verdict: text(&scan["result"]),
        findings,
        plan_id: passed.then(|| text(&body["planId"])),
        refusal: (!passed).then(|| (text(&body["message"]), failure_lines(body))),
        rows,
        warnings,
        strategies: &["Replace", "Skip", "Fail"],
        warnings_option: (text(&scan["result"]) == "WARN" || upload.allow_security_warnings)
            .then_some(upload.allow_security_warnings),
        major_option: (upload.allow_major_version_upgrade
            || failure_codes(body).any(|c| c == "MajorVersionUpgradeNotAllowed"))
        .then_some(upload.allow_major_version_upgrade),
    }
}

/// The codes of an error envelope's failures.
fn failure_codes(envelope: &Value) -> impl Iterator<Item = &str> {
    envelope["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["code"].as_str())
}

/// The upload `path` names, for the signed-in caller, into a tenant they
/// may import into.
async fn own_upload(state: &AppState, caller: &Caller, path: &UploadPath) -> ApiResult<Upload> {
    importing_tenant(state, caller, &path.tenant_id).await?;
    staging::load(state, caller, &path.tenant_id, &path.upload_id.0).await
}

/// `GET /console/tenants/{tenantId}/import/{uploadId}`: the scan and the
/// plan, with the strategy and confirm forms.
pub async fn review(
    State(state): State<AppState>,
    path: UploadPath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "import");
    let response = match own_upload(&state, &caller, &path).await {
        Ok(upload) => render(StatusCode::OK, &review_page(chrome, &upload)),
        Err(error) => problem_page(chrome, &error, (&upload_again(&path), "Upload a package")),
    };
    visit.respond(response)
}

fn upload_again(path: &UploadPath) -> String {
    format!("/console/tenants/{}/import", path.tenant_id)
}

/// The plan form: `strategy-<artifactId>` = `Replace`, `Skip`, `Fail` or
/// empty (the tenant's default), and the boxes `allowSecurityWarnings` and
/// `allowMajorVersionUpgrade` (`true` when ticked).
#[derive(Debug, Deserialize)]
pub struct PlanForm {
    csrf: Option<String>,
    #[serde(flatten)]
    fields: HashMap<String, String>,
}

impl ConsoleForm for PlanForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// The most strategies one form sets (a package has at most this many
/// artifacts on any plan the console is likely to show).
const MAX_STRATEGIES: usize = 1000;

/// `POST /console/tenants/{tenantId}/import/{uploadId}/plan`: a new dry
/// run with the chosen strategies.
pub async fn plan(
    State(state): State<AppState>,
    path: UploadPath,
    SignedInForm(visit, caller, form): SignedInForm<PlanForm>,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "import");
    let result = async {
        let mut upload = own_upload(&state, &caller, &path).await?;
        upload.strategies = form
            .fields
            .iter()
            .filter_map(|(name, value)| {
                let id = name.strip_prefix("strategy-")?;
                (!value.is_empty()).then(|| (id.to_owned(), value.clone()))
            })
            .take(MAX_STRATEGIES)
            .collect();
        let ticked = |name: &str| form.fields.get(name).is_some_and(|v| v == "true");
        upload.allow_security_warnings = ticked("allowSecurityWarnings");
        upload.allow_major_version_upgrade = ticked("allowMajorVersionUpgrade");
        dry_run(&state, &caller, &mut upload).await?;
        Ok::<_, ApiError>(upload)
    }
    .await;
    match result {
        Ok(upload) => visit.respond(Redirect::to(&wizard_href(&upload.tenant_id, &upload.id))),
        Err(error) => visit.respond(problem_page(
            chrome,
            &error,
            (&upload_again(&path), "Upload a package"),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmForm {
    csrf: Option<String>,
    #[serde(default)]
    plan_id: String,
}

impl ConsoleForm for ConfirmForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// `POST /console/tenants/{tenantId}/import/{uploadId}/confirm`: the
/// import, pinned to the plan the page showed. Done, the upload goes and
/// the import's page shows what was installed; refused, the upload stays
/// and the page says why with the error's code.
pub async fn confirm(
    State(state): State<AppState>,
    path: UploadPath,
    SignedInForm(visit, caller, form): SignedInForm<ConfirmForm>,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "import");
    let review_href = wizard_href(path.tenant_id.as_str(), &path.upload_id.0);
    let result = async {
        let upload = own_upload(&state, &caller, &path).await?;
        // An empty pin would import whatever the plan is now: refused as
        // the API refuses a malformed planId.
        if form.plan_id.is_empty() {
            return Err(Failure::new(
                ErrorCode::InvalidPlanId,
                "The confirmation names no plan: review the dry run and confirm its plan.",
            )
            .field("options.planId")
            .into());
        }
        let outcome = run_import(&state, &caller, &upload, Some(form.plan_id.clone())).await?;
        if outcome.is_ok() {
            staging::remove(&state, &upload.id).await;
        }
        outcome
    }
    .await;
    match result {
        Ok(response) => visit.respond(Redirect::to(&format!(
            "/console/imports/{}",
            response.import_id
        ))),
        Err(error) => visit.respond(problem_page(
            chrome,
            &error,
            (&review_href, "Back to the review"),
        )),
    }
}

/// `POST /console/tenants/{tenantId}/import/{uploadId}/discard`: removes
/// the upload without importing it.
pub async fn discard(
    State(state): State<AppState>,
    path: UploadPath,
    SignedInForm(visit, caller, _): SignedInForm<TokenOnlyForm>,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "import");
    match own_upload(&state, &caller, &path).await {
        Ok(upload) => {
            staging::remove(&state, &upload.id).await;
            visit.respond(Redirect::to(&upload_again(&path)))
        }
        Err(error) => visit.respond(problem_page(
            chrome,
            &error,
            (&upload_again(&path), "Upload a package"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_stale_plans_differences_read_as_sentences() {
        let artifact = json!({"part": "artifact", "artifactId": "form-2005",
            "pinned": {"action": "Skip", "previousVersion": "1.0.0", "version": "1.3.0", "liveSha256": "a"},
            "now": {"action": "Replace", "previousVersion": "1.0.0", "version": "1.3.0", "liveSha256": "b"}});
        assert_eq!(
            difference_line(&artifact),
            "Artifact form-2005: the reviewed plan said Skip (1.0.0 to 1.3.0); the plan now says Replace (1.0.0 to 1.3.0); the tenant's copy changed since the review."
        );
        let added = json!({"part": "artifact", "artifactId": "x-1", "pinned": null,
            "now": {"action": "Create", "version": "1.0.0"}});
        assert_eq!(
            difference_line(&added),
            "Artifact x-1: the reviewed plan said nothing (not in the plan); the plan now says Create (none to 1.0.0)."
        );
        let options = json!({"part": "options",
            "pinned": {"conflictStrategies": {"form-2005": "Skip"}, "allowSecurityWarnings": false},
            "now": {"conflictStrategies": {}, "allowSecurityWarnings": false}});
        assert_eq!(
            difference_line(&options),
            "The options: conflictStrategies was form-2005: Skip and is now none."
        );
    }

    #[test]
    fn one_failure_shows_its_code_and_several_each_message() {
        let one = json!({"errors": [{"code": "InvalidZip", "message": "Not a ZIP."}]});
        assert_eq!(failure_lines(&one), ["Error code InvalidZip"]);
        let two = json!({"errors": [
            {"code": "A", "message": "first."},
            {"code": "B", "message": "second.", "securityFindings": [
                {"ruleId": "R1", "severity": "High", "artifactId": "p-1", "path": "/steps/0", "message": "m"}]}]});
        assert_eq!(
            failure_lines(&two),
            [
                "Error code A: first.",
                "Error code B: second.",
                "Finding R1 (High) in p-1 at /steps/0: m"
            ]
        );
    }
}
