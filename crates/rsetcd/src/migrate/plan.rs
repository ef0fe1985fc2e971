//! What to write: the source's nodes against the copy's, node by node, within one scope (the
//! keyspace, or a subtree). Pure: no I/O.
//!
//! A node is equal when the copy has the same kind (file or directory) at its path, the same
//! value, and the lease the engine would give it: none without a TTL; with one, a lease expiring
//! within the tolerance of when the source's node expires — the node's own TTL, or its nearest
//! TTL'd ancestor's when that ends sooner (the engine's rule: a node below a directory with a
//! TTL lives on the directory's lease unless its own ends sooner). Anything else is written.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use super::source::SrcNode;
use super::target::Target;
use super::verify::Difference;
use crate::v2::over_v3::{Layout, V2Path};

/// A lease a node is put on: one the copy has, or the one granted for a node of this plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LeaseRef {
    Existing(i64),
    New(V2Path),
}

/// The lease of a put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PutLease {
    None,
    /// A lease of its own, granted for the time left until then.
    Own(Instant),
    /// Its nearest TTL'd ancestor's.
    Of(LeaseRef),
}

#[derive(Debug, Clone)]
pub(crate) struct Put {
    pub(crate) path: V2Path,
    pub(crate) key: Vec<u8>,
    pub(crate) value: Vec<u8>,
    /// The key's mod revision when read (0: missing); the write applies only if it still is.
    pub(crate) seen: i64,
    pub(crate) lease: PutLease,
}

#[derive(Debug, Clone)]
pub(crate) struct Del {
    pub(crate) key: Vec<u8>,
    pub(crate) seen: i64,
}

/// The writes that make the copy equal to the source, by depth (segments).
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// Applied from the top down (parents before children).
    pub(crate) puts: BTreeMap<usize, Vec<Put>>,
    /// Applied from the deepest up, before the puts.
    pub(crate) dels: BTreeMap<usize, Vec<Del>>,
    pub(crate) unchanged: u64,
    pub(crate) differences: Vec<Difference>,
    /// Nodes left as they are that live on a lease of their own, and when it ends.
    pub(crate) owned: Vec<(V2Path, Instant)>,
}

impl Plan {
    pub(crate) fn writes(&self) -> u64 {
        self.puts.values().map(|v| v.len() as u64).sum()
    }

    pub(crate) fn deletes(&self) -> u64 {
        self.dels.values().map(|v| v.len() as u64).sum()
    }
}

fn within(a: Instant, b: Instant, tolerance: Duration) -> bool {
    let d = if a > b { a - b } else { b - a };
    d <= tolerance
}

/// Seconds left until `at` (rounded), for reports.
pub(crate) fn secs_left(at: Option<Instant>, now: Instant) -> Option<i64> {
    at.map(|t| {
        let left = t.saturating_duration_since(now).as_secs_f64();
        left.round() as i64
    })
}

