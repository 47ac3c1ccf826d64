//! The server's configuration, one struct per concern. The binary fills
//! these from flags and `INSTALLHUB_*` variables; tests use
//! [`ServerConfig::for_testing`].

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything `installhub serve` needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Home of the SQLite database, bundle files, temporary files and the
    /// local key pair, unless configured elsewhere.
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub bundles: BundleStoreConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    /// A directory of OSV advisory records, or an advisory index file, for
    /// the import's CVE check; `None` uses `<data_dir>/advisories/index.json`
    /// when present, else the snapshot shipped in the binary.
    pub advisory_db: Option<PathBuf>,
    /// Re-sync the advisory index on a schedule; `None`: never.
    pub advisory_refresh: Option<crate::advisories::RefreshConfig>,
    /// This server's name in the import records it owns (a replica's pod
    /// name); `None` keeps one in `<data_dir>/instance-id`.
    pub instance_id: Option<String>,
    /// The marketplace's signing keys.
    pub publichub: PublicHubConfig,
    /// In-app notifications' links and their e-mails.
    pub notifications: NotificationsConfig,
    /// How long an install's snapshot is kept for a rollback; older ones
    /// are pruned by the periodic sweep and a rollback of them is `410
    /// SnapshotExpired`. Zero: every snapshot is expired at once.
    pub snapshot_retention: Duration,
    /// Test-only faults in the install transaction; off unless a test (or
    /// `INSTALLHUB_TEST_FAILPOINTS`) sets them. Only in test builds.
    #[cfg(feature = "failpoints")]
    pub failpoints: installhub_store::Failpoints,
}

/// The marketplace (PublicHub): its signing keys, where installs download
/// from, and the install workers.
#[derive(Debug, Clone)]
pub struct PublicHubConfig {
    /// The Ed25519 private key (PKCS#8 PEM, mode 0600) that signs new
    /// versions; `None` keeps one in `<data_dir>/publichub-ed25519.pem`.
    /// Replicas must share one: give them the same file.
    pub signing_key: Option<PathBuf>,
    /// More public keys to publish in the JWKS (a JWKS, or a PEM key, per
    /// file): the keys that signed older versions, after a rotation.
    pub previous_keys: Vec<PathBuf>,
    /// The PublicHub installs download bundles and keys from (its base
    /// URL); `None`: this server, over HTTP on its own listen address.
    pub url: Option<String>,
    /// Installs one server runs at once.
    pub install_workers: usize,
    /// Claims of one install before it fails (a crash or a PublicHub that
    /// stays down uses one each).
    pub install_max_attempts: u32,
    /// How long a worker's claim on an install lasts without a heartbeat.
    pub install_lease: Duration,
}

impl Default for PublicHubConfig {
    fn default() -> Self {
        Self {
            signing_key: None,
            previous_keys: Vec::new(),
            url: None,
            install_workers: 2,
            install_max_attempts: 3,
            install_lease: Duration::from_secs(30),
        }
    }
}

/// Notifications (SPEC §8): where their links point and how their e-mails
/// are sent.
#[derive(Debug, Clone)]
pub struct NotificationsConfig {
    /// The SMTP server notification e-mails go through; `None`: no e-mail
    /// (notifications are still stored and listed in the app).
    pub smtp: Option<SmtpUrl>,
    /// The e-mails' `From`, e.g. `InstallHub <installhub@example.com>`.
    pub from: String,
    /// The base of links in notifications and e-mails, e.g.
    /// `https://installhub.example.com`; `None`: `http://<listen address>`.
    pub public_url: Option<String>,
    /// How often the mailer looks for due e-mails when nothing wakes it.
    pub poll_every: Duration,
    /// The wait before the second attempt at a failed e-mail; it doubles
    /// each attempt up to `max_retry_delay`.
    pub first_retry_delay: Duration,
    pub max_retry_delay: Duration,
    /// An e-mail still unsent this long after it was queued is given up
    /// (kept in the outbox as a dead letter with its last error).
    pub give_up_after: Duration,
}

