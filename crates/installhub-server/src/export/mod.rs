//! The export pipeline: seed 02's checks in its order (request,
//! authorization, existence, graph, version), every failure collected, then
//! the bundle written, stored and recorded. Preview shares the first steps.

mod bundle;
mod graphs;

use std::collections::HashMap;

use installhub_domain::export::Checked;
use installhub_domain::resolve::{Limits, Resolution, Resolver};
use installhub_domain::{
    ArtifactId, ArtifactSummary, Caller, ErrorCode, Failure, FailureKind, Scope, Tenant, TenantId,
    TenantStatus,
};
use installhub_store::{Store, StoreError};

pub use self::bundle::{ExportOutcome, failure_summary, write_package};
pub use self::graphs::{Graph, GraphCache};
use crate::error::{ApiError, ApiResult};
use crate::extract::{missing_scope, tenant_denied};
use crate::state::AppState;

/// The tenant an export or preview reads, with its catalog generation
/// (read together, see [`installhub_store::Store::get_tenant_with_generation`]).
pub struct Source {
    pub tenant: Tenant,
    pub generation: i64,
}

/// Seed 02 step 2 and the tenant's validity: scope, tenant access, and an
/// existing `Active` tenant. Adds failures; returns the tenant when the
/// later steps may run. They may not after any authorization failure, so a
/// caller without access learns nothing about the tenant's artifacts.
pub async fn authorize(
    state: &AppState,
    caller: &Caller,
    tenant_id: Option<&TenantId>,
    failures: &mut Vec<Failure>,
) -> ApiResult<Option<Source>> {
    if !caller.has_scope(Scope::Export) {
        failures.push(missing_scope(Scope::Export));
    }
    let Some(tenant_id) = tenant_id else {
        return Ok(None);
    };
    if !caller.can_access(tenant_id) {
        failures.push(tenant_denied(tenant_id));
        return Ok(None);
    }
    if failures
        .iter()
        .any(|f| f.code.kind() == FailureKind::Forbidden)
    {
        return Ok(None);
    }
    match state.store().get_tenant_with_generation(tenant_id).await? {
        Some((tenant, generation)) if tenant.status == TenantStatus::Active => {
            Ok(Some(Source { tenant, generation }))
        }
        Some((tenant, _)) => {
            failures.push(
                Failure::new(
                    ErrorCode::InvalidTenantId,
                    format!(
                        "Tenant '{tenant_id}' is {}; only an Active tenant can export.",
                        tenant.status
                    ),
                )
                .field("tenantId"),
            );
            Ok(None)
        }
        None => {
            failures.push(
                Failure::new(
                    ErrorCode::InvalidTenantId,
                    format!("Tenant '{tenant_id}' does not exist."),
                )
                .field("tenantId"),
            );
            Ok(None)
        }
    }
}

/// Resolves `roots` in `tenant`. The reachable artifacts come first, in one
/// store query (a recursive CTE, bounded a little past the resolver's own
/// size limit); the resolver then walks them in memory. An id it needs that
/// the query did not reach (past that bound) is looked up the old way, one
/// query per breadth-first level, so the answer never depends on where the
/// bound fell.
pub async fn resolve(
    store: &Store,
    tenant: &TenantId,
    roots: Vec<ArtifactId>,
) -> Result<Resolution, StoreError> {
    let limits = Limits::default();
    // The resolver stops growing one past `max_artifacts`; the roots and one
    // more level's worth of slack make a fallback query rare.
    let bound = roots.len() + 2 * (limits.max_artifacts + 1);
    let mut reached: HashMap<ArtifactId, Option<ArtifactSummary>> = store
        .artifact_closure(tenant, &roots, bound)
        .await?
        .into_iter()
        .collect();
    let size = reached.len();
    let mut resolver = Resolver::new(tenant.clone(), roots, limits);
    loop {
        let wanted = resolver.wanted();
        if wanted.is_empty() {
            if size <= INLINE_FINISH {
                return Ok(resolver.finish());
            }
            // The graph work (install order, cycles, depth) is CPU only: for
            // a large graph it runs on the blocking pool so it never holds an
            // async worker; a small one costs less than the hop there.
            return match tokio::task::spawn_blocking(move || resolver.finish()).await {
                Ok(resolution) => Ok(resolution),
                // A panic there is a panic here: the panic layer answers 500.
                Err(e) => std::panic::resume_unwind(e.into_panic()),
            };
        }
        let mut found = Vec::with_capacity(wanted.len());
        let mut unknown = Vec::new();
        for id in &wanted {
            match reached.remove(id) {
                Some(summary) => found.extend(summary),
                None => unknown.push(id.clone()),
            }
        }
        if !unknown.is_empty() {
            found.extend(store.artifact_summaries(tenant, &unknown).await?);
        }
        resolver.supply(&wanted, found);
    }
}

/// Graphs up to this many reached artifacts are finished on the request's
/// own task (tens of microseconds).
const INLINE_FINISH: usize = 64;

/// Seed 02 step 3 for the roots: a root the tenant does not have is
/// `TenantMismatch` when another tenant has it (SPEC §5), else
/// `ArtifactNotFound`.
pub async fn missing_root_failures(
    store: &Store,
    tenant: &TenantId,
    resolution: &Resolution,
) -> Result<Vec<Failure>, StoreError> {
    let mut failures = Vec::new();
    for (index, id) in &resolution.missing_roots {
        let field = format!("artifactIds[{index}]");
        let holders = store.tenants_holding_artifact(id, tenant).await?;
        let failure = if holders.is_empty() {
            Failure::new(
                ErrorCode::ArtifactNotFound,
                format!("Artifact '{id}' does not exist in tenant '{tenant}'"),
            )
        } else {
            Failure::new(
                ErrorCode::TenantMismatch,
                format!(
                    "Artifact '{id}' belongs to a different tenant than '{tenant}'; export it from its own tenant."
                ),
            )
        };
        failures.push(failure.field(field).detail("artifactId", id.as_str()));
    }
    Ok(failures)
}

/// Runs everything before the bundle: returns the tenant and resolution,
/// or every failure found.
pub async fn validate(
    state: &AppState,
    caller: &Caller,
    checked: Checked,
    name_and_version: Option<(&str, &semver::Version)>,
) -> ApiResult<(Tenant, Resolution)> {
    let mut failures = checked.failures;
    let source = authorize(state, caller, checked.tenant_id.as_ref(), &mut failures).await?;
    let Some(Source { tenant, .. }) = source else {
        return Err(ApiError::failures(failures));
    };
    if checked.roots.is_empty() {
        return Err(ApiError::failures(failures));
    }
    let resolution = resolve(state.store(), &tenant.tenant_id, checked.roots).await?;
    failures.extend(missing_root_failures(state.store(), &tenant.tenant_id, &resolution).await?);
    failures.extend(resolution.failures.iter().cloned());
    if let Some((name, version)) = name_and_version
        && state
            .store()
            .package_version_exists(&tenant.tenant_id, name, &version.to_string())
            .await?
    {
        failures.push(version_conflict(&tenant.tenant_id, name, version));
    }
    if failures.is_empty() {
        Ok((tenant, resolution))
    } else {
        Err(ApiError::failures(failures))
    }
}

pub fn version_conflict(tenant: &TenantId, name: &str, version: &semver::Version) -> Failure {
    Failure::new(
        ErrorCode::VersionConflict,
        format!("Tenant '{tenant}' already has a package '{name}' at version {version}. Bump the version."),
    )
    .field("version")
    .detail("packageName", name)
    .detail("version", version.to_string())
}
