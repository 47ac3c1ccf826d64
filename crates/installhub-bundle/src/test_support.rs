//! Small fixtures for the unit tests.

use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactType, PackageId, PackageType, Reference, TenantId,
};
use serde_json::json;

use crate::prepare::ManifestInput;

pub(crate) fn reference(id: &str, tenant: Option<&str>) -> Reference {
    Reference {
        artifact_id: ArtifactId::parse(id).unwrap(),
        tenant_id: tenant.map(|t| TenantId::parse(t).unwrap()),
    }
}

/// A published artifact of `tenant-src` referencing `refs` in its own tenant.
pub(crate) fn artifact(id: &str, refs: &[&str]) -> Artifact {
    Artifact {
        tenant_id: TenantId::parse("tenant-src").unwrap(),
        id: ArtifactId::parse(id).unwrap(),
        artifact_type: ArtifactType::ProcessDefinition,
        name: format!("Artifact {id}"),
        version: "1.0.0".into(),
        status: ArtifactStatus::Published,
        definition: json!({ "steps": [{ "name": id, "kind": "task" }] }),
        references: refs.iter().map(|r| reference(r, None)).collect(),
        libraries: vec![],
        updated_at: chrono::DateTime::UNIX_EPOCH,
    }
}

pub(crate) fn input(order: &[&str]) -> ManifestInput {
    ManifestInput {
        package_id: PackageId::parse("pkg-a3f9c821-4b2e-49d1-bc44-f7e2a1c09d33").unwrap(),
        name: "Employee Onboarding".into(),
        package_type: PackageType::Workflow,
        version: "2.1.0".into(),
        description: Some("Onboarding flows".into()),
        author: None,
        tags: vec!["hr".into()],
        source_tenant_id: TenantId::parse("tenant-src").unwrap(),
        exported_at: "2026-05-25T09:00:00Z".parse().unwrap(),
        exported_by: "engineer@company.com".into(),
        install_order: order
            .iter()
            .map(|id| ArtifactId::parse(id).unwrap())
            .collect(),
        package_dependencies: vec![],
    }
}
