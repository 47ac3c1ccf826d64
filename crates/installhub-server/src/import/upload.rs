//! Receiving a package: the multipart form of seed 03 streamed to a
//! temporary file while it is hashed and counted, or a stored export copied
//! the same way. The server never holds a whole bundle in memory, and stops
//! reading an upload as soon as it passes the largest plan's size
//! (SECURITY.md 14), nor a part's header block past a few KiB.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::multipart::{Field, MultipartError};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use installhub_domain::import::ImportOptions;
use installhub_domain::{ErrorCode, Failure};
use installhub_store::PackageRecord;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

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
    let mut spool = Spool::new(dir, "upload-");
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        if spool.size() + chunk.len() as u64 > limit {
            return Err(too_large(limit));
        }
        spool.write(&chunk).await.map_err(ApiError::internal)?;
    }
    spool.finish().await.map_err(ApiError::internal)
}

/// A bundle on its way into a temporary file, hashed and counted as it
/// comes, written in pieces of [`Spool::PIECE`] bytes on the blocking pool.
/// A piece is written while the next one fills (two buffers of at most
/// `PIECE` bytes, reused: a buffer left to grow as chunks came doubled to
/// twice that, and the two were an import's largest allocation), and
/// a small bundle costs one trip to the blocking pool, the file made and
/// written at once, instead of one per chunk.
pub struct Spool {
    dir: std::path::PathBuf,
    prefix: &'static str,
    /// The file, unless a write of it is under way.
    file: Option<NamedTempFile>,
    writing: Option<tokio::task::JoinHandle<std::io::Result<Written>>>,
    pending: Vec<u8>,
    hasher: Sha256,
    size: u64,
}

/// A piece's write: the file, and the piece's buffer to fill again.
type Written = (NamedTempFile, Vec<u8>);

impl Spool {
    /// Large enough that a write's trip to the blocking pool costs nothing
    /// beside writing it (a 346 MB upload: 330 pieces).
    pub const PIECE: usize = 1024 * 1024;

    /// A spool whose file will be made in `dir`, named `prefix…zip`.
    pub fn new(dir: &Path, prefix: &'static str) -> Self {
        Self {
            dir: dir.to_path_buf(),
            prefix,
            file: None,
            writing: None,
            pending: Vec::new(),
            hasher: Sha256::new(),
            size: 0,
        }
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub async fn write(&mut self, chunk: &[u8]) -> std::io::Result<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        let mut rest = chunk;
        while !rest.is_empty() {
            let room = Self::PIECE - self.pending.len();
            let (now, later) = rest.split_at(room.min(rest.len()));
            let needed = self.pending.len() + now.len();
            if needed > self.pending.capacity() {
                // Doubling as a `Vec` grows, but never past a piece: a
                // small bundle keeps a small buffer.
                let grown = (2 * self.pending.capacity()).clamp(needed, Self::PIECE);
                self.pending.reserve_exact(grown - self.pending.len());
            }
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() == Self::PIECE {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Waits for the write under way, if any, then starts writing what is
    /// pending, making the file first if there is none yet.
    async fn flush(&mut self) -> std::io::Result<()> {
        let mut spare = Vec::new();
        if let Some(writing) = self.writing.take() {
            let (file, buffer) = writing.await.map_err(std::io::Error::other)??;
            self.file = Some(file);
            spare = buffer;
        }
        let (dir, prefix, file) = (self.dir.clone(), self.prefix, self.file.take());
        spare.clear();
        let piece = std::mem::replace(&mut self.pending, spare);
        self.writing = Some(tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut file = match file {
                Some(file) => file,
                None => {
                    std::fs::create_dir_all(&dir)?;
                    tempfile::Builder::new()
                        .prefix(prefix)
                        .suffix(".zip")
                        .tempfile_in(&dir)?
                }
            };
            file.write_all(&piece)?;
            Ok((file, piece))
        }));
        Ok(())
    }

    /// The whole bundle, written, with its size and SHA-256.
    pub async fn finish(mut self) -> std::io::Result<ReceivedBundle> {
        self.flush().await?;
        let writing = self.writing.take().expect("flush starts a write");
        let (file, _) = writing.await.map_err(std::io::Error::other)??;
        Ok(ReceivedBundle {
            file,
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        })
    }
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

/// A multipart body read under the framing limits of the import's form
/// (each part's header block, the number of parts), for any form that
/// carries a package: the import and scan routes, and the console's upload.
pub struct GuardedMultipart {
    pub multipart: Multipart,
    pub guard: PartGuard,
}

/// What reads the parts of a [`GuardedMultipart`]: it knows why the guard
/// stopped the body, if it did.
#[derive(Clone)]
pub struct PartGuard {
    violation: Arc<OnceLock<Failure>>,
}

impl GuardedMultipart {
    pub async fn new(state: &AppState, request: Request) -> ApiResult<Self> {
        let http = state.config().limits.http;
        let violation = Arc::new(OnceLock::new());
        let request = guard_parts(
            request,
            PartLimits {
                max_header_bytes: http.max_part_header_bytes,
                max_parts: http.max_parts,
            },
            &violation,
        );
        let multipart = Multipart::from_request(request, state).await.map_err(|e| {
            bad_part(format!(
                "The request is not a valid multipart/form-data body: {}.",
                e.body_text()
            ))
        })?;
        Ok(Self {
            multipart,
            guard: PartGuard { violation },
        })
    }
}

impl PartGuard {
    /// The error of a failed read: the framing's own refusal when it was
    /// the guard that stopped the body.
    fn error(&self, e: MultipartError) -> ApiError {
        match self.violation.get() {
            Some(failure) => ApiError::from(Failure::clone(failure)),
            None => multipart_error(e),
        }
    }

    /// The next part of `multipart`, if any.
    pub async fn next<'a>(&self, multipart: &'a mut Multipart) -> ApiResult<Option<Field<'a>>> {
        multipart.next_field().await.map_err(|e| self.error(e))
    }

