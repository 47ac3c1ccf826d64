//! The integration suite of `tests/api` again, each test on a fresh
//! PostgreSQL database (`INSTALLHUB_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`): one behaviour on both
//! backends. When PostgreSQL cannot be reached each test says so and runs
//! on SQLite (`INSTALLHUB_REQUIRE_POSTGRES=1` makes that a failure). The
//! OpenAPI snapshot and metrics tests do not depend on the database and run
//! once, in `tests/api`; the OpenAPI checks that call routes run on both.

/// Which database the servers of this test binary use.
pub mod backend {
    pub const POSTGRES: bool = true;
    pub const S3: bool = false;
}

#[path = "../api/admin.rs"]
mod admin;
#[path = "../api/auth.rs"]
mod auth;
use installhub_bundle::fixtures as bundle_support;
#[path = "../api/catalog.rs"]
mod catalog;
#[path = "../api/common.rs"]
mod common;
#[path = "../api/download.rs"]
mod download;
#[path = "../api/errors.rs"]
mod errors;
#[path = "../api/export.rs"]
mod export;
#[path = "../api/import.rs"]
mod import;
#[path = "../api/import_safety.rs"]
mod import_safety;
#[path = "../api/isolation.rs"]
mod isolation;
#[path = "../api/leftovers.rs"]
mod leftovers;
#[path = "../api/limits.rs"]
mod limits;
#[path = "../api/marketplace.rs"]
mod marketplace;
#[path = "../api/marketplace_install.rs"]
mod marketplace_install;
#[path = "../api/notifications.rs"]
mod notifications;
#[path = "../api/openapi.rs"]
mod openapi;
#[path = "../api/plans.rs"]
mod plans;
#[path = "../api/preview.rs"]
mod preview;
#[path = "../api/rate_limits.rs"]
mod rate_limits;
#[path = "../api/tenant_packages.rs"]
mod tenant_packages;
#[path = "../api/undo.rs"]
mod undo;
