//! Admit: the package itself. Its size against the target's plan, then
//! one pass over the archive that verifies all of it (every hostile-archive
//! rule; nothing is inflated before the structure, the limits and the
//! manifest passed) and scans each artifact as it is verified, then the
//! plan's artifact limit and the scan's verdict. The rules are the domain's
//! ([`installhub_domain::import::admit`]); the reading is here.
//!
//! The same pass hands the install the rows it writes ([`WriteOrder`]):
//! each artifact after it was verified and scanned, while the rest of the
//! package is still being read. Those writes stay inside the install
//! transaction, which commits only once the pass proved the whole package
//! and this module admitted it.

use std::collections::HashSet;
use std::io::{Seek, SeekFrom};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use installhub_bundle::{
    BundleError, BundleErrorCode, CheckedFile, ReadLimits, read_bundle_each_after,
};
use installhub_domain::import::ImportWarning;
use installhub_domain::import::admit::{
    ImportAttempt, PackageSummary, PlanLimits, ScanAdmission, admit_artifact_count, admit_scan,
};
use installhub_domain::imported::check_imported;
use installhub_domain::{
    ArtifactId, ErrorCode, Failure, Manifest, Tenant, TenantId, ValidImportOptions,
};
use installhub_scan::{AdvisorySnapshot, Finding, ScanInput, ScanReport};
use installhub_store::{DefinitionJson, HashedArtifact, NewArtifact};

use super::ReceivedBundle;
use super::install::retarget;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A package read in full: every file verified against its manifest, and
/// scanned.
pub struct ReadPackage {
    pub manifest: Manifest,
    pub report: ScanReport,
    /// The advisory data the scan checked the libraries against.
    pub advisory_snapshot: AdvisorySnapshot,
}

/// What the admission adds to the install's answer: the warnings of a scan
/// whose findings the caller accepted.
pub struct Admission {
    pub report: ScanReport,
    pub advisory_snapshot: AdvisorySnapshot,
    pub warnings: Vec<ImportWarning>,
}

/// What the install asks of the pass once it has planned from the
/// manifest: the artifacts it writes, each sent as its row once verified
/// and scanned.
pub struct WriteOrder {
    pub wanted: HashSet<ArtifactId>,
    pub tenant_id: TenantId,
    /// The package's source tenant, whose references point into the target.
    pub source: TenantId,
    /// The writer's queue; each row comes with its file's size in bytes.
    pub rows: tokio::sync::mpsc::Sender<(HashedArtifact, usize)>,
}

impl WriteOrder {
    /// Sends `file`'s row if the plan writes it, hashed for the install's
    /// snapshot here, so the writer only writes. `false`: the writer is gone.
    fn send(&self, file: CheckedFile) -> ApiResult<bool> {
        let CheckedFile {
            artifact: file,
            definition_text,
            size,
        } = file;
        if !self.wanted.contains(&file.id) {
            return Ok(true);
        }
        let row = HashedArtifact::new(NewArtifact {
            tenant_id: self.tenant_id.clone(),
            references: retarget(&file.references, &self.source),
            id: file.id,
            artifact_type: file.r#type,
            name: file.name,
            version: file.version,
            status: file.status,
            definition: DefinitionJson::from_compact_text(definition_text),
            libraries: file.libraries,
        })?;
        Ok(self.rows.blocking_send((row, size)).is_ok())
    }
}

