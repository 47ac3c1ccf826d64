#![doc = include_str!("../README.md")]

pub mod caller;
pub mod catalog;
pub mod doc;
pub mod export;
pub mod failure;
pub mod ids;
pub mod import;
pub mod imported;
pub mod manifest;
pub mod marketplace;
pub mod model;
pub mod notification;
pub mod resolve;
pub mod text;
pub mod version;

pub use caller::{Caller, Scope, TenantAccess};
pub use export::{ExportRequest, PreviewRequest};
pub use failure::{ErrorCode, Failure, FailureKind};
pub use ids::{ArtifactId, ImportId, InvalidId, PackageId, TenantId};
pub use import::{ImportOptions, ImportPlan, ValidImportOptions, plan_import};
pub use manifest::{Manifest, ManifestArtifact, PackageDependency};
pub use marketplace::{ListingId, TrustLevel};
pub use model::{
    Artifact, ArtifactStatus, ArtifactSummary, ArtifactType, ConflictStrategy, Ecosystem,
    ImportSource, ImportStatus, InstalledStatus, Library, PackageType, Plan, PlannedAction,
    Reference, StoredArtifact, Tenant, TenantStatus, Verdict,
};
pub use notification::NotificationKind;
pub use version::Version;
