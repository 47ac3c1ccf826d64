#![doc = include_str!("../README.md")]

mod advisory;
mod code;
mod detect;
mod error;
mod normalize;
mod pointer;
mod prefilter;
mod report;
mod rules;
mod sarif;
mod scanner;

pub use advisory::{
    AdvisoryDb, AdvisoryImport, AdvisorySnapshot, EMBEDDED_SOURCE, INDEX_FORMAT_VERSION,
    ImportStats, ZipLimits,
};
pub use error::ScanError;
pub use report::{AdvisoryRef, Capability, Finding, ScanReport, Severity, Verdict};
pub use rules::{Rule, rules};
pub use sarif::to_sarif;
pub use scanner::{ScanInput, Scanner};
