//! `installhub preview`: asks the server what an export of some artifacts
//! would contain and draws it as a tree, each dependency under the artifact
//! through which it was first reached (`resolvedFrom`).

use std::collections::{HashMap, HashSet};
use std::process::ExitCode;

use clap::Args;
use serde::{Deserialize, Serialize};

use super::{Client, ClientError, Connection, FailureLine, finish, parse_response};

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// The tenant that owns the artifacts.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// Root artifact ids; their dependencies are found by the server.
    #[arg(required = true, value_name = "ARTIFACT_ID")]
    pub artifact_ids: Vec<String>,
    /// Print the server's JSON response unchanged.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PreviewRequest<'a> {
    tenant_id: &'a str,
    artifact_ids: &'a [String],
}

/// The parts of the answer the tree needs (seed 01's preview body).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PreviewResponse {
    root_artifacts: Vec<Node>,
    resolved_dependencies: Vec<Node>,
    total_artifacts: usize,
    install_order: Vec<String>,
    has_circular_dependency: bool,
    #[serde(default)]
    cycles: Vec<Vec<String>>,
    #[serde(default)]
    warnings: Vec<FailureLine>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    #[serde(rename = "type")]
    artifact_type: String,
    id: String,
    name: String,
    #[serde(default)]
    resolved_from: Option<String>,
}

impl Node {
    fn label(&self) -> String {
        format!("{} ({}) {}", self.id, self.artifact_type, self.name)
    }
}

pub async fn run(args: PreviewArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(preview(args).await, json))
}

async fn preview(args: PreviewArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let request = PreviewRequest {
        tenant_id: &args.tenant,
        artifact_ids: &args.artifact_ids,
    };
    let text = client
        .post_json("api/installhub/packages/preview", &request)
        .await?;
    // Parsed even for --json, so a script never gets a non-JSON success.
    let response: PreviewResponse = parse_response(&text, "preview")?;
    if args.json {
        outln!("{}", text.trim_end());
    } else {
        out!("{}", render(&response));
    }
    Ok(())
}

/// The tree, then install order, total, cycles and warnings.
fn render(preview: &PreviewResponse) -> String {
    let mut children: HashMap<&str, Vec<&Node>> = HashMap::new();
    for dependency in &preview.resolved_dependencies {
        if let Some(parent) = dependency.resolved_from.as_deref() {
            children.entry(parent).or_default().push(dependency);
        }
    }
    let mut out = String::new();
    let mut drawn: HashSet<&str> = HashSet::new();
    for (i, root) in preview.root_artifacts.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&root.label());
        out.push('\n');
        drawn.insert(&root.id);
        draw_children(&root.id, "", &children, &mut drawn, &mut out);
    }
    // resolvedFrom always names a root or an earlier dependency, so this is
    // empty unless the server and the client disagree; listed rather than
    // silently dropped.
    let stray: Vec<&Node> = preview
        .resolved_dependencies
        .iter()
        .filter(|d| !drawn.contains(d.id.as_str()))
        .collect();
    if !stray.is_empty() {
        out.push_str("\nAlso resolved:\n");
        for node in stray {
            let from = node.resolved_from.as_deref().unwrap_or("?");
            out.push_str(&format!("  {} (from {from})\n", node.label()));
        }
    }

    out.push('\n');
    if preview.install_order.is_empty() && preview.has_circular_dependency {
        out.push_str("Install order: none (the artifacts depend on each other in a cycle)\n");
    } else {
        out.push_str(&format!(
            "Install order: {}\n",
            preview.install_order.join(" → ")
        ));
    }
    let noun = if preview.total_artifacts == 1 {
        "artifact"
    } else {
        "artifacts"
    };
    out.push_str(&format!("Total: {} {noun}\n", preview.total_artifacts));
    if preview.has_circular_dependency {
        out.push_str("Circular dependencies (export will refuse these):\n");
        for cycle in &preview.cycles {
            // Closed again at its start, so it reads as the loop it is.
            let mut ids: Vec<&str> = cycle.iter().map(String::as_str).collect();
            if let Some(first) = cycle.first() {
                ids.push(first);
            }
            out.push_str(&format!("  - {}\n", ids.join(" → ")));
        }
    }
    if !preview.warnings.is_empty() {
        out.push_str("Warnings (export will fail until these are fixed):\n");
        for warning in &preview.warnings {
            out.push_str(&warning.to_string());
            out.push('\n');
        }
    }
    out
}

