//! `GET /api/installhub/packages/{packageId}/download`: the ZIP, streamed
//! from the bundle store, with `Content-Disposition`, a strong `ETag` (the
//! SHA-256 of the ZIP), `If-None-Match` and single-range `Range` requests.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use installhub_domain::{Caller, ErrorCode, Failure};
use installhub_store::PackageRecord;

use super::readable_package;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::PackagePath;
use crate::state::AppState;

/// Download the ZIP bundle for a package.
///
/// Supports `If-None-Match` (304), `Range` with one byte range (206; a
/// request for several ranges is answered with the whole file, as RFC 9110
/// allows) and `If-Range`.
#[utoipa::path(
    get,
    path = "/api/installhub/packages/{packageId}/download",
    tag = "packages",
    params(
        ("packageId" = String, Path, pattern = r"^pkg-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", description = "`pkg-` + UUID."),
        ("Range" = Option<String>, Header, nullable = false, description = "One byte range: `bytes=0-1023`, `bytes=1024-` or `bytes=-512`. A range in another unit is ignored; a malformed or unsatisfiable byte range is answered 416."),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "An ETag from an earlier download."),
    ),
    responses(
        (status = 200, description = "The ZIP.", content_type = "application/zip", body = Vec<u8>),
        (status = 206, description = "Part of the ZIP.", content_type = "application/zip", body = Vec<u8>),
        (status = 304, description = "Not modified."),
        (status = 401, description = "No valid token.", body = ErrorBody),
        (status = 403, description = "Missing `installhub:export`.", body = ErrorBody),
        (status = 404, description = "No such package in the caller's tenants.", body = ErrorBody),
        (status = 416, description = "RangeNotSatisfiable: the range is malformed or outside the file.", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    path: PackagePath,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let package = readable_package(&state, &caller, &path.package_id).await?;
    download_package(&state, &package, &headers).await
}

/// Answers a readable package's ZIP (the API's download and the console's
/// share it, so both give the same bytes and headers).
pub async fn download_package(
    state: &AppState,
    package: &PackageRecord,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let bundle = ServedBundle {
        key: &package.bundle_key,
        size: package.bundle_size,
        sha256: &package.bundle_sha256,
        filename: format!("{}-{}.zip", slug(&package.package_name), package.version),
        // Bundles are immutable, but access is per caller: private caching only.
        cache_control: "private, max-age=31536000, immutable",
    };
    let response = serve_bundle(state, &bundle, headers).await?;
    metrics::counter!("installhub_downloads_total").increment(1);
    Ok(response)
}

/// A stored bundle to answer with.
pub struct ServedBundle<'a> {
    /// Its key in the bundle store.
    pub key: &'a str,
    pub size: u64,
    /// Lower-case hex SHA-256 of its bytes: the strong `ETag`.
    pub sha256: &'a str,
    /// The name a browser saves it under.
    pub filename: String,
    pub cache_control: &'static str,
}

/// Answers a bundle from the store with its `ETag`, `If-None-Match` (304),
/// one `Range` (206, or 416) and `If-Range`: the package download and the
/// marketplace's CDN share it. (`HEAD` is answered by axum from `GET`,
/// without the body.)
pub async fn serve_bundle(
    state: &AppState,
    bundle: &ServedBundle<'_>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let size = bundle.size;
    let etag = format!("\"{}\"", bundle.sha256);
    let filename = &bundle.filename;

    let mut response_headers = HeaderMap::new();
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    response_headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
            .map_err(ApiError::internal)?,
    );
    response_headers.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).map_err(ApiError::internal)?,
    );
    response_headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    response_headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(bundle.cache_control),
    );

    if etag_matches(headers.get(header::IF_NONE_MATCH), &etag) {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }

    let range = requested_range(headers, &etag, size)?;
    let (status, range) = match range {
        Some(r) => {
            response_headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {}-{}/{size}", r.start, r.end - 1))
                    .map_err(ApiError::internal)?,
            );
            (StatusCode::PARTIAL_CONTENT, Some(r))
        }
        None => (StatusCode::OK, None),
    };
    let length = range.as_ref().map_or(size, |r| r.end - r.start);
    response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    let stream = state.bundles().get(bundle.key, range).await?;
    Ok((status, response_headers, Body::from_stream(stream)).into_response())
}

