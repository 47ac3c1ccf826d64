//! Request: who asks, with which options, into which tenant. The rules are
//! the domain's admission ([`installhub_domain::import::admit`]); this side
//! only looks the target tenant up.

use installhub_domain::import::admit::{admit_request, admit_target};
use installhub_domain::import::{ImportOptions, ValidImportOptions};
use installhub_domain::{Caller, Tenant, TenantId};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The options checked and the target tenant found.
pub struct AcceptedRequest {
    pub options: ValidImportOptions,
    pub tenant: Tenant,
}

/// Steps 1 and 2: every permission and option check, all failures
/// together; then the target must exist and be `Active`.
pub async fn accept(
    state: &AppState,
    caller: &Caller,
    options: &ImportOptions,
    query_dry_run: Option<bool>,
) -> ApiResult<AcceptedRequest> {
    let options = admit_request(caller, options, query_dry_run).map_err(ApiError::failures)?;
    let found = state.store().get_tenant(&options.target_tenant_id).await?;
    let tenant = admit_target(&options.target_tenant_id, found)?;
    Ok(AcceptedRequest { options, tenant })
}

/// Where a refused request is recorded: its target, when the caller may
/// read that tenant and it exists, so the tenant's history shows the
/// refusal; nobody can write into another tenant's history.
pub async fn recordable_target(
    state: &AppState,
    caller: &Caller,
    options: &ImportOptions,
) -> Option<TenantId> {
    let id = TenantId::parse(options.target_tenant_id.as_deref()?).ok()?;
    if !caller.can_access(&id) {
        return None;
    }
    match state.store().get_tenant(&id).await {
        Ok(Some(_)) => Some(id),
        _ => None,
    }
}
