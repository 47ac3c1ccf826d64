//! Reading a bundle from untrusted bytes and verifying all of it before
//! anything is installed: the front door of the import pipeline.
//!
//! The order is cheapest-first and nothing is inflated before the whole
//! structure has passed: raw layout and names ([`crate::raw`],
//! [`crate::names`]), then each entry's kind, method and declared sizes
//! against [`ReadLimits`], then the manifest, then every artifact file on a
//! checked byte budget, hashed and compared with its manifest line.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Seek};

use installhub_domain::manifest::{FORMAT_VERSION, artifact_path, sha256_hex};
use installhub_domain::{ArtifactId, Manifest, ManifestArtifact};
use zip::read::{ArchiveOffset, Config};
use zip::{CompressionMethod, ZipArchive, ZipReadOptions};

use crate::artifact_file::ArtifactFile;
use crate::error::{BundleError, Mismatch};
use crate::limits::ReadLimits;
use crate::names::{EntryKind, classify_all, shown};
use crate::par;
use crate::raw::{RawEntry, read_layout};

/// Unix file-type bits of an entry's mode.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
/// The two compression methods a bundle may use.
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATE: u16 = 8;
/// Inflated bytes verified together in parallel before the next batch.
const VERIFY_BATCH_BYTES: u64 = 32 * 1024 * 1024;
/// A batch of fewer bytes is verified on the calling thread.
const PARALLEL_BATCH_BYTES: u64 = 256 * 1024;
/// Never reserve more than this up front, whatever an entry declares.
const MAX_PREALLOCATION: u64 = 1 << 20;

/// A bundle that passed every check: its manifest and its artifact files in
/// manifest order.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedBundle {
    pub manifest: Manifest,
    pub artifacts: Vec<ArtifactFile>,
}

/// One entry after the metadata checks: where it is, what it is, how big it
/// says it is.
struct Entry {
    index: usize,
    name: String,
    kind: EntryKind,
    size: u64,
    compressed_size: u64,
    method: u16,
    crc32: u32,
}

/// Reads and fully verifies a bundle: structure, names, kinds, limits, the
/// manifest, each artifact file's SHA-256 against its manifest line, and the
/// manifest's checksum against the one its lines imply.
pub fn read_bundle<R: Read + Seek>(
    input: R,
    limits: &ReadLimits,
) -> Result<VerifiedBundle, BundleError> {
    let mut parsed: Vec<(usize, ArtifactFile)> = Vec::new();
    let manifest = read(
        input,
        limits,
        VERIFY_BATCH_BYTES,
        parse_checked,
        |_| Ok(()),
        |line, artifact, _| {
            parsed.push((line, artifact));
            Ok(())
        },
    )?;
    // In manifest order; files and lines pair one to one (`match_files`).
    parsed.sort_unstable_by_key(|(line, _)| *line);
    Ok(VerifiedBundle {
        manifest,
        artifacts: parsed.into_iter().map(|(_, artifact)| artifact).collect(),
    })
}

/// Inflated bytes verified together when the caller streams artifacts. A
/// batch and its parsed artifacts (about twice its bytes) were the largest
/// part of an import's peak heap at 8 MiB (heaptrack: 24 of 50 MiB); 2 MiB
/// still gives each core several typical artifacts to parse.
const STREAM_BATCH_BYTES: u64 = 2 * 1024 * 1024;

/// An artifact file a streaming read verified, as it hands it on.
#[derive(Debug)]
pub struct CheckedFile {
    pub artifact: ArtifactFile,
    /// `artifact.definition` as compact JSON text, exactly
    /// `artifact.definition.to_string()`, cut from the file's canonical
    /// bytes ([`ArtifactFile::compact_definition`]): the form a store keeps.
    pub definition_text: String,
    /// The file's size in bytes, for callers that batch by size.
    pub size: usize,
}

