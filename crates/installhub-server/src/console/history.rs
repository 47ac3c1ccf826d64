//! The console's import history: a tenant's imports and installed
//! packages, one import's page, and the rollback and uninstall buttons with
//! their confirmations. Each calls the API route's own handler function
//! (`GET .../imports`, `GET .../installed-packages`, `GET /imports/{id}`,
//! `POST /imports/{id}/rollback`, `DELETE .../installed-packages/{name}`),
//! so the permissions, records and audit entries are the API's. The
//! confirmation pages run the same call as a dry run, which writes nothing.

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{Redirect, Response};
use installhub_domain::{Caller, ImportStatus};
use serde_json::{Value, json};

use super::import::{failure_lines, problem_page, text};
use super::pages::{SignedIn, SignedInForm};
use super::session::TokenOnlyForm;
use super::views::{Chrome, render};
use crate::controllers::imports::{
    ImportListParams, InstalledParams, get_import, installed_packages, list_imports,
};
use crate::controllers::tenants::find_tenant_for;
use crate::controllers::undo::{UndoQuery, rollback_import, uninstall_package};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ImportPath, InstalledPackagePath, QueryParams, TenantPath};
use crate::state::AppState;

const TIME: &str = "%Y-%m-%d %H:%M:%S UTC";

/// `?dryRun=` for the undo handlers.
fn undo_query(dry_run: bool) -> ApiResult<UndoQuery> {
    serde_json::from_value(json!({ "dryRun": dry_run })).map_err(ApiError::internal)
}

pub struct ImportRow {
    pub id: String,
    pub status: String,
    pub source: String,
    pub package: String,
    pub at: String,
    pub by: String,
}

pub struct InstalledRow {
    pub name: String,
    pub version: String,
    pub status: String,
    pub installed_at: String,
    pub installed_by: String,
    pub owned: u64,
    pub import_id: String,
    pub uninstall_href: Option<String>,
}

#[derive(Template)]
#[template(path = "console/history.html")]
pub struct HistoryPage {
    pub chrome: Chrome,
    pub tenant_id: String,
    pub tenant_name: String,
    pub imports: Vec<ImportRow>,
    pub next_href: Option<String>,
    pub installed: Vec<InstalledRow>,
}

fn package_label(name: Option<&str>, version: Option<&str>) -> String {
    match (name, version) {
        (Some(name), Some(version)) => format!("{name} {version}"),
        (Some(name), None) => name.to_owned(),
        _ => "(no package read)".to_owned(),
    }
}

/// `GET /console/tenants/{tenantId}/imports?before=`: the tenant's imports,
/// newest first, and its installed packages.
pub async fn history(
    State(state): State<AppState>,
    path: TenantPath,
    QueryParams(params): QueryParams<ImportListParams>,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "history");
    let result = async {
        let imports = list_imports(
            State(state.clone()),
            caller.clone(),
            path.clone(),
            QueryParams(params),
        )
        .await?
        .0;
        let status: InstalledParams =
            serde_json::from_value(json!({})).map_err(ApiError::internal)?;
        let installed = installed_packages(
            State(state.clone()),
            caller.clone(),
            path.clone(),
            QueryParams(status),
        )
        .await?
        .0;
        let tenant = find_tenant_for(&state, &caller, &path.tenant_id).await?;
        Ok::<_, ApiError>((tenant, imports, installed))
    }
    .await;
    let (tenant, imports, installed) = match result {
        Ok(found) => found,
        Err(error) => {
            let page = problem_page(chrome, &error, ("/console/tenants", "Back to the catalog"));
            return visit.respond(page);
        }
    };
    let tenant_id = tenant.tenant_id.to_string();
    let page = HistoryPage {
        chrome,
        next_href: imports
            .next_before
            .map(|before| format!("/console/tenants/{tenant_id}/imports?before={before}")),
        imports: imports
            .imports
            .into_iter()
            .map(|r| ImportRow {
                id: r.import_id.to_string(),
                status: r.status.as_str().to_owned(),
                source: r.source.as_str().to_owned(),
                package: package_label(r.package_name.as_deref(), r.version.as_deref()),
                at: r.started_at.format(TIME).to_string(),
                by: r.installed_by,
            })
            .collect(),
        installed: installed
            .installed_packages
            .into_iter()
            .map(|p| InstalledRow {
                uninstall_href: (p.status
                    != installhub_domain::model::InstalledStatus::Uninstalled)
                    .then(|| {
                        format!(
                            "/console/tenants/{tenant_id}/installed-packages/{}/uninstall",
                            urlencoding_segment(&p.package_name)
                        )
                    }),
                name: p.package_name,
                version: p.version,
                status: p.status.as_str().to_owned(),
                installed_at: p.installed_at.format(TIME).to_string(),
                installed_by: p.installed_by,
                owned: p.owned_artifact_count,
                import_id: p.import_id.to_string(),
            })
            .collect(),
        tenant_id,
        tenant_name: tenant.name,
    };
    visit.respond(render(StatusCode::OK, &page))
}

