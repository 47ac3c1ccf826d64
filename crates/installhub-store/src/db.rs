//! Connecting to the database, and the helpers every query module shares.
//!
//! All query text is shared by both backends. What differs lives here and in
//! the two migration folders: the backend is read from the URL, SQLite gets
//! its file created and its connection settings (pragmas), and each backend
//! runs its own migrations.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use installhub_domain::{Tenant, TenantId};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::any::AnyPoolOptions;
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, Executor};

use crate::coalesce::Coalescer;
use crate::error::{Result, StoreError};
use crate::failpoints::Failpoints;
use crate::hot::{HotPool, HotQuery, HotRow};

/// Every migration file's name and text, embedded by `build.rs`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// A backend's migrations, read from the embedded files by the rules of
/// sqlx's own directory reader (and of `sqlx::migrate!`), so the versions,
/// descriptions and checksums recorded in `_sqlx_migrations` are the ones
/// that macro recorded: `<version>_<description>.sql`, the description's
/// underscores read as spaces, `-- no-transaction` on the first line to run
/// outside a transaction. A test compares them with sqlx's reader.
#[derive(Debug)]
struct EmbeddedMigrations(Backend);

impl EmbeddedMigrations {
    fn read(&self) -> std::result::Result<Vec<Migration>, BoxDynError> {
        let files = match self.0 {
            Backend::Sqlite => embedded::SQLITE,
            Backend::Postgres => embedded::POSTGRES,
        };
        let mut migrations = Vec::with_capacity(files.len());
        for (file, sql) in files {
            let invalid =
                || format!("migration file name {file:?} is not <version>_<description>.sql");
            let (version, rest) = file.split_once('_').ok_or_else(invalid)?;
            let version: i64 = version.parse().map_err(|_| invalid())?;
            let kind = MigrationType::from_filename(rest);
            let description = rest.trim_end_matches(kind.suffix()).replace('_', " ");
            migrations.push(Migration::new(
                version,
                description.into(),
                kind,
                (*sql).into(),
                sql.starts_with("-- no-transaction"),
            ));
        }
        migrations.sort_by_key(|m| m.version);
        Ok(migrations)
    }
}

impl MigrationSource<'static> for EmbeddedMigrations {
    fn resolve(self) -> BoxFuture<'static, std::result::Result<Vec<Migration>, BoxDynError>> {
        Box::pin(std::future::ready(self.read()))
    }
}

/// Run on every new SQLite connection. `busy_timeout` comes first so that
/// switching to WAL waits for a lock instead of failing. It is long (30 s)
/// because SQLite has one writer: an install transaction holds the write
/// lock from its first statement to its commit (1,000 artifacts of 20 KB
/// take a while), and every other write, a concurrent import included, must
/// wait for it rather than fail with `SQLITE_BUSY`. WAL lets readers work
/// while one writer writes. `synchronous=FULL` syncs the WAL at every
/// commit: an acknowledged export or import survives a power cut, where
/// `NORMAL` could lose the last commits. SQLite leaves foreign keys off
/// unless asked, per connection. No connection checkpoints the WAL when it
/// commits; [`spawn_checkpointer`] does. `journal_size_limit` gives the
/// disk back: the WAL grows to the size of the largest transaction (a
/// 480 MB import writes about 480 MB of frames) and SQLite reuses the file
/// from its start without ever shrinking it, so without a limit the
/// `-wal` file kept that size beside the database for good. With it, the
/// first write after a complete checkpoint truncates the file to 64 MiB,
/// many ordinary commits' worth of frames, so day-to-day writes reuse the
/// file without growing it.
const SQLITE_PRAGMAS: &[&str] = &[
    "PRAGMA busy_timeout=30000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=FULL",
    "PRAGMA wal_autocheckpoint=0",
    "PRAGMA journal_size_limit=67108864",
];

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