/// After the pass: the package's names go into the attempt (and so its
/// record), then the plan's artifact limit and the scan's verdict.
pub fn admit_read(
    attempt: &mut ImportAttempt,
    options: &ValidImportOptions,
    tenant: &Tenant,
    plan_limits: PlanLimits,
    read: ReadPackage,
) -> ApiResult<(Manifest, Admission)> {
    let ReadPackage {
        manifest,
        report,
        advisory_snapshot,
    } = read;
    attempt.package = Some(PackageSummary {
        package_id: manifest.package_id.clone(),
        name: manifest.name.clone(),
        version: manifest.version.clone(),
    });
    admit_artifact_count(manifest.artifacts.len(), tenant, plan_limits)?;
    let warnings = match admit_scan(report.result, report.security_findings.len(), options) {
        Ok(ScanAdmission::Clean) => Vec::new(),
        Ok(ScanAdmission::WarningsAccepted) => finding_warnings(&report),
        Err(refusal) => {
            return Err(with_findings(refusal, &report, &advisory_snapshot).into());
        }
    };
    let admission = Admission {
        report,
        advisory_snapshot,
        warnings,
    };
    Ok((manifest, admission))
}

/// Maps a bundle reader error to seed 03's codes.
pub fn bundle_error(error: BundleError) -> ApiError {
    let code = match error.code() {
        BundleErrorCode::InvalidZip => ErrorCode::InvalidZip,
        BundleErrorCode::ManifestMissing => ErrorCode::ManifestMissing,
        BundleErrorCode::ChecksumMismatch => ErrorCode::ChecksumMismatch,
        BundleErrorCode::Internal => return ApiError::internal(error),
    };
    // The reader's message names the entry and the reason; it only needs to
    // read as a sentence.
    let text = error.to_string();
    let mut chars = text.chars();
    let message = match chars.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), chars.as_str()),
        None => code.as_str().to_owned(),
    };
    Failure::new(code, message).field("package").into()
}

/// Every archive check and the scan in one pass, for the scan route and
/// the marketplace's publishing: [`read_and_scan`] writing nothing.
pub async fn verify_and_scan(
    state: &AppState,
    bundle: &ReceivedBundle,
    limits: ReadLimits,
) -> ApiResult<ReadPackage> {
    spawn_read(state, bundle, limits, |_| Ok(None))?
        .await
        .map_err(ApiError::internal)?
}

/// Starts [`read_and_scan`] on a blocking thread.
pub fn spawn_read<M>(
    state: &AppState,
    bundle: &ReceivedBundle,
    limits: ReadLimits,
    on_manifest: M,
) -> ApiResult<tokio::task::JoinHandle<ApiResult<ReadPackage>>>
where
    M: FnOnce(&Manifest) -> Result<Option<WriteOrder>, BundleError> + Send + 'static,
{
    // Read through the handle the upload holds, not by path: a sweep of old
    // scratch files can then never take the package from under an import.
    let file = bundle
        .file
        .as_file()
        .try_clone()
        .map_err(ApiError::internal)?;
    let scanner = Arc::clone(state.scanner());
    Ok(tokio::task::spawn_blocking(move || {
        read_and_scan(file, &limits, &scanner, on_manifest)
    }))
}

