//! Undoing installs (issue 10): rolling an import record back from its
//! snapshot, and uninstalling a package with its artifacts. Both run in an
//! install transaction under the tenant's install lock, keep a snapshot of
//! their own (so they can be rolled back in turn), and commit their import
//! record (source `Rollback` or `Uninstall`) and audit entry with their
//! writes. A dry run writes nothing at all, not even a record.

// utoipa's expansion of `params(...)` qualifies the types again.
#![allow(unused_qualifications)]

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use installhub_domain::{
    Caller, ErrorCode, Failure, ImportId, ImportSource, ImportStatus, PackageId, Scope, TenantId,
};
use installhub_store::{
    AuditEvent, ImportRecord, ImportRolledBack, NewAuditEntry, PackageUninstalled, RollbackRefusal,
    UndoAction, UndoConflict, UninstallRefusal,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::tenants::find_tenant;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{
    ImportPath, InstalledPackagePath, QueryParams, require_scope, require_tenant,
};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UndoQuery {
    /// `true` answers what would be done and writes nothing (no record
    /// either).
    dry_run: Option<bool>,
}

/// What a rollback does, or would do, to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum Undone {
    /// Put back as it was.
    Restore,
    /// Removed: it did not exist before.
    Remove,
}

impl From<UndoAction> for Undone {
    fn from(action: UndoAction) -> Self {
        match action {
            UndoAction::Restore => Undone::Restore,
            UndoAction::Remove => Undone::Remove,
        }
    }
}

/// What a rollback does (or would do) to one artifact.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UndoneArtifact {
    #[schema(example = "form-2005")]
    pub artifact_id: String,
    /// `Restore`: its previous row comes back byte for byte (timestamps
    /// included); `Remove`: it did not exist before and is marked `Deleted`.
    pub action: Undone,
}

/// What a rollback does (or would do) to one installed-package record.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UndonePackage {
    #[schema(example = "Employee Onboarding Suite")]
    pub package_name: String,
    /// `Restore`: the record as it was before; `Remove`: there was none.
    pub action: Undone,
}

/// A rollback's answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollbackResponse {
    /// The rollback's own import record (source `Rollback`); `null` in a
    /// dry run.
    #[schema(value_type = Option<String>)]
    pub import_id: Option<ImportId>,
    /// The record rolled back.
    #[schema(value_type = String)]
    pub rolled_back_import_id: ImportId,
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    /// `Success`, or `DryRun`.
    pub status: ImportStatus,
    /// In artifact id order.
    pub artifacts: Vec<UndoneArtifact>,
    pub packages: Vec<UndonePackage>,
    /// How many artifacts get their previous owning package back.
    pub ownership_restored: usize,
    /// When the rollback committed; `null` in a dry run.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub rolled_back_at: Option<DateTime<Utc>>,
}

/// An uninstall's answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UninstallResponse {
    /// The uninstall's own import record (source `Uninstall`); `null` in a
    /// dry run.
    #[schema(value_type = Option<String>)]
    pub import_id: Option<ImportId>,
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    pub package_name: String,
    pub version: String,
    /// `Success`, or `DryRun`.
    pub status: ImportStatus,
    /// The artifacts marked `Deleted`, in id order.
    pub removed_artifacts: Vec<String>,
    /// Artifacts it owned that were already `Deleted` (through the artifact
    /// API): only their ownership goes.
    pub already_deleted_artifacts: Vec<String>,
    /// When the uninstall committed; `null` in a dry run.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub uninstalled_at: Option<DateTime<Utc>>,
}

/// One conflict of a refused rollback or uninstall, as listed in the
/// error's `conflicts`.
fn conflict_json(conflict: &UndoConflict) -> Value {
    match conflict {
        UndoConflict::ArtifactChanged {
            artifact_id,
            current_status,
        } => json!({
            "reason": "ArtifactChanged", "artifactId": artifact_id,
            "currentStatus": current_status,
        }),
        UndoConflict::OwnerChanged { artifact_id, owner } => json!({
            "reason": "OwnerChanged", "artifactId": artifact_id, "currentOwner": owner,
        }),
        UndoConflict::PackageChanged {
            package_name,
            current_import_id,
            current_status,
        } => json!({
            "reason": "PackageChanged", "packageName": package_name,
            "currentImportId": current_import_id, "currentStatus": current_status,
        }),
        UndoConflict::ReferencedBy {
            artifact_id,
            by,
            owner,
        } => json!({
            "reason": "ReferencedBy", "artifactId": artifact_id,
            "referencedBy": by, "referencedByPackage": owner,
        }),
        UndoConflict::DependedOnBy { package_name } => json!({
            "reason": "DependedOnBy", "dependentPackage": package_name,
        }),
    }
}

