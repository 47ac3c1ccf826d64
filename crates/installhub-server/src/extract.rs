//! Request extractors that validate their input and fail with our JSON
//! envelope: bodies, path ids, the `X-Tenant-Id` header and the caller.
//! Handlers never see axum's raw rejections (clippy.toml bans `axum::Json`
//! and `axum::extract::Path` as extractors in favour of these).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use installhub_domain::ids::{InvalidId, printable};
use installhub_domain::marketplace::InstallId;
use installhub_domain::{
    ArtifactId, Caller, ErrorCode, Failure, ImportId, ListingId, PackageId, Scope, TenantId,
};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body: `Content-Type: application/json`, within the body limit,
/// parsed strictly. A type error names the JSON path of the offending field.
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// 415 `UnsupportedMediaType` unless the body is declared as JSON.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    if is_json(headers) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the request body as JSON with 'Content-Type: application/json'.",
        ))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// What a body past a route's limit is told, from any layer that stops it.
pub const BODY_TOO_LARGE: &str = "The request body is larger than this route accepts.";

pub fn body_too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, BODY_TOO_LARGE)
}

pub fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        body_too_large()
    } else {
        ApiError::new(
            ErrorCode::InvalidRequestBody,
            format!("The request body could not be read: {rejection}."),
        )
    }
}

/// Parses JSON, reporting the path of the first problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if inner.is_eof() && path == "." {
            "The request body is empty or truncated: send a JSON object.".to_owned()
        } else if inner.is_syntax() || inner.is_eof() {
            format!("The request body is not valid JSON: {inner}.")
        } else {
            format!("The request body does not match the expected shape: {inner}.")
        };
        let mut failure = Failure::new(ErrorCode::InvalidRequestBody, message);
        if path != "." && !(inner.is_syntax() || inner.is_eof()) {
            failure = failure.field(path);
        }
        ApiError::from(failure)
    })?;
    Ok(value)
}

/// The `X-Tenant-Id` header, which may stand in for a body's `tenantId`.
pub struct TenantHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for TenantHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.headers.get("x-tenant-id") {
            None => Ok(TenantHeader(None)),
            Some(value) => value
                .to_str()
                .map(|v| TenantHeader(Some(v.to_owned())))
                .map_err(|_| {
                    Failure::new(
                        ErrorCode::InvalidTenantId,
                        "The X-Tenant-Id header is not valid text.",
                    )
                    .field("X-Tenant-Id")
                    .into()
                }),
        }
    }
}

/// The verified caller from `Authorization: Bearer <JWT>`.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthenticated = |message: String| ApiError::new(ErrorCode::Unauthenticated, message);
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            unauthenticated("This route needs an 'Authorization: Bearer <token>' header.".into())
        })?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, token) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unauthenticated("The Authorization header must be 'Bearer <token>'.".into())
            })?;
        state
            .verifier()
            .verify(token)
            .map_err(|e| unauthenticated(e.to_string()))
    }
}

/// 403 `InsufficientPermission` unless the caller holds `scope`.
pub fn require_scope(caller: &Caller, scope: Scope) -> Result<(), ApiError> {
    if caller.has_scope(scope) {
        Ok(())
    } else {
        Err(missing_scope(scope).into())
    }
}

pub use installhub_domain::failure::{missing_scope, tenant_denied};

/// 403 `TenantAccessDenied` unless the caller may act on `tenant`.
pub fn require_tenant(caller: &Caller, tenant: &TenantId) -> Result<(), ApiError> {
    if caller.can_access(tenant) {
        Ok(())
    } else {
        Err(tenant_denied(tenant).into())
    }
}

macro_rules! path_extractor {
    ($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty => $code:expr),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name { $(pub $field: $ty),* }

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
                #[derive(serde::Deserialize)]
                #[serde(rename_all = "camelCase")]
                struct Raw { $($field: String),* }
                #[expect(clippy::disallowed_types, reason = "this is the wrapper that validates")]
                let axum::extract::Path(raw) = axum::extract::Path::<Raw>::from_request_parts(parts, state)
                    .await
                    .map_err(|e| ApiError::new(ErrorCode::NotFound, format!("The path could not be read: {e}.")))?;
                let mut failures = Vec::new();
                $(
                    let $field = match <$ty>::parse(&raw.$field) {
                        Ok(v) => Some(v),
                        Err(InvalidId(message)) => {
                            failures.push(Failure::new($code, message).field(stringify!($field)));
                            None
                        }
                    };
                )*
                if !failures.is_empty() {
                    return Err(ApiError::failures(failures));
                }
                Ok($name { $($field: $field.expect("parsed above")),* })
            }
        }
    };
}

path_extractor!(
    /// `/tenants/{tenantId}`.
    TenantPath { tenant_id: TenantId => ErrorCode::InvalidTenantId }
);
path_extractor!(
    /// `/tenants/{tenantId}/artifacts/{artifactId}`.
    ArtifactPath {
        tenant_id: TenantId => ErrorCode::InvalidTenantId,
        artifact_id: ArtifactId => ErrorCode::InvalidArtifactId,
    }
);
path_extractor!(
    /// `/packages/{packageId}`.
    PackagePath { package_id: PackageId => ErrorCode::InvalidPackageId }
);

path_extractor!(
    /// `/api/marketplace/packages/{packageId}`: a listing.
    ListingPath { package_id: ListingId => ErrorCode::InvalidPackageId }
);
path_extractor!(
    /// `/api/marketplace/packages/{packageId}/versions/{version}`.
    ListingVersionPath {
        package_id: ListingId => ErrorCode::InvalidPackageId,
        version: VersionSegment => ErrorCode::VersionNotFound,
    }
);

