//! Scan throughput on ~50 MB of clean, realistic definition text (compact
//! JSON bytes). The target is 300 MB/s on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use installhub_scan::{AdvisoryDb, ScanInput, Scanner, Verdict};

#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/pathological.rs"]
mod pathological;

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

/// Each ~200 KB hostile shape in a code field and in a plain one: linear
/// shapes scan in milliseconds; a quadratic one would take seconds.
fn pathological(c: &mut Criterion) {
    let scanner = Scanner::new(AdvisoryDb::embedded());
    let definitions: Vec<serde_json::Value> = pathological::cases()
        .into_iter()
        .flat_map(|case| {
            [
                serde_json::json!({ "script": case.clone() }),
                serde_json::json!({ "name": case }),
            ]
        })
        .collect();
    let bytes: usize = definitions.iter().map(|d| d.to_string().len()).sum();
    let mut group = c.benchmark_group("pathological");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("hostile_shapes_200KB_each", |b| {
        b.iter(|| {
            for definition in &definitions {
                scanner.scan([ScanInput {
                    artifact_id: "a",
                    definition,
                    libraries: &[],
                }]);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, scan, pathological);
criterion_main!(benches);
