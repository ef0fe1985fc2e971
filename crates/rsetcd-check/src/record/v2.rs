//! A recording v2 client and a recording v2 watcher.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use rsetcd::v2::{Action, Node, WatchEvent};
use rsetcd::EtcdCode;

use super::{classify_write, Failure, Recorder};
use crate::history::Op;
use crate::model::v2::{NodeSeen, Request, Response};
use crate::watch::v2::{Event, Item, Segment};

/// A deliberately broken client, to prove the checker catches what it breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// As if the answer to every `n`-th write were lost: the write is sent again and the second
    /// answer reported — the re-send of issue 15, applied twice, reported once.
    ResendWrites(usize),
}

/// rsetcd's v2 client, recording every key operation.
#[derive(Debug, Clone)]
pub struct V2Client {
    client: rsetcd::v2::Client,
    rec: Recorder,
    id: usize,
    broken: Option<Broken>,
    writes: Arc<AtomicUsize>,
}

impl V2Client {
    /// Wraps `client` as client number `id` of `rec`.
    pub fn new(client: rsetcd::v2::Client, rec: Recorder, id: usize) -> V2Client {
        V2Client {
            client,
            rec,
            id,
            broken: None,
            writes: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The same client, broken on purpose (tests of the checker).
    pub fn broken(mut self, how: Broken) -> V2Client {
        self.broken = Some(how);
        self
    }

    /// The wrapped client.
    pub fn inner(&self) -> &rsetcd::v2::Client {
        &self.client
    }

    /// A quorum read.
    pub async fn get(&self, key: &str) -> rsetcd::Result<rsetcd::v2::Response> {
        let req = Request::Get(self.rec.intern(key));
        self.run(req, || self.client.read(key).quorum().send())
            .await
    }

    /// `set`.
    pub async fn set(&self, key: &str, value: &str) -> rsetcd::Result<rsetcd::v2::Response> {
        let req = Request::Set(self.rec.intern(key), self.rec.intern(value));
        self.run(req, || self.client.write(key, value).send()).await
    }

    /// `create` (`prevExist=false`).
    pub async fn create(&self, key: &str, value: &str) -> rsetcd::Result<rsetcd::v2::Response> {
        let req = Request::Create(self.rec.intern(key), self.rec.intern(value));
        self.run(req, || self.client.create(key, value).send())
            .await
    }

    /// Compare-and-swap on the previous value and/or index.
    pub async fn cas(
        &self,
        key: &str,
        value: &str,
        prev_value: Option<&str>,
        prev_index: Option<u64>,
    ) -> rsetcd::Result<rsetcd::v2::Response> {
        let req = Request::Cas {
            key: self.rec.intern(key),
            value: self.rec.intern(value),
            prev_value: prev_value.map(|v| self.rec.intern(v)),
            prev_index,
        };
        self.run(req, || {
            let mut w = self.client.compare_and_swap(key, value);
            if let Some(v) = prev_value {
                w = w.prev_value(v);
            }
            if let Some(i) = prev_index {
                w = w.prev_index(i);
            }
            w.send()
        })
        .await
    }

    /// Compare-and-delete on the previous value and/or index.
    pub async fn cad(
        &self,
        key: &str,
        prev_value: Option<&str>,
        prev_index: Option<u64>,
    ) -> rsetcd::Result<rsetcd::v2::Response> {
        let req = Request::Cad {
            key: self.rec.intern(key),
            prev_value: prev_value.map(|v| self.rec.intern(v)),
            prev_index,
        };
        self.run(req, || {
            let mut d = self.client.compare_and_delete(key);
            if let Some(v) = prev_value {
                d = d.prev_value(v);
            }
            if let Some(i) = prev_index {
                d = d.prev_index(i);
            }
            d.send()
        })
        .await
    }

    /// `delete`.
    pub async fn delete(&self, key: &str) -> rsetcd::Result<rsetcd::v2::Response> {
        let req = Request::Delete(self.rec.intern(key));
        self.run(req, || self.client.delete(key).send()).await
    }

    async fn run<'a, F>(
        &'a self,
        req: Request,
        send: impl Fn() -> F,
    ) -> rsetcd::Result<rsetcd::v2::Response>
    where
        F: std::future::Future<Output = rsetcd::Result<rsetcd::v2::Response>> + 'a,
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
        let output = match &result {
            Ok(r) => Some(answer(&self.rec, &req, r)),
            Err(e) => match e.code() {
                Some(EtcdCode::KeyNotFound) => Some(Response::KeyNotFound),
                Some(EtcdCode::TestFailed) => Some(Response::TestFailed),
                Some(EtcdCode::NodeExist) => Some(Response::NodeExist),
                _ if req.is_write() && classify_write(e) == Failure::Unknown => None,
                _ => {
                    self.rec.log().failed += 1;
                    return result;
                }
            },
        };
        let error = match (&output, &result) {
            (None, Err(e)) => Some(e.to_string()),
            _ => None,
        };
        self.rec.log().v2.push(Op {
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

fn seen(rec: &Recorder, n: &Node) -> NodeSeen {
    NodeSeen {
        value: rec.intern(n.value_str()),
        modified: n.modified_index,
        created: n.created_index,
    }
}

fn answer(rec: &Recorder, req: &Request, r: &rsetcd::v2::Response) -> Response {
    let prev = r.prev_node.as_ref().map(|p| seen(rec, p));
    match req {
        Request::Delete(_) | Request::Cad { .. } => Response::Deleted {
            index: r.node.modified_index,
            prev,
        },
        _ => Response::Node {
            node: seen(rec, &r.node),
            prev,
        },
    }
}

/// How a v2 watcher runs.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    /// The watcher's number.
    pub watcher: usize,
    /// The directory watched (recursively).
    pub dir: String,
    /// Deliver events after this index.
    pub after: u64,
    /// Drop the `n`-th event instead of recording it (a broken watch, for tests).
    pub drop_event: Option<usize>,
}

/// Watches `plan.dir` until `stop` is set and every event up to `until` (once it is non-zero)
/// was delivered, recording each stream as a [`Segment`]; a stream that ends is reopened after
/// the last index it delivered.
pub async fn record_watch(
    client: rsetcd::v2::Client,
    rec: Recorder,
    plan: WatchPlan,
    stop: Arc<AtomicBool>,
    until: Arc<std::sync::atomic::AtomicU64>,
) {
    let prefix = format!("{}/", plan.dir.trim_end_matches('/'));
    let mut cursor = plan.after;
    let mut seen_events = 0usize;
    // Once stopped, a watch goes on until it has seen `until`, for at most `GRACE`.
    let stopped_at = std::sync::OnceLock::new();
    let done = |cursor: u64| {
        if !stop.load(Ordering::SeqCst) {
            return false;
        }
        let since = stopped_at.get_or_init(std::time::Instant::now);
        let u = until.load(Ordering::SeqCst);
        (u != 0 && cursor >= u) || since.elapsed() >= super::GRACE
    };
    // Bounded: a watch that fails this many times in a row is given up.
    for _ in 0..1000 {
        if done(cursor) {
            return;
        }
        let mut seg = Segment {
            watcher: plan.watcher,
            prefix: prefix.clone(),
            after: cursor,
            items: Vec::new(),
        };
        let mut stream = client
            .watch(&plan.dir)
            .recursive()
            .after_index(cursor)
            .give_up_after(std::time::Duration::from_secs(20))
            .stream();
        loop {
            if done(cursor) {
                break;
            }
            let next = tokio::time::timeout(std::time::Duration::from_millis(200), stream.next());
            let item = match next.await {
                Err(_) => continue,
                Ok(None) => {
                    seg.items.push(Item::Ended {
                        at: rec.now(),
                        error: "stream ended".into(),
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
                WatchEvent::Event(r) => {
                    seen_events += 1;
                    if plan.drop_event == Some(seen_events) {
                        cursor = r.node.modified_index;
                        continue;
                    }
                    let put = matches!(
                        r.action,
                        Action::Set | Action::Create | Action::Update | Action::CompareAndSwap
                    );
                    let event = Event {
                        key: rec.intern(&r.node.key),
                        value: put.then(|| rec.intern(r.node.value_str())),
                        keeps_created: matches!(r.action, Action::CompareAndSwap | Action::Update),
                        index: r.node.modified_index,
                        created: r.node.created_index,
                        prev: r.prev_node.as_ref().map(|p| seen(&rec, p)),
                    };
                    cursor = cursor.max(event.index);
                    seg.items.push(Item::Event {
                        at: rec.now(),
                        event,
                    });
                }
                WatchEvent::Resynced { snapshot, index } => {
                    let snapshot = snapshot
                        .map(|s| {
                            s.node
                                .leaves()
                                .map(|n| (rec.intern(&n.key), seen(&rec, n)))
                                .collect()
                        })
                        .unwrap_or_default();
                    cursor = cursor.max(index);
                    seg.items.push(Item::Resynced {
                        at: rec.now(),
                        index,
                        snapshot,
                    });
                }
            }
        }
        rec.log().v2_watches.push(seg);
    }
}
