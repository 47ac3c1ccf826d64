//! `installhub import`: uploads a bundle as seed 03's multipart form with a
//! progress bar, or names a package exported on the server (`pkg-...`, the
//! JSON form `{sourcePackageId, options}`), and shows the result as a
//! table: what happened to each artifact (or would, in a dry run), and
//! every conflict.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use installhub_domain::PackageId;
use reqwest::multipart::{Form, Part};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{Client, ClientError, Connection, FailureLine, finish, parse_response, table};

/// `Replace`, `Skip` or `Fail` (SPEC §7).
pub(crate) const STRATEGIES: [&str; 3] = ["Replace", "Skip", "Fail"];

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The bundle (.zip) to import, or the id of a package exported on the
    /// server (`pkg-` and a UUID; write ./pkg-... for a file of that name).
    #[arg(value_name = "FILE|PACKAGE_ID")]
    pub source: String,
    /// The tenant to install into.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// What to do with an artifact the tenant already has with other
    /// content: Replace, Skip or Fail. Default: the tenant's own default.
    #[arg(long, value_name = "STRATEGY", value_parser = STRATEGIES)]
    pub strategy: Option<String>,
    /// A strategy for one artifact, overriding --strategy (repeatable).
    #[arg(long = "artifact-strategy", value_name = "ARTIFACT_ID=STRATEGY", value_parser = parse_artifact_strategy)]
    pub artifact_strategies: Vec<(String, String)>,
    /// Run every check and show the plan; install nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Allow major version upgrades (needs installhub:import:override-major-version).
    #[arg(long)]
    pub allow_major_version_upgrade: bool,
    /// Install despite WARN scan findings (needs installhub:import:override-security-warnings).
    #[arg(long)]
    pub allow_security_warnings: bool,
    /// Install exactly the plan a dry run answered (its planId), or nothing:
    /// a plan that no longer holds is refused with what changed since.
    #[arg(long, value_name = "PLAN_ID")]
    pub plan_id: Option<String>,
    /// Print the server's answer as JSON, and no progress bar.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

pub(crate) fn parse_artifact_strategy(value: &str) -> Result<(String, String), String> {
    let (id, strategy) = value
        .split_once('=')
        .ok_or_else(|| format!("'{value}' is not ARTIFACT_ID=STRATEGY"))?;
    if !STRATEGIES.contains(&strategy) {
        return Err(format!(
            "'{strategy}' is not a strategy; use one of {}",
            STRATEGIES.join(", ")
        ));
    }
    Ok((id.to_owned(), strategy.to_owned()))
}

/// The `options` part, with only what was given.
fn options(args: &ImportArgs) -> Value {
    let mut options = Map::new();
    options.insert("targetTenantId".into(), args.tenant.clone().into());
    if let Some(strategy) = &args.strategy {
        options.insert("defaultConflictStrategy".into(), strategy.clone().into());
    }
    if !args.artifact_strategies.is_empty() {
        let map: Map<String, Value> = args
            .artifact_strategies
            .iter()
            .map(|(id, s)| (id.clone(), s.clone().into()))
            .collect();
        options.insert("conflictStrategies".into(), map.into());
    }
    options.insert("dryRun".into(), args.dry_run.into());
    options.insert(
        "allowMajorVersionUpgrade".into(),
        args.allow_major_version_upgrade.into(),
    );
    options.insert(
        "allowSecurityWarnings".into(),
        args.allow_security_warnings.into(),
    );
    if let Some(plan_id) = &args.plan_id {
        options.insert("planId".into(), plan_id.clone().into());
    }
    Value::Object(options)
}

pub async fn run(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(import(args).await, json))
}

fn upload_bar(len: u64, json: bool, name: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{wide_bar}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
        )
        .expect("the progress template is fixed and valid")
        .progress_chars("=> "),
    );
    bar.set_message(format!("Uploading {name}"));
    bar
}

/// What to import: a file to upload, or a package the server has.
enum Source {
    File(PathBuf),
    Package(PackageId),
}