/// The same checks as [`read_bundle`], handing each verified artifact file
/// and its size in bytes to `visit` (in archive order) instead of keeping
/// them all: memory stays bounded by a small batch whatever the bundle's
/// size. Nothing is handed
/// over before the archive's structure, names, limits and manifest passed;
/// an artifact failing its hash stops the read with that error, so a caller
/// writing as it goes must be ready to undo (the importer writes inside a
/// transaction). `visit` may stop the read by returning an error.
pub fn read_bundle_each<R, F>(
    input: R,
    limits: &ReadLimits,
    mut visit: F,
) -> Result<Manifest, BundleError>
where
    R: Read + Seek,
    F: FnMut(ArtifactFile, usize) -> Result<(), BundleError>,
{
    read(
        input,
        limits,
        STREAM_BATCH_BYTES,
        parse_checked,
        |_| Ok(()),
        |_, artifact, size| visit(artifact, size),
    )
}

/// [`read_bundle_each`], first handing `on_manifest` the manifest: once the
/// archive's structure, names, limits and manifest passed and every file
/// was paired with its line, before any artifact file is inflated. The
/// importer plans its install there, so that it can write the artifacts
/// as they are verified. `on_manifest` may stop the read by returning an
/// error. The manifest is not the package's word yet: each file is still
/// to be hashed against its line, and only a read that returns `Ok` proved
/// them all. Each file comes as a [`CheckedFile`], with its definition's
/// compact text for an importer to store.
pub fn read_bundle_each_after<R, M, F>(
    input: R,
    limits: &ReadLimits,
    on_manifest: M,
    mut visit: F,
) -> Result<Manifest, BundleError>
where
    R: Read + Seek,
    M: FnOnce(&Manifest) -> Result<(), BundleError>,
    F: FnMut(CheckedFile) -> Result<(), BundleError>,
{
    read(
        input,
        limits,
        STREAM_BATCH_BYTES,
        parse_with_text,
        on_manifest,
        |_, file, _| visit(file),
    )
}

/// Turns a file's bytes, whose hash matched its manifest line, into what a
/// read hands on.
type ParseFile<T> = fn(&str, &ManifestArtifact, &[u8]) -> Result<T, BundleError>;

fn read<R, T, M, F>(
    input: R,
    limits: &ReadLimits,
    batch_bytes: u64,
    parse: ParseFile<T>,
    on_manifest: M,
    visit: F,
) -> Result<Manifest, BundleError>
where
    R: Read + Seek,
    T: Send,
    M: FnOnce(&Manifest) -> Result<(), BundleError>,
    F: FnMut(usize, T, usize) -> Result<(), BundleError>,
{
    // The checks do many small reads; a bare `File` would make each one a
    // system call.
    let (mut archive, entries) = open(BufReader::new(input), limits)?;
    let Some(manifest_entry) = entries.iter().find(|e| e.kind == EntryKind::Manifest) else {
        return Err(BundleError::ManifestMissing);
    };
    let manifest = parse_manifest(&inflate(&mut archive, manifest_entry)?)?;
    let files = match_files(&manifest, &entries)?;
    on_manifest(&manifest)?;
    verify_files(&mut archive, &manifest, &files, batch_bytes, parse, visit)?;
    Ok(manifest)
}

/// Everything that needs no inflating: the raw layout, the names, then the
/// zip crate's reading of the same directory and each entry's metadata.
fn open<R: Read + Seek>(
    mut input: R,
    limits: &ReadLimits,
) -> Result<(ZipArchive<R>, Vec<Entry>), BundleError> {
    let layout = read_layout(&mut input, limits.max_entries)?;
    let kinds = classify_all(layout.entries.iter().map(|e| e.name.as_slice()))
        .map_err(BundleError::invalid_zip)?;

    // The layout is sound; let the zip crate parse the same directory from
    // the same fixed offset, and make sure the two readings agree.
    let config = Config {
        archive_offset: ArchiveOffset::Known(0),
    };
    let mut archive = ZipArchive::with_config(config, input)
        .map_err(|e| BundleError::from_zip("cannot read the archive", e))?;
    if archive.len() != layout.entries.len()
        || archive.has_duplicate_names()
        || archive.offset() != 0
        || archive.central_directory_start() != layout.central_offset
        || !archive.comment().is_empty()
    {
        return Err(BundleError::invalid_zip(
            "the zip reader and the raw central directory disagree about the archive's layout",
        ));
    }
    let entries = check_entries(&mut archive, &layout.entries, kinds, limits)?;
    Ok((archive, entries))
}

