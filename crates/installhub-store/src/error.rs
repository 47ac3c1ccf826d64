//! The store's one error type. The server maps it to HTTP answers: a
//! `VersionConflict` is a 409, `NotFound` a 404, `Busy` a 503 with
//! `Retry-After`, everything else a logged 500.

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
    /// The database could not take the work in time: no pooled connection
    /// came free, or the database stayed locked (SQLite `SQLITE_BUSY`,
    /// PostgreSQL out of connections or a deadlock victim). Nothing was
    /// written; the same request can be retried.
    #[error("the database is busy: {0}")]
    Busy(#[source] sqlx::Error),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// The database did not take a first connection at start: unreachable,
    /// silent, or refusing the credentials. Said once, with the address
    /// (never the password).
    #[error("cannot connect to the database at {address}: {reason}")]
    Connect { address: String, reason: String },
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
    /// A worker's claim on a marketplace install was taken over.
    #[error("install '{0}' is no longer held by this worker")]
    InstallFenced(String),
    #[error("import '{0}' is not in progress")]
    ImportNotInProgress(String),
    /// An install transaction was asked to write a row of another tenant
    /// (a caller bug; nothing was written).
    #[error("{0} does not belong to the install's tenant '{1}'")]
    TenantMismatch(String, String),
}

/// The store's result type.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if is_busy(&err) {
            StoreError::Busy(err)
        } else {
            StoreError::Database(err)
        }
    }
}

/// Whether `err` says "not now" rather than "wrong": waiting and retrying
/// would succeed.
fn is_busy(err: &sqlx::Error) -> bool {
    use sqlx::error::DatabaseError;
    match err {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(db) => {
            if let Some(sqlite) = db.try_downcast_ref::<sqlx::sqlite::SqliteError>() {
                // Extended result codes keep the primary code in the low
                // byte: SQLITE_BUSY (5) and SQLITE_LOCKED (6) with variants.
                return sqlite
                    .code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(|code| matches!(code & 0xff, 5 | 6));
            }
            // PostgreSQL: too_many_connections, deadlock_detected,
            // lock_not_available.
            matches!(db.code().as_deref(), Some("53300" | "40P01" | "55P03"))
        }
        _ => false,
    }
}

impl From<object_store::path::Error> for StoreError {
    fn from(err: object_store::path::Error) -> Self {
        StoreError::ObjectStore(err.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_timeout_is_busy_other_errors_are_not() {
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Busy(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Database(_)
        ));
    }
}
