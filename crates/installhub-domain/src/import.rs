//! The import request (seed 03, SPEC §7) and the import plan: what happens to
//! each artifact of a package in the target tenant, decided before anything
//! is written. Pure: the server reads the tenant inside its install
//! transaction, asks [`plan_import`] what to do, and writes exactly that.

pub mod admit;
pub mod changes;
pub mod pin;

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::doc::ArtifactIdText;
use crate::failure::{ErrorCode, Failure};
use crate::ids::{ArtifactId, ImportPlanId, TenantId, printable};
use crate::manifest::{Manifest, ManifestArtifact};
use crate::model::{ArtifactType, ConflictStrategy, InstalledStatus, PlannedAction};
use crate::version::Version;

/// The `options` part of an import (seed 03, SPEC §7). Fields are loose on
/// the wire so that every problem is reported together with its field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportOptions {
    /// The tenant to install into.
    #[schema(value_type = String, required = true, example = "tenant-abc123", pattern = r"^[a-z0-9-]{3,64}$")]
    pub target_tenant_id: Option<String>,
    /// What to do with an artifact the target already has with other
    /// content. Falls back to the tenant's default.
    #[schema(required = false, value_type = Option<ConflictStrategy>, example = "Replace")]
    pub default_conflict_strategy: Option<String>,
    /// Per artifact id; overrides `defaultConflictStrategy`.
    #[serde(default)]
    #[schema(value_type = BTreeMap<ArtifactIdText, ConflictStrategy>, example = json!({"form-2005": "Skip"}))]
    pub conflict_strategies: BTreeMap<String, String>,
    /// Run every check and write nothing but the import record. `?dryRun=true`
    /// on the URL turns it on as well.
    pub dry_run: Option<bool>,
    /// Allow replacing an artifact or package with a higher major version
    /// (needs `installhub:import:override-major-version`).
    #[serde(default)]
    pub allow_major_version_upgrade: bool,
    /// Install despite `WARN` scan findings (needs
    /// `installhub:import:override-security-warnings`).
    #[serde(default)]
    pub allow_security_warnings: bool,
    /// Must equal the caller's identity (token `email`, else `sub`) if sent.
    #[schema(required = false, value_type = Option<String>, example = "engineer@company.com", min_length = 1, max_length = 320, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*$")]
    pub imported_by: Option<String>,
    /// Pins the import to the plan a dry run answered: the import installs
    /// exactly that plan or nothing (`409 PlanOutdated` when the plan made
    /// now differs in any action, version or content).
    #[schema(required = false, value_type = Option<String>, example = "plan-3f1c0b8e9a7d6c5b4a3928170f6e5d4c3b2a19080706050403020100ffeeddcc", pattern = r"^plan-[0-9a-f]{64}$")]
    pub plan_id: Option<String>,
}

/// The JSON form of an import: a package already exported on this server.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImportByReference {
    #[schema(value_type = String, required = true, example = "pkg-a3f9c821-5d2e-4b7a-9c1f-0e8d6b4a2f13", pattern = r"^pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub source_package_id: Option<String>,
    #[schema(value_type = ImportOptions, required = true)]
    pub options: Option<ImportOptions>,
}

/// Import options that passed their checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidImportOptions {
    pub target_tenant_id: TenantId,
    pub default_conflict_strategy: Option<ConflictStrategy>,
    pub conflict_strategies: BTreeMap<ArtifactId, ConflictStrategy>,
    pub dry_run: bool,
    pub allow_major_version_upgrade: bool,
    pub allow_security_warnings: bool,
    pub imported_by: Option<String>,
    /// The dry run's plan the import must match.
    pub plan_id: Option<ImportPlanId>,
}

fn parse_strategy(raw: &str, field: &str, failures: &mut Vec<Failure>) -> Option<ConflictStrategy> {
    let parsed = ConflictStrategy::parse(raw);
    if parsed.is_none() {
        failures.push(
            Failure::new(
                ErrorCode::InvalidConflictStrategy,
                format!(
                    "'{}' is not a conflict strategy; use one of {}.",
                    printable(raw),
                    ConflictStrategy::expected()
                ),
            )
            .field(field),
        );
    }
    parsed
}

