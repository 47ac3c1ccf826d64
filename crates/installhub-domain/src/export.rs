//! The export and preview requests (seed 01) and their request-level checks
//! (seed 02, step 1). Each check adds a [`Failure`]; none stops the others.

use std::collections::HashSet;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::doc::{ArtifactIdText, PackageDependencyRequest, Tag};
use crate::failure::{ErrorCode, Failure};
use crate::ids::{ArtifactId, TenantId, printable};
use crate::manifest::PackageDependency;
use crate::model::PackageType;
use crate::text::{forbidden_char, forbidden_char_message};

/// At most this many root artifact ids per export (seed 02).
pub const MAX_ROOT_ARTIFACTS: usize = 50;
pub const MAX_PACKAGE_NAME_CHARS: usize = 100;
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_AUTHOR_CHARS: usize = 200;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_PACKAGE_DEPENDENCIES: usize = 50;
/// At most this many `artifactIds` entries, duplicates included: room for
/// careless repetition, while a list of 100,000 ids is refused before any
/// id is parsed (SECURITY.md 26).
pub const MAX_ARTIFACT_ID_ENTRIES: usize = 20 * MAX_ROOT_ARTIFACTS;

/// `POST /api/installhub/packages/export`. The fields are `Option`s so that a
/// missing one is reported with its seed error code, together with every
/// other problem, rather than as a parse error; the document still lists
/// them as required.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExportRequest {
    /// The source tenant. The `X-Tenant-Id` header may stand in for it;
    /// sent in both places, the two must be equal.
    #[schema(value_type = String, required = true, example = "tenant-7f3a9b12", pattern = r"^[a-z0-9-]{3,64}$")]
    pub tenant_id: Option<String>,
    /// 1-100 letters, digits, spaces and hyphens, with a letter or digit
    /// and no surrounding space.
    #[schema(value_type = String, required = true, example = "Employee Onboarding Suite", max_length = 100, pattern = r"^-*[A-Za-z0-9]([A-Za-z0-9 -]*[A-Za-z0-9-])?$")]
    pub package_name: Option<String>,
    #[schema(value_type = PackageType, required = true, example = "workflow-package")]
    pub package_type: Option<String>,
    /// SemVer 2.0.0, e.g. `2.1.0`.
    #[schema(value_type = String, required = true, example = "2.1.0", max_length = 128, pattern = r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")]
    pub version: Option<String>,
    /// At most 2000 characters; no control characters but newline and tab.
    #[schema(required = false, value_type = Option<String>, example = "Complete onboarding workflow", max_length = 2000, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$")]
    pub description: Option<String>,
    /// At most 200 characters; no control characters but newline and tab.
    #[schema(required = false, value_type = Option<String>, example = "HR Automation Team", max_length = 200, pattern = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$")]
    pub author: Option<String>,
    /// At most 20 tags of 1-50 characters, no control characters, no
    /// surrounding space.
    #[serde(default)]
    #[schema(value_type = Vec<Tag>, example = json!(["hr", "onboarding"]), max_items = 20)]
    pub tags: Vec<String>,
    /// 1-50 distinct root artifact ids; their dependencies are added
    /// automatically.
    #[schema(value_type = Vec<ArtifactIdText>, required = true, example = json!(["proc-1001"]), min_items = 1, max_items = 50)]
    pub artifact_ids: Option<Vec<String>>,
    /// Packages the target tenant must already have installed.
    #[serde(default)]
    #[schema(value_type = Vec<PackageDependencyRequest>, max_items = 50)]
    pub package_dependencies: Vec<PackageDependency>,
}

/// `POST /api/installhub/packages/preview`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewRequest {
    /// The source tenant. The `X-Tenant-Id` header may stand in for it;
    /// sent in both places, the two must be equal.
    #[schema(value_type = String, required = true, example = "tenant-7f3a9b12", pattern = r"^[a-z0-9-]{3,64}$")]
    pub tenant_id: Option<String>,
    /// 1-50 distinct root artifact ids.
    #[schema(value_type = Vec<ArtifactIdText>, required = true, example = json!(["proc-1001"]), min_items = 1, max_items = 50)]
    pub artifact_ids: Option<Vec<String>>,
}

