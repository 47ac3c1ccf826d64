//! Admission: whether an import may go on, decided at each step from what
//! is known by then, before anything is written. Pure: the server gathers
//! the facts (the caller, the options, the target tenant, the package's
//! size, its manifest, the scan's verdict) and asks here; the marketplace's
//! installs ask the same questions through the same functions.
//!
//! The steps, in the order the pipeline meets them:
//! 1. [`admit_request`]: permissions and options, every failure together;
//! 2. [`admit_target`]: the target tenant exists and is `Active`;
//! 3. [`admit_package_size`]: the package fits the tenant's plan;
//! 4. [`admit_artifact_count`], then [`admit_scan`] once the package was read
//!    and scanned.

use chrono::{DateTime, Utc};

use crate::caller::{Caller, Scope};
use crate::failure::{ErrorCode, Failure, missing_scope, tenant_denied};
use crate::ids::{ImportId, PackageId, TenantId, printable};
use crate::import::{ImportOptions, ValidImportOptions};
use crate::model::{ImportSource, Tenant, TenantStatus, Verdict};

/// What one plan accepts (SPEC §7's plan limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    /// Largest package, in bytes of the uploaded ZIP and of its inflated
    /// content. "MB" in the product pages is read as MiB.
    pub max_package_bytes: u64,
    pub max_artifacts: usize,
}

/// One import from the moment it is received to its record: who asked,
/// how the package came, and what is known of the package so far. The
/// pipeline carries this one value; a failure at any step is recorded from
/// it without reading anything back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportAttempt {
    pub import_id: ImportId,
    /// The identity the import is recorded under (the token's email or sub).
    pub actor: String,
    pub source: ImportSource,
    pub started_at: DateTime<Utc>,
    /// Known once the bundle's manifest was read.
    pub package: Option<PackageSummary>,
    /// The SHA-256 of the bundle's bytes, once received.
    pub bundle_sha256: Option<String>,
}

/// The package an import installs, as its manifest names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSummary {
    pub package_id: PackageId,
    pub name: String,
    pub version: String,
}

impl ImportAttempt {
    pub fn new(actor: impl Into<String>, source: ImportSource, started_at: DateTime<Utc>) -> Self {
        ImportAttempt {
            import_id: ImportId::random(),
            actor: actor.into(),
            source,
            started_at,
            package: None,
            bundle_sha256: None,
        }
    }
}

/// Step 1: every permission and option check, all failures together.
/// `query_dry_run` is `?dryRun=` from the URL.
pub fn admit_request(
    caller: &Caller,
    options: &ImportOptions,
    query_dry_run: Option<bool>,
) -> Result<ValidImportOptions, Vec<Failure>> {
    let mut failures = Vec::new();
    if !caller.has_scope(Scope::Import) {
        failures.push(missing_scope(Scope::Import));
    }
    if options.allow_major_version_upgrade && !caller.has_scope(Scope::ImportOverrideMajorVersion) {
        failures.push(
            missing_scope(Scope::ImportOverrideMajorVersion)
                .field("options.allowMajorVersionUpgrade"),
        );
    }
    if options.allow_security_warnings && !caller.has_scope(Scope::ImportOverrideSecurityWarnings) {
        failures.push(
            missing_scope(Scope::ImportOverrideSecurityWarnings)
                .field("options.allowSecurityWarnings"),
        );
    }
    if let Some(by) = &options.imported_by
        && *by != caller.identity
    {
        failures.push(
            Failure::new(
                ErrorCode::ImportedByMismatch,
                format!(
                    "options.importedBy '{}' is not you: imports are recorded as '{}', the identity in your token. Leave importedBy out or send that value.",
                    printable(by),
                    caller.identity
                ),
            )
            .field("options.importedBy"),
        );
    }
    let valid = match options.check(query_dry_run) {
        Ok(valid) => Some(valid),
        Err(more) => {
            failures.extend(more);
            None
        }
    };
    if let Some(valid) = &valid
        && !caller.can_access(&valid.target_tenant_id)
    {
        failures.push(tenant_denied(&valid.target_tenant_id).field("options.targetTenantId"));
    }
    match valid {
        Some(valid) if failures.is_empty() => Ok(valid),
        _ => Err(failures),
    }
}