impl ImportOptions {
    /// Checks every option; `query_dry_run` is `?dryRun=` from the URL.
    /// Either source turning dry run on makes the import a dry run: a caller
    /// who asked for one anywhere must never get a real install.
    pub fn check(&self, query_dry_run: Option<bool>) -> Result<ValidImportOptions, Vec<Failure>> {
        let mut failures = Vec::new();
        let target = match self.target_tenant_id.as_deref() {
            None => {
                failures.push(
                    Failure::new(
                        ErrorCode::InvalidTenantId,
                        "options.targetTenantId is required: name the tenant to install into.",
                    )
                    .field("options.targetTenantId"),
                );
                None
            }
            Some(raw) => match TenantId::parse(raw) {
                Ok(id) => Some(id),
                Err(e) => {
                    failures.push(
                        Failure::new(ErrorCode::InvalidTenantId, e.0)
                            .field("options.targetTenantId"),
                    );
                    None
                }
            },
        };
        let default_conflict_strategy = self
            .default_conflict_strategy
            .as_deref()
            .and_then(|raw| parse_strategy(raw, "options.defaultConflictStrategy", &mut failures));
        let mut conflict_strategies = BTreeMap::new();
        for (id, strategy) in &self.conflict_strategies {
            let field = format!("options.conflictStrategies.{}", printable(id));
            let id = match ArtifactId::parse(id) {
                Ok(id) => Some(id),
                Err(e) => {
                    failures.push(Failure::new(ErrorCode::InvalidArtifactId, e.0).field(&field));
                    None
                }
            };
            let strategy = parse_strategy(strategy, &field, &mut failures);
            if let (Some(id), Some(strategy)) = (id, strategy) {
                conflict_strategies.insert(id, strategy);
            }
        }
        if let Some(by) = &self.imported_by
            && (by.is_empty() || by.chars().count() > 320 || by.chars().any(char::is_control))
        {
            failures.push(
                Failure::new(
                    ErrorCode::InvalidImportOptions,
                    "options.importedBy must be 1-320 printable characters.",
                )
                .field("options.importedBy"),
            );
        }
        let plan_id = self
            .plan_id
            .as_deref()
            .and_then(|raw| match ImportPlanId::parse(raw) {
                Ok(id) => Some(id),
                Err(e) => {
                    failures
                        .push(Failure::new(ErrorCode::InvalidPlanId, e.0).field("options.planId"));
                    None
                }
            });
        match target {
            Some(target_tenant_id) if failures.is_empty() => Ok(ValidImportOptions {
                target_tenant_id,
                default_conflict_strategy,
                conflict_strategies,
                dry_run: self.dry_run.unwrap_or(false) || query_dry_run.unwrap_or(false),
                allow_major_version_upgrade: self.allow_major_version_upgrade,
                allow_security_warnings: self.allow_security_warnings,
                imported_by: self.imported_by.clone(),
                plan_id,
            }),
            _ => Err(failures),
        }
    }
}

/// What the target tenant has under an artifact id the package brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingArtifact {
    pub artifact_type: ArtifactType,
    pub name: String,
    pub version: String,
    /// SHA-256 (hex) of the artifact's canonical file bytes, comparable with
    /// the manifest line's `sha256`.
    pub sha256: String,
}

/// A package the target tenant has installed (one per name, without case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledRef {
    pub package_name: String,
    pub version: String,
    /// The installed package's checksum (`sha256:…`).
    pub checksum: String,
    /// Only an `Installed` package satisfies a package dependency: a
    /// `Superseded` one no longer owns any of the tenant's artifacts.
    pub status: InstalledStatus,
    /// The name of the package whose install took its last artifact, when
    /// `Superseded`.
    pub superseded_by: Option<String>,
}

