//! Receiving a package: the multipart form of seed 03 streamed to a
//! temporary file while it is hashed and counted, or a stored export copied
//! the same way. The server never holds a whole bundle in memory, and stops
//! reading an upload as soon as it passes the largest plan's size
//! (SECURITY.md 14).

use std::path::Path;

use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::StatusCode;
use bytes::Bytes;
use futures::{Stream, StreamExt};
use installhub_domain::ErrorCode;
use installhub_domain::import::ImportOptions;
use installhub_store::PackageRecord;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};
use crate::extract::{body_too_large, parse_json};
use crate::state::AppState;

/// Largest `options` part: far more than any real options object.
const MAX_OPTIONS_BYTES: usize = 64 * 1024;

/// A package on local disk, deleted when dropped.
#[derive(Debug)]
pub struct ReceivedBundle {
    pub file: NamedTempFile,
    pub size: u64,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The parts of a multipart import or scan request.
#[derive(Debug, Default)]
pub struct MultipartImport {
    pub package: Option<ReceivedBundle>,
    pub options: Option<ImportOptions>,
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!(
            "The package is larger than {limit} bytes, the most any plan accepts; the upload was stopped."
        ),
    )
}

fn multipart_error(error: MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        body_too_large()
    } else {
        ApiError::new(
            ErrorCode::InvalidRequestBody,
            format!(
                "The multipart body could not be read: {}.",
                error.body_text()
            ),
        )
    }
}

fn bad_part(message: String) -> ApiError {
    ApiError::new(ErrorCode::InvalidRequestBody, message)
}

/// Writes a stream of chunks to a new temporary file in `dir`, hashing and
/// counting as it goes; fails with 413 once more than `limit` bytes came.
pub async fn stream_to_file<S, E>(
    mut chunks: S,
    dir: &Path,
    limit: u64,
) -> ApiResult<ReceivedBundle>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    ApiError: From<E>,
{
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(ApiError::internal)?;
    let dir = dir.to_path_buf();
    let file = tokio::task::spawn_blocking(move || {
        tempfile::Builder::new()
            .prefix("upload-")
            .suffix(".zip")
            .tempfile_in(dir)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let mut out = tokio::fs::File::from_std(file.reopen().map_err(ApiError::internal)?);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > limit {
            return Err(too_large(limit));
        }
        hasher.update(&chunk);
        out.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    out.flush().await.map_err(ApiError::internal)?;
    Ok(ReceivedBundle {
        file,
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

impl From<MultipartError> for ApiError {
    fn from(error: MultipartError) -> Self {
        multipart_error(error)
    }
}

/// A multipart field as a stream of chunks.
fn field_chunks(field: Field<'_>) -> impl Stream<Item = Result<Bytes, MultipartError>> + Unpin {
    Box::pin(futures::stream::unfold(field, |mut field| async move {
        match field.chunk().await {
            Ok(Some(chunk)) => Some((Ok(chunk), field)),
            Ok(None) => None,
            Err(e) => Some((Err(e), field)),
        }
    }))
}

async fn read_small(mut field: Field<'_>, limit: usize, name: &str) -> ApiResult<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if out.len() + chunk.len() > limit {
            return Err(ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!("The '{name}' part is larger than {limit} bytes."),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// Reads the multipart form: a `package` part (the ZIP, streamed to disk)
/// and, when `accept_options`, an `options` part (JSON). Any other part, or
/// a part sent twice, is refused: a typo must not silently drop the options.
pub async fn read_multipart(
    state: &AppState,
    request: Request,
    accept_options: bool,
) -> ApiResult<MultipartImport> {
    let mut multipart = Multipart::from_request(request, state).await.map_err(|e| {
        bad_part(format!(
            "The request is not a valid multipart/form-data body: {}.",
            e.body_text()
        ))
    })?;
    let limit = state.config().limits.max_upload_bytes();
    let tmp = state.config().tmp_dir();
    let mut form = MultipartImport::default();
    while let Some(field) = multipart.next_field().await? {
        let name = field.name().unwrap_or_default().to_owned();
        let is_package = name == "package";
        if !(is_package || (accept_options && name == "options")) {
            let expected = if accept_options {
                "'package' (the ZIP) and 'options' (JSON)"
            } else {
                "'package' (the ZIP)"
            };
            return Err(bad_part(format!(
                "Unexpected multipart part '{}'; send {expected}.",
                installhub_domain::ids::printable(&name)
            )));
        }
        if (is_package && form.package.is_some()) || (!is_package && form.options.is_some()) {
            return Err(bad_part(format!(
                "The '{name}' part is sent more than once."
            )));
        }
        if is_package {
            form.package = Some(stream_to_file(field_chunks(field), &tmp, limit).await?);
        } else {
            let bytes = read_small(field, MAX_OPTIONS_BYTES, "options").await?;
            form.options = Some(parse_json(&bytes).map_err(|e| e.prefix_fields("options"))?);
        }
    }
    Ok(form)
}

/// Copies a stored package's bundle to a temporary file, hashing it on the
/// way; bytes that differ from what the export stored are refused as our
/// fault (a damaged store), never imported.
pub async fn copy_stored(state: &AppState, package: &PackageRecord) -> ApiResult<ReceivedBundle> {
    let stream = state.bundles().get(&package.bundle_key, None).await?;
    let bundle = stream_to_file(
        stream,
        &state.config().tmp_dir(),
        state.config().limits.max_upload_bytes(),
    )
    .await?;
    if bundle.sha256 != package.bundle_sha256 {
        return Err(ApiError::internal(anyhow::anyhow!(
            "stored bundle {} hashes to {}, the export recorded {}",
            package.bundle_key,
            bundle.sha256,
            package.bundle_sha256
        )));
    }
    Ok(bundle)
}
