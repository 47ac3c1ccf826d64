//! Measures the advisory index at OSV's scale: 200 000 synthetic but
//! realistically shaped OSV records (ecosystem mix, aliases, summaries,
//! CVSS vectors, one to three affected packages, SemVer/ECOSYSTEM ranges,
//! PyPI-style enumerated `versions` lists) in an OSV-style export zip.
//!
//! ```text
//! cargo run --release -p installhub-scan --example advisory_index -- generate DIR [COUNT]
//! cargo run --release -p installhub-scan --example advisory_index -- load DIR
//! ```
//!
//! `generate` writes `DIR/all.zip`, imports it and writes `DIR/index.json`,
//! timing both. `load` (run as its own process, so its memory figures are
//! the index's alone) loads the index, reports the time, the resident
//! memory it added and the peak, then times library lookups.
//! `scripts/bench-advisories.sh` runs both.

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use installhub_domain::{Ecosystem, Library};
use installhub_scan::{AdvisoryDb, AdvisoryImport, ScanInput, Scanner, ZipLimits};
use serde_json::{Value, json};

/// A small deterministic generator (xorshift64*): reproducible data
/// without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ECOSYSTEMS: &[(Ecosystem, u64)] = &[
    (Ecosystem::Npm, 40),
    (Ecosystem::PyPI, 25),
    (Ecosystem::Maven, 20),
    (Ecosystem::NuGet, 8),
    (Ecosystem::CratesIo, 7),
];

fn ecosystem(rng: &mut Rng) -> Ecosystem {
    let mut pick = rng.below(100);
    for (ecosystem, weight) in ECOSYSTEMS {
        if pick < *weight {
            return *ecosystem;
        }
        pick -= weight;
    }
    Ecosystem::Npm
}

/// Package `n` of an ecosystem, spelled as its registry does. About
/// 60 000 distinct packages over 200 000 advisories, as in OSV.
fn package_name(ecosystem: Ecosystem, n: u64) -> String {
    match ecosystem {
        Ecosystem::Maven => format!("org.example{}:component-{n}", n % 97),
        Ecosystem::NuGet => format!("Example.Component{n}"),
        Ecosystem::PyPI => format!("example-package-{n}"),
        Ecosystem::CratesIo => format!("example_crate_{n}"),
        Ecosystem::Npm => format!("example-module-{n}"),
    }
}

fn version(rng: &mut Rng) -> (u64, u64, u64) {
    (rng.below(12), rng.below(30), rng.below(20))
}

fn record(rng: &mut Rng, index: u64) -> Value {
    let mut affected = Vec::new();
    for _ in 0..1 + rng.below(100) / 70 + rng.below(100) / 95 {
        let eco = ecosystem(rng);
        let name = package_name(eco, rng.below(60_000));
        let (a, b, c) = version(rng);
        let introduced = if rng.below(3) == 0 {
            "0".to_owned()
        } else {
            format!("{a}.{b}.0")
        };
        let fixed = format!("{a}.{b}.{}", c + 1);
        let mut entry = json!({
            "package": {"ecosystem": eco.as_str(), "name": name, "purl": format!("pkg:{}/{name}", eco.as_str())},
            "ranges": [{"type": if eco == Ecosystem::Npm { "SEMVER" } else { "ECOSYSTEM" },
                        "events": [{"introduced": introduced}, {"fixed": fixed}]}],
            "database_specific": {"source": "https://example.invalid/advisories"},
        });
        if eco == Ecosystem::PyPI {
            // OSV's PyPI records enumerate every affected version.
            let versions: Vec<String> = (0..20 + rng.below(40))
                .map(|i| format!("{a}.{}.{}", i / 10, i % 10))
                .collect();
            entry["versions"] = json!(versions);
        }
        affected.push(entry);
    }
    let cvss = [
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
        "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H",
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:N/SA:N",
    ][rng.below(3) as usize];
    let mut record = json!({
        "schema_version": "1.6.0",
        "id": format!("GHSA-{index:04x}-{:04x}-{:04x}", rng.below(65536), rng.below(65536)),
        "modified": format!("2026-{:02}-{:02}T12:00:00Z", 1 + rng.below(11), 1 + rng.below(28)),
        "published": "2024-01-01T00:00:00Z",
        "aliases": [format!("CVE-2025-{}", 10_000 + index)],
        "summary": format!("Improper input validation in example component {index} allows remote attackers to cause harm"),
        "details": "A longer description of the issue, its impact and its workarounds. ".repeat(6),
        "severity": [{"type": cvss.split('/').next().map(|v| if v == "CVSS:4.0" { "CVSS_V4" } else { "CVSS_V3" }).unwrap(), "score": cvss}],
        "affected": affected,
        "references": [{"type": "ADVISORY", "url": format!("https://example.invalid/advisories/{index}")},
                       {"type": "WEB", "url": "https://example.invalid/fix"}],
    });
    if rng.below(4) != 0 {
        let severity = ["LOW", "MODERATE", "HIGH", "CRITICAL"][rng.below(4) as usize];
        record["database_specific"] = json!({"severity": severity, "github_reviewed": true});
    }
    record
}

