//! Writing a prepared bundle as a ZIP whose bytes depend on nothing but the
//! bundle: entries in byte order of their names, deflated, with a fixed time
//! (1980-01-01 00:00:00, the earliest a ZIP can say), fixed Unix permissions
//! 0644, no extra fields and no comment. Same bundle, same bytes, so a
//! re-export answers with the same `ETag` and the same checksum.

use std::io::{BufWriter, Seek, Write};

use zip::write::{PreparedZipFile, SimpleFileOptions};
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use crate::error::BundleError;
use crate::limits::DEFAULT_MAX_RATIO;
use crate::par;
use crate::prepare::PreparedBundle;

/// Deflate level. On the benchmark's JSON, zlib-rs at level 5 is about 15%
/// faster than at level 6 (zlib's default, what `zip -r` uses) for output
/// 0.6% larger; levels below 5 grow the output by 7% (4) to 50% (1).
const DEFLATE_LEVEL: i64 = 5;

fn entry_options(method: CompressionMethod) -> SimpleFileOptions {
    let options = SimpleFileOptions::default()
        .compression_method(method)
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(0o644)
        .system(System::Unix)
        .large_file(false);
    match method {
        CompressionMethod::Deflated => options.compression_level(Some(DEFLATE_LEVEL)),
        _ => options,
    }
}

/// Compresses one entry. Deflate can reach about 1000:1 on repetitive
/// input, and readers refuse entries above [`DEFAULT_MAX_RATIO`]; such an
/// entry is stored instead, so every bundle we write stays readable. The
/// choice depends only on the bytes, so output stays deterministic.
fn compress(path: &str, bytes: &[u8]) -> Result<PreparedZipFile, BundleError> {
    let deflated =
        PreparedZipFile::from_data(path, entry_options(CompressionMethod::Deflated), bytes)
            .map_err(write_error)?;
    let size = u128::from(deflated.uncompressed_size());
    if size > u128::from(deflated.compressed_size()) * u128::from(DEFAULT_MAX_RATIO) {
        return PreparedZipFile::from_data(path, entry_options(CompressionMethod::Stored), bytes)
            .map_err(write_error);
    }
    Ok(deflated)
}

/// Compresses every entry, spread over the cores ([`crate::par`]); each
/// entry is compressed on its own, so the bytes do not depend on how.
fn compress_all(bundle: &PreparedBundle) -> Result<Vec<PreparedZipFile>, BundleError> {
    let files: Vec<(&str, &[u8])> = bundle.files().collect();
    par::map(&files, |(path, bytes)| compress(path, bytes))
        .into_iter()
        .collect()
}

/// Writes the bundle as a ZIP to `out` and hands `out` back. The same
/// [`PreparedBundle`] always gives the same bytes.
pub fn write_zip<W: Write + Seek>(bundle: &PreparedBundle, out: W) -> Result<W, BundleError> {
    let entries = compress_all(bundle)?;
    // The zip writer issues many small header writes; buffer them so a bare
    // `File` is as fast as a `Vec`.
    let mut zip = ZipWriter::new(BufWriter::with_capacity(64 * 1024, out));
    for entry in entries {
        zip.add_prepared_file(entry).map_err(write_error)?;
    }
    let buffered = zip.finish().map_err(write_error)?;
    buffered
        .into_inner()
        .map_err(|e| BundleError::Io(e.into_error()))
}

fn write_error(error: zip::result::ZipError) -> BundleError {
    match error {
        zip::result::ZipError::Io(error) => BundleError::Io(error),
        other => BundleError::Io(std::io::Error::other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prepare::prepare;
    use crate::test_support::{artifact, input};
    use std::io::Cursor;

    #[test]
    fn a_repetitive_entry_is_stored_to_keep_the_ratio_readable() {
        let mut big = artifact("a", &[]);
        big.definition = serde_json::json!({ "pad": "x".repeat(200_000) });
        let bundle = prepare(input(&["a"]), &[big]).unwrap();
        let bytes = write_zip(&bundle, Cursor::new(Vec::new()))
            .unwrap()
            .into_inner();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let entry = archive.by_name("artifacts/a.json").unwrap();
        assert_eq!(entry.compression(), CompressionMethod::Stored);
        drop(entry);
        let manifest = archive.by_name("manifest.json").unwrap();
        assert_eq!(manifest.compression(), CompressionMethod::Deflated);
    }

    #[test]
    fn entries_carry_fixed_metadata() {
        let bundle = prepare(
            input(&["a", "b"]),
            &[artifact("a", &[]), artifact("b", &["a"])],
        )
        .unwrap();
        let bytes = write_zip(&bundle, Cursor::new(Vec::new()))
            .unwrap()
            .into_inner();
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert!(archive.comment().is_empty());
        let names: Vec<_> = archive
            .file_names()
            .map(|n| n.unwrap().into_owned())
            .collect();
        assert_eq!(
            names,
            ["artifacts/a.json", "artifacts/b.json", "manifest.json"]
        );
        for i in 0..archive.len() {
            let entry = archive.by_index(i).unwrap();
            assert_eq!(entry.last_modified(), Some(DateTime::DEFAULT));
            assert_eq!(entry.unix_mode(), Some(0o100644));
            assert_eq!(entry.compression(), CompressionMethod::Deflated);
            assert!(entry.extra_data().is_none());
            assert_eq!(entry.extra_data_fields().count(), 0);
        }
    }
}