fn draw_children<'a>(
    parent: &str,
    prefix: &str,
    children: &HashMap<&str, Vec<&'a Node>>,
    drawn: &mut HashSet<&'a str>,
    out: &mut String,
) {
    let Some(kids) = children.get(parent) else {
        return;
    };
    let count = kids.len();
    for (i, node) in kids.iter().enumerate() {
        // A node is drawn once: a malformed answer with a resolvedFrom loop
        // must not recurse forever.
        if !drawn.insert(&node.id) {
            continue;
        }
        let last = i + 1 == count;
        let (branch, indent) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        out.push_str(&format!("{prefix}{branch}{}\n", node.label()));
        draw_children(&node.id, &format!("{prefix}{indent}"), children, drawn, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(value: Value) -> PreviewResponse {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn draws_seed_01_as_a_tree() {
        let preview = parse(json!({
            "rootArtifacts": [{"type": "ProcessDefinition", "id": "proc-1001", "name": "EmployeeOnboarding"}],
            "resolvedDependencies": [
                {"type": "ThreadDefinition", "id": "thread-2002", "name": "ApprovalSubflow", "resolvedFrom": "proc-1001"},
                {"type": "AtlasForm", "id": "form-2005", "name": "EmployeeForm", "resolvedFrom": "proc-1001"},
                {"type": "RuleSet", "id": "rule-305", "name": "ApprovalRules", "resolvedFrom": "proc-1001"},
                {"type": "EntitySchema", "id": "ent-44", "name": "EmployeeSchema", "resolvedFrom": "form-2005"}
            ],
            "totalArtifacts": 5,
            "installOrder": ["ent-44", "rule-305", "form-2005", "thread-2002", "proc-1001"],
            "hasCircularDependency": false,
            "warnings": []
        }));
        assert_eq!(
            render(&preview),
            "\
proc-1001 (ProcessDefinition) EmployeeOnboarding
├── thread-2002 (ThreadDefinition) ApprovalSubflow
├── form-2005 (AtlasForm) EmployeeForm
│   └── ent-44 (EntitySchema) EmployeeSchema
└── rule-305 (RuleSet) ApprovalRules

Install order: ent-44 → rule-305 → form-2005 → thread-2002 → proc-1001
Total: 5 artifacts
"
        );
    }

    #[test]
    fn nested_last_children_indent_without_a_rail() {
        let preview = parse(json!({
            "rootArtifacts": [
                {"type": "AppDefinition", "id": "app-1", "name": "App"},
                {"type": "RuleSet", "id": "rule-9", "name": "Lonely"}
            ],
            "resolvedDependencies": [
                {"type": "AtlasForm", "id": "form-1", "name": "F", "resolvedFrom": "app-1"},
                {"type": "EntitySchema", "id": "ent-1", "name": "E", "resolvedFrom": "form-1"},
                {"type": "EntitySchema", "id": "ent-2", "name": "E2", "resolvedFrom": "form-1"}
            ],
            "totalArtifacts": 5,
            "installOrder": ["ent-1", "ent-2", "rule-9", "form-1", "app-1"],
            "hasCircularDependency": false,
            "warnings": []
        }));
        let text = render(&preview);
        assert!(
            text.starts_with(
                "\
app-1 (AppDefinition) App
└── form-1 (AtlasForm) F
    ├── ent-1 (EntitySchema) E
    └── ent-2 (EntitySchema) E2

rule-9 (RuleSet) Lonely
"
            ),
            "{text}"
        );
    }

    #[test]
    fn cycles_and_warnings_are_listed() {
        let preview = parse(json!({
            "rootArtifacts": [{"type": "ProcessDefinition", "id": "a", "name": "A"}],
            "resolvedDependencies": [
                {"type": "ProcessDefinition", "id": "b", "name": "B", "resolvedFrom": "a"}
            ],
            "totalArtifacts": 2,
            "installOrder": [],
            "hasCircularDependency": true,
            "cycles": [["a", "b"]],
            "warnings": [
                {"code": "CircularDependency", "field": "artifactIds[0]", "message": "a and b use each other."}
            ]
        }));
        let text = render(&preview);
        assert!(text.contains("Install order: none"), "{text}");
        assert!(text.contains("  - a → b → a\n"), "{text}");
        assert!(
            text.contains("  - CircularDependency [artifactIds[0]]: a and b use each other.\n"),
            "{text}"
        );
    }

    #[test]
    fn a_resolved_from_loop_terminates_and_strays_are_shown() {
        let preview = parse(json!({
            "rootArtifacts": [{"type": "RuleSet", "id": "r", "name": "R"}],
            "resolvedDependencies": [
                {"type": "RuleSet", "id": "x", "name": "X", "resolvedFrom": "y"},
                {"type": "RuleSet", "id": "y", "name": "Y", "resolvedFrom": "x"}
            ],
            "totalArtifacts": 3,
            "installOrder": ["r", "x", "y"],
            "hasCircularDependency": false,
            "warnings": []
        }));
        let text = render(&preview);
        assert!(
            text.contains("Also resolved:\n  x (RuleSet) X (from y)\n  y (RuleSet) Y (from x)\n"),
            "{text}"
        );
    }
}
