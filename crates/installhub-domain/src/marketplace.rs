//! The marketplace, also called the PublicHub (SPEC §8, seed 04): listings,
//! their versions, trust levels, and the statement each version's
//! signature covers. Pure rules; the store keeps listings and the server
//! signs and serves them.
//!
//! A listing is one package name (compared without case) across its
//! published versions, like a crate on crates.io. Its id (`mkt-pkg-` and a
//! UUID) is the `packageId` of the marketplace paths; it is not the id of
//! the exported package a version was published from.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::failure::{ErrorCode, Failure};
use crate::ids::{InvalidId, PackageId, printable};
use crate::text::{forbidden_char, forbidden_char_message};
use crate::version::Version;

crate::model::wire_enum!(
    /// How far the marketplace vouches for a listing. New listings start
    /// `Community`; an admin (`marketplace:admin`) raises or lowers it.
    TrustLevel {
        Official => "Official",
        Verified => "Verified",
        Community => "Community",
    }
);

/// A listing: `mkt-pkg-` followed by a UUID v4.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ListingId(String);

impl ListingId {
    pub const PREFIX: &'static str = "mkt-pkg-";

    /// A fresh random listing id.
    pub fn random() -> Self {
        Self(format!("{}{}", Self::PREFIX, uuid::Uuid::new_v4()))
    }

    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        if is_prefixed_uuid(value, Self::PREFIX) {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidId(format!(
                "'{}' is not a valid marketplace package id: expected '{}' followed by a UUID",
                printable(value),
                Self::PREFIX
            )))
        }
    }

    /// For values read back from the store, which only holds valid ids.
    pub fn from_trusted(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `prefix` and a UUID in lower-case hex with its dashes.
fn is_prefixed_uuid(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|uuid| {
        uuid.len() == 36
            && uuid::Uuid::try_parse(uuid).is_ok()
            && !uuid.contains(char::is_uppercase)
    })
}

/// A marketplace install: `mkt-install-` followed by a UUID v4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallId(String);

impl InstallId {
    pub const PREFIX: &'static str = "mkt-install-";

