//! The one place where failures become HTTP responses (SPEC §3).
//!
//! Every error, from every route, is the JSON envelope
//! `{ "error", "message", "errors": [...] }`. With exactly one failure its
//! code is `error` and its details also stand at the top level (seed 02's
//! Draft example); with several, `error` is `ValidationFailed`. Unexpected
//! errors are logged with their cause and answered with a generic 500.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use installhub_domain::failure::{FailureKind, overall_kind};
use installhub_domain::{ErrorCode, Failure};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// An error a handler returns.
#[derive(Debug)]
pub enum ApiError {
    /// One or more failures of the request itself.
    Failures {
        failures: Vec<Failure>,
        /// The envelope's message when there are several failures.
        summary: &'static str,
        /// Overrides the status SPEC §3 derives from the codes, for lookups
        /// where the seed's 400 code means 404 (`ArtifactNotFound` on a GET).
        status: Option<StatusCode>,
        /// Members added to the envelope beside `error`, `message` and
        /// `errors` (a refused dry run's `plannedActions`).
        extra: Map<String, Value>,
    },
    /// Something went wrong on our side; never shown to the caller.
    Internal(anyhow::Error),
}

/// The error envelope, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The failure's code, or `ValidationFailed` when there are several.
    #[schema(value_type = ErrorCode, example = "ArtifactNotExportable")]
    pub error: String,
    #[schema(
        example = "Artifact 'proc-1001' (EmployeeOnboarding) is in Draft state. Publish it before exporting."
    )]
    pub message: String,
    /// Every failure, each with `code`, `field`, `message` and its details.
    pub errors: Vec<Failure>,
}

pub type ApiResult<T> = Result<T, ApiError>;

const DEFAULT_SUMMARY: &str = "The request failed validation. See 'errors' for details.";

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Failure::new(code, message).into()
    }

    /// Several failures (or one) reported together.
    pub fn failures(failures: Vec<Failure>) -> Self {
        Self::Failures {
            failures,
            summary: DEFAULT_SUMMARY,
            status: None,
            extra: Map::new(),
        }
    }

    /// A lookup that found nothing: 404 with the given code.
    pub fn not_found(failure: Failure) -> Self {
        Self::Failures {
            failures: vec![failure],
            summary: DEFAULT_SUMMARY,
            status: Some(StatusCode::NOT_FOUND),
            extra: Map::new(),
        }
    }

    /// Sets the message used when several failures come back together.
    pub fn with_summary(self, summary: &'static str) -> Self {
        match self {
            Self::Failures {
                failures,
                status,
                extra,
                ..
            } => Self::Failures {
                failures,
                summary,
                status,
                extra,
            },
            other => other,
        }
    }

    /// Adds a member to the envelope (never one of its own three).
    pub fn with_member(mut self, key: &str, value: Value) -> Self {
        if let Self::Failures { extra, .. } = &mut self
            && !matches!(key, "error" | "message" | "errors")
        {
            extra.insert(key.to_owned(), value);
        }
        self
    }

    /// Puts `prefix.` before each failure's field (or makes `prefix` the
    /// field): for a JSON document nested in a larger request.
    pub fn prefix_fields(self, prefix: &str) -> Self {
        match self {
            Self::Failures {
                mut failures,
                summary,
                status,
                extra,
            } => {
                for failure in &mut failures {
                    failure.field = Some(match failure.field.take() {
                        Some(field) => format!("{prefix}.{field}"),
                        None => prefix.to_owned(),
                    });
                }
                Self::Failures {
                    failures,
                    summary,
                    status,
                    extra,
                }
            }
            other => other,
        }
    }

    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// What a person is told: the one failure's message, or the summary
    /// and every failure's; never an internal error's cause.
    pub fn message(&self) -> String {
        match self {
            Self::Failures { failures, .. } if failures.len() == 1 => failures[0].message.clone(),
            Self::Failures {
                failures, summary, ..
            } => {
                let each: Vec<&str> = failures.iter().map(|f| f.message.as_str()).collect();
                format!("{summary} {}", each.join(" "))
            }
            Self::Internal(_) => {
                "An internal error stopped the request; nothing was changed.".to_owned()
            }
        }
    }

    /// The failures reported (none for an internal error).
    pub fn as_failures(&self) -> &[Failure] {
        match self {
            Self::Failures { failures, .. } => failures,
            Self::Internal(_) => &[],
        }
    }

    /// The code of the (first) failure, for metrics and the audit log.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Failures { failures, .. } if failures.len() == 1 => failures[0].code,
            Self::Failures { .. } => ErrorCode::ValidationFailed,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        Self::failures(vec![failure])
    }
}

