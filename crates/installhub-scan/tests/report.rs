//! Verdict aggregation, deterministic ordering, the wire shape and SARIF.

mod support;

use installhub_domain::Ecosystem::Npm;
use installhub_scan::{
    AdvisoryDb, AdvisorySnapshot, Finding, ScanInput, ScanReport, Severity, Verdict, rules,
    to_sarif,
};
use serde_json::{Value, json};
use support::{SCANNER, lib};

#[test]
fn verdict_aggregation() {
    let clean = json!({ "steps": [{ "url": "https://api.company.com" }] });
    let warn = json!({ "steps": [{ "url": "http://api.company.com" }] });
    let fail = json!({ "steps": [{ "script": "eval(x)" }] });
    let scan = |defs: &[&Value]| {
        SCANNER
            .scan(defs.iter().enumerate().map(|(i, d)| ScanInput {
                artifact_id: ["a", "b", "c"][i],
                definition: d,
                libraries: &[],
            }))
            .result
    };
    assert_eq!(scan(&[]), Verdict::Pass);
    assert_eq!(scan(&[&clean]), Verdict::Pass);
    assert_eq!(scan(&[&clean, &warn]), Verdict::Warn);
    assert_eq!(scan(&[&warn, &fail, &clean]), Verdict::Fail);

    // A Critical advisory fails; a High one warns.
    let empty = json!({});
    let with_libs = |libraries: &[installhub_domain::Library]| {
        SCANNER
            .scan([ScanInput {
                artifact_id: "a",
                definition: &empty,
                libraries,
            }])
            .result
    };
    assert_eq!(with_libs(&[lib(Npm, "lodash", "4.17.20")]), Verdict::Warn);
    assert_eq!(with_libs(&[lib(Npm, "minimist", "1.2.5")]), Verdict::Fail);
    assert_eq!(with_libs(&[lib(Npm, "lodash", "4.17.21")]), Verdict::Pass);
}

#[test]
fn wire_shape() {
    let report = ScanReport {
        result: Verdict::Warn,
        security_findings: vec![Finding {
            rule_id: "plain-http".into(),
            severity: Severity::Low,
            artifact_id: "proc-1001".into(),
            path: "/steps/2/url".into(),
            message: "m".into(),
            capability: None,
            snippet: None,
            advisory: None,
        }],
        advisory_snapshot: Some(AdvisorySnapshot {
            id: "0123456789abcdef".into(),
            source: "embedded".into(),
            created_at: "2024-07-25T20:12:08Z".into(),
            advisory_count: 6,
            package_count: 9,
            newest_modified: None,
        }),
    };
    let finding = json!({
        "ruleId": "plain-http",
        "severity": "Low",
        "artifactId": "proc-1001",
        "path": "/steps/2/url",
        "message": "m"
    });
    assert_eq!(
        serde_json::to_value(&report).unwrap(),
        json!({
            "result": "WARN",
            "securityFindings": [finding],
            "advisorySnapshot": {
                "id": "0123456789abcdef",
                "source": "embedded",
                "createdAt": "2024-07-25T20:12:08Z",
                "advisoryCount": 6,
                "packageCount": 9
            }
        })
    );
    // A report stored before reports named their snapshot still reads.
    let old: ScanReport =
        serde_json::from_value(json!({"result": "WARN", "securityFindings": [finding]})).unwrap();
    assert_eq!(old.advisory_snapshot, None);
    for (v, s) in [
        (Verdict::Pass, "PASS"),
        (Verdict::Warn, "WARN"),
        (Verdict::Fail, "FAIL"),
    ] {
        assert_eq!(serde_json::to_value(v).unwrap(), json!(s));
    }
    let back: ScanReport = serde_json::from_value(serde_json::to_value(&report).unwrap()).unwrap();
    assert_eq!(back, report);
}

fn busy_inputs() -> Vec<(String, Value, Vec<installhub_domain::Library>)> {
    vec![
        (
            "proc-2".into(),
            json!({ "z": "eval(1)", "a": ["http://x.company.com", { "__proto__": "require('fs')" }] }),
            vec![lib(Npm, "lodash", "4.17.15"), lib(Npm, "minimist", "1.2.0")],
        ),
        (
            "proc-1".into(),
            json!({ "steps": [{ "script": "os.system('id')" }, { "token": "abcd1234efgh" }] }),
            vec![],
        ),
    ]
}

