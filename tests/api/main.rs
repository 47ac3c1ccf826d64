//! Integration tests: the real server over HTTP on an ephemeral port.

mod auth;
mod catalog;
mod common;
mod download;
mod errors;
mod export;
mod isolation;
mod ops;
mod preview;
mod rate_limits;
