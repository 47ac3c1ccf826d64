//! Shared helpers for the integration tests.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of the helpers"
)]

use installhub_domain::{Ecosystem, Library};
use installhub_scan::{AdvisoryDb, ScanInput, ScanReport, Scanner};
use serde_json::Value;
use std::sync::LazyLock;

pub static SCANNER: LazyLock<Scanner> = LazyLock::new(|| Scanner::new(AdvisoryDb::embedded()));

pub fn scan_definition(definition: &Value) -> ScanReport {
    SCANNER.scan([ScanInput {
        artifact_id: "proc-1001",
        definition,
        libraries: &[],
    }])
}

/// `(ruleId, path)` of every finding.
pub fn hits(definition: &Value) -> Vec<(String, String)> {
    scan_definition(definition)
        .security_findings
        .into_iter()
        .map(|f| (f.rule_id, f.path))
        .collect()
}

pub fn lib(ecosystem: Ecosystem, name: &str, version: &str) -> Library {
    Library {
        ecosystem,
        name: name.to_owned(),
        version: version.to_owned(),
    }
}

pub fn scan_libraries(db: &AdvisoryDb, libraries: &[Library]) -> ScanReport {
    let definition = serde_json::json!({});
    Scanner::new(db.clone()).scan([ScanInput {
        artifact_id: "app-1",
        definition: &definition,
        libraries,
    }])
}
