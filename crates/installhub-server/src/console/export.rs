//! The console's export form and package page. The form posts to the same
//! [`run_export`] as `POST /api/installhub/packages/export` (its checks,
//! rate limits and audit entries); the package page and its download read
//! through [`readable_package`] as the API's package routes do.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Redirect, Response};
use installhub_domain::{ExportRequest, Failure, PackageDependency, PackageType, Scope};
use installhub_store::PackageRecord;
use serde::Deserialize;

use super::pages::{SignedIn, SignedInForm};
use super::session::{ConsoleForm, Visit};
use super::views::{
    ExportPage, FieldState, ManifestRow, PackagePage, api_error_page, render, status_of,
};
use crate::controllers::packages::download::download_package;
use crate::controllers::packages::export::run_export;
use crate::controllers::packages::readable_package;
use crate::controllers::tenants::find_tenant_for;
use crate::error::ApiError;
use crate::extract::{PackagePath, QueryParams, TenantPath, require_scope};
use crate::state::AppState;

/// The most characters of roots read from a `roots=` link (50 ids of up
/// to 128 characters, as the preview page reads them).
const MAX_ROOTS_CHARS: usize = 50 * 130;

/// The form's inputs, named as the API's request fields. Lists are typed
/// as text: tags separated by commas, artifact ids by spaces or commas,
/// package dependencies one a line as `name @ version range`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportForm {
    csrf: Option<String>,
    #[serde(default)]
    package_name: String,
    #[serde(default)]
    package_type: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    author: String,
    #[serde(default)]
    tags: String,
    #[serde(default)]
    artifact_ids: String,
    #[serde(default)]
    package_dependencies: String,
}

impl ConsoleForm for ExportForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// What separates a dependency's package name from its version range on a
/// line of the form. Package names cannot contain it (letters, digits,
/// spaces and hyphens only), so the split is never ambiguous.
const DEPENDENCY_SEPARATOR: char = '@';

impl ExportForm {
    /// The API's request for these inputs: empty required fields are sent
    /// as missing (so the API says "is required"), empty optional ones are
    /// left out, lists are split. Nothing is checked here: the API's checks
    /// run on the result.
    fn request(&self, tenant_id: &str) -> ExportRequest {
        let required = |v: &str| Some(v.to_owned()).filter(|v| !v.is_empty());
        let optional = |v: &str| Some(v.to_owned()).filter(|v| !v.trim().is_empty());
        let ids = split_ids(&self.artifact_ids);
        ExportRequest {
            tenant_id: Some(tenant_id.to_owned()),
            package_name: required(&self.package_name),
            package_type: required(&self.package_type),
            version: required(&self.version),
            description: optional(&self.description),
            author: optional(&self.author),
            tags: if self.tags.trim().is_empty() {
                Vec::new()
            } else {
                self.tags.split(',').map(|t| t.trim().to_owned()).collect()
            },
            artifact_ids: Some(ids).filter(|ids| !ids.is_empty()),
            package_dependencies: self
                .package_dependencies
                .lines()
                .filter(|line| !line.trim().is_empty())
                .map(|line| {
                    let (name, range) = line.split_once(DEPENDENCY_SEPARATOR).unwrap_or((line, ""));
                    PackageDependency {
                        package_name: name.trim().to_owned(),
                        version_range: range.trim().to_owned(),
                    }
                })
                .collect(),
        }
    }
}

/// Artifact ids separated by spaces or commas.
fn split_ids(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The input a failure belongs to: its field up to the first `[` or `.`
/// (`artifactIds[2]` is the artifact ids input), or, for a failure about
/// one artifact of the graph (it names no field), the artifact ids input.
fn input_of(failure: &Failure) -> Option<&'static str> {
    if let Some(field) = &failure.field {
        let top = field.split(['[', '.']).next().unwrap_or_default();
        return INPUTS.iter().copied().find(|input| *input == top);
    }
    failure
        .details
        .contains_key("artifactId")
        .then_some("artifactIds")
}

/// The form's inputs, by the API's field names.
const INPUTS: [&str; 8] = [
    "packageName",
    "packageType",
    "version",
    "description",
    "author",
    "tags",
    "artifactIds",
    "packageDependencies",
];

