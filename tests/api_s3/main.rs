//! The tests of `tests/api` that store, read and download bundles, again
//! with the bundles in an S3 bucket on a real S3 API server on loopback
//! (`moto_server`, a bucket per test) and the database on PostgreSQL: the
//! scaled-out set-up. Without `moto_server` each test says so and keeps
//! bundles on local disk (`INSTALLHUB_REQUIRE_S3=1` makes that a failure).

/// Where the servers of this test binary keep their data.
pub mod backend {
    pub const POSTGRES: bool = true;
    pub const S3: bool = true;
}

mod bucket;
use installhub_bundle::fixtures as bundle_support;
#[path = "../api/common.rs"]
mod common;
#[path = "../api/download.rs"]
mod download;
#[path = "../api/export.rs"]
mod export;
#[path = "../api/import.rs"]
mod import;
#[path = "../api/import_safety.rs"]
mod import_safety;