    /// A fresh random install id.
    pub fn random() -> Self {
        Self(format!("{}{}", Self::PREFIX, uuid::Uuid::new_v4()))
    }

    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        if is_prefixed_uuid(value, Self::PREFIX) {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidId(format!(
                "No marketplace install '{}' exists.",
                printable(value)
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ListingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Most characters of a listing's summary.
pub const MAX_SUMMARY_CHARS: usize = 500;
/// Most characters of a publisher's name.
pub const MAX_PUBLISHER_CHARS: usize = 100;
/// Most categories of a listing.
pub const MAX_CATEGORIES: usize = 8;
/// Most characters of a category.
pub const MAX_CATEGORY_CHARS: usize = 32;
/// Most characters of a yank's or a delisting's reason.
pub const MAX_REASON_CHARS: usize = 500;

/// `POST /api/marketplace/packages`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishBody {
    /// The exported package to publish (`pkg-` and a UUID), in a tenant the
    /// caller may export from.
    #[schema(value_type = String, required = true, example = "pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13", pattern = r"^pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub source_package_id: Option<String>,
    /// What the package does, in a sentence or two: not blank, at most 500
    /// characters, no control characters.
    #[schema(value_type = String, required = true, max_length = 500, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$", example = "Onboarding workflows, forms and rules for HR teams.")]
    pub summary: Option<String>,
    /// Who publishes it, as users should see it: not blank, at most 100
    /// characters, no control characters.
    #[schema(value_type = String, required = true, max_length = 100, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$", example = "Acme HR Platform Team")]
    pub publisher: Option<String>,
    /// Up to 8 categories, each 1-32 lower-case letters, digits and `-`,
    /// starting with a letter or digit (one listed twice counts once). They
    /// replace the listing's.
    #[schema(required = false, value_type = Option<Vec<crate::doc::Category>>, max_items = 8, example = json!(["hr", "onboarding"]))]
    pub categories: Option<Vec<String>>,
}

/// A publish request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    pub source_package_id: PackageId,
    pub summary: String,
    pub publisher: String,
    pub categories: Vec<String>,
}

impl PublishBody {
    /// Every problem with the body at once.
    pub fn validate(self) -> Result<PublishRequest, Vec<Failure>> {
        let mut failures = Vec::new();
        let source_package_id = match self.source_package_id.as_deref().map(PackageId::parse) {
            None => {
                failures.push(
                    Failure::new(ErrorCode::InvalidPackageId, "sourcePackageId is required.")
                        .field("sourcePackageId"),
                );
                None
            }
            Some(Err(e)) => {
                failures
                    .push(Failure::new(ErrorCode::InvalidPackageId, e.0).field("sourcePackageId"));
                None
            }
            Some(Ok(id)) => Some(id),
        };
        let summary = check_text(
            self.summary.as_deref(),
            "summary",
            MAX_SUMMARY_CHARS,
            ErrorCode::InvalidSummary,
            &mut failures,
        );
        let publisher = check_text(
            self.publisher.as_deref(),
            "publisher",
            MAX_PUBLISHER_CHARS,
            ErrorCode::InvalidPublisher,
            &mut failures,
        );
        let categories = check_categories(self.categories.unwrap_or_default(), &mut failures);
        match (source_package_id, summary, publisher) {
            (Some(source_package_id), Some(summary), Some(publisher)) if failures.is_empty() => {
                Ok(PublishRequest {
                    source_package_id,
                    summary,
                    publisher,
                    categories,
                })
            }
            _ => Err(failures),
        }
    }
}

/// A required free-text field: trimmed, not blank, at most `max`
/// characters, no control or bidirectional characters.
pub fn check_text(
    value: Option<&str>,
    field: &str,
    max: usize,
    code: ErrorCode,
    failures: &mut Vec<Failure>,
) -> Option<String> {
    let problem = match value.map(str::trim) {
        None => Some(format!("{field} is required.")),
        Some("") => Some(format!("{field} must not be blank.")),
        Some(v) if v.chars().count() > max => {
            Some(format!("{field} is longer than {max} characters."))
        }
        Some(v) => forbidden_char(v).map(|c| forbidden_char_message(field, c)),
    };
    match problem {
        Some(message) => {
            failures.push(Failure::new(code, message).field(field));
            None
        }
        None => value.map(|v| v.trim().to_owned()),
    }
}

fn check_categories(mut categories: Vec<String>, failures: &mut Vec<Failure>) -> Vec<String> {
    let before = failures.len();
    if categories.len() > MAX_CATEGORIES {
        failures.push(
            Failure::new(
                ErrorCode::InvalidCategories,
                format!("A listing may have at most {MAX_CATEGORIES} categories."),
            )
            .field("categories"),
        );
    }
    for (i, category) in categories.iter().enumerate() {
        if !is_category(category) {
            failures.push(
                Failure::new(
                    ErrorCode::InvalidCategories,
                    format!(
                        "Category '{}' is not valid: use 1-{MAX_CATEGORY_CHARS} lower-case letters, digits and '-', starting with a letter or digit.",
                        printable(category)
                    ),
                )
                .field(format!("categories[{i}]")),
            );
        }
    }
    if failures.len() > before {
        return Vec::new();
    }
    // A category listed twice counts once, in the order first given.
    let mut seen = std::collections::BTreeSet::new();
    categories.retain(|c| seen.insert(c.clone()));
    categories
}

/// 1-32 lower-case letters, digits and `-`, starting with a letter or digit.
pub fn is_category(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_CATEGORY_CHARS
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// `PUT /api/marketplace/packages/{packageId}/trust-level`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustLevelBody {
    #[schema(value_type = TrustLevel, required = true, example = "Verified")]
    pub trust_level: Option<String>,
}

impl TrustLevelBody {
    pub fn validate(self) -> Result<TrustLevel, Failure> {
        let value = self.trust_level;
        value.as_deref().and_then(TrustLevel::parse).ok_or_else(|| {
            let message = match value {
                None => format!("trustLevel is required: one of {}.", TrustLevel::expected()),
                Some(v) => format!(
                    "trustLevel '{}' is not valid: use one of {}.",
                    printable(&v),
                    TrustLevel::expected()
                ),
            };
            Failure::new(ErrorCode::InvalidTrustLevel, message).field("trustLevel")
        })
    }
}

/// The body of a yank, a deprecation or a delisting: why, for the users
/// who meet it.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReasonBody {
    /// Not blank, at most 500 characters, no control characters.
    #[schema(value_type = String, required = true, max_length = 500, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$", example = "Breaks approvals on tenants without the budget rule; use 2.1.1.")]
    pub reason: Option<String>,
}

impl ReasonBody {
    pub fn validate(self) -> Result<String, Failure> {
        let mut failures = Vec::new();
        check_text(
            self.reason.as_deref(),
            "reason",
            MAX_REASON_CHARS,
            ErrorCode::InvalidReason,
            &mut failures,
        )
        .ok_or_else(|| failures.remove(0))
    }
}

/// What a version's Ed25519 signature covers: everything an installer
/// relies on, so no published field can be changed without breaking it.
///
/// The signed bytes are this struct as compact JSON: fields in the
/// alphabetical order declared here, no spaces, `publishedAt` in RFC 3339
/// UTC with microseconds. A verifier rebuilds them from the version's
/// fields (or checks the bytes it was given against them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionStatement {
    /// Lower-case hex SHA-256 of the bundle ZIP, as the CDN addresses it.
    pub bundle_sha256: String,
    pub bundle_size: u64,
    pub key_id: String,
    pub listing_id: String,
    /// The manifest's `checksum` (`sha256:<hex>`).
    pub manifest_checksum: String,
    pub name: String,
    pub published_at: String,
    /// What kind of statement this is, and its layout's version.
    pub statement: &'static str,
    pub version: String,
}

