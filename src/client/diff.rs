//! `installhub diff`: what an import would change in a tenant, field by
//! field, like `helm diff`. It runs the import's dry run (the same checks,
//! nothing installed) and prints each artifact it would create, replace or
//! leave in conflict, with the RFC 6902 changes the server computed from the
//! tenant's live artifact to the package's. A dry run refused for conflicts
//! still answers its whole plan, so the diff shows it, then the refusal.

use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use clap::Args;
use serde::Deserialize;
use serde_json::Value;

use super::import::{ImportArgs, STRATEGIES, parse_artifact_strategy};
use super::{ClientError, Connection, finish, parse_response};

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The bundle (.zip), or the id of a package exported on the server.
    #[arg(value_name = "FILE|PACKAGE_ID")]
    pub source: String,
    /// The tenant to compare with.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// As for `import`: Replace, Skip or Fail for artifacts the tenant has
    /// with other content.
    #[arg(long, value_name = "STRATEGY", value_parser = STRATEGIES)]
    pub strategy: Option<String>,
    /// As for `import` (repeatable).
    #[arg(long = "artifact-strategy", value_name = "ARTIFACT_ID=STRATEGY", value_parser = parse_artifact_strategy)]
    pub artifact_strategies: Vec<(String, String)>,
    /// As for `import`.
    #[arg(long)]
    pub allow_major_version_upgrade: bool,
    /// As for `import`.
    #[arg(long)]
    pub allow_security_warnings: bool,
    /// Print the server's answer (the dry run's) as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

