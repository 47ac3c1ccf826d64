//! Writes a package of generated artifacts, for the import benchmarks
//! (`scripts/bench-import.sh`).
//!
//! `make_bundle OUT.zip COUNT BYTES [text|random]`: COUNT entity schemas of
//! about BYTES of definition each. `text` is realistic, compressible JSON;
//! `random` is a xorshift stream in a base64 alphabet, so the ZIP is
//! nearly as large as its content, for the upload-size measurements.

use std::process::ExitCode;

use installhub_bundle::{ManifestInput, prepare, write_zip};
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactType, PackageId, PackageType, TenantId,
};
use serde_json::json;

/// 64 symbols: six bits of entropy per character, as in base64, so the
/// ZIP is about three quarters of its content.
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn definition(i: usize, bytes: usize, random: bool, state: &mut u64) -> serde_json::Value {
    if random {
        let mut text = String::with_capacity(bytes);
        while text.len() < bytes {
            // xorshift64: deterministic, dependency-free, incompressible enough.
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            for k in 0..10 {
                text.push(ALPHABET[((*state >> (k * 6)) & 63) as usize] as char);
            }
        }
        json!({ "blob": text })
    } else {
        let fields: Vec<_> = (0..bytes / 110)
            .map(|f| json!({"name": format!("field{f}"), "label": format!("Field {f} of schema {i}"), "type": "text", "required": f % 3 == 0}))
            .collect();
        json!({ "fields": fields })
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, count, bytes, random) = match args.as_slice() {
        [out, count, bytes, rest @ ..] if rest.len() <= 1 => {
            match (count.parse::<usize>(), bytes.parse::<usize>()) {
                (Ok(c), Ok(b)) => (
                    out.clone(),
                    c,
                    b,
                    rest.first().is_some_and(|m| m == "random"),
                ),
                _ => {
                    eprintln!("COUNT and BYTES must be numbers");
                    return ExitCode::from(2);
                }
            }
        }
        _ => {
            eprintln!("usage: make_bundle OUT.zip COUNT BYTES [text|random]");
            return ExitCode::from(2);
        }
    };
    let tenant = TenantId::parse("tenant-bench-source").expect("valid id");
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let artifacts: Vec<Artifact> = (0..count)
        .map(|i| Artifact {
            tenant_id: tenant.clone(),
            id: ArtifactId::parse(&format!("schema-{i:05}")).expect("valid id"),
            artifact_type: ArtifactType::EntitySchema,
            name: format!("Schema {i}"),
            version: "1.0.0".into(),
            status: ArtifactStatus::Published,
            definition: definition(i, bytes, random, &mut state),
            references: vec![],
            libraries: vec![],
            updated_at: chrono::DateTime::UNIX_EPOCH,
        })
        .collect();
    let input = ManifestInput {
        package_id: PackageId::from_uuid("3f1e7a52-9c44-4d8b-a7e2-6b0c5d9f1a28"),
        name: "Bench Package".into(),
        package_type: PackageType::Config,
        version: "1.0.0".into(),
        description: None,
        author: None,
        tags: vec![],
        source_tenant_id: tenant,
        exported_at: chrono::DateTime::UNIX_EPOCH,
        exported_by: "bench@company.com".into(),
        install_order: artifacts.iter().map(|a| a.id.clone()).collect(),
        package_dependencies: vec![],
    };
    let result = prepare(input, &artifacts)
        .map_err(|e| e.to_string())
        .and_then(|bundle| {
            let file = std::fs::File::create(&out).map_err(|e| e.to_string())?;
            write_zip(&bundle, file).map_err(|e| e.to_string())?;
            Ok(bundle.checksum().to_owned())
        });
    match result {
        Ok(checksum) => {
            println!("{checksum}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("make_bundle: {e}");
            ExitCode::FAILURE
        }
    }
}