/// Every archive check and the scan in one pass off the async threads,
/// each artifact scanned as it is verified and then dropped (or sent to
/// the install's writer), so memory stays bounded whatever the bundle's
/// size. `on_manifest` is told the manifest before any file is inflated
/// and answers what to write. Answers the manifest, the merged scan report
/// and the advisory snapshot every artifact was checked against (taken
/// once, so a refresh mid-package cannot mix two).
fn read_and_scan<M>(
    mut file: std::fs::File,
    limits: &ReadLimits,
    scanner: &installhub_scan::Scanner,
    on_manifest: M,
) -> ApiResult<ReadPackage>
where
    M: FnOnce(&Manifest) -> Result<Option<WriteOrder>, BundleError>,
{
    file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
    let advisories = scanner.advisories();
    let mut bundled = Vec::new();
    let order: OnceLock<Option<WriteOrder>> = OnceLock::new();
    // The reader verifies, inflates and parses one artifact after another
    // while scanners (one per core) take them from a short queue: parsing
    // the scripts is the costly part of a scan, and the queue bounds how
    // many artifacts are in memory at once. An artifact the install writes
    // goes to its writer only after it was scanned.
    let workers = scanner.max_threads();
    let (queue, taken) = std::sync::mpsc::sync_channel::<CheckedFile>(workers);
    let taken = Arc::new(Mutex::new(taken));
    let (manifest, scanned) = std::thread::scope(|scope| {
        let scanners: Vec<_> = (0..workers)
            .map(|_| {
                // Each scanner owns a handle on the queue: once every one
                // of them stopped (or panicked), the queue closes and the
                // reader's sends fail instead of blocking for ever.
                let taken = Arc::clone(&taken);
                let (advisories, order) = (&advisories, &order);
                scope.spawn(move || -> ApiResult<Vec<Finding>> {
                    let mut findings = Vec::new();
                    loop {
                        let next = taken.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(file) = next else {
                            break Ok(findings);
                        };
                        let report = scanner.scan_with(
                            advisories,
                            [ScanInput {
                                artifact_id: file.artifact.id.as_str(),
                                definition: &file.artifact.definition,
                                libraries: &file.artifact.libraries,
                            }],
                        );
                        findings.extend(report.security_findings);
                        // Set before the first artifact was queued.
                        if let Some(Some(order)) = order.get()
                            && !order.send(file)?
                        {
                            break Err(ApiError::internal(anyhow::anyhow!(
                                "the install stopped taking rows"
                            )));
                        }
                    }
                })
            })
            .collect();
        drop(taken);
        let manifest = read_bundle_each_after(
            &mut file,
            limits,
            |manifest| {
                let _ = order.set(on_manifest(manifest)?);
                Ok(())
            },
            |file| {
                bundled.push(file.artifact.bundled());
                queue.send(file).map_err(|_| {
                    BundleError::Io(std::io::Error::other(
                        "the scan stopped reading the package",
                    ))
                })
            },
        );
        drop(queue);
        let mut scanned = Ok(Vec::new());
        for handle in scanners {
            match (handle.join(), &mut scanned) {
                (Ok(Ok(found)), Ok(findings)) => findings.extend(found),
                (Ok(Err(e)), Ok(_)) => scanned = Err(e),
                (Ok(_), Err(_)) => {}
                (Err(panic), _) => std::panic::resume_unwind(panic),
            }
        }
        (manifest, scanned)
    });
    // The writer's queue closes here: it has every row it will get.
    drop(order);
    let findings = scanned?;
    let manifest = manifest.map_err(bundle_error)?;
    // What an export could not have produced: references to a third
    // tenant, a manifest that contradicts its files, forbidden text.
    check_imported(&manifest, &bundled).map_err(ApiError::failures)?;
    let snapshot = advisories.snapshot().clone();
    let mut report = ScanReport::from_findings(findings);
    report.advisory_snapshot = Some(snapshot.clone());
    Ok(ReadPackage {
        manifest,
        report,
        advisory_snapshot: snapshot,
    })
}

/// The scan's refusal carries every finding, so the importer sees why, and
/// the advisory snapshot the libraries were checked against.
fn with_findings(refusal: Failure, report: &ScanReport, snapshot: &AdvisorySnapshot) -> Failure {
    refusal
        .detail(
            "securityFindings",
            serde_json::to_value(&report.security_findings).unwrap_or_default(),
        )
        .detail(
            "advisorySnapshot",
            serde_json::to_value(snapshot).unwrap_or_default(),
        )
}

fn finding_warnings(report: &ScanReport) -> Vec<ImportWarning> {
    report
        .security_findings
        .iter()
        .map(|f| {
            let mut warning = ImportWarning::new(
                "SecurityFinding",
                f.message.clone(),
                ArtifactId::parse(&f.artifact_id).ok(),
            );
            warning
                .details
                .insert("ruleId".into(), f.rule_id.clone().into());
            warning.details.insert(
                "severity".into(),
                serde_json::to_value(f.severity).unwrap_or_default(),
            );
            warning.details.insert("path".into(), f.path.clone().into());
            warning
        })
        .collect()
}