fn conflict_sentence(conflict: &UndoConflict) -> String {
    match conflict {
        UndoConflict::ArtifactChanged { artifact_id, .. } => {
            format!("'{artifact_id}' changed since")
        }
        UndoConflict::OwnerChanged { artifact_id, .. } => {
            format!("'{artifact_id}' belongs to another package since")
        }
        UndoConflict::PackageChanged { package_name, .. } => {
            format!("package '{package_name}' was installed or changed since")
        }
        UndoConflict::ReferencedBy {
            artifact_id, by, ..
        } => format!("'{by}' references '{artifact_id}'"),
        UndoConflict::DependedOnBy { package_name } => {
            format!("package '{package_name}' depends on it")
        }
    }
}

fn conflict_error(code: ErrorCode, what: &str, conflicts: &[UndoConflict]) -> ApiError {
    let each: Vec<String> = conflicts.iter().map(conflict_sentence).collect();
    Failure::new(
        code,
        format!("{what}: {}. Nothing was changed.", each.join("; ")),
    )
    .detail(
        "conflicts",
        Value::Array(conflicts.iter().map(conflict_json).collect()),
    )
    .into()
}

fn import_not_found(import_id: &ImportId) -> ApiError {
    ApiError::not_found(
        Failure::new(
            ErrorCode::ImportNotFound,
            format!("Import '{import_id}' does not exist."),
        )
        .detail("importId", import_id.as_str()),
    )
}

