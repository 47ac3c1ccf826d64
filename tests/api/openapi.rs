//! The OpenAPI document against the wire: every enum lists exactly the names
//! serde writes and reads, every example validates against its own schema,
//! and answers the server really gives validate against the document.

use std::collections::BTreeMap;

use installhub_domain::marketplace::{InstallStage, InstallStatus};
use installhub_domain::{
    ArtifactStatus, ArtifactType, ConflictStrategy, Ecosystem, ErrorCode, ImportSource,
    ImportStatus, InstalledStatus, NotificationKind, PackageType, Plan, PlannedAction,
    TenantStatus, TrustLevel, Verdict,
};
use installhub_scan::{Capability, Severity};
use serde::Serialize;
use serde_json::{Value, json};

use crate::common::*;
use installhub_server::controllers::undo::Undone;

async fn document(app: &TestApp) -> Value {
    let reply = app.send(app.http.get(app.url("/api/openapi.json"))).await;
    assert_eq!(reply.status, 200);
    reply.json()
}

fn wire<T: Serialize>(values: &[T]) -> Vec<Value> {
    values
        .iter()
        .map(|v| serde_json::to_value(v).expect("an enum serialises"))
        .collect()
}

/// The scan's severities; same rule as [`verdicts`].
fn severities() -> Vec<Severity> {
    let all = vec![
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];
    for s in &all {
        match s {
            Severity::Critical | Severity::High | Severity::Medium | Severity::Low => {}
        }
    }
    all
}

/// The capabilities a code finding names; same rule as [`severities`]:
/// the `match` fails to compile when a variant is added.
fn capabilities() -> Vec<Capability> {
    use Capability::{DynamicCode, HostObject, ModuleLoad, ProcessSpawn, PrototypeChain};
    let all = vec![
        DynamicCode,
        ProcessSpawn,
        ModuleLoad,
        HostObject,
        PrototypeChain,
    ];
    for c in &all {
        match c {
            DynamicCode | ProcessSpawn | ModuleLoad | HostObject | PrototypeChain => {}
        }
    }
    all
}

/// Every enum with a schema, as serde writes each variant. The domain's
/// enums come from `ALL`, which their macro builds from the variant list.
fn serde_enums() -> BTreeMap<&'static str, Vec<Value>> {
    BTreeMap::from([
        ("Plan", wire(Plan::ALL)),
        ("TenantStatus", wire(TenantStatus::ALL)),
        ("ConflictStrategy", wire(ConflictStrategy::ALL)),
        ("ArtifactType", wire(ArtifactType::ALL)),
        ("ArtifactStatus", wire(ArtifactStatus::ALL)),
        ("PackageType", wire(PackageType::ALL)),
        ("Ecosystem", wire(Ecosystem::ALL)),
        ("ImportStatus", wire(ImportStatus::ALL)),
        ("ImportSource", wire(ImportSource::ALL)),
        ("PlannedAction", wire(PlannedAction::ALL)),
        ("ErrorCode", wire(ErrorCode::ALL)),
        ("Verdict", wire(Verdict::ALL)),
        ("InstalledStatus", wire(InstalledStatus::ALL)),
        ("Severity", wire(&severities())),
        ("Capability", wire(&capabilities())),
        ("TrustLevel", wire(TrustLevel::ALL)),
        ("InstallStage", wire(InstallStage::ALL)),
        ("InstallStatus", wire(InstallStatus::ALL)),
        ("NotificationKind", wire(NotificationKind::ALL)),
        ("PatchOp", patch_ops()),
        ("Undone", wire(&[Undone::Restore, Undone::Remove])),
    ])
}

/// The operations json-patch's diff writes, as it names them: one diff
/// that needs each of them.
fn patch_ops() -> Vec<Value> {
    let patch = json_patch::diff(&json!({"a": 1, "b": 1}), &json!({"a": 2, "c": 1}));
    let mut ops: Vec<Value> = serde_json::to_value(patch)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|op| op["op"].clone())
        .collect();
    ops.sort_by_key(|op| op.as_str().unwrap().to_owned());
    ops
}

