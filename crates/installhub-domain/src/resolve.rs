//! Dependency resolution (SPEC §5): which artifacts a package needs, through
//! which artifact each was first reached, the install order, cycles, depth,
//! and every problem found on the way.
//!
//! Resolution is breadth-first from the roots, one queue seeded with the
//! roots in request order, following `references` in their listed order.
//! [`Resolver`] is a small state machine so the caller can fetch artifacts
//! from its store one BFS frontier at a time (one query per level instead of
//! one per artifact) while every rule stays here, free of I/O:
//!
//! ```
//! # use installhub_domain::resolve::{Resolver, Limits};
//! # use installhub_domain::{ArtifactId, TenantId};
//! # let tenant = TenantId::parse("tenant-a").unwrap();
//! # let roots = vec![ArtifactId::parse("a").unwrap()];
//! let mut resolver = Resolver::new(tenant, roots, Limits::default());
//! loop {
//!     let wanted = resolver.wanted();
//!     if wanted.is_empty() { break; }
//!     let found = Vec::new(); // store.artifact_summaries(&tenant, &wanted)
//!     resolver.supply(&wanted, found);
//! }
//! let resolution = resolver.finish();
//! # assert_eq!(resolution.missing_roots.len(), 1);
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use petgraph::graphmap::DiGraphMap;

use crate::failure::{ErrorCode, Failure};
use crate::ids::{ArtifactId, TenantId};
use crate::model::{ArtifactStatus, ArtifactSummary};

/// Bounds of a resolution (seed 02).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Artifacts in one bundle, roots included.
    pub max_artifacts: usize,
    /// References in the longest chain from a root.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_artifacts: 500,
            max_depth: 10,
        }
    }
}

#[derive(Debug, Clone)]
enum Lookup {
    Pending,
    Found(ArtifactSummary),
    Missing,
}

#[derive(Debug, Clone)]
struct Node {
    lookup: Lookup,
    /// The artifact through which this one was first reached; `None` for roots.
    resolved_from: Option<ArtifactId>,
    /// Index (in the request) of the root whose tree reached this node first.
    root_index: usize,
}

/// Breadth-first resolution driven by the caller's fetches.
#[derive(Debug)]
pub struct Resolver {
    tenant: TenantId,
    limits: Limits,
    /// Discovery order: the BFS queue, never popped; `cursor` walks it.
    queue: Vec<ArtifactId>,
    cursor: usize,
    nodes: HashMap<ArtifactId, Node>,
    cross_tenant: Vec<(ArtifactId, ArtifactId, TenantId)>,
    truncated: bool,
}

/// A dependency and the artifact through which it was first reached.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedDependency {
    pub artifact: ArtifactSummary,
    pub resolved_from: ArtifactId,
}

/// The outcome of a resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// Roots found in the tenant, in request order (duplicates collapsed).
    pub roots: Vec<ArtifactSummary>,
    /// Roots the tenant does not have, with their index in the request.
    pub missing_roots: Vec<(usize, ArtifactId)>,
    /// Found dependencies in breadth-first order; roots are never listed here.
    pub dependencies: Vec<ResolvedDependency>,
    /// Dependencies first, ties broken by type rank then id; empty when the
    /// graph has a cycle.
    pub install_order: Vec<ArtifactId>,
    /// Each cycle once, starting at its smallest id, following references.
    pub cycles: Vec<Vec<ArtifactId>>,
    /// Longest chain of references from a root (0 when there are cycles).
    pub depth: usize,
    /// Problems with the graph: not exportable, incomplete, cross-tenant,
    /// depth, size, cycles. Each names a `field` in the request.
    pub failures: Vec<Failure>,
}

impl Resolution {
    /// Every artifact that would go into the bundle.
    pub fn artifacts(&self) -> impl Iterator<Item = &ArtifactSummary> {
        self.roots
            .iter()
            .chain(self.dependencies.iter().map(|d| &d.artifact))
    }

    pub fn total_artifacts(&self) -> usize {
        self.roots.len() + self.dependencies.len()
    }

    pub fn has_cycle(&self) -> bool {
        !self.cycles.is_empty()
    }
}

