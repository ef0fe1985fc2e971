//! Writing a plan: deletes from the deepest level up, then puts from the top down, each level in
//! transactions of up to `batch_size` nodes (several in flight), each transaction applied only
//! if every key it writes still has the mod revision it was read with. Every transaction also
//! writes the action key (so that etcd's emulation, whose 3.4 watchers crash on a revision
//! under the prefix without one, and the engine's watches read it as a v2 write) and the
//! checkpoint.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use futures_util::stream::{self, StreamExt};

use super::checkpoint::Checkpoint;
use super::plan::{Del, LeaseRef, Plan, Put, PutLease};
use super::{Error, Migration, Phase};
use crate::v2::over_v3::{Layout, V2Path};
use crate::v3::{Compare, CompareOp, Op, PutOp};

/// At most this many value bytes per transaction (etcd refuses requests over 1.5 MiB by
/// default); a larger node goes alone.
const BATCH_BYTES: usize = 1 << 20;

/// Writes plans for one run, counting what it did.
pub(crate) struct Applier<'a> {
    m: &'a Migration,
    layout: Layout,
    cp_key: Vec<u8>,
    cp: Mutex<Checkpoint>,
    pub(crate) written: AtomicU64,
    pub(crate) deleted: AtomicU64,
    pub(crate) leases: AtomicU64,
    pub(crate) expired: AtomicU64,
}

/// What one plan's application left.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Nodes put on leases of their own, and when those end.
    pub(crate) owned: Vec<(V2Path, Instant)>,
    /// Whether a transaction's compares failed (something else wrote meanwhile): read again.
    pub(crate) conflict: bool,
}

/// Nodes put on leases of their own, and when those end.
type Owned = Vec<(V2Path, Instant)>;

/// A put with the lease it got.
struct Ready {
    put: Put,
    lease: i64,
    granted: Option<Instant>,
}