impl Source {
    /// A package id is a reference unless a file of that name exists.
    fn of(arg: &str) -> Self {
        match PackageId::parse(arg) {
            Ok(id) if !Path::new(arg).exists() => Source::Package(id),
            _ => Source::File(PathBuf::from(arg)),
        }
    }
}

async fn import(args: ImportArgs) -> Result<(), ClientError> {
    let text = send(&args).await.map_err(|e| with_hint(e, &args))?;
    if args.json {
        outln!("{}", text.trim_end());
        return Ok(());
    }
    let answer: ImportAnswer = parse_response(&text, "import")?;
    out!("{}", describe(&answer));
    Ok(())
}

/// Sends the import (a file's upload, or a package by reference) and
/// answers the server's body; `import` and `diff` share it.
pub(crate) async fn send(args: &ImportArgs) -> Result<String, ClientError> {
    let client = Client::new(&args.connection)?;
    let source = Source::of(&args.source);
    if let Source::File(path) = &source {
        super::verify::check_bundle_path(path)?;
    }
    check_artifact_strategies(&client, &source, args).await?;
    match &source {
        Source::File(path) => upload(&client, path, args).await,
        Source::Package(id) => {
            let body = json!({"sourcePackageId": id.as_str(), "options": options(args)});
            client
                .post_json("api/installhub/packages/import", &body)
                .await
        }
    }
}

/// The import options the server's messages name, and this command's flag
/// for each: a person reads the flag to pass.
const OPTION_FLAGS: [(&str, &str); 6] = [
    ("options.defaultConflictStrategy", "--strategy"),
    ("defaultConflictStrategy", "--strategy"),
    ("allowMajorVersionUpgrade", "--allow-major-version-upgrade"),
    ("allowSecurityWarnings", "--allow-security-warnings"),
    ("conflictStrategies", "--artifact-strategy"),
    ("options.planId", "--plan-id"),
];

fn in_flags(text: &str) -> String {
    OPTION_FLAGS
        .iter()
        .fold(text.to_owned(), |text, (field, flag)| {
            text.replace(field, flag)
        })
}

/// The server's messages and fields with option names said as flags; the
/// `--json` output keeps the server's own text.
fn in_cli_words(error: ClientError) -> ClientError {
    match error {
        ClientError::Api {
            status,
            body: Some(mut body),
            text,
            retry_after,
        } => {
            body.message = body.message.as_deref().map(in_flags);
            for failure in &mut body.errors {
                failure.message = in_flags(&failure.message);
                failure.field = failure
                    .field
                    .as_deref()
                    .map(|f| in_flags(f).replace("options.--", "--"));
            }
            ClientError::Api {
                status,
                body: Some(body),
                text,
                retry_after,
            }
        }
        other => other,
    }
}

/// What a person can do about a refused import, in this command's flags.
pub(crate) fn with_hint(error: ClientError, args: &ImportArgs) -> ClientError {
    let error = in_cli_words(error);
    let hint = if error.has_api_code("ConflictRequiresResolution") {
        let mut hint = "choose what happens to the conflicts with --strategy Replace|Skip, or to one artifact with --artifact-strategy ARTIFACT_ID=Replace|Skip".to_owned();
        if !args.dry_run {
            hint.push_str("; --dry-run shows the plan without installing");
        }
        hint
    } else if error.has_api_code("PlanOutdated") {
        "the tenant or the package changed since that dry run; run it again with --dry-run (or installhub diff) to review the new plan".to_owned()
    } else if error.has_api_code("MajorVersionUpgradeNotAllowed") {
        "pass --allow-major-version-upgrade (the token needs the installhub:import:override-major-version scope)".to_owned()
    } else if error.has_api_code("SecurityScanFailed") && scan_warned(&error) {
        "pass --allow-security-warnings to install despite the warnings (the token needs the installhub:import:override-security-warnings scope)".to_owned()
    } else {
        return error;
    };
    error.hint(hint)
}

