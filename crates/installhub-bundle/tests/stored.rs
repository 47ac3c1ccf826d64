//! `prepare_stored` (definitions as the store's JSON text) makes exactly the
//! bundle `prepare` makes of the same artifacts with parsed definitions,
//! whatever the text: serde_json's sorted compact form (streamed without a
//! `Value` tree), other layouts and key orders (parsed first), and it
//! refuses what `prepare` refuses.

mod common;

use common::json::json_value;
use installhub_bundle::fixtures::*;
use installhub_bundle::{MAX_DEFINITION_DEPTH, PreparedBundle, prepare, prepare_stored, write_zip};
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactType, StoredArtifact, TenantId,
};
use proptest::prelude::*;
use serde_json::{Value, json};

fn stored(artifact: &Artifact, definition_json: String) -> StoredArtifact {
    StoredArtifact {
        tenant_id: artifact.tenant_id.clone(),
        id: artifact.id.clone(),
        artifact_type: artifact.artifact_type,
        name: artifact.name.clone(),
        version: artifact.version.clone(),
        status: artifact.status,
        definition_json,
        references: artifact.references.clone(),
        libraries: artifact.libraries.clone(),
        updated_at: artifact.updated_at,
    }
}

fn zip(bundle: &PreparedBundle) -> Vec<u8> {
    write_zip(bundle, std::io::Cursor::new(Vec::new()))
        .unwrap()
        .into_inner()
}

fn one(definition: Value) -> Artifact {
    let mut a = artifact("a", ArtifactType::ProcessDefinition, &[]);
    a.definition = definition;
    a
}

/// Both paths on one artifact whose definition is `text`; `text` must parse
/// to `value`.
fn assert_same(value: Value, text: &str) {
    let parsed = prepare(input(&["a"]), &[one(value)]);
    let streamed = prepare_stored(input(&["a"]), &[stored(&one(Value::Null), text.into())]);
    match (parsed, streamed) {
        (Ok(parsed), Ok(streamed)) => {
            assert_eq!(parsed, streamed, "{text}");
            assert_eq!(zip(&parsed), zip(&streamed), "{text}");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
        (a, b) => panic!("{text}: prepare {a:?}, prepare_stored {b:?}"),
    }
}

#[test]
fn the_seed_bundle_is_the_same_from_stored_text() {
    let artifacts = seed_artifacts();
    let texts: Vec<StoredArtifact> = artifacts
        .iter()
        .map(|a| stored(a, serde_json::to_string(&a.definition).unwrap()))
        .collect();
    let streamed = prepare_stored(input(&SEED_ORDER), &texts).unwrap();
    assert_eq!(streamed, seed_bundle());
    assert_eq!(zip(&streamed), zip(&seed_bundle()));
}

#[test]
fn floats_escapes_empties_and_unicode_encode_alike() {
    let cases = [
        r#"{"x":-453131656.00115836,"y":0.1,"z":1e-300,"w":-0.0,"v":1e300,"u":5e-324,"t":1.7976931348623157e308}"#,
        r#"{"big":18446744073709551615,"neg":-9223372036854775808,"over":18446744073709551616,"e":1E2,"f":1.0}"#,
        r#"{"s":"\"\\\/\b\f\n\r\t\u0000\u001f\u007f\u2028\u2029é😀\ud83d\ude00"}"#,
        r#"{"":{},"a":[],"b":[{}],"c":[[]],"d":{"":[]}}"#,
        r#"{"Z":1,"a":2,"é":3,"😀":4,"\u00e9\u0301":5}"#,
        r#"{"k\"q":1,"k\\":2,"k\n":0}"#,
        r#"[1,"two",null,true,false,{"a":{"b":{"c":[]}}}]"#,
        r#""just a string""#,
        "42",
        "null",
        // Another layout of the same value: whitespace is not kept.
        "{ \"a\" : [ 1 , 2 ] ,\n\t\"b\" : { } }",
    ];
    for text in cases {
        assert_same(serde_json::from_str(text).unwrap(), text);
    }
}

#[test]
fn unsorted_and_duplicate_keys_encode_as_the_parsed_value() {
    for text in [
        r#"{"b":1,"a":2}"#,
        r#"{"a":{"y":1,"x":2},"b":3}"#,
        r#"{"a":1,"a":2}"#,
        r#"{"a":[{"k":1,"k":{"z":0,"y":1}}]}"#,
        r#"{"é":1,"z":2}"#,
    ] {
        assert_same(serde_json::from_str(text).unwrap(), text);
    }
}

#[test]
fn the_depth_limit_holds_on_both_paths() {
    let nested = |levels: usize| "[".repeat(levels) + &"]".repeat(levels);
    for levels in [
        MAX_DEFINITION_DEPTH - 1,
        MAX_DEFINITION_DEPTH,
        MAX_DEFINITION_DEPTH + 1,
    ] {
        let text = nested(levels);
        assert_same(serde_json::from_str(&text).unwrap(), &text);
    }
    let deepest = nested(MAX_DEFINITION_DEPTH + 1);
    let err = prepare_stored(input(&["a"]), &[stored(&one(Value::Null), deepest)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot prepare bundle: the definition of a nests deeper than 100 levels"
    );
    // Past serde_json's own recursion limit the text cannot even be parsed.
    let err = prepare_stored(input(&["a"]), &[stored(&one(Value::Null), nested(200))]).unwrap_err();
    assert!(err.to_string().contains("is not JSON"), "{err}");
}

#[test]
fn text_that_is_not_json_is_refused() {
    for text in [
        "",
        "{",
        r#"{"a":1} x"#,
        r#"{"a":01}"#,
        "[1,]",
        "1e400",
        "{\"a\":\"\\x\"}",
    ] {
        let err =
            prepare_stored(input(&["a"]), &[stored(&one(Value::Null), text.into())]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot prepare bundle: the definition of a is not JSON: "),
            "{text}: {err}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn stored_text_encodes_as_the_parsed_value(
        value in json_value("\\PC{0,4}|[\\x00-\\x1f\"\\\\]{1,2}")
    ) {
        let compact = serde_json::to_string(&value).unwrap();
        assert_same(value.clone(), &compact);
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        assert_same(value, &pretty);
    }
}

#[test]
fn a_large_stored_export_is_the_same_bundle() {
    let tenant = TenantId::parse(TENANT).unwrap();
    let artifacts: Vec<Artifact> = (0..40)
        .map(|i| Artifact {
            tenant_id: tenant.clone(),
            id: ArtifactId::parse(&format!("a{i:03}")).unwrap(),
            artifact_type: ArtifactType::ALL[i % ArtifactType::ALL.len()],
            name: format!("Artifact {i}"),
            version: "1.0.0".into(),
            status: ArtifactStatus::Published,
            definition: json!({
                "steps": (0..50).map(|s| json!({"id": s, "w": s as f64 / 7.0, "label": format!("step {s} of {i}")})).collect::<Vec<_>>(),
                "meta": {"owner": "team", "tags": ["x", "y"], "empty": {}},
            }),
            references: vec![],
            libraries: vec![],
            updated_at: chrono::DateTime::UNIX_EPOCH,
        })
        .collect();
    let order: Vec<String> = artifacts.iter().map(|a| a.id.to_string()).collect();
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    let texts: Vec<StoredArtifact> = artifacts
        .iter()
        .rev()
        .map(|a| stored(a, serde_json::to_string(&a.definition).unwrap()))
        .collect();
    let parsed = prepare(input(&order), &artifacts).unwrap();
    let streamed = prepare_stored(input(&order), &texts).unwrap();
    assert_eq!(zip(&parsed), zip(&streamed));
}