/// A package name as a path segment: names are letters, digits, spaces
/// and hyphens, so only spaces need escaping.
fn urlencoding_segment(name: &str) -> String {
    name.replace(' ', "%20")
}

#[derive(Template)]
#[template(path = "console/history_import.html")]
pub struct ImportPage {
    pub chrome: Chrome,
    pub import_id: String,
    pub tenant_id: String,
    pub status: String,
    pub source: String,
    pub package: String,
    pub started_at: String,
    pub finished_at: String,
    pub by: String,
    /// What it did, as sentences.
    pub done: Vec<String>,
    /// A failure's message and each failure with its code.
    pub refusal: Option<(String, Vec<String>)>,
    pub can_roll_back: bool,
}

fn done_lines(r: &Value) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(count) = r["artifactsInstalled"].as_u64() {
        lines.push(format!("{count} artifact(s) created or replaced."));
    }
    if let Some(order) = r["installOrder"].as_array() {
        let ids: Vec<String> = order.iter().map(text).collect();
        lines.push(format!("Install order: {}.", ids.join(", ")));
    }
    for conflict in r["conflictReport"]["conflicts"]
        .as_array()
        .into_iter()
        .flatten()
    {
        lines.push(format!(
            "{} ({}): {} from {} to {}.",
            text(&conflict["artifactId"]),
            text(&conflict["artifactName"]),
            text(&conflict["resolution"]),
            text(&conflict["previousVersion"]),
            text(&conflict["installedVersion"]),
        ));
    }
    if let Some(plan) = r["planId"].as_str() {
        lines.push(format!("Plan carried out: {plan}."));
    }
    for artifact in r["artifacts"].as_array().into_iter().flatten() {
        lines.push(format!(
            "{}: {}.",
            text(&artifact["artifactId"]),
            match artifact["action"].as_str() {
                Some("Restore") => "put back as it was",
                Some("Remove") => "removed (it did not exist before)",
                _ => "changed",
            }
        ));
    }
    for package in r["packages"].as_array().into_iter().flatten() {
        lines.push(format!(
            "Package {}: {}.",
            text(&package["packageName"]),
            match package["action"].as_str() {
                Some("Restore") => "its installed record put back as it was",
                _ => "its installed record removed",
            }
        ));
    }
    if let Some(removed) = r["removedArtifacts"].as_array() {
        let ids: Vec<String> = removed.iter().map(text).collect();
        lines.push(format!("Artifacts marked Deleted: {}.", ids.join(", ")));
    }
    lines
}

