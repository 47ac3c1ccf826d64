//! Pinned plans: a dry run names its plan by a hash of everything the plan
//! decided, and an import that carries that `planId` installs exactly that
//! plan or nothing.
//!
//! The id is content-addressed (`plan-` and the SHA-256 of the canonical
//! JSON of a [`PinnedPlan`]): the package (id and checksum), the target
//! tenant, the effective options (the tenant's default strategy counts when
//! the request names none), and per artifact the action, both versions and
//! both contents' SHA-256. The same state gives the same id on every replica
//! with nothing stored, and an import recomputes it in its transaction to
//! compare. The hash cannot say *what* changed, so a dry run also stores its
//! [`PinnedPlan`] (the server keeps it per tenant): a stale pin is answered
//! with [`PinnedPlan::differences`] against the plan made now.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{ImportPlan, PlanContext};
use crate::ids::ImportPlanId;
use crate::model::{ConflictStrategy, PlannedAction};

/// What a plan decided, in a canonical form: the input of its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinnedPlan {
    pub tenant_id: String,
    pub package: PinnedPackage,
    pub options: PinnedOptions,
    /// In install order.
    pub artifacts: Vec<PinnedArtifact>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinnedPackage {
    pub package_id: String,
    pub name: String,
    pub version: String,
    pub checksum: String,
}

/// The options that bear on what is installed (not `dryRun`, `importedBy`
/// or `planId` itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinnedOptions {
    /// The request's, else the tenant's.
    pub default_conflict_strategy: Option<ConflictStrategy>,
    pub conflict_strategies: BTreeMap<String, ConflictStrategy>,
    pub allow_major_version_upgrade: bool,
    pub allow_security_warnings: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinnedArtifact {
    pub artifact_id: String,
    pub action: PlannedAction,
    pub previous_version: Option<String>,
    pub version: String,
    /// SHA-256 of the tenant's artifact, when it has one.
    pub live_sha256: Option<String>,
    /// SHA-256 of the package's artifact (its manifest line).
    pub incoming_sha256: String,
}

/// One way the plan made now differs from the pinned one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlanDifference {
    /// `package`, `options` or `artifact`.
    #[schema(example = "artifact")]
    pub part: String,
    /// The artifact, when `part` is `artifact`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "form-2005")]
    pub artifact_id: Option<String>,
    /// What the pinned plan said (`null`: it did not have the artifact).
    #[schema(schema_with = crate::doc::any_json)]
    pub pinned: Value,
    /// What the plan says now (`null`: it no longer has the artifact).
    #[schema(schema_with = crate::doc::any_json)]
    pub now: Value,
}

impl PinnedPlan {
    /// The canonical form of `plan`, made from `ctx`.
    pub fn new(ctx: PlanContext<'_>, tenant_id: &str, plan: &ImportPlan) -> Self {
        let manifest = ctx.manifest;
        let incoming: BTreeMap<&str, &str> = manifest
            .artifacts
            .iter()
            .map(|a| (a.id.as_str(), a.sha256.as_str()))
            .collect();
        PinnedPlan {
            tenant_id: tenant_id.to_owned(),
            package: PinnedPackage {
                package_id: manifest.package_id.to_string(),
                name: manifest.name.clone(),
                version: manifest.version.clone(),
                checksum: manifest.checksum.clone(),
            },
            options: PinnedOptions {
                default_conflict_strategy: ctx
                    .options
                    .default_conflict_strategy
                    .or(ctx.tenant_default),
                conflict_strategies: ctx
                    .options
                    .conflict_strategies
                    .iter()
                    .map(|(id, s)| (id.to_string(), *s))
                    .collect(),
                allow_major_version_upgrade: ctx.options.allow_major_version_upgrade,
                allow_security_warnings: ctx.options.allow_security_warnings,
            },
            artifacts: plan
                .artifacts
                .iter()
                .map(|a| PinnedArtifact {
                    artifact_id: a.artifact_id.to_string(),
                    action: a.action,
                    previous_version: a.previous_version.clone(),
                    version: a.version.clone(),
                    live_sha256: ctx.existing.get(&a.artifact_id).map(|e| e.sha256.clone()),
                    incoming_sha256: incoming
                        .get(a.artifact_id.as_str())
                        .map(|s| (*s).to_owned())
                        .unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// `plan-` and the SHA-256 of the canonical JSON: fields in declaration
    /// order, maps sorted, no white space.
    pub fn id(&self) -> ImportPlanId {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        ImportPlanId::from_sha256_hex(&hex::encode(Sha256::digest(bytes)))
    }

    /// How `now` differs from this (pinned) plan: the package, the
    /// options, then each artifact whose entry differs or that only one of
    /// them has, in the pinned plan's order, then the new ones in `now`'s.
    pub fn differences(&self, now: &PinnedPlan) -> Vec<PlanDifference> {
        let mut out = Vec::new();
        if self.package != now.package {
            out.push(PlanDifference {
                part: "package".into(),
                artifact_id: None,
                pinned: json(&self.package),
                now: json(&now.package),
            });
        }
        if self.options != now.options {
            out.push(PlanDifference {
                part: "options".into(),
                artifact_id: None,
                pinned: json(&self.options),
                now: json(&now.options),
            });
        }
        let find = |plan: &'_ PinnedPlan, id: &str| -> Option<PinnedArtifact> {
            plan.artifacts.iter().find(|a| a.artifact_id == id).cloned()
        };
        let artifact =
            |pinned: Option<PinnedArtifact>, current: Option<PinnedArtifact>, id: &str| {
                PlanDifference {
                    part: "artifact".into(),
                    artifact_id: Some(id.to_owned()),
                    pinned: pinned.map_or(Value::Null, |a| json(&a)),
                    now: current.map_or(Value::Null, |a| json(&a)),
                }
            };
        for pinned in &self.artifacts {
            let current = find(now, &pinned.artifact_id);
            if current.as_ref() != Some(pinned) {
                out.push(artifact(Some(pinned.clone()), current, &pinned.artifact_id));
            }
        }
        for current in &now.artifacts {
            if find(self, &current.artifact_id).is_none() {
                out.push(artifact(None, Some(current.clone()), &current.artifact_id));
            }
        }
        out
    }
}

/// A part of a plan as JSON for a [`PlanDifference`], without the
/// `artifactId` the difference already names.
fn json<T: Serialize>(part: &T) -> Value {
    let mut value = serde_json::to_value(part).unwrap_or(Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.remove("artifactId");
    }
    value
}
