//! Failures and their codes: the one vocabulary every check, the server and
//! the CLI speak. A [`Failure`] is one problem with a request; a list of them
//! becomes the SPEC §3 error envelope in the server.

use serde::Serialize;

use crate::caller::Scope;
use crate::ids::TenantId;
use serde_json::{Map, Value};

macro_rules! error_codes {
    ($($name:ident),* $(,)?) => {
        /// Every error code InstallHub answers with. The names are the wire names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
        pub enum ErrorCode {
            $($name),*
        }

        impl ErrorCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$name),*];

            /// The code as it appears on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$name => stringify!($name)),*
                }
            }
        }
    };
}

error_codes! {
    Unauthenticated,
    InsufficientPermission,
    TenantAccessDenied,
    TenantMismatch,
    InvalidRequestBody,
    UnsupportedMediaType,
    PayloadTooLarge,
    UriTooLong,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    TenantIdConflict,
    InvalidTenantId,
    InvalidPackageName,
    InvalidPackageType,
    InvalidVersion,
    InvalidDescription,
    InvalidAuthor,
    InvalidTags,
    InvalidPackageDependency,
    ArtifactIdsMissing,
    TooManyRootArtifacts,
    InvalidArtifactId,
    InvalidPackageId,
    InvalidTenantName,
    InvalidPlan,
    InvalidTenantStatus,
    InvalidConflictStrategy,
    InvalidArtifactType,
    InvalidArtifactName,
    InvalidArtifactStatus,
    InvalidReference,
    InvalidLibrary,
    ArtifactNotFound,
    ArtifactNotExportable,
    IncompleteArtifact,
    CircularDependency,
    CrossTenantReference,
    DependencyDepthExceeded,
    BundleSizeExceeded,
    VersionConflict,
    ConflictRequiresResolution,
    MajorVersionUpgradeNotAllowed,
    PlanOutdated,
    InvalidZip,
    ManifestMissing,
    ChecksumMismatch,
    MissingPackageDependency,
    SecurityScanFailed,
    TooManyArtifacts,
    ImportedByMismatch,
    InvalidImportOptions,
    InvalidPlanId,
    ImportNotFound,
    InvalidExportedBy,
    TenantNotFound,
    PackageNotFound,
    NotFound,
    MethodNotAllowed,
    RangeNotSatisfiable,
    RateLimitExceeded,
    InvalidSummary,
    InvalidPublisher,
    InvalidCategories,
    InvalidTrustLevel,
    InvalidReason,
    VersionNotFound,
    NotificationNotFound,
    ListingOwnedElsewhere,
    ListingDelisted,
    AcknowledgmentRequired,
    InstallNotFound,
    TrustLevelNotAllowed,
    PublicHubUnavailable,
    BundleUnavailable,
    SignatureInvalid,
    InstallInterrupted,
    IdempotencyKeyReused,
    RollbackConflict,
    SnapshotExpired,
    ImportNotRollbackable,
    UninstallConflict,
    PackageNotInstalled,
    ValidationFailed,
    ServiceUnavailable,
    InternalError,
}

/// How a code bears on the HTTP status (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// 401.
    Unauthenticated,
    /// 403: any such failure makes the whole response 403.
    Forbidden,
    /// 409, when every failure is a conflict.
    Conflict,
    /// 400.
    Invalid,
    /// 404.
    NotFound,
    /// 410: what was asked for existed once and is gone for good.
    Gone,
    /// 405.
    MethodNotAllowed,
    /// 413.
    TooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 416.
    RangeNotSatisfiable,
    /// 429.
    RateLimited,
    /// 503.
    Unavailable,
    /// 500.
    Internal,
}