/// Whether a refused scan only warned (a FAIL cannot be overridden).
fn scan_warned(error: &ClientError) -> bool {
    match error.inner() {
        ClientError::Api { text, .. } => serde_json::from_str::<Value>(text)
            .is_ok_and(|body| body["securityScanResult"] == "WARN"),
        _ => false,
    }
}

/// Every `--artifact-strategy` must name an artifact of the package: a
/// typo would otherwise be ignored. The ids come from the file's manifest
/// (read and verified here) or the server's package; when neither can be
/// read the server's answer will say why.
async fn check_artifact_strategies(
    client: &Client,
    source: &Source,
    args: &ImportArgs,
) -> Result<(), ClientError> {
    if args.artifact_strategies.is_empty() {
        return Ok(());
    }
    let ids: Option<Vec<String>> = match source {
        Source::File(path) => std::fs::File::open(path)
            .ok()
            .and_then(|file| {
                installhub_bundle::read_bundle(file, &installhub_bundle::ReadLimits::default()).ok()
            })
            .map(|bundle| {
                bundle
                    .manifest
                    .artifacts
                    .iter()
                    .map(|a| a.id.to_string())
                    .collect()
            }),
        Source::Package(id) => {
            #[derive(Deserialize)]
            struct Package {
                manifest: installhub_domain::Manifest,
            }
            match client
                .get(&format!("api/installhub/packages/{}", id.as_str()))
                .await
            {
                Ok(response) => response.json::<Package>().await.ok().map(|p| {
                    p.manifest
                        .artifacts
                        .iter()
                        .map(|a| a.id.to_string())
                        .collect()
                }),
                Err(_) => None,
            }
        }
    };
    let Some(ids) = ids else {
        return Ok(());
    };
    for (id, _) in &args.artifact_strategies {
        if !ids.contains(id) {
            return Err(ClientError::local(
                "UnknownArtifact",
                format!(
                    "--artifact-strategy names '{id}', which is not in the package (it has {})",
                    ids.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Uploads `path` as the multipart form with a progress bar.
async fn upload(client: &Client, path: &Path, args: &ImportArgs) -> Result<String, ClientError> {
    let file = tokio::fs::File::open(path).await.map_err(|e| {
        ClientError::local("ReadFailed", format!("cannot open {}: {e}", path.display()))
    })?;
    let len = file
        .metadata()
        .await
        .map_err(|e| {
            ClientError::local("ReadFailed", format!("cannot read {}: {e}", path.display()))
        })?
        .len();
    let name = path.file_name().map_or_else(
        || "package.zip".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    let bar = upload_bar(len, args.json, &name);
    let progress = bar.clone();
    let stream = tokio_util::io::ReaderStream::new(file).inspect_ok(move |chunk| {
        progress.inc(chunk.len() as u64);
    });
    let package = Part::stream_with_length(reqwest::Body::wrap_stream(stream), len)
        .file_name(name)
        .mime_str("application/zip")
        .expect("application/zip is a valid MIME type");
    let options = Part::text(options(args).to_string())
        .mime_str("application/json")
        .expect("application/json is a valid MIME type");
    let form = Form::new()
        .part("package", package)
        .part("options", options);
    let result = client
        .post_multipart("api/installhub/packages/import", form)
        .await;
    bar.finish_and_clear();
    result
}

/// The parts of seed 03's import answer the summary shows. Enum-like
/// fields stay strings: a newer server may add a value, and this client
/// should still print it rather than fail.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportAnswer {
    import_id: String,
    package_id: String,
    package_name: String,
    version: String,
    status: String,
    #[serde(default)]
    artifacts_installed: usize,
    #[serde(default)]
    installed_at: Option<String>,
    #[serde(default)]
    installed_by: String,
    #[serde(default)]
    install_order: Vec<String>,
    #[serde(default)]
    conflict_report: ConflictReport,
    security_scan_result: String,
    #[serde(default)]
    warnings: Vec<FailureLine>,
    #[serde(default)]
    planned_actions: Vec<PlannedArtifact>,
    #[serde(default)]
    plan_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct ConflictReport {
    #[serde(default)]
    conflicts: Vec<Conflict>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Conflict {
    artifact_id: String,
    artifact_name: String,
    #[serde(rename = "type")]
    artifact_type: String,
    resolution: String,
    previous_version: String,
    installed_version: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PlannedArtifact {
    artifact_id: String,
    #[serde(rename = "type")]
    artifact_type: String,
    action: String,
    #[serde(default)]
    previous_version: Option<String>,
    version: String,
}

/// The human summary of an import answer.
pub fn describe(answer: &ImportAnswer) -> String {
    let dry_run = answer.status == "DryRun";
    let mut out = format!(
        "{} {} {} ({})\n  import:   {}\n  scan:     {}\n",
        if dry_run { "Dry run of" } else { "Imported" },
        answer.package_name,
        answer.version,
        answer.package_id,
        answer.import_id,
        answer.security_scan_result,
    );
    if dry_run {
        out.push_str("  nothing was installed\n\nPlan:\n");
        let rows: Vec<Vec<String>> = answer
            .planned_actions
            .iter()
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
        if let Some(plan_id) = &answer.plan_id {
            out.push_str(&format!(
                "\nPlan id: {plan_id}\n  install exactly this plan (or nothing, if the tenant changes): add --plan-id {plan_id}\n  field-level changes: installhub diff\n"
            ));
        }
    } else {
        out.push_str(&format!(
            "  installed {} artifact(s) at {} by {}\n  order:    {}\n",
            answer.artifacts_installed,
            answer
                .installed_at
                .as_deref()
                .map_or_else(|| "-".to_owned(), super::lists::when),
            answer.installed_by,
            answer.install_order.join(" → "),
        ));
    }
    let conflicts = &answer.conflict_report.conflicts;
    if !conflicts.is_empty() {
        out.push_str(&format!("\nConflicts resolved ({}):\n", conflicts.len()));
        let rows: Vec<Vec<String>> = conflicts
            .iter()
            .map(|c| {
                vec![
                    c.artifact_id.clone(),
                    c.artifact_name.clone(),
                    c.artifact_type.clone(),
                    c.resolution.clone(),
                    c.previous_version.clone(),
                    c.installed_version.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "ARTIFACT",
                "NAME",
                "TYPE",
                "RESOLUTION",
                "PREVIOUS",
                "INSTALLED",
            ],
            &rows,
        ));
    }
    if !answer.warnings.is_empty() {
        out.push_str(&format!("\nWarnings ({}):\n", answer.warnings.len()));
        for w in &answer.warnings {
            out.push_str(&w.to_string());
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn artifact_strategies_parse() {
        assert_eq!(
            parse_artifact_strategy("form-2005=Skip").unwrap(),
            ("form-2005".to_owned(), "Skip".to_owned())
        );
        assert!(parse_artifact_strategy("form-2005").is_err());
        assert!(parse_artifact_strategy("form-2005=skip").is_err());
    }

    #[test]
    fn the_seed_answer_reads_as_a_table() {
        let body = json!({
            "importId": "imp-1", "packageId": "pkg-1", "packageName": "Employee Onboarding Suite",
            "version": "2.1.0", "status": "Success", "artifactsInstalled": 5, "conflictsResolved": 1,
            "installedAt": "2026-05-25T10:30:00Z", "installedBy": "engineer@company.com",
            "installOrder": ["ent-44", "rule-305"],
            "conflictReport": {"conflicts": [{"artifactId": "form-2005", "artifactName": "EmployeeForm",
                "type": "AtlasForm", "resolution": "Replace", "previousVersion": "1.0.0", "installedVersion": "1.3.0"}]},
            "securityScanResult": "PASS", "warnings": []
        });
        let text = describe(&serde_json::from_value(body).unwrap());
        assert!(
            text.contains("Imported Employee Onboarding Suite 2.1.0"),
            "{text}"
        );
        assert!(text.contains("ent-44 → rule-305"), "{text}");
        assert!(
            text.contains("form-2005  EmployeeForm  AtlasForm  Replace     1.0.0     1.3.0"),
            "{text}"
        );
    }
}
