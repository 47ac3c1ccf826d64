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
//! HIGH, MODERATE/MEDIUM, LOW); else the highest CVSS v3 base score in
//! `severity[]`, computed from the vector; else High. CVSS v2 and v4 vectors
//! are not scored (v4 needs FIRST's lookup tables); such a record falls back
//! to High, which warns but does not fail.

pub(crate) mod cvss;
pub(crate) mod version;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use installhub_domain::{Ecosystem, Library};
use serde::Deserialize;

use crate::error::ScanError;
use crate::report::{AdvisoryRef, Severity};
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

/// The OSV fields we read; everything else is ignored.
#[derive(Debug, Deserialize)]
struct OsvRecord {
    id: String,
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

#[derive(Debug, Clone, Deserialize)]
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

#[derive(Debug, Clone)]
struct Advisory {
    id: String,
    aliases: Vec<String>,
    summary: Option<String>,
    severity: Severity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    Semver,
    Ecosystem,
}

#[derive(Debug, Clone)]
struct Range {
    kind: RangeKind,
    events: Vec<OsvEvent>,
}

#[derive(Debug, Clone)]
struct AffectedPackage {
    advisory: usize,
    ranges: Vec<Range>,
    versions: Vec<String>,
}

/// OSV advisories indexed by (ecosystem, normalized package name).
#[derive(Debug, Clone, Default)]
pub struct AdvisoryDb {
    advisories: Vec<Advisory>,
    packages: HashMap<(Ecosystem, String), Vec<AffectedPackage>>,
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
                .filter(|s| s.kind == "CVSS_V3")
                .filter_map(|s| cvss::base_score_v3(&s.score))
                .max_by(f64::total_cmp)
                .map(cvss::rating)
        })
        .unwrap_or(Severity::High)
}

impl AdvisoryDb {
    /// No advisories: library checks find nothing.
    pub fn empty() -> AdvisoryDb {
        AdvisoryDb::default()
    }

    /// The snapshot shipped in `advisories/`.
    pub fn embedded() -> AdvisoryDb {
        let mut db = AdvisoryDb::default();
        for (name, text) in EMBEDDED {
            // The shipped files are parsed by a unit test; a failure here is a
            // build defect, not bad input.
            db.add_json(Path::new(name), text)
                .expect("the embedded advisories are valid OSV");
        }
        db
    }

    /// Loads every `*.json` file under `path` (recursively, in name order),
    /// each one OSV record or an array of records. Fails on the first file
    /// that cannot be read or is not OSV, naming it: a server must not
    /// start with a silently smaller database.
    pub fn load_dir(path: &Path) -> Result<AdvisoryDb, ScanError> {
        let mut files = Vec::new();
        collect_json_files(path, &mut files)?;
        files.sort();
        let mut db = AdvisoryDb::default();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|source| ScanError::Io {
                path: file.clone(),
                source,
            })?;
            db.add_json(&file, &text)?;
        }
        Ok(db)
    }

    /// Active (not withdrawn) advisories.
    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    fn add_json(&mut self, path: &Path, text: &str) -> Result<(), ScanError> {
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
            self.add(path, record)?;
        }
        Ok(())
    }

    fn add(&mut self, path: &Path, record: OsvRecord) -> Result<(), ScanError> {
        if record.id.trim().is_empty() {
            return Err(ScanError::InvalidAdvisory {
                path: path.to_path_buf(),
                reason: "empty `id`".to_owned(),
            });
        }
        if record.withdrawn.is_some() {
            return Ok(());
        }
        let index = self.advisories.len();
        self.advisories.push(Advisory {
            id: record.id.clone(),
            aliases: record.aliases.clone(),
            summary: record.summary.clone(),
            severity: severity_of(&record),
        });
        for affected in record.affected {
            let Some(package) = affected.package else {
                continue;
            };
            let Some(ecosystem) = Ecosystem::parse(&package.ecosystem) else {
                continue;
            };
            let ranges = affected
                .ranges
                .into_iter()
                .filter_map(|r| {
                    let kind = match r.kind.as_str() {
                        "SEMVER" => RangeKind::Semver,
                        "ECOSYSTEM" => RangeKind::Ecosystem,
                        // GIT ranges name commits, not versions.
                        _ => return None,
                    };
                    Some(Range {
                        kind,
                        events: r.events,
                    })
                })
                .collect();
            self.packages
                .entry((ecosystem, normalize_name(ecosystem, &package.name)))
                .or_default()
                .push(AffectedPackage {
                    advisory: index,
                    ranges,
                    versions: affected.versions,
                });
        }
        Ok(())
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
        for entry in entries {
            let Some(outcome) = evaluate(library.ecosystem, entry, &library.version) else {
                continue;
            };
            let advisory = &self.advisories[entry.advisory];
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
fn evaluate_range(scheme: Scheme, events: &[OsvEvent], version: &str) -> Option<RangeOutcome> {
    let v = scheme.parse(version)?;
    // (key, kind, text); `None` key = "0" (before everything) or limit "*"
    // (after everything).
    let mut parsed: Vec<(Option<Key>, EventKind, &str)> = Vec::new();
    for event in events {
        let pairs = [
            (&event.introduced, EventKind::Introduced),
            (&event.fixed, EventKind::Fixed),
            (&event.last_affected, EventKind::LastAffected),
            (&event.limit, EventKind::Limit),
        ];
        for (text, kind) in pairs {
            let Some(text) = text.as_deref() else {
                continue;
            };
            let key = match (kind, text) {
                (EventKind::Introduced, "0") | (EventKind::Limit, "*") => None,
                _ => Some(scheme.parse(text)?),
            };
            parsed.push((key, kind, text));
        }
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
