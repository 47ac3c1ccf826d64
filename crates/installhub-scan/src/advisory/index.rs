//! The advisory index file: a snapshot kept on disk so a server starts
//! without re-reading an OSV export.
//!
//! Layout: one header line of JSON, a newline, then the body:
//!
//! ```text
//! {"format":"installhub-advisory-index","formatVersion":1,"snapshot":{…},"bodyBytes":N,"bodySha256":"…"}
//! [{"id":"GHSA-…","aliases":[…],"summary":"…","severity":"High","modified":"…","affected":[{"ecosystem":"npm","name":"lodash","ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]},…]
//! ```
//!
//! The body holds only what matching and findings need (no `details`, no
//! references), which makes it about a fifth of the OSV export. JSON was
//! measured good enough (200 000 advisories load in well under the 2 s
//! target, see the crate README), readable with `jq`, and needs no second
//! serialization format. The header carries a format version, so a future
//! layout is refused rather than misread, and the body's length and
//! SHA-256, so a torn or altered file is refused rather than loaded smaller.
//! Files are written to a temporary file in the same directory and renamed
//! over the old one, so a reader sees the old index or the new, never half.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Advisory, AdvisoryDb, AdvisorySnapshot, snapshot_id};
use crate::error::ScanError;

/// The version of the index layout this build reads and writes.
pub const INDEX_FORMAT_VERSION: u32 = 1;
const FORMAT: &str = "installhub-advisory-index";

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    format: String,
    format_version: u32,
    snapshot: AdvisorySnapshot,
    body_bytes: u64,
    body_sha256: String,
}

/// The body bytes of `advisories`; the snapshot id hashes exactly these.
pub(crate) fn body(advisories: &[Advisory]) -> Vec<u8> {
    // Plain structs of strings and unit enums: serializing cannot fail.
    serde_json::to_vec(advisories).expect("advisories serialize to JSON")
}

impl AdvisoryDb {
    /// Writes this snapshot as an index file at `path`, atomically
    /// (temporary file in the same directory, synced, renamed over).
    pub fn write_index(&self, path: &Path) -> Result<(), ScanError> {
        let io = |source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        };
        let body = body(&self.advisories);
        let header = Header {
            format: FORMAT.to_owned(),
            format_version: INDEX_FORMAT_VERSION,
            snapshot: self.snapshot.clone(),
            body_bytes: body.len() as u64,
            body_sha256: hex::encode(Sha256::digest(&body)),
        };
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let header = serde_json::to_vec(&header).expect("the header serializes to JSON");
        file.write_all(&header).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.write_all(&body).map_err(io)?;
        file.as_file().sync_all().map_err(io)?;
        file.persist(path).map_err(|e| io(e.error))?;
        // The rename itself survives a crash only once the directory is
        // synced; not every platform lets a directory be opened for that.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Reads an index file written by [`AdvisoryDb::write_index`]. Refuses
    /// a file of another format or version, a torn file (length) and an
    /// altered one (SHA-256), naming the file and the reason.
    pub fn load_index(path: &Path) -> Result<AdvisoryDb, ScanError> {
        let bytes = std::fs::read(path).map_err(|source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let refuse = |reason: String| ScanError::Index {
            path: path.to_path_buf(),
            reason,
        };
        let newline = first_newline(&bytes)
            .ok_or_else(|| refuse("no header line: not an advisory index".to_owned()))?;
        let header: Header = serde_json::from_slice(&bytes[..newline])
            .map_err(|e| refuse(format!("the header is not an index header: {e}")))?;
        if header.format != FORMAT {
            return Err(refuse(format!(
                "format `{}`, expected `{FORMAT}`",
                header.format
            )));
        }
        if header.format_version != INDEX_FORMAT_VERSION {
            return Err(refuse(format!(
                "format version {}, this build reads version {INDEX_FORMAT_VERSION}; run `installhub advisories sync` again",
                header.format_version
            )));
        }
        let body = &bytes[newline + 1..];
        if body.len() as u64 != header.body_bytes {
            return Err(refuse(format!(
                "the body has {} bytes, the header says {} (a torn write?)",
                body.len(),
                header.body_bytes
            )));
        }
        let digest = hex::encode(Sha256::digest(body));
        if digest != header.body_sha256 {
            return Err(refuse(
                "the body's SHA-256 does not match the header's".to_owned(),
            ));
        }
        if header.snapshot.id != snapshot_id(body) {
            return Err(refuse("the snapshot id does not match the body".to_owned()));
        }
        let advisories: Vec<Advisory> = serde_json::from_slice(body)
            .map_err(|e| refuse(format!("the body is not a list of advisories: {e}")))?;
        Ok(AdvisoryDb::assemble(advisories, header.snapshot))
    }
}

fn first_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_snapshot_and_matching() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("advisories/index.json");
        let db = AdvisoryDb::embedded();
        db.write_index(&path).unwrap();
        let back = AdvisoryDb::load_index(&path).unwrap();
        assert_eq!(back.snapshot(), db.snapshot());
        assert_eq!(back.advisories, db.advisories);
        assert_eq!(back.packages, db.packages);
    }

    #[test]
    fn torn_altered_or_foreign_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.json");
        AdvisoryDb::embedded().write_index(&path).unwrap();
        let good = std::fs::read(&path).unwrap();

        let torn = &good[..good.len() - 10];
        std::fs::write(&path, torn).unwrap();
        let err = AdvisoryDb::load_index(&path).unwrap_err().to_string();
        assert!(err.contains("torn"), "{err}");

        let mut altered = good.clone();
        let at = altered.len() - 20;
        altered[at] = if altered[at] == b'a' { b'b' } else { b'a' };
        std::fs::write(&path, &altered).unwrap();
        let err = AdvisoryDb::load_index(&path).unwrap_err().to_string();
        assert!(err.contains("SHA-256"), "{err}");

        let text = String::from_utf8(good).unwrap();
        std::fs::write(
            &path,
            text.replacen("\"formatVersion\":1", "\"formatVersion\":2", 1),
        )
        .unwrap();
        let err = AdvisoryDb::load_index(&path).unwrap_err().to_string();
        assert!(err.contains("format version 2"), "{err}");

        std::fs::write(&path, "[]").unwrap();
        let err = AdvisoryDb::load_index(&path).unwrap_err().to_string();
        assert!(err.contains("no header line"), "{err}");
    }
}