/// Everything [`plan_import`] decides from.
#[derive(Debug, Clone, Copy)]
pub struct PlanContext<'a> {
    pub manifest: &'a Manifest,
    /// The target's live artifacts (not `Deleted`) with ids in the package.
    pub existing: &'a HashMap<ArtifactId, ExistingArtifact>,
    pub installed: &'a [InstalledRef],
    pub options: &'a ValidImportOptions,
    /// The target tenant's `defaultConflictStrategy`.
    pub tenant_default: Option<ConflictStrategy>,
}

/// The decision for one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ArtifactPlan {
    #[schema(value_type = String, example = "form-2005")]
    pub artifact_id: ArtifactId,
    #[schema(example = "EmployeeForm")]
    pub artifact_name: String,
    #[serde(rename = "type")]
    pub artifact_type: ArtifactType,
    pub action: PlannedAction,
    /// The version the tenant had, when it had the artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "1.0.0")]
    pub previous_version: Option<String>,
    /// The version the package brings.
    #[schema(example = "1.3.0")]
    pub version: String,
    /// In a dry run, on `Replace` and `Conflict` entries: the JSON Patch
    /// (RFC 6902) operations that turn the tenant's live artifact into the
    /// package's, over `{name, version, status, definition, references,
    /// libraries}` (paths are RFC 6901 JSON Pointers). Empty when only
    /// what lies outside those parts differs (the type).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<crate::doc::PatchOperationDoc>>)]
    pub changes: Option<Vec<json_patch::PatchOperation>>,
    /// `true` on an entry that stops the import (only in a refused dry
    /// run's plan); `error` then names the failure.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub conflict: bool,
    /// The code of the failure this entry causes, with `conflict`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "ConflictRequiresResolution")]
    pub error: Option<ErrorCode>,
}

impl ArtifactPlan {
    /// Marks the entry as one that stops the import with `code`.
    fn refused(&mut self, code: ErrorCode) {
        self.conflict = true;
        self.error = Some(code);
    }
}

/// A conflict and how it was resolved (seed 03's `conflictReport`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConflictEntry {
    #[schema(value_type = String, example = "form-2005")]
    pub artifact_id: ArtifactId,
    #[schema(example = "EmployeeForm")]
    pub artifact_name: String,
    #[serde(rename = "type")]
    pub artifact_type: ArtifactType,
    pub resolution: ConflictStrategy,
    #[schema(example = "1.0.0")]
    pub previous_version: String,
    /// The version the tenant has after the import (the previous one when
    /// the artifact was skipped).
    #[schema(example = "1.3.0")]
    pub installed_version: String,
}

/// Something the importer should know that did not stop the import.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportWarning {
    /// `Downgrade`, `TypeChanged` or `SecurityFinding`.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub artifact_id: Option<ArtifactId>,
    /// Details such as `ruleId`, `severity`, `path`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl ImportWarning {
    pub fn new(code: &str, message: impl Into<String>, artifact_id: Option<ArtifactId>) -> Self {
        ImportWarning {
            code: code.to_owned(),
            message: message.into(),
            artifact_id,
            details: serde_json::Map::new(),
        }
    }
}

/// The whole plan, in install order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImportPlan {
    pub artifacts: Vec<ArtifactPlan>,
    pub conflicts: Vec<ConflictEntry>,
    pub warnings: Vec<ImportWarning>,
}

impl ImportPlan {
    /// Ids to write (`Create` and `Replace`), in install order.
    pub fn to_write(&self) -> impl Iterator<Item = &ArtifactId> {
        self.artifacts
            .iter()
            .filter(|a| matches!(a.action, PlannedAction::Create | PlannedAction::Replace))
            .map(|a| &a.artifact_id)
    }

    /// How many artifacts the import installs.
    pub fn installed_count(&self) -> usize {
        self.to_write().count()
    }
}