/// `--snapshot-retention-days`' default: 30 days.
pub const DEFAULT_SNAPSHOT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The default `From` of notification e-mails.
pub const DEFAULT_SMTP_FROM: &str = "InstallHub <installhub@localhost>";

impl Default for NotificationsConfig {
    fn default() -> Self {
        Self {
            smtp: None,
            from: DEFAULT_SMTP_FROM.to_owned(),
            public_url: None,
            poll_every: Duration::from_secs(5),
            first_retry_delay: Duration::from_secs(5),
            max_retry_delay: Duration::from_secs(60 * 60),
            give_up_after: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// An SMTP server URL as lettre reads it: `smtp://host:port` (plain, or
/// STARTTLS with `?tls=required`), `smtps://host:port` (TLS), with an
/// optional `user:password@`. The password never reaches logs: Debug and
/// Display print it as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpUrl(String);

impl SmtpUrl {
    /// Checks the scheme; the rest is read when the mailer starts.
    pub fn parse(value: &str) -> Result<Self, String> {
        let scheme = value.split_once("://").map(|(scheme, _)| scheme);
        match scheme {
            Some("smtp" | "smtps") => Ok(Self(value.to_owned())),
            _ => Err(format!(
                "'{}' is not an SMTP URL: use smtp://host:port or smtps://host:port, with an optional user:password@",
                redact_url(value)
            )),
        }
    }

    /// Takes the URL as given, for a flag parser: clap would echo a refused
    /// value, password included, so the check ([`SmtpUrl::parse`]) runs
    /// when the server starts instead, with the password hidden.
    pub fn unchecked(value: &str) -> Result<Self, std::convert::Infallible> {
        Ok(Self(value.to_owned()))
    }

    /// The URL with its password, for the SMTP client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SmtpUrl({:?})", redact_url(&self.0))
    }
}

impl fmt::Display for SmtpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

/// Where the relational store lives.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; `None` means SQLite in the data dir.
    pub url: Option<String>,
}

impl DatabaseConfig {
    pub fn url_for(&self, data_dir: &Path) -> String {
        self.url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("installhub.db").display()
            )
        })
    }
}

/// Credentials in a database URL never reach the logs.
impl fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .finish()
    }
}

/// Replaces the password of a URL with `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Where bundles are kept.
#[derive(Clone)]
pub enum BundleStoreConfig {
    /// `<data_dir>/bundles`.
    Default,
    /// A local directory.
    Local(PathBuf),
    /// An S3-compatible bucket, `s3://bucket[/prefix]`; credentials and
    /// endpoint from the `AWS_*` variables, overridden by `options`
    /// (object_store's S3 keys such as `endpoint`, `allow_http`).
    S3 {
        url: String,
        options: Vec<(String, String)>,
    },
}

/// S3 options that are safe to print; every other value (keys, secrets,
/// session tokens, and whatever a newer object_store adds) prints as `***`.
const PRINTABLE_S3_OPTIONS: &[&str] = &[
    "endpoint",
    "aws_endpoint",
    "region",
    "aws_region",
    "allow_http",
    "aws_allow_http",
    "bucket",
    "aws_bucket",
    "virtual_hosted_style_request",
    "aws_virtual_hosted_style_request",
];

/// S3 credentials given as options never reach the logs (the server logs
/// its configuration at start).
impl fmt::Debug for BundleStoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleStoreConfig::Default => f.write_str("Default"),
            BundleStoreConfig::Local(dir) => f.debug_tuple("Local").field(dir).finish(),
            BundleStoreConfig::S3 { url, options } => {
                let options: Vec<(&str, &str)> = options
                    .iter()
                    .map(|(key, value)| {
                        let printable =
                            PRINTABLE_S3_OPTIONS.contains(&key.to_ascii_lowercase().as_str());
                        (key.as_str(), if printable { value.as_str() } else { "***" })
                    })
                    .collect();
                f.debug_struct("S3")
                    .field("url", &redact_url(url))
                    .field("options", &options)
                    .finish()
            }
        }
    }
}