/// A version as a path segment: 1-128 characters, no control characters.
/// Whether it names a version is the store's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSegment(pub String);

impl VersionSegment {
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        if !value.is_empty()
            && value.chars().count() <= 128
            && installhub_domain::text::forbidden_char(value).is_none()
        {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidId(format!(
                "'{}' is not a version of this package.",
                printable(value)
            )))
        }
    }
}

path_extractor!(
    /// `/tenants/{tenantId}/installed-packages/{packageName}`. A name no
    /// export accepts is answered like a package that is not installed.
    InstalledPackagePath {
        tenant_id: TenantId => ErrorCode::InvalidTenantId,
        package_name: PackageNameSegment => ErrorCode::PackageNotInstalled,
    }
);

/// A package name as a path segment, checked as export checks names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageNameSegment(pub String);

impl PackageNameSegment {
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        let mut failures = Vec::new();
        match installhub_domain::export::check_package_name(Some(value), &mut failures) {
            Some(name) if failures.is_empty() => Ok(Self(name)),
            _ => Err(InvalidId(format!(
                "No package '{}' is installed: {}",
                printable(value),
                failures
                    .first()
                    .map_or("the name is not a package name.", |f| f.message.as_str())
            ))),
        }
    }
}

path_extractor!(
    /// `/api/marketplace/installs/{installId}`. A malformed id is answered
    /// like a missing one.
    InstallPath { install_id: InstallId => ErrorCode::InstallNotFound }
);

path_extractor!(
    /// `/cdn/bundles/sha256/{file}`. Any other name is answered 404.
    CdnPath { file: CdnFile => ErrorCode::NotFound }
);

/// A CDN bundle's name: `<64 lower-case hex>.zip`, its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdnFile {
    pub sha256: String,
}

impl CdnFile {
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        let hex = value.strip_suffix(".zip").filter(|hex| {
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        match hex {
            Some(hex) => Ok(Self {
                sha256: hex.to_owned(),
            }),
            None => Err(InvalidId(format!(
                "No bundle '{}' is on the CDN: its bundles are named by their SHA-256 in lower-case hex, then '.zip'.",
                printable(value)
            ))),
        }
    }
}

/// A console upload's id: 64 lower-case hex characters (see
/// `console::staging`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadId(pub String);

impl UploadId {
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        let hex = value.len() == 64
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex {
            Ok(Self(value.to_owned()))
        } else {
            Err(InvalidId(format!(
                "No upload '{}' exists: uploads are named by 64 lower-case hex characters.",
                printable(value)
            )))
        }
    }
}

path_extractor!(
    /// `/console/tenants/{tenantId}/import/{uploadId}`.
    UploadPath {
        tenant_id: TenantId => ErrorCode::InvalidTenantId,
        upload_id: UploadId => ErrorCode::NotFound,
    }
);

path_extractor!(
    /// `/imports/{importId}`. A malformed id is answered like a missing one.
    ImportPath { import_id: ImportId => ErrorCode::ImportNotFound }
);

/// A list route's `limit`: `default` when absent, else 1 to `max`.
pub fn page_limit(limit: Option<i64>, default: i64, max: i64) -> Result<i64, Failure> {
    let limit = limit.unwrap_or(default);
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(Failure::new(
            ErrorCode::InvalidRequestBody,
            format!("limit must be between 1 and {max}."),
        )
        .field("limit"))
    }
}

/// One page of a list fetched with `limit + 1` rows: the first `limit`, and
/// the cursor of the last of them when more follow.
pub fn split_page<T, C>(
    mut rows: Vec<T>,
    limit: i64,
    cursor: impl Fn(&T) -> Option<C>,
) -> (Vec<T>, Option<C>) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().and_then(cursor);
        (rows, next)
    } else {
        (rows, None)
    }
}

/// Query strings, parsed into our envelope on error.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        serde_urlencoded_from_str(query).map(QueryParams)
    }
}

fn serde_urlencoded_from_str<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    axum::extract::Query::<T>::try_from_uri(&format!("/?{query}").parse().map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidRequestBody,
            "The query string is malformed.",
        )
    })?)
    .map(|q| q.0)
    .map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidRequestBody,
            format!(
                "The query string is not valid: {}.",
                printable(&e.body_text())
            ),
        )
    })
}

/// `/api/notifications/{notificationId}`: the id as sent. Whether it is
/// well-formed is checked with [`notification_id_is_valid`] by the
/// handler, which answers a malformed id, an unknown one and another
/// user's with the same 404, so none of them tells the others apart.
#[derive(Debug, Clone)]
pub struct NotificationPath {
    pub notification_id: String,
}

impl<S: Send + Sync> FromRequestParts<S> for NotificationPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            notification_id: String,
        }
        #[expect(
            clippy::disallowed_types,
            reason = "this is the wrapper that validates"
        )]
        let axum::extract::Path(raw) = axum::extract::Path::<Raw>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                ApiError::new(
                    ErrorCode::NotFound,
                    format!("The path could not be read: {e}."),
                )
            })?;
        Ok(NotificationPath {
            notification_id: raw.notification_id,
        })
    }
}

/// `ntf-` and a lower-case UUID.
pub fn notification_id_is_valid(value: &str) -> bool {
    value
        .strip_prefix(installhub_store::NOTIFICATION_ID_PREFIX)
        .is_some_and(|uuid| {
            uuid.len() == 36
                && uuid::Uuid::try_parse(uuid).is_ok()
                && !uuid.contains(char::is_uppercase)
        })
}

/// The one message for a notification the caller cannot have: unknown,
/// malformed or another user's.
pub fn notification_not_found_message(id: &str) -> String {
    format!("Notification '{}' does not exist.", printable(id))
}
