//! `installhub serve --demo`: the seed's example tenant and artifacts, wired
//! as seed 01 shows, and an empty second tenant to import into. Idempotent.

use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactType, ConflictStrategy, Plan, Reference, Tenant,
    TenantId, TenantStatus,
};
use installhub_store::Store;
use serde_json::json;

pub const SOURCE_TENANT: &str = "tenant-7f3a9b12";
pub const TARGET_TENANT: &str = "tenant-abc123";

/// Who the audit log says wrote the demo data.
const DEMO_ACTOR: &str = "installhub-demo";

/// Creates (or refreshes) the demo tenants and artifacts.
pub async fn seed(store: &Store) -> anyhow::Result<()> {
    for tenant in tenants() {
        store.upsert_tenant(&tenant, DEMO_ACTOR).await?;
    }
    for artifact in artifacts() {
        store.upsert_artifact(&artifact.into(), DEMO_ACTOR).await?;
    }
    Ok(())
}

fn tenants() -> Vec<Tenant> {
    vec![
        Tenant {
            tenant_id: TenantId::parse(SOURCE_TENANT).expect("valid id"),
            name: "Acme HR (demo source)".into(),
            plan: Plan::Enterprise,
            status: TenantStatus::Active,
            default_conflict_strategy: None,
            allowed_trust_levels: None,
        },
        Tenant {
            tenant_id: TenantId::parse(TARGET_TENANT).expect("valid id"),
            name: "Acme Subsidiary (demo target)".into(),
            plan: Plan::Standard,
            status: TenantStatus::Active,
            default_conflict_strategy: Some(ConflictStrategy::Replace),
            allowed_trust_levels: None,
        },
    ]
}

fn artifact(
    id: &str,
    artifact_type: ArtifactType,
    name: &str,
    version: &str,
    references: &[&str],
    definition: serde_json::Value,
) -> Artifact {
    Artifact {
        tenant_id: TenantId::parse(SOURCE_TENANT).expect("valid id"),
        id: ArtifactId::parse(id).expect("valid id"),
        artifact_type,
        name: name.into(),
        version: version.into(),
        status: ArtifactStatus::Published,
        definition,
        references: references
            .iter()
            .map(|r| Reference {
                artifact_id: ArtifactId::parse(r).expect("valid id"),
                tenant_id: None,
            })
            .collect(),
        libraries: Vec::new(),
        updated_at: chrono::Utc::now(),
    }
}

/// The seed 01 graph: proc-1001 uses thread-2002, form-2005 and rule-305;
/// form-2005 uses ent-44; the approval subflow also applies the rules.
pub fn artifacts() -> Vec<Artifact> {
    use ArtifactType::*;
    vec![
        artifact(
            "proc-1001",
            ProcessDefinition,
            "EmployeeOnboarding",
            "2.1.0",
            &["thread-2002", "form-2005", "rule-305"],
            json!({
                "start": "collect-details",
                "steps": [
                    {"id": "collect-details", "kind": "form", "form": "form-2005", "next": "approve"},
                    {"id": "approve", "kind": "subflow", "thread": "thread-2002", "next": "provision"},
                    {"id": "provision", "kind": "task", "assignee": "it-ops", "next": "end"},
                    {"id": "end", "kind": "end"}
                ],
                "rules": "rule-305"
            }),
        ),
        artifact(
            "thread-2002",
            ThreadDefinition,
            "ApprovalSubflow",
            "1.4.0",
            &["rule-305"],
            json!({
                "steps": [
                    {"id": "manager", "kind": "approval", "role": "manager"},
                    {"id": "hr", "kind": "approval", "role": "hr-partner", "when": {"rule": "rule-305", "outcome": "needs-hr"}}
                ]
            }),
        ),
        artifact(
            "form-2005",
            AtlasForm,
            "EmployeeForm",
            "1.3.0",
            &["ent-44"],
            json!({
                "entity": "ent-44",
                "fields": [
                    {"name": "fullName", "label": "Full name", "required": true},
                    {"name": "startDate", "label": "Start date", "type": "date", "required": true},
                    {"name": "department", "label": "Department", "type": "choice"}
                ]
            }),
        ),
        artifact(
            "rule-305",
            RuleSet,
            "ApprovalRules",
            "3.0.2",
            &[],
            json!({
                "rules": [
                    {"when": {"field": "department", "equals": "Finance"}, "outcome": "needs-hr"},
                    {"when": {"field": "salaryBand", "greaterThan": 7}, "outcome": "needs-hr"}
                ],
                "default": "manager-only"
            }),
        ),
        artifact(
            "ent-44",
            EntitySchema,
            "EmployeeSchema",
            "1.0.0",
            &[],
            json!({
                "properties": {
                    "fullName": {"type": "string", "maxLength": 200},
                    "startDate": {"type": "string", "format": "date"},
                    "department": {"type": "string"},
                    "salaryBand": {"type": "integer", "minimum": 1, "maximum": 10}
                },
                "required": ["fullName", "startDate"]
            }),
        ),
    ]
}
