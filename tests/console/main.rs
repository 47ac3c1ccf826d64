//! The web console under `/console`: plain HTTP tests of its headers,
//! CSRF, sessions and escaping (`http`), of the marketplace, its install
//! events and the notifications (`marketplace`) and of the catalog's
//! selection of several roots (`selection`), and browser journeys in a real
//! headless Chromium driven over WebDriver (`browser`). Both run against
//! the real server on an ephemeral port with real tokens.

/// Which database the servers of this test binary use.
pub mod backend {
    pub const POSTGRES: bool = false;
    pub const S3: bool = false;
}

mod browser;
#[path = "../api/common.rs"]
mod common;
mod http;
mod import;
mod marketplace;
mod page;
mod selection;