/// `GET /console/imports/{importId}`: one import, rollback or uninstall:
/// what it did or why it failed, and the rollback button.
pub async fn import_page(
    State(state): State<AppState>,
    path: ImportPath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "history");
    let record = match get_import(State(state), caller, path).await {
        Ok(record) => record.0,
        Err(error) => {
            let page = problem_page(chrome, &error, ("/console/tenants", "Back to the catalog"));
            return visit.respond(page);
        }
    };
    let failed = record.status == ImportStatus::Failed;
    let page = ImportPage {
        chrome,
        import_id: record.import_id.to_string(),
        tenant_id: record.tenant_id.to_string(),
        status: record.status.as_str().to_owned(),
        source: record.source.as_str().to_owned(),
        package: package_label(record.package_name.as_deref(), record.version.as_deref()),
        started_at: record.started_at.format(TIME).to_string(),
        finished_at: record
            .finished_at
            .map(|t| t.format(TIME).to_string())
            .unwrap_or_default(),
        by: record.installed_by.clone(),
        done: if failed {
            Vec::new()
        } else {
            done_lines(&record.result)
        },
        refusal: failed.then(|| {
            (
                text(&record.result["message"]),
                failure_lines(&record.result),
            )
        }),
        can_roll_back: record.status == ImportStatus::Success,
    };
    visit.respond(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "console/history_confirm.html")]
pub struct ConfirmPage {
    pub chrome: Chrome,
    pub heading: String,
    pub intro: String,
    pub lines: Vec<String>,
    pub action: String,
    pub button: String,
    pub cancel_href: String,
}

async fn rollback_call(
    state: &AppState,
    caller: &Caller,
    path: &ImportPath,
    dry_run: bool,
) -> ApiResult<crate::controllers::undo::RollbackResponse> {
    let query = undo_query(dry_run)?;
    Ok(rollback_import(
        State(state.clone()),
        caller.clone(),
        path.clone(),
        QueryParams(query),
    )
    .await?
    .0)
}

/// `GET /console/imports/{importId}/rollback`: what the rollback would
/// undo (the API's dry run), and the button that does it.
pub async fn rollback_form(
    State(state): State<AppState>,
    path: ImportPath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "history");
    let back = format!("/console/imports/{}", path.import_id);
    let response = match rollback_call(&state, &caller, &path, true).await {
        Ok(plan) => {
            let value = serde_json::to_value(&plan).unwrap_or_default();
            let mut lines = done_lines(&value);
            if plan.ownership_restored > 0 {
                lines.push(format!(
                    "{} artifact(s) get their previous owning package back.",
                    plan.ownership_restored
                ));
            }
            render(
                StatusCode::OK,
                &ConfirmPage {
                    chrome,
                    heading: format!("Roll back import {}?", path.import_id),
                    intro: "The rollback puts the tenant back as it was before this import, in one step. It is recorded, and can itself be rolled back. It will:".to_owned(),
                    lines,
                    action: format!("/console/imports/{}/rollback", path.import_id),
                    button: "Roll back".to_owned(),
                    cancel_href: back,
                },
            )
        }
        Err(error) => problem_page(chrome, &error, (&back, "Back to the import")),
    };
    visit.respond(response)
}

/// `POST /console/imports/{importId}/rollback`: the rollback; its own
/// record's page shows what it did.
pub async fn rollback(
    State(state): State<AppState>,
    path: ImportPath,
    SignedInForm(visit, caller, _): SignedInForm<TokenOnlyForm>,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "history");
    match rollback_call(&state, &caller, &path, false).await {
        Ok(done) => {
            let id = done
                .import_id
                .map_or_else(|| path.import_id.to_string(), |id| id.to_string());
            visit.respond(Redirect::to(&format!("/console/imports/{id}")))
        }
        Err(error) => {
            let back = format!("/console/imports/{}", path.import_id);
            visit.respond(problem_page(chrome, &error, (&back, "Back to the import")))
        }
    }
}

async fn uninstall_call(
    state: &AppState,
    caller: &Caller,
    path: &InstalledPackagePath,
    dry_run: bool,
) -> ApiResult<crate::controllers::undo::UninstallResponse> {
    let query = undo_query(dry_run)?;
    Ok(uninstall_package(
        State(state.clone()),
        caller.clone(),
        path.clone(),
        QueryParams(query),
    )
    .await?
    .0)
}

