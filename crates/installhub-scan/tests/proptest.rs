//! Scanning arbitrary JSON never panics, and the report is always sorted and
//! consistent with its verdict.

#[path = "../benches/support/pathological.rs"]
mod pathological;
mod support;

use installhub_domain::{Ecosystem, Library};
use installhub_scan::{ScanInput, Verdict};
use proptest::prelude::*;
use serde_json::{Map, Value};
use support::SCANNER;

/// Strings biased toward the scanner's keywords and escapes.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z\\\\\"'`+(){}$#%<>./:@ ]{0,40}",
        proptest::sample::select(vec![
            "eval(",
            "\"ev\"+\"al\"",
            "\\x65",
            "\\u{",
            "\\u00",
            "atob('",
            "String.fromCharCode(",
            "{{input.x}}",
            "${",
            "<%",
            "__proto__",
            "http://",
            "Bearer ",
            "eyJ",
            "-----BEGIN PRIVATE KEY-----",
            "AKIA",
            "://a:b@",
            "&#",
            "powershell -enc ",
            "[char]",
            "chr(",
            "'lave'.split('').reverse().join('')",
            "globalThis[",
            "(0, eval)(",
            "&($x",
            "iex ",
            "[scriptblock]::Create(",
            "import os\n",
            "getattr(__builtins__, ",
            "def f(x):\n    return ",
            "!!!!!!!!",
            "a=>",
            "\\u0065",
            "ｅｘｅｃ(",
            "`${",
            "require(",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Object keys: any text, or a field whose strings are parsed as code.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        text(),
        proptest::sample::select(vec!["script", "expression", "condition", "python", "body"])
            .prop_map(str::to_owned),
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn library() -> impl Strategy<Value = Library> {
    (
        proptest::sample::select(Ecosystem::ALL.to_vec()),
        prop_oneof![
            Just("lodash".to_owned()),
            Just("PyYAML".to_owned()),
            any::<String>()
        ],
        prop_oneof![any::<String>(), "[0-9.a-z+-]{0,12}"],
    )
        .prop_map(|(ecosystem, name, version)| Library {
            ecosystem,
            name,
            version,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn scanning_never_panics(definition in json(), libraries in prop::collection::vec(library(), 0..4)) {
        let report = SCANNER.scan([ScanInput { artifact_id: "a", definition: &definition, libraries: &libraries }]);
        let worst = report.security_findings.iter().map(|f| f.verdict()).max().unwrap_or(Verdict::Pass);
        prop_assert_eq!(report.result, worst);
        for finding in &report.security_findings {
            if !finding.path.starts_with("/libraries/") || definition.pointer("/libraries").is_some() {
                // Definition findings point at something that exists.
                prop_assert!(
                    finding.path.starts_with("/libraries/") || definition.pointer(&finding.path).is_some(),
                    "dangling pointer {}", finding.path
                );
            }
        }
    }

    #[test]
    fn any_string_scans(s in any::<String>()) {
        let definition = Value::String(s);
        let _ = SCANNER.scan([ScanInput { artifact_id: "a", definition: &definition, libraries: &[] }]);
    }
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    let mut value = Value::String("eval(1)".into());
    for _ in 0..100_000 {
        value = Value::Array(vec![value]);
    }
    let report = SCANNER.scan([ScanInput {
        artifact_id: "a",
        definition: &value,
        libraries: &[],
    }]);
    assert_eq!(report.result, Verdict::Fail);
    // serde_json drops nested values recursively; unwind it by hand.
    let mut current = value;
    while let Value::Array(mut items) = current {
        current = items.pop().unwrap_or(Value::Null);
    }
}

/// Hostile shapes that would be quadratic (or explode) in a careless
/// scanner are scanned to a sorted report consistent with its verdict,
/// the same twice. How fast is the scan bench's business (group
/// `pathological`), never a timed assertion here.
#[test]
fn pathological_strings_are_scanned_to_a_consistent_report() {
    for case in pathological::cases() {
        for field in ["script", "name"] {
            let definition = serde_json::json!({ field: case });
            let scan = || {
                SCANNER.scan([ScanInput {
                    artifact_id: "a",
                    definition: &definition,
                    libraries: &[],
                }])
            };
            let report = scan();
            let worst = report
                .security_findings
                .iter()
                .map(|f| f.verdict())
                .max()
                .unwrap_or(Verdict::Pass);
            assert_eq!(report.result, worst, "{field}: {case:.40}");
            for finding in &report.security_findings {
                assert!(
                    definition.pointer(&finding.path).is_some(),
                    "{}",
                    finding.path
                );
            }
            assert_eq!(report, scan(), "{field}: {case:.40}");
        }
    }
}

/// Recursive-descent parsers recurse once per level of an operator chain;
/// chains just under the parse limit run on a stack grown for them, on a
/// thread with the default 2 MiB (as the server's blocking threads have).
#[test]
fn operator_chains_do_not_overflow_the_parsers_stack() {
    let chains = [
        "!".repeat(60_000) + "x",
        "a=".repeat(30_000) + "1",
        "a?b:".repeat(15_000) + "c",
        "new ".repeat(60_000) + "X",
        "a if b else ".repeat(15_000) + "c",
        "-".repeat(60_000) + "eval(x)",
    ];
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            for chain in &chains {
                let definition = serde_json::json!({ "script": chain });
                let report = SCANNER.scan([ScanInput {
                    artifact_id: "a",
                    definition: &definition,
                    libraries: &[],
                }]);
                if chain.ends_with("eval(x)") {
                    assert_eq!(report.result, Verdict::Fail);
                }
            }
        })
        .expect("a thread starts")
        .join()
        .expect("no chain overflows the stack");
}
