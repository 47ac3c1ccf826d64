//! The read commands: `packages list`, `imports list`, `imports show`,
//! `installed list` and `audit`. Each prints a table (or, for one import,
//! its fields) by default, and with `--json` the server's answer unchanged.
//! A page that has more after it ends with the `--before` that shows the
//! next one.

use std::process::ExitCode;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::{Args, Subcommand};
use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::{Client, ClientError, Connection, finish, table};

/// Paging flags shared by the lists.
#[derive(Debug, Args)]
pub struct Page {
    /// At most this many rows (1-200; the server's default is 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=200))]
    pub limit: Option<u16>,
    /// Start after this row (the `--before` printed under a full page).
    #[arg(long, value_name = "CURSOR")]
    pub before: Option<String>,
}

#[derive(Debug, Args)]
pub struct PackagesArgs {
    #[command(subcommand)]
    pub command: PackagesCommand,
}

#[derive(Debug, Subcommand)]
pub enum PackagesCommand {
    /// A tenant's exported packages, newest first.
    List(PackageListArgs),
}

#[derive(Debug, Args)]
pub struct PackageListArgs {
    /// The tenant that exported them.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// Only names starting with this, without case.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub page: Page,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct ImportsArgs {
    #[command(subcommand)]
    pub command: ImportsCommand,
}

#[derive(Debug, Subcommand)]
pub enum ImportsCommand {
    /// A tenant's imports, newest first.
    List(ImportListArgs),
    /// One import: its status, and its result or error.
    Show(ImportShowArgs),
}