/// Compares `src` (the scope's nodes in the source) with `tgt` (the copy's, same scope).
pub(crate) fn plan(
    layout: &Layout,
    src: &BTreeMap<V2Path, SrcNode>,
    tgt: &Target,
    tolerance: Duration,
    now: Instant,
) -> Plan {
    let mut out = Plan::default();
    // The lease each node ends up on, and when it ends (None: no lease).
    let mut eff: HashMap<&V2Path, Option<(LeaseRef, Instant)>> = HashMap::new();
    for (path, node) in src {
        let inherited = match path.parent() {
            Some(q) if src.contains_key(&q) => eff.get(&q).cloned().flatten(),
            _ => tgt.inherited.map(|(l, d)| (LeaseRef::Existing(l), d)),
        };
        let (want, until) = match (node.deadline, inherited) {
            (None, None) => (PutLease::None, None),
            (None, Some((r, d))) => (PutLease::Of(r), Some(d)),
            (Some(o), None) => (PutLease::Own(o), Some(o)),
            (Some(o), Some((r, d))) if o + tolerance >= d => (PutLease::Of(r), Some(d)),
            (Some(o), Some(_)) => (PutLease::Own(o), Some(o)),
        };
        let key = if node.dir {
            layout.dir_key(path)
        } else {
            layout.file_key(path)
        };
        let value = if node.dir {
            Vec::new()
        } else {
            node.value.as_bytes().to_vec()
        };
        let current = tgt.nodes.get(&(path.clone(), node.dir));
        let lease_ok = |lease: i64| match until {
            None => lease == 0,
            Some(d) => {
                lease != 0
                    && tgt.deadline(lease).is_some_and(|t| within(t, d, tolerance))
                    && (node.deadline.is_some() || want == PutLease::Of(LeaseRef::Existing(lease)))
            }
        };
        if let Some(kv) = current {
            if kv.value[..] == value[..] && lease_ok(kv.lease) {
                out.unchanged += 1;
                let at = tgt.deadline(kv.lease);
                let lease = (kv.lease != 0).then(|| at.map(|t| (LeaseRef::Existing(kv.lease), t)));
                if let (Some(Some((_, t))), Some(_)) = (&lease, node.deadline) {
                    if !matches!(&want, PutLease::Of(LeaseRef::Existing(l)) if *l == kv.lease) {
                        out.owned.push((path.clone(), *t));
                    }
                }
                eff.insert(path, lease.flatten());
                continue;
            }
        }
        let difference = match current {
            None => Difference::Missing {
                path: path.to_string(),
                dir: node.dir,
            },
            Some(kv) if kv.value[..] != value[..] => Difference::Value {
                path: path.to_string(),
                source_len: value.len(),
                target_len: kv.value.len(),
            },
            Some(kv) => Difference::Ttl {
                path: path.to_string(),
                source: secs_left(until, now),
                target: if kv.lease == 0 {
                    None
                } else {
                    secs_left(tgt.deadline(kv.lease).or(Some(now)), now)
                },
            },
        };
        out.differences.push(difference);
        eff.insert(
            path,
            match &want {
                PutLease::None => None,
                PutLease::Own(o) => Some((LeaseRef::New(path.clone()), *o)),
                PutLease::Of(r) => until.map(|d| (r.clone(), d)),
            },
        );
        out.puts.entry(path.segments()).or_default().push(Put {
            path: path.clone(),
            key,
            value,
            seen: current.map_or(0, |kv| kv.mod_revision),
            lease: want,
        });
    }
    for ((path, dir), kv) in &tgt.nodes {
        if src.get(path).map(|n| n.dir) == Some(*dir) {
            continue;
        }
        out.differences.push(Difference::Extra {
            path: path.to_string(),
            dir: *dir,
        });
        out.dels.entry(path.segments()).or_default().push(Del {
            key: kv.key.to_vec(),
            seen: kv.mod_revision,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::KeyValue;

    fn p(s: &str) -> V2Path {
        V2Path::parse(s).unwrap()
    }

    fn file(value: &str, deadline: Option<Instant>) -> SrcNode {
        SrcNode {
            dir: false,
            value: value.into(),
            deadline,
        }
    }

    fn dir(deadline: Option<Instant>) -> SrcNode {
        SrcNode {
            dir: true,
            value: String::new(),
            deadline,
        }
    }

    fn kv(
        l: &Layout,
        path: &str,
        dir: bool,
        value: &str,
        lease: i64,
    ) -> ((V2Path, bool), KeyValue) {
        let path = p(path);
        let key = if dir {
            l.dir_key(&path)
        } else {
            l.file_key(&path)
        };
        let kv = KeyValue {
            key: key.into(),
            value: value.to_string().into_bytes().into(),
            mod_revision: 7,
            create_revision: 7,
            version: 1,
            lease,
        };
        ((path, dir), kv)
    }

    #[test]
    fn an_empty_copy_gets_everything_parents_first() {
        let l = Layout::new("/p");
        let now = Instant::now();
        let src = BTreeMap::from([
            (p("/a"), dir(None)),
            (p("/a/b"), file("1", None)),
            (p("/a/c"), dir(None)),
            (p("/x"), file("2", Some(now + Duration::from_secs(30)))),
        ]);
        let plan = plan(&l, &src, &Target::default(), Duration::from_secs(2), now);
        assert_eq!(plan.writes(), 4);
        assert_eq!(plan.puts[&1].len(), 2);
        assert_eq!(plan.puts[&2].len(), 2);
        let x = plan.puts[&1].iter().find(|u| u.path == p("/x")).unwrap();
        assert!(matches!(x.lease, PutLease::Own(_)));
        assert_eq!(plan.differences.len(), 4);
        assert_eq!(plan.deletes(), 0);
    }

    #[test]
    fn equal_nodes_are_left_and_the_rest_replaced_or_deleted() {
        let l = Layout::new("/p");
        let now = Instant::now();
        let src = BTreeMap::from([
            (p("/same"), file("v", None)),
            (p("/changed"), file("new", None)),
            (p("/was-file"), dir(None)),
        ]);
        let mut tgt = Target::default();
        tgt.nodes.extend([
            kv(&l, "/same", false, "v", 0),
            kv(&l, "/changed", false, "old", 0),
            kv(&l, "/was-file", false, "x", 0),
            kv(&l, "/gone", true, "", 0),
            kv(&l, "/gone/deep", false, "z", 0),
        ]);
        let plan = plan(&l, &src, &tgt, Duration::from_secs(2), now);
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.writes(), 2);
        assert_eq!(plan.deletes(), 3, "the old file, /gone and below");
        assert_eq!(plan.dels[&2].len(), 1);
        let changed = plan.puts[&1]
            .iter()
            .find(|u| u.path == p("/changed"))
            .unwrap();
        assert_eq!(changed.seen, 7, "compared with what was read");
    }

    #[test]
    fn ttls_match_within_the_tolerance_and_children_inherit() {
        let l = Layout::new("/p");
        let now = Instant::now();
        let in30 = now + Duration::from_secs(30);
        let src = BTreeMap::from([
            (p("/d"), dir(Some(in30))),
            (p("/d/inherits"), file("a", None)),
            (
                p("/d/longer"),
                file("b", Some(now + Duration::from_secs(90))),
            ),
            (
                p("/d/sooner"),
                file("c", Some(now + Duration::from_secs(5))),
            ),
            (p("/t"), file("t", Some(in30))),
        ]);
        let mut tgt = Target::default();
        tgt.nodes.extend([
            kv(&l, "/d", true, "", 11),
            kv(&l, "/d/inherits", false, "a", 11),
            kv(&l, "/d/longer", false, "b", 11),
            kv(&l, "/d/sooner", false, "c", 12),
            kv(&l, "/t", false, "t", 13),
        ]);
        tgt.leases
            .insert(11, Some(in30 + Duration::from_millis(800)));
        tgt.leases.insert(12, Some(now + Duration::from_secs(5)));
        tgt.leases.insert(13, Some(now + Duration::from_secs(20)));
        let plan = plan(&l, &src, &tgt, Duration::from_secs(2), now);
        assert_eq!(plan.unchanged, 4, "{:?}", plan.differences);
        assert_eq!(plan.writes(), 1);
        assert!(matches!(
            &plan.differences[0],
            Difference::Ttl { path, source: Some(30), target: Some(20) } if path == "/t"
        ));
        // A directory whose lease is replaced takes its inheriting children along.
        tgt.leases.insert(11, Some(now + Duration::from_secs(60)));
        let plan = super::plan(&l, &src, &tgt, Duration::from_secs(2), now);
        let d2 = &plan.puts[&2];
        assert!(
            d2.iter()
                .any(|u| u.path == p("/d/inherits")
                    && u.lease == PutLease::Of(LeaseRef::New(p("/d"))))
        );
    }
}
