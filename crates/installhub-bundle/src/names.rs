//! Entry names: what a bundle may contain, judged on the raw bytes of the
//! central directory (SECURITY.md 1, 2, 4 and 10).
//!
//! The `zip` crate's `enclosed_name()` and `mangled_name()` repair names
//! (`/etc/x` becomes `etc/x`); we refuse them instead. The allowlist is
//! ASCII-only (`manifest.json`, `artifacts/`, `artifacts/<artifactId>.json`
//! with ids of `[A-Za-z0-9._-]`), so Unicode-normalisation twins cannot pass
//! it, and case-folding ASCII is enough to find names that collide on a
//! case-insensitive file system.

use std::collections::HashMap;

use installhub_domain::ArtifactId;
use installhub_domain::ids::printable;
use installhub_domain::manifest::MANIFEST_PATH;

/// The directory entry some tools add before the artifact files.
pub(crate) const ARTIFACTS_DIR: &str = "artifacts/";

/// What an allowed entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Manifest,
    ArtifactsDir,
    Artifact(ArtifactId),
}

/// The name for use in messages: escaped and shortened, quoted.
pub(crate) fn shown(raw: &[u8]) -> String {
    format!("'{}'", printable(&String::from_utf8_lossy(raw)))
}

/// Classifies one raw name, or says precisely why it is refused.
pub(crate) fn classify(raw: &[u8]) -> Result<EntryKind, String> {
    let name = check_safe(raw)?;
    if name == MANIFEST_PATH {
        return Ok(EntryKind::Manifest);
    }
    if name == ARTIFACTS_DIR {
        return Ok(EntryKind::ArtifactsDir);
    }
    let Some(stem) = name
        .strip_prefix(ARTIFACTS_DIR)
        .and_then(|rest| rest.strip_suffix(".json"))
    else {
        return Err(format!(
            "unexpected entry {}: a bundle holds only manifest.json and artifacts/<artifactId>.json",
            shown(raw)
        ));
    };
    ArtifactId::parse(stem)
        .map(EntryKind::Artifact)
        .map_err(|e| format!("entry {} is not an artifact file: {e}", shown(raw)))
}

/// The checks that make a name unsafe anywhere, before the allowlist:
/// encoding, control characters, separators, absolute paths, traversal.
fn check_safe(raw: &[u8]) -> Result<&str, String> {
    let fail = |what: &str| Err(format!("entry name {} {what}", shown(raw)));
    if raw.is_empty() {
        return Err("an entry has an empty name".to_owned());
    }
    let Ok(name) = std::str::from_utf8(raw) else {
        return fail("is not valid UTF-8");
    };
    if name.contains('\0') {
        return fail("contains a NUL byte");
    }
    if name.chars().any(char::is_control) {
        return fail("contains a control character");
    }
    if name.contains('\\') {
        return fail("contains a backslash");
    }
    if name.starts_with('/') {
        return fail("is an absolute path");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return fail("starts with a drive letter");
    }
    // A trailing '/' marks a directory; any other empty component is "a//b".
    let body = name.strip_suffix('/').unwrap_or(name);
    for component in body.split('/') {
        match component {
            ".." => return fail("contains a '..' component"),
            "." => return fail("contains a '.' component"),
            "" => return fail("contains an empty path component"),
            _ => {}
        }
    }
    Ok(name)
}

