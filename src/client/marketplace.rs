//! `installhub marketplace …`: the PublicHub from the command line (seed 04).
//!
//! - `search` and `show` read listings (any valid token);
//! - `publish` makes an exported package a version of its listing
//!   (`marketplace:publish`);
//! - `install` queues an install and follows its status with a live
//!   progress bar until it ends; `status` reads one install's status;
//! - `yank`, `deprecate`, `trust` and `delist` govern listings and their
//!   versions.
//!
//! Every command prints a summary for a person, or with `--json` the
//! server's answer unchanged (`search --all` prints every page's listings
//! as one `{packages}` object). Failures are reported as every client
//! command reports them ([`ClientError`]).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use installhub_domain::marketplace::InstallBody;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::import::{STRATEGIES, parse_artifact_strategy};
use super::{Client, ClientError, Connection, finish, parse_response, print_json, table};

/// The trust levels an admin may set.
const TRUST_LEVELS: [&str; 3] = ["Official", "Verified", "Community"];
/// The first wait between two status polls; each wait after is half as
/// long again, up to [`POLL_MAX`].
const POLL_FIRST: Duration = Duration::from_millis(250);
const POLL_MAX: Duration = Duration::from_secs(1);

#[derive(Debug, Args)]
pub struct MarketplaceArgs {
    #[command(subcommand)]
    pub command: MarketplaceCommand,
}

