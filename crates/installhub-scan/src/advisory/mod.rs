//! The advisory database: OSV JSON records (<https://ossf.github.io/osv-schema/>)
//! indexed by ecosystem and package name, and the matching of a library
//! against them (SECURITY.md 24).
//!
//! Matching a library `{ecosystem, name, version}`:
//!
//! - `affected[].package.ecosystem` must be the library's OSV ecosystem name
//!   exactly; entries of other ecosystems (Go, Debian, ...) are ignored at
//!   load.
//! - Names compare as each registry does: npm and Maven (`group:artifact`)
//!   exactly; PyPI after PEP 503 normalization (lower case, runs of `-_.`
//!   → `-`); NuGet case-insensitively; crates.io case-insensitively with `-`
//!   and `_` equal.
//! - The version is affected when it is listed in `versions` (exactly, or
//!   equal in the ecosystem's ordering), or when a range says so: `SEMVER`
//!   ranges with SemVer ordering, `ECOSYSTEM` ranges with the ecosystem's
//!   ordering (see [`version`]), `GIT` ranges ignored. Events follow the OSV
//!   evaluation: sorted, `introduced` (`"0"` = from the start) opens,
//!   `fixed` closes before, `last_affected` closes after, and `limit` caps
//!   the range from above.
//! - `withdrawn` records are dropped at load.
//! - When neither `versions` nor any range affects the version but a range
//!   could not be evaluated (the version or an event does not parse in the
//!   scheme, e.g. `latest`), the library is reported as unverifiable
//!   (WARN), never silently passed and never guessed at.
//!
//! Severity: `database_specific.severity` when present (GitHub's CRITICAL,
//! HIGH, MODERATE/MEDIUM, LOW); else the highest CVSS v3 or v4 base score in
//! `severity[]` (see [`cvss`]); else High, which warns but does not fail.
//! The records that still fall back to High are those with neither: a
//! `CVSS_V2`-only record, or one with no severity at all (some PyPI and
//! crates.io records from their own databases).
//!
//! A database is always one *snapshot* ([`AdvisorySnapshot`]): where its
//! records came from, when it was made, how many advisories it holds and a
//! content id, so every scan can name the data it was checked against.
//! Snapshots are made three ways: the records shipped in the binary
//! ([`AdvisoryDb::embedded`]), a directory of records read strictly
//! ([`AdvisoryDb::load_dir`]), and an OSV export imported leniently by
//! [`AdvisoryImport`] and kept as an index file ([`AdvisoryDb::write_index`],
//! [`AdvisoryDb::load_index`]).

pub(crate) mod cvss;
mod import;
mod index;
pub(crate) mod version;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use installhub_domain::{Ecosystem, Library};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::ScanError;
use crate::report::{AdvisoryRef, Severity};
pub use import::{AdvisoryImport, ImportStats, ZipLimits};
pub use index::INDEX_FORMAT_VERSION;
use version::{Key, Scheme};

/// The embedded snapshot, one real OSV record per file (see the README).
const EMBEDDED: &[(&str, &str)] = &[
    (
        "GHSA-p6mc-m468-83gw.json",
        include_str!("../../advisories/GHSA-p6mc-m468-83gw.json"),
    ),
    (
        "GHSA-35jh-r3h4-6jhm.json",
        include_str!("../../advisories/GHSA-35jh-r3h4-6jhm.json"),
    ),
    (
        "GHSA-xvch-5gv4-984h.json",
        include_str!("../../advisories/GHSA-xvch-5gv4-984h.json"),
    ),
    (
        "GHSA-jfh8-c2jp-5v3q.json",
        include_str!("../../advisories/GHSA-jfh8-c2jp-5v3q.json"),
    ),
    (
        "GHSA-5crp-9r3c-p9vr.json",
        include_str!("../../advisories/GHSA-5crp-9r3c-p9vr.json"),
    ),
    (
        "GHSA-8q59-q68h-6hv4.json",
        include_str!("../../advisories/GHSA-8q59-q68h-6hv4.json"),
    ),
];

/// The `source` of the embedded snapshot.
pub const EMBEDDED_SOURCE: &str = "embedded";