/// Classifies every name of the central directory, in order, and refuses
/// repeated names and names equal when case-folded.
pub(crate) fn classify_all<'a>(
    names: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<EntryKind>, String> {
    let mut kinds = Vec::new();
    let mut folded: HashMap<Vec<u8>, &[u8]> = HashMap::new();
    for raw in names {
        kinds.push(classify(raw)?);
        if let Some(earlier) = folded.insert(raw.to_ascii_lowercase(), raw) {
            return Err(if earlier == raw {
                format!("entry {} appears more than once", shown(raw))
            } else {
                format!(
                    "entries {} and {} differ only in letter case",
                    shown(earlier),
                    shown(raw)
                )
            });
        }
    }
    Ok(kinds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_names() {
        assert_eq!(classify(b"manifest.json"), Ok(EntryKind::Manifest));
        assert_eq!(classify(b"artifacts/"), Ok(EntryKind::ArtifactsDir));
        assert_eq!(
            classify(b"artifacts/proc-1001.json"),
            Ok(EntryKind::Artifact(ArtifactId::parse("proc-1001").unwrap()))
        );
        assert_eq!(
            classify(b"artifacts/a.json.json"),
            Ok(EntryKind::Artifact(ArtifactId::parse("a.json").unwrap()))
        );
    }

    #[test]
    fn each_unsafe_name_is_refused_for_its_reason() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "an entry has an empty name"),
            (
                b"artifacts/\xff.json",
                "entry name 'artifacts/\u{fffd}.json' is not valid UTF-8",
            ),
            (
                b"artifacts/a\0.json",
                "entry name 'artifacts/a\\0.json' contains a NUL byte",
            ),
            (
                b"artifacts/a\n.json",
                "entry name 'artifacts/a\\n.json' contains a control character",
            ),
            (
                b"artifacts/a\x7f.json",
                "entry name 'artifacts/a\\u{7f}.json' contains a control character",
            ),
            (
                b"a\\..\\..\\x.json",
                "entry name 'a\\\\..\\\\..\\\\x.json' contains a backslash",
            ),
            (
                b"/etc/x.json",
                "entry name '/etc/x.json' is an absolute path",
            ),
            (
                b"C:x.json",
                "entry name 'C:x.json' starts with a drive letter",
            ),
            (
                b"../x.json",
                "entry name '../x.json' contains a '..' component",
            ),
            (
                b"artifacts/../manifest.json",
                "entry name 'artifacts/../manifest.json' contains a '..' component",
            ),
            (
                b"./manifest.json",
                "entry name './manifest.json' contains a '.' component",
            ),
            (
                b"artifacts//a.json",
                "entry name 'artifacts//a.json' contains an empty path component",
            ),
            (
                b"README.md",
                "unexpected entry 'README.md': a bundle holds only manifest.json and artifacts/<artifactId>.json",
            ),
            (
                b"pkg/manifest.json",
                "unexpected entry 'pkg/manifest.json': a bundle holds only manifest.json and artifacts/<artifactId>.json",
            ),
            (
                b"artifacts/a.zip",
                "unexpected entry 'artifacts/a.zip': a bundle holds only manifest.json and artifacts/<artifactId>.json",
            ),
            (
                b"artifacts/sub/",
                "unexpected entry 'artifacts/sub/': a bundle holds only manifest.json and artifacts/<artifactId>.json",
            ),
        ];
        for (raw, reason) in cases {
            assert_eq!(classify(raw).unwrap_err(), *reason, "{raw:?}");
        }
        let bad_id = classify(b"artifacts/-a.json").unwrap_err();
        assert!(
            bad_id.starts_with(
                "entry 'artifacts/-a.json' is not an artifact file: '-a' is not a valid artifact id"
            ),
            "{bad_id}"
        );
    }

    #[test]
    fn repeats_and_case_twins_are_refused() {
        let names: [&[u8]; 3] = [b"artifacts/a.json", b"manifest.json", b"artifacts/a.json"];
        assert_eq!(
            classify_all(names).unwrap_err(),
            "entry 'artifacts/a.json' appears more than once"
        );
        let names: [&[u8]; 2] = [b"artifacts/ab.json", b"artifacts/aB.json"];
        assert_eq!(
            classify_all(names).unwrap_err(),
            "entries 'artifacts/ab.json' and 'artifacts/aB.json' differ only in letter case"
        );
        let names: [&[u8]; 2] = [b"artifacts/a.json", b"artifacts/b.json"];
        assert_eq!(classify_all(names).unwrap().len(), 2);
    }
}