    /// A small text part, up to `limit` bytes.
    pub async fn text(&self, field: Field<'_>, limit: usize, name: &str) -> ApiResult<String> {
        let bytes =
            read_small(field, limit, name)
                .await
                .map_err(|e| match self.violation.get() {
                    Some(failure) => ApiError::from(Failure::clone(failure)),
                    None => e,
                })?;
        String::from_utf8(bytes)
            .map_err(|_| bad_part(format!("The '{name}' part is not UTF-8 text.")))
    }

    /// A package part, streamed to a file in `dir` as the import's is,
    /// up to the largest plan's package size.
    pub async fn package(
        &self,
        state: &AppState,
        field: Field<'_>,
        dir: &Path,
    ) -> ApiResult<ReceivedBundle> {
        let limit = state.config().limits.max_upload_bytes();
        let guard = self.clone();
        let chunks = field_chunks(field).map(move |chunk| chunk.map_err(|e| guard.error(e)));
        stream_to_file(chunks, dir, limit).await
    }
}

/// Reads the multipart form: a `package` part (the ZIP, streamed to disk)
/// and, when `accept_options`, an `options` part (JSON). Any other part, or
/// a part sent twice, is refused: a typo must not silently drop the options.
pub async fn read_multipart(
    state: &AppState,
    request: Request,
    accept_options: bool,
) -> ApiResult<MultipartImport> {
    let mut multipart = GuardedMultipart::new(state, request).await?;
    let violation = Arc::clone(&multipart.guard.violation);
    let failed = |e: MultipartError| match violation.get() {
        Some(failure) => ApiError::from(Failure::clone(failure)),
        None => multipart_error(e),
    };
    let multipart = &mut multipart.multipart;
    let limit = state.config().limits.max_upload_bytes();
    let tmp = state.config().tmp_dir();
    let mut form = MultipartImport::default();
    while let Some(field) = multipart.next_field().await.map_err(failed)? {
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
            let chunks = field_chunks(field).map(|chunk| chunk.map_err(failed));
            form.package = Some(stream_to_file(chunks, &tmp, limit).await?);
        } else {
            let bytes = read_small(field, MAX_OPTIONS_BYTES, "options")
                .await
                .map_err(|e| match violation.get() {
                    Some(failure) => ApiError::from(Failure::clone(failure)),
                    None => e,
                })?;
            form.options = Some(parse_json(&bytes).map_err(|e| e.prefix_fields("options"))?);
        }
    }
    Ok(form)
}

/// Bounds on the multipart framing itself, checked as the body streams by.
#[derive(Debug, Clone, Copy)]
struct PartLimits {
    max_header_bytes: usize,
    max_parts: usize,
}

