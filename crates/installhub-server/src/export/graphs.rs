//! Resolved dependency graphs, kept so that a preview asked again of an
//! unchanged catalog costs one query (the tenant with its catalog
//! generation) instead of the graph's.
//!
//! What keeps it from ever answering wrongly:
//! - The key is the tenant, its catalog generation and the roots in request
//!   order. The generation is read with the tenant on every request, and
//!   every committed write to the tenant's artifacts raises it (database
//!   triggers do, whichever code path or replica writes), so an entry is
//!   found only while the catalog it was computed from is current. Another
//!   tenant's graph has another key.
//! - A graph depends only on the tenant's own artifacts (references to
//!   another tenant are reported, never followed), not on the caller: the
//!   caller's scope, access and the tenant's status are checked on every
//!   request before the cache is asked.
//! - An entry may have been computed from data a little newer than its
//!   generation (a write committed between the two reads); it is then
//!   served only to requests that started before that write committed,
//!   for which the newer answer is as right as the older.
//! - Only successful resolutions are kept, bounded by weight (about
//!   bytes), so memory stays flat; quick_cache evicts (S3-FIFO) past it.
//! - A preview's JSON answer is a function of the graph alone, so it is
//!   kept with it once written ([`Graph::preview_json`]): a repeated
//!   preview of a 500-artifact graph then writes no JSON at all.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use installhub_domain::resolve::Resolution;
use installhub_domain::{ArtifactId, TenantId};
use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// Total weight of the graphs kept: 8 MiB holds thousands of typical
/// previews (a few KiB each) or a handful of the largest.
const CACHE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    tenant: TenantId,
    generation: i64,
    roots: Vec<ArtifactId>,
}

/// A resolved graph and, once a preview answered with it, that answer's
/// JSON.
#[derive(Debug)]
pub struct Graph {
    resolution: Resolution,
    preview_json: OnceLock<Bytes>,
}

impl Graph {
    pub fn new(resolution: Resolution) -> Self {
        Graph {
            resolution,
            preview_json: OnceLock::new(),
        }
    }

    /// The preview's JSON of this graph, written by `write` the first time.
    pub fn preview_json(&self, write: impl FnOnce(&Resolution) -> Bytes) -> Bytes {
        self.preview_json
            .get_or_init(|| write(&self.resolution))
            .clone()
    }
}

impl std::ops::Deref for Graph {
    type Target = Resolution;

    fn deref(&self) -> &Resolution {
        &self.resolution
    }
}

#[derive(Clone)]
struct Entry {
    graph: Arc<Graph>,
    /// Computed once, when stored (quick_cache asks for it on eviction).
    weight: u64,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<Key, Entry> for ByBytes {
    fn weight(&self, key: &Key, entry: &Entry) -> u64 {
        let roots: usize = key.roots.iter().map(|r| r.as_str().len()).sum();
        (key.tenant.as_str().len() + roots) as u64 + entry.weight
    }
}

/// The resolved graphs of recent previews; see the module documentation.
pub struct GraphCache {
    entries: Cache<Key, Entry, ByBytes>,
}

impl std::fmt::Debug for GraphCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphCache")
            .field("graphs", &self.entries.len())
            .field("weight", &self.entries.weight())
            .finish()
    }
}

impl Default for GraphCache {
    fn default() -> Self {
        Self::with_capacity(CACHE_BYTES)
    }
}

impl GraphCache {
    fn with_capacity(bytes: u64) -> Self {
        // Sized for ~4 KiB entries; the weight is the real bound.
        let estimated = usize::try_from(bytes / 4096).unwrap_or(1024).max(16);
        Self {
            entries: Cache::with_weighter(estimated, bytes, ByBytes),
        }
    }

