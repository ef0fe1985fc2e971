//! A recording v3 client and a recording v3 watcher.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsetcd::v3::proto::etcdserverpb::response_op::Response as OpResponse;
use rsetcd::v3::{Compare as RsCompare, CompareOp, KeyValue, Op as RsOp, V3ErrorKind, WatchItem};

use super::{classify_write, Failure, Recorder};
use crate::history::Op;
use crate::model::v3::{CmpOp, Compare, Kv, Request, Response, Target, TxnOp, TxnResult};
use crate::watch::v3::{Event, Item, Segment, Snapshot};

pub use super::v2::Broken;

/// A compare of a transaction (always `==`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cmp {
    /// The key's value equals this.
    Value(String, String),
    /// The key's mod revision equals this (0: the key does not exist).
    Mod(String, i64),
    /// The key's version equals this (0: the key does not exist).
    Version(String, i64),
}

/// An operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Read a key.
    Get(String),
    /// Put a value, with a lease (0: none).
    Put(String, String, i64),
    /// Delete a key.
    Delete(String),
}

/// rsetcd's v3 client, recording every key operation.
#[derive(Debug, Clone)]
pub struct V3Client {
    client: rsetcd::v3::Client,
    rec: Recorder,
    id: usize,
    broken: Option<Broken>,
    writes: Arc<AtomicUsize>,
}

fn kv(rec: &Recorder, k: &KeyValue) -> Kv {
    Kv {
        key: rec.intern(&String::from_utf8_lossy(&k.key)),
        value: rec.intern(&String::from_utf8_lossy(&k.value)),
        mod_rev: k.mod_revision,
        create_rev: k.create_revision,
        version: k.version,
        lease: k.lease,
    }
}

fn rev_of(h: Option<&rsetcd::v3::ResponseHeader>) -> i64 {
    h.map_or(0, |h| h.revision)
}