/// Pairs the archive's artifact files with the manifest's lines: every file
/// must have a line and every line a file.
fn match_files<'a>(
    manifest: &Manifest,
    entries: &'a [Entry],
) -> Result<Vec<(&'a Entry, usize)>, BundleError> {
    let lines: HashMap<&str, usize> = manifest
        .artifacts
        .iter()
        .enumerate()
        .map(|(i, line)| (line.path.as_str(), i))
        .collect();
    let mut files = Vec::with_capacity(lines.len());
    for entry in entries {
        if !matches!(entry.kind, EntryKind::Artifact(_)) {
            continue;
        }
        let Some(&line) = lines.get(entry.name.as_str()) else {
            return Err(Mismatch::FileNotInManifest {
                path: entry.name.clone(),
            }
            .into());
        };
        files.push((entry, line));
    }
    let present: HashSet<&str> = files.iter().map(|(f, _)| f.name.as_str()).collect();
    if let Some(line) = manifest
        .artifacts
        .iter()
        .find(|line| !present.contains(line.path.as_str()))
    {
        return Err(Mismatch::FileMissing {
            path: line.path.clone(),
        }
        .into());
    }
    Ok(files)
}

/// [`parse_checked`], with the definition's compact text.
fn parse_with_text(
    path: &str,
    line: &ManifestArtifact,
    bytes: &[u8],
) -> Result<CheckedFile, BundleError> {
    let artifact = parse_checked(path, line, bytes)?;
    let definition_text = match ArtifactFile::compact_definition(bytes) {
        Some(text) => text,
        // Canonical bytes always have the layout; should they not, the
        // text is encoded instead.
        None if cfg!(debug_assertions) => {
            panic!("{path}: canonical bytes without the pretty layout")
        }
        None => artifact.definition.to_string(),
    };
    Ok(CheckedFile {
        artifact,
        definition_text,
        size: bytes.len(),
    })
}

/// Inflates every artifact file and verifies it against its line. Reading
/// the compressed bytes needs the archive, so it is sequential; inflating
/// (the costliest step), hashing and parsing are spread over the cores a
/// bounded batch at a time, so memory stays near one batch of compressed
/// and inflated bytes plus the parsed files. Hands the files on in archive
/// order.
fn verify_files<R, T, F>(
    archive: &mut ZipArchive<R>,
    manifest: &Manifest,
    files: &[(&Entry, usize)],
    batch_limit: u64,
    parse: ParseFile<T>,
    mut visit: F,
) -> Result<(), BundleError>
where
    R: Read + Seek,
    T: Send,
    F: FnMut(usize, T, usize) -> Result<(), BundleError>,
{
    let mut batch: Vec<(&Entry, usize, Vec<u8>)> = Vec::new();
    let mut batch_bytes = 0u64;
    for (i, &(file, line)) in files.iter().enumerate() {
        let compressed = read_compressed(archive, file)?;
        // Declared, and checked against the limits; inflating checks it.
        batch_bytes += file.size;
        batch.push((file, line, compressed));
        if batch_bytes >= batch_limit || i + 1 == files.len() {
            // A few large files are worth the threads as much as many
            // small ones.
            let worth_threads = batch.len() >= 2 && batch_bytes >= PARALLEL_BATCH_BYTES;
            let results = par::map_when(worth_threads, &batch, |(file, line, compressed)| {
                let bytes = inflate_entry(file, compressed)?;
                let size: usize = bytes.len();
                let line = &manifest.artifacts[*line];
                verify_hash(&file.name, line, &bytes)?;
                Ok::<_, BundleError>((parse(&file.name, line, &bytes)?, size))
            });
            let lines: Vec<usize> = batch.iter().map(|(_, line, _)| *line).collect();
            // The compressed bytes go before the parsed artifacts are handed on.
            batch.clear();
            batch_bytes = 0;
            for (line, result) in lines.into_iter().zip(results) {
                let (artifact, size) = result?;
                visit(line, artifact, size)?;
            }
        }
    }
    Ok(())
}

