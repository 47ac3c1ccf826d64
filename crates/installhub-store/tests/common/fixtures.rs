//! Fixtures both store suites use: ids, a tenant, an artifact, a raw
//! connection to the test database.

use chrono::{DateTime, Utc};
use installhub_domain::{
    ArtifactId, ArtifactStatus, ArtifactType, Plan, Tenant, TenantId, TenantStatus,
};
use installhub_store::{NewArtifact, Store};
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
        definition: json!({ "steps": [id, { "n": 1.5, "ok": true }] }),
        references: vec![],
        libraries: vec![],
    }
}

/// A raw connection to the test database, to look at columns the API does
/// not return or to plant bad rows.
pub async fn raw(ctx: &Ctx) -> AnyConnection {
    AnyConnection::connect(&ctx.url).await.unwrap()
}