/// The OSV fields we read; everything else is ignored.
#[derive(Debug, Deserialize)]
struct OsvRecord {
    id: String,
    #[serde(default)]
    modified: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default)]
    affected: Vec<OsvAffected>,
    #[serde(default)]
    severity: Vec<OsvSeverity>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct OsvAffected {
    #[serde(default)]
    package: Option<OsvPackage>,
    #[serde(default)]
    ranges: Vec<OsvRange>,
    #[serde(default)]
    versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct OsvPackage {
    ecosystem: String,
    name: String,
}

#[derive(Debug, Deserialize)]
struct OsvRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<OsvEvent>,
}

#[derive(Debug, Deserialize)]
struct OsvEvent {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

#[derive(Debug, Deserialize)]
struct OsvSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

/// What the database keeps of one OSV record: only what matching and the
/// finding need. This is also the index file's record shape, so its serde
/// names are short and its empty fields left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Advisory {
    id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modified: Option<String>,
    affected: Vec<AffectedPackage>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct AffectedPackage {
    ecosystem: Ecosystem,
    /// As the record spells it; normalized only in the lookup map.
    name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ranges: Vec<Range>,
    #[serde(default, skip_serializing_if = "VersionList::is_empty")]
    versions: VersionList,
}

/// An `affected` entry's enumerated versions, held as one newline-joined
/// string. OSV's PyPI records list every affected version (often
/// hundreds); one allocation per entry instead of one per version is most
/// of the index's memory saved. On the wire (the index body) it is the
/// plain array OSV writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct VersionList(String);

impl VersionList {
    fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.split('\n').filter(|v| !v.is_empty())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, version: &str) {
        // No registry's version holds a line break; one that did could only
        // be read as two versions, so it is left out.
        if version.is_empty() || version.contains('\n') {
            return;
        }
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        self.0.push_str(version);
    }
}

impl From<Vec<String>> for VersionList {
    fn from(versions: Vec<String>) -> Self {
        let mut list = VersionList::default();
        for v in &versions {
            list.push(v);
        }
        list.0.shrink_to_fit();
        list
    }
}

impl Serialize for VersionList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for VersionList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        /// Appends each string of the array without allocating it apart.
        struct Versions;
        struct Append<'a>(&'a mut VersionList);

        impl<'de> serde::de::Visitor<'de> for Versions {
            type Value = VersionList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of version strings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<VersionList, A::Error> {
                let mut list = VersionList::default();
                while seq.next_element_seed(Append(&mut list))?.is_some() {}
                list.0.shrink_to_fit();
                Ok(list)
            }
        }

        impl<'de> serde::de::DeserializeSeed<'de> for Append<'_> {
            type Value = ();
            fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
                d.deserialize_str(self)
            }
        }

        impl<'de> serde::de::Visitor<'de> for Append<'_> {
            type Value = ();
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a version string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
                self.0.push(v);
                Ok(())
            }
        }

        deserializer.deserialize_seq(Versions)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum RangeKind {
    Semver,
    Ecosystem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Range {
    #[serde(rename = "type")]
    kind: RangeKind,
    events: Vec<Event>,
}

/// One OSV range event; serializes as OSV writes it (`{"fixed": "1.2.3"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// Which advisory data a database holds, named in every scan report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdvisorySnapshot {
    /// The first 16 hex digits of the SHA-256 of the snapshot's records in
    /// index form: two snapshots with the same id hold the same advisories.
    #[schema(example = "3f2a9c0d1b7e4a55")]
    pub id: String,
    /// Where the records came from: `embedded` (shipped in the binary), an
    /// advisory directory, or the files and URLs an `advisories sync`
    /// imported, comma-separated.
    #[schema(example = "https://osv-vulnerabilities.storage.googleapis.com/npm/all.zip")]
    pub source: String,
    /// When the snapshot was made (RFC 3339); for the embedded one, the
    /// newest record's `modified`.
    #[schema(example = "2026-12-06T03:00:00Z")]
    pub created_at: String,
    /// Active (not withdrawn) advisories.
    #[schema(example = 18240)]
    pub advisory_count: usize,
    /// Distinct (ecosystem, package) names the advisories affect.
    #[schema(example = 11873)]
    pub package_count: usize,
    /// The newest `modified` among the records: how current the data is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2026-12-05T22:41:10Z")]
    pub newest_modified: Option<String>,
}

