//! The verify pass: both sides read again and compared node by node.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, Instant};

use super::source::{self, hidden_roots};
use super::{plan, target, Error, Migration};
use crate::v2::over_v3::V2Path;

/// One way the copy differs from the source.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// The source has this node; the copy has none of that kind.
    Missing {
        /// The v2 path.
        path: String,
        /// Whether the source's node is a directory.
        dir: bool,
    },
    /// The copy has this node; the source has none of that kind.
    Extra {
        /// The v2 path.
        path: String,
        /// Whether the copy's node is a directory.
        dir: bool,
    },
    /// The values differ.
    Value {
        /// The v2 path.
        path: String,
        /// The source's value length in bytes.
        source_len: usize,
        /// The copy's value length in bytes.
        target_len: usize,
    },
    /// The TTLs differ by more than the tolerance (seconds left on each side; `None`: none).
    Ttl {
        /// The v2 path.
        path: String,
        /// Seconds the source's node has left (its own TTL or its directory's).
        source: Option<i64>,
        /// Seconds the copy's lease has left.
        target: Option<i64>,
    },
    /// The source's node cannot be held by the layout.
    Unsupported {
        /// The v2 key.
        path: String,
        /// Why.
        why: String,
    },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |dir: &bool| if *dir { "directory" } else { "file" };
        let secs = |s: &Option<i64>| s.map_or("none".to_string(), |s| format!("{s}s"));
        match self {
            Difference::Missing { path, dir } => write!(f, "missing in v3: {} {path}", kind(dir)),
            Difference::Extra { path, dir } => write!(f, "only in v3: {} {path}", kind(dir)),
            Difference::Value {
                path,
                source_len,
                target_len,
            } => write!(
                f,
                "value differs: {path} (v2 {source_len} bytes, v3 {target_len} bytes)"
            ),
            Difference::Ttl {
                path,
                source,
                target,
            } => write!(
                f,
                "TTL differs: {path} (v2 {} left, v3 {} left)",
                secs(source),
                secs(target)
            ),
            Difference::Unsupported { path, why } => write!(f, "cannot be copied: {path}: {why}"),
        }
    }
}

/// What the verify pass found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Report {
    /// The source's index of the read compared.
    pub index: u64,
    /// Nodes read from the source (hidden ones included).
    pub source_nodes: u64,
    /// Nodes read from the copy.
    pub target_nodes: u64,
    /// Nodes compared with a TTL on the source's side.
    pub ttl_nodes: u64,
    /// Every difference found.
    pub differences: Vec<Difference>,
    /// The TTL tolerance used.
    pub tolerance: Duration,
}

impl Report {
    /// Whether both sides are equal.
    pub fn is_equal(&self) -> bool {
        self.differences.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "verify at v2 index {}: {} nodes in v2, {} in v3 ({} with TTLs, tolerance {:?}): ",
            self.index, self.source_nodes, self.target_nodes, self.ttl_nodes, self.tolerance
        )?;
        if self.is_equal() {
            return write!(f, "equal");
        }
        write!(f, "{} difference(s)", self.differences.len())?;
        for d in self.differences.iter().take(50) {
            write!(f, "\n  {d}")?;
        }
        if self.differences.len() > 50 {
            write!(f, "\n  … and {} more", self.differences.len() - 50)?;
        }
        Ok(())
    }
}

/// The hidden nodes to read by name: those named, and those the copy holds.
pub(crate) fn hidden_set<'a>(
    named: impl IntoIterator<Item = &'a V2Path>,
    tgt: &target::Target,
) -> BTreeSet<V2Path> {
    let mut out: BTreeSet<V2Path> = named.into_iter().flat_map(hidden_roots).collect();
    for (path, _) in tgt.nodes.keys() {
        out.extend(hidden_roots(path));
    }
    out
}

pub(crate) async fn verify(m: &Migration) -> Result<Report, Error> {
    let named: BTreeSet<V2Path> = m
        .hidden
        .iter()
        .filter_map(|h| V2Path::parse(h).ok())
        .collect();
    verify_with(m, &named).await
}

/// Reads the copy, then the source (with `hidden`, and the hidden nodes the copy has), and
/// compares. Nodes about to expire (within the tolerance) on either side are left out: they
/// may be gone from one side and not yet from the other.
pub(crate) async fn verify_with(m: &Migration, hidden: &BTreeSet<V2Path>) -> Result<Report, Error> {
    let layout = m.layout();
    m.report(super::Phase::Verify, 0, 0, 0);
    let mut tgt = target::scan_all(&m.target, &layout).await?;
    let wanted = hidden_set(hidden, &tgt);
    let mut src = source::read(&m.source, &V2Path::root(), &wanted).await?;
    let now = Instant::now();
    let soon = now + m.ttl_tolerance;
    let mut dropped: BTreeSet<V2Path> = BTreeSet::new();
    let paths: Vec<V2Path> = src.nodes.keys().cloned().collect();
    for p in paths {
        let near = src
            .nodes
            .get(&p)
            .and_then(|n| n.deadline)
            .is_some_and(|d| d <= soon);
        if near || p.ancestors().iter().any(|a| dropped.contains(a)) {
            dropped.insert(p.clone());
            src.nodes.remove(&p);
        }
    }
    let expiring: Vec<(V2Path, bool)> = tgt
        .nodes
        .iter()
        .filter(|(_, kv)| kv.lease != 0 && tgt.deadline(kv.lease).is_none_or(|d| d <= soon))
        .map(|(k, _)| k.clone())
        .collect();
    for k in expiring {
        tgt.nodes.remove(&k);
    }
    let plan = plan::plan(&layout, &src.nodes, &tgt, m.ttl_tolerance, now);
    let mut differences = plan.differences;
    differences.extend(
        src.unsupported
            .iter()
            .map(|(path, why)| Difference::Unsupported {
                path: path.clone(),
                why: why.clone(),
            }),
    );
    let report = Report {
        index: src.index,
        source_nodes: src.nodes.len() as u64,
        target_nodes: tgt.nodes.len() as u64,
        ttl_nodes: src.nodes.values().filter(|n| n.deadline.is_some()).count() as u64,
        differences,
        tolerance: m.ttl_tolerance,
    };
    m.report(
        super::Phase::Verify,
        report.source_nodes,
        report.source_nodes,
        report.index,
    );
    Ok(report)
}
