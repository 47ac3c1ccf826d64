//! Resolve + validate a 500-artifact graph (issue target: under 1 ms).

use std::collections::HashMap;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use installhub_domain::resolve::{Limits, Resolver};
use installhub_domain::{
    ArtifactId, ArtifactStatus, ArtifactSummary, ArtifactType, ExportRequest, Reference, TenantId,
};

/// 500 artifacts in layers; each references up to four artifacts of the
/// next layer, like a real suite of apps, processes, forms and schemas.
fn catalog() -> (
    TenantId,
    Vec<ArtifactId>,
    HashMap<ArtifactId, ArtifactSummary>,
) {
    let tenant = TenantId::parse("tenant-bench").unwrap();
    let n = 500;
    let ids: Vec<ArtifactId> = (0..n)
        .map(|i| ArtifactId::parse(&format!("art-{i:04}")).unwrap())
        .collect();
    let mut map = HashMap::new();
    for i in 0..n {
        let layer = i / 50;
        let refs = if layer < 9 {
            (0..4)
                .map(|k| Reference {
                    artifact_id: ids[(layer + 1) * 50 + (i * 7 + k * 13) % 50].clone(),
                    tenant_id: None,
                })
                .collect()
        } else {
            Vec::new()
        };
        map.insert(
            ids[i].clone(),
            ArtifactSummary {
                tenant_id: tenant.clone(),
                id: ids[i].clone(),
                artifact_type: ArtifactType::ALL[6 - (layer * 7 / 10).min(6)],
                name: format!("Artifact {i}"),
                version: "1.0.0".into(),
                status: ArtifactStatus::Published,
                references: refs,
            },
        );
    }
    let roots = ids[..50].to_vec();
    (tenant, roots, map)
}

fn bench(c: &mut Criterion) {
    let (tenant, roots, map) = catalog();
    let request = ExportRequest {
        tenant_id: Some(tenant.to_string()),
        package_name: Some("Bench Suite".into()),
        package_type: Some("app-package".into()),
        version: Some("1.0.0".into()),
        artifact_ids: Some(roots.iter().map(|r| r.to_string()).collect()),
        ..ExportRequest::default()
    };
    let check = Resolver::new(tenant.clone(), roots.clone(), Limits::default())
        .resolve_with(|id| map.get(id).cloned());
    assert_eq!(check.total_artifacts(), 500);
    assert!(check.failures.is_empty(), "{:?}", check.failures);

    c.bench_function("resolve_and_validate_500", |b| {
        b.iter(|| {
            let checked = black_box(&request).check(None);
            assert!(checked.failures.is_empty());
            let resolution = Resolver::new(tenant.clone(), checked.roots, Limits::default())
                .resolve_with(|id| map.get(id).cloned());
            black_box(resolution.install_order.len())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