/// OSV advisories indexed by (ecosystem, normalized package name).
#[derive(Debug, Clone)]
pub struct AdvisoryDb {
    advisories: Vec<Advisory>,
    /// (advisory index, affected index) per package.
    packages: HashMap<(Ecosystem, String), Vec<(u32, u32)>>,
    snapshot: AdvisorySnapshot,
}

/// What one advisory says about one library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Affected { fixed: Option<String> },
    Unverifiable,
}

/// A library matched against one advisory.
#[derive(Debug, Clone)]
pub(crate) struct Match {
    pub(crate) outcome: Outcome,
    pub(crate) severity: Severity,
    pub(crate) id: String,
    pub(crate) aliases: Vec<String>,
    pub(crate) summary: Option<String>,
}

impl Match {
    pub(crate) fn reference(&self, fixed: Option<String>) -> AdvisoryRef {
        AdvisoryRef {
            id: self.id.clone(),
            aliases: self.aliases.clone(),
            url: format!("https://osv.dev/vulnerability/{}", self.id),
            fixed_version: fixed,
        }
    }
}

/// The package name as the ecosystem's registry compares it.
pub(crate) fn normalize_name(ecosystem: Ecosystem, name: &str) -> String {
    let name = name.trim();
    match ecosystem {
        Ecosystem::Npm | Ecosystem::Maven => name.to_owned(),
        Ecosystem::NuGet => name.to_ascii_lowercase(),
        Ecosystem::CratesIo => name.to_ascii_lowercase().replace('_', "-"),
        Ecosystem::PyPI => {
            let mut out = String::with_capacity(name.len());
            let mut in_run = false;
            for c in name.chars() {
                if matches!(c, '-' | '_' | '.') {
                    if !in_run {
                        out.push('-');
                    }
                    in_run = true;
                } else {
                    out.push(c.to_ascii_lowercase());
                    in_run = false;
                }
            }
            out
        }
    }
}

fn severity_of(record: &OsvRecord) -> Severity {
    let from_database = record
        .database_specific
        .as_ref()
        .and_then(|d| d.get("severity"))
        .and_then(serde_json::Value::as_str)
        .and_then(|s| match s.to_ascii_uppercase().as_str() {
            "CRITICAL" => Some(Severity::Critical),
            "HIGH" => Some(Severity::High),
            "MODERATE" | "MEDIUM" => Some(Severity::Medium),
            "LOW" => Some(Severity::Low),
            _ => None,
        });
    from_database
        .or_else(|| {
            record
                .severity
                .iter()
                .filter_map(|s| cvss::base_score(&s.kind, &s.score))
                .max_by(f64::total_cmp)
                .map(cvss::rating)
        })
        .unwrap_or(Severity::High)
}

/// Why a record cannot be used.
type Unusable = String;

/// The database's form of one OSV record: `Ok(None)` when withdrawn.
/// Packages of ecosystems the domain does not know and `GIT` ranges are
/// dropped here.
fn convert(record: OsvRecord) -> Result<Option<Advisory>, Unusable> {
    if record.id.trim().is_empty() {
        return Err("empty `id`".to_owned());
    }
    if record.withdrawn.is_some() {
        return Ok(None);
    }
    let severity = severity_of(&record);
    let mut affected = Vec::new();
    for entry in record.affected {
        let Some(package) = entry.package else {
            continue;
        };
        let Some(ecosystem) = Ecosystem::parse(&package.ecosystem) else {
            continue;
        };
        let ranges = entry
            .ranges
            .into_iter()
            .filter_map(|r| {
                let kind = match r.kind.as_str() {
                    "SEMVER" => RangeKind::Semver,
                    "ECOSYSTEM" => RangeKind::Ecosystem,
                    // GIT ranges name commits, not versions.
                    _ => return None,
                };
                let mut events = Vec::with_capacity(r.events.len());
                for e in r.events {
                    events.extend(e.introduced.map(Event::Introduced));
                    events.extend(e.fixed.map(Event::Fixed));
                    events.extend(e.last_affected.map(Event::LastAffected));
                    events.extend(e.limit.map(Event::Limit));
                }
                Some(Range { kind, events })
            })
            .collect();
        affected.push(AffectedPackage {
            ecosystem,
            name: package.name,
            ranges,
            versions: VersionList::from(entry.versions),
        });
    }
    Ok(Some(Advisory {
        id: record.id,
        aliases: record.aliases,
        summary: record.summary,
        severity,
        modified: record.modified,
        affected,
    }))
}

