//! `installhub serve`: flags and `INSTALLHUB_*` variables into the server's
//! configuration, then serve until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use installhub_server::advisories::{OSV_EXPORTS, RefreshConfig};
use installhub_server::config::{
    AuthConfig, BundleStoreConfig, DEFAULT_SMTP_FROM, DatabaseConfig, HttpLimits, LimitsConfig,
    NotificationsConfig, PublicHubConfig, RateLimit, SmtpUrl,
};
use installhub_server::{ServerConfig, build_state, demo};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "INSTALLHUB_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Data directory: SQLite database, bundles, local keys.
    #[arg(long, env = "INSTALLHUB_DATA_DIR", default_value = "./installhub-data")]
    data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (default: SQLite in the data directory).
    #[arg(long, env = "INSTALLHUB_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Where bundles are kept: a directory, or `s3://bucket/prefix` (with
    /// the usual `AWS_*` variables for credentials, region and endpoint).
    /// Default: `<data-dir>/bundles`.
    #[arg(long, env = "INSTALLHUB_BUNDLE_STORE")]
    bundle_store: Option<String>,
    /// RS256 public key (PEM) that signs accepted tokens; repeatable.
    #[arg(
        long = "jwt-public-key",
        env = "INSTALLHUB_JWT_PUBLIC_KEY",
        value_delimiter = ','
    )]
    jwt_public_keys: Vec<PathBuf>,
    /// JWKS file with the public keys that sign accepted tokens.
    #[arg(long, env = "INSTALLHUB_JWT_JWKS")]
    jwt_jwks: Option<PathBuf>,
    /// Expected `iss` (required with --jwt-public-key/--jwt-jwks;
    /// default `installhub-local` with the server's own key pair).
    #[arg(long, env = "INSTALLHUB_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// Expected `aud`.
    #[arg(long, env = "INSTALLHUB_JWT_AUDIENCE", default_value = installhub_auth::DEFAULT_AUDIENCE)]
    jwt_audience: String,
    /// Exports allowed per user per window.
    #[arg(long, env = "INSTALLHUB_EXPORT_LIMIT_PER_USER", default_value_t = 10)]
    export_limit_per_user: i64,
    /// The per-user window in seconds.
    #[arg(
        long,
        env = "INSTALLHUB_EXPORT_LIMIT_PER_USER_WINDOW",
        default_value_t = 60
    )]
    export_limit_per_user_window: u64,
    /// Exports allowed per tenant per window.
    #[arg(long, env = "INSTALLHUB_EXPORT_LIMIT_PER_TENANT", default_value_t = 50)]
    export_limit_per_tenant: i64,
    /// The per-tenant window in seconds.
    #[arg(
        long,
        env = "INSTALLHUB_EXPORT_LIMIT_PER_TENANT_WINDOW",
        default_value_t = 3600
    )]
    export_limit_per_tenant_window: u64,
    /// Seconds a client has to send a request's whole head before its
    /// connection is closed.
    #[arg(
        long,
        env = "INSTALLHUB_HEADER_READ_TIMEOUT_SECS",
        default_value_t = 10
    )]
    header_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may stay silent between requests.
    #[arg(long, env = "INSTALLHUB_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    idle_timeout_secs: u64,
    /// Connections served at once (lowered to fit the open-file limit);
    /// more wait in the listen backlog.
    #[arg(long, env = "INSTALLHUB_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
    /// Longest request URI in bytes (414 beyond).
    #[arg(long, env = "INSTALLHUB_MAX_URI_BYTES", default_value_t = 8192)]
    max_uri_bytes: usize,
    /// Largest request header block in bytes (431 beyond).
    #[arg(long, env = "INSTALLHUB_MAX_HEADER_BYTES", default_value_t = 32768)]
    max_header_bytes: usize,
    /// Most request header lines (431 beyond).
    #[arg(long, env = "INSTALLHUB_MAX_HEADERS", default_value_t = 100)]
    max_headers: usize,
    /// Slowest accepted package upload in bytes per second, averaged over
    /// each --upload-rate-window-secs (408 below); 0 turns it off.
    #[arg(
        long,
        env = "INSTALLHUB_MIN_UPLOAD_BYTES_PER_SEC",
        default_value_t = 1024
    )]
    min_upload_bytes_per_sec: u64,
    /// The window, in seconds, over which the upload rate is measured.
    #[arg(long, env = "INSTALLHUB_UPLOAD_RATE_WINDOW_SECS", default_value_t = 10)]
    upload_rate_window_secs: u64,
    /// Largest header block of one multipart part, in bytes.
    #[arg(long, env = "INSTALLHUB_MAX_PART_HEADER_BYTES", default_value_t = 8192)]
    max_part_header_bytes: usize,
    /// Most parts in one multipart upload.
    #[arg(long, env = "INSTALLHUB_MAX_MULTIPART_PARTS", default_value_t = 4)]
    max_multipart_parts: usize,
    /// An advisory index file or a directory of OSV advisory records for
    /// the import's CVE check (default: `<data-dir>/advisories/index.json`
    /// when `installhub advisories sync` wrote one, else the snapshot built
    /// into the binary).
    #[arg(long, env = "INSTALLHUB_ADVISORY_DB")]
    advisory_db: Option<PathBuf>,
    /// OSV export to re-sync the advisory index from (URL or local path);
    /// repeatable or comma-separated. Setting it (or --advisories-refresh)
    /// turns on the scheduled refresh. Default: OSV's `all.zip` of npm,
    /// PyPI, Maven, NuGet and crates.io.
    #[arg(
        long = "advisories-url",
        env = "INSTALLHUB_ADVISORIES_URL",
        value_delimiter = ',',
        value_name = "URL"
    )]
    advisories_urls: Vec<String>,
    /// How often to re-sync the advisory index (`3600`, `90s`, `6h`, `1d`):
    /// right after start, then at this interval. Default with
    /// --advisories-url: daily. A refresh writes `<data-dir>/advisories/index.json`
    /// and replaces whatever snapshot was loaded at start (--advisory-db
    /// included); a failed refresh keeps the last good one.
    #[arg(long, env = "INSTALLHUB_ADVISORIES_REFRESH", value_parser = parse_interval, value_name = "DURATION")]
    advisories_refresh: Option<Duration>,
    /// The marketplace's Ed25519 signing key (PKCS#8 PEM, mode 0600, e.g.
    /// from `openssl genpkey -algorithm ed25519`). Default: one made and
    /// kept in the data directory. Replicas must be given the same file.
    #[arg(long, env = "INSTALLHUB_PUBLICHUB_SIGNING_KEY", value_name = "FILE")]
    publichub_signing_key: Option<PathBuf>,
    /// Public keys of earlier signing keys (a JWKS or a PEM file each;
    /// repeatable or comma-separated), served in the JWKS so versions they
    /// signed still verify after a rotation.
    #[arg(
        long = "publichub-previous-key",
        env = "INSTALLHUB_PUBLICHUB_PREVIOUS_KEYS",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    publichub_previous_keys: Vec<PathBuf>,
    /// The PublicHub marketplace installs download bundles and keys from
    /// (base URL, e.g. `https://hub.example.com`). Default: this server.
    #[arg(long, env = "INSTALLHUB_PUBLICHUB_URL", value_name = "URL")]
    publichub_url: Option<String>,
    /// Marketplace installs this server runs at once.
    #[arg(long, env = "INSTALLHUB_INSTALL_WORKERS", default_value_t = 2)]
    install_workers: usize,
    /// Seconds a worker's claim on an install lasts without a heartbeat
    /// (every third of it): how soon another worker takes over the install
    /// of a server that died.
    #[arg(long, env = "INSTALLHUB_INSTALL_LEASE_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..=3600))]
    install_lease_secs: u64,
    /// Attempts a marketplace install gets: a PublicHub that stays down or
    /// a server that dies mid-install uses one; after the last the install
    /// fails, with nothing installed.
    #[arg(long, env = "INSTALLHUB_INSTALL_MAX_ATTEMPTS", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
    install_max_attempts: u32,
    /// Days an install's snapshot is kept for rolling it back; older
    /// snapshots are pruned and their rollback is 410 SnapshotExpired.
    #[arg(long, env = "INSTALLHUB_SNAPSHOT_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=36500))]
    snapshot_retention_days: u64,
    /// This server's name in the import records it owns; give each replica
    /// a stable one (its pod name). Default: one kept in the data directory.
    #[arg(long, env = "INSTALLHUB_INSTANCE_ID")]
    instance_id: Option<String>,
    /// The SMTP server for notification e-mails: `smtp://host:port`
    /// (add `?tls=required` for STARTTLS) or `smtps://host:port`, with an
    /// optional `user:password@` (never logged). Unset: notifications are
    /// in-app only.
    #[arg(long, env = "INSTALLHUB_SMTP_URL", value_parser = SmtpUrl::unchecked, value_name = "URL")]
    smtp_url: Option<SmtpUrl>,
    /// The `From` of notification e-mails.
    #[arg(long, env = "INSTALLHUB_SMTP_FROM", default_value = DEFAULT_SMTP_FROM, value_name = "MAILBOX")]
    smtp_from: String,
    /// The base of links in notifications and their e-mails (this
    /// server's address as users reach it, e.g. `https://installhub.example.com`).
    /// Default: `http://<listen address>`.
    #[arg(long, env = "INSTALLHUB_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Log as JSON lines instead of text.
    #[arg(long, env = "INSTALLHUB_LOG_JSON")]
    log_json: bool,
    /// Also create the seed's example tenants and artifacts, and print a
    /// token and commands to try them with.
    #[arg(long)]
    demo: bool,
}

