//! The artifact file inside a bundle (`artifacts/<id>.json`) and its
//! canonical bytes.
//!
//! The bytes are what the manifest hashes, so they must be a pure function of
//! the artifact: serde_json's pretty printer (two-space indent), fields in a
//! fixed order, a trailing newline. serde_json is built without
//! `preserve_order`, so the objects inside `definition` are `BTreeMap`s and
//! serialise with their keys sorted.

use installhub_domain::imported::BundledArtifact;
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactType, Library, Reference, StoredArtifact,
    TenantId,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::transcode::{Transcoded, pretty_from_compact};

/// `artifacts/<id>.json`: an artifact as it travels between tenants, without
/// the owner's tenant and timestamps, which the importing side sets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactFile {
    pub id: ArtifactId,
    #[serde(rename = "type")]
    pub r#type: ArtifactType,
    pub name: String,
    pub version: String,
    pub status: ArtifactStatus,
    pub definition: Value,
    pub references: Vec<Reference>,
    pub libraries: Vec<Library>,
}

/// The same fields by reference, so encoding an [`Artifact`] does not clone
/// its definition. Field order here is the file's field order. `D` is the
/// definition: a [`Value`], or JSON text streamed as it is read
/// ([`Transcoded`]).
#[derive(Serialize)]
struct ArtifactFileRef<'a, D: Serialize = Value> {
    id: &'a ArtifactId,
    #[serde(rename = "type")]
    r#type: ArtifactType,
    name: &'a str,
    version: &'a str,
    status: ArtifactStatus,
    definition: &'a D,
    references: &'a [Reference],
    libraries: &'a [Library],
}

impl ArtifactFile {
    /// The canonical bytes of this file.
    pub fn encode(&self) -> Vec<u8> {
        encode_view(&self.view())
    }

    /// Whether [`ArtifactFile::encode`] gives exactly `bytes`, found without
    /// building the encoding: it is compared as it is written and stops at
    /// the first byte that differs.
    pub fn encodes_to(&self, bytes: &[u8]) -> bool {
        let mut rest = Matching(bytes);
        let written = serde_json::to_writer_pretty(&mut rest, &self.view());
        written.is_ok() && rest.0 == b"\n"
    }

    /// The definition's compact JSON text (what `self.definition.to_string()`
    /// gives), cut out of `bytes`, this file's canonical bytes, instead of
    /// encoding the definition once more: the pretty form is the compact
    /// form with a line break and indentation before each element and a
    /// space after each key's colon, so dropping every space and line break
    /// outside strings gives it back (no string holds a raw line break).
    /// An importer stores definitions as this text; encoding them again
    /// was 3–7% of the CPU of a 480 MB import. `None` when `bytes`
    /// do not have that layout, which canonical bytes
    /// ([`ArtifactFile::encodes_to`]) always have.
    pub fn compact_definition(bytes: &[u8]) -> Option<String> {
        const NEXT: &[u8] = b",\n  \"references\": ";
        let start = memchr::memmem::find(bytes, DEFINITION_LINE)? + DEFINITION_LINE.len();
        let pretty = &bytes[start..];
        let mut compact = Vec::with_capacity(pretty.len());
        let mut depth = 0usize;
        let mut at = 0;
        loop {
            let byte = *pretty.get(at)?;
            match byte {
                b'"' => {
                    let end = string_end(pretty, at)?;
                    compact.extend_from_slice(&pretty[at..=end]);
                    at = end + 1;
                }
                b' ' | b'\n' => {
                    at += 1;
                    continue;
                }
                b'{' | b'[' => {
                    depth += 1;
                    compact.push(byte);
                    at += 1;
                    continue;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    compact.push(byte);
                    at += 1;
                }
                // A number, `true`, `false` or `null`: a value only once
                // its last byte was copied.
                _ => {
                    compact.push(byte);
                    at += 1;
                    if depth == 0 && pretty.get(at) != Some(&b',') {
                        continue;
                    }
                }
            }
            if depth == 0 {
                break;
            }
        }
        if !pretty[at..].starts_with(NEXT) {
            return None;
        }
        String::from_utf8(compact).ok()
    }

    fn view(&self) -> ArtifactFileRef<'_> {
        ArtifactFileRef {
            id: &self.id,
            r#type: self.r#type,
            name: &self.name,
            version: &self.version,
            status: self.status,
            definition: &self.definition,
            references: &self.references,
            libraries: &self.libraries,
        }
    }

    /// The artifact this file installs as in `tenant_id`.
    pub fn into_artifact(
        self,
        tenant_id: TenantId,
        updated_at: chrono::DateTime<chrono::Utc>,
    ) -> Artifact {
        Artifact {
            tenant_id,
            id: self.id,
            artifact_type: self.r#type,
            name: self.name,
            version: self.version,
            status: self.status,
            definition: self.definition,
            references: self.references,
            libraries: self.libraries,
            updated_at,
        }
    }
}

