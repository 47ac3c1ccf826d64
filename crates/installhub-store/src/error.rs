//! The store's one error type. The server maps it to HTTP answers: a
//! `VersionConflict` is a 409, `NotFound` a 404, everything else a logged 500.

/// Everything a store or bundle operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The tenant already has a package with this name (compared without
    /// case) and version.
    #[error("the tenant already has a package with this name and version")]
    VersionConflict,
    /// The named thing does not exist (a tenant a write refers to, a bundle).
    #[error("{0} not found")]
    NotFound(String),
    /// The database URL names a backend this build does not serve.
    #[error("unsupported database URL scheme '{0}': use sqlite:// or postgres://")]
    UnsupportedUrl(String),
    /// `--bundle-store` does not describe a usable bucket.
    #[error("invalid bundle store: {0}")]
    InvalidBundleStore(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("object storage error: {0}")]
    ObjectStore(#[from] object_store::Error),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A stored value that does not parse back, or a value that cannot be
    /// encoded for storage.
    #[error("corrupt data: {0}")]
    Corrupt(String),
    /// A test failpoint ([`crate::Failpoints`]) stopped the operation.
    #[error("failpoint: {0}")]
    Failpoint(String),
    /// [`crate::InstallTx::finish_import`] found no `InProgress` record with
    /// this id: it was never inserted, is already finished, or start-up
    /// recovery of another server marked it `Failed`. The install must be
    /// rolled back.
    #[error("import '{0}' is not in progress")]
    ImportNotInProgress(String),
    /// An install transaction was asked to write a row of another tenant
    /// (a caller bug; nothing was written).
    #[error("{0} does not belong to the install's tenant '{1}'")]
    TenantMismatch(String, String),
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<object_store::path::Error> for StoreError {
    fn from(err: object_store::path::Error) -> Self {
        StoreError::ObjectStore(err.into())
    }
}