impl BundleStoreConfig {
    /// `s3://…` is a bucket; anything else a local directory.
    pub fn parse(value: &str) -> Self {
        if value.starts_with("s3://") {
            BundleStoreConfig::S3 {
                url: value.to_owned(),
                options: Vec::new(),
            }
        } else {
            BundleStoreConfig::Local(PathBuf::from(value))
        }
    }
}

/// How bearer tokens are verified (SPEC §2).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// RS256 public keys as PEM files.
    pub public_keys: Vec<PathBuf>,
    /// A JWKS document with public keys.
    pub jwks: Option<PathBuf>,
    /// Expected `iss`. Defaults to the local issuer when the server uses its
    /// own key pair.
    pub issuer: Option<String>,
    /// Expected `aud`.
    pub audience: String,
    pub leeway_secs: u64,
}

impl AuthConfig {
    /// No keys configured: the server makes and uses its own key pair in the
    /// data directory, for local use.
    pub fn uses_local_keys(&self) -> bool {
        self.public_keys.is_empty() && self.jwks.is_none()
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            public_keys: Vec::new(),
            jwks: None,
            issuer: None,
            audience: installhub_auth::DEFAULT_AUDIENCE.to_owned(),
            leeway_secs: 30,
        }
    }
}

/// A count allowed per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: i64,
    pub window: Duration,
}

/// Request limits.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Exports per user (seed 01: 10 per minute).
    pub exports_per_user: RateLimit,
    /// Exports per tenant (seed 01: 50 per hour).
    pub exports_per_tenant: RateLimit,
    /// Largest JSON body any route accepts.
    pub json_body_bytes: usize,
    /// How long a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// The same for the routes that receive a package (a 500 MB upload on a
    /// slow link takes minutes). An import already received runs to its end
    /// and records its outcome even when the answer can no longer be sent.
    pub upload_timeout: Duration,
    /// Import limits per plan (seed 03).
    pub standard_plan: PlanLimits,
    pub enterprise_plan: PlanLimits,
    /// What one connection and one request head may hold.
    pub http: HttpLimits,
}

/// Limits of the HTTP edge, below the routes: what a client may hold
/// open, for how long, and how large a request head may be (SECURITY.md
/// 26-28). Each is a flag of `installhub serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// A request head (request line and headers) must arrive whole within
    /// this time, or the connection is closed.
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request in flight is closed after
    /// this long without a byte either way.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog. Never
    /// more than the open-file limit leaves room for.
    pub max_connections: usize,
    /// Longest request target (path and query), in bytes: 414 beyond.
    pub max_uri_bytes: usize,
    /// Largest header block (names, values and separators), in bytes: 431
    /// beyond.
    pub max_header_bytes: usize,
    /// Most header lines in one request: 431 beyond.
    pub max_headers: usize,
    /// Slowest accepted upload on the package routes, in bytes per second,
    /// averaged over each `upload_rate_window`; 0 turns the check off.
    pub min_upload_bytes_per_sec: u64,
    /// The window over which the upload rate is measured; the first one is
    /// the grace a client gets to start sending.
    pub upload_rate_window: Duration,
    /// Largest header block of one multipart part.
    pub max_part_header_bytes: usize,
    /// Most parts in one multipart upload.
    pub max_parts: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 32 * 1024,
            max_headers: 100,
            min_upload_bytes_per_sec: 1024,
            upload_rate_window: Duration::from_secs(10),
            max_part_header_bytes: 8 * 1024,
            max_parts: 4,
        }
    }
}

/// What one plan may import (seed 03's table); the import's admission
/// checks against it.
pub use installhub_domain::import::admit::PlanLimits;

impl LimitsConfig {
    pub fn plan(&self, plan: installhub_domain::Plan) -> PlanLimits {
        match plan {
            installhub_domain::Plan::Standard => self.standard_plan,
            installhub_domain::Plan::Enterprise => self.enterprise_plan,
        }
    }