fn generate(dir: &Path, count: u64) {
    std::fs::create_dir_all(dir).unwrap();
    let zip_path = dir.join("all.zip");
    let started = Instant::now();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut raw = 0usize;
    for index in 0..count {
        let record = serde_json::to_vec(&record(&mut rng, index)).unwrap();
        raw += record.len();
        zip.start_file(format!("R-{index}.json"), options).unwrap();
        zip.write_all(&record).unwrap();
    }
    zip.finish().unwrap();
    let zip_bytes = std::fs::metadata(&zip_path).unwrap().len();
    println!(
        "generated {count} records: {:.1} MB of JSON, zip {:.1} MB, in {:.2?}",
        raw as f64 / 1e6,
        zip_bytes as f64 / 1e6,
        started.elapsed()
    );

    let started = Instant::now();
    let mut import = AdvisoryImport::new();
    import.add_path(&zip_path, &ZipLimits::default()).unwrap();
    let (db, stats) = import.finish();
    println!(
        "imported {} advisories ({} packages, {} skipped) in {:.2?}",
        db.len(),
        db.snapshot().package_count,
        stats.skipped,
        started.elapsed()
    );
    let index_path = dir.join("index.json");
    let started = Instant::now();
    db.write_index(&index_path).unwrap();
    println!(
        "wrote the index ({:.1} MB) in {:.2?}",
        std::fs::metadata(&index_path).unwrap().len() as f64 / 1e6,
        started.elapsed()
    );
}

/// `VmRSS` and `VmHWM` of this process, in kB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn load(dir: &Path) {
    let (rss_before, _) = memory();
    let started = Instant::now();
    let db = AdvisoryDb::load_index(&dir.join("index.json")).unwrap();
    let elapsed = started.elapsed();
    let (rss_after, peak) = memory();
    println!(
        "loaded {} advisories on {} packages in {:.2?}; resident +{:.0} MB (peak {:.0} MB)",
        db.len(),
        db.snapshot().package_count,
        elapsed,
        (rss_after - rss_before) as f64 / 1024.0,
        peak as f64 / 1024.0
    );

    // Lookups as a scan makes them: one library against the database, the
    // report built; known packages (with matches) and unknown ones.
    let scanner = Scanner::new(AdvisoryDb::empty());
    let mut rng = Rng(42);
    let definition = Value::Null;
    for (label, known) in [("known package", true), ("unknown package", false)] {
        let libraries: Vec<Library> = (0..10_000)
            .map(|_| {
                let eco = ecosystem(&mut rng);
                let n = if known {
                    rng.below(60_000)
                } else {
                    1_000_000 + rng.below(60_000)
                };
                let (a, b, c) = version(&mut rng);
                Library {
                    ecosystem: eco,
                    name: package_name(eco, n),
                    version: format!("{a}.{b}.{c}"),
                }
            })
            .collect();
        let started = Instant::now();
        let mut findings = 0;
        for library in &libraries {
            let report = scanner.scan_with(
                &db,
                [ScanInput {
                    artifact_id: "a",
                    definition: &definition,
                    libraries: std::slice::from_ref(library),
                }],
            );
            findings += report.security_findings.len();
        }
        let per = started.elapsed() / libraries.len() as u32;
        println!("lookup, {label}: {per:.2?} per library ({findings} findings in 10 000)");
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: advisory_index generate DIR [COUNT] | load DIR";
    let dir = Path::new(args.get(2).expect(usage));
    match args.get(1).map(String::as_str) {
        Some("generate") => {
            let count = args.get(3).map_or(200_000, |c| c.parse().expect(usage));
            generate(dir, count);
        }
        Some("load") => load(dir),
        _ => panic!("{usage}"),
    }
}
