//! v2 nodes from v3 key-values: one node, and directory listings (one level or recursive) with
//! hidden nodes left out and, when asked, children sorted by key.

use std::collections::HashMap;

use crate::v2::Node;
use crate::v3::KeyValue;

use super::layout::{index_of, Layout, V2Path};

/// A node read from the keyspace, with the lease it lives on (0: none).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Item {
    pub(crate) path: V2Path,
    pub(crate) node: Node,
    pub(crate) lease: i64,
}

/// The v2 node a key-value stands for (`None` for keys outside the layout). Values that are not
/// UTF-8 (written by some other v3 client) are shown with replacement characters.
pub(crate) fn item(layout: &Layout, kv: &KeyValue) -> Option<Item> {
    let (path, dir) = layout.decode(&kv.key)?;
    let node = Node {
        key: path.as_str().to_string(),
        value: (!dir).then(|| String::from_utf8_lossy(&kv.value).into_owned()),
        dir,
        modified_index: index_of(kv.mod_revision),
        created_index: index_of(kv.create_revision),
        ..Node::default()
    };
    Some(Item {
        path,
        node,
        lease: kv.lease,
    })
}

/// The children of `dir` (recursive: with their own children, nested) from the levels below
/// it (`levels[0]`: the children). Hidden nodes (a name starting with `_`) and everything below
/// them are left out. The map gives the lease of every node read (by key; it may hold nodes
/// left out), for TTLs to be filled in.
pub(crate) fn listing(
    layout: &Layout,
    dir: &V2Path,
    levels: &[Vec<KeyValue>],
    sorted: bool,
) -> (Vec<Node>, HashMap<String, i64>) {
    let mut leases = HashMap::new();
    // Nodes of the current level, grouped by parent; starts from the deepest level.
    let mut below: HashMap<V2Path, Vec<Node>> = HashMap::new();
    for level in levels.iter().rev() {
        let mut here: HashMap<V2Path, Vec<Node>> = HashMap::new();
        for item in level.iter().filter_map(|kv| item(layout, kv)) {
            if item.path.name().starts_with('_') || !dir.is_ancestor_of(&item.path) {
                continue;
            }
            let Some(parent) = item.path.parent() else {
                continue;
            };
            let mut node = item.node;
            if node.dir {
                if let Some(mut children) = below.remove(&item.path) {
                    if sorted {
                        children.sort_by(|a, b| a.key.cmp(&b.key));
                    }
                    node.nodes = children;
                }
            }
            leases.insert(node.key.clone(), item.lease);
            here.entry(parent).or_default().push(node);
        }
        // What is left in `below` hangs under hidden or missing parents: dropped.
        below = here;
    }
    let mut top = below.remove(dir).unwrap_or_default();
    if sorted {
        top.sort_by(|a, b| a.key.cmp(&b.key));
    }
    (top, leases)
}

/// Every node of a listing, depth first, with mutable access (to fill in TTLs).
pub(crate) fn walk_mut(nodes: &mut [Node], f: &mut impl FnMut(&mut Node)) {
    for node in nodes {
        f(node);
        walk_mut(&mut node.nodes, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(layout: &Layout, path: &str, dir: bool, rev: i64, lease: i64) -> KeyValue {
        let p = V2Path::parse(path).unwrap();
        KeyValue {
            key: if dir {
                layout.dir_key(&p)
            } else {
                layout.file_key(&p)
            }
            .into(),
            value: if dir {
                "".into()
            } else {
                format!("v{rev}").into()
            },
            create_revision: rev,
            mod_revision: rev,
            version: 1,
            lease,
        }
    }

    #[test]
    fn items_carry_v2_indexes_and_values() {
        let l = Layout::new("/p");
        let it = item(&l, &kv(&l, "/a/b", false, 5, 9)).unwrap();
        assert_eq!(it.node.key, "/a/b");
        assert_eq!(it.node.value.as_deref(), Some("v5"));
        assert_eq!((it.node.modified_index, it.node.created_index), (4, 4));
        assert_eq!(it.lease, 9);
        let d = item(&l, &kv(&l, "/a", true, 3, 0)).unwrap();
        assert!(d.node.dir && d.node.value.is_none());
        let bad = KeyValue {
            key: l.file_key(&V2Path::parse("/x").unwrap()).into(),
            value: vec![0xff, b'a'].into(),
            ..KeyValue::default()
        };
        assert_eq!(
            item(&l, &bad).unwrap().node.value.as_deref(),
            Some("\u{fffd}a")
        );
        assert!(item(&l, &KeyValue::default()).is_none());
    }

    #[test]
    fn listings_nest_hide_and_sort() {
        let l = Layout::new("/p");
        let dir = V2Path::parse("/d").unwrap();
        let levels = vec![
            vec![
                kv(&l, "/d/c", false, 4, 0),
                kv(&l, "/d/a", true, 2, 7),
                kv(&l, "/d/_h", true, 3, 0),
                kv(&l, "/d/b", false, 5, 0),
            ],
            vec![
                kv(&l, "/d/_h/x", false, 6, 0),
                kv(&l, "/d/a/z", false, 8, 7),
                kv(&l, "/d/a/y", false, 7, 0),
                kv(&l, "/d/a/_s", false, 9, 0),
            ],
        ];
        let (nodes, leases) = listing(&l, &dir, &levels, true);
        let keys: Vec<&str> = nodes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(keys, ["/d/a", "/d/b", "/d/c"]);
        let inner: Vec<&str> = nodes[0].nodes.iter().map(|n| n.key.as_str()).collect();
        assert_eq!(
            inner,
            ["/d/a/y", "/d/a/z"],
            "sorted at every level, hidden left out"
        );
        assert_eq!(leases.get("/d/a/z"), Some(&7));
        assert_eq!(leases.get("/d/a"), Some(&7));

        // One level: children without their nodes.
        let (nodes, _) = listing(&l, &dir, &levels[..1], false);
        assert_eq!(nodes.len(), 3);
        assert!(nodes.iter().all(|n| n.nodes.is_empty()));
    }

    #[test]
    fn unsorted_listings_keep_the_keyspace_order_and_sorted_ones_sort_by_key() {
        let l = Layout::new("/p");
        let dir = V2Path::root();
        // In the keyspace "/a/" (a directory) sorts after "/a-b": '-' < '/'.
        let levels = vec![vec![kv(&l, "/a-b", false, 2, 0), kv(&l, "/a", true, 3, 0)]];
        let (nodes, _) = listing(&l, &dir, &levels, false);
        assert_eq!(nodes[0].key, "/a-b");
        let (nodes, _) = listing(&l, &dir, &levels, true);
        assert_eq!(nodes[0].key, "/a");
    }
}