impl ErrorCode {
    /// Which status family this code belongs to.
    pub fn kind(self) -> FailureKind {
        use ErrorCode::*;
        match self {
            Unauthenticated => FailureKind::Unauthenticated,
            InsufficientPermission
            | TenantAccessDenied
            | TenantMismatch
            | SecurityScanFailed
            | ListingOwnedElsewhere
            | ListingDelisted
            | TrustLevelNotAllowed => FailureKind::Forbidden,
            VersionConflict
            | ConflictRequiresResolution
            | MajorVersionUpgradeNotAllowed
            | IdempotencyKeyReused
            | PlanOutdated
            | RollbackConflict
            | ImportNotRollbackable
            | UninstallConflict => FailureKind::Conflict,
            SnapshotExpired => FailureKind::Gone,
            TenantNotFound | PackageNotFound | ImportNotFound | VersionNotFound
            | InstallNotFound | NotificationNotFound | PackageNotInstalled | NotFound => {
                FailureKind::NotFound
            }
            MethodNotAllowed => FailureKind::MethodNotAllowed,
            PayloadTooLarge | TooManyArtifacts => FailureKind::TooLarge,
            // Answered below the routes with their own status (414, 431,
            // 408); inside a list of failures they read as a bad request.
            UriTooLong | RequestHeaderFieldsTooLarge | RequestTimeout => FailureKind::Invalid,
            UnsupportedMediaType => FailureKind::UnsupportedMediaType,
            RangeNotSatisfiable => FailureKind::RangeNotSatisfiable,
            RateLimitExceeded => FailureKind::RateLimited,
            ServiceUnavailable | PublicHubUnavailable => FailureKind::Unavailable,
            InternalError => FailureKind::Internal,
            _ => FailureKind::Invalid,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with a request: a code, the request field it concerns, a
/// sentence a person can act on, and machine-readable details.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Failure {
    pub code: ErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
    /// Details such as `artifactId`, `currentStatus`, `requiredStatus`.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub details: Map<String, Value>,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            field: None,
            message: message.into(),
            details: Map::new(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }
}

/// The status family of a whole list of failures, per SPEC §3: 401 if
/// unauthenticated, 403 if any is an authorization failure, 409 if all are
/// conflicts, otherwise the family of the first failure (400 for validation).
pub fn overall_kind(failures: &[Failure]) -> FailureKind {
    let kinds: Vec<FailureKind> = failures.iter().map(|f| f.code.kind()).collect();
    if kinds.contains(&FailureKind::Unauthenticated) {
        FailureKind::Unauthenticated
    } else if kinds.contains(&FailureKind::Forbidden) {
        FailureKind::Forbidden
    } else if !kinds.is_empty() && kinds.iter().all(|k| *k == FailureKind::Conflict) {
        FailureKind::Conflict
    } else if kinds.len() == 1 {
        kinds[0]
    } else {
        FailureKind::Invalid
    }
}

/// 403 `InsufficientPermission` for a missing scope.
pub fn missing_scope(scope: Scope) -> Failure {
    Failure::new(
        ErrorCode::InsufficientPermission,
        format!("This action needs the '{}' permission.", scope.as_str()),
    )
    .detail("requiredPermission", scope.as_str())
}

/// 403 `TenantAccessDenied` for a tenant outside the caller's token.
pub fn tenant_denied(tenant: &TenantId) -> Failure {
    Failure::new(
        ErrorCode::TenantAccessDenied,
        format!("You do not have access to tenant '{tenant}'."),
    )
    .field("tenantId")
    .detail("tenantId", tenant.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_are_variant_names() {
        assert_eq!(
            ErrorCode::ArtifactNotExportable.as_str(),
            "ArtifactNotExportable"
        );
        assert_eq!(ErrorCode::VersionConflict.to_string(), "VersionConflict");
    }

    #[test]
    fn status_family_follows_spec_section_3() {
        let f = |c| Failure::new(c, "x");
        use ErrorCode::*;
        assert_eq!(
            overall_kind(&[f(InvalidVersion), f(TenantMismatch)]),
            FailureKind::Forbidden
        );
        assert_eq!(overall_kind(&[f(VersionConflict)]), FailureKind::Conflict);
        assert_eq!(overall_kind(&[f(PlanOutdated)]), FailureKind::Conflict);
        assert_eq!(overall_kind(&[f(InvalidPlanId)]), FailureKind::Invalid);
        assert_eq!(
            overall_kind(&[f(VersionConflict), f(InvalidVersion)]),
            FailureKind::Invalid
        );
        assert_eq!(
            overall_kind(&[f(InvalidVersion), f(ArtifactNotFound)]),
            FailureKind::Invalid
        );
        assert_eq!(
            overall_kind(&[f(Unauthenticated)]),
            FailureKind::Unauthenticated
        );
        assert_eq!(overall_kind(&[f(RollbackConflict)]), FailureKind::Conflict);
        assert_eq!(overall_kind(&[f(UninstallConflict)]), FailureKind::Conflict);
        assert_eq!(
            overall_kind(&[f(ImportNotRollbackable)]),
            FailureKind::Conflict
        );
        assert_eq!(overall_kind(&[f(SnapshotExpired)]), FailureKind::Gone);
        assert_eq!(
            overall_kind(&[f(PackageNotInstalled)]),
            FailureKind::NotFound
        );
    }

    #[test]
    fn details_flatten_into_the_failure() {
        let failure = Failure::new(ErrorCode::ArtifactNotExportable, "m")
            .field("artifactIds[0]")
            .detail("artifactId", "proc-1001");
        let json = serde_json::to_value(&failure).unwrap();
        assert_eq!(json["artifactId"], "proc-1001");
        assert_eq!(json["field"], "artifactIds[0]");
        assert_eq!(json["code"], "ArtifactNotExportable");
    }
}
