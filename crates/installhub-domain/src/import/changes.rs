//! Field-level diffs for a dry run: what replacing the tenant's live
//! artifact with the package's would change, as RFC 6902 JSON Patch
//! operations. The differ is the `json-patch` crate's; this module only
//! chooses what is compared.

use json_patch::PatchOperation;
use serde_json::{Value, json};

use crate::model::Artifact;

/// The parts of an artifact a diff compares: what a person edits. The id
/// and tenant are the same on both sides; the type is reported by the
/// plan's `TypeChanged` warning; times are not content.
fn compared(artifact: &Artifact) -> Value {
    json!({
        "name": artifact.name,
        "version": artifact.version,
        "status": artifact.status,
        "definition": artifact.definition,
        "references": artifact.references,
        "libraries": artifact.libraries,
    })
}

/// The operations that turn `live` (the tenant's artifact) into `incoming`
/// (the package's, as it would be installed).
pub fn artifact_changes(live: &Artifact, incoming: &Artifact) -> Vec<PatchOperation> {
    json_patch::diff(&compared(live), &compared(incoming)).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArtifactStatus, ArtifactType, Ecosystem, Library, Reference};
    use crate::{ArtifactId, TenantId};

    fn artifact() -> Artifact {
        Artifact {
            tenant_id: TenantId::parse("tenant-abc123").unwrap(),
            id: ArtifactId::parse("form-2005").unwrap(),
            artifact_type: ArtifactType::AtlasForm,
            name: "EmployeeForm".into(),
            version: "1.0.0".into(),
            status: ArtifactStatus::Published,
            definition: json!({"fields": [{"label": "Name"}], "a/b": 1, "c~d": {"e": true}}),
            references: vec![Reference {
                artifact_id: ArtifactId::parse("ent-44").unwrap(),
                tenant_id: None,
            }],
            libraries: vec![],
            updated_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn ops(live: &Artifact, incoming: &Artifact) -> Value {
        serde_json::to_value(artifact_changes(live, incoming)).unwrap()
    }

    #[test]
    fn the_same_artifact_has_no_changes() {
        let live = artifact();
        let mut incoming = artifact();
        incoming.updated_at = chrono::Utc::now();
        assert_eq!(ops(&live, &incoming), json!([]));
    }

    #[test]
    fn every_part_is_compared() {
        let live = artifact();
        let mut incoming = artifact();
        incoming.name = "EmployeeFormV2".into();
        incoming.version = "1.3.0".into();
        incoming.status = ArtifactStatus::Active;
        incoming.definition["fields"][0]["label"] = json!("Full name");
        incoming.references.clear();
        incoming.libraries.push(Library {
            ecosystem: Ecosystem::Npm,
            name: "lodash".into(),
            version: "4.17.21".into(),
        });
        let mut got = ops(&live, &incoming).as_array().unwrap().clone();
        got.sort_by_key(|op| op["path"].as_str().unwrap().to_owned());
        assert_eq!(
            Value::Array(got),
            json!([
                {"op": "replace", "path": "/definition/fields/0/label", "value": "Full name"},
                {"op": "add", "path": "/libraries/0", "value": {"ecosystem": "npm", "name": "lodash", "version": "4.17.21"}},
                {"op": "replace", "path": "/name", "value": "EmployeeFormV2"},
                {"op": "remove", "path": "/references/0"},
                {"op": "replace", "path": "/status", "value": "Active"},
                {"op": "replace", "path": "/version", "value": "1.3.0"},
            ])
        );
    }

    #[test]
    fn keys_with_slash_and_tilde_are_escaped() {
        let live = artifact();
        let mut incoming = artifact();
        incoming.definition["a/b"] = json!(2);
        incoming.definition["c~d"]["e"] = json!(false);
        let mut got = ops(&live, &incoming).as_array().unwrap().clone();
        got.sort_by_key(|op| op["path"].as_str().unwrap().to_owned());
        assert_eq!(
            Value::Array(got),
            json!([
                {"op": "replace", "path": "/definition/a~1b", "value": 2},
                {"op": "replace", "path": "/definition/c~0d/e", "value": false},
            ])
        );
    }

    #[test]
    fn applying_the_changes_gives_the_incoming_artifact() {
        let live = artifact();
        let mut incoming = artifact();
        incoming.definition = json!(["a", {"k/~": [1, 2]}]);
        incoming.references.push(Reference {
            artifact_id: ArtifactId::parse("rule-305").unwrap(),
            tenant_id: Some(TenantId::parse("tenant-shared").unwrap()),
        });
        let mut doc = compared(&live);
        json_patch::patch(
            &mut doc,
            &json_patch::Patch(artifact_changes(&live, &incoming)),
        )
        .unwrap();
        assert_eq!(doc, compared(&incoming));
    }
}
