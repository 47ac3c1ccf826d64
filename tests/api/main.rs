//! Integration tests: the real server over HTTP on an ephemeral port.

mod auth;
#[path = "../../crates/installhub-bundle/tests/support/mod.rs"]
mod bundle_support;
mod catalog;
mod common;
mod download;
mod errors;
mod export;
mod import;
mod import_safety;
mod isolation;
mod ops;
mod preview;
mod rate_limits;
