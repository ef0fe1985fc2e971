//! Reading the v2 side: one recursive read of a subtree (the keyspace, for a full sync), the
//! hidden nodes below it by name, and hidden names found in the event history.

use std::collections::{BTreeMap, BTreeSet};
use std::future::IntoFuture;
use std::time::{Duration, Instant, SystemTime};

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::Error;
use crate::v2::over_v3::V2Path;
use crate::v2::{Client, Node};
use crate::EtcdCode;

/// One node of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SrcNode {
    pub(crate) dir: bool,
    pub(crate) value: String,
    /// When the node expires (its own TTL), on this process's clock.
    pub(crate) deadline: Option<Instant>,
}

/// A subtree of the source, read at (about) one index.
#[derive(Debug, Clone, Default)]
pub(crate) struct Source {
    /// The index of the recursive read (hidden nodes are read just after it).
    pub(crate) index: u64,
    /// `X-Etcd-Cluster-Id`.
    pub(crate) cluster_id: String,
    /// The nodes: the base (unless it is the root or missing) and everything below it, sorted
    /// by path (so parents come before their children).
    pub(crate) nodes: BTreeMap<V2Path, SrcNode>,
    /// Paths the layout cannot hold, with why.
    pub(crate) unsupported: Vec<(String, String)>,
}

/// The hidden nodes on the way to `path`, from the top: `/_a`, `/_a/b/_c` for `/_a/b/_c/d`.
/// Each is read by name (v2 lists none of them).
pub(crate) fn hidden_roots(path: &V2Path) -> Vec<V2Path> {
    path.ancestors()
        .into_iter()
        .chain(std::iter::once(path.clone()))
        .filter(|p| p.name().starts_with('_'))
        .collect()
}

/// When a node shown at `now` (received at `received`) expires: from its `expiration` when that
/// agrees with its `ttl` (the clocks agree), else from the `ttl` (whole seconds, rounded up).
pub(crate) fn deadline(node: &Node, received: Instant, now: SystemTime) -> Option<Instant> {
    let from_ttl = node
        .ttl
        .map(|t| received + Duration::from_secs(u64::try_from(t).unwrap_or(0)));
    let Some(at) = node.expiration_time() else {
        return from_ttl;
    };
    let left = at.duration_since(now).unwrap_or(Duration::ZERO);
    let agrees = node
        .ttl
        .is_none_or(|t| (left.as_secs_f64() - t as f64).abs() <= 1.5);
    if agrees {
        Some(received + left)
    } else {
        from_ttl
    }
}

/// Adds `tree` and its descendants (the root left out) to `out`.
fn add(out: &mut Source, tree: &Node, received: Instant, now: SystemTime) {
    for node in tree.walk() {
        if node.key == "/" {
            continue;
        }
        match V2Path::parse(&node.key) {
            Ok(path) => {
                out.nodes.insert(
                    path,
                    SrcNode {
                        dir: node.dir,
                        value: node.value.clone().unwrap_or_default(),
                        deadline: deadline(node, received, now),
                    },
                );
            }
            Err(e) => out.unsupported.push((node.key.clone(), e.to_string())),
        }
    }
}

