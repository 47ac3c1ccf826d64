//! Fixtures the store suites use: ids, a tenant, an artifact, a package,
//! a raw connection to the test database.

use chrono::{DateTime, Utc};
use installhub_domain::{
    ArtifactId, ArtifactStatus, ArtifactType, Manifest, ManifestArtifact, PackageDependency,
    PackageId, PackageType, Plan, Tenant, TenantId, TenantStatus,
};
use installhub_store::{DefinitionJson, NewArtifact, PackageRecord, Store};
use serde_json::json;
use sqlx::{AnyConnection, Connection};

use super::Ctx;

pub fn tid(id: &str) -> TenantId {
    TenantId::parse(id).unwrap()
}

pub fn aid(id: &str) -> ArtifactId {
    ArtifactId::parse(id).unwrap()
}

pub fn at_micros(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap()
}

pub fn tenant(id: &str) -> Tenant {
    Tenant {
        tenant_id: tid(id),
        name: format!("Tenant {id}"),
        plan: Plan::Standard,
        status: TenantStatus::Active,
        default_conflict_strategy: None,
        allowed_trust_levels: None,
    }
}

pub async fn given_tenant(store: &Store, id: &str) -> TenantId {
    store
        .upsert_tenant(&tenant(id), "tester@company.com")
        .await
        .unwrap();
    tid(id)
}

pub fn artifact(tenant: &TenantId, id: &str) -> NewArtifact {
    NewArtifact {
        tenant_id: tenant.clone(),
        id: aid(id),
        artifact_type: ArtifactType::ProcessDefinition,
        name: format!("Artifact {id}"),
        version: "1.0.0".to_owned(),
        status: ArtifactStatus::Published,
        definition: DefinitionJson::from_value(&json!({ "steps": [id, { "n": 1.5, "ok": true }] })),
        references: vec![],
        libraries: vec![],
    }
}

/// A raw connection to the test database, to look at columns the API does
/// not return or to plant bad rows.
pub async fn raw(ctx: &Ctx) -> AnyConnection {
    AnyConnection::connect(&ctx.url).await.unwrap()
}

/// A package row of `tenant` (its bundle is not stored).
pub fn package(
    tenant: &TenantId,
    name: &str,
    version: &str,
    exported_at_micros: i64,
) -> PackageRecord {
    let package_id = PackageId::from_uuid(&uuid::Uuid::new_v4().to_string());
    let exported_at = at_micros(exported_at_micros);
    let manifest = Manifest {
        format_version: 1,
        package_id: package_id.clone(),
        name: name.to_owned(),
        package_type: PackageType::Workflow,
        version: version.to_owned(),
        description: Some("Leave requests".to_owned()),
        author: None,
        tags: vec!["hr".to_owned()],
        source_tenant_id: tenant.clone(),
        exported_at,
        exported_by: "engineer@company.com".to_owned(),
        artifacts: vec![ManifestArtifact {
            id: aid("proc-1001"),
            artifact_type: ArtifactType::ProcessDefinition,
            name: "Leave".to_owned(),
            version: "1.0.0".to_owned(),
            path: "artifacts/proc-1001.json".to_owned(),
            sha256: "ab".repeat(32),
            depends_on: vec![],
        }],
        install_order: vec![aid("proc-1001")],
        package_dependencies: vec![PackageDependency {
            package_name: "HR Core".to_owned(),
            version_range: "^1.2".to_owned(),
        }],
        checksum: format!("sha256:{}", "cd".repeat(32)),
    };
    PackageRecord {
        bundle_key: format!("packages/{package_id}.zip"),
        package_id,
        tenant_id: tenant.clone(),
        package_name: name.to_owned(),
        package_type: PackageType::Workflow,
        version: version.to_owned(),
        description: Some("Leave requests".to_owned()),
        author: None,
        tags: vec!["hr".to_owned()],
        checksum: manifest.checksum.clone(),
        artifact_count: 1,
        manifest,
        bundle_size: 5_000_000_000,
        bundle_sha256: "ef".repeat(32),
        exported_at,
        exported_by: "engineer@company.com".to_owned(),
    }
}