impl Resolver {
    /// Starts a resolution from `roots` (request order; duplicates are
    /// collapsed, keeping the first).
    pub fn new(tenant: TenantId, roots: Vec<ArtifactId>, limits: Limits) -> Self {
        let mut resolver = Self {
            tenant,
            limits,
            queue: Vec::with_capacity(roots.len()),
            cursor: 0,
            nodes: HashMap::with_capacity(roots.len()),
            cross_tenant: Vec::new(),
            truncated: false,
        };
        for (index, id) in roots.into_iter().enumerate() {
            if resolver.nodes.contains_key(&id) {
                continue;
            }
            resolver.nodes.insert(
                id.clone(),
                Node {
                    lookup: Lookup::Pending,
                    resolved_from: None,
                    root_index: index,
                },
            );
            resolver.queue.push(id);
        }
        resolver
    }

    /// Advances the walk as far as the supplied artifacts allow and returns
    /// the ids it needs next: every discovered artifact not yet looked up.
    /// Empty when resolution is complete.
    pub fn wanted(&mut self) -> Vec<ArtifactId> {
        while self.cursor < self.queue.len() {
            let id = self.queue[self.cursor].clone();
            let node = &self.nodes[&id];
            match &node.lookup {
                Lookup::Pending => break,
                Lookup::Missing => {}
                Lookup::Found(summary) => {
                    // A deleted artifact is a dangling end: its own references
                    // are not followed.
                    if summary.status != ArtifactStatus::Deleted {
                        let references: Vec<_> = summary
                            .references
                            .iter()
                            .map(|r| (r.artifact_id.clone(), r.tenant_id.clone()))
                            .collect();
                        let root_index = node.root_index;
                        for (artifact_id, tenant_id) in references {
                            self.discover(
                                &id,
                                root_index,
                                crate::Reference {
                                    artifact_id,
                                    tenant_id,
                                },
                            );
                        }
                    }
                }
            }
            self.cursor += 1;
        }
        self.queue[self.cursor..]
            .iter()
            .filter(|id| matches!(self.nodes[*id].lookup, Lookup::Pending))
            .cloned()
            .collect()
    }

    fn discover(&mut self, from: &ArtifactId, root_index: usize, reference: crate::Reference) {
        if let Some(tenant) = reference.tenant_id
            && tenant != self.tenant
        {
            self.cross_tenant
                .push((from.clone(), reference.artifact_id, tenant));
            return;
        }
        if self.nodes.contains_key(&reference.artifact_id) {
            return;
        }
        // One past the limit is enough to know the bundle is too large; the
        // walk stops growing there so a huge graph costs no more than that.
        if self.queue.len() > self.limits.max_artifacts {
            self.truncated = true;
            return;
        }
        self.nodes.insert(
            reference.artifact_id.clone(),
            Node {
                lookup: Lookup::Pending,
                resolved_from: Some(from.clone()),
                root_index,
            },
        );
        self.queue.push(reference.artifact_id);
    }

    /// Supplies the result of looking up `requested`: the artifacts the
    /// tenant has. Requested ids absent from `found` are missing.
    pub fn supply(&mut self, requested: &[ArtifactId], found: Vec<ArtifactSummary>) {
        for summary in found {
            if summary.tenant_id != self.tenant {
                continue;
            }
            if let Some(node) = self.nodes.get_mut(&summary.id)
                && matches!(node.lookup, Lookup::Pending)
            {
                node.lookup = Lookup::Found(summary);
            }
        }
        for id in requested {
            if let Some(node) = self.nodes.get_mut(id)
                && matches!(node.lookup, Lookup::Pending)
            {
                node.lookup = Lookup::Missing;
            }
        }
    }

    /// Resolves against an in-memory catalog, for tests and benchmarks.
    pub fn resolve_with(
        mut self,
        mut lookup: impl FnMut(&ArtifactId) -> Option<ArtifactSummary>,
    ) -> Resolution {
        loop {
            let wanted = self.wanted();
            if wanted.is_empty() {
                return self.finish();
            }
            let found = wanted.iter().filter_map(&mut lookup).collect();
            self.supply(&wanted, found);
        }
    }

