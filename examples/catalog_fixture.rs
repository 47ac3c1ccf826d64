//! A large catalog and packages of artifact graphs, for the catalog
//! benchmarks (`scripts/bench-catalog.sh`).
//!
//! `catalog_fixture fill DATABASE_URL TENANT [COUNT]` creates the Enterprise
//! tenant TENANT and writes COUNT artifacts into it (default 100,000, a
//! multiple of 500) through the store's install transaction, 10,000 a
//! commit, so every trigger and constraint of an ordinary install applies
//! (the catalog generation rises as for any other write). They form graphs
//! of 500 artifacts each, an app over processes, threads, forms, rule sets
//! and schemas with shared dependencies and references that skip layers.
//! The first graph's root, `core-app-0`, reaches exactly its 500; every
//! other graph also uses a few of the first one's schemas, so the catalog
//! holds references *into* that closure that its walk must not follow back.
//! With `CLOSURE_DEFINITION_KB=N` in the environment, each definition of
//! that first graph carries about N KB more (a `notes` text), for a closure
//! of large definitions (scripts, long forms) without a catalog of them.
//!
//! `catalog_fixture bundle OUT.zip PREFIX COUNT` writes a package of one
//! such graph of COUNT artifacts (a multiple of 500) whose ids start with
//! PREFIX, for imports of fresh artifacts.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use installhub_bundle::{ManifestInput, prepare, write_zip};
use installhub_domain::resolve::{Limits, Resolver};
use installhub_domain::{
    Artifact, ArtifactId, ArtifactStatus, ArtifactType, PackageId, PackageType, Plan, Reference,
    Tenant, TenantId, TenantStatus,
};
use installhub_store::{NewArtifact, Store};
use serde_json::json;

/// Artifacts in one graph, by layer from the root down: 1 + 9 + 40 + 100 +
/// 150 + 200 = 500, six levels deep (the resolver allows ten).
const LAYERS: [(ArtifactType, &str, usize); 6] = [
    (ArtifactType::AppDefinition, "app", 1),
    (ArtifactType::ProcessDefinition, "proc", 9),
    (ArtifactType::ThreadDefinition, "thread", 40),
    (ArtifactType::AtlasForm, "form", 100),
    (ArtifactType::RuleSet, "rule", 150),
    (ArtifactType::EntitySchema, "schema", 200),
];
const GRAPH: usize = 500;
/// Schemas from this index on use one of the schemas below it.
const BASE_SCHEMAS: usize = 100;
/// Artifacts per install transaction while filling.
const FILL_COMMIT: usize = 10_000;

/// xorshift64: deterministic and dependency-free, so every run builds the
/// same catalog.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn id(prefix: &str, kind: &str, n: usize) -> ArtifactId {
    ArtifactId::parse(&format!("{prefix}-{kind}-{n}")).expect("valid artifact id")
}

/// The text `CLOSURE_DEFINITION_KB` repeats into the first graph's
/// definitions.
const NOTE: &str = "Checked by the platform team before each release. ";

/// A definition of 0.5 to 2 KB of ordinary JSON.
fn definition(name: &str, rng: &mut Rng) -> serde_json::Value {
    let fields: Vec<_> = (0..5 + rng.below(15))
        .map(|f| {
            let kind = ["text", "number", "date", "choice"][f % 4];
            json!({
                "name": format!("field{f}"),
                "label": format!("Field {f} of {name}"),
                "type": kind,
                "required": f % 3 == 0,
            })
        })
        .collect();
    json!({ "description": format!("{name}, generated for the catalog benchmark"), "fields": fields })
}

/// One graph of 500 artifacts whose ids start with `prefix`, in install
/// order (dependencies first). Each artifact of a layer uses two to four of
/// the next layer's, every one of those used at least once, and sometimes
/// one two layers down; `shared` schemas (of another graph) are used by
/// the first rule set.
fn graph(prefix: &str, tenant: &TenantId, shared: &[ArtifactId], rng: &mut Rng) -> Vec<Artifact> {
    let mut artifacts = Vec::with_capacity(GRAPH);
    for (layer, &(artifact_type, kind, count)) in LAYERS.iter().enumerate().rev() {
        for n in 0..count {
            let mut refs: Vec<ArtifactId> = Vec::new();
            if let Some(&(_, below, below_count)) = LAYERS.get(layer + 1) {
                // Node m of the layer below is used by node m % count, so
                // none is left out; then a few more at random.
                refs.extend(
                    (n..below_count)
                        .step_by(count)
                        .map(|m| id(prefix, below, m)),
                );
                for _ in 0..1 + rng.below(2) {
                    refs.push(id(prefix, below, rng.below(below_count)));
                }
            }
            if let Some(&(_, skip, skip_count)) = LAYERS.get(layer + 2)
                && rng.below(4) == 0
            {
                refs.push(id(prefix, skip, rng.below(skip_count)));
            }
            if kind == "schema" && n >= BASE_SCHEMAS {
                refs.push(id(prefix, "schema", rng.below(BASE_SCHEMAS)));
            }
            if kind == "rule" && n == 0 {
                refs.extend(shared.iter().cloned());
            }
            refs.sort();
            refs.dedup();
            let name = format!("{prefix} {kind} {n}");
            artifacts.push(Artifact {
                tenant_id: tenant.clone(),
                id: id(prefix, kind, n),
                artifact_type,
                version: format!("1.{}.0", rng.below(20)),
                status: ArtifactStatus::Published,
                definition: definition(&name, rng),
                name,
                references: refs
                    .into_iter()
                    .map(|artifact_id| Reference {
                        artifact_id,
                        tenant_id: None,
                    })
                    .collect(),
                libraries: vec![],
                updated_at: chrono::DateTime::UNIX_EPOCH,
            });
        }
    }
    artifacts
}