/// Step 2: the target must exist and be `Active`. `found` is what the
/// store holds under `id`.
pub fn admit_target(id: &TenantId, found: Option<Tenant>) -> Result<Tenant, Failure> {
    let problem = match found {
        Some(tenant) if tenant.status == TenantStatus::Active => return Ok(tenant),
        Some(tenant) => format!(
            "Tenant '{id}' is {}; only an Active tenant can import.",
            tenant.status
        ),
        None => format!("Tenant '{id}' does not exist."),
    };
    Err(Failure::new(ErrorCode::InvalidTenantId, problem).field("options.targetTenantId"))
}

/// Step 3: the package's size against the target's plan, before it is read.
pub fn admit_package_size(size: u64, tenant: &Tenant, limits: PlanLimits) -> Result<(), Failure> {
    if size <= limits.max_package_bytes {
        return Ok(());
    }
    Err(Failure::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "The package is {size} bytes; tenant '{}' is on the {} plan, which accepts packages up to {} bytes.",
            tenant.tenant_id, tenant.plan, limits.max_package_bytes
        ),
    )
    .detail("sizeBytes", size)
    .detail("maxBytes", limits.max_package_bytes))
}

/// Step 4a: the manifest's artifact count against the target's plan.
pub fn admit_artifact_count(
    count: usize,
    tenant: &Tenant,
    limits: PlanLimits,
) -> Result<(), Failure> {
    if count <= limits.max_artifacts {
        return Ok(());
    }
    Err(Failure::new(
        ErrorCode::TooManyArtifacts,
        format!(
            "The package has {count} artifacts; tenant '{}' is on the {} plan, which accepts up to {}.",
            tenant.tenant_id, tenant.plan, limits.max_artifacts
        ),
    )
    .detail("artifactCount", count)
    .detail("maxArtifacts", limits.max_artifacts))
}

/// What the scan's verdict lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanAdmission {
    /// `PASS`: nothing to report.
    Clean,
    /// `WARN`, allowed by the caller: the findings become import warnings.
    WarningsAccepted,
}