impl ServeArgs {
    /// The embedded defaults, overridden by what was given. (Test builds
    /// add failpoints to the defaults, so the flags are set one by one.)
    fn config(&self) -> ServerConfig {
        let mut config = ServerConfig::new(self.data_dir.clone());
        config.listen = self.listen;
        config.database = DatabaseConfig {
            url: self.database_url.clone(),
        };
        config.bundles = self
            .bundle_store
            .as_deref()
            .map_or(BundleStoreConfig::Default, BundleStoreConfig::parse);
        config.auth = AuthConfig {
            public_keys: self.jwt_public_keys.clone(),
            jwks: self.jwt_jwks.clone(),
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            ..AuthConfig::default()
        };
        config.limits = LimitsConfig {
            exports_per_user: RateLimit {
                max: self.export_limit_per_user,
                window: Duration::from_secs(self.export_limit_per_user_window),
            },
            exports_per_tenant: RateLimit {
                max: self.export_limit_per_tenant,
                window: Duration::from_secs(self.export_limit_per_tenant_window),
            },
            http: HttpLimits {
                header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
                idle_timeout: Duration::from_secs(self.idle_timeout_secs),
                max_connections: self.max_connections,
                max_uri_bytes: self.max_uri_bytes,
                max_header_bytes: self.max_header_bytes,
                max_headers: self.max_headers,
                min_upload_bytes_per_sec: self.min_upload_bytes_per_sec,
                upload_rate_window: Duration::from_secs(self.upload_rate_window_secs),
                max_part_header_bytes: self.max_part_header_bytes,
                max_parts: self.max_multipart_parts,
            },
            ..LimitsConfig::default()
        };
        config.advisory_db = self.advisory_db.clone();
        config.advisory_refresh = self.advisory_refresh();
        config.instance_id = self.instance_id.clone();
        config.snapshot_retention =
            Duration::from_secs(self.snapshot_retention_days * 24 * 60 * 60);
        config.publichub = PublicHubConfig {
            signing_key: self.publichub_signing_key.clone(),
            previous_keys: self.publichub_previous_keys.clone(),
            url: self.publichub_url.clone(),
            install_workers: self.install_workers.max(1),
            install_lease: Duration::from_secs(self.install_lease_secs),
            install_max_attempts: self.install_max_attempts,
        };
        config.notifications = NotificationsConfig {
            smtp: self.smtp_url.clone(),
            from: self.smtp_from.clone(),
            public_url: self.public_url.clone(),
            ..NotificationsConfig::default()
        };
        config
    }
}