/// An inflated artifact file's SHA-256 against its manifest line.
fn verify_hash(path: &str, line: &ManifestArtifact, bytes: &[u8]) -> Result<(), BundleError> {
    let actual = sha256_hex(bytes);
    if !constant_time_eq(actual.as_bytes(), line.sha256.as_bytes()) {
        return Err(Mismatch::EntryHash {
            path: path.to_owned(),
            expected: line.sha256.clone(),
            actual,
        }
        .into());
    }
    Ok(())
}

/// The first read's parse of a file whose hash matched: typed, then its
/// canonical form, then the line's fields.
fn parse_checked(
    path: &str,
    line: &ManifestArtifact,
    bytes: &[u8],
) -> Result<ArtifactFile, BundleError> {
    let artifact: ArtifactFile =
        serde_json::from_slice(bytes).map_err(|e| BundleError::InvalidArtifactFile {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    // The bytes must be the canonical encoding of what they parse to
    // (found by fuzzing): otherwise whitespace, escapes, number spellings
    // or a repeated key would make the installed artifact hash differently
    // from its manifest line, and a re-export differ from the package.
    if !artifact.encodes_to(bytes) {
        return Err(BundleError::InvalidArtifactFile {
            path: path.to_owned(),
            reason: "the file is not in canonical form (two-space pretty JSON, fields in bundle order, keys sorted, one trailing newline); re-export the package".to_owned(),
        });
    }
    let shown = [
        artifact.id.as_str(),
        artifact.r#type.as_str(),
        &artifact.name,
        &artifact.version,
    ];
    check_against_line(path, shown, line)?;
    Ok(artifact)
}

/// Per-entry checks that need no inflating: kind, encryption, method,
/// declared sizes and ratio, and that the local header agrees with the
/// central one. Returns the entries with their classification.
fn check_entries<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    raw: &[RawEntry],
    kinds: Vec<EntryKind>,
    limits: &ReadLimits,
) -> Result<Vec<Entry>, BundleError> {
    let mut entries = Vec::with_capacity(kinds.len());
    let mut total: u64 = 0;
    for (index, (kind, raw)) in kinds.into_iter().zip(raw).enumerate() {
        let data = archive
            .by_index_data(index)
            .map_err(|e| BundleError::from_zip("cannot read the central directory", e))?;
        let name = shown(data.name_raw());
        if data.name_raw() != raw.name.as_slice() {
            return Err(BundleError::invalid_zip(format!(
                "the zip reader sees entry {index} as {name}, the central directory as {}",
                shown(&raw.name)
            )));
        }
        let fail = |what: String| Err(BundleError::invalid_zip(format!("entry {name} {what}")));

        // Unix mode bits say what an entry is; tools that record no Unix
        // mode make only plain files and directories (by the trailing '/').
        let file_type = data.unix_mode().map_or(0, |mode| mode & S_IFMT);
        let is_dir_name = data.name_raw().ends_with(b"/");
        if data.is_symlink() {
            return fail("is a symbolic link".to_owned());
        }
        match kind {
            EntryKind::ArtifactsDir if file_type != 0 && file_type != S_IFDIR => {
                return fail(format!(
                    "is named like a directory but has mode {file_type:o}"
                ));
            }
            EntryKind::Manifest | EntryKind::Artifact(_)
                if is_dir_name || (file_type != 0 && file_type != S_IFREG) =>
            {
                return fail(format!("is not a regular file (mode {file_type:o})"));
            }
            _ => {}
        }
        if data.encrypted() {
            return fail("is encrypted".to_owned());
        }
        // Judged on the raw number: the zip crate maps methods it was built
        // without to `Unsupported(n)`, and we accept exactly two.
        if raw.method != METHOD_STORED && raw.method != METHOD_DEFLATE {
            return fail(format!(
                "uses compression method {}; only 0 (stored) and 8 (deflate) are accepted",
                raw.method
            ));
        }
        let method = data.compression();
        let (size, compressed, crc32) = (data.size(), data.compressed_size(), data.crc32());
        if method == CompressionMethod::Stored && size != compressed {
            return fail(format!(
                "is stored but declares {size} bytes in {compressed} stored bytes"
            ));
        }
        let limit = match kind {
            EntryKind::ArtifactsDir => 0,
            EntryKind::Manifest => limits.max_manifest_bytes,
            EntryKind::Artifact(_) => limits.max_entry_bytes,
        };
        if size > limit {
            return fail(format!(
                "inflates to {size} bytes, over the limit of {limit}"
            ));
        }
        if !limits.ratio_ok(size, compressed) {
            return fail(format!(
                "inflates {compressed} bytes to {size}, a ratio above {}:1",
                limits.max_ratio
            ));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(BundleError::invalid_zip(format!(
                "the entries inflate to more than the limit of {} bytes in total",
                limits.max_total_bytes
            )));
        }
        drop(data);

        // The local header must say the same as the central directory (name,
        // method, sizes, CRC, flags): readers that trust one or the other
        // must see the same archive (SECURITY.md 5).
        archive
            .by_index_with_options(
                index,
                ZipReadOptions::new().enforce_header_consistency(true),
            )
            .map_err(|e| BundleError::from_zip(&format!("entry {name}"), e))?;

        // Names passed `classify`, so they are UTF-8.
        let name = String::from_utf8_lossy(&raw.name).into_owned();
        entries.push(Entry {
            index,
            name,
            kind,
            size,
            compressed_size: compressed,
            method: raw.method,
            crc32,
        });
    }
    Ok(entries)
}

/// Inflates one entry on a budget of its declared size and checks its
/// CRC-32 (SECURITY.md 9), accounting for every compressed byte (32).
///
/// Hand-written over the entry's raw bytes rather than the zip crate's
/// reader: that reader stops at the end of the deflate stream and never says
/// whether compressed bytes were left over, and bytes hidden there are read
/// by some tools (as a second stream) and not by others.
fn inflate<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    entry: &Entry,
) -> Result<Vec<u8>, BundleError> {
    let compressed = read_compressed(archive, entry)?;
    inflate_entry(entry, compressed)
}

