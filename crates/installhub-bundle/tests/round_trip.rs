//! Writing then reading: round trips, determinism, and the checksum as SPEC
//! §6 defines it, recomputed independently and with the real coreutils.

use std::io::{Cursor, Read};
use std::path::Path;
use std::process::Command;

mod common;

use common::json::json_value;
use installhub_bundle::fixtures::*;
use installhub_bundle::{
    ArtifactFile, BundleError, ReadLimits, encode_artifact, prepare, read_bundle, read_bundle_each,
    read_bundle_each_after, write_zip,
};
use installhub_domain::{Artifact, ArtifactId, ArtifactStatus, ArtifactType, Reference, TenantId};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

#[test]
fn a_written_bundle_reads_back_whole() {
    let bundle = seed_bundle();
    let verified = read(&zip_bytes(&bundle)).unwrap();
    assert_eq!(&verified.manifest, bundle.manifest());
    let ids: Vec<_> = verified.artifacts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, SEED_ORDER);
    let mut expected: Vec<ArtifactFile> = seed_artifacts().iter().map(ArtifactFile::from).collect();
    expected.sort_by_key(|a| SEED_ORDER.iter().position(|id| *id == a.id.as_str()));
    assert_eq!(verified.artifacts, expected);
}

#[test]
fn manifest_lines_match_the_seed() {
    let manifest = seed_bundle().into_manifest();
    assert_eq!(manifest.format_version, 1);
    let order: Vec<_> = manifest
        .install_order
        .iter()
        .map(ArtifactId::as_str)
        .collect();
    assert_eq!(order, SEED_ORDER);
    let thread = &manifest.artifacts[3];
    assert_eq!(thread.id.as_str(), "thread-2002");
    assert_eq!(thread.path, "artifacts/thread-2002.json");
    let deps: Vec<_> = thread.depends_on.iter().map(ArtifactId::as_str).collect();
    assert_eq!(deps, ["form-2005", "rule-305"]);
}

#[test]
fn the_same_bundle_always_gives_the_same_bytes() {
    let first = zip_bytes(&seed_bundle());
    let second = zip_bytes(&seed_bundle());
    assert_eq!(first, second);
    // Passing the artifacts in another order changes nothing.
    let mut reversed = seed_artifacts();
    reversed.reverse();
    let third = zip_bytes(&prepare(input(&SEED_ORDER), &reversed).unwrap());
    assert_eq!(first, third);
}

/// Enough artifacts that encoding, compressing and verifying run on
/// several threads.
fn many(n: usize) -> (Vec<Artifact>, Vec<String>) {
    let ids: Vec<String> = (0..n).map(|i| format!("a{i:03}")).collect();
    let artifacts = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let refs: Vec<&str> = if i > 0 {
                vec![ids[i / 2].as_str()]
            } else {
                vec![]
            };
            let mut a = artifact(id, ArtifactType::ALL[i % 7], &refs);
            a.definition["payload"] = serde_json::json!(format!("{i}").repeat(i * 50));
            a
        })
        .collect();
    (artifacts, ids)
}

#[test]
fn streaming_visits_every_artifact_once_and_can_be_stopped() {
    let (artifacts, ids) = many(64);
    let order: Vec<&str> = ids.iter().map(String::as_str).collect();
    let bytes = zip_bytes(&prepare(input(&order), &artifacts).unwrap());
    let whole = read(&bytes).unwrap();
    let mut seen = Vec::new();
    let manifest = read_bundle_each(Cursor::new(&bytes), &ReadLimits::default(), |a, size| {
        assert_eq!(size, a.encode().len());
        seen.push(a);
        Ok(())
    })
    .unwrap();
    assert_eq!(manifest, whole.manifest);
    seen.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = whole.artifacts.clone();
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(seen, expected);

    let mut visited = 0;
    let err = read_bundle_each(Cursor::new(&bytes), &ReadLimits::default(), |_, _| {
        visited += 1;
        Err(BundleError::Io(std::io::Error::other("stop")))
    })
    .unwrap_err();
    assert_eq!(visited, 1);
    assert!(err.to_string().contains("stop"), "{err}");

    // A hostile archive hands nothing over.
    let mut tampered = bytes.clone();
    let at = tampered.len() - 30;
    tampered[at] ^= 0xff;
    let mut visited = 0;
    assert!(
        read_bundle_each(Cursor::new(&tampered), &ReadLimits::default(), |_, _| {
            visited += 1;
            Ok(())
        })
        .is_err()
    );
    assert_eq!(visited, 0);
}