impl ServeArgs {
    /// The scheduled refresh, when either of its flags was given.
    fn advisory_refresh(&self) -> Option<RefreshConfig> {
        if self.advisories_urls.is_empty() && self.advisories_refresh.is_none() {
            return None;
        }
        let sources = if self.advisories_urls.is_empty() {
            OSV_EXPORTS.iter().map(|s| (*s).to_owned()).collect()
        } else {
            self.advisories_urls.clone()
        };
        Some(RefreshConfig {
            sources,
            every: self
                .advisories_refresh
                .unwrap_or(Duration::from_secs(24 * 60 * 60)),
        })
    }
}

/// Whole seconds (`3600`) or a humantime duration (`90s`, `6h`, `1d`); at
/// least one second.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let duration = match text.trim().parse::<u64>() {
        Ok(secs) => Duration::from_secs(secs),
        Err(_) => humantime::parse_duration(text.trim()).map_err(|e| e.to_string())?,
    };
    if duration < Duration::from_secs(1) {
        return Err("the refresh interval must be at least one second".to_owned());
    }
    Ok(duration)
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let filter = EnvFilter::try_from_env("INSTALLHUB_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    // Logs go to stderr so stdout carries only what a person asked for
    // (the demo's instructions).
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_json {
        logs.json().init();
    } else {
        logs.init();
    }
    let config = args.config();
    // The whole configuration is long and holds nothing a person needs at
    // start; what identifies this server is enough.
    tracing::info!(
        listen = %config.listen,
        data_dir = %config.data_dir.display(),
        database = %installhub_server::config::redact_url(&config.database.url_for(&config.data_dir)),
        "starting"
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "binding {} (is another server running there?)",
                config.listen
            )
        })?;
    let addr = listener.local_addr()?;
    let local_keys = config.auth.uses_local_keys();
    let key_dir = config.key_dir();
    let state = build_state(config).await?;
    if args.demo {
        demo::seed(state.store())
            .await
            .context("creating the demo data")?;
    }
    tracing::info!(%addr, "listening");
    let server = tokio::spawn(installhub_server::serve(
        listener,
        state.clone(),
        shutdown_signal(),
    ));
    if args.demo {
        if local_keys {
            let versions = free_demo_versions(state.store()).await?;
            let pair = installhub_auth::LocalKeyPair::load_or_create(&key_dir)?;
            let token = pair.mint(&crate::token::demo_request())?;
            let listing = publish_demo_listing(addr, &token)
                .await
                .context("publishing the demo's marketplace listing")?;
            let secret = state.console_links().issue(token.clone());
            let console = format!("http://{addr}/console/sign-in/link?secret={secret}");
            print_demo_help(addr, &token, &versions, &listing, &console);
        } else {
            banner(format_args!(
                "Demo data created. Mint tokens with your own identity provider."
            ));
        }
    }
    server.await.context("the server task")??;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The version of the example package the demo publishes to its