/// An export request whose fields all passed their checks.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidExport {
    pub tenant_id: TenantId,
    pub package_name: String,
    pub package_type: PackageType,
    pub version: semver::Version,
    pub description: Option<String>,
    pub author: Option<String>,
    pub tags: Vec<String>,
    /// Distinct roots in request order.
    pub roots: Vec<ArtifactId>,
    pub package_dependencies: Vec<PackageDependency>,
}

/// The result of the request-level checks: whatever parsed, and every
/// failure. Later steps use the parsed parts even when others failed, so all
/// problems come back at once.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub tenant_id: Option<TenantId>,
    pub package_name: Option<String>,
    pub package_type: Option<PackageType>,
    pub version: Option<semver::Version>,
    pub roots: Vec<ArtifactId>,
    pub failures: Vec<Failure>,
}

/// Picks the tenant from the body or the `X-Tenant-Id` header (SPEC §5).
pub fn check_tenant(
    body: Option<&str>,
    header: Option<&str>,
    failures: &mut Vec<Failure>,
) -> Option<TenantId> {
    let raw = match (body, header) {
        (Some(b), Some(h)) if b != h => {
            failures.push(
                Failure::new(
                    ErrorCode::TenantIdConflict,
                    format!(
                        "The body's tenantId '{}' differs from the X-Tenant-Id header '{}'. Send one, or the same value in both.",
                        printable(b),
                        printable(h)
                    ),
                )
                .field("tenantId"),
            );
            return None;
        }
        (Some(b), _) => b,
        (None, Some(h)) => h,
        (None, None) => {
            failures.push(
                Failure::new(
                    ErrorCode::InvalidTenantId,
                    "tenantId is required: send it in the body or in the X-Tenant-Id header.",
                )
                .field("tenantId"),
            );
            return None;
        }
    };
    match TenantId::parse(raw) {
        Ok(id) => Some(id),
        Err(e) => {
            failures.push(Failure::new(ErrorCode::InvalidTenantId, e.0).field("tenantId"));
            None
        }
    }
}

/// Checks the root artifact ids: at least one, at most 50 distinct, each a
/// valid id. Duplicates collapse (SPEC §5). A list longer than
/// [`MAX_ARTIFACT_ID_ENTRIES`] is refused whole, and the rest is linear.
pub fn check_artifact_ids(ids: Option<&[String]>, failures: &mut Vec<Failure>) -> Vec<ArtifactId> {
    let ids = ids.unwrap_or_default();
    if ids.is_empty() {
        failures.push(
            Failure::new(
                ErrorCode::ArtifactIdsMissing,
                "artifactIds must list at least one artifact id.",
            )
            .field("artifactIds"),
        );
        return Vec::new();
    }
    if ids.len() > MAX_ARTIFACT_ID_ENTRIES {
        failures.push(
            Failure::new(
                ErrorCode::TooManyRootArtifacts,
                format!(
                    "artifactIds has {} entries; at most {MAX_ARTIFACT_ID_ENTRIES} entries and {MAX_ROOT_ARTIFACTS} distinct roots are allowed per export (dependencies are added automatically).",
                    ids.len()
                ),
            )
            .field("artifactIds")
            .detail("maxRootArtifacts", MAX_ROOT_ARTIFACTS)
            .detail("maxEntries", MAX_ARTIFACT_ID_ENTRIES),
        );
        return Vec::new();
    }
    let mut roots: Vec<ArtifactId> = Vec::with_capacity(ids.len().min(MAX_ROOT_ARTIFACTS + 1));
    let mut seen: HashSet<&str> = HashSet::with_capacity(ids.len());
    for (i, raw) in ids.iter().enumerate() {
        if !seen.insert(raw.as_str()) {
            continue;
        }
        match ArtifactId::parse(raw) {
            Ok(id) => roots.push(id),
            Err(e) => failures.push(
                Failure::new(ErrorCode::InvalidArtifactId, e.0)
                    .field(format!("artifactIds[{i}]"))
                    .detail("artifactId", raw.as_str()),
            ),
        }
    }
    if roots.len() > MAX_ROOT_ARTIFACTS {
        failures.push(
            Failure::new(
                ErrorCode::TooManyRootArtifacts,
                format!(
                    "artifactIds lists {} distinct artifacts; at most {MAX_ROOT_ARTIFACTS} roots are allowed per export (dependencies are added automatically).",
                    roots.len()
                ),
            )
            .field("artifactIds")
            .detail("maxRootArtifacts", MAX_ROOT_ARTIFACTS),
        );
    }
    roots
}