fn batches<T>(items: Vec<T>, size: usize, bytes: impl Fn(&T) -> usize) -> Vec<Vec<T>> {
    let mut out: Vec<Vec<T>> = Vec::new();
    let mut current: Vec<T> = Vec::new();
    let mut used = 0;
    for item in items {
        let b = bytes(&item);
        if !current.is_empty() && (current.len() >= size || used + b > BATCH_BYTES) {
            out.push(std::mem::take(&mut current));
            used = 0;
        }
        used += b;
        current.push(item);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

impl<'a> Applier<'a> {
    pub(crate) fn new(m: &'a Migration, cp: Checkpoint) -> Applier<'a> {
        Applier {
            m,
            layout: m.layout(),
            cp_key: m.checkpoint(),
            cp: Mutex::new(cp),
            written: AtomicU64::new(0),
            deleted: AtomicU64::new(0),
            leases: AtomicU64::new(0),
            expired: AtomicU64::new(0),
        }
    }

    /// Changes the checkpoint's state and index, and writes it.
    pub(crate) async fn mark(&self, state: &str, index: u64, total: u64) -> Result<(), Error> {
        let cp = {
            let mut cp = self.cp.lock().unwrap_or_else(|p| p.into_inner());
            cp.state = state.to_string();
            cp.index = index;
            cp.total = total;
            cp.written = self.written.load(Ordering::Relaxed);
            cp.clone()
        };
        cp.write(&self.m.target, &self.cp_key).await
    }

    fn checkpoint(&self, written: u64) -> Vec<u8> {
        let mut cp = self.cp.lock().unwrap_or_else(|p| p.into_inner()).clone();
        cp.written = written;
        cp.encode()
    }

    /// Applies `plan` (read at the source's `index`).
    pub(crate) async fn apply(
        &self,
        plan: Plan,
        index: u64,
        phase: Phase,
    ) -> Result<Applied, Error> {
        let mut out = Applied::default();
        let total = plan.writes() + plan.deletes();
        let done = AtomicU64::new(0);
        for (_, dels) in plan.dels.into_iter().rev() {
            let groups = batches(dels, self.m.batch_size, |d| d.key.len());
            let results: Vec<Result<bool, Error>> = stream::iter(groups)
                .map(|g| async {
                    let n = g.len() as u64;
                    let ok = self.delete_batch(g).await?;
                    let d = done.fetch_add(n, Ordering::Relaxed) + n;
                    if phase != Phase::Follow {
                        self.m.report(Phase::Delete, d, total, index);
                    }
                    Ok(ok)
                })
                .buffer_unordered(self.m.concurrency)
                .collect()
                .await;
            for r in results {
                out.conflict |= !r?;
            }
            if out.conflict {
                return Ok(out);
            }
        }
        let new_leases: Mutex<HashMap<V2Path, i64>> = Mutex::new(HashMap::new());
        let skipped: Mutex<HashSet<V2Path>> = Mutex::new(HashSet::new());
        for (_, puts) in plan.puts {
            let groups = batches(puts, self.m.batch_size, |p| p.key.len() + p.value.len());
            let results: Vec<Result<Option<Owned>, Error>> = stream::iter(groups)
                .map(|g| async {
                    let n = g.len() as u64;
                    let r = self.put_batch(g, &new_leases, &skipped).await?;
                    let d = done.fetch_add(n, Ordering::Relaxed) + n;
                    if phase != Phase::Follow {
                        self.m.report(phase, d, total, index);
                    }
                    Ok(r)
                })
                .buffer_unordered(self.m.concurrency)
                .collect()
                .await;
            for r in results {
                match r? {
                    Some(owned) => out.owned.extend(owned),
                    None => out.conflict = true,
                }
            }
            if out.conflict {
                return Ok(out);
            }
        }
        Ok(out)
    }

    async fn delete_batch(&self, dels: Vec<Del>) -> Result<bool, Error> {
        let n = dels.len() as u64;
        let mut txn = self.m.target.txn().retry_unknown_outcome();
        for d in &dels {
            txn = txn
                .when(Compare::mod_revision(&d.key, CompareOp::Equal, d.seen))
                .and_then(Op::delete(&d.key));
        }
        txn = txn
            .and_then(PutOp::new(self.layout.action_key(), "delete"))
            .and_then(PutOp::new(
                &self.cp_key,
                self.checkpoint(self.written.load(Ordering::Relaxed)),
            ));
        let ok = txn.await?.succeeded;
        if ok {
            self.deleted.fetch_add(n, Ordering::Relaxed);
        }
        Ok(ok)
    }

    /// Grants the leases a batch needs and commits it: the nodes put on leases of their own,
    /// or `None` when the compares failed (nothing of the batch written).
    async fn put_batch(
        &self,
        puts: Vec<Put>,
        new_leases: &Mutex<HashMap<V2Path, i64>>,
        skipped: &Mutex<HashSet<V2Path>>,
    ) -> Result<Option<Owned>, Error> {
        let client = &self.m.target;
        let mut ready: Vec<Ready> = Vec::with_capacity(puts.len());
        let mut grants = Vec::new();
        for put in puts {
            let gone = {
                let skipped = skipped.lock().unwrap_or_else(|p| p.into_inner());
                put.path.ancestors().iter().any(|a| skipped.contains(a))
            };
            let lease = match &put.lease {
                _ if gone => None,
                PutLease::None => Some(0),
                PutLease::Of(LeaseRef::Existing(l)) => Some(*l),
                PutLease::Of(LeaseRef::New(owner)) => new_leases
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(owner)
                    .copied(),
                PutLease::Own(at) => {
                    let left = at.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        None
                    } else {
                        grants.push((ready.len(), left.as_secs_f64().ceil().max(1.0) as i64));
                        Some(0)
                    }
                }
            };
            match lease {
                Some(lease) => ready.push(Ready {
                    put,
                    lease,
                    granted: None,
                }),
                None => {
                    // Its TTL (or its directory's) ran out before it could be written: the
                    // source has expired it too (an expire event follows when following).
                    self.expired.fetch_add(1, Ordering::Relaxed);
                    skipped
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(put.path.clone());
                }
            }
        }
        let answers = join_all(grants.iter().map(|(_, ttl)| client.lease_grant(*ttl))).await;
        let mut first_error = None;
        for ((at, _), answer) in grants.iter().zip(answers) {
            match answer {
                Ok(resp) => {
                    ready[*at].lease = resp.id;
                    ready[*at].granted = Some(
                        Instant::now() + Duration::from_secs(u64::try_from(resp.ttl).unwrap_or(0)),
                    );
                }
                Err(e) => first_error = Some(e),
            }
        }
        let revoke_all = |ready: &[Ready]| {
            let ids: Vec<i64> = ready
                .iter()
                .filter(|r| r.granted.is_some())
                .map(|r| r.lease)
                .collect();
            async move {
                for id in ids {
                    let _ = client.lease_revoke(id).await;
                }
            }
        };
        if let Some(e) = first_error {
            revoke_all(&ready).await;
            return Err(e.into());
        }
        if ready.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let n = ready.len() as u64;
        let written = self.written.fetch_add(n, Ordering::Relaxed) + n;
        let mut txn = client.txn().retry_unknown_outcome();
        for r in &ready {
            let mut op = PutOp::new(&r.put.key, &r.put.value);
            if r.lease != 0 {
                op = op.lease(r.lease);
            }
            txn = txn
                .when(Compare::mod_revision(
                    &r.put.key,
                    CompareOp::Equal,
                    r.put.seen,
                ))
                .and_then(op);
        }
        txn = txn
            .and_then(PutOp::new(self.layout.action_key(), "set"))
            .and_then(PutOp::new(&self.cp_key, self.checkpoint(written)));
        let result = txn.await;
        let ok = match result {
            Ok(resp) => resp.succeeded,
            Err(e) => {
                self.written.fetch_sub(n, Ordering::Relaxed);
                // The outcome may be unknown: the leases may hold keys; leave them (a lease
                // without keys expires by itself).
                return Err(e.into());
            }
        };
        if !ok {
            self.written.fetch_sub(n, Ordering::Relaxed);
            revoke_all(&ready).await;
            return Ok(None);
        }
        let mut owned = Vec::new();
        let mut leases = new_leases.lock().unwrap_or_else(|p| p.into_inner());
        for r in ready {
            if let Some(at) = r.granted {
                self.leases.fetch_add(1, Ordering::Relaxed);
                leases.insert(r.put.path.clone(), r.lease);
                owned.push((r.put.path, at));
            }
        }
        Ok(Some(owned))
    }
}

#[cfg(test)]
mod tests {
    use super::batches;

    #[test]
    fn batches_by_count_and_bytes() {
        let b = batches((0..250).collect(), 100, |_| 10);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [100, 100, 50]);
        let b = batches(vec![1usize << 19, 1 << 19, 1 << 21, 5], 100, |n| *n);
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            [2, 1, 1],
            "a large one alone"
        );
    }
}