impl VersionStatement {
    pub const KIND: &'static str = "installhub.publichub.version/v1";

    #[allow(clippy::too_many_arguments)]
    pub fn new(
        listing_id: &ListingId,
        name: &str,
        version: &str,
        manifest_checksum: &str,
        bundle_sha256: &str,
        bundle_size: u64,
        published_at: DateTime<Utc>,
        key_id: &str,
    ) -> Self {
        Self {
            bundle_sha256: bundle_sha256.to_owned(),
            bundle_size,
            key_id: key_id.to_owned(),
            listing_id: listing_id.as_str().to_owned(),
            manifest_checksum: manifest_checksum.to_owned(),
            name: name.to_owned(),
            published_at: published_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            statement: Self::KIND,
            version: version.to_owned(),
        }
    }

    /// The bytes that are signed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a statement of strings and numbers serializes")
    }
}

/// The version "latest" means: the highest SemVer version that is not
/// yanked; pre-releases only when nothing else is left (npm's rule).
/// `versions` gives each version and whether it is yanked; versions that
/// are not SemVer never win.
pub fn latest_version<'a>(versions: impl IntoIterator<Item = (&'a str, bool)>) -> Option<&'a str> {
    let candidates: Vec<(Version, &str)> = versions
        .into_iter()
        .filter(|(_, yanked)| !yanked)
        .filter_map(|(raw, _)| Version::parse(raw, "a listing").ok().map(|v| (v, raw)))
        .collect();
    let releases = candidates.iter().filter(|(v, _)| !v.is_prerelease());
    releases
        .max_by(|a, b| a.0.cmp(&b.0))
        .or_else(|| candidates.iter().max_by(|a, b| a.0.cmp(&b.0)))
        .map(|(_, raw)| *raw)
}

crate::model::wire_enum!(
    /// Where a marketplace install is. `Queued` until a worker
    /// claims it; `Failed` installs name the stage they failed in.
    /// `Installing` begins once the package's manifest was read: the
    /// artifacts are then scanned and written in one pass, and a scan
    /// refusal there rolls the writes back.
    InstallStage {
        Queued => "Queued",
        Downloading => "Downloading",
        Verifying => "Verifying",
        SecurityScan => "SecurityScan",
        Installing => "Installing",
    }
);

crate::model::wire_enum!(
    /// How a marketplace install stands.
    InstallStatus {
        InProgress => "InProgress",
        Success => "Success",
        Failed => "Failed",
    }
);

/// The seed's sentence for a Community install without the acknowledgment.
pub const ACKNOWLEDGMENT_MESSAGE: &str =
    "This is a Community package. Set 'acknowledgeCommunityPackage': true to confirm.";