/// `GET /console/tenants/{tenantId}/installed-packages/{packageName}/uninstall`:
/// what the uninstall would remove (the API's dry run), and its button.
pub async fn uninstall_form(
    State(state): State<AppState>,
    path: InstalledPackagePath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "history");
    let back = format!("/console/tenants/{}/imports", path.tenant_id);
    let response = match uninstall_call(&state, &caller, &path, true).await {
        Ok(plan) => {
            let mut lines = Vec::new();
            if !plan.removed_artifacts.is_empty() {
                lines.push(format!(
                    "Mark these artifacts Deleted: {}.",
                    plan.removed_artifacts.join(", ")
                ));
            }
            if !plan.already_deleted_artifacts.is_empty() {
                lines.push(format!(
                    "Drop its ownership of these artifacts, Deleted already: {}.",
                    plan.already_deleted_artifacts.join(", ")
                ));
            }
            lines.push(format!(
                "Mark package {} {} Uninstalled.",
                plan.package_name, plan.version
            ));
            render(
                StatusCode::OK,
                &ConfirmPage {
                    chrome,
                    heading: format!("Uninstall {}?", plan.package_name),
                    intro: "The uninstall removes the package with its artifacts, in one step. It is recorded, and can be rolled back from its import page. It will:".to_owned(),
                    lines,
                    action: format!(
                        "/console/tenants/{}/installed-packages/{}/uninstall",
                        path.tenant_id,
                        urlencoding_segment(&path.package_name.0)
                    ),
                    button: "Uninstall".to_owned(),
                    cancel_href: back,
                },
            )
        }
        Err(error) => problem_page(chrome, &error, (&back, "Back to the history")),
    };
    visit.respond(response)
}

/// `POST .../installed-packages/{packageName}/uninstall`: the uninstall;
/// its record's page shows what it did.
pub async fn uninstall(
    State(state): State<AppState>,
    path: InstalledPackagePath,
    SignedInForm(visit, caller, _): SignedInForm<TokenOnlyForm>,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "history");
    let back = format!("/console/tenants/{}/imports", path.tenant_id);
    match uninstall_call(&state, &caller, &path, false).await {
        Ok(done) => {
            let href = done
                .import_id
                .map_or(back, |id| format!("/console/imports/{id}"));
            visit.respond(Redirect::to(&href))
        }
        Err(error) => visit.respond(problem_page(chrome, &error, (&back, "Back to the history"))),
    }
}

#[derive(Template)]
#[template(path = "console/history_tenants.html")]
pub struct ChooseTenantPage {
    pub chrome: Chrome,
    pub heading: &'static str,
    /// Where each leads, the tenant's name and id.
    pub tenants: Vec<(String, String, String)>,
}

/// `GET /console/import` and `GET /console/history`: the tenants the token
/// may see, each leading to its import form or its history.
pub async fn choose_tenant(
    State(state): State<AppState>,
    uri: Uri,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let importing = uri.path() == "/console/import";
    let (section, heading, page) = if importing {
        ("import", "Import a package into…", "import")
    } else {
        ("history", "Import history of…", "imports")
    };
    let chrome = visit.chrome(Some(&caller), section);
    let response = match crate::controllers::tenants::visible_tenants(&state, &caller).await {
        Ok(tenants) => render(
            StatusCode::OK,
            &ChooseTenantPage {
                chrome,
                heading,
                tenants: tenants
                    .into_iter()
                    .map(|t| {
                        (
                            format!("/console/tenants/{}/{page}", t.tenant_id),
                            t.name,
                            t.tenant_id.to_string(),
                        )
                    })
                    .collect(),
            },
        ),
        Err(error) => problem_page(chrome, &error, ("/console", "Go to the console")),
    };
    visit.respond(response)
}