/// Roll an import back.
///
/// Puts every artifact the import created or replaced back exactly as it
/// was (created ones are marked `Deleted`), and the installed-package
/// records and ownership with them, in one transaction. Refused with 409
/// `RollbackConflict` when anything it wrote changed since. The rollback is
/// itself an import record (source `Rollback`) that can be rolled back.
#[utoipa::path(
    post,
    path = "/api/installhub/imports/{importId}/rollback",
    tag = "imports",
    params(("importId" = String, Path, pattern = r"^imp-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "The import (or rollback, or uninstall) to roll back."), UndoQuery),
    responses(
        (status = 200, description = "Rolled back, or what would be (dry run).", body = RollbackResponse),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "InsufficientPermission (needs installhub:import).", body = ErrorBody),
        (status = 404, description = "ImportNotFound: no such import, or not one of your tenants'.", body = ErrorBody),
        (status = 409, description = "RollbackConflict (`conflicts` lists each artifact or package changed since), or ImportNotRollbackable (a dry run, a failed import, or one rolled back already).", body = ErrorBody),
        (status = 410, description = "SnapshotExpired: the import is older than the snapshot retention, or from before snapshots were kept.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn rollback_import(
    State(state): State<AppState>,
    caller: Caller,
    path: ImportPath,
    QueryParams(query): QueryParams<UndoQuery>,
) -> ApiResult<Json<RollbackResponse>> {
    require_scope(&caller, Scope::Import)?;
    let target = path.import_id;
    let record = match state.store().get_import(&target).await? {
        Some(record) if caller.can_access(&record.tenant_id) => record,
        _ => return Err(import_not_found(&target)),
    };
    if record.status != ImportStatus::Success {
        let why = match record.status {
            ImportStatus::DryRun => "it was a dry run and installed nothing",
            ImportStatus::Failed => "it failed and installed nothing",
            _ => "it is still running",
        };
        return Err(Failure::new(
            ErrorCode::ImportNotRollbackable,
            format!("Import '{target}' cannot be rolled back: {why}."),
        )
        .detail("importId", target.as_str())
        .detail("importStatus", record.status.as_str())
        .into());
    }
    let dry_run = query.dry_run.unwrap_or(false);
    let tenant = record.tenant_id.clone();
    let rollback_id = ImportId::random();
    let now = Utc::now();
    // A retention too long to subtract keeps every snapshot.
    let expired_before = chrono::Duration::from_std(state.config().snapshot_retention)
        .ok()
        .and_then(|retention| now.checked_sub_signed(retention))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);

    let mut tx = state.store().begin_install(&tenant).await?;
    if !dry_run {
        tx.keep_snapshot(&rollback_id, Some(&target)).await?;
    }
    let plan = match tx
        .rollback_import(&target, expired_before, !dry_run)
        .await?
    {
        Ok(plan) => plan,
        Err(refusal) => {
            return Err(match refusal {
                RollbackRefusal::NoSnapshot => Failure::new(
                    ErrorCode::SnapshotExpired,
                    format!("Import '{target}' cannot be rolled back: no snapshot of what it overwrote was kept (it predates snapshots)."),
                )
                .detail("importId", target.as_str())
                .into(),
                RollbackRefusal::Expired { taken_at } => Failure::new(
                    ErrorCode::SnapshotExpired,
                    format!(
                        "Import '{target}' cannot be rolled back: its snapshot of {} is past the retention of {} days.",
                        taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        state.config().snapshot_retention.as_secs() / 86_400
                    ),
                )
                .detail("importId", target.as_str())
                .detail("snapshotTakenAt", taken_at.to_rfc3339())
                .into(),
                RollbackRefusal::AlreadyRolledBack { by } => Failure::new(
                    ErrorCode::ImportNotRollbackable,
                    format!("Import '{target}' was rolled back already, by '{by}'. Roll that back to re-apply it."),
                )
                .detail("importId", target.as_str())
                .detail("rolledBackBy", by.as_str())
                .into(),
                RollbackRefusal::Conflicts(conflicts) => conflict_error(
                    ErrorCode::RollbackConflict,
                    &format!("Import '{target}' cannot be rolled back"),
                    &conflicts,
                ),
            });
        }
    };
    let action = Undone::from;
    let mut response = RollbackResponse {
        import_id: (!dry_run).then(|| rollback_id.clone()),
        rolled_back_import_id: target.clone(),
        tenant_id: tenant.clone(),
        status: if dry_run {
            ImportStatus::DryRun
        } else {
            ImportStatus::Success
        },
        artifacts: plan
            .artifacts
            .iter()
            .map(|(id, a)| UndoneArtifact {
                artifact_id: id.to_string(),
                action: action(*a),
            })
            .collect(),
        packages: plan
            .packages
            .iter()
            .map(|(name, a)| UndonePackage {
                package_name: name.clone(),
                action: action(*a),
            })
            .collect(),
        ownership_restored: plan.owners,
        rolled_back_at: None,
    };
    if dry_run {
        tx.rollback().await?;
        return Ok(Json(response));
    }
    response.rolled_back_at = Some(now);
    let body = serde_json::to_value(&response).map_err(ApiError::internal)?;
    tx.insert_import(&ImportRecord {
        import_id: rollback_id.clone(),
        tenant_id: tenant.clone(),
        package_id: record.package_id.clone(),
        package_name: record.package_name.clone(),
        version: record.version.clone(),
        source: ImportSource::Rollback,
        status: ImportStatus::Success,
        installed_by: caller.identity.clone(),
        started_at: now,
        finished_at: Some(now),
        response: body,
    })
    .await?;
    let of = |wanted: UndoAction| {
        plan.artifacts
            .iter()
            .filter(|(_, a)| *a == wanted)
            .map(|(id, _)| id.clone())
            .collect()
    };
    tx.record_audit(&NewAuditEntry {
        at: now,
        tenant_id: tenant,
        actor: caller.identity.clone(),
        event: AuditEvent::Rollback(ImportRolledBack {
            import_id: rollback_id,
            rolled_back_import_id: target,
            artifacts_restored: of(UndoAction::Restore),
            artifacts_removed: of(UndoAction::Remove),
            packages: plan.packages.iter().map(|(name, _)| name.clone()).collect(),
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(Json(response))
}

/// Uninstall a package.
///
/// Marks every artifact the package owns `Deleted`, drops its ownership and
/// makes it `Uninstalled`, in one transaction; refused with 409
/// `UninstallConflict` while another artifact references one of them, an
/// installed package depends on it, or one changed since its install. The
/// uninstall is an import record (source `Uninstall`) that can be rolled
/// back.
#[utoipa::path(
    delete,
    path = "/api/installhub/tenants/{tenantId}/installed-packages/{packageName}",
    tag = "imports",
    params(
        ("tenantId" = String, Path, pattern = r"^[a-z0-9-]{3,64}$", description = "The tenant.", example = "tenant-abc123"),
        ("packageName" = String, Path, pattern = r"^-*[A-Za-z0-9]([A-Za-z0-9 -]*[A-Za-z0-9-])?$", max_length = 100, description = "The installed package's name (compared without case).", example = "Employee Onboarding Suite"),
        UndoQuery
    ),
    responses(
        (status = 200, description = "Uninstalled, or what would be (dry run).", body = UninstallResponse),
        (status = 400, description = "InvalidTenantId.", body = ErrorBody),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "No access to the tenant, or no installhub:import.", body = ErrorBody),
        (status = 404, description = "TenantNotFound, or PackageNotInstalled (never installed, or uninstalled already).", body = ErrorBody),
        (status = 409, description = "UninstallConflict: `conflicts` lists each dependant and each artifact changed since the install.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn uninstall_package(
    State(state): State<AppState>,
    caller: Caller,
    path: InstalledPackagePath,
    QueryParams(query): QueryParams<UndoQuery>,
) -> ApiResult<Json<UninstallResponse>> {
    require_scope(&caller, Scope::Import)?;
    require_tenant(&caller, &path.tenant_id)?;
    find_tenant(&state, &path.tenant_id).await?;
    let name = path.package_name.0;
    let dry_run = query.dry_run.unwrap_or(false);
    let record_id = ImportId::random();
    let now = Utc::now();

    let mut tx = state.store().begin_install(&path.tenant_id).await?;
    if !dry_run {
        tx.keep_snapshot(&record_id, None).await?;
    }
    let not_installed = |message: String| {
        ApiError::not_found(
            Failure::new(ErrorCode::PackageNotInstalled, message)
                .detail("packageName", name.as_str()),
        )
    };
    let plan = match tx
        .uninstall_package(&name, &record_id, now, !dry_run)
        .await?
    {
        Ok(plan) => plan,
        Err(UninstallRefusal::NotInstalled) => {
            return Err(not_installed(format!(
                "No package '{name}' is installed in tenant '{}'.",
                path.tenant_id
            )));
        }
        Err(UninstallRefusal::AlreadyUninstalled { by }) => {
            return Err(not_installed(format!(
                "Package '{name}' was uninstalled from tenant '{}' already{}.",
                path.tenant_id,
                by.map(|by| format!(", by '{by}'")).unwrap_or_default()
            )));
        }
        Err(UninstallRefusal::Conflicts(conflicts)) => {
            return Err(conflict_error(
                ErrorCode::UninstallConflict,
                &format!("Package '{name}' cannot be uninstalled"),
                &conflicts,
            ));
        }
    };
    let mut response = UninstallResponse {
        import_id: (!dry_run).then(|| record_id.clone()),
        tenant_id: path.tenant_id.clone(),
        package_name: plan.package_name.clone(),
        version: plan.version.clone(),
        status: if dry_run {
            ImportStatus::DryRun
        } else {
            ImportStatus::Success
        },
        removed_artifacts: plan.removed.iter().map(ToString::to_string).collect(),
        already_deleted_artifacts: plan
            .already_deleted
            .iter()
            .map(ToString::to_string)
            .collect(),
        uninstalled_at: None,
    };
    if dry_run {
        tx.rollback().await?;
        return Ok(Json(response));
    }
    response.uninstalled_at = Some(now);
    let body = serde_json::to_value(&response).map_err(ApiError::internal)?;
    tx.insert_import(&ImportRecord {
        import_id: record_id.clone(),
        tenant_id: path.tenant_id.clone(),
        package_id: Some(PackageId::from_trusted(plan.package_id.clone())),
        package_name: Some(plan.package_name.clone()),
        version: Some(plan.version.clone()),
        source: ImportSource::Uninstall,
        status: ImportStatus::Success,
        installed_by: caller.identity.clone(),
        started_at: now,
        finished_at: Some(now),
        response: body,
    })
    .await?;
    tx.record_audit(&NewAuditEntry {
        at: now,
        tenant_id: path.tenant_id,
        actor: caller.identity.clone(),
        event: AuditEvent::Uninstall(PackageUninstalled {
            import_id: record_id,
            package_name: plan.package_name,
            version: plan.version,
            artifacts_removed: plan.removed,
        }),
    })
    .await?;
    tx.commit().await?;
    Ok(Json(response))
}
