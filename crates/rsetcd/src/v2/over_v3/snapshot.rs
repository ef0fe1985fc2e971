//! Reading what a v2 operation needs at one revision — the node, its ancestors, a subtree — and
//! the compares that make a later transaction apply only if none of it changed.

use crate::error::Result;
use crate::v3::proto::etcdserverpb::response_op::Response as OpResponse;
use crate::v3::{Client, Compare, CompareOp, GetOp, KeyValue, Op, ResponseHeader, TxnResponse};

use super::layout::{index_of, Layout, V2Path, MAX_SEGMENTS};

/// What is at one path: its file key and its directory key (at most one exists when only v2
/// writers wrote; the directory wins if both do).
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) path: V2Path,
    pub(crate) file: Option<KeyValue>,
    pub(crate) dir: Option<KeyValue>,
}

/// The kind of node at a path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind<'a> {
    Missing,
    File(&'a KeyValue),
    Dir(&'a KeyValue),
}

impl Slot {
    pub(crate) fn kind(&self) -> Kind<'_> {
        match (&self.dir, &self.file) {
            (Some(d), _) => Kind::Dir(d),
            (None, Some(f)) => Kind::File(f),
            (None, None) => Kind::Missing,
        }
    }

    /// The lease of the node (0: none, or no node).
    pub(crate) fn lease(&self) -> i64 {
        match self.kind() {
            Kind::Dir(kv) | Kind::File(kv) => kv.lease,
            Kind::Missing => 0,
        }
    }
}

/// What the v2 store's walk from the root to a path meets on the way (the ancestors only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Walk {
    /// Every ancestor is a directory.
    Clear,
    /// This ancestor is a file (error 104, "Not a directory").
    NotDir(V2Path),
    /// This ancestor, the first from the top, is missing (and so is everything below it).
    Missing(V2Path),
}

/// The node at a path and its ancestors, read at one revision.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) header: ResponseHeader,
    /// From the top down (the root is never stored).
    pub(crate) ancestors: Vec<Slot>,
    pub(crate) target: Slot,
    /// The action key, when asked for.
    pub(crate) act: Option<KeyValue>,
}

impl Snapshot {
    /// The revision of the read.
    pub(crate) fn revision(&self) -> i64 {
        self.header.revision
    }

    /// The v2 index of the read (for errors).
    pub(crate) fn index(&self) -> u64 {
        index_of(self.revision())
    }

    /// The v2 store's walk down to the target.
    pub(crate) fn walk(&self) -> Walk {
        for slot in &self.ancestors {
            match slot.kind() {
                Kind::Dir(_) => {}
                Kind::File(_) => return Walk::NotDir(slot.path.clone()),
                Kind::Missing => return Walk::Missing(slot.path.clone()),
            }
        }
        Walk::Clear
    }

    /// The ancestors that do not exist, from the top down (a write creates them).
    pub(crate) fn missing_ancestors(&self) -> impl Iterator<Item = &V2Path> {
        self.ancestors
            .iter()
            .filter(|s| matches!(s.kind(), Kind::Missing))
            .map(|s| &s.path)
    }

    /// The lease the nearest ancestor directory with one holds (0: none). A node below a
    /// directory with a TTL lives on that lease unless its own expires sooner.
    pub(crate) fn inherited_lease(&self) -> i64 {
        self.ancestors
            .iter()
            .rev()
            .map(Slot::lease)
            .find(|l| *l != 0)
            .unwrap_or(0)
    }

    /// Whether `lease` is an ancestor's (such a lease is never revoked on the node's behalf).
    pub(crate) fn is_ancestor_lease(&self, lease: i64) -> bool {
        lease != 0 && self.ancestors.iter().any(|s| s.lease() == lease)
    }

    /// Compares that hold only if no key read here changed since the read (a key that was
    /// missing still is).
    pub(crate) fn compares(&self, layout: &Layout) -> Vec<Compare> {
        let mut out = Vec::with_capacity(2 * self.ancestors.len() + 3);
        for slot in self.ancestors.iter().chain(std::iter::once(&self.target)) {
            out.push(unchanged(layout.file_key(&slot.path), slot.file.as_ref()));
            out.push(unchanged(layout.dir_key(&slot.path), slot.dir.as_ref()));
        }
        out
    }

