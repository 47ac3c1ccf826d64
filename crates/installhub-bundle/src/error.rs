//! What can go wrong writing or reading a bundle, and which SPEC error code
//! each failure answers with. Every message names the entry and the precise
//! reason, because the import response shows it to the person who uploaded
//! the file and they have to be able to act on it.

use std::fmt;

/// The SPEC §7 / seed 03 error code a [`BundleError`] answers with.
///
/// The server maps these to its error envelope; they are kept here rather
/// than in `installhub_domain::ErrorCode` so this crate does not depend on
/// the server's vocabulary growing first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BundleErrorCode {
    /// `400 InvalidZip`: not a ZIP, an unsafe archive, or content that is
    /// not a valid bundle.
    InvalidZip,
    /// `400 ManifestMissing`: no `manifest.json` at the root.
    ManifestMissing,
    /// `400 ChecksumMismatch`: the files and the manifest disagree.
    ChecksumMismatch,
    /// `500`: the bytes could not be read or written, or the exporter passed
    /// inconsistent input; not the uploader's fault.
    Internal,
}

impl BundleErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            BundleErrorCode::InvalidZip => "InvalidZip",
            BundleErrorCode::ManifestMissing => "ManifestMissing",
            BundleErrorCode::ChecksumMismatch => "ChecksumMismatch",
            BundleErrorCode::Internal => "InternalError",
        }
    }
}

impl fmt::Display for BundleErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the files of a bundle disagree with its manifest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    /// An entry's bytes do not hash to its manifest line's `sha256`.
    #[error("{path}: manifest says sha256 {expected}, the file hashes to {actual}")]
    EntryHash {
        path: String,
        expected: String,
        actual: String,
    },
    /// The manifest's `checksum` is not the one its artifact lines imply.
    #[error("manifest checksum is {expected}, but its artifact lines give {actual}")]
    PackageChecksum { expected: String, actual: String },
    /// A manifest line names a file the archive does not have.
    #[error("{path} is listed in the manifest but missing from the archive")]
    FileMissing { path: String },
    /// The archive has an artifact file the manifest does not list.
    #[error("{path} is in the archive but not listed in the manifest")]
    FileNotInManifest { path: String },
    /// An artifact file's own field differs from its manifest line.
    #[error("{path}: manifest says {field} {expected:?}, the file says {actual:?}")]
    LineDisagrees {
        path: String,
        field: &'static str,
        expected: String,
        actual: String,
    },
}

/// A bundle could not be prepared, written or read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// The archive is not a ZIP, is unsafe, or breaks a limit.
    #[error("invalid bundle archive: {reason}")]
    InvalidZip { reason: String },
    /// There is no `manifest.json` at the root of the archive.
    #[error("manifest.json not found at the root of the bundle")]
    ManifestMissing,
    /// `manifest.json` is not a valid manifest.
    #[error("invalid manifest.json: {reason}")]
    InvalidManifest { reason: String },
    /// An artifact file is not a valid artifact file.
    #[error("invalid artifact file {path}: {reason}")]
    InvalidArtifactFile { path: String, reason: String },
    /// The files and the manifest disagree.
    #[error("bundle integrity check failed: {0}")]
    ChecksumMismatch(#[from] Mismatch),
    /// The exporter's input to [`crate::prepare`] is inconsistent.
    #[error("cannot prepare bundle: {reason}")]
    InvalidInput { reason: String },
    /// Reading or writing the underlying bytes failed.
    #[error("bundle I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl BundleError {
    /// The SPEC error code this failure answers with.
    pub fn code(&self) -> BundleErrorCode {
        match self {
            // A manifest or artifact file that is not what a bundle holds is
            // "not a valid bundle" to the uploader, like a bad entry name.
            BundleError::InvalidZip { .. }
            | BundleError::InvalidManifest { .. }
            | BundleError::InvalidArtifactFile { .. } => BundleErrorCode::InvalidZip,
            BundleError::ManifestMissing => BundleErrorCode::ManifestMissing,
            BundleError::ChecksumMismatch(_) => BundleErrorCode::ChecksumMismatch,
            BundleError::InvalidInput { .. } | BundleError::Io(_) => BundleErrorCode::Internal,
        }
    }

    pub(crate) fn invalid_zip(reason: impl Into<String>) -> Self {
        BundleError::InvalidZip {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_manifest(reason: impl Into<String>) -> Self {
        BundleError::InvalidManifest {
            reason: reason.into(),
        }
    }

    pub(crate) fn invalid_input(reason: impl Into<String>) -> Self {
        BundleError::InvalidInput {
            reason: reason.into(),
        }
    }

    /// Maps an error met while reading the archive. Corrupt or truncated data
    /// surfaces from `std::io` as `InvalidData`/`InvalidInput`/`UnexpectedEof`:
    /// those are the archive's fault; any other I/O error is ours.
    pub(crate) fn from_read(context: &str, error: std::io::Error) -> Self {
        use std::io::ErrorKind;
        match error.kind() {
            ErrorKind::InvalidData | ErrorKind::InvalidInput | ErrorKind::UnexpectedEof => {
                BundleError::invalid_zip(format!("{context}: {error}"))
            }
            _ => BundleError::Io(error),
        }
    }

    /// Maps an error from the `zip` crate while reading.
    pub(crate) fn from_zip(context: &str, error: zip::result::ZipError) -> Self {
        match error {
            zip::result::ZipError::Io(error) => BundleError::from_read(context, error),
            other => BundleError::invalid_zip(format!("{context}: {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_spec_section_7() {
        assert_eq!(BundleError::invalid_zip("x").code().as_str(), "InvalidZip");
        assert_eq!(
            BundleError::ManifestMissing.code().as_str(),
            "ManifestMissing"
        );
        assert_eq!(
            BundleError::invalid_manifest("x").code(),
            BundleErrorCode::InvalidZip
        );
        let mismatch = BundleError::from(Mismatch::FileMissing {
            path: "artifacts/a.json".into(),
        });
        assert_eq!(mismatch.code().as_str(), "ChecksumMismatch");
        assert_eq!(
            mismatch.to_string(),
            "bundle integrity check failed: artifacts/a.json is listed in the manifest but missing from the archive"
        );
    }

    #[test]
    fn truncated_data_is_the_archive_fault_but_other_io_is_ours() {
        use std::io::{Error, ErrorKind};
        let truncated = BundleError::from_read("x", Error::from(ErrorKind::UnexpectedEof));
        assert_eq!(truncated.code(), BundleErrorCode::InvalidZip);
        let denied = BundleError::from_read("x", Error::from(ErrorKind::PermissionDenied));
        assert_eq!(denied.code(), BundleErrorCode::Internal);
    }
}
