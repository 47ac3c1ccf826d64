use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::*;
use crate::model::{ArtifactType, Reference};

fn tenant() -> TenantId {
    TenantId::parse("tenant-7f3a9b12").unwrap()
}

fn id(s: &str) -> ArtifactId {
    ArtifactId::parse(s).unwrap()
}

fn art(name: &str, t: ArtifactType, refs: &[&str]) -> ArtifactSummary {
    ArtifactSummary {
        tenant_id: tenant(),
        id: id(name),
        artifact_type: t,
        name: format!("Name of {name}"),
        version: "1.0.0".into(),
        status: ArtifactStatus::Published,
        references: refs
            .iter()
            .map(|r| Reference {
                artifact_id: id(r),
                tenant_id: None,
            })
            .collect(),
    }
}

fn catalog(items: Vec<ArtifactSummary>) -> HashMap<ArtifactId, ArtifactSummary> {
    items.into_iter().map(|a| (a.id.clone(), a)).collect()
}

fn resolve(cat: &HashMap<ArtifactId, ArtifactSummary>, roots: &[&str]) -> Resolution {
    Resolver::new(
        tenant(),
        roots.iter().map(|r| id(r)).collect(),
        Limits::default(),
    )
    .resolve_with(|i| cat.get(i).cloned())
}

fn ids(list: &[ArtifactId]) -> Vec<&str> {
    list.iter().map(ArtifactId::as_str).collect()
}

fn seed_catalog() -> HashMap<ArtifactId, ArtifactSummary> {
    use ArtifactType::*;
    catalog(vec![
        art(
            "proc-1001",
            ProcessDefinition,
            &["thread-2002", "form-2005", "rule-305"],
        ),
        art("thread-2002", ThreadDefinition, &["rule-305"]),
        art("form-2005", AtlasForm, &["ent-44"]),
        art("rule-305", RuleSet, &[]),
        art("ent-44", EntitySchema, &[]),
    ])
}

#[test]
fn seed_example_resolves_as_seed_01_shows() {
    let r = resolve(&seed_catalog(), &["proc-1001"]);
    assert_eq!(r.failures, vec![]);
    assert_eq!(r.roots.len(), 1);
    let deps: Vec<(&str, &str)> = r
        .dependencies
        .iter()
        .map(|d| (d.artifact.id.as_str(), d.resolved_from.as_str()))
        .collect();
    assert_eq!(
        deps,
        vec![
            ("thread-2002", "proc-1001"),
            ("form-2005", "proc-1001"),
            ("rule-305", "proc-1001"),
            ("ent-44", "form-2005"),
        ]
    );
    assert_eq!(r.total_artifacts(), 5);
    assert_eq!(
        ids(&r.install_order),
        vec![
            "ent-44",
            "rule-305",
            "form-2005",
            "thread-2002",
            "proc-1001"
        ]
    );
    assert_eq!(r.depth, 2);
    assert!(!r.has_cycle());
}

#[test]
fn a_root_referenced_by_another_root_stays_a_root() {
    let r = resolve(&seed_catalog(), &["proc-1001", "form-2005"]);
    assert_eq!(r.roots.len(), 2);
    assert!(
        r.dependencies
            .iter()
            .all(|d| d.artifact.id.as_str() != "form-2005")
    );
    assert_eq!(r.total_artifacts(), 5);
}

#[test]
fn duplicate_roots_collapse() {
    let r = resolve(&seed_catalog(), &["proc-1001", "proc-1001"]);
    assert_eq!(r.roots.len(), 1);
    assert_eq!(r.total_artifacts(), 5);
}

#[test]
fn missing_roots_are_reported_with_their_request_index() {
    let r = resolve(&seed_catalog(), &["proc-1001", "proc-9999"]);
    assert_eq!(r.missing_roots, vec![(1, id("proc-9999"))]);
}

