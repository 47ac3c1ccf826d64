//! Errors of loading an advisory database. Scanning itself cannot fail: bad
//! input is what it looks for.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot read advisory path {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("advisory file {path} is not valid OSV JSON: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("advisory file {path} is not a usable OSV record: {reason}")]
    InvalidAdvisory { path: PathBuf, reason: String },
}