/// Checks a package name: 1-100 characters, letters, digits, spaces and
/// hyphens, at least one letter or digit, no leading or trailing space.
pub fn check_package_name(name: Option<&str>, failures: &mut Vec<Failure>) -> Option<String> {
    let problem = match name {
        None => Some("packageName is required.".to_owned()),
        Some("") => Some("packageName must not be empty.".to_owned()),
        Some(n) if n.chars().count() > MAX_PACKAGE_NAME_CHARS => Some(format!(
            "packageName is {} characters long; at most {MAX_PACKAGE_NAME_CHARS} are allowed.",
            n.chars().count()
        )),
        Some(n)
            if !n
                .chars()
                .all(|c| c.is_alphanumeric() || c == ' ' || c == '-') =>
        {
            Some(format!(
                "packageName '{}' contains characters other than letters, digits, spaces and hyphens.",
                printable(n)
            ))
        }
        Some(n) if !n.chars().any(char::is_alphanumeric) => {
            Some("packageName must contain at least one letter or digit.".to_owned())
        }
        Some(n) if n.starts_with(' ') || n.ends_with(' ') => {
            Some("packageName must not start or end with a space.".to_owned())
        }
        Some(_) => None,
    };
    match problem {
        Some(message) => {
            failures
                .push(Failure::new(ErrorCode::InvalidPackageName, message).field("packageName"));
            None
        }
        None => name.map(str::to_owned),
    }
}

/// Parses a SemVer 2.0.0 version (`v2.1`, `2.1` and `01.2.3` are refused).
pub fn check_version(
    version: Option<&str>,
    field: &str,
    failures: &mut Vec<Failure>,
) -> Option<semver::Version> {
    let message = match version {
        None => format!("{field} is required. Expected format: major.minor.patch (e.g., 2.1.0)"),
        Some(v) if v.len() > 128 => format!("{field} is longer than 128 characters."),
        Some(v) => match semver::Version::parse(v) {
            Ok(parsed) => return Some(parsed),
            Err(_) => format!(
                "Version '{}' is not valid SemVer. Expected format: major.minor.patch (e.g., 2.1.0)",
                printable(v)
            ),
        },
    };
    failures.push(Failure::new(ErrorCode::InvalidVersion, message).field(field));
    None
}

fn check_package_type(value: Option<&str>, failures: &mut Vec<Failure>) -> Option<PackageType> {
    let parsed = value.and_then(PackageType::parse);
    if parsed.is_none() {
        let message = match value {
            None => format!(
                "packageType is required: one of {}.",
                PackageType::expected()
            ),
            Some(v) => format!(
                "packageType '{}' is not valid: use one of {}.",
                printable(v),
                PackageType::expected()
            ),
        };
        failures.push(Failure::new(ErrorCode::InvalidPackageType, message).field("packageType"));
    }
    parsed
}