/// Puts a [`PartScanner`] on the body of a multipart request. The parser
/// (multer, under axum's `Multipart`) buffers a part's header block, and
/// anything before the first boundary, until it ends, with no bound of its
/// own: one endless header would be held whole in memory. The scanner fails
/// the body as soon as such a block passes the limit, so the parser stops
/// and at most the limit and one chunk are ever buffered. A body with no
/// boundary is left to the parser to refuse.
fn guard_parts(
    request: Request,
    limits: PartLimits,
    violation: &Arc<OnceLock<Failure>>,
) -> Request {
    let boundary = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| multer::parse_boundary(v).ok());
    let Some(boundary) = boundary else {
        return request;
    };
    let (parts, body) = request.into_parts();
    let mut scanner = PartScanner::new(&boundary, limits);
    let violation = Arc::clone(violation);
    let mut failed = false;
    let guarded = body.into_data_stream().map(move |chunk| {
        let chunk = chunk?;
        if failed {
            return Err(axum::Error::new(PartViolation));
        }
        if let Err(failure) = scanner.feed(&chunk) {
            failed = true;
            let _ = violation.set(failure);
            return Err(axum::Error::new(PartViolation));
        }
        Ok(chunk)
    });
    Request::from_parts(parts, Body::from_stream(guarded))
}

#[derive(Debug, thiserror::Error)]
#[error("the multipart framing is over its limits")]
struct PartViolation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before the first boundary.
    Preamble,
    /// Just past a boundary: `--` ends the body, anything else starts a part.
    AfterDelimiter,
    /// The rest of the boundary's line, up to its line break.
    BoundaryLine,
    /// In a part's header block, which ends at the first blank line after
    /// the boundary's line break, searched for exactly as multer does, so
    /// that no block this scanner takes as ended is still being buffered
    /// by the parser.
    Headers,
    /// In a part's content.
    Content,
    /// Past the closing boundary.
    Done,
}

/// Follows the multipart framing of a body chunk by chunk, in linear time,
/// to measure each header block and count the parts. Hand-written because
/// the parser exposes neither; it only looks for boundaries and blank
/// lines, leaving the parsing to multer.
#[derive(Debug)]
struct PartScanner {
    /// `\r\n--boundary`: every boundary but the first is preceded by a line
    /// break; the first is found by starting with one.
    delimiter: Vec<u8>,
    limits: PartLimits,
    stage: Stage,
    /// The end of the previous chunk, where a delimiter or a blank line may
    /// begin.
    carry: Vec<u8>,
    /// Position in the body (plus the two bytes of the starting line break)
    /// of `carry[0]`.
    offset: u64,
    /// Where the current header block, or the preamble, began.
    block_start: u64,
    parts: usize,
}

impl PartScanner {
    fn new(boundary: &str, limits: PartLimits) -> Self {
        Self {
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            limits,
            stage: Stage::Preamble,
            carry: b"\r\n".to_vec(),
            offset: 0,
            block_start: 0,
            parts: 0,
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), Failure> {
        let mut window = std::mem::take(&mut self.carry);
        window.extend_from_slice(chunk);
        let base = self.offset;
        let end = base + window.len() as u64;
        let mut pos = 0usize;
        loop {
            match self.stage {
                Stage::Done => {
                    pos = window.len();
                    break;
                }
                Stage::Preamble | Stage::Content => {
                    if let Some(i) = memchr::memmem::find(&window[pos..], &self.delimiter) {
                        pos += i + self.delimiter.len();
                        self.stage = Stage::AfterDelimiter;
                        continue;
                    }
                    if self.stage == Stage::Preamble {
                        self.check_block(end)?;
                    }
                    pos = pos.max(window.len().saturating_sub(self.delimiter.len() - 1));
                    break;
                }
                Stage::AfterDelimiter => {
                    let Some(next) = window.get(pos..pos + 2) else {
                        break;
                    };
                    if next == b"--" {
                        self.stage = Stage::Done;
                        continue;
                    }
                    self.parts += 1;
                    if self.parts > self.limits.max_parts {
                        return Err(Failure::new(
                            ErrorCode::InvalidRequestBody,
                            format!(
                                "The multipart body has more than {} parts; send 'package' and, for an import, 'options'.",
                                self.limits.max_parts
                            ),
                        ));
                    }
                    self.stage = Stage::BoundaryLine;
                    self.block_start = base + pos as u64;
                }
                Stage::BoundaryLine => {
                    if let Some(i) = memchr::memmem::find(&window[pos..], b"\r\n") {
                        pos += i + 2;
                        self.stage = Stage::Headers;
                        continue;
                    }
                    self.check_block(end)?;
                    pos = pos.max(window.len().saturating_sub(1));
                    break;
                }
                Stage::Headers => {
                    if let Some(i) = memchr::memmem::find(&window[pos..], b"\r\n\r\n") {
                        pos += i + 4;
                        self.check_block(base + pos as u64)?;
                        self.stage = Stage::Content;
                        continue;
                    }
                    self.check_block(end)?;
                    pos = pos.max(window.len().saturating_sub(3));
                    break;
                }
            }
        }
        self.carry = window.split_off(pos);
        self.offset = base + pos as u64;
        Ok(())
    }

    /// Fails when the block that began at `block_start` reaches past `upto`
    /// by more than the limit.
    fn check_block(&self, upto: u64) -> Result<(), Failure> {
        let length = upto.saturating_sub(self.block_start);
        if length > self.limits.max_header_bytes as u64 {
            let limit = self.limits.max_header_bytes;
            let message = if self.stage == Stage::Preamble {
                format!("The multipart body has more than {limit} bytes before its first boundary.")
            } else {
                format!("A multipart part's header block is longer than {limit} bytes.")
            };
            return Err(Failure::new(ErrorCode::PayloadTooLarge, message));
        }
        Ok(())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A bundle reaches its file whole, hashed and counted, in one piece or
    /// several, and an empty one makes an empty file.
    #[tokio::test]
    async fn a_spooled_bundle_is_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        for size in [0, 1, Spool::PIECE - 1, Spool::PIECE, 2 * Spool::PIECE + 7] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let mut spool = Spool::new(&dir.path().join("tmp"), "test-");
            for chunk in bytes.chunks(100_003) {
                spool.write(chunk).await.unwrap();
                // The buffer filling never grows past a piece, nor much past
                // what a small bundle needs.
                let most = Spool::PIECE.min(2 * spool.size() as usize);
                assert!(spool.pending.capacity() <= most, "{size} bytes");
            }
            let bundle = spool.finish().await.unwrap();
            assert_eq!(
                std::fs::read(bundle.file.path()).unwrap(),
                bytes,
                "{size} bytes"
            );
            assert_eq!(bundle.size, size as u64);
            assert_eq!(bundle.sha256, hex::encode(Sha256::digest(&bytes)));
        }
    }

