//! Errors of loading an advisory database. Scanning itself cannot fail: bad
//! input is what it looks for.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The io error is the source, not part of the message: a report that
    /// prints the chain (anyhow's `{:#}`) would show it twice.
    #[error("cannot read advisory path {path}")]
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
    /// An OSV export that cannot be imported as a whole: not a zip, a
    /// corrupt entry, or beyond the size limits. A bad *record* inside a
    /// good archive is skipped and counted instead.
    #[error("advisory export {origin} cannot be imported: {reason}")]
    Export { origin: String, reason: String },
    /// An advisory index that is missing, torn, of another format version
    /// or whose checksum does not match.
    #[error("advisory index {path} cannot be used: {reason}")]
    Index { path: PathBuf, reason: String },
}