#[test]
fn findings_are_sorted_and_deterministic() {
    let inputs = busy_inputs();
    let run = |reverse: bool| {
        let mut list: Vec<ScanInput<'_>> = inputs
            .iter()
            .map(|(id, d, l)| ScanInput {
                artifact_id: id,
                definition: d,
                libraries: l,
            })
            .collect();
        if reverse {
            list.reverse();
        }
        SCANNER.scan(list)
    };
    let a = run(false);
    let b = run(true);
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let keys: Vec<(&str, &str, &str)> = a
        .security_findings
        .iter()
        .map(|f| (f.artifact_id.as_str(), f.path.as_str(), f.rule_id.as_str()))
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(a.result, Verdict::Fail);
    let summary: Vec<(&str, &str, &str)> = keys;
    assert_eq!(
        summary,
        [
            ("proc-1", "/steps/0/script", "code-process"),
            ("proc-1", "/steps/1/token", "secret-assignment"),
            ("proc-2", "/a/0", "plain-http"),
            ("proc-2", "/a/1/__proto__", "code-module-load"),
            ("proc-2", "/a/1/__proto__", "prototype-pollution"),
            ("proc-2", "/libraries/0", "vulnerable-library"),
            ("proc-2", "/libraries/0", "vulnerable-library"),
            ("proc-2", "/libraries/1", "vulnerable-library"),
            ("proc-2", "/z", "code-eval"),
        ]
    );
}

#[test]
fn sarif_is_structurally_valid() {
    let inputs = busy_inputs();
    let report = SCANNER.scan(inputs.iter().map(|(id, d, l)| ScanInput {
        artifact_id: id,
        definition: d,
        libraries: l,
    }));
    let sarif = to_sarif(&report, "0.1.0", |id| format!("artifacts/{id}.json"));
    assert_eq!(
        sarif["$schema"],
        "https://json.schemastore.org/sarif-2.1.0.json"
    );
    assert_eq!(sarif["version"], "2.1.0");
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let driver = &runs[0]["tool"]["driver"];
    assert_eq!(driver["name"], "installhub-scan");
    assert_eq!(driver["version"], "0.1.0");
    let sarif_rules = driver["rules"].as_array().unwrap();
    assert_eq!(sarif_rules.len(), rules().len());
    for (rule, table) in sarif_rules.iter().zip(rules()) {
        assert_eq!(rule["id"], table.id);
        assert_eq!(rule["shortDescription"]["text"], table.title);
        assert_eq!(rule["fullDescription"]["text"], table.rationale);
        let level = rule["defaultConfiguration"]["level"].as_str().unwrap();
        assert_eq!(
            level,
            if table.verdict == Verdict::Fail {
                "error"
            } else {
                "warning"
            }
        );
    }
    let results = runs[0]["results"].as_array().unwrap();
    assert_eq!(results.len(), report.security_findings.len());
    for (result, finding) in results.iter().zip(&report.security_findings) {
        assert_eq!(result["ruleId"], finding.rule_id.as_str());
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(sarif_rules[index]["id"], finding.rule_id.as_str());
        assert_eq!(result["message"]["text"], finding.message.as_str());
        let location = &result["locations"][0];
        assert_eq!(
            location["physicalLocation"]["artifactLocation"]["uri"],
            format!("artifacts/{}.json", finding.artifact_id)
        );
        assert_eq!(
            location["logicalLocations"][0]["name"],
            finding.path.as_str()
        );
        assert_eq!(result["properties"]["jsonPointer"], finding.path.as_str());
        let expected = if finding.verdict() == Verdict::Fail {
            "error"
        } else {
            "warning"
        };
        assert_eq!(result["level"], expected, "{finding:?}");
    }
    // Critical CVE → error; High CVE → warning.
    let levels: Vec<(&str, &str)> = results
        .iter()
        .filter(|r| r["ruleId"] == "vulnerable-library")
        .map(|r| {
            (
                r["properties"]["advisory"]["id"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(
        levels.contains(&("GHSA-xvch-5gv4-984h", "error")),
        "{levels:?}"
    );
    assert!(
        levels.contains(&("GHSA-p6mc-m468-83gw", "warning")),
        "{levels:?}"
    );
}

#[test]
fn sarif_snapshot() {
    let definition = json!({ "steps": [{ "script": "eval(input.code)" }, { "url": "http://api.partner.com/x" }] });
    let report = SCANNER.scan([ScanInput {
        artifact_id: "proc-1001",
        definition: &definition,
        libraries: &[lib(Npm, "minimist", "1.2.5")],
    }]);
    let mut sarif = to_sarif(&report, "0.1.0", |id| format!("artifacts/{id}.json"));
    // The rule table is checked field by field above; keep the snapshot to results.
    sarif["runs"][0]["tool"]["driver"]["rules"] = json!("<rules>");
    insta::assert_json_snapshot!(sarif);
}

#[test]
fn scanner_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<installhub_scan::Scanner>();
    assert_send_sync::<AdvisoryDb>();
}
