//! The host platform API's bodies (SPEC §4): creating tenants and writing
//! artifacts. Each check adds a [`Failure`]; all come back together.

use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::export::check_version;
use crate::failure::{ErrorCode, Failure};
use crate::ids::{ArtifactId, TenantId, printable};
use crate::model::{
    Artifact, ArtifactStatus, ArtifactType, ConflictStrategy, Ecosystem, Library, Plan, Reference,
    Tenant, TenantStatus,
};
use crate::text::{forbidden_char, forbidden_char_message};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_REFERENCES: usize = 1000;
pub const MAX_LIBRARIES: usize = 500;

/// `PUT /api/installhub/tenants/{tenantId}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantBody {
    /// Not blank, at most 200 characters, no control characters.
    #[schema(value_type = String, required = true, example = "Acme HR", max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$")]
    pub name: Option<String>,
    #[schema(value_type = Plan, required = true, example = "Enterprise")]
    pub plan: Option<String>,
    #[schema(value_type = TenantStatus, required = true, example = "Active")]
    pub status: Option<String>,
    /// What imports do with conflicts by default.
    #[schema(required = false, value_type = Option<ConflictStrategy>)]
    pub default_conflict_strategy: Option<String>,
    /// The marketplace trust levels installs into this tenant may have
    /// (`[]`: none; a level listed twice counts once); absent: every level.
    #[schema(required = false, value_type = Option<Vec<crate::marketplace::TrustLevel>>)]
    pub allowed_trust_levels: Option<Vec<String>>,
}

/// `PUT /api/installhub/tenants/{tenantId}/artifacts/{artifactId}`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArtifactBody {
    #[serde(rename = "type")]
    #[schema(value_type = ArtifactType, required = true, example = "ProcessDefinition")]
    pub artifact_type: Option<String>,
    /// Not blank, at most 200 characters, no control characters.
    #[schema(value_type = String, required = true, example = "EmployeeOnboarding", max_length = 200, pattern = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$")]
    pub name: Option<String>,
    /// SemVer 2.0.0, at most 128 characters.
    #[schema(value_type = String, required = true, example = "2.1.0", max_length = 128, pattern = r"^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$")]
    pub version: Option<String>,
    #[schema(value_type = ArtifactStatus, required = true, example = "Published")]
    pub status: Option<String>,
    /// The artifact's content: any JSON value except `null` (which reads
    /// as missing).
    #[schema(schema_with = crate::doc::any_json_but_null, required = true)]
    pub definition: Option<Value>,
    /// What this artifact uses, in order.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub references: Vec<ReferenceBody>,
    /// Third-party code it ships with.
    #[serde(default)]
    #[schema(max_items = 500)]
    pub libraries: Vec<LibraryBody>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReferenceBody {
    #[schema(example = "form-2005", pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    pub artifact_id: String,
    /// Defaults to the owner's tenant.
    #[schema(required = false, value_type = Option<String>, pattern = r"^[a-z0-9-]{3,64}$")]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LibraryBody {
    #[schema(value_type = Ecosystem, example = "npm")]
    pub ecosystem: String,
    /// 1-214 characters, no spaces or control characters.
    #[schema(
        example = "lodash",
        pattern = r"^[^ \u0000-\u001f\u007f-\u009f]{1,214}$"
    )]
    pub name: String,
    /// 1-214 characters, no spaces or control characters.
    #[schema(
        example = "4.17.21",
        pattern = r"^[^ \u0000-\u001f\u007f-\u009f]{1,214}$"
    )]
    pub version: String,
}

fn required_enum<T>(
    value: Option<&str>,
    field: &str,
    code: ErrorCode,
    parse: fn(&str) -> Option<T>,
    expected: String,
    failures: &mut Vec<Failure>,
) -> Option<T> {
    let parsed = value.and_then(parse);
    if parsed.is_none() {
        let message = match value {
            None => format!("{field} is required: one of {expected}."),
            Some(v) => format!(
                "{field} '{}' is not valid: use one of {expected}.",
                printable(v)
            ),
        };
        failures.push(Failure::new(code, message).field(field));
    }
    parsed
}

pub(crate) fn check_name(
    value: Option<&str>,
    code: ErrorCode,
    failures: &mut Vec<Failure>,
) -> Option<String> {
    let problem = match value {
        None => Some("name is required.".to_owned()),
        Some(n) if n.trim().is_empty() => Some("name must not be blank.".to_owned()),
        Some(n) if n.chars().count() > MAX_NAME_CHARS => {
            Some(format!("name is longer than {MAX_NAME_CHARS} characters."))
        }
        Some(n) => forbidden_char(n).map(|c| forbidden_char_message("name", c)),
    };
    match problem {
        Some(message) => {
            failures.push(Failure::new(code, message).field("name"));
            None
        }
        None => value.map(str::to_owned),
    }
}