/// Advisories gathered by id: a record met twice (the same GHSA in two
/// ecosystems' exports) is kept once, its newest `modified` winning.
#[derive(Debug, Default)]
struct Collected {
    by_id: HashMap<String, usize>,
    advisories: Vec<Advisory>,
}

impl Collected {
    fn insert(&mut self, advisory: Advisory) {
        match self.by_id.get(&advisory.id) {
            Some(&at) => {
                // RFC 3339 UTC timestamps order as text.
                if advisory.modified > self.advisories[at].modified {
                    self.advisories[at] = advisory;
                }
            }
            None => {
                self.by_id
                    .insert(advisory.id.clone(), self.advisories.len());
                self.advisories.push(advisory);
            }
        }
    }

    /// The snapshot of what was gathered. `created_at` `None` means now.
    fn into_db(self, source: String, created_at: Option<String>) -> AdvisoryDb {
        let mut advisories = self.advisories;
        advisories.sort_by(|a, b| a.id.cmp(&b.id));
        let body = index::body(&advisories);
        let newest_modified = advisories.iter().filter_map(|a| a.modified.clone()).max();
        let snapshot = AdvisorySnapshot {
            id: snapshot_id(&body),
            source,
            created_at: created_at.unwrap_or_else(now),
            advisory_count: advisories.len(),
            package_count: 0,
            newest_modified,
        };
        AdvisoryDb::assemble(advisories, snapshot)
    }
}

/// The current time as RFC 3339 UTC, seconds precision.
pub(crate) fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A snapshot's id: the start of its index body's SHA-256.
fn snapshot_id(body: &[u8]) -> String {
    let digest = hex::encode(Sha256::digest(body));
    digest[..16].to_owned()
}

impl AdvisoryDb {
    /// No advisories: library checks find nothing.
    pub fn empty() -> AdvisoryDb {
        Collected::default().into_db("empty".to_owned(), Some("1970-01-01T00:00:00Z".to_owned()))
    }

    /// The snapshot shipped in `advisories/`, dated by its newest record.
    pub fn embedded() -> AdvisoryDb {
        let mut collected = Collected::default();
        for (name, text) in EMBEDDED {
            // The shipped files are parsed by a unit test; a failure here is a
            // build defect, not bad input.
            add_json_strict(&mut collected, Path::new(name), text)
                .expect("the embedded advisories are valid OSV");
        }
        let newest = collected
            .advisories
            .iter()
            .filter_map(|a| a.modified.clone())
            .max();
        collected.into_db(EMBEDDED_SOURCE.to_owned(), newest)
    }