pub(crate) const MAX_CONNECTIONS: u32 = 10;
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Store::connect`] waits for PostgreSQL's first answer. The
/// pool's own first connection would retry for [`ACQUIRE_TIMEOUT`] and then
/// only say that it timed out.
const FIRST_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A PostgreSQL connection given back less than this long ago is used
/// without a ping; one idle for longer is pinged first, and replaced if
/// the ping fails (a database restart or a dropped link). The same rule as
/// HikariCP's `aliveBypassWindowMs` (500 ms): under load a connection is
/// never idle that long, so requests stop paying a round trip each for the
/// check, while after a quiet spell the first request still finds a dead
/// connection before its query does. sqlx also pings each connection when
/// it is given back; the hot reads' connections ([`crate::hot`]) are not
/// sqlx's and skip that.
pub(crate) const ALIVE_BYPASS: Duration = Duration::from_millis(500);

/// Largest number of values bound into one `IN (...)` list. Far below
/// SQLite's (32766) and PostgreSQL's (65535) parameter limits, and small
/// enough that one statement stays cheap to plan.
pub(crate) const IN_BATCH: usize = 500;

/// Which SQL database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Reads the backend from a database URL's scheme.
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            // Only the scheme goes into the error: the rest may hold a password.
            other => Err(StoreError::UnsupportedUrl(other.to_owned())),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// InstallHub's SQL store: tenants, artifacts, packages, imports, rate
/// limits and the audit log. Cheap to clone (a connection pool and a few
/// settings).
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    /// Connections for the hot single-row reads (see [`crate::hot`]); none
    /// for an in-memory SQLite database, whose every connection would open
    /// an empty database of its own.
    pub(crate) hot: Option<HotPool>,
    /// A SQLite file's connection for writes whose loss in a power cut is
    /// harmless and which a later durable commit carries to disk anyway:
    /// its commits do not wait for the disk (`synchronous=NORMAL`). Only a
    /// marketplace install's claim and its stage records use it (see
    /// [`Store::claim_install`], [`Store::set_install_stage`]); none for
    /// PostgreSQL or in-memory SQLite.
    pub(crate) unsynced: Option<AnyPool>,
    /// Reads of one tenant's row that arrive together share one query
    /// (see [`crate::coalesce`]).
    pub(crate) tenant_reads: Arc<Coalescer<TenantId, Option<Tenant>>>,
    /// The same for the tenant with its catalog generation.
    pub(crate) tenant_generation_reads: Arc<Coalescer<TenantId, Option<(Tenant, i64)>>>,
    backend: Backend,
    /// Written as the `owner` of the imports this store starts (see
    /// [`crate::imports`]).
    pub(crate) instance_id: Arc<str>,
    /// When this store connected: an import owned by `instance_id` that
    /// started before it belongs to an earlier process with the same id.
    pub(crate) connected_at: DateTime<Utc>,
    pub(crate) failpoints: Failpoints,
    /// Held by every clone of the store: the SQLite checkpointer stops once
    /// none is left.
    _in_use: Arc<()>,
}

impl Store {
    /// Connects to `sqlite://<path>` (the file and its directory are created
    /// if missing) or `postgres://...`, and runs the migrations.
    pub async fn connect(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let mut options = AnyPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT);
        let url = match backend {
            Backend::Postgres => url.to_owned(),
            Backend::Sqlite => {
                let url = prepare_sqlite_url(url)?;
                if is_sqlite_memory(&url) {
                    // Every connection to `:memory:` opens its own empty
                    // database; one connection keeps them all the same one.
                    options = options.max_connections(1);
                }
                options = options.after_connect(|conn, _meta| Box::pin(apply_sqlite_pragmas(conn)));
                // A SQLite connection is a file handle in this process: it
                // cannot be dropped by a server or a network, so pinging it
                // before each use (a round trip to its worker thread) buys
                // nothing. sqlx still pings it when it is given back, which
                // catches one left mid-statement by a cancelled request (the
                // hot reads' connections, `crate::hot`, know instead).
                options = options.test_before_acquire(false);
                url
            }
        };
        if backend == Backend::Postgres {
            first_connection(&url).await?;
            options = options
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= ALIVE_BYPASS {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                });
        }
        let pool = options.connect(&url).await?;
        let hot = if backend == Backend::Sqlite && is_sqlite_memory(&url) {
            None
        } else {
            Some(HotPool::new(&url, backend)?)
        };
        Migrator::new(EmbeddedMigrations(backend))
            .await?
            .run(&pool)
            .await?;
        let unsynced = if backend == Backend::Sqlite && !is_sqlite_memory(&url) {
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .test_before_acquire(false)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        apply_sqlite_pragmas(conn).await?;
                        conn.execute("PRAGMA synchronous=NORMAL").await?;
                        Ok(())
                    })
                })
                .connect_lazy(&url)?;
            Some(pool)
        } else {
            None
        };
        let instance_id: Arc<str> = uuid::Uuid::new_v4().to_string().into();
        tracing::info!(backend = %backend, instance_id = %instance_id, "database connected and migrated");
        let in_use = Arc::new(());
        if backend == Backend::Sqlite && !is_sqlite_memory(&url) {
            spawn_checkpointer(pool.clone(), Arc::downgrade(&in_use));
        }
        Ok(Store {
            pool,
            hot,
            unsynced,
            tenant_reads: Arc::new(Coalescer::new()),
            tenant_generation_reads: Arc::new(Coalescer::new()),
            backend,
            instance_id,
            connected_at: Utc::now(),
            failpoints: Failpoints::default(),
            _in_use: in_use,
        })
    }

    /// This store's instance id, written as the owner of the imports it
    /// starts. A random UUID unless set with [`Store::with_instance_id`].
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Uses `instance_id` (e.g. a replica's stable pod name) instead of the
    /// random one, so that after a restart
    /// [`Store::fail_stale_imports`] recognises the imports the previous
    /// process left behind as its own and fails them at once.
    pub fn with_instance_id(mut self, instance_id: impl Into<String>) -> Store {
        self.instance_id = instance_id.into().into();
        self
    }

    /// Sets the test failpoints of install transactions (off by default).
    #[cfg(feature = "failpoints")]
    pub fn with_failpoints(mut self, failpoints: Failpoints) -> Store {
        self.failpoints = failpoints;
        self
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Checks that the database answers (for readiness probes).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Whether a commit is on disk when it returns, as the database's own
    /// setting says: SQLite's `PRAGMA synchronous` (FULL or EXTRA), or
    /// PostgreSQL's `synchronous_commit` (anything but `off`; PostgreSQL is
    /// durable by default).
    pub async fn commits_are_durable(&self) -> Result<bool> {
        match self.backend {
            Backend::Sqlite => Ok(sqlite_synchronous(&self.pool).await? >= 2),
            Backend::Postgres => {
                let (setting,): (String,) =
                    sqlx::query_as("SELECT current_setting('synchronous_commit')")
                        .fetch_one(&self.pool)
                        .await?;
                Ok(setting != "off")
            }
        }
    }

    /// Closes every connection; waits for the main pool's in use to come
    /// back (a hot read's is closed when its read ends).
    pub async fn close(&self) {
        if let Some(hot) = &self.hot {
            hot.close();
        }
        if let Some(unsynced) = &self.unsynced {
            unsynced.close().await;
        }
        self.pool.close().await;
    }

    /// Runs a one-statement read on a hot-read connection (see
    /// [`crate::hot`]), or on the main pool where there are none.
    pub(crate) async fn fetch_optional_hot<O: HotRow>(
        &self,
        query: HotQuery<'_, O>,
    ) -> Result<Option<O>> {
        match &self.hot {
            Some(hot) => hot.fetch_optional(query).await,
            None => Ok(query.fetch_optional(&self.pool).await?),
        }
    }
}

/// One connection to PostgreSQL, closed again: a database that is down,
/// silent or refuses us fails here within [`FIRST_CONNECT_TIMEOUT`], named
/// by its host and port and the innermost reason.
async fn first_connection(url: &str) -> Result<()> {
    use sqlx::Connection;
    use std::str::FromStr;
    let address = sqlx::postgres::PgConnectOptions::from_str(url).map_or_else(
        |_| "the PostgreSQL URL".to_owned(),
        |o| format!("{}:{}", o.get_host(), o.get_port()),
    );
    let reason =
        match tokio::time::timeout(FIRST_CONNECT_TIMEOUT, AnyConnection::connect(url)).await {
            Ok(Ok(connection)) => {
                // Closing politely is a courtesy; the pool connects anew.
                let _ = connection.close().await;
                return Ok(());
            }
            Ok(Err(e)) => {
                let mut cause: &dyn std::error::Error = &e;
                while let Some(next) = cause.source() {
                    cause = next;
                }
                cause.to_string()
            }
            Err(_) => format!(
                "no answer within {} seconds",
                FIRST_CONNECT_TIMEOUT.as_secs()
            ),
        };
    Err(StoreError::Connect { address, reason })
}

/// Copies SQLite's WAL back into the database file every
/// [`CHECKPOINT_EVERY`], instead of the connection whose commit took the
/// WAL past 1,000 pages (SQLite's default): that commit's request then
/// waited for the copy and its sync, seconds after a large import (a
/// 480 MB import answered a second sooner without it). Durability is
/// unchanged: `synchronous=FULL` syncs the WAL before a commit returns,
/// and a crash before a checkpoint leaves the WAL to replay. A PASSIVE
/// checkpoint waits for no reader or writer; what it cannot copy yet, the
/// next one does. Stops once no clone of the store is left.
fn spawn_checkpointer(pool: AnyPool, store: std::sync::Weak<()>) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if store.strong_count() == 0 || pool.is_closed() {
                break;
            }
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
                && !pool.is_closed()
            {
                tracing::warn!(%error, "checkpointing the SQLite WAL failed; retrying");
            }
        }
    });
}