/// `POST /api/marketplace/packages/{packageId}/install`: the install
/// request, with the import's options.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstallBody {
    /// The version to install, exactly as published (a yanked version
    /// installs when named); omitted: the latest version not yanked.
    #[schema(required = false, example = "3.0.0", max_length = 128)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[schema(value_type = String, required = true, example = "tenant-abc123", pattern = r"^[a-z0-9-]{3,64}$")]
    pub target_tenant_id: Option<String>,
    #[schema(required = false, value_type = Option<crate::ConflictStrategy>, example = "Skip")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_conflict_strategy: Option<String>,
    /// Per artifact id; overrides `defaultConflictStrategy`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schema(value_type = std::collections::BTreeMap<crate::doc::ArtifactIdText, crate::ConflictStrategy>)]
    pub conflict_strategies: std::collections::BTreeMap<String, String>,
    /// Run every stage and install nothing; the result lists the planned
    /// actions.
    #[serde(default)]
    pub dry_run: bool,
    /// Required (`true`) for a `Community` listing.
    #[serde(default)]
    pub acknowledge_community_package: bool,
    /// As for an import (needs `installhub:import:override-major-version`).
    #[serde(default)]
    pub allow_major_version_upgrade: bool,
    /// As for an import (needs `installhub:import:override-security-warnings`).
    #[serde(default)]
    pub allow_security_warnings: bool,
}

impl InstallBody {
    /// The import options the install runs the import pipeline with.
    pub fn import_options(&self) -> crate::ImportOptions {
        crate::ImportOptions {
            target_tenant_id: self.target_tenant_id.clone(),
            default_conflict_strategy: self.default_conflict_strategy.clone(),
            conflict_strategies: self.conflict_strategies.clone(),
            dry_run: Some(self.dry_run),
            allow_major_version_upgrade: self.allow_major_version_upgrade,
            allow_security_warnings: self.allow_security_warnings,
            imported_by: None,
            // A marketplace install is not pinned to a dry run's plan.
            plan_id: None,
        }
    }
}