    /// The graph of `roots` in `tenant` at `generation`, if kept.
    pub fn get(
        &self,
        tenant: &TenantId,
        generation: i64,
        roots: &[ArtifactId],
    ) -> Option<Arc<Graph>> {
        let key = Key {
            tenant: tenant.clone(),
            generation,
            roots: roots.to_vec(),
        };
        self.entries.get(&key).map(|entry| entry.graph)
    }

    /// Keeps a successful resolution of `roots` in `tenant`, computed after
    /// `generation` was read.
    pub fn insert(
        &self,
        tenant: &TenantId,
        generation: i64,
        roots: Vec<ArtifactId>,
        graph: Arc<Graph>,
    ) {
        // Twice the graph: its preview JSON is about as large.
        let weight = 2 * weigh(&graph);
        let key = Key {
            tenant: tenant.clone(),
            generation,
            roots,
        };
        self.entries.insert(key, Entry { graph, weight });
    }
}

/// About the bytes a resolution holds: its strings and a fixed cost per
/// element.
fn weigh(resolution: &Resolution) -> u64 {
    const PER_ITEM: usize = 64;
    let artifacts: usize = resolution
        .artifacts()
        .map(|a| {
            PER_ITEM
                + a.id.as_str().len()
                + a.name.len()
                + a.version.len()
                + a.references.len() * PER_ITEM
        })
        .sum();
    let order = resolution.install_order.len() * PER_ITEM;
    let cycles: usize = resolution.cycles.iter().map(|c| c.len() * PER_ITEM).sum();
    let failures = resolution.failures.len() * 4 * PER_ITEM;
    (PER_ITEM + artifacts + order + cycles + failures) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolution() -> Arc<Graph> {
        Arc::new(Graph::new(Resolution {
            roots: Vec::new(),
            missing_roots: Vec::new(),
            dependencies: Vec::new(),
            install_order: vec![ArtifactId::from_trusted("proc-1".to_owned())],
            cycles: Vec::new(),
            depth: 0,
            failures: Vec::new(),
        }))
    }

    fn tenant(id: &str) -> TenantId {
        TenantId::from_trusted(id.to_owned())
    }

    fn roots(ids: &[&str]) -> Vec<ArtifactId> {
        ids.iter()
            .map(|id| ArtifactId::from_trusted((*id).to_owned()))
            .collect()
    }

    #[test]
    fn found_only_under_the_same_tenant_generation_and_roots() {
        let cache = GraphCache::default();
        let kept = resolution();
        cache.insert(
            &tenant("tenant-a"),
            3,
            roots(&["a", "b"]),
            Arc::clone(&kept),
        );
        let found = cache.get(&tenant("tenant-a"), 3, &roots(&["a", "b"]));
        assert!(found.is_some_and(|r| Arc::ptr_eq(&r, &kept)));
        for (t, generation, r) in [
            ("tenant-b", 3, roots(&["a", "b"])),
            ("tenant-a", 4, roots(&["a", "b"])),
            ("tenant-a", 2, roots(&["a", "b"])),
            ("tenant-a", 3, roots(&["b", "a"])),
            ("tenant-a", 3, roots(&["a"])),
        ] {
            assert!(
                cache.get(&tenant(t), generation, &r).is_none(),
                "{t} {generation} {r:?}"
            );
        }
    }

    #[test]
    fn a_graphs_preview_json_is_written_once() {
        let graph = resolution();
        let mut writes = 0;
        for _ in 0..3 {
            let body = graph.preview_json(|r| {
                writes += 1;
                Bytes::from(r.install_order[0].to_string())
            });
            assert_eq!(body, "proc-1");
        }
        assert_eq!(writes, 1);
    }

    #[test]
    fn stays_within_its_weight() {
        let cache = GraphCache::with_capacity(64 * 1024);
        for generation in 0..10_000 {
            cache.insert(&tenant("tenant-a"), generation, roots(&["a"]), resolution());
        }
        assert!(cache.entries.weight() <= 64 * 1024);
        assert!(cache.entries.len() < 10_000);
    }
}