/// A SQLite pool's `PRAGMA synchronous`: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA.
async fn sqlite_synchronous(pool: &AnyPool) -> Result<i64> {
    let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous").fetch_one(pool).await?;
    Ok(level)
}

pub(crate) async fn apply_sqlite_pragmas(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    for pragma in SQLITE_PRAGMAS {
        // `Executor::execute` with plain text rather than `sqlx::raw_sql`,
        // whose future is not general enough over lifetimes for the pool's
        // `after_connect` callback.
        conn.execute(*pragma).await?;
    }
    Ok(())
}

/// Adds `mode=rwc` (create the file if missing) unless the URL picks a mode,
/// and creates the file's directory, which SQLite will not do.
fn prepare_sqlite_url(url: &str) -> Result<String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    if is_sqlite_memory(url) {
        return Ok(url.to_owned());
    }
    let path = base
        .strip_prefix("sqlite://")
        .or_else(|| base.strip_prefix("sqlite:"))
        .unwrap_or(base);
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let has_mode = query.split('&').any(|pair| pair.starts_with("mode="));
    Ok(match (has_mode, query.is_empty()) {
        (true, _) => url.to_owned(),
        (false, true) => format!("{base}?mode=rwc"),
        (false, false) => format!("{base}?{query}&mode=rwc"),
    })
}