#[derive(Debug, Args)]
pub struct ImportListArgs {
    /// The tenant imported into.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    #[command(flatten)]
    pub page: Page,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct ImportShowArgs {
    /// The import's id (`imp-...`, printed by `import` and `imports list`).
    #[arg(value_name = "IMPORT_ID")]
    pub import_id: String,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct InstalledArgs {
    #[command(subcommand)]
    pub command: InstalledCommand,
}

#[derive(Debug, Subcommand)]
pub enum InstalledCommand {
    /// The packages installed in a tenant, by name.
    List(InstalledListArgs),
}

#[derive(Debug, Args)]
pub struct InstalledListArgs {
    /// The tenant.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// Only packages in this status.
    #[arg(long, value_name = "STATUS", value_parser = ["Installed", "Superseded"])]
    pub status: Option<String>,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The tenant whose log to read [default: the token's tenant, when it
    /// names exactly one].
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: Option<String>,
    /// Only entries with this action (export, import, tenant-put,
    /// artifact-put, artifact-delete, marketplace-publish, ...).
    #[arg(long, value_name = "ACTION")]
    pub action: Option<String>,
    #[command(flatten)]
    pub page: Page,
    /// Print the server's JSON answer.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// A timestamp of the server's as RFC 3339 in UTC to the second; a value
/// that does not parse is shown as it came.
pub fn when(text: &str) -> String {
    DateTime::parse_from_rfc3339(text).map_or_else(
        |_| text.to_owned(),
        |at| {
            at.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        },
    )
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_else(|| "-".to_owned())
}

/// GETs `segments` with `query`: the answer read as `T` to render, or
/// `None` when `--json` printed it (see [`Client::send_or_print`]).
async fn get<T: serde::de::DeserializeOwned>(
    client: &Client,
    segments: &[&str],
    query: &[(&str, String)],
    json: bool,
    what: &str,
) -> Result<Option<T>, ClientError> {
    let mut url = client.url_with_segments(segments)?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    client
        .send_or_print(client.request(Method::GET, url), json, what)
        .await
}

fn page_query(page: &Page) -> Vec<(&'static str, String)> {
    let mut query = Vec::new();
    if let Some(limit) = page.limit {
        query.push(("limit", limit.to_string()));
    }
    if let Some(before) = &page.before {
        query.push(("before", before.clone()));
    }
    query
}

/// The table, or a line saying there is nothing, and the next page's flag.
fn print_rows(header: &[&str], rows: &[Vec<String>], empty: &str, next: Option<String>) {
    if rows.is_empty() {
        outln!("{empty}");
    } else {
        out!("{}", table(header, rows));
    }
    if let Some(next) = next {
        outln!("more: repeat with --before {next}");
    }
}

pub async fn packages(args: PackagesArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        PackagesCommand::List(args) => {
            let json = args.json;
            Ok(finish(list_packages(args).await, json))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackagePage {
    packages: Vec<PackageRow>,
    #[serde(default)]
    next_before: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackageRow {
    package_id: String,
    package_name: String,
    version: String,
    package_type: String,
    artifact_count: u64,
    exported_at: String,
    exported_by: String,
}

async fn list_packages(args: PackageListArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let mut query = page_query(&args.page);
    if let Some(name) = &args.name {
        query.push(("name", name.clone()));
    }
    let Some(page) = get::<PackagePage>(
        &client,
        &["api", "installhub", "tenants", &args.tenant, "packages"],
        &query,
        args.json,
        "package list",
    )
    .await?
    else {
        return Ok(());
    };
    let rows: Vec<Vec<String>> = page
        .packages
        .iter()
        .map(|p| {
            vec![
                p.package_id.clone(),
                p.package_name.clone(),
                p.version.clone(),
                p.package_type.clone(),
                p.artifact_count.to_string(),
                when(&p.exported_at),
                p.exported_by.clone(),
            ]
        })
        .collect();
    print_rows(
        &[
            "PACKAGE ID",
            "NAME",
            "VERSION",
            "TYPE",
            "ARTIFACTS",
            "EXPORTED AT",
            "EXPORTED BY",
        ],
        &rows,
        &format!(
            "Tenant {} has exported no package{}.",
            args.tenant,
            match &args.name {
                Some(name) => format!(" named '{name}…'"),
                None => String::new(),
            }
        ),
        page.next_before,
    );
    Ok(())
}

pub async fn imports(args: ImportsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ImportsCommand::List(args) => {
            let json = args.json;
            Ok(finish(list_imports(args).await, json))
        }
        ImportsCommand::Show(args) => {
            let json = args.json;
            Ok(finish(show_import(args).await, json))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportPage {
    imports: Vec<ImportRow>,
    #[serde(default)]
    next_before: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImportRow {
    import_id: String,
    tenant_id: String,
    status: String,
    source: String,
    #[serde(default)]
    package_id: Option<String>,
    #[serde(default)]
    package_name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    installed_by: String,
    started_at: String,
    #[serde(default)]
    finished_at: Option<String>,
    #[serde(default)]
    result: Value,
}

async fn list_imports(args: ImportListArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let Some(page) = get::<ImportPage>(
        &client,
        &["api", "installhub", "tenants", &args.tenant, "imports"],
        &page_query(&args.page),
        args.json,
        "import list",
    )
    .await?
    else {
        return Ok(());
    };
    let rows: Vec<Vec<String>> = page
        .imports
        .iter()
        .map(|i| {
            vec![
                i.import_id.clone(),
                i.status.clone(),
                i.source.clone(),
                opt(&i.package_name),
                opt(&i.version),
                i.installed_by.clone(),
                when(&i.started_at),
            ]
        })
        .collect();
    print_rows(
        &[
            "IMPORT ID",
            "STATUS",
            "SOURCE",
            "PACKAGE",
            "VERSION",
            "BY",
            "STARTED AT",
        ],
        &rows,
        &format!("Nothing was imported into tenant {} yet.", args.tenant),
        page.next_before,
    );
    Ok(())
}

async fn show_import(args: ImportShowArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let Some(record) = get::<ImportRow>(
        &client,
        &["api", "installhub", "imports", &args.import_id],
        &[],
        args.json,
        "import",
    )
    .await?
    else {
        return Ok(());
    };
    out!(
        "Import {}\n  tenant:   {}\n  status:   {}\n  source:   {}\n  package:  {} {} ({})\n  by:       {}\n  started:  {}\n  finished: {}\n",
        record.import_id,
        record.tenant_id,
        record.status,
        record.source,
        opt(&record.package_name),
        opt(&record.version),
        opt(&record.package_id),
        record.installed_by,
        when(&record.started_at),
        record
            .finished_at
            .as_deref()
            .map_or_else(|| "-".to_owned(), when),
    );
    if record.result["error"].is_string() {
        // A failed import keeps its error envelope.
        outln!(
            "  error:    {}: {}",
            record.result["error"].as_str().unwrap_or_default(),
            record.result["message"].as_str().unwrap_or_default()
        );
        for failure in record.result["errors"].as_array().into_iter().flatten() {
            if let Ok(line) = serde_json::from_value::<super::FailureLine>(failure.clone()) {
                outln!("  {line}");
            }
        }
    } else if !record.result.is_null()
        && let Ok(answer) =
            serde_json::from_value::<super::import::ImportAnswer>(record.result.clone())
    {
        outln!();
        out!("{}", super::import::describe(&answer));
    }
    Ok(())
}

pub async fn installed(args: InstalledArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        InstalledCommand::List(args) => {
            let json = args.json;
            Ok(finish(list_installed(args).await, json))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstalledPage {
    installed_packages: Vec<InstalledRow>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InstalledRow {
    package_name: String,
    version: String,
    status: String,
    owned_artifact_count: u64,
    installed_at: String,
    installed_by: String,
    import_id: String,
}

async fn list_installed(args: InstalledListArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let query: Vec<(&str, String)> = args.status.iter().map(|s| ("status", s.clone())).collect();
    let Some(page) = get::<InstalledPage>(
        &client,
        &[
            "api",
            "installhub",
            "tenants",
            &args.tenant,
            "installed-packages",
        ],
        &query,
        args.json,
        "installed packages",
    )
    .await?
    else {
        return Ok(());
    };
    let rows: Vec<Vec<String>> = page
        .installed_packages
        .iter()
        .map(|p| {
            vec![
                p.package_name.clone(),
                p.version.clone(),
                p.status.clone(),
                p.owned_artifact_count.to_string(),
                when(&p.installed_at),
                p.installed_by.clone(),
                p.import_id.clone(),
            ]
        })
        .collect();
    print_rows(
        &[
            "NAME",
            "VERSION",
            "STATUS",
            "OWNS",
            "INSTALLED AT",
            "BY",
            "IMPORT ID",
        ],
        &rows,
        &format!("Tenant {} has no installed package.", args.tenant),
        None,
    );
    Ok(())
}

pub async fn audit(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(read_audit(args).await, json))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditPage {
    entries: Vec<AuditRow>,
    #[serde(default)]
    next_before: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditRow {
    at: String,
    action: String,
    outcome: String,
    actor: String,
    #[serde(default)]
    subject: Option<String>,
}

/// `--tenant`, else the token's only tenant.
fn audit_tenant(args: &AuditArgs) -> Result<String, ClientError> {
    if let Some(tenant) = &args.tenant {
        return Ok(tenant.clone());
    }
    let token = args.connection.resolve()?.token.unwrap_or_default();
    let tenants: Vec<String> = super::profile::token_tenants(&token);
    match tenants.as_slice() {
        [one] if one != "*" => Ok(one.clone()),
        _ => Err(ClientError::local(
            "TenantRequired",
            if tenants.is_empty() {
                "the token names no tenant to read the audit log of".to_owned()
            } else {
                format!(
                    "the token names more than one tenant ({})",
                    tenants.join(", ")
                )
            },
        )
        .hint("name the tenant with --tenant TENANT_ID")),
    }
}

async fn read_audit(args: AuditArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let tenant = audit_tenant(&args)?;
    let mut query = vec![("tenantId", tenant.clone())];
    if let Some(action) = &args.action {
        query.push(("action", action.clone()));
    }
    query.extend(page_query(&args.page));
    let Some(page) = get::<AuditPage>(
        &client,
        &["api", "installhub", "audit"],
        &query,
        args.json,
        "audit",
    )
    .await?
    else {
        return Ok(());
    };
    let rows: Vec<Vec<String>> = page
        .entries
        .iter()
        .map(|e| {
            vec![
                when(&e.at),
                e.action.clone(),
                e.outcome.clone(),
                e.actor.clone(),
                opt(&e.subject),
            ]
        })
        .collect();
    print_rows(
        &["AT", "ACTION", "OUTCOME", "ACTOR", "SUBJECT"],
        &rows,
        &format!("The audit log of tenant {tenant} has no such entry."),
        page.next_before.map(|n| n.to_string()),
    );
    Ok(())
}
