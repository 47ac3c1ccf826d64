//! Cross-cutting layers: every error response is our JSON envelope, request
//! metrics by route and status, one log line per request with its id, the
//! request-head limits and the slowest accepted upload.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use installhub_domain::{ErrorCode, Failure};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::HttpLimits;
use crate::error::ApiError;

/// The process-wide Prometheus recorder (the `metrics` facade is global).
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            const BUCKETS: &[f64] = &[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ];
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
                .expect("the bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed in this process")
        })
        .clone()
}

/// Counts and times every request by method, route template and status.
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Turns any error response that is not already JSON (axum's own 404, 405,
/// 413 and timeouts, a panic) into the SPEC §3 envelope; under `/console`,
/// into a console page instead.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    if crate::console::is_console_path(&path) {
        // The console answers HTML, its errors too, with its own headers.
        return crate::console::finish_response(response).await;
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            ErrorCode::NotFound,
            format!("There is no route {method} {path}."),
        ),
        StatusCode::METHOD_NOT_ALLOWED => (
            ErrorCode::MethodNotAllowed,
            format!("{path} does not accept {method}."),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            crate::extract::BODY_TOO_LARGE.to_owned(),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            ErrorCode::UnsupportedMediaType,
            "This content type is not accepted here.".to_owned(),
        ),
        StatusCode::REQUEST_TIMEOUT
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => (
            ErrorCode::ServiceUnavailable,
            "The request took too long to complete. Retry later.".to_owned(),
        ),
        s if s.is_server_error() => (
            ErrorCode::InternalError,
            "An unexpected error occurred on the server. It has been logged.".to_owned(),
        ),
        _ => (
            ErrorCode::InvalidRequestBody,
            format!("The request was refused ({status})."),
        ),
    };
    let mut rebuilt = ApiError::from(Failure::new(code, message)).into_response();
    *rebuilt.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(value) = response.headers().get(&name) {
            rebuilt.headers_mut().insert(name, value.clone());
        }
    }
    rebuilt
}

/// A panicking handler answers a generic 500 (the panic is logged).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = detail, "handler panicked");
    let mut response =
        ApiError::internal(anyhow::anyhow!("handler panicked: {detail}")).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The one log line per request.
pub fn log_response(response: &Response<Body>, latency: Duration, _: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        latency_ms = latency.as_secs_f64() * 1000.0,
        "request finished"
    );
}

pub fn request_span(request: &Request<Body>) -> tracing::Span {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id,
    )
}

/// An envelope answer with a status of its own (414, 431, 408) that also
/// closes the connection: what remains of the request is not worth reading.
pub fn edge_error(status: StatusCode, code: ErrorCode, message: String) -> Response {
    let mut response = ApiError::from(Failure::new(code, message)).into_response();
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Refuses a request whose target or headers are over our limits, with the
/// envelope (SECURITY.md 28). hyper's own limits are set above these, so
/// only heads far beyond them get hyper's answer (see `connection`).
pub async fn head_limits(
    State(limits): State<HttpLimits>,
    request: Request,
    next: Next,
) -> Response {
    let uri = request.uri();
    let uri_bytes = uri.path_and_query().map_or(0, |pq| pq.as_str().len())
        + uri.authority().map_or(0, |a| a.as_str().len())
        + uri.scheme_str().map_or(0, str::len);
    if uri_bytes > limits.max_uri_bytes {
        return edge_error(
            StatusCode::URI_TOO_LONG,
            ErrorCode::UriTooLong,
            format!(
                "The request URI is {uri_bytes} bytes long; at most {} are accepted.",
                limits.max_uri_bytes
            ),
        );
    }
    let count = request.headers().len();
    if count > limits.max_headers {
        return edge_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::RequestHeaderFieldsTooLarge,
            format!(
                "The request has {count} header lines; at most {} are accepted.",
                limits.max_headers
            ),
        );
    }
    // Each line is `name: value\r\n`.
    let bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if bytes > limits.max_header_bytes {
        return edge_error(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorCode::RequestHeaderFieldsTooLarge,
            format!(
                "The request headers take {bytes} bytes; at most {} are accepted.",
                limits.max_header_bytes
            ),
        );
    }
    next.run(request).await
}

/// Cuts an upload that arrives slower than `min_upload_bytes_per_sec`
/// averaged over each `upload_rate_window`, with 408 (SECURITY.md 27): a
/// trickling client must not hold a connection and a temporary file for the
/// whole upload timeout.
pub async fn min_upload_rate(
    State(limits): State<HttpLimits>,
    request: Request,
    next: Next,
) -> Response {
    if limits.min_upload_bytes_per_sec == 0 || limits.upload_rate_window.is_zero() {
        return next.run(request).await;
    }
    let too_slow = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let body = Body::new(RateGuard {
        inner: body,
        window: limits.upload_rate_window,
        min_per_window: limits.min_upload_bytes_per_sec.saturating_mul(
            limits
                .upload_rate_window
                .as_millis()
                .try_into()
                .unwrap_or(u64::MAX),
        ) / 1000,
        received: 0,
        deadline: Box::pin(tokio::time::sleep(limits.upload_rate_window)),
        too_slow: Arc::clone(&too_slow),
    });
    let response = next.run(Request::from_parts(parts, body)).await;
    if too_slow.load(Ordering::Acquire) {
        return edge_error(
            StatusCode::REQUEST_TIMEOUT,
            ErrorCode::RequestTimeout,
            format!(
                "The upload arrived slower than {} bytes per second over {} ms and was stopped; send it again over a faster link.",
                limits.min_upload_bytes_per_sec,
                limits.upload_rate_window.as_millis()
            ),
        );
    }
    response
}

/// A request body that fails once a window passes with fewer than
/// `min_per_window` bytes received.
struct RateGuard {
    inner: Body,
    window: Duration,
    min_per_window: u64,
    received: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
    too_slow: Arc<AtomicBool>,
}

impl http_body::Body for RateGuard {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => loop {
                if this.deadline.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
                if this.received < this.min_per_window {
                    this.too_slow.store(true, Ordering::Release);
                    return Poll::Ready(Some(Err(axum::Error::new(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the upload is too slow",
                    )))));
                }
                this.received = 0;
                let next = tokio::time::Instant::now() + this.window;
                this.deadline.as_mut().reset(next);
            },
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
