#![doc = include_str!("../README.md")]

/// A row struct that reads itself from a query's row, each field from the
/// column of its name: what `#[derive(sqlx::FromRow)]` does for these
/// plain structs. Written here because sqlx's derive lives in its
/// proc-macro crate, which compiles sqlx's PostgreSQL and SQLite drivers,
/// and SQLite's C, a second time for the host on every cold build (see
/// `build.rs` for the migrations, the other use of that crate).
macro_rules! row {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_attr:meta])* $field_vis:vis $field:ident: $ty:ty),* $(,)?
        }
    ) => {
        $(#[$attr])*
        $vis struct $name {
            $($(#[$field_attr])* $field_vis $field: $ty),*
        }

        impl<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> for $name {
            fn from_row(row: &'r sqlx::any::AnyRow) -> std::result::Result<Self, sqlx::Error> {
                Ok(Self {
                    $($field: sqlx::Row::try_get(row, stringify!($field))?),*
                })
            }
        }
    };
}

mod artifacts;
mod audit;
mod bundles;
mod coalesce;
mod db;
mod error;
mod failpoints;
mod hot;
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