impl ArtifactFile {
    /// Everything but the definition, for the checks an import runs on the
    /// whole package once every file is verified.
    pub fn bundled(&self) -> BundledArtifact {
        BundledArtifact {
            id: self.id.clone(),
            artifact_type: self.r#type,
            name: self.name.clone(),
            version: self.version.clone(),
            status: self.status,
            references: self.references.clone(),
            libraries: self.libraries.clone(),
        }
    }
}

impl From<&Artifact> for ArtifactFile {
    fn from(artifact: &Artifact) -> Self {
        ArtifactFile {
            id: artifact.id.clone(),
            r#type: artifact.artifact_type,
            name: artifact.name.clone(),
            version: artifact.version.clone(),
            status: artifact.status,
            definition: artifact.definition.clone(),
            references: artifact.references.clone(),
            libraries: artifact.libraries.clone(),
        }
    }
}

/// Canonical bytes of an artifact's file: serde_json pretty (two spaces),
/// fields `id, type, name, version, status, definition, references,
/// libraries`, then `"\n"`.
pub fn encode_artifact(artifact: &Artifact) -> Vec<u8> {
    encode_view(&ArtifactFileRef {
        id: &artifact.id,
        r#type: artifact.artifact_type,
        name: &artifact.name,
        version: &artifact.version,
        status: artifact.status,
        definition: &artifact.definition,
        references: &artifact.references,
        libraries: &artifact.libraries,
    })
}

/// Where an artifact file's definition starts. The fields before it are one
/// line each and no string holds a raw line break, so the first such line
/// is the field.
const DEFINITION_LINE: &[u8] = b"\n  \"definition\": ";

/// The index of the quote that closes the JSON string opening at `open`.
fn string_end(text: &[u8], open: usize) -> Option<usize> {
    let mut from = open + 1;
    loop {
        let at = from + memchr::memchr2(b'"', b'\\', text.get(from..)?)?;
        if text[at] == b'"' {
            return Some(at);
        }
        // A backslash and the character it escapes.
        from = at + 2;
    }
}

/// A writer that only accepts the bytes it was made with, in order, and
/// keeps what was not written yet.
struct Matching<'a>(&'a [u8]);

impl std::io::Write for Matching<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.strip_prefix(buf) {
            Some(rest) => {
                self.0 = rest;
                Ok(buf.len())
            }
            None => Err(std::io::Error::other("the encoding differs")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Canonical bytes of a stored artifact's file, the same as
/// [`encode_artifact`] of the artifact with its definition parsed, written
/// without parsing it into a [`Value`]: `None` when the definition text is
/// not in the order a `Value` prints (keys strictly increasing in byte order
/// in every object), nests arrays and objects more than `depth` levels deep,
/// or is not JSON. The caller then takes the `Value` path, which decides.
pub(crate) fn encode_stored(artifact: &StoredArtifact, depth: usize) -> Option<Vec<u8>> {
    let file = |definition| ArtifactFileRef {
        id: &artifact.id,
        r#type: artifact.artifact_type,
        name: &artifact.name,
        version: &artifact.version,
        status: artifact.status,
        definition,
        references: &artifact.references,
        libraries: &artifact.libraries,
    };
    // Indentation makes the pretty form longer than the compact text.
    let capacity = 2 * artifact.definition_json.len() + 1024;
    // The file around a `null` definition, and the definition printed from
    // its text in its place.
    let null = Transcoded {
        text: "null",
        depth: 0,
    };
    let around = try_canonical_json(1024, &file(&null)).ok()?;
    if let Some(start) = memchr::memmem::find(&around, DEFINITION_LINE) {
        let (head, tail) = around.split_at(start + DEFINITION_LINE.len());
        let mut out = Vec::with_capacity(capacity);
        out.extend_from_slice(head);
        if pretty_from_compact(&artifact.definition_json, 1, depth, &mut out).is_some() {
            out.extend_from_slice(&tail[b"null".len()..]);
            return Some(out);
        }
    }
    let definition = Transcoded {
        text: &artifact.definition_json,
        depth,
    };
    try_canonical_json(capacity, &file(&definition)).ok()
}

/// Canonical bytes of `manifest.json`, as [`crate::prepare`] writes it.
pub fn encode_manifest(manifest: &installhub_domain::Manifest) -> Vec<u8> {
    canonical_json(manifest)
}

fn encode_view(view: &ArtifactFileRef<'_>) -> Vec<u8> {
    canonical_json(view)
}

/// [`canonical_json`] of a value whose serialisation can fail.
fn try_canonical_json<T: Serialize + ?Sized>(
    capacity: usize,
    value: &T,
) -> serde_json::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(capacity);
    serde_json::to_writer_pretty(&mut out, value)?;
    out.push(b'\n');
    Ok(out)
}

/// Pretty JSON plus a trailing newline: the one encoding every bundle file
/// uses.
pub(crate) fn canonical_json<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    // Serialising plain data (strings, numbers, string-keyed maps) into a Vec
    // cannot fail: serde_json only errors on non-string map keys or a failing
    // writer, and neither occurs in these types.
    serde_json::to_writer_pretty(&mut out, value)
        .expect("bundle documents serialise to JSON infallibly");
    out.push(b'\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn artifact() -> Artifact {
        Artifact {
            tenant_id: TenantId::parse("tenant-a").unwrap(),
            id: ArtifactId::parse("proc-1001").unwrap(),
            artifact_type: ArtifactType::ProcessDefinition,
            name: "Onboard".into(),
            version: "1.2.0".into(),
            status: ArtifactStatus::Published,
            definition: json!({"zeta": 1, "alpha": [true, null, 2.5], "mid": {"b": "x", "a": "y"}}),
            references: vec![Reference {
                artifact_id: ArtifactId::parse("form-2005").unwrap(),
                tenant_id: None,
            }],
            libraries: vec![],
            updated_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn encoding_is_pretty_ordered_and_newline_terminated() {
        let text = String::from_utf8(encode_artifact(&artifact())).unwrap();
        let expected = r#"{
  "id": "proc-1001",
  "type": "ProcessDefinition",
  "name": "Onboard",
  "version": "1.2.0",
  "status": "Published",
  "definition": {
    "alpha": [
      true,
      null,
      2.5
    ],
    "mid": {
      "a": "y",
      "b": "x"
    },
    "zeta": 1
  },
  "references": [
    {
      "artifactId": "form-2005"
    }
  ],
  "libraries": []
}
"#;
        assert_eq!(text, expected);
    }

    #[test]
    fn file_and_artifact_encode_alike_and_parse_back_to_the_same_bytes() {
        let artifact = artifact();
        let bytes = encode_artifact(&artifact);
        assert_eq!(ArtifactFile::from(&artifact).encode(), bytes);
        let parsed: ArtifactFile = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed.encode(), bytes);
        assert!(parsed.encodes_to(&bytes));
        let longer = [bytes.as_slice(), b"\n"].concat();
        for other in [&bytes[..bytes.len() - 1], &longer, &bytes[1..], b""] {
            assert!(!parsed.encodes_to(other));
        }
        let back = parsed.into_artifact(artifact.tenant_id.clone(), artifact.updated_at);
        assert_eq!(back, artifact);
    }

