//! Lenient import of OSV exports: the per-ecosystem `all.zip` archives OSV
//! publishes (one record per `<ID>.json` entry), single record files and
//! directories of them.
//!
//! Unlike [`AdvisoryDb::load_dir`], which guards a hand-kept directory and
//! fails on the first bad file, an export of tens of thousands of records
//! written by others may hold a record this build cannot read; skipping it
//! (and counting it, with the first few reasons) beats refusing every other
//! advisory. The archive itself must be sound: a file that is not a zip,
//! an entry that does not inflate or fails its CRC, or an archive beyond
//! [`ZipLimits`] fails the whole import, so a truncated download never
//! becomes a silently smaller snapshot.
//!
//! Entries are read one at a time into one reused buffer, each capped at
//! [`ZipLimits::max_entry_bytes`] whatever its header claims, so a zip bomb
//! costs at most one capped buffer of memory and at most
//! [`ZipLimits::max_total_bytes`] of inflating.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;

use super::{AdvisoryDb, Collected, OsvRecord, collect_json_files, convert};
use crate::error::ScanError;

/// Bounds on one OSV export archive.
#[derive(Debug, Clone, Copy)]
pub struct ZipLimits {
    /// Largest inflated entry. OSV records are kilobytes; the largest
    /// (packages with thousands of listed versions) are about a megabyte.
    pub max_entry_bytes: u64,
    /// Most inflated bytes in all. OSV's largest export (PyPI) inflates to
    /// under 2 GB.
    pub max_total_bytes: u64,
    /// Most entries. OSV's largest export has about 60 000.
    pub max_entries: usize,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entry_bytes: 64 * 1024 * 1024,
            max_total_bytes: 16 * 1024 * 1024 * 1024,
            max_entries: 2_000_000,
        }
    }
}

/// What an import read, skipped and kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ImportStats {
    /// JSON records read (entries of every source).
    pub records: usize,
    /// Records that are not usable OSV (invalid JSON, no `id`, wrong
    /// types): skipped.
    pub skipped: usize,
    /// Withdrawn records: dropped.
    pub withdrawn: usize,
    /// Records with no package of an ecosystem a library can name (npm,
    /// PyPI, Maven, NuGet, crates.io): dropped.
    pub unsupported: usize,
    /// Archive entries that are not `.json` files: ignored.
    pub not_json: usize,
    /// Advisories kept per ecosystem (one advisory may count in several).
    pub by_ecosystem: BTreeMap<String, usize>,
    /// `source!entry: reason` of the first skipped records.
    pub skipped_examples: Vec<String>,
}

/// How many skip reasons are kept for the report.
const EXAMPLES: usize = 10;

/// Gathers OSV records from several sources into one snapshot.
#[derive(Debug, Default)]
pub struct AdvisoryImport {
    collected: Collected,
    sources: Vec<String>,
    stats: ImportStats,
}

impl AdvisoryImport {
    pub fn new() -> AdvisoryImport {
        AdvisoryImport::default()
    }

    /// What was read so far.
    pub fn stats(&self) -> &ImportStats {
        &self.stats
    }

    /// A local path: a directory of `*.json` records (recursively), a zip
    /// export, or one JSON file (a record or an array of records).
    pub fn add_path(&mut self, path: &Path, limits: &ZipLimits) -> Result<(), ScanError> {
        if path.is_dir() {
            return self.add_dir(path);
        }
        let file = File::open(path).map_err(|source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.add_file(&path.display().to_string(), file, limits)
    }

    /// An opened export named `origin` (a path or the URL it came from):
    /// a zip when it starts like one, else one JSON document.
    pub fn add_file(
        &mut self,
        origin: &str,
        mut file: File,
        limits: &ZipLimits,
    ) -> Result<(), ScanError> {
        let failed = |reason: String| ScanError::Export {
            origin: origin.to_owned(),
            reason,
        };
        let mut magic = [0u8; 2];
        let got = file
            .read(&mut magic)
            .map_err(|e| failed(format!("cannot be read: {e}")))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| failed(format!("cannot be read: {e}")))?;
        if got == 2 && &magic == b"PK" {
            return self.add_zip(origin, file, limits);
        }
        let mut text = Vec::new();
        let read = file
            .take(limits.max_entry_bytes + 1)
            .read_to_end(&mut text)
            .map_err(|e| failed(format!("cannot be read: {e}")))?;
        if read as u64 > limits.max_entry_bytes {
            return Err(failed(format!(
                "not a zip, and larger than {} bytes for one JSON document",
                limits.max_entry_bytes
            )));
        }
        self.sources.push(origin.to_owned());
        let (records, skipped) = (self.stats.records, self.stats.skipped);
        self.add_json(origin, &text);
        if self.stats.records == records + 1 && self.stats.skipped == skipped + 1 {
            // One document that is neither a zip nor OSV: most likely the
            // wrong file (an HTML error page), not a bad record in an export.
            return Err(failed(
                "neither a zip export nor an OSV JSON record".to_owned(),
            ));
        }
        Ok(())
    }

