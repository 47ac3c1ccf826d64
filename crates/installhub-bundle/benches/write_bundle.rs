//! Export cost: prepare + write_zip of 500 artifacts of about 20 KB of
//! realistic JSON each into memory, each step on its own, and reading the
//! result back (the import's front door).

use std::io::Cursor;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use installhub_bundle::{ReadLimits, prepare, read_bundle, write_zip};

#[path = "support/fixture.rs"]
mod fixture;

const ARTIFACTS: usize = 500;
const BYTES: usize = 20 * 1024;

fn bench(c: &mut Criterion) {
    let artifacts = fixture::artifacts(ARTIFACTS, BYTES);
    let order: Vec<_> = artifacts.iter().map(|a| a.id.clone()).collect();
    let input = fixture::input(order);
    let bundle = prepare(input.clone(), &artifacts).unwrap();
    let total: u64 = bundle.files().map(|(_, b)| b.len() as u64).sum();
    let zip = write_zip(&bundle, Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    eprintln!(
        "fixture: {ARTIFACTS} artifacts, {total} bytes of JSON, {} bytes zipped",
        zip.len()
    );

    let mut group = c.benchmark_group("bundle_500x20KB");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Bytes(total));
    group.bench_function("prepare+write_zip", |b| {
        b.iter(|| {
            let bundle = prepare(input.clone(), &artifacts).unwrap();
            write_zip(&bundle, Cursor::new(Vec::with_capacity(zip.len()))).unwrap()
        })
    });
    group.bench_function("prepare", |b| {
        b.iter(|| prepare(input.clone(), &artifacts).unwrap())
    });
    group.bench_function("write_zip", |b| {
        b.iter(|| write_zip(&bundle, Cursor::new(Vec::with_capacity(zip.len()))).unwrap())
    });
    group.bench_function("read_bundle", |b| {
        b.iter(|| read_bundle(Cursor::new(&zip), &ReadLimits::default()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