    #[test]
    fn the_compact_definition_is_cut_from_the_canonical_bytes() {
        let mut artifact = artifact();
        for definition in [
            json!({"zeta": 1, "alpha": [true, null, 2.5, [], {}], "mid": {"b": "x", "a": "y"}}),
            json!({"a b": "c: d, \"e\"\\", "n": "line\nbreak\t", "u": "é\u{1}"}),
            json!("a string: with, \"quotes\""),
            json!(-12.5e-7),
            json!(null),
            json!([]),
            json!({}),
        ] {
            artifact.definition = definition;
            // A name that spells the field's line, escaped in the file.
            artifact.name = "\n  \"definition\": 1,\n  \"references\": ".into();
            let bytes = encode_artifact(&artifact);
            assert_eq!(
                ArtifactFile::compact_definition(&bytes),
                Some(artifact.definition.to_string()),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }

    #[test]
    fn bytes_without_the_pretty_layout_give_no_compact_definition() {
        let bytes = encode_artifact(&artifact());
        let text = String::from_utf8(bytes.clone()).unwrap();
        for other in [
            text.replace("\n  \"references\"", " \"references\""),
            text.replace("\n  \"definition\": ", "\n  \"definition\":"),
            text.replace("  \"mid\": {", "  \"mid\": {{"),
            text.replace("\"zeta\": 1", "\"zeta\": \"1"),
            text[..text.find("\"mid\"").unwrap()].to_owned(),
            String::new(),
        ] {
            assert_eq!(
                ArtifactFile::compact_definition(other.as_bytes()),
                None,
                "{other}"
            );
        }
    }

    #[test]
    fn floats_survive_a_round_trip_byte_for_byte() {
        // Without serde_json's `float_roundtrip` this parses one ULP off
        // (found by the round-trip property test), so a definition read from
        // a bundle would re-encode to other bytes and another hash.
        let mut artifact = artifact();
        artifact.definition = json!({ "x": -453131656.00115836_f64, "y": 0.1, "z": 1e-300 });
        let bytes = encode_artifact(&artifact);
        let parsed: ArtifactFile = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed.definition, artifact.definition);
        assert_eq!(parsed.encode(), bytes);
    }

    #[test]
    fn unknown_and_duplicate_fields_are_refused() {
        let mut value = serde_json::to_value(ArtifactFile::from(&artifact())).unwrap();
        value["owner"] = json!("x");
        let err = serde_json::from_value::<ArtifactFile>(value).unwrap_err();
        assert!(err.to_string().contains("unknown field `owner`"), "{err}");

        let text = String::from_utf8(encode_artifact(&artifact())).unwrap();
        let doubled = text.replacen(
            "\"name\": \"Onboard\",",
            "\"name\": \"A\", \"name\": \"B\",",
            1,
        );
        let err = serde_json::from_str::<ArtifactFile>(&doubled).unwrap_err();
        assert!(err.to_string().contains("duplicate field `name`"), "{err}");
    }
}