fn context(entry: &Entry) -> String {
    format!("entry {}", shown(entry.name.as_bytes()))
}

/// An entry's compressed bytes as they are in the archive: exactly its
/// declared compressed size, which `check_entries` bounded. One byte past
/// the budget still catches a reader that yields more.
fn read_compressed<R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    entry: &Entry,
) -> Result<Vec<u8>, BundleError> {
    let context = context(entry);
    let raw = archive
        .by_index_raw(entry.index)
        .map_err(|e| BundleError::from_zip(&context, e))?;
    let mut compressed = Vec::with_capacity(entry.compressed_size.min(MAX_PREALLOCATION) as usize);
    raw.take(entry.compressed_size + 1)
        .read_to_end(&mut compressed)
        .map_err(|e| BundleError::from_read(&context, e))?;
    if compressed.len() as u64 != entry.compressed_size {
        return Err(BundleError::invalid_zip(format!(
            "{context} holds {} compressed bytes, not the {} its headers declare",
            compressed.len(),
            entry.compressed_size
        )));
    }
    Ok(compressed)
}

/// Inflates an entry's compressed bytes (see [`inflate`]).
fn inflate_entry(entry: &Entry, compressed: impl AsRef<[u8]>) -> Result<Vec<u8>, BundleError> {
    let context = context(entry);
    let compressed = compressed.as_ref();
    let bytes = if entry.method == METHOD_DEFLATE {
        let mut bytes = Vec::with_capacity(entry.size.min(MAX_PREALLOCATION) as usize);
        inflate_exact(compressed, entry, &mut bytes)
            .map_err(|e| BundleError::from_read(&context, e))?
            .map_err(|what| BundleError::invalid_zip(format!("{context} {what}")))?;
        bytes
    } else {
        // Stored: `check_entries` made its size equal its compressed size.
        compressed.to_vec()
    };
    let inflated = bytes.len() as u64;
    if inflated > entry.size {
        return Err(BundleError::invalid_zip(format!(
            "{context} inflates to more than its declared {} bytes",
            entry.size
        )));
    }
    if inflated < entry.size {
        return Err(BundleError::invalid_zip(format!(
            "{context} inflates to {inflated} bytes, fewer than its declared {}",
            entry.size
        )));
    }
    let crc32 = crc32fast::hash(&bytes);
    if crc32 != entry.crc32 {
        return Err(BundleError::invalid_zip(format!(
            "{context} has CRC-32 {crc32:08x}, not the {:08x} its headers declare",
            entry.crc32
        )));
    }
    Ok(bytes)
}