/// An artifact's reference and library counts, however it arrives (a PUT
/// of the catalog, an import).
pub(crate) fn check_counts(references: usize, libraries: usize, failures: &mut Vec<Failure>) {
    if references > MAX_REFERENCES {
        failures.push(
            Failure::new(
                ErrorCode::InvalidReference,
                format!("An artifact may list at most {MAX_REFERENCES} references."),
            )
            .field("references"),
        );
    }
    if libraries > MAX_LIBRARIES {
        failures.push(
            Failure::new(
                ErrorCode::InvalidLibrary,
                format!("An artifact may list at most {MAX_LIBRARIES} libraries."),
            )
            .field("libraries"),
        );
    }
}

/// A library's name and version: 1-214 characters each, no spaces, nothing
/// [`forbidden_char`] refuses.
pub(crate) fn check_library_text(name: &str, version: &str, field: String) -> Option<Failure> {
    let bad_text =
        |s: &str| s.is_empty() || s.len() > 214 || s.contains(' ') || forbidden_char(s).is_some();
    (bad_text(name) || bad_text(version)).then(|| {
        Failure::new(
            ErrorCode::InvalidLibrary,
            "A library needs a name and a version of 1-214 characters without spaces or control characters.",
        )
        .field(field)
    })
}

impl TenantBody {
    /// Checks every field and builds the tenant.
    pub fn into_tenant(self, tenant_id: TenantId) -> Result<Tenant, Vec<Failure>> {
        let mut failures = Vec::new();
        let name = check_name(
            self.name.as_deref(),
            ErrorCode::InvalidTenantName,
            &mut failures,
        );
        let plan = required_enum(
            self.plan.as_deref(),
            "plan",
            ErrorCode::InvalidPlan,
            Plan::parse,
            Plan::expected(),
            &mut failures,
        );
        let status = required_enum(
            self.status.as_deref(),
            "status",
            ErrorCode::InvalidTenantStatus,
            TenantStatus::parse,
            TenantStatus::expected(),
            &mut failures,
        );
        let strategy = match self.default_conflict_strategy.as_deref() {
            None => None,
            Some(s) => required_enum(
                Some(s),
                "defaultConflictStrategy",
                ErrorCode::InvalidConflictStrategy,
                ConflictStrategy::parse,
                ConflictStrategy::expected(),
                &mut failures,
            ),
        };
        let allowed_trust_levels = self.allowed_trust_levels.map(|levels| {
            let mut parsed = Vec::new();
            for (i, level) in levels.iter().enumerate() {
                match crate::marketplace::TrustLevel::parse(level) {
                    Some(level) if !parsed.contains(&level) => parsed.push(level),
                    Some(_) => {}
                    None => failures.push(
                        Failure::new(
                            ErrorCode::InvalidTrustLevel,
                            format!(
                                "allowedTrustLevels[{i}] '{}' is not valid: use {}.",
                                printable(level),
                                crate::marketplace::TrustLevel::expected()
                            ),
                        )
                        .field(format!("allowedTrustLevels[{i}]")),
                    ),
                }
            }
            parsed.sort();
            parsed
        });
        match (name, plan, status) {
            (Some(name), Some(plan), Some(status)) if failures.is_empty() => Ok(Tenant {
                tenant_id,
                name,
                plan,
                status,
                default_conflict_strategy: strategy,
                allowed_trust_levels,
            }),
            _ => Err(failures),
        }
    }
}