/// A free-text field: at most `max` characters, none of them forbidden
/// ([`forbidden_char`]).
pub(crate) fn check_text(
    value: Option<&str>,
    field: &str,
    max: usize,
    code: ErrorCode,
    failures: &mut Vec<Failure>,
) {
    if let Some(v) = value {
        let len = v.chars().count();
        if len > max {
            failures.push(
                Failure::new(
                    code,
                    format!("{field} is {len} characters long; at most {max} are allowed."),
                )
                .field(field),
            );
        } else if let Some(c) = forbidden_char(v) {
            failures.push(Failure::new(code, forbidden_char_message(field, c)).field(field));
        }
    }
}

pub(crate) fn check_tags(tags: &[String], failures: &mut Vec<Failure>) {
    if tags.len() > MAX_TAGS {
        failures.push(
            Failure::new(
                ErrorCode::InvalidTags,
                format!(
                    "tags lists {} tags; at most {MAX_TAGS} are allowed.",
                    tags.len()
                ),
            )
            .field("tags"),
        );
        // Too many to be worth checking one by one: the count says it all.
        return;
    }
    for (i, tag) in tags.iter().enumerate() {
        let len = tag.chars().count();
        if len == 0 || len > MAX_TAG_CHARS || forbidden_char(tag).is_some() || tag.trim() != tag {
            failures.push(
                Failure::new(
                    ErrorCode::InvalidTags,
                    format!(
                        "Tag '{}' is not valid: use 1-{MAX_TAG_CHARS} characters with no control characters and no surrounding spaces.",
                        printable(tag)
                    ),
                )
                .field(format!("tags[{i}]")),
            );
        }
    }
}

/// Checks `packageDependencies`: a valid package name and a Cargo-style
/// version requirement each.
pub fn check_package_dependencies(deps: &[PackageDependency], failures: &mut Vec<Failure>) {
    if deps.len() > MAX_PACKAGE_DEPENDENCIES {
        failures.push(
            Failure::new(
                ErrorCode::InvalidPackageDependency,
                format!(
                    "packageDependencies lists {} packages; at most {MAX_PACKAGE_DEPENDENCIES} are allowed.",
                    deps.len()
                ),
            )
            .field("packageDependencies"),
        );
        return;
    }
    for (i, dep) in deps.iter().enumerate() {
        let mut name_failures = Vec::new();
        if check_package_name(Some(&dep.package_name), &mut name_failures).is_none() {
            for f in name_failures {
                failures.push(
                    Failure::new(ErrorCode::InvalidPackageDependency, f.message)
                        .field(format!("packageDependencies[{i}].packageName")),
                );
            }
        }
        if dep.version_range.len() > 256 || semver::VersionReq::parse(&dep.version_range).is_err() {
            failures.push(
                Failure::new(
                    ErrorCode::InvalidPackageDependency,
                    format!(
                        "versionRange '{}' is not a valid version requirement (e.g. '^1.2' or '>=1.0.0, <2.0.0').",
                        printable(&dep.version_range)
                    ),
                )
                .field(format!("packageDependencies[{i}].versionRange")),
            );
        }
    }
}

impl ExportRequest {
    /// Runs every request-level check (seed 02, step 1).
    pub fn check(&self, header_tenant: Option<&str>) -> Checked {
        let mut failures = Vec::new();
        let package_name = check_package_name(self.package_name.as_deref(), &mut failures);
        let package_type = check_package_type(self.package_type.as_deref(), &mut failures);
        let version = check_version(self.version.as_deref(), "version", &mut failures);
        let roots = check_artifact_ids(self.artifact_ids.as_deref(), &mut failures);
        let tenant_id = check_tenant(self.tenant_id.as_deref(), header_tenant, &mut failures);
        check_text(
            self.description.as_deref(),
            "description",
            MAX_DESCRIPTION_CHARS,
            ErrorCode::InvalidDescription,
            &mut failures,
        );
        check_text(
            self.author.as_deref(),
            "author",
            MAX_AUTHOR_CHARS,
            ErrorCode::InvalidAuthor,
            &mut failures,
        );
        check_tags(&self.tags, &mut failures);
        check_package_dependencies(&self.package_dependencies, &mut failures);
        Checked {
            tenant_id,
            package_name,
            package_type,
            version,
            roots,
            failures,
        }
    }