/// Which version an install gets: the one named (yanked or not), else the
/// latest not yanked. `versions` gives each published version and whether
/// it is yanked.
pub fn resolve_install_version<'a>(
    requested: Option<&str>,
    versions: &[(&'a str, bool)],
) -> Result<&'a str, Failure> {
    match requested {
        Some(wanted) => versions
            .iter()
            .find(|(v, _)| *v == wanted)
            .map(|(v, _)| *v)
            .ok_or_else(|| {
                Failure::new(
                    ErrorCode::VersionNotFound,
                    format!("No version '{}' is published.", printable(wanted)),
                )
                .field("version")
                .detail("version", printable(wanted))
            }),
        None => latest_version(versions.iter().copied()).ok_or_else(|| {
            Failure::new(
                ErrorCode::VersionNotFound,
                "Every version is yanked; name one to install it anyway.",
            )
            .field("version")
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(id: &str, summary: &str, publisher: &str, categories: &[&str]) -> PublishBody {
        PublishBody {
            source_package_id: Some(id.to_owned()),
            summary: Some(summary.to_owned()),
            publisher: Some(publisher.to_owned()),
            categories: Some(categories.iter().map(|c| (*c).to_owned()).collect()),
        }
    }

    const PKG: &str = "pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13";

    #[test]
    fn a_good_publish_body_is_trimmed() {
        let request = body(
            PKG,
            "  Onboarding for HR. ",
            "Acme",
            &["hr", "on-boarding-2"],
        )
        .validate()
        .unwrap();
        assert_eq!(request.summary, "Onboarding for HR.");
        assert_eq!(request.categories, ["hr", "on-boarding-2"]);
    }

    #[test]
    fn every_problem_of_a_publish_body_is_named() {
        let failures = body("pkg-nope", " ", "A\u{202E}cme", &["HR", "hr", "hr", "-x"])
            .validate()
            .unwrap_err();
        let fields: Vec<_> = failures.iter().map(|f| f.field.clone().unwrap()).collect();
        assert_eq!(
            fields,
            [
                "sourcePackageId",
                "summary",
                "publisher",
                "categories[0]",
                "categories[3]"
            ]
        );
        let twice = body(PKG, "s", "p", &["hr", "x", "hr"]).validate().unwrap();
        assert_eq!(twice.categories, ["hr", "x"]);
        let codes: Vec<_> = failures.iter().map(|f| f.code).collect();
        assert_eq!(
            codes[..3],
            [
                ErrorCode::InvalidPackageId,
                ErrorCode::InvalidSummary,
                ErrorCode::InvalidPublisher
            ]
        );
        assert!(
            failures[3..]
                .iter()
                .all(|f| f.code == ErrorCode::InvalidCategories)
        );
        let too_many: Vec<String> = (0..9).map(|i| format!("c{i}")).collect();
        let refs: Vec<&str> = too_many.iter().map(String::as_str).collect();
        let failures = body(PKG, "s", "p", &refs).validate().unwrap_err();
        assert_eq!(failures[0].field.as_deref(), Some("categories"));
        assert!(PublishBody::default().validate().unwrap_err().len() == 3);
    }

    #[test]
    fn listing_ids() {
        let id = ListingId::random();
        assert_eq!(ListingId::parse(id.as_str()).unwrap(), id);
        for bad in [
            "mkt-pkg-",
            "pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13",
            "mkt-pkg-A3F9C821-5D2E-4B7A-9C1F-0E8D6B4A2F13",
            "mkt-pkg-a3f9c821x5d2e-4b7a-9c1f-0e8d6b4a2f13",
        ] {
            assert!(ListingId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_statement_is_compact_sorted_json() {
        let id = ListingId::parse("mkt-pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-05-25T10:31:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let statement = VersionStatement::new(
            &id,
            "HR \"Core\"",
            "1.0.0",
            "sha256:ab",
            "cd",
            42,
            at,
            "ed25519-1",
        );
        let text = String::from_utf8(statement.canonical_bytes()).unwrap();
        assert_eq!(
            text,
            r#"{"bundleSha256":"cd","bundleSize":42,"keyId":"ed25519-1","listingId":"mkt-pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13","manifestChecksum":"sha256:ab","name":"HR \"Core\"","publishedAt":"2026-05-25T10:31:00.123456Z","statement":"installhub.publichub.version/v1","version":"1.0.0"}"#
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn latest_skips_yanked_and_prefers_releases() {
        assert_eq!(
            latest_version([("1.0.0", false), ("1.10.0", false), ("1.9.0", false)]),
            Some("1.10.0")
        );
        assert_eq!(
            latest_version([("1.0.0", false), ("2.0.0", true)]),
            Some("1.0.0")
        );
        assert_eq!(
            latest_version([("1.0.0", false), ("2.0.0-rc.1", false)]),
            Some("1.0.0")
        );
        assert_eq!(
            latest_version([("1.0.0", true), ("2.0.0-rc.1", false)]),
            Some("2.0.0-rc.1")
        );
        assert_eq!(latest_version([("1.0.0", true)]), None);
    }

    #[test]
    fn install_versions_resolve_like_pypi() {
        let versions = [("1.0.0", false), ("1.1.0", true)];
        assert_eq!(resolve_install_version(None, &versions).unwrap(), "1.0.0");
        assert_eq!(
            resolve_install_version(Some("1.1.0"), &versions).unwrap(),
            "1.1.0"
        );
        assert_eq!(
            resolve_install_version(Some("2.0.0"), &versions)
                .unwrap_err()
                .code,
            ErrorCode::VersionNotFound
        );
        assert_eq!(
            resolve_install_version(None, &[("1.0.0", true)])
                .unwrap_err()
                .code,
            ErrorCode::VersionNotFound
        );
    }

    #[test]
    fn trust_levels_and_reasons() {
        assert_eq!(
            TrustLevelBody {
                trust_level: Some("Verified".into())
            }
            .validate()
            .unwrap(),
            TrustLevel::Verified
        );
        assert_eq!(
            TrustLevelBody {
                trust_level: Some("verified".into())
            }
            .validate()
            .unwrap_err()
            .code,
            ErrorCode::InvalidTrustLevel
        );
        assert_eq!(
            TrustLevelBody::default().validate().unwrap_err().code,
            ErrorCode::InvalidTrustLevel
        );
        assert_eq!(
            ReasonBody {
                reason: Some(" broken ".into())
            }
            .validate()
            .unwrap(),
            "broken"
        );
        assert_eq!(
            ReasonBody {
                reason: Some("x".repeat(501))
            }
            .validate()
            .unwrap_err()
            .code,
            ErrorCode::InvalidReason
        );
    }
}
