//! Connections for the hot reads: single-row reads every authenticated
//! request to a tenant makes (the tenant, with its catalog generation).
//!
//! sqlx's pool pings every connection given back to it (sqlx-core 0.8's
//! `return_to_pool`, not configurable), in case a cancelled query left it
//! mid-statement. That is a round trip per query: to PostgreSQL over the
//! socket, and to SQLite's worker thread, two context switches, which the
//! profile of an authenticated tenant GET on SQLite showed as about a third
//! of its CPU (`scripts/bench-requests.sh`). These connections live in a
//! [`deadpool`] pool of their own instead, which knows when a query was
//! left unfinished: a read marks its connection in use before the query and
//! clean after it, so a connection dropped mid-query (the request was
//! cancelled) or after an error is closed instead of reused. A clean one
//! is reused without a ping; on PostgreSQL one unused for
//! [`ALIVE_BYPASS`] or longer is pinged first, as the main pool's are, so
//! a database restart during a quiet spell costs no request.

use std::sync::atomic::{AtomicU64, Ordering};

use deadpool::Runtime;
use deadpool::managed::{self, Metrics, PoolError, RecycleError, RecycleResult};
use sqlx::{AnyConnection, Connection};

use crate::db::{ACQUIRE_TIMEOUT, ALIVE_BYPASS, Backend, apply_sqlite_pragmas};
use crate::error::{Result, StoreError};

/// Hot-read connections per store, beside the main pool's. A read holds
/// one only for its query (tens of microseconds), so a few serve many
/// concurrent requests.
const HOT_CONNECTIONS: usize = 4;

/// Opens and recycles hot-read connections.
#[derive(Debug)]
pub(crate) struct HotManager {
    url: String,
    backend: Backend,
    /// Connections pinged before reuse, and closed instead of reused.
    pub(crate) pings: AtomicU64,
    pub(crate) closed: AtomicU64,
}

/// A hot-read connection and whether its last read ran to the end.
#[derive(Debug)]
pub(crate) struct HotConnection {
    conn: AnyConnection,
    clean: bool,
}

impl managed::Manager for HotManager {
    type Type = HotConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> std::result::Result<HotConnection, sqlx::Error> {
        let mut conn = AnyConnection::connect(&self.url).await?;
        if self.backend == Backend::Sqlite {
            apply_sqlite_pragmas(&mut conn).await?;
        }
        Ok(HotConnection { conn, clean: true })
    }

    async fn recycle(
        &self,
        hot: &mut HotConnection,
        metrics: &Metrics,
    ) -> RecycleResult<sqlx::Error> {
        if !hot.clean {
            // Closed, not pinged as sqlx's pool does: a ping would queue
            // behind whatever the abandoned statement still has to do, and
            // this read would wait for it.
            self.closed.fetch_add(1, Ordering::Relaxed);
            return Err(RecycleError::message(
                "its last read did not finish; closed instead of reused",
            ));
        }
        // A SQLite connection is a file handle in this process: nothing
        // outside can drop it.
        if self.backend == Backend::Postgres && metrics.last_used() >= ALIVE_BYPASS {
            self.pings.fetch_add(1, Ordering::Relaxed);
            hot.conn.ping().await?;
        }
        Ok(())
    }
}

/// A one-statement read a hot connection runs.
pub(crate) type HotQuery<'q, O> =
    sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>>;

/// What a hot read's row becomes.
pub(crate) trait HotRow:
    Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>
{
}

impl<O> HotRow for O where O: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> {}

/// The pool of hot-read connections.
#[derive(Debug, Clone)]
pub(crate) struct HotPool {
    pool: managed::Pool<HotManager>,
}