    /// Finishes the resolution. Call after [`Resolver::wanted`] returned
    /// nothing; ids still pending are treated as missing.
    pub fn finish(mut self) -> Resolution {
        let pending: Vec<ArtifactId> = self.wanted();
        self.supply(&pending, Vec::new());
        let _ = self.wanted();

        let mut failures = Vec::new();
        let field = |root_index: usize| format!("artifactIds[{root_index}]");

        let mut roots = Vec::new();
        let mut missing_roots = Vec::new();
        let mut dependencies = Vec::new();
        // Artifacts that go into the bundle, in discovery order.
        let mut included: Vec<&ArtifactSummary> = Vec::new();
        for id in &self.queue {
            let node = &self.nodes[id];
            match (&node.lookup, &node.resolved_from) {
                (Lookup::Found(summary), None) => {
                    roots.push(summary.clone());
                    included.push(summary);
                }
                (Lookup::Missing | Lookup::Pending, None) => {
                    missing_roots.push((node.root_index, id.clone()));
                }
                (Lookup::Found(summary), Some(from))
                    if summary.status != ArtifactStatus::Deleted =>
                {
                    dependencies.push(ResolvedDependency {
                        artifact: summary.clone(),
                        resolved_from: from.clone(),
                    });
                    included.push(summary);
                }
                // Missing or deleted dependencies are reported on the
                // artifacts that reference them, below.
                _ => {}
            }
        }

        for summary in &included {
            let node = &self.nodes[&summary.id];
            if !summary.status.is_exportable() {
                failures.push(not_exportable(summary, field(node.root_index)));
            }
            let dangling: Vec<&ArtifactId> = summary
                .references
                .iter()
                .filter(|r| r.tenant_id.as_ref().is_none_or(|t| *t == self.tenant))
                .map(|r| &r.artifact_id)
                .filter(|target| match self.nodes.get(*target).map(|n| &n.lookup) {
                    Some(Lookup::Found(s)) => s.status == ArtifactStatus::Deleted,
                    Some(Lookup::Missing | Lookup::Pending) => true,
                    // Not discovered because the walk stopped at the size
                    // limit: unknown, not dangling.
                    None => false,
                })
                .collect();
            if !dangling.is_empty() {
                failures.push(incomplete(summary, &dangling, field(node.root_index)));
            }
        }

        for (from, target, tenant) in &self.cross_tenant {
            let root_index = self.nodes[from].root_index;
            failures.push(
                Failure::new(
                    ErrorCode::CrossTenantReference,
                    format!(
                        "Artifact '{from}' references '{target}' in tenant '{tenant}'; a package may only contain artifacts of tenant '{}'.",
                        self.tenant
                    ),
                )
                .field(field(root_index))
                .detail("artifactId", from.as_str())
                .detail("referencedArtifactId", target.as_str())
                .detail("referencedTenantId", tenant.as_str()),
            );
        }

        if self.truncated || included.len() > self.limits.max_artifacts {
            failures.push(
                Failure::new(
                    ErrorCode::BundleSizeExceeded,
                    format!(
                        "The package would contain more than {} artifacts (roots and their dependencies). Export fewer roots or split the package.",
                        self.limits.max_artifacts
                    ),
                )
                .field("artifactIds")
                .detail("maxArtifacts", self.limits.max_artifacts),
            );
        }

        let graph = Graph::new(&included, &self.tenant);
        let order = graph.install_order();
        // Kahn's algorithm places every node exactly when the graph is
        // acyclic, so the (costlier) cycle search only runs when it must.
        let cycles = if order.len() == included.len() {
            Vec::new()
        } else {
            graph.cycles()
        };
        for cycle in &cycles {
            let root_index = self.nodes[&cycle[0]].root_index;
            let mut path: Vec<&str> = cycle.iter().map(ArtifactId::as_str).collect();
            path.push(cycle[0].as_str());
            failures.push(
                Failure::new(
                    ErrorCode::CircularDependency,
                    format!(
                        "Artifacts reference each other in a cycle: {}. Remove one of these references.",
                        path.join(" → ")
                    ),
                )
                .field(field(root_index))
                .detail("cycle", cycle.iter().map(|id| id.as_str()).collect::<Vec<_>>()),
            );
        }

        let (install_order, depth) = if cycles.is_empty() {
            let (depth, chain) = graph.longest_chain(&order, &self.root_ids());
            if depth > self.limits.max_depth {
                let root_index = self.nodes[&chain[0]].root_index;
                let path: Vec<&str> = chain.iter().map(ArtifactId::as_str).collect();
                failures.push(
                    Failure::new(
                        ErrorCode::DependencyDepthExceeded,
                        format!(
                            "The chain {} is {depth} references long; at most {} are allowed.",
                            path.join(" → "),
                            self.limits.max_depth
                        ),
                    )
                    .field(field(root_index))
                    .detail("artifactId", chain[0].as_str())
                    .detail("depth", depth)
                    .detail("maxDepth", self.limits.max_depth)
                    .detail("chain", path),
                );
            }
            (
                order.iter().map(|&i| graph.nodes[i].id.clone()).collect(),
                depth,
            )
        } else {
            (Vec::new(), 0)
        };

        Resolution {
            roots,
            missing_roots,
            dependencies,
            install_order,
            cycles,
            depth,
            failures,
        }
    }

