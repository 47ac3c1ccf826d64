//! Writes the seed corpora: `cargo run --example make_seeds` in `fuzz/`
//! (scripts/fuzz-bundle.sh does it when they are missing). The bytes depend
//! only on this code and the bundle crate's writer, so re-running it gives
//! the same files unless the writer changed.
//!
//! `cargo run --example make_seeds -- zip IN OUT` writes the archive that
//! the `read_bundle_mutated` input IN is read as, to OUT.

use std::fs;
use std::path::Path;

use installhub_bundle::encode_artifact;
use installhub_domain::ArtifactType;
use installhub_fuzz::*;
use serde_json::json;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, input, output] = args.as_slice()
        && command == "zip"
    {
        let bundle = mutated_bundle(&fs::read(input)?)
            .ok_or_else(|| std::io::Error::other("the zip writer refused this input"))?;
        return fs::write(output, bundle);
    }
    if !args.is_empty() {
        eprintln!("usage: make_seeds [zip IN OUT]");
        std::process::exit(2);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let seeds = root.join("read_bundle");
    let mutated = root.join("read_bundle_mutated");
    fs::create_dir_all(&seeds)?;
    fs::create_dir_all(&mutated)?;

    let five = seed_artifacts();
    let one = vec![artifact("ent-44", ArtifactType::EntitySchema, &[])];
    let mut odd = artifact("agent-7", ArtifactType::AgentDefinition, &[]);
    odd.name = "Ünïcode \"quoted\" \\ name \u{1F600}".into();
    odd.definition = json!({
        "floats": [0.1, -0.0, 1e-300, 1.7976931348623157e308, -453131656.00115836],
        "ints": [0, -1, 9007199254740993u64, -9223372036854775808i64, 18446744073709551615u64],
        "nested": { "z": [[[{ "a": null }]]], "a": "\u{0}\u{1f}\t" },
        "empty": {},
    });
    let mut big = artifact("app-9", ArtifactType::AppDefinition, &[]);
    // Deflates past 100:1, so the writer stores it.
    big.definition = json!({ "pad": "x".repeat(20_000) });

    let bundles: [(&str, Vec<u8>); 6] = [
        ("seed-five.zip", bundle_of(&five)),
        ("one.zip", bundle_of(&one)),
        ("empty.zip", bundle_of(&[])),
        ("odd-values.zip", bundle_of(&[odd.clone()])),
        ("stored-entry.zip", bundle_of(&[big])),
        ("foreign-tool.zip", foreign_bundle_of(&five)),
    ];
    for (name, bytes) in &bundles {
        // Every seed must read; a seed the reader refuses is a broken seed.
        read_and_check(bytes);
        assert!(
            installhub_bundle::read_bundle(std::io::Cursor::new(bytes), &small_limits()).is_ok(),
            "{name} does not read"
        );
        fs::write(seeds.join(name), bytes)?;
    }

    let bodies = |artifacts: &[installhub_domain::Artifact]| -> Vec<Vec<u8>> {
        artifacts.iter().map(encode_artifact).collect()
    };
    let inputs: [(&str, Vec<u8>); 4] = [
        ("seed-five", encode_mutated(DEPENDS_ON, 0, &bodies(&five))),
        ("one", encode_mutated(0, 0, &bodies(&one))),
        ("odd-values", encode_mutated(0, 1, &bodies(&[odd]))),
        (
            "foreign-tool",
            encode_mutated(
                ADD_DIRECTORY | MANIFEST_STORED | MANIFEST_FIRST | DEPENDS_ON,
                0b10101,
                &bodies(&five),
            ),
        ),
    ];
    for (name, bytes) in &inputs {
        mutated_and_check(bytes);
        fs::write(mutated.join(name), bytes)?;
    }
    for dir in [&seeds, &mutated] {
        let mut names = fs::read_dir(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<Vec<_>, _>>()?;
        names.sort();
        for path in names {
            println!("{} {} bytes", path.display(), fs::metadata(&path)?.len());
        }
    }
    Ok(())
}
