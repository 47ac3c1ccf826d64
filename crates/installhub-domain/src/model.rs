//! The catalog's nouns: tenants, artifacts and their references, and the
//! enums the seeds fix. Wire names are the seeds' names.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::ids::{ArtifactId, TenantId};

// `$wire` is a `tt`, not a `literal`: utoipa reads serde's `rename` as a
// bare string token, and a `literal` fragment reaches it wrapped in an
// invisible group it skips, so the OpenAPI enum would list the Rust names.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $wire:tt),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),* }
            }

            /// Parses a wire name exactly (case-sensitive, as the seeds write them).
            pub fn parse(value: &str) -> Option<Self> {
                match value { $($wire => Some($name::$variant),)* _ => None }
            }

            /// The wire names joined for an error message.
            pub fn expected() -> String {
                [$($wire),*].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_enum;

wire_enum!(
    /// A tenant's plan; it sets the import limits.
    Plan { Standard => "Standard", Enterprise => "Enterprise" }
);
wire_enum!(
    /// Only an `Active` tenant can export or import.
    TenantStatus { Active => "Active", Suspended => "Suspended" }
);
wire_enum!(
    /// What an import does with an artifact the target already has.
    ConflictStrategy { Replace => "Replace", Skip => "Skip", Fail => "Fail" }
);
wire_enum!(
    /// The kinds of artifact. Declaration order is the install-order rank
    /// (SPEC §5): schemas first, apps last.
    ArtifactType {
        EntitySchema => "EntitySchema",
        RuleSet => "RuleSet",
        AtlasForm => "AtlasForm",
        ThreadDefinition => "ThreadDefinition",
        ProcessDefinition => "ProcessDefinition",
        AgentDefinition => "AgentDefinition",
        AppDefinition => "AppDefinition",
    }
);
wire_enum!(
    /// An artifact's life-cycle state.
    ArtifactStatus {
        Draft => "Draft",
        Published => "Published",
        Active => "Active",
        Archived => "Archived",
        Deleted => "Deleted",
    }
);
wire_enum!(
    /// What a package mainly carries (seed 01).
    PackageType {
        Workflow => "workflow-package",
        Form => "form-package",
        App => "app-package",
        Agent => "agent-package",
        Config => "config-package",
    }
);
wire_enum!(
    /// Package ecosystems a library can come from (OSV ecosystem names).
    Ecosystem {
        Npm => "npm",
        PyPI => "PyPI",
        Maven => "Maven",
        NuGet => "NuGet",
        CratesIo => "crates.io",
    }
);

wire_enum!(
    /// Where an import stands (SPEC §7). `InProgress` is the record's state
    /// while the install runs; a server that stops mid-install finds it at
    /// start-up and marks it `Failed`.
    ImportStatus {
        InProgress => "InProgress",
        Success => "Success",
        DryRun => "DryRun",
        Failed => "Failed",
    }
);
wire_enum!(
    /// How an import reached its bundle; `Rollback` and `Uninstall` records
    /// undo an earlier record or remove an installed package, with no bundle.
    ImportSource {
        Upload => "Upload",
        PackageReference => "PackageReference",
        Marketplace => "Marketplace",
        Rollback => "Rollback",
        Uninstall => "Uninstall",
    }
);
// Declared mildest first, so the worst of several verdicts is `max()`.
wire_enum!(
    /// The security scan's verdict on a package: `FAIL` refuses the import;
    /// `WARN` refuses it unless the caller may and does allow security
    /// warnings.
    Verdict { Pass => "PASS", Warn => "WARN", Fail => "FAIL" }
);
wire_enum!(
    /// What an import does, or would do in a dry run, with one artifact.
    /// `Conflict` only appears in the plan a refused dry run lists: the
    /// tenant has other content and no strategy (or `Fail`) settles it.
    PlannedAction {
        Create => "Create",
        Replace => "Replace",
        Skip => "Skip",
        Unchanged => "Unchanged",
        Conflict => "Conflict",
    }
);
wire_enum!(
    /// Where an installed package stands. `Installed` while it owns at least
    /// one of the tenant's artifacts, or never lost one to another package;
    /// `Superseded` once other packages' installs took every artifact it
    /// owned; `Uninstalled` once removed with its artifacts. Only
    /// `Installed` packages satisfy `packageDependencies`.
    InstalledStatus {
        Installed => "Installed",
        Superseded => "Superseded",
        Uninstalled => "Uninstalled",
    }
);

impl ArtifactType {
    /// Position in the install-order tie-break: lower installs first.
    pub fn rank(self) -> u8 {
        self as u8
    }
}

impl ArtifactStatus {
    /// Published and Active artifacts may be exported.
    pub fn is_exportable(self) -> bool {
        matches!(self, ArtifactStatus::Published | ArtifactStatus::Active)
    }
}

/// A tenant: an isolated customer space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    #[schema(value_type = String, example = "tenant-7f3a9b12")]
    pub tenant_id: TenantId,
    pub name: String,
    pub plan: Plan,
    pub status: TenantStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_conflict_strategy: Option<ConflictStrategy>,
    /// The marketplace trust levels this tenant installs; absent: every
    /// level. Others are refused with `TrustLevelNotAllowed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_trust_levels: Option<Vec<crate::marketplace::TrustLevel>>,
}