#[derive(Debug, Subcommand)]
pub enum MarketplaceCommand {
    /// Search listings: a table of id, name, latest version, trust level,
    /// installs and publisher.
    Search(SearchArgs),
    /// Show a listing and every version (yanked and deprecated ones marked).
    Show(ShowArgs),
    /// Publish an exported package as a version of its listing.
    Publish(PublishArgs),
    /// Install a package into a tenant and follow the install to its end.
    Install(InstallArgs),
    /// Show an install's status (exit 1 when it failed).
    Status(StatusArgs),
    /// Yank a version (never "latest", still installable by name), or undo it.
    Yank(YankArgs),
    /// Deprecate a version (still installs, users are told why not to), or
    /// undo it.
    Deprecate(YankArgs),
    /// Set a listing's trust level (needs marketplace:admin).
    Trust(TrustArgs),
    /// Delist a listing (no new installs, hidden from search), or undo it.
    Delist(DelistArgs),
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words that must all appear in the name, summary or publisher.
    #[arg(value_name = "QUERY")]
    pub query: Option<String>,
    /// Only packages of this type (as `export --type`).
    #[arg(long = "type", value_name = "TYPE")]
    pub package_type: Option<String>,
    /// Only listings of this trust level: Official, Verified or Community.
    #[arg(long, value_name = "LEVEL")]
    pub trust_level: Option<String>,
    /// Only this publisher (without case).
    #[arg(long, value_name = "PUBLISHER")]
    pub publisher: Option<String>,
    /// Only listings in this category.
    #[arg(long, value_name = "CATEGORY")]
    pub category: Option<String>,
    /// Listings per page, 1-100 (the server's default: 20).
    #[arg(long, value_name = "N")]
    pub limit: Option<u32>,
    /// Follow `nextCursor` and show every page.
    #[arg(long)]
    pub all: bool,
    /// Print the server's answer as JSON (with --all: `{packages}` of every page).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The listing: `mkt-pkg-` and a UUID.
    #[arg(value_name = "PACKAGE_ID")]
    pub package_id: String,
    /// Print the server's answer as JSON (the input of `verify --listing`).
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The exported package to publish (`pkg-` and a UUID).
    #[arg(long = "package", value_name = "PKG_ID")]
    pub package: String,
    /// What the package does, in a sentence or two.
    #[arg(long, value_name = "TEXT")]
    pub summary: String,
    /// Who publishes it, as users should see it.
    #[arg(long, value_name = "NAME")]
    pub publisher: String,
    /// A category (repeatable, up to 8); they replace the listing's.
    #[arg(long = "category", value_name = "CATEGORY")]
    pub categories: Vec<String>,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

// `--version`/VERSION is the package's version here (see `export`).
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct InstallArgs {
    /// The listing: `mkt-pkg-` and a UUID.
    #[arg(value_name = "PACKAGE_ID")]
    pub package_id: String,
    /// The tenant to install into.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// The version, exactly as published; default: the latest not yanked.
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// What to do with an artifact the tenant already has with other
    /// content: Replace, Skip or Fail. Default: the tenant's own default.
    #[arg(long, value_name = "STRATEGY", value_parser = STRATEGIES)]
    pub conflict_strategy: Option<String>,
    /// A strategy for one artifact, overriding --conflict-strategy (repeatable).
    #[arg(long = "artifact-strategy", value_name = "ARTIFACT_ID=STRATEGY", value_parser = parse_artifact_strategy)]
    pub artifact_strategies: Vec<(String, String)>,
    /// Run every stage and show the plan; install nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm installing a Community package (required for one).
    #[arg(long)]
    pub accept_community: bool,
    /// Allow major version upgrades (needs installhub:import:override-major-version).
    #[arg(long)]
    pub allow_major_version_upgrade: bool,
    /// Install despite WARN scan findings (needs installhub:import:override-security-warnings).
    #[arg(long)]
    pub allow_security_warnings: bool,
    /// Sent as `Idempotency-Key`: the same key answers the same install, so
    /// a retried command does not install twice.
    #[arg(long, value_name = "KEY")]
    pub idempotency_key: Option<String>,
    /// Queue the install and print its id; do not follow it.
    #[arg(long)]
    pub no_wait: bool,
    /// Give up following after this long (the install itself goes on).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Print the final status as JSON (with --no-wait: the server's 202
    /// answer), and no progress bar.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The install: `mkt-install-` and a UUID.
    #[arg(value_name = "INSTALL_ID")]
    pub install_id: String,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

// `--version`/VERSION is the package's version here (see `export`).
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct YankArgs {
    #[arg(value_name = "PACKAGE_ID")]
    pub package_id: String,
    /// The version, exactly as published.
    #[arg(value_name = "VERSION")]
    pub version: String,
    /// Why, for the users who meet it.
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "undo",
        conflicts_with = "undo"
    )]
    pub reason: Option<String>,
    /// Take the yank (or deprecation) back.
    #[arg(long)]
    pub undo: bool,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct TrustArgs {
    #[arg(value_name = "PACKAGE_ID")]
    pub package_id: String,
    #[arg(value_name = "LEVEL", value_parser = TRUST_LEVELS)]
    pub level: String,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct DelistArgs {
    #[arg(value_name = "PACKAGE_ID")]
    pub package_id: String,
    /// Why, for the users who meet it.
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "undo",
        conflicts_with = "undo"
    )]
    pub reason: Option<String>,
    /// List it again.
    #[arg(long)]
    pub undo: bool,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

pub async fn run(args: MarketplaceArgs) -> anyhow::Result<ExitCode> {
    Ok(match args.command {
        MarketplaceCommand::Search(a) => {
            let json = a.json;
            finish(search(a).await, json)
        }
        MarketplaceCommand::Show(a) => {
            let json = a.json;
            finish(show(a).await, json)
        }
        MarketplaceCommand::Publish(a) => {
            let json = a.json;
            finish(publish(a).await, json)
        }
        MarketplaceCommand::Install(a) => {
            let json = a.json;
            install(a).await.unwrap_or_else(|e| e.report(json))
        }
        MarketplaceCommand::Status(a) => {
            let json = a.json;
            status(a).await.unwrap_or_else(|e| e.report(json))
        }
        MarketplaceCommand::Yank(a) => {
            let json = a.json;
            finish(mark_version(a, VersionMark::Yank).await, json)
        }
        MarketplaceCommand::Deprecate(a) => {
            let json = a.json;
            finish(mark_version(a, VersionMark::Deprecation).await, json)
        }
        MarketplaceCommand::Trust(a) => {
            let json = a.json;
            finish(trust(a).await, json)
        }
        MarketplaceCommand::Delist(a) => {
            let json = a.json;
            finish(delist(a).await, json)
        }
    })
}

// --- What the server answers, as far as the summaries show it. Enum-like
// fields stay strings: a newer server may add a value, and this client
// should still print it rather than fail.

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListingPage {
    packages: Vec<Value>,
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Listing {
    package_id: String,
    name: String,
    #[serde(default)]
    package_type: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    publisher: String,
    #[serde(default)]
    categories: Vec<String>,
    trust_level: String,
    #[serde(default)]
    install_count: u64,
    #[serde(default)]
    latest_version: Option<String>,
    #[serde(default)]
    delisted: Option<MarkView>,
    #[serde(default)]
    versions: Vec<ListingVersion>,
}

#[derive(Debug, Deserialize)]
struct MarkView {
    at: String,
    reason: String,
}

/// One version of `show`; also the fields `verify --listing` checks.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListingVersion {
    pub version: String,
    pub checksum: String,
    pub bundle_sha256: String,
    pub size_bytes: u64,
    pub signature: String,
    pub key_id: String,
    pub published_at: chrono::DateTime<chrono::Utc>,
    #[serde(default)]
    security_scan_result: String,
    #[serde(default)]
    yanked: Option<MarkView>,
    #[serde(default)]
    deprecated: Option<MarkView>,
}

/// A listing and its versions as `show --json` prints it, for `verify`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedListing {
    pub package_id: String,
    pub name: String,
    pub versions: Vec<ListingVersion>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    install_id: String,
    #[serde(default)]
    estimated_seconds: u64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstallStatus {
    status: String,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    progress: Option<String>,
    #[serde(default)]
    import_id: Option<String>,
    #[serde(default)]
    artifacts_installed: Option<u64>,
    #[serde(default)]
    conflicts_resolved: Option<u64>,
    #[serde(default)]
    completed_at: Option<String>,
    #[serde(default)]
    dry_run: Option<bool>,
    #[serde(default)]
    planned_actions: Option<Vec<PlannedAction>>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlannedAction {
    #[serde(default)]
    artifact_id: String,
    #[serde(default, rename = "type")]
    artifact_type: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    previous_version: Option<String>,
    #[serde(default)]
    version: String,
}

// --- search and show

async fn search(args: SearchArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let url = client.url_with_segments(&["api", "marketplace", "packages"])?;
    let mut params: Vec<(&str, String)> = Vec::new();
    let filters = [
        ("q", &args.query),
        ("packageType", &args.package_type),
        ("trustLevel", &args.trust_level),
        ("publisher", &args.publisher),
        ("category", &args.category),
    ];
    for (name, value) in filters {
        if let Some(value) = value {
            params.push((name, value.clone()));
        }
    }
    if let Some(limit) = args.limit {
        params.push(("limit", limit.to_string()));
    }
    let mut packages = Vec::new();
    let mut cursor: Option<String> = None;
    let more = loop {
        let mut page_params = params.clone();
        if let Some(cursor) = &cursor {
            page_params.push(("cursor", cursor.clone()));
        }
        let request = client.request(Method::GET, url.clone()).query(&page_params);
        let text = client.send_for_text(request).await?;
        if args.json && !args.all {
            outln!("{}", text.trim_end());
            return Ok(());
        }
        let page: ListingPage = parse_response(&text, "search")?;
        packages.extend(page.packages);
        match page.next_cursor {
            Some(next) if args.all => {
                // A server that hands back the same cursor would loop forever.
                if cursor.as_deref() == Some(next.as_str()) {
                    return Err(ClientError::local(
                        "UnexpectedResponse",
                        "the server's search answered the same nextCursor twice; stopping",
                    ));
                }
                cursor = Some(next);
            }
            next => break next.is_some(),
        }
    };
    if args.json {
        print_json(&json!({ "packages": packages }));
        return Ok(());
    }
    let listings: Vec<Listing> = packages
        .into_iter()
        .map(|p| parse_response(&p.to_string(), "search"))
        .collect::<Result<_, _>>()?;
    out!("{}", describe_search(&listings, more));
    Ok(())
}

fn describe_search(listings: &[Listing], more: bool) -> String {
    if listings.is_empty() {
        return "No listings match.\n".to_owned();
    }
    let rows: Vec<Vec<String>> = listings
        .iter()
        .map(|l| {
            vec![
                l.package_id.clone(),
                l.name.clone(),
                l.latest_version.clone().unwrap_or_else(|| "-".into()),
                l.trust_level.clone(),
                l.install_count.to_string(),
                l.publisher.clone(),
            ]
        })
        .collect();
    let mut out = table(
        &[
            "PACKAGE ID",
            "NAME",
            "LATEST",
            "TRUST",
            "INSTALLS",
            "PUBLISHER",
        ],
        &rows,
    );
    if more {
        out.push_str("More listings match: add --all to see every page.\n");
    }
    out
}

async fn get_listing(client: &Client, package_id: &str) -> Result<String, ClientError> {
    let url = client.url_with_segments(&["api", "marketplace", "packages", package_id])?;
    client.send_for_text(client.request(Method::GET, url)).await
}

async fn show(args: ShowArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let text = get_listing(&client, &args.package_id).await?;
    if args.json {
        outln!("{}", text.trim_end());
        return Ok(());
    }
    let listing: Listing = parse_response(&text, "show")?;
    out!("{}", describe_listing(&listing));
    Ok(())
}

fn describe_listing(l: &Listing) -> String {
    let mut out = format!("{} ({})\n", l.name, l.package_id);
    out.push_str(&format!("  type:        {}\n", l.package_type));
    out.push_str(&format!("  publisher:   {}\n", l.publisher));
    out.push_str(&format!("  trust level: {}\n", l.trust_level));
    out.push_str(&format!("  installs:    {}\n", l.install_count));
    out.push_str(&format!(
        "  latest:      {}\n",
        l.latest_version
            .as_deref()
            .unwrap_or("- (every version is yanked)")
    ));
    if !l.categories.is_empty() {
        out.push_str(&format!("  categories:  {}\n", l.categories.join(", ")));
    }
    out.push_str(&format!("  summary:     {}\n", l.summary));
    if let Some(mark) = &l.delisted {
        out.push_str(&format!(
            "  DELISTED at {}: {} (no new installs)\n",
            mark.at, mark.reason
        ));
    }
    out.push_str(&format!("\nVersions ({}):\n", l.versions.len()));
    let rows: Vec<Vec<String>> = l
        .versions
        .iter()
        .map(|v| {
            vec![
                v.version.clone(),
                v.published_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                HumanBytes(v.size_bytes).to_string(),
                v.security_scan_result.clone(),
                match (&v.yanked, &v.deprecated) {
                    (Some(mark), _) => format!("YANKED: {}", mark.reason),
                    (None, Some(mark)) => format!("DEPRECATED: {}", mark.reason),
                    (None, None) => String::new(),
                },
            ]
        })
        .collect();
    out.push_str(&table(
        &["VERSION", "PUBLISHED", "SIZE", "SCAN", "STATE"],
        &rows,
    ));
    out
}

// --- publish

async fn publish(args: PublishArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let mut body = json!({
        "sourcePackageId": args.package,
        "summary": args.summary,
        "publisher": args.publisher,
    });
    if !args.categories.is_empty() {
        body["categories"] = json!(args.categories);
    }
    let text = client.post_json("api/marketplace/packages", &body).await?;
    if args.json {
        outln!("{}", text.trim_end());
        return Ok(());
    }
    let answer: Value = parse_response(&text, "publish")?;
    let field = |name: &str| answer[name].as_str().unwrap_or("-").to_owned();
    let new = if answer["newListing"].as_bool() == Some(true) {
        format!(" (a new listing, {})", field("trustLevel"))
    } else {
        String::new()
    };
    out!(
        "Published {} {} as {}{new}\n  checksum:  {}\n  bundle:    {} ({})\n  scan:      {}\n  signed by: {}\n",
        field("name"),
        field("version"),
        field("packageId"),
        field("checksum"),
        field("bundleUrl"),
        HumanBytes(answer["sizeBytes"].as_u64().unwrap_or(0)),
        field("securityScanResult"),
        field("keyId"),
    );
    Ok(())
}

// --- install and status

fn install_body(args: &InstallArgs) -> InstallBody {
    InstallBody {
        version: args.version.clone(),
        target_tenant_id: Some(args.tenant.clone()),
        default_conflict_strategy: args.conflict_strategy.clone(),
        conflict_strategies: args
            .artifact_strategies
            .iter()
            .cloned()
            .collect::<BTreeMap<_, _>>(),
        dry_run: args.dry_run,
        acknowledge_community_package: args.accept_community,
        allow_major_version_upgrade: args.allow_major_version_upgrade,
        allow_security_warnings: args.allow_security_warnings,
    }
}

async fn install(args: InstallArgs) -> Result<ExitCode, ClientError> {
    let client = Client::new(&args.connection)?;
    let url = client.url_with_segments(&[
        "api",
        "marketplace",
        "packages",
        &args.package_id,
        "install",
    ])?;
    let mut request = client.request(Method::POST, url).json(&install_body(&args));
    if let Some(key) = &args.idempotency_key {
        let value = HeaderValue::from_str(key).map_err(|_| {
            ClientError::local(
                "InvalidIdempotencyKey",
                "--idempotency-key must be printable ASCII characters",
            )
        })?;
        request = request.header("Idempotency-Key", value);
    }
    let text = match client.send_for_text(request).await {
        Ok(text) => text,
        Err(e) => {
            if e.api_code() == Some("AcknowledgmentRequired") {
                return Err(
                    e.hint("pass --accept-community to confirm installing a Community package")
                );
            }
            return Err(e);
        }
    };
    let accepted: Accepted = parse_response(&text, "install")?;
    if args.no_wait {
        if args.json {
            outln!("{}", text.trim_end());
        } else {
            let server = client.repeat_flags();
            outln!(
                "Install {} is queued (about {} s).\nFollow it with: installhub marketplace status{server} {}",
                accepted.install_id,
                accepted.estimated_seconds,
                accepted.install_id
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (status, text) = follow(&client, &accepted.install_id, args.timeout, args.json).await?;
    Ok(conclude(&accepted.install_id, &status, &text, args.json))
}

async fn get_status(client: &Client, install_id: &str) -> Result<String, ClientError> {
    let url =
        client.url_with_segments(&["api", "marketplace", "installs", install_id, "status"])?;
    client.send_for_text(client.request(Method::GET, url)).await
}

/// Whether a failed poll is worth another try: the server away for a
/// moment (unreachable, overloaded, rate limited, a proxy's 502-504).
fn transient(error: &ClientError) -> bool {
    match error {
        ClientError::Unreachable { .. } => true,
        ClientError::Api { status, .. } => {
            *status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
        }
        _ => false,
    }
}

/// "3 of 5 artifacts installed" → (3, 5).
fn counts(progress: &str) -> Option<(u64, u64)> {
    let mut words = progress.split_whitespace();
    let done = words.next()?.parse().ok()?;
    (words.next()? == "of").then_some(())?;
    let total = words.next()?.parse().ok()?;
    Some((done, total))
}

/// The live view of an install: a bar of the stage's "n of m" on a
/// terminal; one line per change of stage when stderr is a file or a pipe
/// (a CI log); nothing with `--json`.
struct Live {
    bar: Option<ProgressBar>,
    lines: bool,
    last: Option<(String, String)>,
}

impl Live {
    fn new(json: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (!json && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Live {
            bar,
            lines: !json && !terminal,
            last: None,
        }
    }

    fn show(&mut self, stage: &str, progress: &str) {
        let now = (stage.to_owned(), progress.to_owned());
        if self.last.as_ref() == Some(&now) {
            return;
        }
        if self.lines && self.last.as_ref().map(|(s, _)| s.as_str()) != Some(stage) {
            eprintln!("{stage}: {progress}");
        }
        if let Some(bar) = &self.bar {
            match counts(progress) {
                Some((done, total)) => {
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {prefix:<12} [{bar:30}] {msg} ({elapsed})",
                        )
                        .expect("the progress template is fixed and valid")
                        .progress_chars("=> "),
                    );
                    bar.set_length(total.max(1));
                    bar.set_position(done);
                }
                None => bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:<12} {msg} ({elapsed})")
                        .expect("the progress template is fixed and valid"),
                ),
            }
            bar.set_prefix(stage.to_owned());
            bar.set_message(progress.to_owned());
        }
        self.last = Some(now);
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Polls the install's status until it is not `InProgress`: every 250 ms
/// at first, backing off to every second. Answers the final status and the
/// server's text of it.
async fn follow(
    client: &Client,
    install_id: &str,
    timeout: Duration,
    json: bool,
) -> Result<(InstallStatus, String), ClientError> {
    let started = Instant::now();
    let mut wait = POLL_FIRST;
    let mut live = Live::new(json);
    let result = loop {
        match get_status(client, install_id).await {
            Ok(text) => {
                let status: InstallStatus = match parse_response(&text, "install status") {
                    Ok(status) => status,
                    Err(e) => break Err(e),
                };
                if status.status != "InProgress" {
                    break Ok((status, text));
                }
                live.show(
                    status.stage.as_deref().unwrap_or("InProgress"),
                    status.progress.as_deref().unwrap_or(""),
                );
            }
            Err(e) if transient(&e) && started.elapsed() < timeout => {
                tracing::debug!("polling the install status failed, trying again: {e:?}");
            }
            Err(e) => break Err(e),
        }
        if started.elapsed() >= timeout {
            break Err(ClientError::local(
                "InstallTimedOut",
                format!(
                    "install {install_id} did not end within {}; it may still be running: \
                     follow it with 'installhub marketplace status {install_id}', or wait longer with --timeout",
                    humantime::format_duration(timeout)
                ),
            ));
        }
        tokio::time::sleep(wait.min(timeout.saturating_sub(started.elapsed()))).await;
        wait = (wait * 3 / 2).min(POLL_MAX);
    };
    live.finish();
    result
}

/// Prints an ended (or current) status; exit 1 when the install failed.
fn conclude(install_id: &str, status: &InstallStatus, text: &str, json: bool) -> ExitCode {
    let failed = status.status == "Failed";
    if json {
        outln!("{}", text.trim_end());
    } else if failed {
        eprint!("{}", describe_status(install_id, status));
    } else {
        out!("{}", describe_status(install_id, status));
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn describe_status(install_id: &str, s: &InstallStatus) -> String {
    let dash = || "-".to_owned();
    match s.status.as_str() {
        "Success" if s.dry_run == Some(true) => {
            let mut out = format!(
                "Dry run of install {install_id} succeeded: nothing was installed\n  import:   {}\n\nPlan:\n",
                s.import_id.clone().unwrap_or_else(dash)
            );
            let rows: Vec<Vec<String>> = s
                .planned_actions
                .iter()
                .flatten()
                .map(|a| {
                    vec![
                        a.artifact_id.clone(),
                        a.artifact_type.clone(),
                        a.action.clone(),
                        a.previous_version.clone().unwrap_or_default(),
                        a.version.clone(),
                    ]
                })
                .collect();
            out.push_str(&table(
                &["ARTIFACT", "TYPE", "ACTION", "HAS", "PACKAGE"],
                &rows,
            ));
            out
        }
        "Success" => format!(
            "Install {install_id} succeeded: {} artifact(s) installed, {} conflict(s) resolved\n  import:    {}\n  completed: {}\n",
            s.artifacts_installed.unwrap_or(0),
            s.conflicts_resolved.unwrap_or(0),
            s.import_id.clone().unwrap_or_else(dash),
            s.completed_at.clone().unwrap_or_else(dash),
        ),
        "Failed" => {
            let mut out = format!(
                "error: install {install_id} failed at {}: {}: {}\n",
                s.stage.clone().unwrap_or_else(dash),
                s.error.clone().unwrap_or_else(|| "Error".into()),
                s.message.clone().unwrap_or_default(),
            );
            if let Some(import_id) = &s.import_id {
                out.push_str(&format!("  import:  {import_id}\n"));
            }
            out.push_str("  rolled back: nothing of it stays installed\n");
            out
        }
        other => format!(
            "Install {install_id} is {other}: {} ({})\n",
            s.stage.clone().unwrap_or_else(dash),
            s.progress.clone().unwrap_or_default(),
        ),
    }
}

async fn status(args: StatusArgs) -> Result<ExitCode, ClientError> {
    let client = Client::new(&args.connection)?;
    let text = get_status(&client, &args.install_id).await?;
    let status: InstallStatus = parse_response(&text, "install status")?;
    Ok(conclude(&args.install_id, &status, &text, args.json))
}

// --- governing listings

/// The two marks `yank` and `deprecate` set on a version.
#[derive(Debug, Clone, Copy)]
enum VersionMark {
    Yank,
    Deprecation,
}

async fn mark_version(args: YankArgs, mark: VersionMark) -> Result<(), ClientError> {
    let (segment, field, what) = match mark {
        VersionMark::Yank => ("yank", "yanked", "yank"),
        VersionMark::Deprecation => ("deprecation", "deprecated", "deprecation"),
    };
    let client = Client::new(&args.connection)?;
    let url = client.url_with_segments(&[
        "api",
        "marketplace",
        "packages",
        &args.package_id,
        "versions",
        &args.version,
        segment,
    ])?;
    let request = match &args.reason {
        Some(reason) if !args.undo => client
            .request(Method::PUT, url)
            .json(&json!({ "reason": reason })),
        _ => client.request(Method::DELETE, url),
    };
    let Some(version) = client
        .send_or_print::<Value>(request, args.json, what)
        .await?
    else {
        return Ok(());
    };
    let (id, v) = (&args.package_id, &args.version);
    match (mark, version[field]["reason"].as_str()) {
        (VersionMark::Yank, Some(reason)) => outln!(
            "Yanked {v} of {id}: {reason}\n  It is no longer \"latest\"; installs that name it still work."
        ),
        (VersionMark::Deprecation, Some(reason)) => outln!(
            "Deprecated {v} of {id}: {reason}\n  It still installs; the listing and its installers are told why not to use it."
        ),
        (_, None) => outln!("{v} of {id} is not {field}."),
    }
    Ok(())
}

async fn trust(args: TrustArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let url = client.url_with_segments(&[
        "api",
        "marketplace",
        "packages",
        &args.package_id,
        "trust-level",
    ])?;
    let request = client
        .request(Method::PUT, url)
        .json(&json!({ "trustLevel": args.level }));
    let Some(listing) = client
        .send_or_print::<Listing>(request, args.json, "trust level")
        .await?
    else {
        return Ok(());
    };
    outln!(
        "{} ({}) is {}.",
        listing.name,
        listing.package_id,
        listing.trust_level
    );
    Ok(())
}

async fn delist(args: DelistArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let url = client.url_with_segments(&[
        "api",
        "marketplace",
        "packages",
        &args.package_id,
        "delisting",
    ])?;
    let request = match &args.reason {
        Some(reason) if !args.undo => client
            .request(Method::PUT, url)
            .json(&json!({ "reason": reason })),
        _ => client.request(Method::DELETE, url),
    };
    let Some(listing) = client
        .send_or_print::<Listing>(request, args.json, "delisting")
        .await?
    else {
        return Ok(());
    };
    match &listing.delisted {
        Some(mark) => outln!(
            "{} ({}) is delisted: {}\n  Hidden from search; no new installs.",
            listing.name,
            listing.package_id,
            mark.reason
        ),
        None => outln!("{} ({}) is listed.", listing.name, listing.package_id),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_are_read_from_the_servers_words() {
        assert_eq!(counts("3 of 5 artifacts installed"), Some((3, 5)));
        assert_eq!(counts("0 of 1024 bytes downloaded"), Some((0, 1024)));
        assert_eq!(counts("Scanning the package"), None);
        assert_eq!(counts("Waiting to try again (attempt 1 of 3 failed)"), None);
    }

    #[test]
    fn a_failure_names_its_stage_error_message_and_import() {
        let status: InstallStatus = serde_json::from_value(json!({
            "status": "Failed", "stage": "SecurityScan", "error": "SecurityScanFailed",
            "message": "The scan found problems.", "rolledBack": true, "importId": "imp-1"
        }))
        .unwrap();
        let text = describe_status("mkt-install-1", &status);
        assert!(
            text.starts_with("error: install mkt-install-1 failed at SecurityScan: SecurityScanFailed: The scan found problems.\n"),
            "{text}"
        );
        assert!(text.contains("import:  imp-1"), "{text}");
    }
}