impl ExportPage {
    fn new(
        visit: &Visit,
        caller: &installhub_domain::Caller,
        tenant: installhub_domain::Tenant,
        form: &ExportForm,
    ) -> Self {
        let field = |id: &'static str, value: &str| FieldState::new(id, value.to_owned());
        Self {
            chrome: visit.chrome(Some(caller), "catalog"),
            tenant_id: tenant.tenant_id.to_string(),
            tenant_name: tenant.name,
            types: PackageType::ALL
                .iter()
                .map(|t| (t.as_str(), t.as_str() == form.package_type))
                .collect(),
            package_name: field("packageName", &form.package_name),
            package_type: field("packageType", &form.package_type),
            version: field("version", &form.version),
            description: field("description", &form.description),
            author: field("author", &form.author),
            tags: field("tags", &form.tags),
            artifact_ids: field("artifactIds", &form.artifact_ids),
            package_dependencies: field("packageDependencies", &form.package_dependencies),
            summary: Vec::new(),
        }
    }

    /// Puts every failure in the summary (linked to its input when it has
    /// one) and beside its input.
    fn show_failures(&mut self, failures: &[Failure]) {
        for failure in failures {
            let input = input_of(failure);
            self.summary
                .push((input.map(|i| format!("#{i}")), failure.message.clone()));
            let Some(input) = input else { continue };
            let state = match input {
                "packageName" => &mut self.package_name,
                "packageType" => &mut self.package_type,
                "version" => &mut self.version,
                "description" => &mut self.description,
                "author" => &mut self.author,
                "tags" => &mut self.tags,
                "artifactIds" => &mut self.artifact_ids,
                _ => &mut self.package_dependencies,
            };
            state.errors.push(failure.message.clone());
        }
    }
}

/// The tenant when the caller may export from it: the export scope and the
/// tenant's access, checked by the API's own functions.
async fn exporting_tenant(
    state: &AppState,
    caller: &installhub_domain::Caller,
    path: &TenantPath,
) -> Result<installhub_domain::Tenant, ApiError> {
    require_scope(caller, Scope::Export)?;
    find_tenant_for(state, caller, &path.tenant_id).await
}

/// `GET /console/tenants/{tenantId}/export?roots=`: the export form.
pub async fn export_form(
    State(state): State<AppState>,
    path: TenantPath,
    QueryParams(query): QueryParams<Vec<(String, String)>>,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let tenant = match exporting_tenant(&state, &caller, &path).await {
        Ok(tenant) => tenant,
        Err(error) => {
            let chrome = visit.chrome(Some(&caller), "catalog");
            return visit.respond(api_error_page(chrome, error));
        }
    };
    let roots: String = super::pages::roots_of(&query)
        .chars()
        .take(MAX_ROOTS_CHARS)
        .collect();
    let form = ExportForm {
        artifact_ids: split_ids(&roots).join(" "),
        ..ExportForm::default()
    };
    let page = ExportPage::new(&visit, &caller, tenant, &form);
    visit.respond(render(StatusCode::OK, &page))
}

/// `POST /console/tenants/{tenantId}/export`: the export, run as the API
/// runs it. Validation failures (400, 409) show the form again with each
/// failure at its input; a refusal (401, 403, 429) is the API's, as a page;
/// a created package is shown on its page (303).
pub async fn export(
    State(state): State<AppState>,
    path: TenantPath,
    SignedInForm(visit, caller, form): SignedInForm<ExportForm>,
) -> Response {
    let request = form.request(path.tenant_id.as_str());
    let error = match run_export(&state, &caller, request, None).await {
        Ok(package) => {
            return visit.respond(Redirect::to(&format!(
                "/console/packages/{}",
                package.package_id
            )));
        }
        Err(error) => error,
    };
    let status = status_of(&error);
    if !matches!(status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) {
        let chrome = visit.chrome(Some(&caller), "catalog");
        return visit.respond(api_error_page(chrome, error));
    }
    // The form is shown again for a tenant that exists; for one that does
    // not, the export's own answer (400 InvalidTenantId) is the page.
    let Ok(tenant) = exporting_tenant(&state, &caller, &path).await else {
        let chrome = visit.chrome(Some(&caller), "catalog");
        return visit.respond(api_error_page(chrome, error));
    };
    let mut page = ExportPage::new(&visit, &caller, tenant, &form);
    page.show_failures(error.as_failures());
    visit.respond(render(status, &page))
}

/// `GET /console/packages/{packageId}`: a package's facts and manifest,
/// read as `GET /api/installhub/packages/{packageId}` reads them.
pub async fn package(
    State(state): State<AppState>,
    path: PackagePath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let chrome = visit.chrome(Some(&caller), "catalog");
    let package = match readable_package(&state, &caller, &path.package_id).await {
        Ok(package) => package,
        Err(error) => return visit.respond(api_error_page(chrome, error)),
    };
    let page = package_page(chrome, package);
    visit.respond(render(StatusCode::OK, &page))
}

