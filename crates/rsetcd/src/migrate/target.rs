//! Reading the v3 side: every node under the prefix (a full sync), or one subtree with its
//! ancestors (a change followed), at one revision, with the time each lease has left.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt, TryStreamExt};

use super::Error;
use crate::v2::over_v3::{Layout, V2Path, MAX_SEGMENTS};
use crate::v3::proto::etcdserverpb::response_op::Response as OpResponse;
use crate::v3::{Client, GetOp, KeyValue, Op};

/// Keys per page of a full scan.
const PAGE: i64 = 1000;
/// Levels per read-only transaction of a subtree scan.
const LEVELS_PER_READ: usize = 16;

/// The copy's nodes in a scope, read at one revision.
#[derive(Debug, Clone, Default)]
pub(crate) struct Target {
    /// The revision of the read.
    pub(crate) revision: i64,
    /// Nodes by (path, is a directory).
    pub(crate) nodes: BTreeMap<(V2Path, bool), KeyValue>,
    /// When each lease seen expires (`None`: already expired).
    pub(crate) leases: HashMap<i64, Option<Instant>>,
    /// Keys under the prefix that are neither nodes nor the action key (full scans only).
    pub(crate) foreign: u64,
    /// Whether the action key exists (full scans only).
    pub(crate) act: bool,
    /// The lease of the scope's nearest ancestor with one, and when it expires (subtree scans).
    pub(crate) inherited: Option<(i64, Instant)>,
    /// The topmost ancestor of the scope that is not a directory in the copy (subtree scans).
    pub(crate) broken_ancestor: Option<V2Path>,
}

/// The first key after every key starting with `prefix` (etcd's prefix range end).
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn ranges(resp: crate::v3::TxnResponse) -> Vec<Vec<KeyValue>> {
    resp.responses
        .into_iter()
        .map(|r| match r.response {
            Some(OpResponse::ResponseRange(range)) => range.kvs,
            _ => Vec::new(),
        })
        .collect()
}

impl Target {
    fn take(&mut self, layout: &Layout, kv: KeyValue) {
        match layout.decode(&kv.key) {
            Some((path, dir)) => {
                self.nodes.insert((path, dir), kv);
            }
            None if kv.key[..] == layout.action_key()[..] => self.act = true,
            None => self.foreign += 1,
        }
    }

    /// Asks etcd how long each lease seen has left (concurrently).
    async fn fetch_leases(&mut self, client: &Client) -> Result<(), Error> {
        let mut ids: Vec<i64> = self
            .nodes
            .values()
            .map(|kv| kv.lease)
            .chain(self.inherited.map(|(l, _)| l))
            .filter(|l| *l != 0)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let answers: Vec<(i64, Option<Instant>)> = stream::iter(ids)
            .map(|id| async move {
                let resp = client.lease_time_to_live(id, false).await?;
                // "the lease will expire in under TTL+1 seconds"
                let left = u64::try_from(resp.ttl)
                    .ok()
                    .map(|s| Instant::now() + Duration::from_secs(s) + Duration::from_millis(500));
                Ok::<_, Error>((id, left))
            })
            .buffer_unordered(32)
            .try_collect()
            .await?;
        self.leases.extend(answers);
        if let Some((l, at)) = &mut self.inherited {
            *at = self
                .leases
                .get(l)
                .copied()
                .flatten()
                .unwrap_or_else(Instant::now);
        }
        Ok(())
    }

    /// When `lease` expires (`None`: no lease, or it expired).
    pub(crate) fn deadline(&self, lease: i64) -> Option<Instant> {
        self.leases.get(&lease).copied().flatten()
    }
}

/// Every node under the prefix, page by page at the revision of the first page.
pub(crate) async fn scan_all(client: &Client, layout: &Layout) -> Result<Target, Error> {
    let prefix = layout.watch_prefix();
    let end = prefix_end(&prefix);
    let mut out = Target::default();
    let mut from = prefix.clone();
    // Bounded: each page moves past PAGE keys, and a page without `more` ends it.
    loop {
        let mut op = GetOp::new(&from).range_end(&end).limit(PAGE);
        if out.revision != 0 {
            op = op.revision(out.revision);
        }
        let mut resp = client.txn().and_then(Op::from(op)).await?;
        if out.revision == 0 {
            out.revision = resp.header.take().map_or(0, |h| h.revision);
        }
        let Some(OpResponse::ResponseRange(range)) = resp.responses.pop().and_then(|r| r.response)
        else {
            break;
        };
        let last = range.kvs.last().map(|kv| kv.key.to_vec());
        for kv in range.kvs {
            out.take(layout, kv);
        }
        match last {
            Some(mut key) if range.more => {
                key.push(0);
                from = key;
            }
            _ => break,
        }
    }
    out.fetch_leases(client).await?;
    Ok(out)
}

/// The node at `base` (its file and directory keys), everything below it, and its ancestors'
/// keys, at one revision.
pub(crate) async fn scan_subtree(
    client: &Client,
    layout: &Layout,
    base: &V2Path,
) -> Result<Target, Error> {
    if base.is_root() {
        return scan_all(client, layout).await;
    }
    let ancestors = base.ancestors();
    let mut txn = client
        .txn()
        .and_then(Op::get(layout.file_key(base)))
        .and_then(Op::get(layout.dir_key(base)));
    for a in &ancestors {
        txn = txn
            .and_then(Op::get(layout.dir_key(a)))
            .and_then(Op::get(layout.file_key(a)));
    }
    let mut resp = txn.await?;
    let mut out = Target {
        revision: resp.header.take().map_or(0, |h| h.revision),
        ..Target::default()
    };
    let mut answers = ranges(resp).into_iter().map(|kvs| kvs.into_iter().next());
    for kv in answers.by_ref().take(2).flatten() {
        out.take(layout, kv);
    }
    for a in &ancestors {
        let dir = answers.next().flatten();
        let _file = answers.next().flatten();
        match dir {
            Some(kv) => {
                if kv.lease != 0 {
                    out.inherited = Some((kv.lease, Instant::now()));
                }
            }
            None => {
                if out.broken_ancestor.is_none() {
                    out.broken_ancestor = Some(a.clone());
                }
            }
        }
    }
    let deepest = MAX_SEGMENTS.saturating_sub(base.segments());
    let mut level = 1;
    'levels: while level <= deepest {
        let last = (level + LEVELS_PER_READ - 1).min(deepest);
        let mut txn = client.txn();
        for l in level..=last {
            let op = GetOp::new(layout.level_prefix(base, l))
                .prefix()
                .revision(out.revision);
            txn = txn.and_then(op);
        }
        for kvs in ranges(txn.await?) {
            if kvs.is_empty() {
                break 'levels;
            }
            for kv in kvs {
                out.take(layout, kv);
            }
        }
        level = last + 1;
    }
    out.fetch_leases(client).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"/v2c/"), b"/v2c0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff"), b"\0");
    }
}