fn is_sqlite_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// Unix microseconds: the store's timestamp encoding.
pub(crate) fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn now_micros() -> i64 {
    to_micros(Utc::now())
}

pub(crate) fn from_micros(micros: i64, what: &str) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| StoreError::Corrupt(format!("{what}: timestamp {micros} is out of range")))
}

pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|err| StoreError::Corrupt(format!("{what}: cannot encode as JSON: {err}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|err| StoreError::Corrupt(format!("{what}: stored JSON does not parse: {err}")))
}

/// Parses a stored enum wire name with the domain's `parse`.
pub(crate) fn parse_wire<T>(
    value: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    what: &str,
) -> Result<T> {
    parse(value).ok_or_else(|| StoreError::Corrupt(format!("{what}: unknown value '{value}'")))
}

/// `$first, $first+1, ...` for `count` values of an `IN (...)` list.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) fn is_foreign_key_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_foreign_key_violation())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Runs `test` on a store on a PostgreSQL database of its own
    /// (`INSTALLHUB_TEST_POSTGRES_URL`, default
    /// postgres://postgres@127.0.0.1:5432/test), dropped afterwards. Skipped
    /// when the server cannot be reached, unless
    /// `INSTALLHUB_REQUIRE_POSTGRES=1`.
    pub(crate) async fn with_postgres_store<F, Fut>(prefix: &str, test: F)
    where
        F: FnOnce(Store) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        use sqlx::Connection;
        let admin_url = std::env::var("INSTALLHUB_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(admin) => admin,
            Err(e) if std::env::var("INSTALLHUB_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") => {
                panic!("PostgreSQL not reachable ({e}) and INSTALLHUB_REQUIRE_POSTGRES=1")
            }
            Err(e) => return eprintln!("NOTE: PostgreSQL not reachable ({e}); skipped"),
        };
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
        let outcome = tokio::spawn(async move {
            test(Store::connect(&url).await.unwrap()).await;
        })
        .await;
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await
            .unwrap();
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::from_url("mysql://user:secret@h/db").unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
    }

    #[test]
    fn sqlite_url_gets_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("nested/dir/db.sqlite");
        let url = format!("sqlite://{}", file.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(file.parent().unwrap().is_dir());
        assert_eq!(
            prepare_sqlite_url(&format!("{url}?cache=shared")).unwrap(),
            format!("{url}?cache=shared&mode=rwc")
        );
        assert_eq!(
            prepare_sqlite_url(&format!("{url}?mode=ro")).unwrap(),
            format!("{url}?mode=ro")
        );
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:"
        );
    }

    /// Only the connection of install claims and stages commits without
    /// waiting for the disk; every other write (the main pool's) is synced,
    /// and an in-memory database has no such connection.
    #[tokio::test]
    async fn only_the_install_progress_connection_skips_the_sync() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("installhub.db");
        let store = Store::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let unsynced = store.unsynced.as_ref().unwrap();
        assert_eq!(sqlite_synchronous(unsynced).await.unwrap(), 1, "NORMAL");
        assert_eq!(sqlite_synchronous(&store.pool).await.unwrap(), 2, "FULL");
        assert!(store.commits_are_durable().await.unwrap());
        let memory = Store::connect("sqlite::memory:").await.unwrap();
        assert!(memory.unsynced.is_none());
        store.close().await;
    }

    /// A transaction larger than the limit grows the WAL past it; once the
    /// checkpointer has copied it back, the next commit shrinks the file to
    /// the limit again instead of keeping the largest transaction's size.
    /// Without `journal_size_limit` the file stays at 96 MiB.
    #[tokio::test]
    async fn the_wal_gives_its_disk_back_after_a_large_transaction() {
        const LIMIT: u64 = 64 * 1024 * 1024;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("installhub.db");
        let store = Store::connect(&format!("sqlite://{}", file.display()))
            .await
            .unwrap();
        let wal = dir.path().join("installhub.db-wal");
        sqlx::raw_sql(
            "CREATE TABLE ballast (b BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 96)
             INSERT INTO ballast SELECT randomblob(1024 * 1024) FROM n",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        let grown = std::fs::metadata(&wal).unwrap().len();
        assert!(
            grown > LIMIT,
            "the 96 MiB transaction left a WAL of {grown} bytes"
        );

        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let shrunk = loop {
            sqlx::query("INSERT INTO ballast VALUES (x'00')")
                .execute(&store.pool)
                .await
                .unwrap();
            let len = std::fs::metadata(&wal).unwrap().len();
            if len <= LIMIT || std::time::Instant::now() > deadline {
                break len;
            }
            tokio::time::sleep(CHECKPOINT_EVERY / 2).await;
        };
        assert!(
            shrunk <= LIMIT,
            "the WAL kept {shrunk} bytes after checkpoints"
        );
    }

    /// The embedded migrations are exactly what sqlx reads from the
    /// directories (and what `sqlx::migrate!` embedded before): same files,
    /// versions, descriptions, kinds and checksums, so databases migrated
    /// by an earlier build validate against this one.
    #[tokio::test]
    async fn embedded_migrations_match_sqlx_reading_the_directories() {
        for (backend, dir) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let expected = Migrator::new(path).await.unwrap();
            let embedded = Migrator::new(EmbeddedMigrations(backend)).await.unwrap();
            let fields = |m: &Migrator| {
                m.iter()
                    .map(|m| {
                        (
                            m.version,
                            m.description.to_string(),
                            m.migration_type,
                            m.checksum.to_vec(),
                            m.no_tx,
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert!(embedded.iter().count() >= 11, "{dir}: too few migrations");
            assert_eq!(fields(&embedded), fields(&expected), "{dir}");
        }
    }

    #[test]
    fn placeholder_lists() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 1), "$1");
    }
}