/// A recursive read of `path`: `None` when it does not exist (or a file stands above it).
async fn read_one(client: &Client, path: &V2Path) -> Result<Option<crate::v2::Response>, Error> {
    match client.read(path.as_str()).recursive().sorted().await {
        Ok(r) => Ok(Some(r)),
        Err(e) if matches!(e.code(), Some(EtcdCode::KeyNotFound | EtcdCode::NotDir)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Reads `base` recursively, then each hidden node of `hidden` below it by name (recursively).
pub(crate) async fn read(
    client: &Client,
    base: &V2Path,
    hidden: &BTreeSet<V2Path>,
) -> Result<Source, Error> {
    let mut out = Source::default();
    match client.read(base.as_str()).recursive().sorted().await {
        Ok(r) => {
            out.index = r.etcd_index;
            out.cluster_id = r.cluster_id.clone().unwrap_or_default();
            add(&mut out, &r.node, Instant::now(), SystemTime::now());
        }
        Err(crate::Error::Etcd {
            code: EtcdCode::KeyNotFound | EtcdCode::NotDir,
            index,
            ..
        }) => out.index = index,
        Err(e) => return Err(e.into()),
    }
    add_hidden(client, &mut out, base, hidden).await?;
    Ok(out)
}

/// Reads each hidden node of `hidden` below `base` by name (recursively) into `out`.
pub(crate) async fn add_hidden(
    client: &Client,
    out: &mut Source,
    base: &V2Path,
    hidden: &BTreeSet<V2Path>,
) -> Result<(), Error> {
    let wanted: Vec<V2Path> = hidden
        .iter()
        .filter(|h| base.contains(h) && !out.nodes.contains_key(*h))
        .cloned()
        .collect();
    let answers: Vec<(Option<crate::v2::Response>, Instant, SystemTime)> = stream::iter(wanted)
        .map(|h: V2Path| async move {
            let r = read_one(client, &h).await?;
            Ok::<_, Error>((r, Instant::now(), SystemTime::now()))
        })
        .buffered(16)
        .try_collect()
        .await?;
    for (r, received, now) in answers.into_iter() {
        if let Some(r) = r {
            if out.cluster_id.is_empty() {
                out.cluster_id = r.cluster_id.clone().unwrap_or_default();
            }
            add(out, &r.node, received, now);
        }
    }
    // A hidden node read whose parent is not in the source (removed between the reads) would
    // be an orphan: keep only nodes whose parent is there (parents sort before children).
    let mut orphans: BTreeSet<V2Path> = BTreeSet::new();
    for p in out.nodes.keys() {
        if let Some(q) = p.parent() {
            let inside = !q.is_root() && base.contains(&q);
            if inside && (orphans.contains(&q) || !out.nodes.contains_key(&q)) {
                orphans.insert(p.clone());
            }
        }
    }
    for p in orphans {
        out.nodes.remove(&p);
    }
    Ok(())
}

/// Hidden nodes seen in the source's event history up to `upto` (v2 keeps the last 1,000
/// events; a wait for an index in it answers at once, hidden nodes included). Bounded: 1,000
/// waits at most, each given 1 s.
pub(crate) async fn history_hidden(client: &Client, upto: u64) -> Result<BTreeSet<V2Path>, Error> {
    let mut found = BTreeSet::new();
    let mut next = upto.saturating_sub(999).max(1);
    for _ in 0..1000 {
        if next > upto {
            break;
        }
        let wait = client.read("/").recursive().wait().wait_index(next);
        let answer = match tokio::time::timeout(Duration::from_secs(1), wait.into_future()).await {
            Err(_) => break, // nothing more in the history (refreshes are skipped by v2)
            Ok(a) => a,
        };
        match answer {
            Ok(r) => {
                for n in std::iter::once(&r.node).chain(r.prev_node.as_ref()) {
                    if let Ok(p) = V2Path::parse(&n.key) {
                        if p.is_hidden_below(&V2Path::root()) {
                            found.insert(p);
                        }
                    }
                }
                next = r.node.modified_index.max(next) + 1;
            }
            Err(crate::Error::Etcd {
                code: EtcdCode::EventIndexCleared,
                cause,
                ..
            }) => {
                // "the requested history has been cleared [<first>/<asked>]"
                let first = cause
                    .as_deref()
                    .and_then(|c| c.rsplit_once('[')?.1.split_once('/')?.0.parse::<u64>().ok());
                match first {
                    Some(f) if f > next => next = f,
                    _ => break,
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> V2Path {
        V2Path::parse(s).unwrap()
    }

    #[test]
    fn hidden_roots_are_every_hidden_segment() {
        assert_eq!(
            hidden_roots(&p("/_a/b/_c/d")),
            vec![p("/_a"), p("/_a/b/_c")]
        );
        assert!(hidden_roots(&p("/a/b")).is_empty());
    }

    #[test]
    fn deadlines_come_from_the_expiration_when_the_clocks_agree() {
        let now = SystemTime::now();
        let received = Instant::now();
        let node = Node {
            ttl: Some(10),
            expiration: Some(
                humantime::format_rfc3339_nanos(now + Duration::from_millis(9_300)).to_string(),
            ),
            ..Node::default()
        };
        let d = deadline(&node, received, now).unwrap();
        let left = d.duration_since(received).as_millis();
        assert!((9_250..=9_350).contains(&left), "{left}");
        // A clock far off: the ttl.
        let skewed = Node {
            ttl: Some(10),
            expiration: Some(
                humantime::format_rfc3339_nanos(now + Duration::from_secs(3_600)).to_string(),
            ),
            ..Node::default()
        };
        let d = deadline(&skewed, received, now).unwrap();
        assert_eq!(d.duration_since(received).as_secs(), 10);
        assert_eq!(deadline(&Node::default(), received, now), None);
    }
}
