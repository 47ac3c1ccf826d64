//! Integration tests: the real server over HTTP on an ephemeral port, on
//! SQLite (`tests/api_postgres` runs the same tests on PostgreSQL).

/// Which database the servers of this test binary use.
pub mod backend {
    pub const POSTGRES: bool = false;
    pub const S3: bool = false;
}

mod admin;
mod auth;
use installhub_bundle::fixtures as bundle_support;
mod catalog;
mod common;
mod download;
mod errors;
mod export;
mod import;
mod import_safety;
mod isolation;
mod leftovers;
mod limits;
mod marketplace;
mod marketplace_install;
mod notifications;
mod openapi;
mod ops;
mod plans;
mod preview;
mod rate_limits;
mod tenant_packages;
mod undo;