/// Output produced per step of [`inflate_exact`].
const INFLATE_CHUNK: usize = 64 * 1024;

/// Inflates the raw deflate stream `input` into `out`, stopping one byte past
/// the entry's declared size. The stream must end (its final block) exactly
/// at the end of the entry's compressed bytes. The outer error is an I/O
/// failure, the inner one what is wrong with the stream.
fn inflate_exact(
    mut input: impl BufRead,
    entry: &Entry,
    out: &mut Vec<u8>,
) -> std::io::Result<Result<(), String>> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut inflater = Decompress::new(false);
    let mut chunk = vec![0u8; INFLATE_CHUNK];
    loop {
        let available = input.fill_buf()?;
        let at_end = available.is_empty();
        let flush = if at_end {
            FlushDecompress::Finish
        } else {
            FlushDecompress::None
        };
        let (before_in, before_out) = (inflater.total_in(), inflater.total_out());
        let status = match inflater.decompress(available, &mut chunk, flush) {
            Ok(status) => status,
            Err(e) => return Ok(Err(format!("has a corrupt deflate stream: {e}"))),
        };
        // Both differences are bounded by the slices just passed in.
        let consumed = (inflater.total_in() - before_in) as usize;
        let produced = (inflater.total_out() - before_out) as usize;
        input.consume(consumed);
        out.extend_from_slice(&chunk[..produced]);
        if inflater.total_out() > entry.size {
            // The caller reports it; no need to inflate the rest.
            return Ok(Ok(()));
        }
        match status {
            Status::StreamEnd => break,
            _ if consumed == 0 && produced == 0 => {
                return Ok(Err(if at_end {
                    "has a deflate stream that ends before its final block".to_owned()
                } else {
                    "has a deflate stream that makes no progress".to_owned()
                }));
            }
            _ => {}
        }
    }
    let left = entry.compressed_size.saturating_sub(inflater.total_in());
    if left > 0 {
        return Ok(Err(format!(
            "has {left} bytes after the end of its deflate stream, inside its compressed size"
        )));
    }
    Ok(Ok(()))
}

