//! A preview's dependency graph as a picture: layered from the roots (top)
//! down, each artifact with its install-order number, cycles and the
//! artifacts a warning names drawn in the problem colour. The layout is
//! computed here and drawn by the `preview.html` template as inline SVG.
//!
//! Written by hand rather than with a graph-drawing crate: the layers are
//! the breadth-first distance from the roots the resolver already walks,
//! which is a few lines, and the available layout crates either shell out
//! to Graphviz or draw with inline styles the console's CSP refuses.

use std::collections::{HashMap, HashSet, VecDeque};

use installhub_domain::resolve::Resolution;

/// A node's box, and the gaps between boxes and around the picture.
const NODE_W: usize = 232;
const NODE_H: usize = 56;
const GAP_X: usize = 28;
const GAP_Y: usize = 64;
const PAD: usize = 24;
/// How many characters of a name fit a box.
const NAME_CHARS: usize = 22;

pub struct GraphNode {
    pub id: String,
    /// The name, shortened to fit.
    pub label: String,
    /// `id · Type`.
    pub meta: String,
    /// `node root cycle problem`, as they apply.
    pub classes: String,
    /// The position in the install order, from 1 (none with a cycle).
    pub order: Option<usize>,
    pub x: usize,
    pub y: usize,
    /// Where the name and the line under it start.
    pub text_x: usize,
    pub name_y: usize,
    pub meta_y: usize,
    /// The install-order badge's centre.
    pub badge_x: usize,
    pub badge_y: usize,
}

pub struct GraphEdge {
    /// The SVG path.
    pub d: String,
    pub cycle: bool,
}

pub struct Graph {
    pub width: usize,
    pub height: usize,
    pub node_w: usize,
    pub node_h: usize,
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}

/// Lays out the resolved graph.
pub fn layout(resolution: &Resolution) -> Graph {
    let artifacts: Vec<_> = resolution.artifacts().collect();
    let index: HashMap<&str, usize> = artifacts
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.as_str(), i))
        .collect();
    // References within the tenant to artifacts in the graph.
    let mut edges: Vec<(usize, usize)> = Vec::new();
    for (from, artifact) in artifacts.iter().enumerate() {
        for reference in &artifact.references {
            if reference
                .tenant_id
                .as_ref()
                .is_some_and(|t| *t != artifact.tenant_id)
            {
                continue;
            }
            if let Some(&to) = index.get(reference.artifact_id.as_str())
                && !edges.contains(&(from, to))
            {
                edges.push((from, to));
            }
        }
    }
    // Layers: the breadth-first distance from the roots.
    let mut layer = vec![usize::MAX; artifacts.len()];
    let mut queue = VecDeque::new();
    for (root, l) in layer.iter_mut().enumerate().take(resolution.roots.len()) {
        *l = 0;
        queue.push_back(root);
    }
    while let Some(node) = queue.pop_front() {
        for &(from, to) in &edges {
            if from == node && layer[to] == usize::MAX {
                layer[to] = layer[node] + 1;
                queue.push_back(to);
            }
        }
    }
    for l in &mut layer {
        if *l == usize::MAX {
            *l = 0;
        }
    }
    let layers = layer.iter().max().map_or(0, |m| m + 1);
    let mut rows: Vec<Vec<usize>> = vec![Vec::new(); layers];
    for (node, &l) in layer.iter().enumerate() {
        rows[l].push(node);
    }
    let widest = rows.iter().map(Vec::len).max().unwrap_or(0);
    let row_width = |n: usize| n * NODE_W + n.saturating_sub(1) * GAP_X;
    // Room on the right for the curves of edges that go up or sideways.
    let width = PAD * 2 + row_width(widest).max(NODE_W) + GAP_X * 2;
    let height = PAD * 2 + layers * NODE_H + layers.saturating_sub(1) * GAP_Y;

    let mut position = vec![(0usize, 0usize); artifacts.len()];
    for (l, row) in rows.iter().enumerate() {
        let start = PAD + (row_width(widest) - row_width(row.len())) / 2;
        for (i, &node) in row.iter().enumerate() {
            position[node] = (start + i * (NODE_W + GAP_X), PAD + l * (NODE_H + GAP_Y));
        }
    }

    let order: HashMap<&str, usize> = resolution
        .install_order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i + 1))
        .collect();
    let in_cycle: HashSet<&str> = resolution
        .cycles
        .iter()
        .flatten()
        .map(|id| id.as_str())
        .collect();
    let cycle_edges: HashSet<(&str, &str)> = resolution
        .cycles
        .iter()
        .flat_map(|cycle| {
            cycle
                .iter()
                .zip(cycle.iter().cycle().skip(1))
                .map(|(a, b)| (a.as_str(), b.as_str()))
        })
        .collect();
    let named: HashSet<String> = resolution
        .failures
        .iter()
        .filter_map(|f| f.details.get("artifactId").and_then(|v| v.as_str()))
        .map(str::to_owned)
        .collect();

    let nodes = artifacts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (x, y) = position[i];
            let mut classes = vec!["node"];
            if i < resolution.roots.len() {
                classes.push("root");
            }
            if in_cycle.contains(a.id.as_str()) {
                classes.push("cycle");
            }
            if named.contains(a.id.as_str()) {
                classes.push("problem");
            }
            GraphNode {
                id: a.id.to_string(),
                label: shorten(&a.name, NAME_CHARS),
                meta: shorten(&format!("{} · {}", a.id, a.artifact_type.as_str()), 32),
                classes: classes.join(" "),
                order: order.get(a.id.as_str()).copied(),
                x,
                y,
                text_x: x + 12,
                name_y: y + 24,
                meta_y: y + 44,
                badge_x: x + NODE_W - 14,
                badge_y: y + 14,
            }
        })
        .collect();

    let edges = edges
        .iter()
        .map(|&(from, to)| {
            let (fx, fy) = position[from];
            let (tx, ty) = position[to];
            let d = if layer[to] > layer[from] {
                // Down: bottom centre to top centre.
                let (x1, y1) = (fx + NODE_W / 2, fy + NODE_H);
                let (x2, y2) = (tx + NODE_W / 2, ty);
                let mid = (y1 + y2) / 2;
                format!("M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}")
            } else if layer[to] == layer[from] {
                // Sideways: a loop below the row, bottom to bottom.
                let (x1, y1) = (fx + NODE_W / 2 + 12, fy + NODE_H);
                let (x2, y2) = (tx + NODE_W / 2 - 12, ty + NODE_H);
                let below = y1 + GAP_Y / 2;
                format!("M{x1},{y1} C{x1},{below} {x2},{below} {x2},{y2}")
            } else {
                // Up (a cycle): around the right-hand side.
                let (x1, y1) = (fx + NODE_W, fy + NODE_H / 2);
                let (x2, y2) = (tx + NODE_W, ty + NODE_H / 2);
                let out = x1.max(x2) + GAP_X + 8;
                format!("M{x1},{y1} C{out},{y1} {out},{y2} {x2},{y2}")
            };
            GraphEdge {
                d,
                cycle: cycle_edges
                    .contains(&(artifacts[from].id.as_str(), artifacts[to].id.as_str())),
            }
        })
        .collect();

    Graph {
        width,
        height,
        node_w: NODE_W,
        node_h: NODE_H,
        nodes,
        edges,
    }
}