impl HotPool {
    /// A pool for `url` (already prepared as the main pool's); connections
    /// are opened on first use.
    pub(crate) fn new(url: &str, backend: Backend) -> Result<HotPool> {
        let manager = HotManager {
            url: url.to_owned(),
            backend,
            pings: AtomicU64::new(0),
            closed: AtomicU64::new(0),
        };
        let pool = managed::Pool::builder(manager)
            .max_size(HOT_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(ACQUIRE_TIMEOUT))
            .create_timeout(Some(ACQUIRE_TIMEOUT))
            .recycle_timeout(Some(ACQUIRE_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Database(sqlx::Error::Configuration(e.to_string().into())))?;
        Ok(HotPool { pool })
    }

    /// Runs `query` (one statement, read only) on a hot connection.
    pub(crate) async fn fetch_optional<O: HotRow>(
        &self,
        query: HotQuery<'_, O>,
    ) -> Result<Option<O>> {
        let mut hot = self.pool.get().await.map_err(|e| match e {
            PoolError::Backend(e) => StoreError::from(e),
            PoolError::Timeout(_) => StoreError::Busy(sqlx::Error::PoolTimedOut),
            PoolError::Closed => StoreError::Database(sqlx::Error::PoolClosed),
            other => StoreError::Database(sqlx::Error::Configuration(other.to_string().into())),
        })?;
        // Dropped during the query (the request was cancelled), the
        // connection goes back marked unfinished and is closed.
        hot.clean = false;
        let row = query.fetch_optional(&mut hot.conn).await;
        hot.clean = row.is_ok();
        Ok(row?)
    }

    /// Closes the pool: idle connections now, the rest when given back.
    pub(crate) fn close(&self) {
        self.pool.close();
    }

    /// The manager's counters, for tests.
    #[cfg(test)]
    pub(crate) fn manager(&self) -> &HotManager {
        self.pool.manager()
    }

    /// Connections open now (idle or in use).
    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        self.pool.status().size
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use installhub_domain::{Plan, Tenant, TenantId, TenantStatus};

    use crate::Store;
    use crate::db::ALIVE_BYPASS;

    fn tenant(id: &str) -> Tenant {
        Tenant {
            tenant_id: TenantId::parse(id).unwrap(),
            name: format!("Tenant {id}"),
            plan: Plan::Standard,
            status: TenantStatus::Active,
            default_conflict_strategy: None,
            allowed_trust_levels: None,
        }
    }

    /// Reads the tenant many times in a row, cancels one read mid-query,
    /// and checks what the hot pool did: one connection for sequential
    /// reads, none pinged while in use (PostgreSQL pings one unused for
    /// [`ALIVE_BYPASS`]), the cancelled read's connection closed instead of
    /// reused, and every answer right.
    async fn hot_reads(store: Store) {
        let id = TenantId::parse("tenant-hot").unwrap();
        store
            .upsert_tenant(&tenant("tenant-hot"), "test")
            .await
            .unwrap();
        let hot = store
            .hot
            .as_ref()
            .expect("a file or server database has hot reads");
        let counters = |hot: &super::HotPool| {
            let m = hot.manager();
            (
                hot.size(),
                m.pings.load(Ordering::Relaxed),
                m.closed.load(Ordering::Relaxed),
            )
        };

        for _ in 0..50 {
            let found = store.get_tenant(&id).await.unwrap().unwrap();
            assert_eq!(found.name, "Tenant tenant-hot");
            let (_, generation) = store
                .get_tenant_with_generation(&id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(generation, 0);
        }
        assert_eq!(counters(hot), (1, 0, 0), "(connections, pinged, closed)");

        // A read cancelled mid-query (its request went away): a statement
        // that runs far longer than the 50 ms it is given.
        let slow = match store.backend() {
            crate::Backend::Sqlite => {
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000) \
                 SELECT max(i) FROM n"
            }
            crate::Backend::Postgres => "SELECT 1::BIGINT FROM pg_sleep(2)",
        };
        let cancelled = tokio::time::timeout(
            Duration::from_millis(50),
            store.fetch_optional_hot(sqlx::query_as::<_, (i64,)>(slow)),
        )
        .await;
        assert!(cancelled.is_err(), "the slow read finished: {cancelled:?}");
        let mut renamed = tenant("tenant-hot");
        renamed.name = "Renamed".to_owned();
        store.upsert_tenant(&renamed, "test").await.unwrap();
        assert_eq!(
            store.get_tenant(&id).await.unwrap().unwrap().name,
            "Renamed"
        );
        let (size, pinged, closed) = counters(hot);
        assert_eq!(
            (size, pinged, closed),
            (1, 0, 1),
            "(connections, pinged, closed)"
        );

        tokio::time::sleep(ALIVE_BYPASS + Duration::from_millis(100)).await;
        assert!(store.get_tenant(&id).await.unwrap().is_some());
        let expected_pings = u64::from(store.backend() == crate::Backend::Postgres);
        assert_eq!(
            counters(hot),
            (1, expected_pings, 1),
            "(connections, pinged, closed)"
        );
        assert!(
            store
                .get_tenant(&TenantId::parse("tenant-none").unwrap())
                .await
                .unwrap()
                .is_none()
        );
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_hot_reads_reuse_clean_connections_and_close_cancelled_ones() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("installhub.db").display());
        hot_reads(Store::connect(&url).await.unwrap()).await;
    }

    #[tokio::test]
    async fn an_in_memory_database_reads_through_the_main_pool() {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        assert!(store.hot.is_none());
        store
            .upsert_tenant(&tenant("tenant-mem"), "test")
            .await
            .unwrap();
        let id = TenantId::parse("tenant-mem").unwrap();
        assert!(store.get_tenant(&id).await.unwrap().is_some());
    }

    /// The same on PostgreSQL (`INSTALLHUB_TEST_POSTGRES_URL`, default
    /// postgres://postgres@127.0.0.1:5432/test): a database of its own,
    /// dropped afterwards. Skipped when the server cannot be reached,
    /// unless `INSTALLHUB_REQUIRE_POSTGRES=1`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_hot_reads_reuse_clean_connections_and_close_cancelled_ones() {
        crate::db::tests::with_postgres_store("ih_hot", hot_reads).await;
    }
}
