//! The benchmark corpus on disk, for `scripts/bench-scan-vs-grep.sh`.
//!
//! `scan_corpus OUT [MB] [RUNS]` writes the clean corpus (default 50 MB) to `OUT`,
//! one compact JSON definition per line, reads it back, and scans it RUNS
//! times (default 5); it prints the bytes and the best and median scan throughput.
//! Parsing is not timed: the server scans definitions it has already parsed.
//! `median_mb_s` scans the whole parsed corpus (tens of MB, cold in cache)
//! on every core, `one_thread_median_mb_s` on one;
//! `after_parse_median_mb_s` scans each definition right after parsing it,
//! as an import does; `import_path_median_mb_s` does that on every core at
//! once, as the server's import does (scanners, one per core, take each
//! artifact as it is parsed), and `import_path_cpu_median_mb_s` is the same
//! figure from the threads' CPU time, which a busy machine does not skew.

use std::io::{BufRead, BufReader, Write};
use std::process::ExitCode;
use std::time::Instant;

use cpu_time::ThreadTime;
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

    // The import path as the server runs it: every core parses artifacts
    // and scans each right after parsing it. Only the scans are timed,
    // in wall-clock time and in the threads' CPU time (which other
    // processes on a busy machine do not inflate).
    let cores = scanner.max_threads();
    let mut import_path = Vec::new();
    let mut import_path_cpu = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for _ in 0..runs {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let (wall, cpu, found) = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..cores)
                .map(|_| {
                    scope.spawn(|| -> Result<(f64, f64, usize), serde_json::Error> {
                        let (mut wall, mut cpu, mut found) = (0.0, 0.0, 0);
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(line) = lines.get(i) else {
                                break Ok((wall, cpu, found));
                            };
                            let definition: Value = serde_json::from_str(line)?;
                            let (start, start_cpu) = (Instant::now(), ThreadTime::now());
                            let report = scanner.scan([ScanInput {
                                artifact_id: &ids[i],
                                definition: &definition,
                                libraries: &[],
                            }]);
                            cpu += start_cpu.elapsed().as_secs_f64();
                            wall += start.elapsed().as_secs_f64();
                            found += report.security_findings.len();
                        }
                    })
                })
                .collect();
            handles.into_iter().try_fold((0.0, 0.0, 0), |sum, handle| {
                let (wall, cpu, found) = handle.join().expect("a scan thread")?;
                Ok::<_, serde_json::Error>((sum.0 + wall, sum.1 + cpu, sum.2 + found))
            })
        })?;
        findings += found;
        // The threads scanned side by side: the scan took the cores for
        // the average of their scan times.
        import_path.push(wall / cores as f64);
        import_path_cpu.push(cpu / cores as f64);
    }
    import_path.sort_by(f64::total_cmp);
    import_path_cpu.sort_by(f64::total_cmp);
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
    println!("cores {cores}");
    println!(
        "import_path_median_mb_s {:.1}",
        mb / import_path[import_path.len() / 2]
    );
    println!(
        "import_path_cpu_median_mb_s {:.1}",
        mb / import_path_cpu[import_path_cpu.len() / 2]
    );
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
