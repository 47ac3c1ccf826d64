//! What a scan answers: the verdict and its findings, in the wire shape of
//! SPEC §7 (`{result, securityFindings: [{ruleId, severity, artifactId, path,
//! message}]}`), so the server and the CLI serialize it as is.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::advisory::AdvisorySnapshot;
use crate::rules::{RuleId, rules};

/// The scan result, the domain's: the import's admission decides on it.
pub use installhub_domain::Verdict;

/// How bad one finding is. Declared most severe first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "Critical",
            Severity::High => "High",
            Severity::Medium => "Medium",
            Severity::Low => "Low",
        }
    }
}

/// What a piece of code can reach: the capability a code finding names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
pub enum Capability {
    /// Text becomes code at run time: `eval`, the Function constructor,
    /// `exec`, `Invoke-Expression`, code-running deserializers.
    DynamicCode,
    /// An operating-system process starts.
    ProcessSpawn,
    /// A module or native library outside the allowed list is loaded.
    ModuleLoad,
    /// The host's global, module or process objects are reached by a
    /// computed key or handed around as values.
    HostObject,
    /// The prototype chain of built-in objects is changed or walked.
    PrototypeChain,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::DynamicCode => "DynamicCode",
            Capability::ProcessSpawn => "ProcessSpawn",
            Capability::ModuleLoad => "ModuleLoad",
            Capability::HostObject => "HostObject",
            Capability::PrototypeChain => "PrototypeChain",
        }
    }
}

/// The advisory behind a `vulnerable-library` or
/// `unverifiable-library-version` finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdvisoryRef {
    /// The OSV id (`GHSA-...`, `PYSEC-...`, `CVE-...`).
    pub id: String,
    /// Other ids of the same vulnerability, CVE ids among them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Where to read about it.
    pub url: String,
    /// The first fixed version above the scanned one, when the advisory names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
}

/// One thing the scan found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub artifact_id: String,
    /// RFC 6901 JSON pointer. For definition findings it points into the
    /// artifact's `definition` (`/steps/2/script`; for a finding on an object
    /// key, the member's pointer). For library findings it points into the
    /// artifact file: `/libraries/<index>`.
    pub path: String,
    pub message: String,
    /// For code findings: what the code can reach.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability: Option<Capability>,
    /// For code, template and secret findings: the text that was judged,
    /// on one line (secrets redacted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory: Option<AdvisoryRef>,
}

impl Finding {
    /// What this one finding does to the verdict: its rule's verdict, except
    /// that a Critical advisory fails.
    pub fn verdict(&self) -> Verdict {
        let Some(rule) = rules().iter().find(|r| r.id == self.rule_id) else {
            return Verdict::Warn;
        };
        if rule.id == RuleId::VulnerableLibrary.id() && self.severity == Severity::Critical {
            Verdict::Fail
        } else {
            rule.verdict
        }
    }
}

/// The whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScanReport {
    pub result: Verdict,
    /// Sorted by (artifactId, path, ruleId, message) so the same input always
    /// gives the same bytes.
    pub security_findings: Vec<Finding>,
    /// The advisory data the libraries were checked against. Every report a
    /// [`Scanner`](crate::Scanner) makes names it; absent only from reports
    /// merged by hand ([`ScanReport::from_findings`]) and stored before it
    /// existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory_snapshot: Option<AdvisorySnapshot>,
}

impl ScanReport {
    /// Sorts, drops exact duplicates and computes the verdict; also merges
    /// the findings of scans run one artifact at a time.
    pub fn from_findings(mut findings: Vec<Finding>) -> ScanReport {
        findings.sort_by(|a, b| {
            (&a.artifact_id, &a.path, &a.rule_id, &a.message).cmp(&(
                &b.artifact_id,
                &b.path,
                &b.rule_id,
                &b.message,
            ))
        });
        // One finding per rule and place (a key and its value share a
        // pointer); advisories stay apart, one per advisory id.
        findings.dedup_by(|b, a| {
            a.artifact_id == b.artifact_id
                && a.path == b.path
                && a.rule_id == b.rule_id
                && a.advisory.as_ref().map(|x| &x.id) == b.advisory.as_ref().map(|x| &x.id)
        });
        let result = findings
            .iter()
            .map(Finding::verdict)
            .max()
            .unwrap_or(Verdict::Pass);
        ScanReport {
            result,
            security_findings: findings,
            advisory_snapshot: None,
        }
    }
}
