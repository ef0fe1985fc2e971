//! `migrate check`: what a v2 keyspace holds, before an upgrade to etcd 3.6 (which has no v2).

use std::collections::BTreeSet;

use super::source::{self, hidden_roots};
use super::Error;
use crate::v2::over_v3::V2Path;

/// What a v2 keyspace holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Inventory {
    /// The store index of the read.
    pub index: u64,
    /// `X-Etcd-Cluster-Id`.
    pub cluster_id: String,
    /// Files (keys with values).
    pub files: u64,
    /// Directories (the root not counted).
    pub dirs: u64,
    /// Nodes with a TTL of their own.
    pub ttl_nodes: u64,
    /// Hidden nodes found (and everything below them): v2 never lists them, so only those
    /// named and those seen in the event history (the last 1,000 events) can be found.
    pub hidden: u64,
    /// The hidden nodes found at the top of their hidden subtrees.
    pub hidden_paths: Vec<String>,
    /// The bytes of every value.
    pub value_bytes: u64,
    /// The largest value: its key and size in bytes.
    pub largest: Option<(String, usize)>,
    /// The deepest path: its key and number of segments.
    pub deepest: Option<(String, usize)>,
    /// Whether the v2 auth API is enabled (`None`: it did not say).
    pub auth_enabled: Option<bool>,
    /// Whether the event history was searched for hidden nodes.
    pub history_scanned: bool,
    /// Keys the v3 layout cannot hold (deeper than it allows), with why.
    pub unsupported: Vec<(String, String)>,
}

impl Inventory {
    /// Whether no node was found (hidden nodes that were neither named nor in the event
    /// history cannot be seen).
    pub fn is_empty(&self) -> bool {
        self.files == 0 && self.dirs == 0 && self.unsupported.is_empty()
    }
}

/// Reads the v2 keyspace of `source` (recursively, then the hidden nodes `hidden` names and
/// those the event history shows, unless `scan_history` is false) and counts what it holds.
pub async fn check(
    source: &crate::v2::Client,
    hidden: &[String],
    scan_history: bool,
) -> Result<Inventory, Error> {
    let root = V2Path::root();
    let mut src = source::read(source, &root, &BTreeSet::new()).await?;
    let mut wanted: BTreeSet<V2Path> = hidden
        .iter()
        .filter_map(|h| V2Path::parse(h).ok())
        .flat_map(|p| hidden_roots(&p))
        .collect();
    if scan_history {
        for p in source::history_hidden(source, src.index).await? {
            wanted.extend(hidden_roots(&p));
        }
    }
    source::add_hidden(source, &mut src, &root, &wanted).await?;
    let mut inv = Inventory {
        index: src.index,
        cluster_id: src.cluster_id.clone(),
        history_scanned: scan_history,
        unsupported: src.unsupported.clone(),
        auth_enabled: source.auth().status().await.ok(),
        ..Inventory::default()
    };
    for (path, node) in &src.nodes {
        if node.dir {
            inv.dirs += 1;
        } else {
            inv.files += 1;
            inv.value_bytes += node.value.len() as u64;
            if inv
                .largest
                .as_ref()
                .is_none_or(|(_, n)| node.value.len() > *n)
            {
                inv.largest = Some((path.to_string(), node.value.len()));
            }
        }
        inv.ttl_nodes += u64::from(node.deadline.is_some());
        if path.is_hidden_below(&root) {
            inv.hidden += 1;
            if path.name().starts_with('_')
                && !path.ancestors().iter().any(|a| a.name().starts_with('_'))
            {
                inv.hidden_paths.push(path.to_string());
            }
        }
        if inv
            .deepest
            .as_ref()
            .is_none_or(|(_, n)| path.segments() > *n)
        {
            inv.deepest = Some((path.to_string(), path.segments()));
        }
    }
    Ok(inv)
}