/// Parses `manifest.json` into the typed manifest and checks it is
/// self-consistent, then checks its checksum against its lines.
fn parse_manifest(bytes: &[u8]) -> Result<Manifest, BundleError> {
    let manifest: Manifest =
        serde_json::from_slice(bytes).map_err(|e| BundleError::invalid_manifest(e.to_string()))?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(BundleError::invalid_manifest(format!(
            "formatVersion {} is not supported; this reader reads version {FORMAT_VERSION}",
            manifest.format_version
        )));
    }
    let mut position: HashMap<&ArtifactId, usize> = HashMap::new();
    for (i, id) in manifest.install_order.iter().enumerate() {
        if position.insert(id, i).is_some() {
            return Err(BundleError::invalid_manifest(format!(
                "installOrder lists {id} more than once"
            )));
        }
    }
    let mut seen = HashSet::new();
    for line in &manifest.artifacts {
        if !seen.insert(&line.id) {
            return Err(BundleError::invalid_manifest(format!(
                "artifact {} has more than one line",
                line.id
            )));
        }
        let expected_path = artifact_path(&line.id);
        if line.path != expected_path {
            return Err(BundleError::invalid_manifest(format!(
                "the line for {} has path {:?}; it must be {expected_path:?}",
                line.id, line.path
            )));
        }
        if !is_sha256_hex(&line.sha256) {
            return Err(BundleError::invalid_manifest(format!(
                "the line for {} has sha256 {:?}, not 64 lower-case hex digits",
                line.id, line.sha256
            )));
        }
        let Some(&own) = position.get(&line.id) else {
            return Err(BundleError::invalid_manifest(format!(
                "artifact {} is missing from installOrder",
                line.id
            )));
        };
        for dependency in &line.depends_on {
            match position.get(dependency) {
                None => {
                    return Err(BundleError::invalid_manifest(format!(
                        "{} depends on {dependency}, which the bundle does not contain",
                        line.id
                    )));
                }
                Some(&at) if at >= own => {
                    return Err(BundleError::invalid_manifest(format!(
                        "installOrder places {} before its dependency {dependency}",
                        line.id
                    )));
                }
                Some(_) => {}
            }
        }
    }
    if let Some(extra) = manifest.install_order.iter().find(|id| !seen.contains(id)) {
        return Err(BundleError::invalid_manifest(format!(
            "installOrder lists {extra}, which has no artifact line"
        )));
    }
    let well_formed = manifest
        .checksum
        .strip_prefix("sha256:")
        .is_some_and(is_sha256_hex);
    if !well_formed {
        return Err(BundleError::invalid_manifest(format!(
            "checksum {:?} is not 'sha256:' and 64 lower-case hex digits",
            manifest.checksum
        )));
    }
    let computed = manifest.computed_checksum();
    if !constant_time_eq(computed.as_bytes(), manifest.checksum.as_bytes()) {
        return Err(Mismatch::PackageChecksum {
            expected: manifest.checksum.clone(),
            actual: computed,
        }
        .into());
    }
    Ok(manifest)
}

/// The artifact file must be the artifact its line describes: its id,
/// type, name and version, in that order.
fn check_against_line(
    path: &str,
    [id, artifact_type, name, version]: [&str; 4],
    line: &ManifestArtifact,
) -> Result<(), BundleError> {
    let fields: [(&'static str, &str, &str); 4] = [
        ("id", line.id.as_str(), id),
        ("type", line.artifact_type.as_str(), artifact_type),
        ("name", &line.name, name),
        ("version", &line.version, version),
    ];
    for (field, expected, actual) in fields {
        if expected != actual {
            return Err(Mismatch::LineDisagrees {
                path: path.to_owned(),
                field,
                expected: expected.to_owned(),
                actual: actual.to_owned(),
            }
            .into());
        }
    }
    Ok(())
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Compares without stopping at the first differing byte, so the time taken
/// does not tell an attacker how much of a forged hash was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_slices() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn sha256_hex_shape() {
        assert!(is_sha256_hex(&"a1".repeat(32)));
        assert!(!is_sha256_hex(&"A1".repeat(32)));
        assert!(!is_sha256_hex(&"a1".repeat(31)));
        assert!(!is_sha256_hex(&"g1".repeat(32)));
    }
}