impl V3Client {
    /// Wraps `client` as client number `id` of `rec`.
    pub fn new(client: rsetcd::v3::Client, rec: Recorder, id: usize) -> V3Client {
        V3Client {
            client,
            rec,
            id,
            broken: None,
            writes: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The same client, broken on purpose (tests of the checker).
    pub fn broken(mut self, how: Broken) -> V3Client {
        self.broken = Some(how);
        self
    }

    /// The wrapped client.
    pub fn inner(&self) -> &rsetcd::v3::Client {
        &self.client
    }

    /// A linearizable read of one key.
    pub async fn get(&self, key: &str) -> rsetcd::Result<Response> {
        let req = Request::Get(self.rec.intern(key));
        let rec = &self.rec;
        self.run(req, || async move {
            let r = self.client.get(key).await?;
            Ok(Response::Get {
                rev: rev_of(r.header.as_ref()),
                kv: r.kvs.first().map(|k| kv(rec, k)),
            })
        })
        .await
    }

    /// A put, with a lease (0: none), asking for the previous pair.
    pub async fn put(&self, key: &str, value: &str, lease: i64) -> rsetcd::Result<Response> {
        let req = Request::Put {
            key: self.rec.intern(key),
            value: self.rec.intern(value),
            lease,
            prev_kv: true,
        };
        let rec = &self.rec;
        self.run(req, || async move {
            let mut p = self.client.put(key, value).prev_kv();
            if lease != 0 {
                p = p.lease(lease);
            }
            let r = p.await?;
            Ok(Response::Put {
                rev: rev_of(r.header.as_ref()),
                prev: r.prev_kv.as_ref().map(|k| kv(rec, k)),
            })
        })
        .await
    }

    /// A delete of one key, asking for the deleted pair.
    pub async fn delete(&self, key: &str) -> rsetcd::Result<Response> {
        let req = Request::Delete {
            key: self.rec.intern(key),
            prev_kv: true,
        };
        let rec = &self.rec;
        self.run(req, || async move {
            let r = self.client.delete(key).prev_kv().await?;
            Ok(Response::Delete {
                rev: rev_of(r.header.as_ref()),
                deleted: r.deleted,
                prev: r.prev_kvs.first().map(|k| kv(rec, k)),
            })
        })
        .await
    }

    /// A transaction: `success` if every compare holds, else `failure`.
    pub async fn txn(
        &self,
        compares: &[Cmp],
        success: &[Step],
        failure: &[Step],
    ) -> rsetcd::Result<Response> {
        let i = |s: &str| self.rec.intern(s);
        let req = Request::Txn {
            compares: compares
                .iter()
                .map(|c| match c {
                    Cmp::Value(k, v) => Compare {
                        key: i(k),
                        target: Target::Value(i(v)),
                        op: CmpOp::Equal,
                    },
                    Cmp::Mod(k, r) => Compare {
                        key: i(k),
                        target: Target::Mod(*r),
                        op: CmpOp::Equal,
                    },
                    Cmp::Version(k, n) => Compare {
                        key: i(k),
                        target: Target::Version(*n),
                        op: CmpOp::Equal,
                    },
                })
                .collect(),
            success: success.iter().map(|s| step(&i, s)).collect(),
            failure: failure.iter().map(|s| step(&i, s)).collect(),
        };
        let rec = &self.rec;
        self.run(req, || async move {
            let mut t = self.client.txn();
            for c in compares {
                t = t.when(match c {
                    Cmp::Value(k, v) => RsCompare::value(k, CompareOp::Equal, v),
                    Cmp::Mod(k, r) => RsCompare::mod_revision(k, CompareOp::Equal, *r),
                    Cmp::Version(k, n) => RsCompare::version(k, CompareOp::Equal, *n),
                });
            }
            for s in success {
                t = t.and_then(rs_op(s));
            }
            for s in failure {
                t = t.or_else(rs_op(s));
            }
            let r = t.await?;
            let results = r
                .responses
                .iter()
                .map(|op| match &op.response {
                    Some(OpResponse::ResponseRange(g)) => {
                        TxnResult::Get(g.kvs.first().map(|k| kv(rec, k)))
                    }
                    Some(OpResponse::ResponseDeleteRange(d)) => TxnResult::Delete(d.deleted),
                    _ => TxnResult::Put,
                })
                .collect();
            Ok(Response::Txn {
                rev: rev_of(r.header.as_ref()),
                succeeded: r.succeeded,
                results,
            })
        })
        .await
    }

    /// Revokes `lease`, which deletes those of `keys` attached to it.
    pub async fn lease_revoke(&self, lease: i64, keys: &[&str]) -> rsetcd::Result<Response> {
        let req = Request::LeaseRevoke {
            lease,
            keys: keys.iter().map(|k| self.rec.intern(k)).collect(),
        };
        self.run(req, || async move {
            match self.client.lease_revoke(lease).await {
                Ok(r) => Ok(Response::LeaseRevoke {
                    rev: rev_of(r.header.as_ref()),
                }),
                // Already gone (expired): its keys are deleted all the same.
                Err(e) if e.v3_kind() == Some(V3ErrorKind::LeaseNotFound) => {
                    Ok(Response::LeaseRevoke { rev: 0 })
                }
                Err(e) => Err(e),
            }
        })
        .await
    }

    /// Records that `lease` may expire from now on (it could not be revoked): its keys may
    /// vanish at any time, as an unknown revocation would delete them.
    pub fn may_expire(&self, lease: i64, keys: &[&str]) {
        let now = self.rec.now();
        let input = Request::LeaseRevoke {
            lease,
            keys: keys.iter().map(|k| self.rec.intern(k)).collect(),
        };
        self.rec.log().v3.push(Op {
            client: self.id,
            call: now,
            ret: now,
            input,
            output: None,
            error: Some("lease left to expire".into()),
        });
    }

    async fn run<'a, F>(&'a self, req: Request, send: impl Fn() -> F) -> rsetcd::Result<Response>
    where
        F: std::future::Future<Output = rsetcd::Result<Response>> + 'a,
    {
        let call = self.rec.now();
        let mut result = send().await;
        if let Some(Broken::ResendWrites(n)) = self.broken {
            let k = self
                .writes
                .fetch_add(usize::from(req.is_write()), Ordering::Relaxed);
            if req.is_write() && result.is_ok() && n > 0 && k % n == n - 1 {
                result = send().await;
            }
        }
        let ret = self.rec.now();
        self.rec.took(call, ret);
        let (output, error) = match &result {
            Ok(r) => (Some(r.clone()), None),
            Err(e) if req.is_write() && classify_write(e) == Failure::Unknown => {
                (None, Some(e.to_string()))
            }
            Err(_) => {
                self.rec.log().failed += 1;
                return result;
            }
        };
        self.rec.log().v3.push(Op {
            client: self.id,
            call,
            ret,
            input: req,
            output,
            error,
        });
        result
    }
}

fn step(i: &impl Fn(&str) -> crate::history::Sym, s: &Step) -> TxnOp {
    match s {
        Step::Get(k) => TxnOp::Get(i(k)),
        Step::Put(k, v, l) => TxnOp::Put(i(k), i(v), *l),
        Step::Delete(k) => TxnOp::Delete(i(k)),
    }
}

fn rs_op(s: &Step) -> RsOp {
    match s {
        Step::Get(k) => RsOp::get(k).into(),
        Step::Put(k, v, l) if *l != 0 => RsOp::put(k, v).lease(*l).into(),
        Step::Put(k, v, _) => RsOp::put(k, v).into(),
        Step::Delete(k) => RsOp::delete(k).into(),
    }
}

/// How a v3 watcher runs.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    /// The watcher's number.
    pub watcher: usize,
    /// The prefix watched.
    pub prefix: String,
    /// The first revision wanted.
    pub start_rev: i64,
    /// Ask for previous pairs.
    pub prev_kv: bool,
    /// Cancel and reopen from the next revision this often (exercises resuming).
    pub reopen_every: Option<Duration>,
    /// Ask for a progress notification this often.
    pub progress_every: Option<Duration>,
    /// Drop the `n`-th event instead of recording it (a broken watch, for tests).
    pub drop_event: Option<usize>,
    /// A slow reader: every `.0`, stop reading for `.1` (the watch's buffer fills, rsetcd
    /// pauses it on the server and resumes it later — from a compacted revision, if a
    /// compaction came meanwhile).
    pub stall: Option<(Duration, Duration)>,
}

