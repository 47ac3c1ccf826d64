//! Runs one test body against a fresh database of either backend.
//!
//! SQLite: a file in a temporary directory. PostgreSQL: a new database on
//! the server at `INSTALLHUB_TEST_POSTGRES_URL`, dropped afterwards (also
//! when the test panics). `backend_suite!` turns a list of test bodies into a
//! `sqlite::<name>` and a `postgres::<name>` test each.

#[allow(dead_code, reason = "each suite uses a different part")]
pub mod fixtures;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use installhub_store::Store;
use sqlx::{Connection, Executor, PgConnection};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// What a test body gets: the store and the URL it was opened with (to look
/// at rows directly, or to open a second store on the same database).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub store: Store,
    pub url: String,
}

/// Generates `sqlite::$name` and `postgres::$name` tests calling the test
/// body `$name(ctx: Ctx)` defined next to the macro call.
macro_rules! backend_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::run_sqlite(super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::common::run_postgres(super::$name).await;
                }
            )*
        }
    };
}

pub async fn run_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("db/installhub.sqlite").display()
    );
    let store = Store::connect(&url).await.unwrap();
    test(Ctx {
        store: store.clone(),
        url,
    })
    .await;
    store.close().await;
}

pub async fn run_postgres<F, Fut>(test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let admin_url = std::env::var("INSTALLHUB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
    let connected =
        tokio::time::timeout(Duration::from_secs(5), PgConnection::connect(&admin_url)).await;
    let mut admin = match connected {
        Ok(Ok(conn)) => conn,
        Ok(Err(err)) => return unreachable_postgres(&admin_url, &err.to_string()),
        Err(_) => return unreachable_postgres(&admin_url, "timed out"),
    };

    let name = format!("ih_test_{}", uuid::Uuid::new_v4().simple());
    // A locale-aware default collation (ICU en-US sorts "a_3" before "B-1")
    // so that anything relying on byte order without asking for it fails
    // here. Servers without ICU get the plain default.
    let icu = format!(
        "CREATE DATABASE {name} TEMPLATE template0 \
         LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
    );
    if admin.execute(icu.as_str()).await.is_err() {
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
    }
    let url = with_database(&admin_url, &name);

    let outcome = AssertUnwindSafe(async {
        let store = Store::connect(&url).await.unwrap();
        test(Ctx {
            store: store.clone(),
            url: url.clone(),
        })
        .await;
        store.close().await;
    })
    .catch_unwind()
    .await;

    // Best effort: FORCE ends connections a panicking test left open.
    if let Err(err) = admin
        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
        .await
    {
        eprintln!("could not drop test database {name}: {err}");
    }
    admin.close().await.ok();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

fn unreachable_postgres(url: &str, why: &str) {
    let url = redact(url);
    if std::env::var("INSTALLHUB_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("PostgreSQL not reachable at {url} ({why}) and INSTALLHUB_REQUIRE_POSTGRES=1");
    }
    // Past the harness's output capture, once: a passing run must not hide
    // that it tested less.
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "NOTE: PostgreSQL not reachable at {url} ({why}); the postgres:: tests pass without running"
        );
    });
}

/// The same server URL with another database name.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    format!("{scheme}://{authority}/{database}{query}")
}

/// Hides a password, if the URL has one, before it is printed.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

#[test]
fn url_helpers() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "ih_x"),
        "postgres://postgres@127.0.0.1:5432/ih_x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "ih_x"),
        "postgres://u:p@h/ih_x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "ih_x"),
        "postgres://h:5432/ih_x"
    );
    assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
    assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
}