    /// The compare that the action key did not change: no other v2 write happened since the read.
    pub(crate) fn act_unchanged(&self, layout: &Layout) -> Compare {
        unchanged(layout.action_key(), self.act.as_ref())
    }
}

/// `mod_revision(key) == seen` (0 for a key that was missing: it still is).
fn unchanged(key: Vec<u8>, seen: Option<&KeyValue>) -> Compare {
    Compare::mod_revision(key, CompareOp::Equal, seen.map_or(0, |kv| kv.mod_revision))
}

/// The key-values of a range answer inside a transaction answer.
pub(crate) fn ranges(resp: TxnResponse) -> impl Iterator<Item = Vec<KeyValue>> {
    resp.responses.into_iter().map(|r| match r.response {
        Some(OpResponse::ResponseRange(range)) => range.kvs,
        _ => Vec::new(),
    })
}

/// Reads `path`, its ancestors and (with `with_act`) the action key in one transaction.
pub(crate) async fn read(
    client: &Client,
    layout: &Layout,
    path: &V2Path,
    with_act: bool,
) -> Result<Snapshot> {
    let ancestors = path.ancestors();
    let mut txn = client.txn();
    for p in ancestors.iter().chain(std::iter::once(path)) {
        txn = txn
            .and_then(Op::get(layout.file_key(p)))
            .and_then(Op::get(layout.dir_key(p)));
    }
    if with_act {
        txn = txn.and_then(Op::get(layout.action_key()));
    }
    let mut resp = txn.await?;
    let header = resp.header.take().unwrap_or_default();
    let mut answers = ranges(resp).map(|kvs| kvs.into_iter().next());
    let mut slot = |p: V2Path| Slot {
        path: p,
        file: answers.next().flatten(),
        dir: answers.next().flatten(),
    };
    let ancestors: Vec<Slot> = ancestors.into_iter().map(&mut slot).collect();
    let target = slot(path.clone());
    let act = answers.next().flatten();
    Ok(Snapshot {
        header,
        ancestors,
        target,
        act,
    })
}

/// The nodes below a directory, one level per entry (`levels[0]`: its children), read at one
/// revision.
#[derive(Debug, Clone, Default)]
pub(crate) struct Subtree {
    pub(crate) levels: Vec<Vec<KeyValue>>,
    /// Whether the levels end because the next one is empty (not because of `max_levels`).
    complete: bool,
}

/// How many levels one read-only transaction asks for.
const LEVELS_PER_READ: usize = 16;

/// Reads up to `max_levels` levels below `dir` at `revision`, stopping at the first empty
/// level: every node's parent directory exists, so nothing lies deeper.
pub(crate) async fn read_subtree(
    client: &Client,
    layout: &Layout,
    dir: &V2Path,
    revision: i64,
    max_levels: usize,
) -> Result<Subtree> {
    let max_levels = max_levels.min(MAX_SEGMENTS.saturating_sub(dir.segments()));
    let mut tree = Subtree::default();
    while tree.levels.len() < max_levels {
        let first = tree.levels.len() + 1;
        let last = (first + LEVELS_PER_READ - 1).min(max_levels);
        let mut txn = client.txn();
        for level in first..=last {
            let op = GetOp::new(layout.level_prefix(dir, level))
                .prefix()
                .revision(revision);
            txn = txn.and_then(op);
        }
        for kvs in ranges(txn.await?) {
            if kvs.is_empty() {
                tree.complete = true;
                return Ok(tree);
            }
            tree.levels.push(kvs);
        }
    }
    tree.complete = tree.levels.len() >= MAX_SEGMENTS.saturating_sub(dir.segments());
    Ok(tree)
}

impl Subtree {
    /// Every node of the subtree.
    pub(crate) fn all(&self) -> impl Iterator<Item = &KeyValue> {
        self.levels.iter().flatten()
    }

