//! Version ordering per ecosystem, for OSV range events.
//!
//! - `SEMVER` ranges, npm and crates.io: Semantic Versioning 2.0 via the
//!   `semver` crate, build metadata ignored, so `1.2.6-beta < 1.2.6`. A
//!   leading `v` or `=` is dropped and a missing minor or patch is read as
//!   0 (`1.2` → `1.2.0`), as npm's loose parser does.
//! - PyPI: PEP 440 (epoch, release with trailing zeros ignored, `a`/`b`/`rc`
//!   pre-releases and their spellings, `.post`, `.dev`, local `+...`).
//! - Maven: the rules of Maven's `ComparableVersion`, flattened: items split
//!   at `.`, `-` and letter/digit changes; numbers compare numerically and
//!   above qualifiers; qualifiers order `alpha < beta < milestone < rc < snapshot
//!   < (release, ga, final) < sp < others` (others alphabetically); trailing
//!   zeros and release qualifiers are ignored. `2.0-beta9 < 2.0 < 2.0.1`. The
//!   flattening loses Maven's distinction between `1-1` and `1.1`, which
//!   advisory ranges do not rely on.
//! - NuGet: NuGet's SemVer 2.0 reading: up to four numeric parts (missing
//!   ones are 0), pre-release labels compared case-insensitively, metadata
//!   ignored.
//!
//! A string a scheme cannot read gives `None`; the caller then reports the
//! library as unverifiable instead of guessing.

use std::cmp::Ordering;

use installhub_domain::Ecosystem;

/// How versions are ordered for one range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    Semver,
    Pep440,
    Maven,
    NuGet,
}

impl Scheme {
    /// The ordering of an `ECOSYSTEM` range for this ecosystem.
    pub(crate) fn for_ecosystem(ecosystem: Ecosystem) -> Scheme {
        match ecosystem {
            Ecosystem::Npm | Ecosystem::CratesIo => Scheme::Semver,
            Ecosystem::PyPI => Scheme::Pep440,
            Ecosystem::Maven => Scheme::Maven,
            Ecosystem::NuGet => Scheme::NuGet,
        }
    }

    pub(crate) fn parse(self, version: &str) -> Option<Key> {
        let version = version.trim();
        if version.is_empty() {
            return None;
        }
        Some(match self {
            Scheme::Semver => Key::Semver(parse_semver(version)?),
            Scheme::Pep440 => Key::Pep440(Pep440::parse(version)?),
            Scheme::Maven => Key::Maven(MavenVersion::parse(version)?),
            Scheme::NuGet => Key::NuGet(NuGetVersion::parse(version)?),
        })
    }
}