/// Every `enum` in the document, named by its JSON pointer.
fn enums_in(value: &Value, pointer: &str, found: &mut Vec<(String, Vec<Value>)>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get("enum") {
                found.push((pointer.to_owned(), values.clone()));
            }
            for (key, child) in map {
                enums_in(child, &format!("{pointer}/{key}"), found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                enums_in(child, &format!("{pointer}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_enum_lists_exactly_the_serde_names() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let expected = serde_enums();
    let mut found = Vec::new();
    enums_in(&doc, "", &mut found);
    let mut named = BTreeMap::new();
    for (pointer, values) in found {
        match pointer.strip_prefix("/components/schemas/") {
            Some(name) if !name.contains('/') => {
                let wire = expected.get(name).unwrap_or_else(|| {
                    panic!("enum schema {name} has no serde list in this test: add it")
                });
                assert_eq!(
                    &values, wire,
                    "{name}: the schema must list the serde names"
                );
                named.insert(name.to_owned(), values);
            }
            // An enum written inline must still be one of the wire enums.
            _ => assert!(
                expected.values().any(|wire| *wire == values),
                "{pointer}: {values:?} is no wire enum"
            ),
        }
    }
    for name in expected.keys() {
        assert!(
            named.contains_key(*name),
            "{name} is missing from the document"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["Ecosystem"]["enum"],
        json!(["npm", "PyPI", "Maven", "NuGet", "crates.io"])
    );
}

/// A validator for `schema`, resolving `$ref`s against the document's
/// components.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    if let Value::Object(map) = &mut root {
        map.insert("components".into(), doc["components"].clone());
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("invalid schema {schema}: {e}"))
}

fn check_examples(doc: &Value, value: &Value, pointer: &str, checked: &mut usize) {
    match value {
        Value::Object(map) => {
            if let Some(example) = map.get("example") {
                // A parameter or media type carries its example beside its
                // schema; a schema carries it inside.
                let schema = map.get("schema").unwrap_or(value);
                let errors: Vec<String> = validator(doc, schema)
                    .iter_errors(example)
                    .map(|e| e.to_string())
                    .collect();
                assert!(
                    errors.is_empty(),
                    "{pointer}: example {example} does not validate: {errors:?}"
                );
                *checked += 1;
            }
            for (key, child) in map {
                if key != "example" {
                    check_examples(doc, child, &format!("{pointer}/{key}"), checked);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                check_examples(doc, child, &format!("{pointer}/{i}"), checked);
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_example_validates_against_its_schema() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let mut checked = 0;
    check_examples(&doc, &doc, "", &mut checked);
    assert!(checked > 20, "only {checked} examples found");
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn assert_conforms(doc: &Value, name: &str, body: &Value) {
    let errors: Vec<String> = validator(doc, &schema_ref(name))
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{name}: {body:#} does not conform: {errors:?}"
    );
}

/// SPEC §4 makes `definition` arbitrary JSON: an array or a string is
/// stored and answered as sent, and the document says so; `null` reads as
/// missing and is refused, as the document's schema refuses it.
#[tokio::test]
async fn any_json_definition_is_accepted_and_documented() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let body_schema = validator(&doc, &schema_ref("ArtifactBody"));
    for (i, definition) in [json!([1, "two"]), json!("text"), json!(3.5), json!(false)]
        .into_iter()
        .enumerate()
    {
        let body = json!({
            "type": "RuleSet", "name": "Rules", "version": "1.0.0",
            "status": "Published", "definition": definition,
        });
        assert!(body_schema.is_valid(&body), "{body}");
        let id = format!("rule-any-{i}");
        app.put_artifact(SOURCE, &id, body).await;
        let reply = app
            .get(&format!("/api/installhub/tenants/{SOURCE}/artifacts/{id}"))
            .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json()["definition"], definition);
        assert_conforms(&doc, "Artifact", &reply.json());
    }
    let null = json!({
        "type": "RuleSet", "name": "Rules", "version": "1.0.0",
        "status": "Published", "definition": null,
    });
    assert!(!body_schema.is_valid(&null));
    let reply = app
        .put(
            &format!("/api/installhub/tenants/{SOURCE}/artifacts/rule-null"),
            &null,
        )
        .await;
    reply.expect_error(400, "InvalidRequestBody");
}

/// A library written with its wire ecosystem name is answered with it, and
/// the answer conforms to the document (which listed `Npm`, `CratesIo`).
#[tokio::test]
async fn libraries_answer_with_the_documented_ecosystem_names() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let reply = app
        .put_artifact(
            SOURCE,
            "app-libs",
            json!({
                "type": "AppDefinition", "name": "App", "version": "1.0.0",
                "status": "Published", "definition": {},
                "libraries": [
                    { "ecosystem": "npm", "name": "lodash", "version": "4.17.21" },
                    { "ecosystem": "crates.io", "name": "serde", "version": "1.0.0" }
                ]
            }),
        )
        .await;
    assert_eq!(reply.json()["libraries"][1]["ecosystem"], "crates.io");
    assert_conforms(&doc, "Artifact", &reply.json());
}

/// A value for each path parameter the document names.
fn path_value(name: &str) -> &'static str {
    match name {
        "tenantId" => SOURCE,
        "artifactId" => "proc-1001",
        "packageId" => "pkg-00000000-0000-4000-8000-000000000000",
        "importId" => "imp-00000000-0000-4000-8000-000000000000",
        "version" => "1.0.0",
        "installId" => "mkt-install-00000000-0000-4000-8000-000000000000",
        "notificationId" => "ntf-00000000-0000-4000-8000-000000000000",
        "packageName" => "Base-Kit",
        other => panic!("no sample value for path parameter {other}"),
    }
}

/// Every API route, called without a token and with a token that has no
/// scope and no access to the demo tenants, answers a status its document
/// lists, with the envelope as its body (only a marketplace search and the
/// list of one's own notifications answer such a token, as they answer
/// every valid one).
#[tokio::test]
async fn refusals_are_documented_for_every_route() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let stranger = Token::full().scopes(&[]).tenants(&["tenant-other"]).mint();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        for (method, operation) in item.as_object().unwrap() {
            let mut url = path.clone();
            for param in operation["parameters"].as_array().into_iter().flatten() {
                if param["in"] == "path" {
                    let name = param["name"].as_str().unwrap();
                    let value = match name {
                        "packageId" if path.starts_with("/api/marketplace/") => {
                            "mkt-pkg-00000000-0000-4000-8000-000000000000"
                        }
                        _ => path_value(name),
                    };
                    url = url.replace(&format!("{{{name}}}"), value);
                }
            }
            if path == "/api/installhub/audit" {
                url.push_str(&format!("?tenantId={SOURCE}"));
            }
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            for token in [None, Some(stranger.as_str())] {
                let mut request = app.http.request(method.clone(), app.url(&url));
                if operation.get("requestBody").is_some() {
                    request = request.json(&json!({}));
                }
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let reply = app.send(request).await;
                let status = reply.status.to_string();
                assert!(
                    operation["responses"].get(&status).is_some(),
                    "{method} {path} answered {status}, which its document does not list"
                );
                // Marketplace searches, and everyone's own notifications,
                // are open to every valid token.
                if reply.status < 400 {
                    assert!(
                        token.is_some()
                            && (path == "/api/marketplace/packages"
                                || path == "/api/notifications")
                            && method == reqwest::Method::GET,
                        "{method} {path} answered {status} to a stranger"
                    );
                    continue;
                }
                assert_conforms(&doc, "ErrorBody", &reply.json());
                checked += 1;
            }
        }
    }
    assert!(checked >= 30, "only {checked} calls");
}
