#![doc = include_str!("../README.md")]

mod artifact_file;
mod error;
/// Fixtures for tests, this crate's and the server's (`test-support`).
#[cfg(feature = "test-support")]
pub mod fixtures;
mod limits;
mod names;
mod par;
mod prepare;
mod raw;
mod read;
/// The property tests' JSON values, shared with the integration tests.
#[cfg(test)]
#[path = "../tests/common/json.rs"]
mod test_json;
#[cfg(test)]
mod test_support;
mod transcode;
mod write;

pub use artifact_file::{ArtifactFile, encode_artifact, encode_manifest};
pub use error::{BundleError, BundleErrorCode, Mismatch};
pub use limits::{
    DEFAULT_MAX_ENTRIES, DEFAULT_MAX_MANIFEST_BYTES, DEFAULT_MAX_RATIO, DEFAULT_MAX_TOTAL_BYTES,
    ReadLimits,
};
pub use prepare::{MAX_DEFINITION_DEPTH, ManifestInput, PreparedBundle, prepare, prepare_stored};
pub use read::{
    CheckedFile, VerifiedBundle, read_bundle, read_bundle_each, read_bundle_each_after,
};
pub use write::write_zip;
