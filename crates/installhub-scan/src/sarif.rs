//! SARIF 2.1.0 output, for code-scanning dashboards and CI annotations.
//! Each finding becomes a result whose physical location is the artifact
//! file and whose logical location is the JSON pointer inside it.

use serde_json::{Value, json};

use crate::report::{ScanReport, Severity, Verdict};
use crate::rules::rules;

fn level(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Fail => "error",
        Verdict::Warn => "warning",
        Verdict::Pass => "note",
    }
}

/// GitHub code scanning reads `security-severity` (0.0–10.0) to rank alerts.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "2.0",
    }
}

/// The report as a SARIF 2.1.0 log with one run. `artifact_uri` maps an
/// artifact id to the file a reader should open, e.g.
/// `|id| format!("artifacts/{id}.json")`.
pub fn to_sarif(
    report: &ScanReport,
    tool_version: &str,
    artifact_uri: impl Fn(&str) -> String,
) -> Value {
    let table = rules();
    let sarif_rules: Vec<Value> = table
        .iter()
        .map(|rule| {
            json!({
                "id": rule.id,
                "name": rule.title,
                "shortDescription": { "text": rule.title },
                "fullDescription": { "text": rule.rationale },
                "defaultConfiguration": { "level": level(rule.verdict) },
                "properties": {
                    "security-severity": security_severity(rule.severity),
                    "tags": ["security"],
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .security_findings
        .iter()
        .map(|finding| {
            let mut properties = json!({
                "jsonPointer": finding.path,
                "severity": finding.severity,
                "artifactId": finding.artifact_id,
            });
            if let Some(advisory) = &finding.advisory {
                properties["advisory"] = json!(advisory);
            }
            if let Some(capability) = finding.capability {
                properties["capability"] = json!(capability);
            }
            if let Some(snippet) = &finding.snippet {
                properties["snippet"] = json!(snippet);
            }
            let mut result = json!({
                "ruleId": finding.rule_id,
                "level": level(finding.verdict()),
                "message": { "text": finding.message },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": artifact_uri(&finding.artifact_id) },
                    },
                    "logicalLocations": [{
                        "name": finding.path,
                        "fullyQualifiedName": format!("{}{}", finding.artifact_id, finding.path),
                        "kind": "value",
                    }],
                }],
                "properties": properties,
            });
            if let Some(index) = table.iter().position(|r| r.id == finding.rule_id) {
                result["ruleIndex"] = json!(index);
            }
            result
        })
        .collect();
    let mut properties = json!({ "verdict": report.result });
    if let Some(snapshot) = &report.advisory_snapshot {
        properties["advisorySnapshot"] = json!(snapshot);
    }
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "installhub-scan",
                    "version": tool_version,
                    "rules": sarif_rules,
                },
            },
            "results": results,
            "properties": properties,
        }],
    })
}