/// marketplace (its exports use 2.1.x).
const DEMO_LISTED_VERSION: &str = "2.0.0";

/// Exports the example package and publishes it through the running
/// server's own API, once: a later run finds the listing and answers it.
async fn publish_demo_listing(addr: SocketAddr, token: &str) -> anyhow::Result<String> {
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    let found: serde_json::Value = http
        .get(format!("{base}/api/marketplace/packages"))
        .query(&[("q", DEMO_PACKAGE)])
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let listed = found["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == DEMO_PACKAGE);
    if let Some(id) = listed.and_then(|p| p["packageId"].as_str()) {
        return Ok(id.to_owned());
    }
    let exported: serde_json::Value = http
        .post(format!("{base}/api/installhub/packages/export"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "tenantId": demo::SOURCE_TENANT,
            "packageName": DEMO_PACKAGE,
            "packageType": "workflow-package",
            "version": DEMO_LISTED_VERSION,
            "description": "The documented example: onboarding workflow, form, thread, rule and schema.",
            "artifactIds": ["proc-1001"],
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let published: serde_json::Value = http
        .post(format!("{base}/api/marketplace/packages"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "sourcePackageId": exported["packageId"],
            "summary": "Onboarding for HR teams: the workflow, its form, thread, rule and schema.",
            "publisher": "InstallHub demo",
            "categories": ["hr", "onboarding"],
        }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    published["packageId"]
        .as_str()
        .map(str::to_owned)
        .context("the publish answered no packageId")
}

/// The demo exports the example package three times (curl, then the CLI
/// twice). A data directory kept from an earlier run already holds the
/// versions that run printed, and a version is exported once: so the
/// commands name the first three patch versions of 2.1 that are still free,
/// and work as printed the second time too.
async fn free_demo_versions(store: &installhub_store::Store) -> anyhow::Result<[String; 3]> {
    let tenant = installhub_domain::TenantId::parse(demo::SOURCE_TENANT)?;
    let mut first = 0u32;
    loop {
        let versions = [0, 1, 2].map(|i| format!("2.1.{}", first + i));
        let mut taken = false;
        for version in &versions {
            taken |= store
                .package_version_exists(&tenant, DEMO_PACKAGE, version)
                .await?;
        }
        if !taken {
            return Ok(versions);
        }
        first += 3;
    }
}

/// The package the demo's commands export.
const DEMO_PACKAGE: &str = "Employee Onboarding Suite";

fn print_demo_help(
    addr: SocketAddr,
    token: &str,
    versions: &[String; 3],
    listing: &str,
    console: &str,
) {
    let url = format!("http://{addr}");
    let source = demo::SOURCE_TENANT;
    // The commands name this very binary, so they work as printed whether it
    // was started with `cargo run` or installed.
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.to_str().map(str::to_owned))
        .filter(|p| !p.contains(char::is_whitespace))
        .unwrap_or_else(|| "installhub".to_owned());
    let pkg_id = r#"sed -n 's/.*"packageId":"\(pkg-[0-9a-f-]*\)".*/\1/p'"#;
    let status_url = r#"sed -n 's/.*"statusUrl":"\([^"]*\)".*/\1/p'"#;
    banner(format_args!(
        r#"
InstallHub demo is running at {url}
Tenants: {source} (5 artifacts, the documented example) and {target} (empty).

Open the web console, signed in as the demo user (the link works once,
within {link_minutes} minutes; afterwards sign in at {url}/console with the token below):
{console}

In another terminal:

export INSTALLHUB_URL={url}
export INSTALLHUB_TOKEN={token}

# Preview the dependency graph of proc-1001:
curl -s -X POST $INSTALLHUB_URL/api/installhub/packages/preview \
  -H "Authorization: Bearer $INSTALLHUB_TOKEN" -H 'Content-Type: application/json' \
  -d '{{"tenantId":"{source}","artifactIds":["proc-1001"]}}'

# Export it as a package (the answer is kept in export.json):
curl -s -X POST $INSTALLHUB_URL/api/installhub/packages/export \
  -H "Authorization: Bearer $INSTALLHUB_TOKEN" -H 'Content-Type: application/json' \
  -d '{{"tenantId":"{source}","packageName":"{name}","packageType":"workflow-package","version":"{v0}","artifactIds":["proc-1001"]}}' \
  | tee export.json

# Download the bundle (writes employee-onboarding-suite-{v0}.zip) and check it:
PKG=$({pkg_id} export.json)
curl -s -OJ -H "Authorization: Bearer $INSTALLHUB_TOKEN" $INSTALLHUB_URL/api/installhub/packages/$PKG/download
{exe} verify employee-onboarding-suite-{v0}.zip

# Scan it, then import it into {target} (a dry run first):
{exe} scan employee-onboarding-suite-{v0}.zip
{exe} import employee-onboarding-suite-{v0}.zip --tenant {target} --dry-run
curl -s -X POST $INSTALLHUB_URL/api/installhub/packages/import \
  -H "Authorization: Bearer $INSTALLHUB_TOKEN" \
  -F "package=@employee-onboarding-suite-{v0}.zip;type=application/zip" \
  -F 'options={{"targetTenantId":"{target}","defaultConflictStrategy":"Replace"}};type=application/json'
curl -s -H "Authorization: Bearer $INSTALLHUB_TOKEN" $INSTALLHUB_URL/api/installhub/tenants/{target}/installed-packages

# The same with the CLI:
{exe} preview --tenant {source} proc-1001
{exe} export --tenant {source} --name "{name}" --type workflow-package --version {v1} proc-1001
{exe} download $({exe} export --json --tenant {source} --name "{name}" --type workflow-package --version {v2} proc-1001 | {pkg_id})

# The marketplace: version {listed} of the example is published as {listing} (Community).
# In the console: {url}/console/marketplace/{listing} (install it there and watch it run).
curl -s -H "Authorization: Bearer $INSTALLHUB_TOKEN" "$INSTALLHUB_URL/api/marketplace/packages?q=onboarding"
curl -s -H "Authorization: Bearer $INSTALLHUB_TOKEN" $INSTALLHUB_URL/api/marketplace/packages/{listing}
curl -s -H "Authorization: Bearer $INSTALLHUB_TOKEN" $INSTALLHUB_URL/.well-known/installhub/publichub-keys.json

# Install it into {target} (the answer is kept in install.json), then follow it:
curl -s -X POST $INSTALLHUB_URL/api/marketplace/packages/{listing}/install \
  -H "Authorization: Bearer $INSTALLHUB_TOKEN" -H 'Content-Type: application/json' \
  -d '{{"targetTenantId":"{target}","defaultConflictStrategy":"Replace","acknowledgeCommunityPackage":true}}' \
  | tee install.json
# The same with the CLI, following the install with a progress bar:
{exe} marketplace search onboarding
{exe} marketplace install {listing} --tenant {target} --conflict-strategy Replace --accept-community
curl -s -H "Authorization: Bearer $INSTALLHUB_TOKEN" $INSTALLHUB_URL$({status_url} install.json)
"#,
        target = demo::TARGET_TENANT,
        name = DEMO_PACKAGE,
        v0 = versions[0],
        v1 = versions[1],
        v2 = versions[2],
        listed = DEMO_LISTED_VERSION,
        link_minutes = installhub_server::console::SIGN_IN_LINK_TTL.as_secs() / 60,
    ));
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// A line of the demo's banner on stdout, best effort: the banner is only
/// for reading, so a service whose stdout was closed (a supervisor that
/// keeps only its logs) serves on.
fn banner(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn refresh(args: &[&str]) -> Option<RefreshConfig> {
        let mut all = vec!["serve"];
        all.extend(args);
        Wrapper::try_parse_from(all)
            .unwrap()
            .serve
            .advisory_refresh()
    }

    #[test]
    fn refresh_intervals_read_seconds_or_durations() {
        assert_eq!(parse_interval("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("6h"), Ok(Duration::from_secs(6 * 3600)));
        assert_eq!(parse_interval("1d"), Ok(Duration::from_secs(86_400)));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("soon").is_err());
    }

    #[test]
    fn either_refresh_flag_turns_the_refresh_on() {
        assert_eq!(refresh(&[]), None);
        let daily_from = |sources: Vec<String>| RefreshConfig {
            sources,
            every: Duration::from_secs(86_400),
        };
        assert_eq!(
            refresh(&["--advisories-url", "http://a/npm.zip,http://b/PyPI.zip"]),
            Some(daily_from(vec![
                "http://a/npm.zip".to_owned(),
                "http://b/PyPI.zip".to_owned()
            ]))
        );
        let osv = refresh(&["--advisories-refresh", "12h"]).unwrap();
        assert_eq!(osv.sources, OSV_EXPORTS);
        assert_eq!(osv.every, Duration::from_secs(12 * 3600));
    }
}