#[test]
fn the_manifest_is_handed_over_before_any_file_and_can_stop_the_read() {
    let (artifacts, ids) = many(64);
    let order: Vec<&str> = ids.iter().map(String::as_str).collect();
    let bytes = zip_bytes(&prepare(input(&order), &artifacts).unwrap());
    let whole = read(&bytes).unwrap();
    // (manifest handed over, files visited before it)
    let mut handed = None;
    let visited = std::cell::Cell::new(0);
    let manifest = read_bundle_each_after(
        Cursor::new(&bytes),
        &ReadLimits::default(),
        |m| {
            handed = Some((m.clone(), visited.get()));
            Ok(())
        },
        |file| {
            // Each comes with its definition's compact text and its size.
            assert_eq!(file.definition_text, file.artifact.definition.to_string());
            assert_eq!(file.size, file.artifact.encode().len());
            visited.set(visited.get() + 1);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(handed, Some((whole.manifest.clone(), 0)));
    assert_eq!((manifest, visited.get()), (whole.manifest, 64));

    // Stopped there, no file is inflated or handed over.
    let mut visited = 0;
    let err = read_bundle_each_after(
        Cursor::new(&bytes),
        &ReadLimits::default(),
        |_| Err(BundleError::Io(std::io::Error::other("planned no install"))),
        |_| {
            visited += 1;
            Ok(())
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("planned no install"), "{err}");
    assert_eq!(visited, 0);

    // A file that lies about its hash is found after the manifest was
    // handed over: the read then fails, so a caller writing as it reads
    // must be ready to undo.
    let path = "artifacts/thread-2002.json";
    let mut lying = seed_file(path);
    lying.extend_from_slice(b" ");
    let bytes = Hostile::from_bundle(&seed_bundle(), &[path])
        .file(path, &lying)
        .finish();
    let mut handed = false;
    let err = read_bundle_each_after(
        Cursor::new(&bytes),
        &ReadLimits::default(),
        |_| {
            handed = true;
            Ok(())
        },
        |_| Ok(()),
    )
    .unwrap_err();
    assert!(handed);
    assert!(matches!(err, BundleError::ChecksumMismatch(_)), "{err:?}");
}

#[test]
fn a_large_bundle_is_deterministic_and_reads_back() {
    let (artifacts, ids) = many(64);
    let order: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut reversed = artifacts.clone();
    reversed.reverse();
    let a = prepare(input(&order), &artifacts).unwrap();
    let b = prepare(input(&order), &reversed).unwrap();
    assert_eq!(a, b);
    let bytes = zip_bytes(&a);
    assert_eq!(bytes, zip_bytes(&b));
    assert_eq!(coreutils_checksum(&bytes), a.checksum());
    let verified = read(&bytes).unwrap();
    let files: Vec<ArtifactFile> = artifacts.iter().map(ArtifactFile::from).collect();
    assert_eq!(verified.artifacts, files);
}

#[test]
fn a_changed_artifact_changes_its_hash_and_the_checksum() {
    let before = seed_bundle();
    let mut artifacts = seed_artifacts();
    artifacts[4].definition["fields"] = serde_json::json!(["name"]);
    let after = prepare(input(&SEED_ORDER), &artifacts).unwrap();
    assert_ne!(before.checksum(), after.checksum());
    let line =
        |b: &installhub_bundle::PreparedBundle, i: usize| b.manifest().artifacts[i].sha256.clone();
    assert_ne!(line(&before, 0), line(&after, 0)); // ent-44 changed
    assert_eq!(line(&before, 1), line(&after, 1)); // rule-305 did not
}

/// A checksum that only changes when the canonical encoding changes: if
/// this fails, bundles exported before the change no longer re-export to
/// the same checksum, which SPEC §6 promises.
#[test]
fn the_canonical_encoding_is_stable() {
    assert_eq!(
        seed_bundle().checksum(),
        "sha256:49923c6a8dc22ec504726ec43603d332d2056b58846ba87b5ad407af29f00f95"
    );
}

/// SPEC §6, step by step: every entry but `manifest.json`, sorted by path in
/// byte order, one `sha256sum` line each, and the SHA-256 of that text.
fn coreutils_checksum(zip: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).unwrap();
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().into_owned();
        if name == "manifest.json" || entry.is_dir() {
            continue;
        }
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.push((name, bytes));
    }
    files.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let listing: String = files
        .iter()
        .map(|(name, bytes)| format!("{}  {name}\n", hex::encode(Sha256::digest(bytes))))
        .collect();
    format!("sha256:{}", hex::encode(Sha256::digest(listing.as_bytes())))
}

#[test]
fn the_checksum_is_the_coreutils_listing_hash() {
    let bundle = seed_bundle();
    assert_eq!(coreutils_checksum(&zip_bytes(&bundle)), bundle.checksum());
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn write_to(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join("pkg.zip");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_real_coreutils_pipeline_gives_the_manifest_checksum() {
    if !(on_path("unzip") && on_path("sha256sum")) {
        eprintln!("unzip or sha256sum is not installed; the pure-Rust checksum test covers this");
        return;
    }
    let bundle = seed_bundle();
    let dir = tempfile::tempdir().unwrap();
    write_to(dir.path(), &zip_bytes(&bundle));
    let output = Command::new("sh")
        .current_dir(dir.path())
        .args([
            "-c",
            "unzip -q pkg.zip -d x && cd x && find artifacts -type f | LC_ALL=C sort | xargs sha256sum | sha256sum",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let hex = stdout.split_whitespace().next().unwrap();
    assert_eq!(format!("sha256:{hex}"), bundle.checksum());
    // And the files unzip wrote are the files we encoded.
    for artifact in seed_artifacts() {
        let written =
            std::fs::read(dir.path().join(format!("x/artifacts/{}.json", artifact.id))).unwrap();
        assert_eq!(written, encode_artifact(&artifact));
    }
}

#[test]
fn unzip_test_accepts_our_archives() {
    if !on_path("unzip") {
        eprintln!("unzip is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write_to(dir.path(), &zip_bytes(&seed_bundle()));
    let output = Command::new("unzip").arg("-t").arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("No errors detected"), "{stdout}");
}

#[test]
fn files_on_disk_write_and_read_like_memory() {
    let bundle = seed_bundle();
    let file = tempfile::tempfile().unwrap();
    let mut file = write_zip(&bundle, file).unwrap();
    use std::io::Seek;
    file.rewind().unwrap();
    let mut on_disk = Vec::new();
    file.read_to_end(&mut on_disk).unwrap();
    assert_eq!(on_disk, zip_bytes(&bundle));
    let verified = read_bundle(file, &ReadLimits::default()).unwrap();
    assert_eq!(&verified.manifest, bundle.manifest());
}

// --- Property: order of input never matters, and everything round-trips. ---

/// Object keys of the definitions the round trips generate.
const KEYS: &str = "[a-zA-Z_]{1,6}";

/// Artifacts whose references only point at earlier ones, so index order
/// is a valid install order; plus a permutation to pass them in.
fn artifact_set() -> impl Strategy<Value = (Vec<Artifact>, Vec<usize>)> {
    prop::collection::btree_set("[a-z][a-z0-9._-]{0,10}", 1..8)
        .prop_flat_map(|ids| {
            let ids: Vec<String> = ids.into_iter().collect();
            let n = ids.len();
            let per_artifact = (
                json_value(KEYS),
                prop::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..4),
                prop::sample::select(ArtifactType::ALL),
                "[A-Za-z ]{1,20}",
            );
            (
                Just(ids),
                prop::collection::vec(per_artifact, n),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
        .prop_map(|(ids, parts, permutation)| {
            let artifacts = ids
                .iter()
                .zip(parts)
                .enumerate()
                .map(
                    |(i, (id, (definition, refs, artifact_type, name)))| Artifact {
                        tenant_id: TenantId::parse(TENANT).unwrap(),
                        id: ArtifactId::parse(id).unwrap(),
                        artifact_type,
                        name,
                        version: format!("1.{i}.0"),
                        status: ArtifactStatus::Published,
                        definition,
                        references: refs
                            .into_iter()
                            .filter(|_| i > 0)
                            .map(|(target, other_tenant)| Reference {
                                artifact_id: ArtifactId::parse(&ids[target.index(i)]).unwrap(),
                                tenant_id: other_tenant
                                    .then(|| TenantId::parse("tenant-other").unwrap()),
                            })
                            .collect(),
                        libraries: vec![],
                        updated_at: chrono::DateTime::UNIX_EPOCH,
                    },
                )
                .collect();
            (artifacts, permutation)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn input_order_never_changes_bytes_or_checksum((artifacts, permutation) in artifact_set()) {
        let order: Vec<&str> = artifacts.iter().map(|a| a.id.as_str()).collect();
        let shuffled: Vec<Artifact> = permutation.iter().map(|&i| artifacts[i].clone()).collect();

        let a = prepare(input(&order), &artifacts).unwrap();
        let b = prepare(input(&order), &shuffled).unwrap();
        prop_assert_eq!(a.checksum(), b.checksum());
        let bytes = zip_bytes(&a);
        prop_assert_eq!(&bytes, &zip_bytes(&b));
        prop_assert_eq!(&bytes, &zip_bytes(&a));
        prop_assert_eq!(coreutils_checksum(&bytes), a.checksum());

        let verified = read(&bytes).unwrap();
        prop_assert_eq!(&verified.manifest, a.manifest());
        let files: Vec<ArtifactFile> = artifacts.iter().map(ArtifactFile::from).collect();
        prop_assert_eq!(&verified.artifacts, &files);
    }

    #[test]
    fn the_compact_definition_cut_from_a_file_is_its_compact_encoding(
        // Keys holding what the cut must step over: quotes, escapes,
        // colons, commas, spaces and line breaks.
        definition in json_value("\\PC{0,4}|[\\x00-\\x1f\"\\\\:, ]{1,3}"),
        name in "\\PC{0,12}|[\n\"\\\\ :{}]{0,12}",
    ) {
        let artifact = Artifact { definition, name, ..many(1).0.remove(0) };
        let bytes = encode_artifact(&artifact);
        prop_assert_eq!(
            ArtifactFile::compact_definition(&bytes),
            Some(artifact.definition.to_string())
        );

    }
}