#[test]
fn draft_root_and_archived_dependency_are_not_exportable() {
    let mut cat = seed_catalog();
    cat.get_mut(&id("proc-1001")).unwrap().status = ArtifactStatus::Draft;
    cat.get_mut(&id("ent-44")).unwrap().status = ArtifactStatus::Archived;
    let r = resolve(&cat, &["proc-1001"]);
    let codes: Vec<_> = r
        .failures
        .iter()
        .map(|f| (f.code, f.details["artifactId"].clone()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (ErrorCode::ArtifactNotExportable, "proc-1001".into()),
            (ErrorCode::ArtifactNotExportable, "ent-44".into()),
        ]
    );
    let draft = &r.failures[0];
    assert_eq!(
        draft.message,
        "Artifact 'proc-1001' (Name of proc-1001) is in Draft state. Publish it before exporting."
    );
    assert_eq!(draft.details["currentStatus"], "Draft");
    assert_eq!(draft.details["requiredStatus"], "Published");
    assert_eq!(draft.field.as_deref(), Some("artifactIds[0]"));
}

#[test]
fn dangling_and_deleted_references_make_the_referrer_incomplete() {
    let mut cat = seed_catalog();
    cat.remove(&id("ent-44"));
    cat.get_mut(&id("rule-305")).unwrap().status = ArtifactStatus::Deleted;
    let r = resolve(&cat, &["proc-1001"]);
    let mut got: Vec<_> = r
        .failures
        .iter()
        .map(|f| (f.code, f.details["artifactId"].as_str().unwrap().to_owned()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (ErrorCode::IncompleteArtifact, "form-2005".to_owned()),
            (ErrorCode::IncompleteArtifact, "proc-1001".to_owned()),
            (ErrorCode::IncompleteArtifact, "thread-2002".to_owned()),
        ]
    );
    // Neither the missing nor the deleted artifact is bundled.
    assert_eq!(r.total_artifacts(), 3);
}

#[test]
fn cross_tenant_references_are_reported_and_not_followed() {
    let mut cat = seed_catalog();
    cat.get_mut(&id("rule-305"))
        .unwrap()
        .references
        .push(Reference {
            artifact_id: id("shared-1"),
            tenant_id: Some(TenantId::parse("tenant-other").unwrap()),
        });
    let r = resolve(&cat, &["proc-1001"]);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].code, ErrorCode::CrossTenantReference);
    assert_eq!(r.failures[0].details["referencedTenantId"], "tenant-other");
    assert_eq!(r.total_artifacts(), 5);
}

#[test]
fn an_explicit_own_tenant_reference_is_followed() {
    let mut cat = seed_catalog();
    cat.get_mut(&id("form-2005")).unwrap().references[0].tenant_id = Some(tenant());
    let r = resolve(&cat, &["proc-1001"]);
    assert_eq!(r.failures, vec![]);
    assert_eq!(r.total_artifacts(), 5);
}

#[test]
fn cycles_are_reported_from_their_smallest_id() {
    use ArtifactType::*;
    let cat = catalog(vec![
        art("a", ProcessDefinition, &["c"]),
        art("c", ThreadDefinition, &["b"]),
        art("b", RuleSet, &["c2", "a"]),
        art("c2", RuleSet, &[]),
        art("self", RuleSet, &["self"]),
    ]);
    let r = resolve(&cat, &["a", "self"]);
    assert_eq!(
        r.cycles,
        vec![vec![id("a"), id("c"), id("b")], vec![id("self")]]
    );
    assert!(r.install_order.is_empty());
    let codes: Vec<_> = r.failures.iter().map(|f| f.code).collect();
    assert_eq!(codes, vec![ErrorCode::CircularDependency; 2]);
    assert!(r.failures[0].message.contains("a → c → b → a"));
}

fn chain(len: usize) -> HashMap<ArtifactId, ArtifactSummary> {
    let names: Vec<String> = (0..=len).map(|i| format!("n{i:02}")).collect();
    catalog(
        (0..=len)
            .map(|i| {
                let refs: Vec<&str> = names
                    .get(i + 1)
                    .map(|n| vec![n.as_str()])
                    .unwrap_or_default();
                art(&names[i], ArtifactType::RuleSet, &refs)
            })
            .collect(),
    )
}

#[test]
fn depth_ten_is_allowed_and_eleven_is_not() {
    let r = resolve(&chain(10), &["n00"]);
    assert_eq!(r.depth, 10);
    assert_eq!(r.failures, vec![]);

    let r = resolve(&chain(11), &["n00"]);
    assert_eq!(r.depth, 11);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].code, ErrorCode::DependencyDepthExceeded);
    assert_eq!(r.failures[0].details["depth"], 11);
    assert_eq!(r.failures[0].details["chain"].as_array().unwrap().len(), 12);
}

