use installhub_bundle::*;
use std::time::Instant;
#[path = "../benches/support/fixture.rs"]
mod fixture;
fn main() {
    let dir = std::env::args().nth(1).unwrap();
    let t = Instant::now();
    let mut raw = Vec::new();
    for e in std::fs::read_dir(format!("{dir}/artifacts")).unwrap() {
        raw.push(std::fs::read(e.unwrap().path()).unwrap());
    }
    eprintln!("read files {:?}", t.elapsed());
    let t = Instant::now();
    let tenant = installhub_domain::TenantId::parse(fixture::TENANT).unwrap();
    let arts: Vec<_> = raw
        .iter()
        .map(|b| {
            serde_json::from_slice::<ArtifactFile>(b)
                .unwrap()
                .into_artifact(tenant.clone(), chrono::DateTime::UNIX_EPOCH)
        })
        .collect();
    eprintln!("parse {:?}", t.elapsed());
    let mut order: Vec<_> = arts.iter().map(|a| a.id.clone()).collect();
    order.sort();
    let t = Instant::now();
    let enc: Vec<_> = arts.iter().map(encode_artifact).collect();
    eprintln!("encode only {:?}", t.elapsed());
    let t = Instant::now();
    for e in &enc {
        std::hint::black_box(installhub_domain::manifest::sha256_hex(e));
    }
    eprintln!("sha only {:?}", t.elapsed());
    let t = Instant::now();
    let b = prepare(fixture::input(order), &arts).unwrap();
    eprintln!("prepare {:?}", t.elapsed());
    let t = Instant::now();
    let z = write_zip(&b, std::io::Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    eprintln!("write_zip {:?} {}", t.elapsed(), z.len());
    let t = Instant::now();
    read_bundle(std::io::Cursor::new(&z), &ReadLimits::default()).unwrap();
    eprintln!("read_bundle {:?}", t.elapsed());
}