    /// A directory of `*.json` records, recursively, in name order.
    /// Unreadable files fail the import; unusable records are skipped.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), ScanError> {
        let mut files = Vec::new();
        collect_json_files(dir, &mut files)?;
        files.sort();
        for file in files {
            let bytes = std::fs::read(&file).map_err(|source| ScanError::Io {
                path: file.clone(),
                source,
            })?;
            self.add_json(&file.display().to_string(), &bytes);
        }
        self.sources.push(dir.display().to_string());
        Ok(())
    }

    /// An OSV export archive named `origin`.
    pub fn add_zip<R: Read + Seek>(
        &mut self,
        origin: &str,
        reader: R,
        limits: &ZipLimits,
    ) -> Result<(), ScanError> {
        let failed = |reason: String| ScanError::Export {
            origin: origin.to_owned(),
            reason,
        };
        let mut archive = zip::ZipArchive::new(reader)
            .map_err(|e| failed(format!("not a readable zip archive: {e}")))?;
        if archive.len() > limits.max_entries {
            return Err(failed(format!(
                "{} entries, more than the limit of {}",
                archive.len(),
                limits.max_entries
            )));
        }
        let mut total: u64 = 0;
        let mut buffer = Vec::new();
        for index in 0..archive.len() {
            let mut entry = archive
                .by_index(index)
                .map_err(|e| failed(format!("entry {index} cannot be opened: {e}")))?;
            if entry.is_dir() {
                continue;
            }
            let name = entry
                .name()
                .map_err(|e| failed(format!("entry {index} has an unreadable name: {e}")))?
                .into_owned();
            if !name.ends_with(".json") {
                self.stats.not_json += 1;
                continue;
            }
            if entry.size() > limits.max_entry_bytes {
                return Err(failed(format!(
                    "entry {name} inflates to {} bytes, more than the limit of {}",
                    entry.size(),
                    limits.max_entry_bytes
                )));
            }
            buffer.clear();
            // The header's size may lie: the cap is on the bytes read.
            let read = (&mut entry)
                .take(limits.max_entry_bytes + 1)
                .read_to_end(&mut buffer)
                .map_err(|e| failed(format!("entry {name} does not inflate: {e}")))?;
            if read as u64 > limits.max_entry_bytes {
                return Err(failed(format!(
                    "entry {name} inflates to more than the limit of {} bytes",
                    limits.max_entry_bytes
                )));
            }
            total += read as u64;
            if total > limits.max_total_bytes {
                return Err(failed(format!(
                    "the entries inflate to more than the limit of {} bytes",
                    limits.max_total_bytes
                )));
            }
            self.add_json(&format!("{origin}!{name}"), &buffer);
        }
        self.sources.push(origin.to_owned());
        Ok(())
    }

    /// One JSON document: a record or an array of records. Never fails:
    /// an unusable record is counted and skipped.
    pub fn add_json(&mut self, origin: &str, bytes: &[u8]) {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'[') {
            match serde_json::from_slice::<Vec<serde_json::Value>>(bytes) {
                Ok(items) => {
                    for item in items {
                        let record =
                            serde_json::from_value::<OsvRecord>(item).map_err(|e| e.to_string());
                        self.add_record(origin, record);
                    }
                }
                Err(e) => self.add_record(origin, Err(e.to_string())),
            }
        } else {
            let record = serde_json::from_slice::<OsvRecord>(bytes).map_err(|e| e.to_string());
            self.add_record(origin, record);
        }
    }

    fn add_record(&mut self, origin: &str, record: Result<OsvRecord, String>) {
        self.stats.records += 1;
        match record.and_then(convert) {
            Ok(Some(advisory)) if advisory.affected.is_empty() => self.stats.unsupported += 1,
            Ok(Some(advisory)) => self.collected.insert(advisory),
            Ok(None) => self.stats.withdrawn += 1,
            Err(reason) => {
                self.stats.skipped += 1;
                if self.stats.skipped_examples.len() < EXAMPLES {
                    self.stats
                        .skipped_examples
                        .push(format!("{origin}: {reason}"));
                }
            }
        }
    }

    /// The snapshot of everything added, made now, and what was read.
    pub fn finish(self) -> (AdvisoryDb, ImportStats) {
        let mut stats = self.stats;
        for advisory in &self.collected.advisories {
            let mut seen = Vec::new();
            for package in &advisory.affected {
                if !seen.contains(&package.ecosystem) {
                    seen.push(package.ecosystem);
                    *stats
                        .by_ecosystem
                        .entry(package.ecosystem.as_str().to_owned())
                        .or_default() += 1;
                }
            }
        }
        let db = self.collected.into_db(self.sources.join(", "), None);
        (db, stats)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    fn record(id: &str, name: &str, fixed: &str) -> String {
        serde_json::json!({
            "id": id,
            "modified": "2026-01-02T03:04:05Z",
            "affected": [{
                "package": {"ecosystem": "npm", "name": name},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
            }]
        })
        .to_string()
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            out.start_file(*name, options).unwrap();
            out.write_all(bytes).unwrap();
        }
        out.finish().unwrap().into_inner()
    }

    #[test]
    fn bad_records_are_skipped_and_counted() {
        let good = record("GHSA-aaaa-bbbb-cccc", "left-pad", "1.3.0");
        let withdrawn = r#"{"id":"GHSA-w","withdrawn":"2024-01-01T00:00:00Z","affected":[]}"#;
        let go_only =
            r#"{"id":"GO-2024-1","affected":[{"package":{"ecosystem":"Go","name":"x"}}]}"#;
        let archive = zip_of(&[
            ("GHSA-aaaa-bbbb-cccc.json", good.as_bytes()),
            ("broken.json", b"{\"id\": 12"),
            ("no-id.json", b"{\"affected\": []}"),
            ("GHSA-w.json", withdrawn.as_bytes()),
            ("GO-2024-1.json", go_only.as_bytes()),
            ("README.txt", b"not a record"),
        ]);
        let mut import = AdvisoryImport::new();
        import
            .add_zip("npm/all.zip", Cursor::new(archive), &ZipLimits::default())
            .unwrap();
        let (db, stats) = import.finish();
        assert_eq!(db.len(), 1);
        assert_eq!(db.snapshot().source, "npm/all.zip");
        assert_eq!(stats.records, 5);
        assert_eq!(stats.skipped, 2);
        assert_eq!(stats.withdrawn, 1);
        assert_eq!(stats.unsupported, 1);
        assert_eq!(stats.not_json, 1);
        assert_eq!(stats.by_ecosystem.get("npm"), Some(&1));
        assert!(
            stats.skipped_examples[0].starts_with("npm/all.zip!broken.json: "),
            "{:?}",
            stats.skipped_examples
        );
    }

    #[test]
    fn bad_archives_fail_the_import() {
        let mut import = AdvisoryImport::new();
        let err = import
            .add_zip(
                "x.zip",
                Cursor::new(b"PK\x03\x04 not really".to_vec()),
                &ZipLimits::default(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("not a readable zip"), "{err}");

        // A corrupt entry: flip a byte of the compressed data.
        let big = record("GHSA-aaaa-bbbb-cccc", &"x".repeat(4000), "1.0.0");
        let mut archive = zip_of(&[("a.json", big.as_bytes())]);
        archive[60] ^= 0xff;
        let err = AdvisoryImport::new()
            .add_zip("x.zip", Cursor::new(archive), &ZipLimits::default())
            .unwrap_err();
        assert!(err.to_string().contains("a.json"), "{err}");
    }

    #[test]
    fn a_zip_bomb_stops_at_the_entry_cap() {
        // 8 MiB of zeros deflate to a few kilobytes.
        let zeros = vec![b' '; 8 * 1024 * 1024];
        let archive = zip_of(&[("bomb.json", &zeros)]);
        assert!(archive.len() < 64 * 1024);
        let limits = ZipLimits {
            max_entry_bytes: 1024 * 1024,
            ..ZipLimits::default()
        };
        let err = AdvisoryImport::new()
            .add_zip("bomb.zip", Cursor::new(archive.clone()), &limits)
            .unwrap_err();
        assert!(err.to_string().contains("bomb.json"), "{err}");
        let limits = ZipLimits {
            max_total_bytes: 1024,
            ..ZipLimits::default()
        };
        let err = AdvisoryImport::new()
            .add_zip("bomb.zip", Cursor::new(archive), &limits)
            .unwrap_err();
        assert!(err.to_string().contains("more than the limit"), "{err}");
    }

    #[test]
    fn the_same_advisory_twice_keeps_the_newest() {
        let old = record("GHSA-aaaa-bbbb-cccc", "left-pad", "1.3.0");
        let new =
            record("GHSA-aaaa-bbbb-cccc", "left-pad", "1.4.0").replace("2026-01-02", "2026-02-02");
        let mut import = AdvisoryImport::new();
        import.add_json("b", new.as_bytes());
        import.add_json("a", old.as_bytes());
        let (db, _) = import.finish();
        assert_eq!(db.len(), 1);
        assert_eq!(
            db.snapshot().newest_modified.as_deref(),
            Some("2026-02-02T03:04:05Z")
        );
    }
}