/// Watches `plan.prefix` until `stop` is set and every revision up to `until` (once non-zero)
/// was seen, recording each watch as a [`Segment`]. A watch that ends is reopened at the next
/// revision; one that was compacted, from a read of the prefix.
pub async fn record_watch(
    client: rsetcd::v3::Client,
    rec: Recorder,
    plan: WatchPlan,
    stop: Arc<AtomicBool>,
    until: Arc<AtomicI64>,
) {
    let mut next = plan.start_rev;
    let mut snapshot: Option<Snapshot> = None;
    let mut seen_events = 0usize;
    // Once stopped, a watch goes on until it has seen `until`, for at most `GRACE`.
    let stopped_at = std::sync::OnceLock::new();
    let done = |next: i64| {
        if !stop.load(Ordering::SeqCst) {
            return false;
        }
        let since = stopped_at.get_or_init(Instant::now);
        let u = until.load(Ordering::SeqCst);
        (u != 0 && next > u) || since.elapsed() >= super::GRACE
    };
    for _ in 0..1000 {
        if done(next) {
            return;
        }
        let mut seg = Segment {
            watcher: plan.watcher,
            prefix: plan.prefix.clone(),
            prev_kv: plan.prev_kv,
            start_rev: next,
            snapshot: snapshot.take(),
            items: Vec::new(),
        };
        let mut builder = client.watch(&plan.prefix).prefix().start_revision(next);
        if plan.prev_kv {
            builder = builder.prev_kv();
        }
        let mut watch = match builder.give_up_after(Duration::from_secs(20)).await {
            Ok(w) => w,
            Err(e) => {
                seg.items.push(Item::Ended {
                    at: rec.now(),
                    error: format!("open: {e}"),
                });
                rec.log().v3_watches.push(seg);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let opened = Instant::now();
        let mut asked = Instant::now();
        let mut stalled = Instant::now();
        let mut compacted = false;
        loop {
            if done(next) || plan.reopen_every.is_some_and(|d| opened.elapsed() >= d) {
                break;
            }
            if let Some((every, pause)) = plan.stall {
                if stalled.elapsed() >= every && !stop.load(Ordering::SeqCst) {
                    tokio::time::sleep(pause).await;
                    stalled = Instant::now();
                }
            }
            if plan.progress_every.is_some_and(|d| asked.elapsed() >= d) {
                watch.request_progress();
                asked = Instant::now();
            }
            let item = match tokio::time::timeout(Duration::from_millis(200), watch.next()).await {
                Err(_) => continue,
                Ok(None) => {
                    seg.items.push(Item::Ended {
                        at: rec.now(),
                        error: "watch ended".into(),
                    });
                    break;
                }
                Ok(Some(Err(e))) => {
                    seg.items.push(Item::Ended {
                        at: rec.now(),
                        error: e.to_string(),
                    });
                    break;
                }
                Ok(Some(Ok(item))) => item,
            };
            match item {
                WatchItem::Events { revision, events } => {
                    let mut kept = Vec::with_capacity(events.len());
                    for e in &events {
                        seen_events += 1;
                        let Some(k) = e.kv.as_ref() else { continue };
                        next = next.max(k.mod_revision + 1);
                        if plan.drop_event == Some(seen_events) {
                            continue;
                        }
                        kept.push(Event {
                            put: e.r#type == 0,
                            kv: kv(&rec, k),
                            prev: e.prev_kv.as_ref().map(|p| kv(&rec, p)),
                        });
                    }
                    seg.items.push(Item::Events {
                        at: rec.now(),
                        revision,
                        events: kept,
                    });
                }
                WatchItem::Progress { revision } => {
                    seg.items.push(Item::Progress {
                        at: rec.now(),
                        revision,
                    });
                    next = next.max(revision + 1);
                }
                WatchItem::Compacted { compact_revision } => {
                    seg.items.push(Item::Compacted {
                        at: rec.now(),
                        compact_revision,
                    });
                    compacted = true;
                    break;
                }
                _ => {}
            }
        }
        rec.log().v3_watches.push(seg);
        if compacted {
            // Read the keys again, then watch from right after that read (bounded tries).
            for _ in 0..100 {
                match client.get(&plan.prefix).prefix().await {
                    Ok(r) => {
                        let rev = rev_of(r.header.as_ref());
                        snapshot = Some(Snapshot {
                            rev,
                            at: rec.now(),
                            kvs: r.kvs.iter().map(|k| kv(&rec, k)).collect(),
                        });
                        next = rev + 1;
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        }
    }
}