/// A parsed version. Keys of different schemes never meet: one range is
/// read with one scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    Semver(semver::Version),
    Pep440(Pep440),
    Maven(MavenVersion),
    NuGet(NuGetVersion),
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        match (self, other) {
            (Key::Semver(a), Key::Semver(b)) => Some(a.cmp(b)),
            (Key::Pep440(a), Key::Pep440(b)) => Some(a.cmp(b)),
            (Key::Maven(a), Key::Maven(b)) => Some(a.cmp(b)),
            (Key::NuGet(a), Key::NuGet(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

fn parse_semver(version: &str) -> Option<semver::Version> {
    let v = version.trim_start_matches(['v', 'V', '=']).trim();
    let parsed = semver::Version::parse(v).ok().or_else(|| {
        // npm-style loose reading: `1.2` → `1.2.0`, `1` → `1.0.0`.
        let (core, rest) = match v.find(['-', '+']) {
            Some(i) => v.split_at(i),
            None => (v, ""),
        };
        let parts = core.split('.').count();
        let padded = match parts {
            1 => format!("{core}.0.0{rest}"),
            2 => format!("{core}.0{rest}"),
            _ => return None,
        };
        semver::Version::parse(&padded).ok()
    })?;
    // Build metadata has no precedence (SemVer §10).
    Some(semver::Version {
        build: semver::BuildMetadata::EMPTY,
        ..parsed
    })
}

/// PEP 440 sort key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pep440 {
    epoch: u64,
    release: Vec<u64>,
    pre: PreKey,
    post: Option<u64>,
    dev: DevKey,
    local: Option<Vec<LocalSegment>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey {
    /// A dev release of a final version (`1.0.dev1`) sorts before its pre-releases.
    DevOnly,
    Pre(u8, u64),
    Final,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum DevKey {
    Dev(u64),
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    Text(String),
    Number(u64),
}

impl Pep440 {
    fn parse(version: &str) -> Option<Pep440> {
        let v = version.to_ascii_lowercase();
        let v = v.strip_prefix('v').unwrap_or(&v);
        let (v, local) = match v.split_once('+') {
            Some((v, local)) => (v, Some(local)),
            None => (v, None),
        };
        let (epoch, rest) = match v.split_once('!') {
            Some((e, rest)) => (e.parse().ok()?, rest),
            None => (0, v),
        };
        let mut s = Cursor {
            s: rest.as_bytes(),
            i: 0,
        };
        let mut release = vec![s.number()?];
        while s.peek() == Some(b'.') && s.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            s.i += 1;
            release.push(s.number()?);
        }
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let mut pre = None;
        let mut post = None;
        let mut dev = None;
        // Pre-release.
        let save = s.i;
        s.separator();
        if let Some(kind) = s.word(&[
            ("alpha", 0),
            ("a", 0),
            ("beta", 1),
            ("b", 1),
            ("preview", 2),
            ("pre", 2),
            ("rc", 2),
            ("c", 2),
        ]) {
            s.separator();
            pre = Some((kind, s.number().unwrap_or(0)));
        } else {
            s.i = save;
        }
        // Post-release: `-N` or `.postN`/`revN`/`rN`.
        let save = s.i;
        if s.peek() == Some(b'-') && s.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            s.i += 1;
            post = Some(s.number()?);
        } else {
            s.separator();
            if s.word(&[("post", 0), ("rev", 0), ("r", 0)]).is_some() {
                s.separator();
                post = Some(s.number().unwrap_or(0));
            } else {
                s.i = save;
            }
        }
        // Dev release.
        let save = s.i;
        s.separator();
        if s.word(&[("dev", 0)]).is_some() {
            s.separator();
            dev = Some(s.number().unwrap_or(0));
        } else {
            s.i = save;
        }
        if s.i != s.s.len() {
            return None;
        }
        let local = match local {
            None => None,
            Some(l) => Some(
                l.split(['.', '-', '_'])
                    .map(|seg| {
                        if seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric()) {
                            None
                        } else if seg.bytes().all(|b| b.is_ascii_digit()) {
                            seg.parse().ok().map(LocalSegment::Number)
                        } else {
                            Some(LocalSegment::Text(seg.to_owned()))
                        }
                    })
                    .collect::<Option<Vec<_>>>()?,
            ),
        };
        let pre = match (pre, post, dev) {
            (Some((kind, n)), _, _) => PreKey::Pre(kind, n),
            (None, None, Some(_)) => PreKey::DevOnly,
            (None, _, _) => PreKey::Final,
        };
        Some(Pep440 {
            epoch,
            release,
            pre,
            post,
            dev: dev.map_or(DevKey::None, DevKey::Dev),
            local,
        })
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.s.get(self.i + ahead).copied()
    }

    fn number(&mut self) -> Option<u64> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        if start == self.i {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }

    fn separator(&mut self) {
        if matches!(self.peek(), Some(b'.' | b'-' | b'_')) {
            self.i += 1;
        }
    }

    /// The first of `words` (longest listed first) at the cursor.
    fn word(&mut self, words: &[(&str, u8)]) -> Option<u8> {
        let rest = &self.s[self.i..];
        let (word, value) = words.iter().find(|(w, _)| rest.starts_with(w.as_bytes()))?;
        self.i += word.len();
        Some(*value)
    }
}

/// Maven `ComparableVersion`, flattened (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MavenVersion {
    items: Vec<MavenItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum MavenItem {
    Number(u64),
    /// Rank of a known qualifier, or `OTHER` with the text.
    Qualifier(u8, String),
}

const MAVEN_RELEASE: u8 = 5;
const MAVEN_OTHER: u8 = 7;

fn maven_qualifier(q: &str, followed_by_digit: bool) -> MavenItem {
    let q = match q {
        "a" if followed_by_digit => "alpha",
        "b" if followed_by_digit => "beta",
        "m" if followed_by_digit => "milestone",
        "cr" => "rc",
        "ga" | "final" | "release" => "",
        other => other,
    };
    let rank = match q {
        "alpha" => 0,
        "beta" => 1,
        "milestone" => 2,
        "rc" => 3,
        "snapshot" => 4,
        "" => MAVEN_RELEASE,
        "sp" => 6,
        _ => MAVEN_OTHER,
    };
    let text = if rank == MAVEN_OTHER {
        q.to_owned()
    } else {
        String::new()
    };
    MavenItem::Qualifier(rank, text)
}

impl MavenVersion {
    fn parse(version: &str) -> Option<MavenVersion> {
        let v = version.to_ascii_lowercase();
        if !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
        {
            return None;
        }
        let bytes = v.as_bytes();
        let mut items = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if matches!(bytes[i], b'.' | b'-' | b'_' | b'+') {
                i += 1;
                continue;
            }
            let start = i;
            let digits = bytes[i].is_ascii_digit();
            while i < bytes.len()
                && bytes[i].is_ascii_alphanumeric()
                && bytes[i].is_ascii_digit() == digits
            {
                i += 1;
            }
            let token = &v[start..i];
            if digits {
                let trimmed = token.trim_start_matches('0');
                let n = if trimmed.is_empty() {
                    0
                } else {
                    trimmed.parse().ok()?
                };
                items.push(MavenItem::Number(n));
            } else {
                let followed_by_digit = bytes.get(i).is_some_and(u8::is_ascii_digit);
                items.push(maven_qualifier(token, followed_by_digit));
            }
        }
        if items.is_empty() {
            return None;
        }
        while matches!(
            items.last(),
            Some(MavenItem::Number(0)) | Some(MavenItem::Qualifier(MAVEN_RELEASE, _))
        ) && items.len() > 1
        {
            items.pop();
        }
        Some(MavenVersion { items })
    }
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let len = self.items.len().max(other.items.len());
        for i in 0..len {
            let ord = match (self.items.get(i), other.items.get(i)) {
                (Some(a), Some(b)) => maven_item_cmp(a, b),
                (Some(a), None) => maven_item_vs_missing(a),
                (None, Some(b)) => maven_item_vs_missing(b).reverse(),
                (None, None) => Ordering::Equal,
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn maven_item_cmp(a: &MavenItem, b: &MavenItem) -> Ordering {
    match (a, b) {
        (MavenItem::Number(x), MavenItem::Number(y)) => x.cmp(y),
        (MavenItem::Number(_), MavenItem::Qualifier(..)) => Ordering::Greater,
        (MavenItem::Qualifier(..), MavenItem::Number(_)) => Ordering::Less,
        (MavenItem::Qualifier(r1, t1), MavenItem::Qualifier(r2, t2)) => {
            r1.cmp(r2).then_with(|| t1.cmp(t2))
        }
    }
}

/// An item against the end of a shorter version: numbers against 0,
/// qualifiers against "release".
fn maven_item_vs_missing(item: &MavenItem) -> Ordering {
    match item {
        MavenItem::Number(n) => n.cmp(&0),
        MavenItem::Qualifier(rank, _) => rank.cmp(&MAVEN_RELEASE),
    }
}

/// NuGet version sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NuGetVersion {
    numbers: [u64; 4],
    pre: Option<Vec<String>>,
}

impl NuGetVersion {
    fn parse(version: &str) -> Option<NuGetVersion> {
        let v = version.split('+').next().unwrap_or_default();
        let (core, pre) = match v.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (v, None),
        };
        let parts: Vec<&str> = core.split('.').collect();
        if parts.is_empty() || parts.len() > 4 {
            return None;
        }
        let mut numbers = [0u64; 4];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        let pre = match pre {
            None => None,
            Some(p) => {
                let labels: Vec<String> = p.split('.').map(str::to_ascii_lowercase).collect();
                if labels.iter().any(|l| {
                    l.is_empty() || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                }) {
                    return None;
                }
                Some(labels)
            }
        };
        Some(NuGetVersion { numbers, pre })
    }
}

impl Ord for NuGetVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers
            .cmp(&other.numbers)
            .then_with(|| match (&self.pre, &other.pre) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(a), Some(b)) => {
                    for (x, y) in a.iter().zip(b) {
                        let ord = match (x.parse::<u64>(), y.parse::<u64>()) {
                            (Ok(m), Ok(n)) => m.cmp(&n),
                            (Ok(_), Err(_)) => Ordering::Less,
                            (Err(_), Ok(_)) => Ordering::Greater,
                            (Err(_), Err(_)) => x.cmp(y),
                        };
                        if ord != Ordering::Equal {
                            return ord;
                        }
                    }
                    a.len().cmp(&b.len())
                }
            })
    }
}