/// Step 4b: `FAIL` is always refused; `WARN` unless the options allow
/// security warnings (which step 1 let through only with the override
/// permission). The refusal carries the verdict; the caller adds the
/// findings, which this crate does not know the shape of.
pub fn admit_scan(
    verdict: Verdict,
    finding_count: usize,
    options: &ValidImportOptions,
) -> Result<ScanAdmission, Failure> {
    let message = match verdict {
        Verdict::Pass => return Ok(ScanAdmission::Clean),
        Verdict::Warn if options.allow_security_warnings => {
            return Ok(ScanAdmission::WarningsAccepted);
        }
        Verdict::Warn => format!(
            "The security scan raised {finding_count} warning(s); set allowSecurityWarnings (needs installhub:import:override-security-warnings) to install anyway."
        ),
        Verdict::Fail => format!(
            "The security scan failed with {finding_count} finding(s); the package was not installed."
        ),
    };
    Err(Failure::new(ErrorCode::SecurityScanFailed, message)
        .detail("securityScanResult", verdict.as_str()))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::caller::TenantAccess;
    use crate::model::{ConflictStrategy, Plan};

    fn caller(scopes: &[Scope], tenants: &[&str]) -> Caller {
        Caller {
            subject: "user-1".into(),
            identity: "engineer@company.com".into(),
            tenants: TenantAccess::Some(
                tenants
                    .iter()
                    .map(|t| TenantId::parse(t).unwrap())
                    .collect(),
            ),
            scopes: scopes.iter().copied().collect::<BTreeSet<_>>(),
        }
    }

    fn options(target: &str) -> ImportOptions {
        ImportOptions {
            target_tenant_id: Some(target.into()),
            ..ImportOptions::default()
        }
    }

    fn tenant(status: TenantStatus) -> Tenant {
        Tenant {
            tenant_id: TenantId::parse("tenant-abc123").unwrap(),
            name: "Target".into(),
            plan: Plan::Standard,
            status,
            default_conflict_strategy: Some(ConflictStrategy::Replace),
            allowed_trust_levels: None,
        }
    }

    const LIMITS: PlanLimits = PlanLimits {
        max_package_bytes: 100,
        max_artifacts: 2,
    };

    fn codes(failures: &[Failure]) -> Vec<ErrorCode> {
        failures.iter().map(|f| f.code).collect()
    }

    #[test]
    fn every_request_failure_is_reported_together() {
        let mut opts = options("tenant-abc123");
        opts.allow_major_version_upgrade = true;
        opts.allow_security_warnings = true;
        opts.imported_by = Some("someone-else@company.com".into());
        opts.default_conflict_strategy = Some("Overwrite".into());
        let failures = admit_request(&caller(&[], &["tenant-7f3a9b12"]), &opts, None).unwrap_err();
        assert_eq!(
            codes(&failures),
            [
                ErrorCode::InsufficientPermission,
                ErrorCode::InsufficientPermission,
                ErrorCode::InsufficientPermission,
                ErrorCode::ImportedByMismatch,
                ErrorCode::InvalidConflictStrategy,
            ]
        );
    }

    #[test]
    fn a_tenant_outside_the_token_is_denied() {
        let failures = admit_request(
            &caller(&[Scope::Import], &["tenant-7f3a9b12"]),
            &options("tenant-abc123"),
            None,
        )
        .unwrap_err();
        assert_eq!(codes(&failures), [ErrorCode::TenantAccessDenied]);
        assert_eq!(failures[0].field.as_deref(), Some("options.targetTenantId"));
    }

    #[test]
    fn a_good_request_is_admitted_and_either_dry_run_flag_counts() {
        let who = caller(&[Scope::Import], &["tenant-abc123"]);
        let mut opts = options("tenant-abc123");
        opts.imported_by = Some("engineer@company.com".into());
        assert!(!admit_request(&who, &opts, None).unwrap().dry_run);
        assert!(admit_request(&who, &opts, Some(true)).unwrap().dry_run);
        opts.dry_run = Some(true);
        assert!(admit_request(&who, &opts, Some(false)).unwrap().dry_run);
    }

    #[test]
    fn only_an_active_existing_tenant_is_a_target() {
        let id = TenantId::parse("tenant-abc123").unwrap();
        assert!(admit_target(&id, Some(tenant(TenantStatus::Active))).is_ok());
        let suspended = admit_target(&id, Some(tenant(TenantStatus::Suspended))).unwrap_err();
        assert_eq!(suspended.code, ErrorCode::InvalidTenantId);
        assert!(
            suspended.message.contains("Suspended"),
            "{}",
            suspended.message
        );
        let missing = admit_target(&id, None).unwrap_err();
        assert!(
            missing.message.contains("does not exist"),
            "{}",
            missing.message
        );
    }

    #[test]
    fn plan_limits_are_inclusive() {
        let t = tenant(TenantStatus::Active);
        assert!(admit_package_size(100, &t, LIMITS).is_ok());
        assert_eq!(
            admit_package_size(101, &t, LIMITS).unwrap_err().code,
            ErrorCode::PayloadTooLarge
        );
        assert!(admit_artifact_count(2, &t, LIMITS).is_ok());
        assert_eq!(
            admit_artifact_count(3, &t, LIMITS).unwrap_err().code,
            ErrorCode::TooManyArtifacts
        );
    }

    #[test]
    fn the_scan_policy() {
        let who = caller(
            &[Scope::Import, Scope::ImportOverrideSecurityWarnings],
            &["tenant-abc123"],
        );
        let plain = admit_request(&who, &options("tenant-abc123"), None).unwrap();
        let mut allowing = options("tenant-abc123");
        allowing.allow_security_warnings = true;
        let allowing = admit_request(&who, &allowing, None).unwrap();

        assert_eq!(
            admit_scan(Verdict::Pass, 0, &plain),
            Ok(ScanAdmission::Clean)
        );
        assert_eq!(
            admit_scan(Verdict::Warn, 2, &allowing),
            Ok(ScanAdmission::WarningsAccepted)
        );
        let warn = admit_scan(Verdict::Warn, 2, &plain).unwrap_err();
        assert_eq!(warn.code, ErrorCode::SecurityScanFailed);
        assert!(
            warn.message.contains("allowSecurityWarnings"),
            "{}",
            warn.message
        );
        // Allowing warnings never lets a failure through.
        let fail = admit_scan(Verdict::Fail, 1, &allowing).unwrap_err();
        assert_eq!(fail.code, ErrorCode::SecurityScanFailed);
        assert!(fail.message.contains("failed with 1"), "{}", fail.message);
    }
}
