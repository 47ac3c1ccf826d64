//! The benchmark corpus on disk, for `scripts/bench-scan-vs-grep.sh`.
//!
//! `scan_corpus OUT [MB] [RUNS]` writes the clean corpus (default 50 MB) to `OUT`,
//! one compact JSON definition per line, reads it back, and scans it RUNS
//! times (default 5); it prints the bytes and the best and median scan throughput.
//! Parsing is not timed: the server scans definitions it has already parsed.
//! `median_mb_s` scans the whole parsed corpus (tens of MB, cold in cache)
//! on every core, `one_thread_median_mb_s` on one;
//! `after_parse_median_mb_s` scans each definition right after parsing it,
//! as an import does.

use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;
use std::time::Instant;

use installhub_scan::{AdvisoryDb, ScanInput, Scanner};
use serde_json::Value;

#[path = "../benches/support/corpus.rs"]
mod corpus;

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: scan_corpus OUT [MB]")?;
    let mb: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(50);
    let runs: usize = args
        .next()
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5)
        .max(1);

    let (definitions, _) = corpus::corpus(mb * 1024 * 1024);
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    for d in &definitions {
        serde_json::to_writer(&mut file, d)?;
        file.write_all(b"\n")?;
    }
    file.flush()?;
    drop(file);

    let mut parsed: Vec<Value> = Vec::new();
    let mut bytes = 0usize;
    for line in BufReader::new(std::fs::File::open(&out)?).lines() {
        let line = line?;
        bytes += line.len();
        parsed.push(serde_json::from_str(&line)?);
    }
    let ids: Vec<String> = (0..parsed.len()).map(|i| format!("proc-{i}")).collect();
    let scanner = Scanner::new(AdvisoryDb::embedded());
    let mut seconds = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        let start = Instant::now();
        let report = scanner.scan(parsed.iter().zip(&ids).map(|(definition, id)| ScanInput {
            artifact_id: id,
            definition,
            libraries: &[],
        }));
        seconds.push(start.elapsed().as_secs_f64());
        findings = report.security_findings.len();
    }
    seconds.sort_by(f64::total_cmp);

    // The same on one thread: the figure per core.
    let one_thread = Scanner::new(AdvisoryDb::embedded()).with_max_threads(1);
    let mut single = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let report = one_thread.scan(parsed.iter().zip(&ids).map(|(definition, id)| ScanInput {
            artifact_id: id,
            definition,
            libraries: &[],
        }));
        single.push(start.elapsed().as_secs_f64());
        findings += report.security_findings.len();
    }
    single.sort_by(f64::total_cmp);

    // The import pipeline's order: each artifact is parsed, then scanned
    // while its tree is still in cache. Only the scan is timed.
    let text = std::fs::read_to_string(&out)?;
    let mut warm = Vec::new();
    for _ in 0..runs {
        let mut elapsed = 0.0;
        for (line, id) in text.lines().zip(&ids) {
            let definition: Value = serde_json::from_str(line)?;
            let start = Instant::now();
            let report = scanner.scan([ScanInput {
                artifact_id: id,
                definition: &definition,
                libraries: &[],
            }]);
            elapsed += start.elapsed().as_secs_f64();
            findings += report.security_findings.len();
        }
        warm.push(elapsed);
    }
    warm.sort_by(f64::total_cmp);
    let mb = bytes as f64 / 1e6;
    println!("bytes {bytes}");
    println!("definitions {}", parsed.len());
    println!("findings {findings}");
    println!("best_mb_s {:.1}", mb / seconds[0]);
    println!("median_mb_s {:.1}", mb / seconds[seconds.len() / 2]);
    println!(
        "one_thread_median_mb_s {:.1}",
        mb / single[single.len() / 2]
    );
    println!("after_parse_median_mb_s {:.1}", mb / warm[warm.len() / 2]);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scan_corpus: {e}");
            ExitCode::FAILURE
        }
    }
}
