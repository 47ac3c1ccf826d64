//! What installers fetch without a token: bundles from the CDN, and the
//! keys that sign them.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use installhub_domain::{ErrorCode, Failure};

use super::cdn_key;
use crate::controllers::packages::download::{ServedBundle, serve_bundle};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::CdnPath;
use crate::state::AppState;

fn not_on_cdn(sha256: &str) -> ApiError {
    ApiError::not_found(Failure::new(
        ErrorCode::NotFound,
        format!("No bundle with SHA-256 {sha256} is on the CDN."),
    ))
}

/// A published bundle, by its SHA-256.
///
/// Public (no token), immutable and content-addressed: `Cache-Control:
/// public, max-age=31536000, immutable`, the strong `ETag` is the SHA-256,
/// `If-None-Match` (304), one `Range` (206) and `HEAD`. Verify it against
/// the version's `signature` before trusting it.
#[utoipa::path(
    get,
    path = "/cdn/bundles/sha256/{file}",
    tag = "marketplace",
    params(
        ("file" = String, Path, pattern = r"^[0-9a-f]{64}\.zip$", description = "The bundle's hex SHA-256 and `.zip`."),
        ("Range" = Option<String>, Header, nullable = false, description = "One byte range: `bytes=0-1023`, `bytes=1024-` or `bytes=-512`."),
        ("If-None-Match" = Option<String>, Header, nullable = false, description = "The ETag of a copy the client has."),
    ),
    responses(
        (status = 200, description = "The bundle ZIP.", content_type = "application/zip", body = Vec<u8>),
        (status = 206, description = "Part of the bundle.", content_type = "application/zip", body = Vec<u8>),
        (status = 304, description = "Not modified."),
        (status = 404, description = "No such bundle.", body = ErrorBody),
        (status = 416, description = "RangeNotSatisfiable.", body = ErrorBody),
    ),
)]
pub async fn bundle(
    State(state): State<AppState>,
    path: CdnPath,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let sha256 = path.file.sha256.as_str();
    let key = cdn_key(sha256);
    let info = state
        .bundles()
        .head(&key)
        .await?
        .ok_or_else(|| not_on_cdn(sha256))?;
    let served = ServedBundle {
        key: &key,
        size: info.size,
        sha256,
        filename: format!("{sha256}.zip"),
        cache_control: "public, max-age=31536000, immutable",
    };
    let response = serve_bundle(&state, &served, &headers).await?;
    metrics::counter!("installhub_cdn_downloads_total").increment(1);
    Ok(response)
}

/// The PublicHub's public keys (a JWKS: `kty: OKP`, `crv: Ed25519`).
///
/// Public. It holds the key that signs new versions and the keys of
/// earlier ones, so that versions signed before a rotation still verify.
#[utoipa::path(
    get,
    path = "/.well-known/installhub/publichub-keys.json",
    tag = "marketplace",
    responses(
        (status = 200, description = "The JWKS.", body = Object, example = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ed25519-3f2a9c1b7d4e8a06", "use": "sig", "alg": "EdDSA"}]})),
    ),
)]
pub async fn keys(State(state): State<AppState>) -> Response {
    let mut response = Json(state.publichub().keys.to_jwks()).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