    fn root_ids(&self) -> HashSet<ArtifactId> {
        self.queue
            .iter()
            .filter(|id| self.nodes[*id].resolved_from.is_none())
            .cloned()
            .collect()
    }
}

fn not_exportable(summary: &ArtifactSummary, field: String) -> Failure {
    let advice = match summary.status {
        ArtifactStatus::Draft => "Publish it before exporting.",
        ArtifactStatus::Archived => "Restore and publish it before exporting.",
        _ => "Restore and publish it, or remove it from the package.",
    };
    Failure::new(
        ErrorCode::ArtifactNotExportable,
        format!(
            "Artifact '{}' ({}) is in {} state. {advice}",
            summary.id, summary.name, summary.status
        ),
    )
    .field(field)
    .detail("artifactId", summary.id.as_str())
    .detail("currentStatus", summary.status.as_str())
    .detail("requiredStatus", ArtifactStatus::Published.as_str())
}

fn incomplete(summary: &ArtifactSummary, dangling: &[&ArtifactId], field: String) -> Failure {
    let names: Vec<String> = dangling.iter().map(|id| format!("'{id}'")).collect();
    Failure::new(
        ErrorCode::IncompleteArtifact,
        format!(
            "Artifact '{}' ({}) references {} that no longer exist{}. Fix or remove the references before exporting.",
            summary.id,
            summary.name,
            names.join(", "),
            if dangling.len() == 1 { "s" } else { "" }
        ),
    )
    .field(field)
    .detail("artifactId", summary.id.as_str())
    .detail(
        "missingReferences",
        dangling.iter().map(|id| id.as_str()).collect::<Vec<_>>(),
    )
}

/// The reference graph of the included artifacts: an edge `a -> b` when `a`
/// references `b` (so `b` installs first).
struct Graph<'a> {
    /// Nodes by dense index, in discovery order.
    nodes: Vec<&'a ArtifactSummary>,
    /// Out-edges (references) by node index, in reference order, deduplicated.
    edges: Vec<Vec<usize>>,
}

impl<'a> Graph<'a> {
    fn new(included: &[&'a ArtifactSummary], tenant: &TenantId) -> Self {
        let index: HashMap<&ArtifactId, usize> = included
            .iter()
            .enumerate()
            .map(|(i, s)| (&s.id, i))
            .collect();
        let edges = included
            .iter()
            .map(|s| {
                let mut out = Vec::with_capacity(s.references.len());
                // A set beside the list keeps this linear in references
                // however many an artifact lists.
                let mut seen = HashSet::with_capacity(s.references.len());
                for r in &s.references {
                    if r.tenant_id.as_ref().is_some_and(|t| t != tenant) {
                        continue;
                    }
                    if let Some(&j) = index.get(&r.artifact_id)
                        && seen.insert(j)
                    {
                        out.push(j);
                    }
                }
                out
            })
            .collect();
        Self {
            nodes: included.to_vec(),
            edges,
        }
    }

    /// Kahn's algorithm with a priority queue: among the artifacts whose
    /// dependencies are all placed, the lowest (type rank, id bytes) goes next.
    fn install_order(&self) -> Vec<usize> {
        let n = self.nodes.len();
        // Number of distinct dependencies not yet placed, per node.
        let mut remaining: Vec<usize> = self.edges.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (from, out) in self.edges.iter().enumerate() {
            for &to in out {
                dependents[to].push(from);
            }
        }
        let key = |i: usize| {
            let s = self.nodes[i];
            Reverse((s.artifact_type.rank(), s.id.as_str().as_bytes(), i))
        };
        let mut ready: BinaryHeap<_> = (0..n).filter(|&i| remaining[i] == 0).map(key).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse((_, _, i))) = ready.pop() {
            order.push(i);
            for &d in &dependents[i] {
                remaining[d] -= 1;
                if remaining[d] == 0 {
                    ready.push(key(d));
                }
            }
        }
        order
    }