impl PartialOrd for NuGetVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(scheme: Scheme, a: &str, b: &str) -> Ordering {
        let a = scheme.parse(a).unwrap_or_else(|| panic!("{a} parses"));
        let b = scheme.parse(b).unwrap_or_else(|| panic!("{b} parses"));
        a.partial_cmp(&b).unwrap()
    }

    fn ascending(scheme: Scheme, versions: &[&str]) {
        for pair in versions.windows(2) {
            assert_eq!(
                cmp(scheme, pair[0], pair[1]),
                Ordering::Less,
                "{} < {}",
                pair[0],
                pair[1]
            );
            assert_eq!(
                cmp(scheme, pair[1], pair[0]),
                Ordering::Greater,
                "{} > {}",
                pair[1],
                pair[0]
            );
        }
    }

    #[test]
    fn semver_order() {
        ascending(
            Scheme::Semver,
            &[
                "0.2.3",
                "0.2.4",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-beta",
                "1.2.6-beta",
                "1.2.6",
                "1.10.0",
            ],
        );
        assert_eq!(
            cmp(Scheme::Semver, "1.2.3+build.5", "1.2.3"),
            Ordering::Equal
        );
        assert_eq!(cmp(Scheme::Semver, "v1.2", "1.2.0"), Ordering::Equal);
        assert!(Scheme::Semver.parse("latest").is_none());
        assert!(Scheme::Semver.parse("1.2.3.4").is_none());
        assert!(Scheme::Semver.parse("").is_none());
    }

    #[test]
    fn pep440_order() {
        ascending(
            Scheme::Pep440,
            &[
                "1.0.dev1",
                "1.0a1",
                "1.0a2.dev3",
                "1.0a2",
                "1.0b1",
                "1.0rc1",
                "1.0",
                "1.0+local.1",
                "1.0.post1.dev1",
                "1.0.post1",
                "1.1",
                "5.3.1",
                "5.4",
                "2!0.1",
            ],
        );
        assert_eq!(cmp(Scheme::Pep440, "5.4", "5.4.0"), Ordering::Equal);
        assert_eq!(cmp(Scheme::Pep440, "1.0-alpha-1", "1.0a1"), Ordering::Equal);
        assert_eq!(cmp(Scheme::Pep440, "1.0-1", "1.0.post1"), Ordering::Equal);
        assert_eq!(cmp(Scheme::Pep440, "V1.0RC2", "1.0rc2"), Ordering::Equal);
        assert!(Scheme::Pep440.parse("not a version").is_none());
        assert!(Scheme::Pep440.parse("1.0foo").is_none());
    }

    #[test]
    fn maven_order() {
        ascending(
            Scheme::Maven,
            &[
                "2.0-alpha1",
                "2.0-beta9",
                "2.0-rc1",
                "2.0-SNAPSHOT",
                "2.0",
                "2.0-sp1",
                "2.0.1",
                "2.3.1",
                "2.4",
                "2.12.1",
                "2.12.2",
                "2.13.0",
                "2.14.1",
                "2.15.0",
            ],
        );
        assert_eq!(cmp(Scheme::Maven, "2.0", "2.0.0"), Ordering::Equal);
        assert_eq!(cmp(Scheme::Maven, "2.0.GA", "2.0"), Ordering::Equal);
        assert_eq!(cmp(Scheme::Maven, "1.0-cr1", "1.0-rc1"), Ordering::Equal);
        assert_eq!(cmp(Scheme::Maven, "1.0a1", "1.0-alpha-1"), Ordering::Equal);
        assert!(Scheme::Maven.parse("1.0 beta").is_none());
    }

    #[test]
    fn nuget_order() {
        ascending(
            Scheme::NuGet,
            &[
                "1.0.0-alpha",
                "1.0.0-Beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "12.0.3",
                "13.0.1",
                "13.0.1.1",
            ],
        );
        assert_eq!(cmp(Scheme::NuGet, "13.0", "13.0.0.0"), Ordering::Equal);
        assert_eq!(
            cmp(Scheme::NuGet, "1.0.0-BETA", "1.0.0-beta"),
            Ordering::Equal
        );
        assert_eq!(cmp(Scheme::NuGet, "1.0.0+meta", "1.0.0"), Ordering::Equal);
        assert!(Scheme::NuGet.parse("1.0.0.0.0").is_none());
        assert!(Scheme::NuGet.parse("one").is_none());
    }
}
