//! Writing an export's bundle: load the resolved artifacts, prepare the
//! manifest, write the deterministic ZIP to a temporary file off the async
//! runtime, hash it, put it in the bundle store, then record the package.
//! The bundle is stored before the row, so a package row always has its
//! bundle; a crash in between leaves at most an unreferenced object. The
//! store commits the export's audit entry with the row, so an acknowledged
//! export is always in the log.

use std::io::{BufWriter, Read, Write};

use chrono::{SubsecRound, Utc};
use installhub_bundle::{ManifestInput, prepare_stored, write_zip};
use installhub_domain::export::ValidExport;
use installhub_domain::resolve::Resolution;
use installhub_domain::{ArtifactId, Caller, ErrorCode, Failure, PackageId};
use installhub_store::{BundleStore, PackageRecord, StoreError};
use sha2::{Digest, Sha256};

use super::version_conflict;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What an export produced.
#[derive(Debug)]
pub struct ExportOutcome {
    pub package: PackageRecord,
}

/// Builds, stores and records the package of a validated export.
pub async fn write_package(
    state: &AppState,
    caller: &Caller,
    request: ValidExport,
    resolution: &Resolution,
) -> ApiResult<ExportOutcome> {
    let ids: Vec<ArtifactId> = resolution.artifacts().map(|a| a.id.clone()).collect();
    // Definitions stay JSON text until the blocking task below encodes
    // them: no 10 MB parse on the async runtime, no `Value` trees.
    let artifacts = state
        .store()
        .stored_artifacts_by_ids(&request.tenant_id, &ids)
        .await?;
    // The catalog may change between resolution and loading; a bundle must
    // hold exactly what was validated, so refuse rather than pack a mix.
    let unchanged = artifacts.len() == ids.len()
        && artifacts.iter().all(|a| {
            resolution.artifacts().any(|s| {
                s.id == a.id
                    && s.status == a.status
                    && s.references == a.references
                    && s.version == a.version
            })
        });
    if !unchanged {
        // Nothing was written and a retry resolves the catalog afresh: a
        // 503 that says when, like every other 503.
        return Err(Failure::new(
            ErrorCode::ServiceUnavailable,
            "The tenant's artifacts changed while the package was being exported. Retry the export.",
        )
        .detail("retryAfterSeconds", 1)
        .into());
    }

    let package_id = PackageId::from_uuid(&uuid::Uuid::new_v4().to_string());
    let exported_at = Utc::now().trunc_subsecs(0);
    let input = ManifestInput {
        package_id: package_id.clone(),
        name: request.package_name.clone(),
        package_type: request.package_type,
        version: request.version.to_string(),
        description: request.description.clone(),
        author: request.author.clone(),
        tags: request.tags.clone(),
        source_tenant_id: request.tenant_id.clone(),
        exported_at,
        exported_by: caller.identity.clone(),
        install_order: resolution.install_order.clone(),
        package_dependencies: request.package_dependencies.clone(),
    };

    let tmp_dir = state.config().tmp_dir();
    let written = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        std::fs::create_dir_all(&tmp_dir)?;
        let prepared = prepare_stored(input, &artifacts)?;
        let file = tempfile::NamedTempFile::new_in(&tmp_dir)?;
        let mut out = write_zip(&prepared, BufWriter::new(file.reopen()?))?;
        out.flush()?;
        drop(out);
        let (size, sha256) = hash_file(file.path())?;
        Ok((prepared.into_manifest(), file, size, sha256))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::Internal)?;
    let (manifest, file, size, sha256) = written;

    let key = BundleStore::package_key(&package_id);
    state.bundles().put_file(&key, file.path()).await?;
    drop(file);

    let record = PackageRecord {
        package_id,
        tenant_id: request.tenant_id.clone(),
        package_name: request.package_name.clone(),
        package_type: request.package_type,
        version: request.version.to_string(),
        description: request.description,
        author: request.author,
        tags: request.tags,
        checksum: manifest.checksum.clone(),
        artifact_count: manifest.artifacts.len() as u32,
        manifest,
        bundle_key: key.clone(),
        bundle_size: size,
        bundle_sha256: sha256,
        exported_at,
        exported_by: caller.identity.clone(),
    };
    match state.store().insert_package(&record).await {
        Ok(()) => Ok(ExportOutcome { package: record }),
        Err(error) => {
            if let Err(cleanup) = state.bundles().delete(&key).await {
                tracing::warn!(%key, error = %cleanup, "could not remove the bundle of a refused export");
            }
            match error {
                StoreError::VersionConflict => Err(ApiError::from(version_conflict(
                    &request.tenant_id,
                    &request.package_name,
                    &request.version,
                ))),
                other => Err(other.into()),
            }
        }
    }
}

/// Size and SHA-256 of a file, read in chunks.
fn hash_file(path: &std::path::Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// The failure of an export that never produced a package, for the audit.
pub fn failure_summary(error: &ApiError) -> Option<&[Failure]> {
    match error {
        ApiError::Failures { failures, .. } => Some(failures),
        ApiError::Internal(_) => None,
    }
}
