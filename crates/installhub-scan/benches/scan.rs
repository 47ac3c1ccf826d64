//! Scan throughput on ~50 MB of clean, realistic definition text (compact
//! JSON bytes). The target is 300 MB/s on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use installhub_scan::{AdvisoryDb, ScanInput, Scanner, Verdict};

#[path = "support/corpus.rs"]
mod corpus;

const CORPUS_BYTES: usize = 50 * 1024 * 1024;

fn scan(c: &mut Criterion) {
    let (definitions, bytes) = corpus::corpus(CORPUS_BYTES);
    let ids: Vec<String> = (0..definitions.len())
        .map(|i| format!("proc-{i}"))
        .collect();
    let scanner = Scanner::new(AdvisoryDb::embedded());
    let inputs = || {
        definitions
            .iter()
            .zip(&ids)
            .map(|(definition, id)| ScanInput {
                artifact_id: id,
                definition,
                libraries: &[],
            })
    };
    let report = scanner.scan(inputs());
    assert_eq!(
        report.result,
        Verdict::Pass,
        "the corpus must be clean: {:?}",
        report.security_findings.first()
    );

    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("clean_definitions_50MB", |b| {
        b.iter(|| scanner.scan(inputs()))
    });
    group.finish();
}

criterion_group!(benches, scan);
criterion_main!(benches);