    /// Whether the subtree holds any node.
    pub(crate) fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Compares that hold only if nothing below `dir` changed or appeared since `revision`
    /// (every level read, and the empty level after them).
    pub(crate) fn compares(&self, layout: &Layout, dir: &V2Path, revision: i64) -> Vec<Compare> {
        let guard = usize::from(self.complete);
        let deepest = MAX_SEGMENTS.saturating_sub(dir.segments());
        (1..=(self.levels.len() + guard).min(deepest))
            .map(|level| {
                Compare::mod_revision(
                    layout.level_prefix(dir, level),
                    CompareOp::Less,
                    revision + 1,
                )
                .prefix()
            })
            .collect()
    }

    /// The prefixes of every level read (what a recursive delete removes).
    pub(crate) fn level_prefixes(&self, layout: &Layout, dir: &V2Path) -> Vec<Vec<u8>> {
        (1..=self.levels.len())
            .map(|level| layout.level_prefix(dir, level))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(lease: i64) -> KeyValue {
        KeyValue {
            mod_revision: 5,
            lease,
            ..KeyValue::default()
        }
    }

    fn slot(path: &str, file: bool, dir: Option<i64>) -> Slot {
        Slot {
            path: V2Path::parse(path).unwrap(),
            file: file.then(|| kv(0)),
            dir: dir.map(kv),
        }
    }

    fn snapshot(ancestors: Vec<Slot>) -> Snapshot {
        Snapshot {
            header: ResponseHeader {
                revision: 9,
                ..ResponseHeader::default()
            },
            ancestors,
            target: slot("/a/b/c", false, None),
            act: None,
        }
    }

    #[test]
    fn the_walk_stops_at_the_first_file_or_gap_from_the_top() {
        let s = snapshot(vec![
            slot("/a", false, Some(0)),
            slot("/a/b", false, Some(0)),
        ]);
        assert_eq!(s.walk(), Walk::Clear);
        assert_eq!(s.index(), 8);
        let s = snapshot(vec![slot("/a", true, None), slot("/a/b", false, None)]);
        assert_eq!(s.walk(), Walk::NotDir(V2Path::parse("/a").unwrap()));
        let s = snapshot(vec![slot("/a", false, None), slot("/a/b", true, None)]);
        assert_eq!(s.walk(), Walk::Missing(V2Path::parse("/a").unwrap()));
        assert_eq!(
            s.missing_ancestors().count(),
            1,
            "/a/b is a file, not missing"
        );
    }

    #[test]
    fn the_nearest_leased_ancestor_gives_the_inherited_lease() {
        let s = snapshot(vec![
            slot("/a", false, Some(7)),
            slot("/a/b", false, Some(0)),
        ]);
        assert_eq!(s.inherited_lease(), 7);
        assert!(s.is_ancestor_lease(7) && !s.is_ancestor_lease(8) && !s.is_ancestor_lease(0));
        let s = snapshot(vec![
            slot("/a", false, Some(7)),
            slot("/a/b", false, Some(3)),
        ]);
        assert_eq!(s.inherited_lease(), 3);
        let s = snapshot(vec![slot("/a", false, Some(0))]);
        assert_eq!(s.inherited_lease(), 0);
    }

    #[test]
    fn a_directory_wins_over_a_file_at_the_same_path() {
        assert!(matches!(slot("/a", true, Some(0)).kind(), Kind::Dir(_)));
        assert!(matches!(slot("/a", true, None).kind(), Kind::File(_)));
        assert!(matches!(slot("/a", false, None).kind(), Kind::Missing));
    }

    #[test]
    fn snapshot_compares_cover_every_key_read() {
        let s = snapshot(vec![
            slot("/a", false, Some(0)),
            slot("/a/b", false, Some(0)),
        ]);
        assert_eq!(s.compares(&Layout::new("/p")).len(), 6);
        let tree = Subtree {
            levels: vec![vec![kv(0)], vec![kv(0)]],
            complete: true,
        };
        let dir = V2Path::parse("/a").unwrap();
        assert_eq!(
            tree.compares(&Layout::new("/p"), &dir, 9).len(),
            3,
            "two levels and a guard"
        );
        assert_eq!(tree.level_prefixes(&Layout::new("/p"), &dir).len(), 2);
    }
}