/// The single byte range to serve, if any. `None` serves the whole file.
fn requested_range(
    headers: &HeaderMap,
    etag: &str,
    size: u64,
) -> ApiResult<Option<std::ops::Range<u64>>> {
    let Some(value) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    // If-Range with another validator: the client's copy is stale, send all.
    if let Some(if_range) = headers.get(header::IF_RANGE)
        && if_range.as_bytes() != etag.as_bytes()
    {
        return Ok(None);
    }
    let unsatisfiable = || {
        ApiError::from(
            Failure::new(
                ErrorCode::RangeNotSatisfiable,
                format!("The requested range is not within the bundle's {size} bytes."),
            )
            .detail("sizeBytes", size),
        )
    };
    let text = value.to_str().map_err(|_| unsatisfiable())?;
    // RFC 9110 §14.2: a range unit the server does not know is ignored.
    let unit = text.split_once('=').map_or(text, |(unit, _)| unit).trim();
    if !unit.eq_ignore_ascii_case("bytes") {
        return Ok(None);
    }
    // Several ranges are answered with the whole file, as RFC 9110 allows,
    // whether or not they overlap or fit.
    if text
        .split_once('=')
        .is_some_and(|(_, ranges)| ranges.contains(','))
    {
        return Ok(None);
    }
    let ranges = http_range_header::parse_range_header(text)
        .and_then(|parsed| parsed.validate(size))
        .map_err(|_| unsatisfiable())?;
    match ranges.as_slice() {
        [one] => Ok(Some(*one.start()..*one.end() + 1)),
        _ => Ok(None),
    }
}

fn etag_matches(header: Option<&HeaderValue>, etag: &str) -> bool {
    header.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.trim() == "*"
            || v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag)
    })
}

/// A file-name-safe form of a package name: lower-case ASCII letters and
/// digits joined by single hyphens ("Employee Onboarding Suite" becomes
/// "employee-onboarding-suite"); names with no ASCII letter or digit fall
/// back to "package".
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() {
        "package".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(
            slug("Employee Onboarding Suite"),
            "employee-onboarding-suite"
        );
        assert_eq!(slug("HR - Core  2"), "hr-core-2");
        assert_eq!(slug("Intégration"), "int-gration");
        assert_eq!(slug("ééé"), "package");
    }

    #[test]
    fn ranges() {
        let etag = "\"abc\"";
        let mut h = HeaderMap::new();
        assert_eq!(requested_range(&h, etag, 100).unwrap(), None);
        h.insert(header::RANGE, HeaderValue::from_static("bytes=10-19"));
        assert_eq!(requested_range(&h, etag, 100).unwrap(), Some(10..20));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=-10"));
        assert_eq!(requested_range(&h, etag, 100).unwrap(), Some(90..100));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=95-"));
        assert_eq!(requested_range(&h, etag, 100).unwrap(), Some(95..100));
        h.insert(header::RANGE, HeaderValue::from_static("bytes=0-1,5-6"));
        assert_eq!(requested_range(&h, etag, 100).unwrap(), None);
        // Overlapping or outside: several ranges still get the whole file.
        h.insert(header::RANGE, HeaderValue::from_static("bytes=50-,60-70"));
        assert_eq!(requested_range(&h, etag, 100).unwrap(), None);
        h.insert(header::RANGE, HeaderValue::from_static("bytes=0-1,200-300"));
        assert_eq!(requested_range(&h, etag, 100).unwrap(), None);
        h.insert(header::RANGE, HeaderValue::from_static("bytes=200-300"));
        assert!(requested_range(&h, etag, 100).is_err());
        h.insert(header::RANGE, HeaderValue::from_static("bytes=10-19"));
        h.insert(header::IF_RANGE, HeaderValue::from_static("\"other\""));
        assert_eq!(requested_range(&h, etag, 100).unwrap(), None);
    }

    #[test]
    fn etags() {
        let v = HeaderValue::from_static("\"x\", \"abc\"");
        assert!(etag_matches(Some(&v), "\"abc\""));
        assert!(!etag_matches(
            Some(&HeaderValue::from_static("\"x\"")),
            "\"abc\""
        ));
        assert!(etag_matches(
            Some(&HeaderValue::from_static("*")),
            "\"abc\""
        ));
        assert!(!etag_matches(None, "\"abc\""));
    }
}