#[test]
fn more_than_500_artifacts_is_too_large_and_the_walk_stops_early() {
    let leaves: Vec<String> = (0..600).map(|i| format!("leaf-{i:04}")).collect();
    let mut items: Vec<ArtifactSummary> = leaves
        .iter()
        .map(|l| art(l, ArtifactType::RuleSet, &[]))
        .collect();
    let refs: Vec<&str> = leaves.iter().map(String::as_str).collect();
    items.push(art("root", ArtifactType::AppDefinition, &refs));
    let cat = catalog(items);
    let mut lookups = 0;
    let r = Resolver::new(tenant(), vec![id("root")], Limits::default()).resolve_with(|i| {
        lookups += 1;
        cat.get(i).cloned()
    });
    assert!(lookups <= 502, "looked up {lookups}");
    assert!(
        r.failures
            .iter()
            .any(|f| f.code == ErrorCode::BundleSizeExceeded)
    );
    assert!(
        !r.failures
            .iter()
            .any(|f| f.code == ErrorCode::IncompleteArtifact),
        "artifacts past the limit are unknown, not dangling"
    );

    let cat = catalog(
        (0..499)
            .map(|i| art(&leaves[i], ArtifactType::RuleSet, &[]))
            .chain([art("root", ArtifactType::AppDefinition, &refs[..499])])
            .collect(),
    );
    let r = resolve(&cat, &["root"]);
    assert_eq!(r.total_artifacts(), 500);
    assert_eq!(r.failures, vec![]);
}

#[test]
fn supply_ignores_artifacts_of_other_tenants() {
    let mut resolver = Resolver::new(tenant(), vec![id("a")], Limits::default());
    let wanted = resolver.wanted();
    let mut other = art("a", ArtifactType::RuleSet, &[]);
    other.tenant_id = TenantId::parse("tenant-other").unwrap();
    resolver.supply(&wanted, vec![other]);
    assert!(resolver.wanted().is_empty());
    let r = resolver.finish();
    assert_eq!(r.missing_roots.len(), 1);
}

#[test]
fn frontier_is_fetched_level_by_level() {
    let cat = seed_catalog();
    let mut resolver = Resolver::new(tenant(), vec![id("proc-1001")], Limits::default());
    let mut levels = Vec::new();
    loop {
        let wanted = resolver.wanted();
        if wanted.is_empty() {
            break;
        }
        levels.push(ids(&wanted).join(","));
        let found = wanted.iter().filter_map(|i| cat.get(i).cloned()).collect();
        resolver.supply(&wanted, found);
    }
    assert_eq!(
        levels,
        vec!["proc-1001", "thread-2002,form-2005,rule-305", "ent-44"]
    );
}

// ---- properties --------------------------------------------------------

/// A random DAG: node i may reference only nodes j > i, so it is acyclic.
fn dag() -> impl Strategy<Value = Vec<(ArtifactType, Vec<usize>)>> {
    (2usize..40).prop_flat_map(|n| {
        proptest::collection::vec(
            (
                proptest::sample::select(ArtifactType::ALL.to_vec()),
                proptest::collection::vec(0usize..1000, 0..5),
            ),
            n,
        )
        .prop_map(move |nodes| {
            nodes
                .into_iter()
                .enumerate()
                .map(|(i, (t, picks))| {
                    let refs = if i + 1 < n {
                        picks.into_iter().map(|p| i + 1 + p % (n - i - 1)).collect()
                    } else {
                        Vec::new()
                    };
                    (t, refs)
                })
                .collect()
        })
    })
}

fn build(
    nodes: &[(ArtifactType, Vec<usize>)],
    names: &[String],
) -> HashMap<ArtifactId, ArtifactSummary> {
    catalog(
        nodes
            .iter()
            .enumerate()
            .map(|(i, (t, refs))| {
                let refs: Vec<&str> = refs.iter().map(|&j| names[j].as_str()).collect();
                art(&names[i], *t, &refs)
            })
            .collect(),
    )
}

