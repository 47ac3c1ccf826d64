#![doc = include_str!("../README.md")]

mod artifacts;
mod audit;
mod bundles;
mod db;
mod error;
mod failpoints;
mod imports;
mod install;
mod installs;
mod marketplace;
mod notifications;
mod packages;
mod plans;
mod rate_limits;
mod snapshots;
mod tenants;

pub use artifacts::{ArtifactFilter, DefinitionJson, NewArtifact};
pub use audit::{
    ArtifactPut, AuditEntry, AuditEvent, AuditFilter, AuditOutcome, ImportFailed, ImportRolledBack,
    MarketplaceChange, NewAuditEntry, PackageExported, PackageImported, PackageUninstalled,
    Refusal, TenantPut,
};
pub use bundles::{BundleStore, ObjectInfo};
pub use db::{Backend, Store};
pub use error::{Result, StoreError};
pub use failpoints::Failpoints;
pub use imports::{ImportRecord, InstalledPackage, Supersession};
pub use install::{HashedArtifact, InstallTx};
pub use installs::{Claim, InstallJob, NewInstall};
pub use marketplace::{
    ListingDescription, ListingQuery, ListingRecord, ListingVersionRecord, Mark, VersionMark,
};
pub use notifications::{
    EMAIL_ID_PREFIX, NOTIFICATION_ID_PREFIX, NewNotification, NotificationRecord, OutboxEmail,
    email_body,
};
pub use packages::{PackageFilter, PackageRecord};
pub use rate_limits::{RateCharge, RateDecision};
pub use snapshots::{
    RollbackPlan, RollbackRefusal, SnapshotInfo, UndoAction, UndoConflict, UninstallPlan,
    UninstallRefusal, content_sha256,
};

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upserted {
    /// There was no row; one was inserted.
    Created,
    /// The row existed and was updated.
    Updated,
}