/// The two versions of a replacement, parsed: one that does not parse is
/// a failure, never "not an upgrade".
fn versions(
    from: &str,
    from_what: &str,
    to: &str,
    to_what: &str,
) -> Result<(Version, Version), Failure> {
    Ok((
        Version::parse(from, from_what)?,
        Version::parse(to, to_what)?,
    ))
}

fn same_name(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// Decides what the import does with each artifact, and collects every
/// reason it cannot go ahead: missing package dependencies, conflicts no
/// strategy resolves (or resolved with `Fail`), and major-version upgrades
/// that were not allowed. All failures come back together.
pub fn plan_import(ctx: PlanContext<'_>) -> Result<ImportPlan, Vec<Failure>> {
    let (plan, failures) = plan_import_whole(ctx);
    if failures.is_empty() {
        Ok(plan)
    } else {
        Err(failures)
    }
}

/// [`plan_import`], but the plan comes back whole even when the import
/// cannot go ahead, so a refused dry run can still show it: an artifact
/// whose conflict nothing settles is planned as `Conflict`, and every
/// entry that causes a failure is marked (`conflict`, `error`).
pub fn plan_import_whole(ctx: PlanContext<'_>) -> (ImportPlan, Vec<Failure>) {
    let manifest = ctx.manifest;
    let mut failures = Vec::new();
    let mut plan = ImportPlan::default();

    for (i, dep) in manifest.package_dependencies.iter().enumerate() {
        // The bundle reader already refused malformed ranges; stay total anyway.
        let Ok(range) = semver::VersionReq::parse(&dep.version_range) else {
            failures.push(
                Failure::new(
                    ErrorCode::MissingPackageDependency,
                    format!(
                        "Package dependency '{}' has an unreadable version range '{}'.",
                        printable(&dep.package_name),
                        printable(&dep.version_range)
                    ),
                )
                .field(format!("packageDependencies[{i}]")),
            );
            continue;
        };
        let installed = ctx
            .installed
            .iter()
            .find(|p| same_name(&p.package_name, &dep.package_name));
        let in_range = installed
            .and_then(|p| semver::Version::parse(&p.version).ok())
            .is_some_and(|v| range.matches(&v));
        let satisfied =
            in_range && installed.is_some_and(|p| p.status == InstalledStatus::Installed);
        if !satisfied {
            let message = match installed {
                // The record of a superseded package is only history: its
                // artifacts now hold another package's content.
                Some(p) if in_range => format!(
                    "The package needs '{}' {} installed in the target tenant, whose '{}' {} is {}{}: its artifacts now belong to other packages.",
                    dep.package_name,
                    dep.version_range,
                    p.package_name,
                    p.version,
                    p.status,
                    p.superseded_by
                        .as_deref()
                        .map(|by| format!(" by '{by}'"))
                        .unwrap_or_default(),
                ),
                Some(p) => format!(
                    "The package needs '{}' {} installed in the target tenant, which has version {}.",
                    dep.package_name, dep.version_range, p.version
                ),
                None => format!(
                    "The package needs '{}' {} installed in the target tenant, which does not have it.",
                    dep.package_name, dep.version_range
                ),
            };
            let mut failure = Failure::new(ErrorCode::MissingPackageDependency, message)
                .field(format!("packageDependencies[{i}]"))
                .detail("packageName", dep.package_name.clone())
                .detail("versionRange", dep.version_range.clone());
            if let Some(p) = installed {
                failure = failure
                    .detail("installedVersion", p.version.clone())
                    .detail("installedStatus", p.status.as_str());
                if let Some(by) = &p.superseded_by {
                    failure = failure.detail("supersededBy", by.clone());
                }
            }
            failures.push(failure);
        }
    }

    let allow_major = ctx.options.allow_major_version_upgrade;
    let previous = ctx
        .installed
        .iter()
        .find(|p| same_name(&p.package_name, &manifest.name));
    let major_upgrade = match previous {
        Some(previous) => match versions(
            &previous.version,
            &format!(
                "the installed package '{}'",
                printable(&previous.package_name)
            ),
            &manifest.version,
            "the package",
        ) {
            Ok((from, to)) => {
                if from.is_downgrade_to(&to) {
                    let mut warning = ImportWarning::new(
                        "Downgrade",
                        format!(
                            "Package '{}' {} is replaced by a lower version: {} → {}.",
                            printable(&manifest.name),
                            previous.version,
                            previous.version,
                            manifest.version
                        ),
                        None,
                    );
                    warning
                        .details
                        .insert("packageName".into(), manifest.name.clone().into());
                    plan.warnings.push(warning);
                }
                from.is_major_upgrade_to(&to)
            }
            Err(failure) => {
                failures.push(failure.field("package"));
                false
            }
        },
        None => false,
    };
    if let Some(previous) = previous
        && major_upgrade
        && !allow_major
    {
        failures.push(
            Failure::new(
                ErrorCode::MajorVersionUpgradeNotAllowed,
                format!(
                    "The tenant has package '{}' {} installed; installing {} is a major version upgrade. Set allowMajorVersionUpgrade (needs installhub:import:override-major-version).",
                    manifest.name, previous.version, manifest.version
                ),
            )
            .field("options.allowMajorVersionUpgrade")
            .detail("packageName", manifest.name.clone())
            .detail("installedVersion", previous.version.clone())
            .detail("version", manifest.version.clone()),
        );
    }

    // The same name and version with other content is another package
    // claiming the installed one's identity (SECURITY.md 13): only an
    // explicit Replace (the request's or the tenant's default) takes it.
    if let Some(previous) = ctx.installed.iter().find(|p| {
        same_name(&p.package_name, &manifest.name)
            && p.version == manifest.version
            && p.checksum != manifest.checksum
    }) {
        let strategy = ctx.options.default_conflict_strategy.or(ctx.tenant_default);
        if strategy == Some(ConflictStrategy::Replace) {
            plan.warnings.push(ImportWarning::new(
                "PackageReplaced",
                format!(
                    "The tenant had another '{}' {} (checksum {}); it is replaced.",
                    previous.package_name, previous.version, previous.checksum
                ),
                None,
            ));
        } else {
            failures.push(
                Failure::new(
                    ErrorCode::ConflictRequiresResolution,
                    format!(
                        "The tenant has '{}' {} installed with other content (checksum {}); set defaultConflictStrategy to Replace to replace it.",
                        previous.package_name, previous.version, previous.checksum
                    ),
                )
                .field("options.defaultConflictStrategy")
                .detail("packageName", manifest.name.clone())
                .detail("version", manifest.version.clone())
                .detail("installedChecksum", previous.checksum.clone())
                .detail("checksum", manifest.checksum.clone()),
            );
        }
    }

    let by_id: HashMap<&ArtifactId, _> = manifest.artifacts.iter().map(|a| (&a.id, a)).collect();
    for id in &manifest.install_order {
        let Some(incoming) = by_id.get(id) else {
            continue;
        };
        let mut entry = ArtifactPlan {
            artifact_id: incoming.id.clone(),
            artifact_name: incoming.name.clone(),
            artifact_type: incoming.artifact_type,
            action: PlannedAction::Create,
            previous_version: None,
            version: incoming.version.clone(),
            changes: None,
            conflict: false,
            error: None,
        };
        let Some(existing) = ctx.existing.get(id) else {
            plan.artifacts.push(entry);
            continue;
        };
        entry.previous_version = Some(existing.version.clone());
        if existing.version == incoming.version && existing.sha256 == incoming.sha256 {
            entry.action = PlannedAction::Unchanged;
            plan.artifacts.push(entry);
            continue;
        }
        let strategy = ctx
            .options
            .conflict_strategies
            .get(id)
            .copied()
            .or(ctx.options.default_conflict_strategy)
            .or(ctx.tenant_default);
        let conflict_failure = |why: String| {
            Failure::new(ErrorCode::ConflictRequiresResolution, why)
                .field(format!("artifacts.{id}"))
                .detail("artifactId", id.as_str())
                .detail("artifactName", incoming.name.clone())
                .detail("type", incoming.artifact_type.as_str())
                .detail("existingVersion", existing.version.clone())
                .detail("incomingVersion", incoming.version.clone())
        };
        let resolution = match strategy {
            None | Some(ConflictStrategy::Fail) => {
                failures.push(conflict_failure(if strategy.is_none() {
                    format!(
                        "The tenant already has {id} ({} {}) with other content; choose Replace or Skip for it in conflictStrategies or defaultConflictStrategy.",
                        existing.name, existing.version
                    )
                } else {
                    format!(
                        "The tenant already has {id} ({} {}) with other content and the strategy for it is Fail.",
                        existing.name, existing.version
                    )
                }));
                entry.action = PlannedAction::Conflict;
                entry.refused(ErrorCode::ConflictRequiresResolution);
                plan.artifacts.push(entry);
                continue;
            }
            Some(ConflictStrategy::Skip) => ConflictStrategy::Skip,
            Some(ConflictStrategy::Replace) => {
                if let Some(code) = check_replacement(
                    id,
                    existing,
                    incoming,
                    allow_major,
                    &mut failures,
                    &mut plan,
                ) {
                    entry.refused(code);
                }
                ConflictStrategy::Replace
            }
        };
        let replaced = resolution == ConflictStrategy::Replace;
        entry.action = if replaced {
            PlannedAction::Replace
        } else {
            PlannedAction::Skip
        };
        plan.conflicts.push(ConflictEntry {
            artifact_id: id.clone(),
            artifact_name: incoming.name.clone(),
            artifact_type: incoming.artifact_type,
            resolution,
            previous_version: existing.version.clone(),
            installed_version: if replaced {
                incoming.version.clone()
            } else {
                existing.version.clone()
            },
        });
        plan.artifacts.push(entry);
    }
    (plan, failures)
}

/// What replacing `existing` with `incoming` needs or should say: the
/// major-version guard (a failure unless allowed), a downgrade or a change
/// of type (warnings). Answers the code of the failure it added, if any.
fn check_replacement(
    id: &ArtifactId,
    existing: &ExistingArtifact,
    incoming: &ManifestArtifact,
    allow_major: bool,
    failures: &mut Vec<Failure>,
    plan: &mut ImportPlan,
) -> Option<ErrorCode> {
    let (from, to) = match versions(
        &existing.version,
        &format!("the tenant's {id}"),
        &incoming.version,
        &format!("the package's {id}"),
    ) {
        Ok(pair) => pair,
        Err(failure) => {
            let code = failure.code;
            failures.push(failure.detail("artifactId", id.as_str()));
            return Some(code);
        }
    };
    let mut refused = None;
    if from.is_major_upgrade_to(&to) && !allow_major {
        refused = Some(ErrorCode::MajorVersionUpgradeNotAllowed);
        failures.push(
            Failure::new(
                ErrorCode::MajorVersionUpgradeNotAllowed,
                format!(
                    "Replacing {id} {} with {} is a major version upgrade. Set allowMajorVersionUpgrade (needs installhub:import:override-major-version).",
                    existing.version, incoming.version
                ),
            )
            .field("options.allowMajorVersionUpgrade")
            .detail("artifactId", id.as_str())
            .detail("existingVersion", existing.version.clone())
            .detail("incomingVersion", incoming.version.clone()),
        );
    }
    if from.is_downgrade_to(&to) {
        plan.warnings.push(ImportWarning::new(
            "Downgrade",
            format!(
                "{id} is replaced by a lower version: {} → {}.",
                existing.version, incoming.version
            ),
            Some(id.clone()),
        ));
    }
    if existing.artifact_type != incoming.artifact_type {
        plan.warnings.push(ImportWarning::new(
            "TypeChanged",
            format!(
                "{id} was a {} and is replaced by a {}.",
                existing.artifact_type, incoming.artifact_type
            ),
            Some(id.clone()),
        ));
    }
    refused
}

#[cfg(test)]
mod tests;