fn names_for(n: usize, salt: u64) -> Vec<String> {
    // Names whose byte order is unrelated to the DAG's index order.
    (0..n)
        .map(|i| {
            format!(
                "a{:08x}-{i}",
                (i as u64 + 1).wrapping_mul(2654435761).wrapping_add(salt) % 0xffff_ffff
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn install_order_is_a_valid_tie_broken_topological_order(
        nodes in dag(),
        salt in any::<u64>(),
        root_picks in proptest::collection::vec(any::<proptest::sample::Index>(), 1..6),
    ) {
        let names = names_for(nodes.len(), salt);
        let cat = build(&nodes, &names);
        let roots: Vec<&str> = root_picks.iter().map(|ix| names[ix.index(names.len())].as_str()).collect();
        let r = resolve(&cat, &roots);
        prop_assert!(r.cycles.is_empty());
        prop_assert_eq!(r.install_order.len(), r.total_artifacts());

        let position: HashMap<&ArtifactId, usize> =
            r.install_order.iter().enumerate().map(|(i, id)| (id, i)).collect();
        // Dependencies come first.
        for a in r.artifacts() {
            for reference in &a.references {
                prop_assert!(position[&reference.artifact_id] < position[&a.id]);
            }
        }
        // Tie-break: at every step, the placed artifact is the minimum
        // (rank, id) among those whose dependencies were all placed.
        let by_id: HashMap<&ArtifactId, &ArtifactSummary> = r.artifacts().map(|a| (&a.id, a)).collect();
        for (step, id) in r.install_order.iter().enumerate() {
            let placed: HashSet<&ArtifactId> = r.install_order[..step].iter().collect();
            let ready = r.install_order[step..].iter().filter(|c| {
                by_id[c].references.iter().all(|d| placed.contains(&d.artifact_id))
            });
            let best = ready
                .min_by_key(|c| (by_id[c].artifact_type.rank(), c.as_str().as_bytes()))
                .unwrap();
            prop_assert_eq!(best, id);
        }
    }

    #[test]
    fn install_order_does_not_depend_on_root_order(
        nodes in dag(),
        salt in any::<u64>(),
        root_picks in proptest::collection::vec(any::<proptest::sample::Index>(), 1..6),
        shuffle in any::<u64>(),
    ) {
        let names = names_for(nodes.len(), salt);
        let cat = build(&nodes, &names);
        let roots: Vec<&str> = root_picks.iter().map(|ix| names[ix.index(names.len())].as_str()).collect();
        let mut reordered = roots.clone();
        // A deterministic shuffle driven by the generated seed.
        let mut s = shuffle;
        for i in (1..reordered.len()).rev() {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            reordered.swap(i, (s >> 33) as usize % (i + 1));
        }
        reordered.reverse();
        let a = resolve(&cat, &roots);
        let b = resolve(&cat, &reordered);
        prop_assert_eq!(a.total_artifacts(), b.total_artifacts());
        prop_assert_eq!(a.install_order, b.install_order);
    }

    #[test]
    fn a_graph_with_a_cycle_is_always_reported(
        nodes in dag(),
        salt in any::<u64>(),
        back in any::<(proptest::sample::Index, proptest::sample::Index)>(),
    ) {
        let names = names_for(nodes.len(), salt);
        let mut nodes = nodes;
        // Make every node reachable from node 0, then add one back edge from
        // a later node to an earlier (or the same) one: that closes a cycle.
        for i in 1..nodes.len() {
            nodes[i - 1].1.push(i);
        }
        let hi = back.0.index(nodes.len());
        let lo = back.1.index(hi + 1);
        nodes[hi].1.push(lo);
        let cat = build(&nodes, &names);
        let r = resolve(&cat, &[names[0].as_str()]);
        prop_assert!(r.has_cycle());
        prop_assert!(r.install_order.is_empty());
        prop_assert!(r.failures.iter().any(|f| f.code == ErrorCode::CircularDependency));
        // Every reported cycle is a real cycle: consecutive members reference
        // each other and the last references the first.
        for cycle in &r.cycles {
            for (k, member) in cycle.iter().enumerate() {
                let next = &cycle[(k + 1) % cycle.len()];
                prop_assert!(cat[member].references.iter().any(|x| &x.artifact_id == next));
            }
        }
    }
}