pub async fn run(args: DiffArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(diff(args).await, json))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Plan {
    #[serde(default)]
    package_name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    planned_actions: Vec<Planned>,
    #[serde(default)]
    plan_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Planned {
    artifact_id: String,
    #[serde(default)]
    artifact_name: String,
    #[serde(rename = "type")]
    artifact_type: String,
    action: String,
    #[serde(default)]
    previous_version: Option<String>,
    version: String,
    #[serde(default)]
    changes: Vec<Change>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Change {
    op: String,
    path: String,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    value: Option<Value>,
}

async fn diff(args: DiffArgs) -> Result<(), ClientError> {
    let json = args.json;
    let import = ImportArgs {
        source: args.source,
        tenant: args.tenant,
        strategy: args.strategy,
        artifact_strategies: args.artifact_strategies,
        dry_run: true,
        allow_major_version_upgrade: args.allow_major_version_upgrade,
        allow_security_warnings: args.allow_security_warnings,
        plan_id: None,
        json,
        connection: args.connection,
    };
    let (text, refusal) = match super::import::send(&import).await {
        Ok(text) => (text, None),
        // A refused dry run (409) still carries its whole plan.
        Err(e) => match e.inner() {
            ClientError::Api { status, text, .. } if status.as_u16() == 409 => {
                (text.clone(), Some(super::import::with_hint(e, &import)))
            }
            _ => return Err(super::import::with_hint(e, &import)),
        },
    };
    if json {
        // A refusal prints the server's body itself, once.
        return match refusal {
            Some(error) => Err(error),
            None => {
                outln!("{}", text.trim_end());
                Ok(())
            }
        };
    }
    let plan: Plan = parse_response(&text, "dry run")?;
    crate::out::write(&mut anstream::stdout(), format_args!("{}", render(&plan)));
    refusal.map_or(Ok(()), Err)
}

fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// Each artifact that would change, then a count of every action. The
/// colours are ANSI; `anstream` strips them when stdout is not a terminal
/// or NO_COLOR is set.
fn render(plan: &Plan) -> String {
    let green = AnsiColor::Green.on_default();
    let yellow = AnsiColor::Yellow.on_default();
    let red = AnsiColor::Red.on_default();
    let dim = Style::new().dimmed();
    let mut out = String::new();
    if let (Some(name), Some(version)) = (&plan.package_name, &plan.version) {
        out.push_str(&format!("{name} {version}\n"));
    }
    let mut counts: Vec<(String, usize)> = Vec::new();
    for a in &plan.planned_actions {
        match counts.iter_mut().find(|(action, _)| *action == a.action) {
            Some((_, n)) => *n += 1,
            None => counts.push((a.action.clone(), 1)),
        }
        let (mark, style) = match a.action.as_str() {
            "Create" => ("+", green),
            "Replace" if a.error.is_none() => ("~", yellow),
            "Replace" | "Conflict" => ("!", red),
            _ => continue,
        };
        let versions = match &a.previous_version {
            Some(previous) => format!("{previous} → {}", a.version),
            None => a.version.clone(),
        };
        let refused = a
            .error
            .as_deref()
            .map(|code| format!("  ({code})"))
            .unwrap_or_default();
        out.push_str(&paint(
            style,
            &format!(
                "{mark} {} {} ({}) {}: {versions}{refused}\n",
                a.action, a.artifact_id, a.artifact_type, a.artifact_name
            ),
        ));
        for c in &a.changes {
            let value = c
                .value
                .as_ref()
                .map(|v| format!(" = {v}"))
                .unwrap_or_default();
            let line = match c.op.as_str() {
                "add" => paint(green, &format!("    + {}{value}", c.path)),
                "remove" => paint(red, &format!("    - {}", c.path)),
                "move" | "copy" => paint(
                    yellow,
                    &format!(
                        "    ~ {} {} from {}",
                        c.op,
                        c.path,
                        c.from.as_deref().unwrap_or("?")
                    ),
                ),
                _ => paint(yellow, &format!("    ~ {}{value}", c.path)),
            };
            out.push_str(&line);
            out.push('\n');
        }
        if a.action == "Replace" && a.changes.is_empty() {
            out.push_str(&paint(dim, "    (only the type differs)\n"));
        }
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|(action, n)| format!("{n} {action}"))
        .collect();
    out.push_str(&format!(
        "\n{}\n",
        if summary.is_empty() {
            "The package has no artifacts.".to_owned()
        } else {
            summary.join(", ")
        }
    ));
    if let Some(plan_id) = &plan.plan_id {
        out.push_str(&format!(
            "Plan id: {plan_id} (install exactly this plan with import --plan-id {plan_id})\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_plan_reads_as_a_diff() {
        let plan: Plan = serde_json::from_value(json!({
            "packageName": "Onboarding", "version": "2.1.0", "planId": "plan-ab",
            "plannedActions": [
                {"artifactId": "form-2005", "artifactName": "EmployeeForm", "type": "AtlasForm",
                 "action": "Replace", "previousVersion": "1.0.0", "version": "1.3.0",
                 "changes": [
                    {"op": "replace", "path": "/version", "value": "1.3.0"},
                    {"op": "add", "path": "/definition/fields/2", "value": {"name": "start"}},
                    {"op": "remove", "path": "/libraries/0"}
                 ]},
                {"artifactId": "proc-1001", "artifactName": "Onboarding", "type": "ProcessDefinition",
                 "action": "Create", "version": "2.0.0"},
                {"artifactId": "ent-44", "artifactName": "Employee", "type": "EntitySchema",
                 "action": "Unchanged", "previousVersion": "1.0.0", "version": "1.0.0"},
                {"artifactId": "rule-305", "artifactName": "Budget", "type": "BusinessRule",
                 "action": "Conflict", "previousVersion": "1.0.0", "version": "1.1.0",
                 "conflict": true, "error": "ConflictRequiresResolution", "changes": []}
            ]
        }))
        .unwrap();
        let text = anstream::adapter::strip_str(&render(&plan)).to_string();
        assert_eq!(
            text,
            "Onboarding 2.1.0\n\
             ~ Replace form-2005 (AtlasForm) EmployeeForm: 1.0.0 → 1.3.0\n\
             \x20   ~ /version = \"1.3.0\"\n\
             \x20   + /definition/fields/2 = {\"name\":\"start\"}\n\
             \x20   - /libraries/0\n\
             + Create proc-1001 (ProcessDefinition) Onboarding: 2.0.0\n\
             ! Conflict rule-305 (BusinessRule) Budget: 1.0.0 → 1.1.0  (ConflictRequiresResolution)\n\
             \n1 Replace, 1 Create, 1 Unchanged, 1 Conflict\n\
             Plan id: plan-ab (install exactly this plan with import --plan-id plan-ab)\n"
        );
    }
}