    /// The largest package any plan accepts: where an upload stops being
    /// read, before the target tenant's plan is known.
    pub fn max_upload_bytes(&self) -> u64 {
        self.standard_plan
            .max_package_bytes
            .max(self.enterprise_plan.max_package_bytes)
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            exports_per_user: RateLimit {
                max: 10,
                window: Duration::from_secs(60),
            },
            exports_per_tenant: RateLimit {
                max: 50,
                window: Duration::from_secs(3600),
            },
            json_body_bytes: 4 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(30 * 60),
            standard_plan: PlanLimits {
                max_package_bytes: 50 * 1024 * 1024,
                max_artifacts: 100,
            },
            enterprise_plan: PlanLimits {
                max_package_bytes: 500 * 1024 * 1024,
                max_artifacts: 1000,
            },
            http: HttpLimits::default(),
        }
    }
}

impl ServerConfig {
    /// The embedded defaults: 127.0.0.1:8080 and `./installhub-data`.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir,
            database: DatabaseConfig { url: None },
            bundles: BundleStoreConfig::Default,
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            advisory_db: None,
            advisory_refresh: None,
            instance_id: None,
            publichub: PublicHubConfig::default(),
            notifications: NotificationsConfig::default(),
            snapshot_retention: DEFAULT_SNAPSHOT_RETENTION,
            #[cfg(feature = "failpoints")]
            failpoints: installhub_store::Failpoints::from_env(),
        }
    }

    /// An ephemeral port on loopback, everything under `data_dir`.
    pub fn for_testing(data_dir: &Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..Self::new(data_dir.to_path_buf())
        }
    }

    /// The local bundle directory (the default store's, when bundles live
    /// in a bucket, where nothing is written).
    pub fn bundle_dir(&self) -> PathBuf {
        match &self.bundles {
            BundleStoreConfig::Default | BundleStoreConfig::S3 { .. } => {
                self.data_dir.join("bundles")
            }
            BundleStoreConfig::Local(dir) => dir.clone(),
        }
    }

    /// Scratch space for bundles being written or received.
    pub fn tmp_dir(&self) -> PathBuf {
        self.data_dir.join("tmp")
    }

    pub fn key_dir(&self) -> PathBuf {
        self.data_dir.join("keys")
    }

    /// The base of links in notifications: `--public-url` without a
    /// trailing `/`, else `http://<listen address>`.
    pub fn public_url(&self) -> String {
        match &self.notifications.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_passwords_are_redacted() {
        let url = SmtpUrl::parse("smtps://mailer:hunter2@mail.example.com:465").unwrap();
        assert_eq!(url.expose(), "smtps://mailer:hunter2@mail.example.com:465");
        for shown in [format!("{url}"), format!("{url:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("mailer:***@mail.example.com:465"), "{shown}");
        }
        let err = SmtpUrl::parse("http://mailer:hunter2@mail.example.com").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
        assert!(SmtpUrl::parse("smtp://127.0.0.1:2525").is_ok());
    }

    #[test]
    fn public_url_defaults_to_the_listen_address() {
        let mut config = ServerConfig::new(PathBuf::from("data"));
        assert_eq!(config.public_url(), "http://127.0.0.1:8080");
        config.notifications.public_url = Some("https://hub.example.com/".to_owned());
        assert_eq!(config.public_url(), "https://hub.example.com");
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/ih"),
            "postgres://app:***@db:5432/ih"
        );
        assert_eq!(redact_url("postgres://app@db/ih"), "postgres://app@db/ih");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
        let debug = format!(
            "{:?}",
            DatabaseConfig {
                url: Some("postgres://a:pw@h/d".into())
            }
        );
        assert!(!debug.contains("pw"), "{debug}");
    }

    #[test]
    fn s3_secrets_are_redacted() {
        let config = BundleStoreConfig::S3 {
            url: "s3://bundles/prod".into(),
            options: vec![
                ("endpoint".into(), "http://127.0.0.1:9000".into()),
                ("aws_secret_access_key".into(), "s3cr3t-value".into()),
                ("aws_session_token".into(), "t0ken-value".into()),
                ("access_key_id".into(), "AKIAEXAMPLE".into()),
            ],
        };
        let debug = format!("{config:?}");
        for secret in ["s3cr3t-value", "t0ken-value", "AKIAEXAMPLE"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("http://127.0.0.1:9000"), "{debug}");
        assert!(debug.contains("s3://bundles/prod"), "{debug}");
    }
}