/// What an artifact uses. `tenantId` defaults to the owner's tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reference {
    #[schema(value_type = String, example = "form-2005")]
    pub artifact_id: ArtifactId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub tenant_id: Option<TenantId>,
}

/// Third-party code an app or agent ships with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Library {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub version: String,
}

/// An artifact without its definition: what resolution needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactSummary {
    pub tenant_id: TenantId,
    pub id: ArtifactId,
    pub artifact_type: ArtifactType,
    pub name: String,
    pub version: String,
    pub status: ArtifactStatus,
    pub references: Vec<Reference>,
}

/// One piece of automation owned by a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    #[schema(value_type = String)]
    pub tenant_id: TenantId,
    #[schema(value_type = String, example = "proc-1001")]
    pub id: ArtifactId,
    #[serde(rename = "type")]
    pub artifact_type: ArtifactType,
    pub name: String,
    pub version: String,
    pub status: ArtifactStatus,
    /// Any JSON value except `null`.
    #[schema(schema_with = crate::doc::any_json_but_null)]
    pub definition: Value,
    pub references: Vec<Reference>,
    pub libraries: Vec<Library>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// An artifact as the store keeps it, its definition still the JSON text of
/// the row: what an export reads, so the definition can be re-encoded into
/// the bundle without first being built into a [`Value`] tree.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredArtifact {
    pub tenant_id: TenantId,
    pub id: ArtifactId,
    pub artifact_type: ArtifactType,
    pub name: String,
    pub version: String,
    pub status: ArtifactStatus,
    /// The definition as JSON text.
    pub definition_json: String,
    pub references: Vec<Reference>,
    pub libraries: Vec<Library>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

impl StoredArtifact {
    /// The artifact with `definition`, the parse of [`Self::definition_json`].
    pub fn with_definition(self, definition: Value) -> Artifact {
        Artifact {
            tenant_id: self.tenant_id,
            id: self.id,
            artifact_type: self.artifact_type,
            name: self.name,
            version: self.version,
            status: self.status,
            definition,
            references: self.references,
            libraries: self.libraries,
            updated_at: self.updated_at,
        }
    }
}

impl Artifact {
    pub fn summary(&self) -> ArtifactSummary {
        ArtifactSummary {
            tenant_id: self.tenant_id.clone(),
            id: self.id.clone(),
            artifact_type: self.artifact_type,
            name: self.name.clone(),
            version: self.version.clone(),
            status: self.status,
            references: self.references.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_rank_is_spec_order() {
        let ranked: Vec<_> = ArtifactType::ALL.iter().map(|t| t.rank()).collect();
        assert_eq!(ranked, vec![0, 1, 2, 3, 4, 5, 6]);
        assert!(ArtifactType::EntitySchema.rank() < ArtifactType::AppDefinition.rank());
    }

    #[test]
    fn wire_names_round_trip() {
        for t in PackageType::ALL {
            assert_eq!(PackageType::parse(t.as_str()), Some(*t));
        }
        assert_eq!(PackageType::parse("Workflow-Package"), None);
        assert_eq!(
            serde_json::to_value(Ecosystem::CratesIo).unwrap(),
            serde_json::json!("crates.io")
        );
    }
}
