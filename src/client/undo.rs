//! `installhub rollback IMPORT_ID` and `installhub uninstall NAME --tenant T`:
//! undo an import exactly (every artifact it created or replaced back as it
//! was, in one transaction), or remove a package's artifacts, each with
//! `--dry-run` to see what would happen first.

use std::process::ExitCode;

use clap::Args;
use reqwest::Method;
use serde::Deserialize;

use super::{Client, ClientError, Connection, finish};

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The import to undo (`imp-...`, as `imports list` shows); a rollback
    /// or an uninstall can be rolled back too.
    #[arg(value_name = "IMPORT_ID")]
    pub import_id: String,
    /// Show what would be restored or removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The installed package's name (as `installed list` shows it).
    #[arg(value_name = "PACKAGE_NAME")]
    pub package_name: String,
    /// The tenant it is installed in.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// Show what would be removed; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the server's answer as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

pub async fn rollback(args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(run_rollback(args).await, json))
}

pub async fn uninstall(args: UninstallArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(run_uninstall(args).await, json))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Rolledback {
    #[serde(default)]
    import_id: Option<String>,
    rolled_back_import_id: String,
    tenant_id: String,
    #[serde(default)]
    artifacts: Vec<Undone>,
    #[serde(default)]
    packages: Vec<UndonePackage>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Undone {
    artifact_id: String,
    action: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UndonePackage {
    package_name: String,
    action: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Uninstalled {
    #[serde(default)]
    import_id: Option<String>,
    tenant_id: String,
    package_name: String,
    version: String,
    #[serde(default)]
    removed_artifacts: Vec<String>,
    #[serde(default)]
    already_deleted_artifacts: Vec<String>,
}

/// What to do when the server refuses, in CLI words.
fn with_hint(error: ClientError) -> ClientError {
    let hint = if error.has_api_code("RollbackConflict") {
        "something it wrote changed since; roll back the later imports first (installhub imports list --tenant T shows them), or import the version you want"
    } else if error.has_api_code("UninstallConflict") {
        "uninstall the packages that depend on it first (installhub installed list --tenant T), or roll back the later changes"
    } else if error.has_api_code("SnapshotExpired") {
        "its snapshot is past the server's --snapshot-retention-days; import the version you want instead"
    } else {
        return error;
    };
    error.hint(hint)
}

/// Sends a rollback or an uninstall (`?dryRun=true` for a dry run) and
/// answers the server's body read as `T`, or `None` when `--json` printed
/// it.
async fn send<T: serde::de::DeserializeOwned>(
    connection: &Connection,
    method: Method,
    segments: &[&str],
    dry_run: bool,
    json: bool,
    what: &str,
) -> Result<Option<T>, ClientError> {
    let client = Client::new(connection)?;
    let mut url = client.url_with_segments(segments)?;
    if dry_run {
        url.set_query(Some("dryRun=true"));
    }
    client
        .send_or_print(client.request(method, url), json, what)
        .await
        .map_err(with_hint)
}

async fn run_rollback(args: RollbackArgs) -> Result<(), ClientError> {
    let segments = ["api", "installhub", "imports", &args.import_id, "rollback"];
    let sent = send::<Rolledback>(
        &args.connection,
        Method::POST,
        &segments,
        args.dry_run,
        args.json,
        "rollback",
    );
    let Some(answer) = sent.await? else {
        return Ok(());
    };
    let mut out = match &answer.import_id {
        Some(id) => format!(
            "Rolled back {} in {} (recorded as {id}; roll that back to redo it).\n",
            answer.rolled_back_import_id, answer.tenant_id
        ),
        None => format!(
            "Dry run: rolling back {} in {} would change:\n",
            answer.rolled_back_import_id, answer.tenant_id
        ),
    };
    for a in &answer.artifacts {
        out.push_str(&format!("  {:<8} {}\n", a.action, a.artifact_id));
    }
    for p in &answer.packages {
        out.push_str(&format!("  {:<8} package {}\n", p.action, p.package_name));
    }
    if answer.artifacts.is_empty() && answer.packages.is_empty() {
        out.push_str("  nothing\n");
    }
    out!("{out}");
    Ok(())
}

async fn run_uninstall(args: UninstallArgs) -> Result<(), ClientError> {
    let segments = [
        "api",
        "installhub",
        "tenants",
        &args.tenant,
        "installed-packages",
        &args.package_name,
    ];
    let sent = send::<Uninstalled>(
        &args.connection,
        Method::DELETE,
        &segments,
        args.dry_run,
        args.json,
        "uninstall",
    );
    let Some(answer) = sent.await? else {
        return Ok(());
    };
    let mut out = match &answer.import_id {
        Some(id) => format!(
            "Uninstalled {} {} from {} (recorded as {id}; installhub rollback {id} puts it back).\n",
            answer.package_name, answer.version, answer.tenant_id
        ),
        None => format!(
            "Dry run: uninstalling {} {} from {} would remove:\n",
            answer.package_name, answer.version, answer.tenant_id
        ),
    };
    for id in &answer.removed_artifacts {
        out.push_str(&format!("  removed  {id}\n"));
    }
    for id in &answer.already_deleted_artifacts {
        out.push_str(&format!("  (already deleted) {id}\n"));
    }
    out!("{out}");
    Ok(())
}