    const LIMITS: PartLimits = PartLimits {
        max_header_bytes: 64,
        max_parts: 2,
    };

    fn scan(chunks: &[&[u8]]) -> Result<PartScanner, Failure> {
        let mut scanner = PartScanner::new("XB", LIMITS);
        for chunk in chunks {
            scanner.feed(chunk)?;
        }
        Ok(scanner)
    }

    #[test]
    fn a_well_formed_body_passes_in_any_chunking() {
        let body: &[u8] = b"--XB\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n--XB\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--XB--\r\n";
        for size in 1..body.len() {
            let chunks: Vec<&[u8]> = body.chunks(size).collect();
            let scanner = scan(&chunks).unwrap_or_else(|f| panic!("size {size}: {f:?}"));
            assert_eq!(scanner.parts, 2, "size {size}");
            assert_eq!(scanner.stage, Stage::Done, "size {size}");
        }
    }

    #[test]
    fn an_endless_header_block_is_refused() {
        let mut scanner = PartScanner::new("XB", LIMITS);
        scanner.feed(b"--XB\r\nX-Pad: ").unwrap();
        let failure = (0..100)
            .find_map(|_| scanner.feed(b"aaaaaaaaaa").err())
            .expect("refused");
        assert_eq!(failure.code, ErrorCode::PayloadTooLarge);
        // A long content is not a long header.
        let mut scanner = PartScanner::new("XB", LIMITS);
        scanner.feed(b"--XB\r\n\r\n").unwrap();
        for _ in 0..100 {
            scanner.feed(b"aaaaaaaaaa\r\n\r\n").unwrap();
        }
    }

    /// The boundary's own line break followed by a blank line is no end of
    /// a header block: the parser searches for one only after that line
    /// break, and would buffer everything after it.
    #[test]
    fn a_blank_line_right_after_the_boundary_does_not_end_the_header_block() {
        let mut scanner = PartScanner::new("XB", LIMITS);
        scanner.feed(b"--XB\r\n\r\n").unwrap();
        let failure = (0..100)
            .find_map(|_| scanner.feed(b"aaaaaaaaaa").err())
            .expect("refused");
        assert_eq!(failure.code, ErrorCode::PayloadTooLarge);
    }

    #[test]
    fn too_many_parts_and_a_long_preamble_are_refused() {
        assert!(
            scan(&[b"--XB\r\nA: b\r\n\r\nx\r\n--XB\r\nA: b\r\n\r\nx\r\n--XB\r\nA: b\r\n\r\n"])
                .is_err()
        );
        assert!(scan(&[&[b'p'; 100]]).is_err());
    }
}