pub fn status_of(kind: FailureKind) -> StatusCode {
    match kind {
        FailureKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        FailureKind::Forbidden => StatusCode::FORBIDDEN,
        FailureKind::Conflict => StatusCode::CONFLICT,
        FailureKind::Invalid => StatusCode::BAD_REQUEST,
        FailureKind::NotFound => StatusCode::NOT_FOUND,
        FailureKind::Gone => StatusCode::GONE,
        FailureKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        FailureKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        FailureKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        FailureKind::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        FailureKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        FailureKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        FailureKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Builds the envelope for a list of failures.
pub fn envelope(failures: &[Failure], summary: &str) -> Value {
    let mut body = Map::new();
    if let [only] = failures {
        body.insert("error".into(), only.code.as_str().into());
        body.insert("message".into(), only.message.clone().into());
        for (key, value) in &only.details {
            body.insert(key.clone(), value.clone());
        }
    } else {
        body.insert("error".into(), ErrorCode::ValidationFailed.as_str().into());
        body.insert("message".into(), summary.into());
    }
    body.insert(
        "errors".into(),
        serde_json::to_value(failures).unwrap_or(Value::Array(Vec::new())),
    );
    Value::Object(body)
}

/// Adds `extra` to an envelope; the envelope's own members win.
pub fn add_members(envelope: &mut Value, extra: Map<String, Value>) {
    if let Value::Object(body) = envelope {
        for (key, value) in extra {
            body.entry(key).or_insert(value);
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Failures {
                failures,
                summary,
                status,
                extra,
            } => {
                let status = status.unwrap_or_else(|| status_of(overall_kind(&failures)));
                let mut body = envelope(&failures, summary);
                add_members(&mut body, extra);
                let mut response = (status, Json(body)).into_response();
                let headers = response.headers_mut();
                if status == StatusCode::UNAUTHORIZED {
                    headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
                if let Some(secs) = failures
                    .iter()
                    .find_map(|f| f.details.get("retryAfterSeconds").and_then(Value::as_u64))
                {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
                response
            }
            ApiError::Internal(error) => {
                tracing::error!(error = ?error, "unexpected error");
                let failure = Failure::new(
                    ErrorCode::InternalError,
                    "An unexpected error occurred on the server. It has been logged; retry, and report the x-request-id header if it persists.",
                );
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Json(envelope(&[failure], DEFAULT_SUMMARY)),
                )
                    .into_response()
            }
        }
    }
}

/// What a client is told to wait before retrying when the database is busy.
const BUSY_RETRY_AFTER_SECS: u64 = 5;

impl From<installhub_store::StoreError> for ApiError {
    fn from(error: installhub_store::StoreError) -> Self {
        match error {
            // Not a fault: every connection stayed in use, or the database
            // stayed locked, for longer than a request waits. Nothing was
            // written, so the client may simply retry.
            installhub_store::StoreError::Busy(cause) => {
                tracing::warn!(error = %cause, "the database is busy; answering 503");
                Failure::new(
                    ErrorCode::ServiceUnavailable,
                    format!("The server is busy. Retry in {BUSY_RETRY_AFTER_SECS} seconds."),
                )
                .detail("retryAfterSeconds", BUSY_RETRY_AFTER_SECS)
                .into()
            }
            other => ApiError::Internal(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_failure_lifts_details_to_the_top() {
        let failure = Failure::new(ErrorCode::ArtifactNotExportable, "m")
            .field("artifactIds[0]")
            .detail("artifactId", "proc-1001");
        let body = envelope(&[failure], DEFAULT_SUMMARY);
        assert_eq!(body["error"], "ArtifactNotExportable");
        assert_eq!(body["artifactId"], "proc-1001");
        assert_eq!(body["errors"][0]["field"], "artifactIds[0]");
        assert!(body.get("field").is_none());
    }

    #[test]
    fn a_busy_database_is_503_with_retry_after() {
        let error = ApiError::from(installhub_store::StoreError::from(
            sqlx::Error::PoolTimedOut,
        ));
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response.headers().get(header::RETRY_AFTER).unwrap(),
            &BUSY_RETRY_AFTER_SECS.to_string()
        );
    }

    #[test]
    fn several_failures_are_validation_failed() {
        let body = envelope(
            &[
                Failure::new(ErrorCode::InvalidVersion, "a"),
                Failure::new(ErrorCode::ArtifactNotFound, "b"),
            ],
            "S",
        );
        assert_eq!(body["error"], "ValidationFailed");
        assert_eq!(body["message"], "S");
        assert_eq!(body["errors"].as_array().unwrap().len(), 2);
    }
}