    /// Every elementary cycle found, one per strongly connected component
    /// that has one, starting at the component's smallest id.
    fn cycles(&self) -> Vec<Vec<ArtifactId>> {
        let mut graph: DiGraphMap<usize, ()> = DiGraphMap::with_capacity(self.nodes.len(), 0);
        for i in 0..self.nodes.len() {
            graph.add_node(i);
        }
        for (from, out) in self.edges.iter().enumerate() {
            for &to in out {
                graph.add_edge(from, to, ());
            }
        }
        let mut cycles: Vec<Vec<ArtifactId>> = petgraph::algo::tarjan_scc(&graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.edges[scc[0]].contains(&scc[0]))
            .map(|scc| self.cycle_in(&scc))
            .collect();
        cycles.sort();
        cycles
    }

    /// A cycle through the smallest id of a strongly connected component:
    /// depth-first along references (in listed order) inside the component
    /// until the walk returns to the start.
    fn cycle_in(&self, scc: &[usize]) -> Vec<ArtifactId> {
        let members: HashSet<usize> = scc.iter().copied().collect();
        let start = *scc
            .iter()
            .min_by(|a, b| self.nodes[**a].id.cmp(&self.nodes[**b].id))
            .expect("a component is never empty");
        let mut path = vec![start];
        let mut next_edge = vec![0usize];
        let mut on_path: HashSet<usize> = [start].into();
        let mut dead: HashSet<usize> = HashSet::new();
        while let Some(&node) = path.last() {
            let k = next_edge.last_mut().expect("parallel to path");
            match self.edges[node].get(*k).copied() {
                Some(to) => {
                    *k += 1;
                    if to == start {
                        return path.iter().map(|&i| self.nodes[i].id.clone()).collect();
                    }
                    if members.contains(&to) && !on_path.contains(&to) && !dead.contains(&to) {
                        path.push(to);
                        next_edge.push(0);
                        on_path.insert(to);
                    }
                }
                None => {
                    path.pop();
                    next_edge.pop();
                    on_path.remove(&node);
                    dead.insert(node);
                }
            }
        }
        // Unreachable for a real component; fall back to its members.
        let mut ids: Vec<ArtifactId> = scc.iter().map(|&i| self.nodes[i].id.clone()).collect();
        ids.sort();
        ids
    }

    /// The longest chain of references starting at a root, in references
    /// (edges), and the chain itself. Needs an acyclic graph and its order.
    fn longest_chain(
        &self,
        order: &[usize],
        roots: &HashSet<ArtifactId>,
    ) -> (usize, Vec<ArtifactId>) {
        // Install order places dependencies first, so each node's children
        // are final when it is reached.
        let mut longest = vec![0usize; self.nodes.len()];
        let mut next: Vec<Option<usize>> = vec![None; self.nodes.len()];
        for &i in order {
            for &child in &self.edges[i] {
                if longest[child] + 1 > longest[i] {
                    longest[i] = longest[child] + 1;
                    next[i] = Some(child);
                }
            }
        }
        let best = (0..self.nodes.len())
            .filter(|&i| roots.contains(&self.nodes[i].id))
            .max_by_key(|&i| (longest[i], Reverse(i)));
        let Some(mut at) = best else {
            return (0, Vec::new());
        };
        let mut chain = vec![self.nodes[at].id.clone()];
        while let Some(child) = next[at] {
            chain.push(self.nodes[child].id.clone());
            at = child;
        }
        (longest[best.expect("checked above")], chain)
    }
}

#[cfg(test)]
mod tests;
