//! `installhub export`: creates a package on the server from some root
//! artifacts (the server adds their dependencies) and says how to fetch it.

use std::process::ExitCode;

use clap::Args;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use installhub_domain::PackageType;
use serde::{Deserialize, Serialize};

use super::{Client, ClientError, Connection, finish, parse_response};

// `--version` is the package's version here, so the version flag that
// `propagate_version` would add to every subcommand is switched off.
#[derive(Debug, Args)]
#[command(disable_version_flag = true)]
pub struct ExportArgs {
    /// The tenant that owns the artifacts.
    #[arg(long, value_name = "TENANT_ID")]
    pub tenant: String,
    /// Package name: letters, digits, spaces and hyphens.
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// What the package mainly carries (seed 01).
    #[arg(long = "type", value_name = "TYPE", value_parser = package_type_parser())]
    pub package_type: PackageType,
    /// Package version (SemVer, e.g. 2.1.0).
    #[arg(long, value_name = "VERSION")]
    pub version: String,
    /// A sentence or two about the package.
    #[arg(long)]
    pub description: Option<String>,
    /// Who maintains the package (a team or a person).
    #[arg(long)]
    pub author: Option<String>,
    /// A tag; repeatable.
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// A package the target tenant must already have, as NAME@RANGE
    /// (e.g. 'HR Core@^1.2'); repeatable.
    #[arg(long = "requires", value_name = "NAME@RANGE", value_parser = parse_requirement)]
    pub requires: Vec<Requirement>,
    /// Root artifact ids; their dependencies are added by the server.
    #[arg(required = true, value_name = "ARTIFACT_ID")]
    pub artifact_ids: Vec<String>,
    /// Print the server's JSON response unchanged.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connection: Connection,
}

/// One `packageDependencies` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirement {
    package_name: String,
    version_range: String,
}

/// The seed's package types as clap's possible values, so `--help` lists
/// them and a typo gets a suggestion.
fn package_type_parser() -> impl TypedValueParser<Value = PackageType> {
    PossibleValuesParser::new(PackageType::ALL.iter().map(|t| t.as_str()))
        .map(|value| PackageType::parse(&value).expect("only the possible values get this far"))
}

/// Package names cannot contain `@` (SPEC §5), so the first one separates
/// the name from the range.
fn parse_requirement(value: &str) -> Result<Requirement, String> {
    let malformed = || format!("expected NAME@RANGE, e.g. 'HR Core@^1.2', got '{value}'");
    let (name, range) = value.split_once('@').ok_or_else(malformed)?;
    let (name, range) = (name.trim(), range.trim());
    if name.is_empty() || range.is_empty() {
        return Err(malformed());
    }
    Ok(Requirement {
        package_name: name.to_owned(),
        version_range: range.to_owned(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportRequest<'a> {
    tenant_id: &'a str,
    package_name: &'a str,
    package_type: &'static str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    tags: &'a [String],
    artifact_ids: &'a [String],
    #[serde(skip_serializing_if = "<[Requirement]>::is_empty")]
    package_dependencies: &'a [Requirement],
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportResponse {
    package_id: String,
    package_name: String,
    version: String,
    checksum: String,
    artifact_count: u64,
    exported_at: String,
    manifest: ExportedManifest,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExportedManifest {
    install_order: Vec<String>,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let json = args.json;
    Ok(finish(export(args).await, json))
}

async fn export(args: ExportArgs) -> Result<(), ClientError> {
    let client = Client::new(&args.connection)?;
    let request = ExportRequest {
        tenant_id: &args.tenant,
        package_name: &args.name,
        package_type: args.package_type.as_str(),
        version: &args.version,
        description: args.description.as_deref(),
        author: args.author.as_deref(),
        tags: &args.tags,
        artifact_ids: &args.artifact_ids,
        package_dependencies: &args.requires,
    };
    let text = client
        .post_json("api/installhub/packages/export", &request)
        .await
        .map_err(|e| {
            if e.has_api_code("VersionConflict") {
                e.hint(format!(
                    "a version is exported once: pass another --version ('installhub packages list --tenant {} --name \"{}\"' shows those exported)",
                    args.tenant, args.name
                ))
            } else {
                e
            }
        })?;
    let response: ExportResponse = parse_response(&text, "export")?;
    if args.json {
        outln!("{}", text.trim_end());
        return Ok(());
    }
    let download = format!(
        "installhub download {}{}",
        response.package_id,
        client.repeat_flags()
    );
    out!(
        "\
Exported {name} {version}
  package id:     {id}
  checksum:       {checksum}
  artifacts:      {count}
  install order:  {order}
  exported at:    {at}

Download it with:
  {download}
",
        name = response.package_name,
        version = response.version,
        id = response.package_id,
        checksum = response.checksum,
        count = response.artifact_count,
        order = response.manifest.install_order.join(" → "),
        at = response.exported_at,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_split_at_the_first_at_sign() {
        assert_eq!(
            parse_requirement("HR Core@>=1.0.0, <2.0.0").unwrap(),
            Requirement {
                package_name: "HR Core".into(),
                version_range: ">=1.0.0, <2.0.0".into(),
            }
        );
        for bad in ["HR Core", "@^1", "HR Core@", " @ "] {
            assert!(parse_requirement(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn package_types_are_the_seed_values() {
        let command = clap::Command::new("t");
        let parser = package_type_parser();
        for t in PackageType::ALL {
            let parsed = parser.parse_ref(&command, None, std::ffi::OsStr::new(t.as_str()));
            assert_eq!(parsed.unwrap(), *t);
        }
        assert!(
            parser
                .parse_ref(&command, None, std::ffi::OsStr::new("Workflow"))
                .is_err()
        );
    }

    #[test]
    fn optional_fields_are_left_out_of_the_request() {
        let ids = vec!["proc-1001".to_owned()];
        let request = ExportRequest {
            tenant_id: "t",
            package_name: "P",
            package_type: "workflow-package",
            version: "1.0.0",
            description: None,
            author: None,
            tags: &[],
            artifact_ids: &ids,
            package_dependencies: &[],
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({
                "tenantId": "t", "packageName": "P", "packageType": "workflow-package",
                "version": "1.0.0", "artifactIds": ["proc-1001"]
            })
        );
    }
}