    /// Loads every `*.json` file under `path` (recursively, in name order),
    /// each one OSV record or an array of records. Fails on the first file
    /// that cannot be read or is not OSV, naming it: a server must not
    /// start with a silently smaller database. (An OSV export with a few
    /// bad records is imported leniently by [`AdvisoryImport`] instead.)
    pub fn load_dir(path: &Path) -> Result<AdvisoryDb, ScanError> {
        let mut files = Vec::new();
        collect_json_files(path, &mut files)?;
        files.sort();
        let mut collected = Collected::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| ScanError::Io {
                path: file.clone(),
                source,
            })?;
            add_json_strict(&mut collected, &file, &text)?;
        }
        Ok(collected.into_db(path.display().to_string(), None))
    }

    /// An index file ([`AdvisoryDb::load_index`]) or a directory of
    /// records ([`AdvisoryDb::load_dir`]), whichever `path` is.
    pub fn load(path: &Path) -> Result<AdvisoryDb, ScanError> {
        if path.is_dir() {
            AdvisoryDb::load_dir(path)
        } else {
            AdvisoryDb::load_index(path)
        }
    }

    /// Active (not withdrawn) advisories.
    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// Which data this is; every scan report names it.
    pub fn snapshot(&self) -> &AdvisorySnapshot {
        &self.snapshot
    }

    /// The lookup map over `advisories`, and the counts of the snapshot.
    fn assemble(mut advisories: Vec<Advisory>, mut snapshot: AdvisorySnapshot) -> AdvisoryDb {
        // Deserialized vectors grow by doubling from four; most hold one
        // or two items, so trimming them is about a sixth of the memory.
        advisories.shrink_to_fit();
        for advisory in &mut advisories {
            advisory.aliases.shrink_to_fit();
            advisory.affected.shrink_to_fit();
            for package in &mut advisory.affected {
                package.ranges.shrink_to_fit();
                for range in &mut package.ranges {
                    range.events.shrink_to_fit();
                }
            }
        }
        let mut packages: HashMap<(Ecosystem, String), Vec<(u32, u32)>> = HashMap::new();
        for (a, advisory) in advisories.iter().enumerate() {
            for (p, package) in advisory.affected.iter().enumerate() {
                // Both fit: an index holds far fewer than 4 billion records.
                let at = (a as u32, p as u32);
                let key = (
                    package.ecosystem,
                    normalize_name(package.ecosystem, &package.name),
                );
                packages.entry(key).or_default().push(at);
            }
        }
        packages.shrink_to_fit();
        snapshot.advisory_count = advisories.len();
        snapshot.package_count = packages.len();
        AdvisoryDb {
            advisories,
            packages,
            snapshot,
        }
    }

    /// Every advisory that affects `library`, or whose ranges cannot be
    /// evaluated for it; one entry per advisory, in load order.
    pub(crate) fn check(&self, library: &Library) -> Vec<Match> {
        let key = (
            library.ecosystem,
            normalize_name(library.ecosystem, &library.name),
        );
        let Some(entries) = self.packages.get(&key) else {
            return Vec::new();
        };
        let mut out: Vec<Match> = Vec::new();
        for &(a, p) in entries {
            let advisory = &self.advisories[a as usize];
            let entry = &advisory.affected[p as usize];
            let Some(outcome) = evaluate(library.ecosystem, entry, &library.version) else {
                continue;
            };
            if let Some(existing) = out.iter_mut().find(|m| m.id == advisory.id) {
                // Several `affected` entries of one advisory: affected wins.
                if matches!(outcome, Outcome::Affected { .. }) {
                    existing.outcome = outcome;
                }
                continue;
            }
            out.push(Match {
                outcome,
                severity: advisory.severity,
                id: advisory.id.clone(),
                aliases: advisory.aliases.clone(),
                summary: advisory.summary.clone(),
            });
        }
        out
    }
}