impl ArtifactBody {
    /// Checks every field and builds the artifact.
    pub fn into_artifact(
        self,
        tenant_id: TenantId,
        id: ArtifactId,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Artifact, Vec<Failure>> {
        let mut failures = Vec::new();
        let artifact_type = required_enum(
            self.artifact_type.as_deref(),
            "type",
            ErrorCode::InvalidArtifactType,
            ArtifactType::parse,
            ArtifactType::expected(),
            &mut failures,
        );
        let name = check_name(
            self.name.as_deref(),
            ErrorCode::InvalidArtifactName,
            &mut failures,
        );
        let version = check_version(self.version.as_deref(), "version", &mut failures);
        let status = required_enum(
            self.status.as_deref(),
            "status",
            ErrorCode::InvalidArtifactStatus,
            ArtifactStatus::parse,
            ArtifactStatus::expected(),
            &mut failures,
        );
        let definition = match self.definition {
            Some(Value::Null) | None => {
                failures.push(
                    Failure::new(
                        ErrorCode::InvalidRequestBody,
                        "definition is required: the artifact's content as JSON.",
                    )
                    .field("definition"),
                );
                None
            }
            Some(d) => Some(d),
        };
        check_counts(self.references.len(), self.libraries.len(), &mut failures);
        let mut references = Vec::with_capacity(self.references.len());
        for (i, r) in self.references.iter().enumerate() {
            let artifact_id = ArtifactId::parse(&r.artifact_id);
            let tenant = r.tenant_id.as_deref().map(TenantId::parse).transpose();
            match (artifact_id, tenant) {
                (Ok(artifact_id), Ok(tenant_id)) => references.push(Reference {
                    artifact_id,
                    tenant_id,
                }),
                (Err(e), _) => failures.push(
                    Failure::new(ErrorCode::InvalidReference, e.0)
                        .field(format!("references[{i}].artifactId")),
                ),
                (_, Err(e)) => failures.push(
                    Failure::new(ErrorCode::InvalidReference, e.0)
                        .field(format!("references[{i}].tenantId")),
                ),
            }
        }
        let mut libraries = Vec::with_capacity(self.libraries.len());
        for (i, l) in self.libraries.into_iter().enumerate() {
            let field = format!("libraries[{i}]");
            let Some(ecosystem) = Ecosystem::parse(&l.ecosystem) else {
                failures.push(
                    Failure::new(
                        ErrorCode::InvalidLibrary,
                        format!(
                            "ecosystem '{}' is not valid: use one of {}.",
                            printable(&l.ecosystem),
                            Ecosystem::expected()
                        ),
                    )
                    .field(format!("{field}.ecosystem")),
                );
                continue;
            };
            if let Some(failure) = check_library_text(&l.name, &l.version, field) {
                failures.push(failure);
                continue;
            }
            libraries.push(Library {
                ecosystem,
                name: l.name,
                version: l.version,
            });
        }
        match (artifact_type, name, version, status, definition) {
            (Some(artifact_type), Some(name), Some(version), Some(status), Some(definition))
                if failures.is_empty() =>
            {
                Ok(Artifact {
                    tenant_id,
                    id,
                    artifact_type,
                    name,
                    version: version.to_string(),
                    status,
                    definition,
                    references,
                    libraries,
                    updated_at: now,
                })
            }
            _ => Err(failures),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_body_reports_every_problem() {
        let body = TenantBody {
            name: Some(" ".into()),
            plan: Some("Gold".into()),
            status: None,
            default_conflict_strategy: Some("Merge".into()),
            allowed_trust_levels: Some(vec!["Verified".into(), "Trusted".into()]),
        };
        let failures = body
            .into_tenant(TenantId::parse("tenant-a").unwrap())
            .unwrap_err();
        let codes: Vec<_> = failures.iter().map(|f| f.code).collect();
        assert_eq!(
            codes,
            vec![
                ErrorCode::InvalidTenantName,
                ErrorCode::InvalidPlan,
                ErrorCode::InvalidTenantStatus,
                ErrorCode::InvalidConflictStrategy,
                ErrorCode::InvalidTrustLevel
            ]
        );
        assert_eq!(failures[4].field.as_deref(), Some("allowedTrustLevels[1]"));
    }

    #[test]
    fn artifact_body_reports_every_problem() {
        let body = ArtifactBody {
            artifact_type: Some("Workflow".into()),
            name: None,
            version: Some("1.0".into()),
            status: Some("Live".into()),
            definition: None,
            references: vec![ReferenceBody {
                artifact_id: "../x".into(),
                tenant_id: None,
            }],
            libraries: vec![LibraryBody {
                ecosystem: "cargo".into(),
                name: "x".into(),
                version: "1".into(),
            }],
        };
        let failures = body
            .into_artifact(
                TenantId::parse("tenant-a").unwrap(),
                ArtifactId::parse("a").unwrap(),
                chrono::Utc::now(),
            )
            .unwrap_err();
        let got: Vec<_> = failures
            .iter()
            .map(|f| (f.code, f.field.clone().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                (ErrorCode::InvalidArtifactType, "type".into()),
                (ErrorCode::InvalidArtifactName, "name".into()),
                (ErrorCode::InvalidVersion, "version".into()),
                (ErrorCode::InvalidArtifactStatus, "status".into()),
                (ErrorCode::InvalidRequestBody, "definition".into()),
                (
                    ErrorCode::InvalidReference,
                    "references[0].artifactId".into()
                ),
                (ErrorCode::InvalidLibrary, "libraries[0].ecosystem".into()),
            ]
        );
    }
}
