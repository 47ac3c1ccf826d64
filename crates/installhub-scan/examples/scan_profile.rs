//! A steady one-thread scan loop to profile or count instructions on.
//!
//! `scan_profile CORPUS RUNS` parses `CORPUS` (one compact JSON definition
//! per line, as `scan_corpus` writes it), then scans all of it `RUNS` times
//! on one thread and prints the throughput. Only the scans are timed.
//!
//! ```text
//! perf record -D 3000 target/release/examples/scan_profile corpus.jsonl 10
//! # instructions per scan, exact on a noisy machine: the difference of two counts
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/scan_profile small.jsonl 1
//! valgrind --tool=cachegrind --cache-sim=no target/release/examples/scan_profile small.jsonl 4
//! ```

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Instant;

use installhub_scan::{AdvisoryDb, ScanInput, Scanner, Verdict};
use serde_json::Value;

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: scan_profile CORPUS RUNS")?;
    let runs: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5)
        .max(1);
    let mut bytes = 0usize;
    let mut definitions: Vec<Value> = Vec::new();
    for line in std::io::BufReader::new(std::fs::File::open(&path)?).lines() {
        let line = line?;
        bytes += line.len();
        definitions.push(serde_json::from_str(&line)?);
    }
    let ids: Vec<String> = (0..definitions.len())
        .map(|i| format!("proc-{i}"))
        .collect();
    let scanner = Scanner::new(AdvisoryDb::embedded()).with_max_threads(1);
    let start = Instant::now();
    for _ in 0..runs {
        let report = scanner.scan(
            definitions
                .iter()
                .zip(&ids)
                .map(|(definition, id)| ScanInput {
                    artifact_id: id,
                    definition,
                    libraries: &[],
                }),
        );
        if report.result != Verdict::Pass {
            return Err(format!(
                "the corpus must scan clean: {:?}",
                report.security_findings.first()
            )
            .into());
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{:.1} MB/s", bytes as f64 * runs as f64 / 1e6 / seconds);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scan_profile: {e}");
            ExitCode::FAILURE
        }
    }
}
