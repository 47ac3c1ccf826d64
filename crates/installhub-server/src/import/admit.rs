//! Admit: the package itself. Its size against the target's plan, then
//! the archive read and verified in full (every hostile-archive rule
//! refused before anything is written) and scanned in the same pass, then
//! the plan's artifact limit and the scan's verdict. The rules are the
//! domain's ([`installhub_domain::import::admit`]); the reading is here.

use std::io::{Seek, SeekFrom};
use std::sync::{Arc, Mutex, PoisonError};

use installhub_bundle::{ArtifactFile, BundleErrorCode, ReadLimits, read_bundle_each};
use installhub_domain::import::ImportWarning;
use installhub_domain::import::admit::{
    ImportAttempt, PackageSummary, ScanAdmission, admit_artifact_count, admit_package_size,
    admit_scan,
};
use installhub_domain::imported::check_imported;
use installhub_domain::{ArtifactId, ErrorCode, Failure, Manifest, Tenant, ValidImportOptions};
use installhub_scan::{AdvisorySnapshot, ScanInput, ScanReport};

use super::ReceivedBundle;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A package that passed every check before the install: its manifest,
/// its scan, and the warnings the scan adds to the answer.
pub struct AdmittedPackage {
    pub manifest: Manifest,
    pub report: ScanReport,
    /// The advisory data the scan checked the libraries against.
    pub advisory_snapshot: AdvisorySnapshot,
    pub warnings: Vec<ImportWarning>,
    /// The limits the install reads the package with again.
    pub limits: ReadLimits,
}

/// Steps 3 and 4. The package's names go into the attempt (and its record)
/// as soon as the manifest was read, so a later refusal still says which
/// package it was.
pub async fn admit(
    state: &AppState,
    attempt: &mut ImportAttempt,
    options: &ValidImportOptions,
    tenant: &Tenant,
    bundle: &ReceivedBundle,
) -> ApiResult<AdmittedPackage> {
    let plan_limits = state.config().limits.plan(tenant.plan);
    admit_package_size(bundle.size, tenant, plan_limits)?;
    let limits = ReadLimits::with_size_limit(plan_limits.max_package_bytes);
    let (manifest, report, advisory_snapshot) =
        verify_and_scan(state, bundle, limits.clone()).await?;
    let package = PackageSummary {
        package_id: manifest.package_id.clone(),
        name: manifest.name.clone(),
        version: manifest.version.clone(),
    };
    state
        .store()
        .set_import_package(
            &attempt.import_id,
            &package.package_id,
            &package.name,
            &package.version,
        )
        .await?;
    attempt.package = Some(package);
    admit_artifact_count(manifest.artifacts.len(), tenant, plan_limits)?;
    let warnings = match admit_scan(report.result, report.security_findings.len(), options) {
        Ok(ScanAdmission::Clean) => Vec::new(),
        Ok(ScanAdmission::WarningsAccepted) => finding_warnings(&report),
        Err(refusal) => {
            return Err(with_findings(refusal, &report, &advisory_snapshot).into());
        }
    };
    Ok(AdmittedPackage {
        manifest,
        report,
        advisory_snapshot,
        warnings,
        limits,
    })
}

/// Maps a bundle reader error to seed 03's codes.
pub fn bundle_error(error: installhub_bundle::BundleError) -> ApiError {
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

/// Every archive check and the scan in one pass off the async threads,
/// each artifact scanned as it is verified and then dropped, so memory
/// stays bounded whatever the bundle's size. Answers the manifest, the
/// merged scan report and the advisory snapshot every artifact was checked
/// against (taken once, so a refresh mid-package cannot mix two). The scan
/// route runs exactly this too.
pub async fn verify_and_scan(
    state: &AppState,
    bundle: &ReceivedBundle,
    limits: ReadLimits,
) -> ApiResult<(Manifest, ScanReport, AdvisorySnapshot)> {
    // Read through the handle the upload holds, not by path: a sweep of old
    // scratch files can then never take the package from under an import.
    let mut file = bundle
        .file
        .as_file()
        .try_clone()
        .map_err(ApiError::internal)?;
    let scanner = Arc::clone(state.scanner());
    let advisories = scanner.advisories();
    tokio::task::spawn_blocking(move || {
        file.seek(SeekFrom::Start(0)).map_err(ApiError::internal)?;
        let mut bundled = Vec::new();
        // The reader verifies, inflates and parses one artifact after
        // another while scanners (one per core) take them from a short
        // queue: parsing the scripts is the costly part of a scan, and the
        // queue bounds how many artifacts are in memory at once.
        let workers = scanner.max_threads();
        let (queue, taken) = std::sync::mpsc::sync_channel::<ArtifactFile>(workers);
        let taken = Arc::new(Mutex::new(taken));
        let (manifest, findings) = std::thread::scope(|scope| {
            let scanners: Vec<_> = (0..workers)
                .map(|_| {
                    // Each scanner owns a handle on the queue: if every one
                    // of them panicked, the queue closes and the reader's
                    // sends fail instead of blocking for ever.
                    let taken = Arc::clone(&taken);
                    let (scanner, advisories) = (&scanner, &advisories);
                    scope.spawn(move || {
                        let mut findings = Vec::new();
                        loop {
                            let next = taken.lock().unwrap_or_else(PoisonError::into_inner).recv();
                            let Ok(artifact) = next else {
                                break findings;
                            };
                            let report = scanner.scan_with(
                                advisories,
                                [ScanInput {
                                    artifact_id: artifact.id.as_str(),
                                    definition: &artifact.definition,
                                    libraries: &artifact.libraries,
                                }],
                            );
                            findings.extend(report.security_findings);
                        }
                    })
                })
                .collect();
            drop(taken);
            let manifest = read_bundle_each(file, &limits, |artifact, _| {
                bundled.push(artifact.bundled());
                // Fails only when every scanner panicked; the join below
                // then answers that panic, so nothing passes unscanned.
                let _ = queue.send(artifact);
                Ok(())
            });
            drop(queue);
            let findings: Vec<_> = scanners
                .into_iter()
                .flat_map(|handle| match handle.join() {
                    Ok(findings) => findings,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect();
            (manifest, findings)
        });
        let manifest = manifest.map_err(bundle_error)?;
        // What an export could not have produced: references to a third
        // tenant, a manifest that contradicts its files, forbidden text.
        check_imported(&manifest, &bundled).map_err(ApiError::failures)?;
        let snapshot = advisories.snapshot().clone();
        let mut report = ScanReport::from_findings(findings);
        report.advisory_snapshot = Some(snapshot.clone());
        Ok((manifest, report, snapshot))
    })
    .await
    .map_err(ApiError::internal)?
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