    /// Combines the parsed parts once every check has passed.
    pub fn into_valid(self, checked: Checked) -> Option<ValidExport> {
        if !checked.failures.is_empty() {
            return None;
        }
        Some(ValidExport {
            tenant_id: checked.tenant_id?,
            package_name: checked.package_name?,
            package_type: checked.package_type?,
            version: checked.version?,
            description: self.description,
            author: self.author,
            tags: self.tags,
            roots: checked.roots,
            package_dependencies: self.package_dependencies,
        })
    }
}

impl PreviewRequest {
    /// The preview's request-level checks: tenant and artifact ids.
    pub fn check(&self, header_tenant: Option<&str>) -> Checked {
        let mut failures = Vec::new();
        let roots = check_artifact_ids(self.artifact_ids.as_deref(), &mut failures);
        let tenant_id = check_tenant(self.tenant_id.as_deref(), header_tenant, &mut failures);
        Checked {
            tenant_id,
            roots,
            failures,
            ..Checked::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_request() -> ExportRequest {
        ExportRequest {
            tenant_id: Some("tenant-7f3a9b12".into()),
            package_name: Some("Employee Onboarding Suite".into()),
            package_type: Some("workflow-package".into()),
            version: Some("2.1.0".into()),
            description: Some("Complete onboarding workflow".into()),
            author: Some("HR Automation Team".into()),
            tags: vec!["hr".into(), "onboarding".into()],
            artifact_ids: Some(vec!["proc-1001".into()]),
            package_dependencies: vec![],
        }
    }

    fn codes(c: &Checked) -> Vec<(ErrorCode, Option<&str>)> {
        c.failures
            .iter()
            .map(|f| (f.code, f.field.as_deref()))
            .collect()
    }

    #[test]
    fn seed_request_is_valid() {
        let req = seed_request();
        let checked = req.check(None);
        assert!(checked.failures.is_empty(), "{:?}", checked.failures);
        let valid = req.into_valid(checked).unwrap();
        assert_eq!(valid.version, semver::Version::new(2, 1, 0));
        assert_eq!(valid.package_type, PackageType::Workflow);
    }

    #[test]
    fn every_request_failure_is_reported_at_once() {
        let req = ExportRequest {
            tenant_id: Some("Tenant_X".into()),
            package_name: Some("Bad/Name!".into()),
            package_type: Some("workflow".into()),
            version: Some("v2.1".into()),
            artifact_ids: Some(vec![]),
            ..ExportRequest::default()
        };
        let checked = req.check(None);
        assert_eq!(
            codes(&checked),
            vec![
                (ErrorCode::InvalidPackageName, Some("packageName")),
                (ErrorCode::InvalidPackageType, Some("packageType")),
                (ErrorCode::InvalidVersion, Some("version")),
                (ErrorCode::ArtifactIdsMissing, Some("artifactIds")),
                (ErrorCode::InvalidTenantId, Some("tenantId")),
            ]
        );
        assert_eq!(
            checked.failures[2].message,
            "Version 'v2.1' is not valid SemVer. Expected format: major.minor.patch (e.g., 2.1.0)"
        );
    }

    #[test]
    fn missing_fields_get_their_seed_codes() {
        let checked = ExportRequest::default().check(None);
        let got: Vec<ErrorCode> = checked.failures.iter().map(|f| f.code).collect();
        assert_eq!(
            got,
            vec![
                ErrorCode::InvalidPackageName,
                ErrorCode::InvalidPackageType,
                ErrorCode::InvalidVersion,
                ErrorCode::ArtifactIdsMissing,
                ErrorCode::InvalidTenantId,
            ]
        );
    }

    #[test]
    fn versions() {
        for good in ["2.1.0", "1.0.0-rc.1", "1.0.0+build.5", "0.0.1-alpha.1+x"] {
            assert!(
                check_version(Some(good), "version", &mut vec![]).is_some(),
                "{good}"
            );
        }
        for bad in ["v2.1", "2.1", "01.2.3", "2.1.0.0", "", " 2.1.0", "1.0.0-"] {
            assert!(
                check_version(Some(bad), "version", &mut vec![]).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn package_names() {
        for good in [
            "Employee Onboarding Suite",
            "a",
            "HR-Core 2",
            "Intégration RH",
            &"x".repeat(100),
        ] {
            assert!(
                check_package_name(Some(good), &mut vec![]).is_some(),
                "{good}"
            );
        }
        for bad in [
            "",
            "---",
            "   ",
            "a_b",
            "a/b",
            "a.b",
            " lead",
            "trail ",
            &"x".repeat(101),
            "tab\tname",
        ] {
            assert!(
                check_package_name(Some(bad), &mut vec![]).is_none(),
                "{bad}"
            );
        }
    }

    #[test]
    fn artifact_ids_collapse_and_are_capped() {
        let mut failures = vec![];
        let ids: Vec<String> = vec!["a".into(), "b".into(), "a".into()];
        assert_eq!(check_artifact_ids(Some(&ids), &mut failures).len(), 2);
        assert!(failures.is_empty());

        let many: Vec<String> = (0..51).map(|i| format!("a{i}")).collect();
        check_artifact_ids(Some(&many), &mut failures);
        assert_eq!(failures[0].code, ErrorCode::TooManyRootArtifacts);

        // 60 entries that collapse to 50 are fine.
        let mut fifty: Vec<String> = (0..50).map(|i| format!("a{i}")).collect();
        fifty.extend((0..10).map(|i| format!("a{i}")));
        let mut failures = vec![];
        assert_eq!(check_artifact_ids(Some(&fifty), &mut failures).len(), 50);
        assert!(failures.is_empty());

        let mut failures = vec![];
        check_artifact_ids(Some(&["ok".into(), "../bad".into()]), &mut failures);
        assert_eq!(failures[0].code, ErrorCode::InvalidArtifactId);
        assert_eq!(failures[0].field.as_deref(), Some("artifactIds[1]"));

        // A huge list is refused by its length alone.
        let mut failures = vec![];
        let huge: Vec<String> = (0..100_000).map(|i| format!("a{i}")).collect();
        assert!(check_artifact_ids(Some(&huge), &mut failures).is_empty());
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].code, ErrorCode::TooManyRootArtifacts);
    }

    #[test]
    fn tenant_from_header_or_body() {
        let mut f = vec![];
        assert!(check_tenant(None, Some("tenant-abc"), &mut f).is_some());
        assert!(check_tenant(Some("tenant-abc"), Some("tenant-abc"), &mut f).is_some());
        assert!(f.is_empty());
        assert!(check_tenant(Some("tenant-abc"), Some("tenant-xyz"), &mut f).is_none());
        assert_eq!(f[0].code, ErrorCode::TenantIdConflict);
    }

    #[test]
    fn descriptive_fields_and_dependencies() {
        let req = ExportRequest {
            description: Some("d".repeat(2001)),
            author: Some("a\u{0}".into()),
            tags: vec!["ok".into(), "".into()],
            package_dependencies: vec![PackageDependency {
                package_name: "HR Core".into(),
                version_range: "not a range".into(),
            }],
            ..seed_request()
        };
        let got: Vec<_> = req
            .check(None)
            .failures
            .into_iter()
            .map(|f| (f.code, f.field.unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                (ErrorCode::InvalidDescription, "description".into()),
                (ErrorCode::InvalidAuthor, "author".into()),
                (ErrorCode::InvalidTags, "tags[1]".into()),
                (
                    ErrorCode::InvalidPackageDependency,
                    "packageDependencies[0].versionRange".into()
                ),
            ]
        );
    }
}
