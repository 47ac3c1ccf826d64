//! The unit tests' fixtures: the crate's shared test fixtures
//! ([`crate::fixtures`], which every test build of this crate has), with
//! the artifact type fixed and references that may name a tenant.

use installhub_domain::{Artifact, ArtifactId, ArtifactType, Reference, TenantId};

pub(crate) use crate::fixtures::input;

pub(crate) fn reference(id: &str, tenant: Option<&str>) -> Reference {
    Reference {
        artifact_id: ArtifactId::parse(id).unwrap(),
        tenant_id: tenant.map(|t| TenantId::parse(t).unwrap()),
    }
}

/// A published process of `tenant-src` referencing `refs` in its own tenant.
pub(crate) fn artifact(id: &str, refs: &[&str]) -> Artifact {
    crate::fixtures::artifact(id, ArtifactType::ProcessDefinition, refs)
}