/// One file of records, every record required to be usable OSV.
fn add_json_strict(collected: &mut Collected, path: &Path, text: &str) -> Result<(), ScanError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|source| ScanError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    let records = match value {
        serde_json::Value::Array(items) => items,
        other => vec![other],
    };
    for record in records {
        let record: OsvRecord =
            serde_json::from_value(record).map_err(|source| ScanError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        match convert(record) {
            Ok(Some(advisory)) => collected.insert(advisory),
            Ok(None) => {}
            Err(reason) => {
                return Err(ScanError::InvalidAdvisory {
                    path: path.to_path_buf(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ScanError> {
    let io = |source| ScanError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io)?;
        if kind.is_dir() {
            collect_json_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// One `affected` entry against one version: `None` when not affected.
fn evaluate(ecosystem: Ecosystem, entry: &AffectedPackage, version: &str) -> Option<Outcome> {
    let ecosystem_scheme = Scheme::for_ecosystem(ecosystem);
    let parsed = ecosystem_scheme.parse(version);
    let listed = entry.versions.iter().any(|v| {
        v == version
            || parsed
                .as_ref()
                .is_some_and(|p| ecosystem_scheme.parse(v).as_ref() == Some(p))
    });
    if listed {
        return Some(Outcome::Affected { fixed: None });
    }
    let mut unverifiable = false;
    for range in &entry.ranges {
        let scheme = match range.kind {
            RangeKind::Semver => Scheme::Semver,
            RangeKind::Ecosystem => ecosystem_scheme,
        };
        match evaluate_range(scheme, &range.events, version) {
            Some(RangeOutcome::Affected { fixed }) => return Some(Outcome::Affected { fixed }),
            Some(RangeOutcome::NotAffected) => {}
            None => unverifiable = true,
        }
    }
    unverifiable.then_some(Outcome::Unverifiable)
}

enum RangeOutcome {
    Affected { fixed: Option<String> },
    NotAffected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    // Tie order at equal versions: open, then close.
    Introduced,
    LastAffected,
    Fixed,
    Limit,
}

/// The OSV range evaluation; `None` when a version does not parse.
fn evaluate_range(scheme: Scheme, events: &[Event], version: &str) -> Option<RangeOutcome> {
    let v = scheme.parse(version)?;
    // (key, kind, text); `None` key = "0" (before everything) or limit "*"
    // (after everything).
    let mut parsed: Vec<(Option<Key>, EventKind, &str)> = Vec::new();
    for event in events {
        let (kind, text) = match event {
            Event::Introduced(t) => (EventKind::Introduced, t.as_str()),
            Event::Fixed(t) => (EventKind::Fixed, t.as_str()),
            Event::LastAffected(t) => (EventKind::LastAffected, t.as_str()),
            Event::Limit(t) => (EventKind::Limit, t.as_str()),
        };
        let key = match (kind, text) {
            (EventKind::Introduced, "0") | (EventKind::Limit, "*") => None,
            _ => Some(scheme.parse(text)?),
        };
        parsed.push((key, kind, text));
    }
    let (limits, mut events): (Vec<_>, Vec<_>) = parsed
        .into_iter()
        .partition(|(_, kind, _)| *kind == EventKind::Limit);
    events.sort_by(|a, b| {
        let by_version = match (&a.0, &b.0) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Equal),
        };
        by_version.then(a.1.cmp(&b.1))
    });
    let mut affected = false;
    let mut fixed: Option<&str> = None;
    for (key, kind, text) in &events {
        match kind {
            EventKind::Introduced => {
                if key.as_ref().is_none_or(|k| v >= *k) {
                    affected = true;
                    fixed = None;
                }
            }
            EventKind::Fixed => {
                if let Some(k) = key {
                    if v >= *k {
                        affected = false;
                    } else if affected && fixed.is_none() {
                        fixed = Some(text);
                    }
                }
            }
            EventKind::LastAffected => {
                if let Some(k) = key
                    && v > *k
                {
                    affected = false;
                }
            }
            EventKind::Limit => {}
        }
    }
    if affected && !limits.is_empty() {
        let below_a_limit = limits
            .iter()
            .any(|(key, _, _)| key.as_ref().is_none_or(|k| v < *k));
        affected = below_a_limit;
    }
    Some(if affected {
        RangeOutcome::Affected {
            fixed: fixed.map(str::to_owned),
        }
    } else {
        RangeOutcome::NotAffected
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_snapshot_loads() {
        let db = AdvisoryDb::embedded();
        assert_eq!(db.len(), EMBEDDED.len());
        let snapshot = db.snapshot();
        assert_eq!(snapshot.source, EMBEDDED_SOURCE);
        assert_eq!(snapshot.advisory_count, EMBEDDED.len());
        assert_eq!(snapshot.created_at, "2024-07-25T20:12:08Z");
        assert_eq!(
            snapshot.newest_modified.as_deref(),
            Some("2024-07-25T20:12:08Z")
        );
        assert_eq!(snapshot.id.len(), 16);
        // The same records give the same id.
        assert_eq!(AdvisoryDb::embedded().snapshot().id, snapshot.id);
        assert_ne!(AdvisoryDb::empty().snapshot().id, snapshot.id);
    }

    #[test]
    fn names_normalize_per_ecosystem() {
        assert_eq!(normalize_name(Ecosystem::PyPI, "PyYAML"), "pyyaml");
        assert_eq!(
            normalize_name(Ecosystem::PyPI, "Foo__Bar.-baz"),
            "foo-bar-baz"
        );
        assert_eq!(
            normalize_name(Ecosystem::NuGet, "Newtonsoft.JSON"),
            "newtonsoft.json"
        );
        assert_eq!(normalize_name(Ecosystem::Npm, "Lodash"), "Lodash");
        assert_eq!(
            normalize_name(Ecosystem::CratesIo, "Serde_JSON"),
            "serde-json"
        );
        assert_eq!(
            normalize_name(Ecosystem::Maven, "org.apache.logging.log4j:log4j-core"),
            "org.apache.logging.log4j:log4j-core"
        );
    }
}