async fn fill(url: &str, tenant: &str, count: usize) -> Result<(), String> {
    if count == 0 || !count.is_multiple_of(GRAPH) {
        return Err(format!("COUNT must be a positive multiple of {GRAPH}"));
    }
    let tenant_id = TenantId::parse(tenant).map_err(|e| e.to_string())?;
    let padding = match std::env::var("CLOSURE_DEFINITION_KB") {
        Ok(kb) => kb
            .parse::<usize>()
            .map_err(|_| "CLOSURE_DEFINITION_KB must be a number".to_owned())?,
        Err(_) => 0,
    };
    let store = Store::connect(url).await.map_err(|e| e.to_string())?;
    let tenant = Tenant {
        tenant_id: tenant_id.clone(),
        name: "Catalog Bench".into(),
        plan: Plan::Enterprise,
        status: TenantStatus::Active,
        default_conflict_strategy: None,
        allowed_trust_levels: None,
    };
    store
        .upsert_tenant(&tenant, "bench@company.com")
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut pending: Vec<NewArtifact> = Vec::with_capacity(FILL_COMMIT + GRAPH);
    let mut written = 0;
    for g in 0..count / GRAPH {
        let (prefix, shared) = if g == 0 {
            ("core".to_owned(), vec![])
        } else {
            let first = (g * 3) % 199;
            (
                format!("g{g:03}"),
                vec![id("core", "schema", first), id("core", "schema", first + 1)],
            )
        };
        let mut artifacts = graph(&prefix, &tenant_id, &shared, &mut rng);
        if g == 0 && padding > 0 {
            for artifact in &mut artifacts {
                artifact.definition["notes"] = json!(NOTE.repeat(padding * 1024 / NOTE.len()));
            }
        }
        pending.extend(artifacts.into_iter().map(NewArtifact::from));
        if pending.len() >= FILL_COMMIT || g + 1 == count / GRAPH {
            let mut tx = store
                .begin_install(&tenant_id)
                .await
                .map_err(|e| e.to_string())?;
            tx.write_artifacts(&pending)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            written += pending.len();
            pending.clear();
        }
    }
    store.close().await;
    println!(
        "wrote {written} artifacts into {tenant_id} in {:.1} s; core-app-0 reaches {GRAPH}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The order an import expects: the export's resolver's, with every
/// artifact a root in the manifest's order, which is this order itself; so
/// resolve again until it no longer changes.
fn install_order(artifacts: &[Artifact]) -> Vec<ArtifactId> {
    let by_id: HashMap<&ArtifactId, &Artifact> = artifacts.iter().map(|a| (&a.id, a)).collect();
    let tenant = artifacts[0].tenant_id.clone();
    let limits = Limits {
        max_artifacts: usize::MAX,
        ..Limits::default()
    };
    let mut order: Vec<ArtifactId> = artifacts.iter().map(|a| a.id.clone()).collect();
    loop {
        let next = Resolver::new(tenant.clone(), order.clone(), limits)
            .resolve_with(|id| by_id.get(id).map(|a| a.summary()))
            .install_order;
        if next == order {
            return order;
        }
        order = next;
    }
}

fn bundle(out: &str, prefix: &str, count: usize) -> Result<(), String> {
    if count == 0 || !count.is_multiple_of(GRAPH) {
        return Err(format!("COUNT must be a positive multiple of {GRAPH}"));
    }
    let tenant = TenantId::parse("tenant-bench-source").expect("valid id");
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let artifacts: Vec<Artifact> = (0..count / GRAPH)
        .flat_map(|g| graph(&format!("{prefix}{g}"), &tenant, &[], &mut rng))
        .collect();
    let input = ManifestInput {
        package_id: PackageId::from_uuid(&uuid::Uuid::new_v4().to_string()),
        name: format!("Catalog Bench {prefix}"),
        package_type: PackageType::App,
        version: "1.0.0".into(),
        description: None,
        author: None,
        tags: vec![],
        source_tenant_id: tenant,
        exported_at: chrono::DateTime::UNIX_EPOCH,
        exported_by: "bench@company.com".into(),
        install_order: install_order(&artifacts),
        package_dependencies: vec![],
    };
    let bundle = prepare(input, &artifacts).map_err(|e| e.to_string())?;
    let file = std::fs::File::create(out).map_err(|e| e.to_string())?;
    write_zip(&bundle, file).map_err(|e| e.to_string())?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count = |text: Option<&String>, default| {
        text.map_or(Ok(default), |t| {
            t.parse::<usize>()
                .map_err(|_| "COUNT must be a number".to_owned())
        })
    };
    let result = match args.as_slice() {
        [cmd, url, tenant, rest @ ..] if cmd == "fill" && rest.len() <= 1 => {
            match count(rest.first(), 100_000) {
                Ok(n) => fill(url, tenant, n).await,
                Err(e) => Err(e),
            }
        }
        [cmd, out, prefix, n] if cmd == "bundle" => {
            count(Some(n), 0).and_then(|n| bundle(out, prefix, n))
        }
        _ => {
            eprintln!(
                "usage: catalog_fixture fill DATABASE_URL TENANT [COUNT]\n       catalog_fixture bundle OUT.zip PREFIX COUNT"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("catalog_fixture: {e}");
            ExitCode::FAILURE
        }
    }
}