fn package_page(chrome: super::views::Chrome, p: PackageRecord) -> PackagePage {
    let manifest = p.manifest;
    let rows: Vec<ManifestRow> = manifest
        .install_order
        .iter()
        .filter_map(|id| manifest.artifacts.iter().find(|a| a.id == *id))
        .map(|a| ManifestRow {
            id: a.id.to_string(),
            name: a.name.clone(),
            kind: a.artifact_type.as_str().to_owned(),
            version: a.version.clone(),
            depends_on: a
                .depends_on
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        })
        .collect();
    PackagePage {
        chrome,
        download_href: format!("/console/packages/{}/download", p.package_id),
        package_id: p.package_id.to_string(),
        tenant_id: p.tenant_id.to_string(),
        name: p.package_name,
        kind: p.package_type.as_str().to_owned(),
        version: p.version,
        description: p.description.unwrap_or_default(),
        author: p.author.unwrap_or_default(),
        tags: p.tags.join(", "),
        checksum: p.checksum,
        size: p.bundle_size,
        size_readable: readable_size(p.bundle_size),
        exported_at: p.exported_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        exported_by: p.exported_by,
        artifact_count: p.artifact_count,
        rows,
        dependencies: manifest
            .package_dependencies
            .iter()
            .map(|d| (d.package_name.clone(), d.version_range.clone()))
            .collect(),
    }
}

/// `1536` as "1.5 KiB".
pub(super) fn readable_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    // Display only: the exact byte count is shown beside it.
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `GET /console/packages/{packageId}/download`: the package's ZIP for the
/// signed-in caller, served by the same code as the API's download (which
/// wants a bearer token a browser link cannot send).
pub async fn download(
    State(state): State<AppState>,
    headers: HeaderMap,
    path: PackagePath,
    SignedIn(visit, caller): SignedIn,
) -> Response {
    let served = match readable_package(&state, &caller, &path.package_id).await {
        Ok(package) => download_package(&state, &package, &headers).await,
        Err(error) => Err(error),
    };
    match served {
        Ok(response) => visit.respond(response),
        Err(error) => {
            let chrome = visit.chrome(Some(&caller), "catalog");
            visit.respond(api_error_page(chrome, error))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_apis_request() {
        let form = ExportForm {
            package_name: "HR Suite".into(),
            package_type: "workflow-package".into(),
            version: "1.2.0".into(),
            description: "  ".into(),
            tags: "hr, onboarding".into(),
            artifact_ids: "proc-1, form-2,,  proc-1".into(),
            package_dependencies: "HR Core @ ^1.2\n\nBroken".into(),
            ..ExportForm::default()
        };
        let request = form.request("tenant-a");
        assert_eq!(request.tenant_id.as_deref(), Some("tenant-a"));
        assert_eq!(request.version.as_deref(), Some("1.2.0"));
        assert_eq!(request.description, None);
        assert_eq!(request.author, None);
        assert_eq!(request.tags, ["hr", "onboarding"]);
        assert_eq!(
            request.artifact_ids.unwrap(),
            ["proc-1", "form-2", "proc-1"]
        );
        assert_eq!(request.package_dependencies.len(), 2);
        assert_eq!(request.package_dependencies[0].package_name, "HR Core");
        assert_eq!(request.package_dependencies[0].version_range, "^1.2");
        assert_eq!(request.package_dependencies[1].version_range, "");
        let empty = ExportForm::default().request("tenant-a");
        assert_eq!(empty.package_name, None);
        assert_eq!(empty.artifact_ids, None);
        assert!(empty.tags.is_empty());
    }

    #[test]
    fn failures_find_their_inputs() {
        let at = |field: &str| {
            input_of(&Failure::new(installhub_domain::ErrorCode::InvalidTags, "x").field(field))
        };
        assert_eq!(at("tags[3]"), Some("tags"));
        assert_eq!(
            at("packageDependencies[0].versionRange"),
            Some("packageDependencies")
        );
        assert_eq!(at("artifactIds"), Some("artifactIds"));
        assert_eq!(at("tenantId"), None);
        let graph = Failure::new(installhub_domain::ErrorCode::ArtifactNotFound, "x")
            .detail("artifactId", "proc-1");
        assert_eq!(input_of(&graph), Some("artifactIds"));
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(readable_size(10), "10 bytes");
        assert_eq!(readable_size(1536), "1.5 KiB");
        assert_eq!(readable_size(3 * 1024 * 1024), "3.0 MiB");
    }
}
