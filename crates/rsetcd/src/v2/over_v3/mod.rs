//! etcd's v2 data model over the v3 API: directories, TTLs and refresh, compare-and-swap,
//! compare-and-delete, in-order keys, recursive and sorted reads, waits and watches — for etcd
//! 3.6, which has no v2 API, and for 3.4 / 3.5 without `--enable-v2`.
//!
//! An [`Engine`] takes a typed v2 operation ([`KeyOp`], [`WaitOp`]) and answers with the same
//! [`Response`] (or [`Error::Etcd`](crate::Error::Etcd) with the v2 store's code, message and
//! cause) as the v2 HTTP API would, using only the public [`v3::Client`](crate::v3::Client) API:
//!
//! - **Layout**: the keys of etcd's own emulation (`--experimental-enable-v2v3=<prefix>`), so
//!   what one writes the other reads (see [`Layout`]).
//! - **Atomic writes**: each v2 write is one v3 transaction, parents created in it; it applies
//!   only if nothing it read changed (compares on mod revisions) and is tried again otherwise.
//! - **Indexes**: v2 indexes are v3 revisions minus one (`X-Etcd-Index` is
//!   [`Response::etcd_index`]), as the emulation has them.
//! - **TTLs** are leases; a refresh gives the node a new lease without a watch event; an
//!   expiry is an `expire` event. In-order keys are named by the index they are created at.
//! - **Waits** are v3 watches from `waitIndex + 1`; history compacted away is error 401.
//!
//! `docs/v2-over-v3.md` lists every v2 behaviour, how it is mapped, and each difference from
//! the v2 store and from etcd's emulation.
//!
//! ```no_run
//! # async fn demo() -> rsetcd::Result<()> {
//! use rsetcd::v2::over_v3::{Engine, KeyOp, ReadOp, WaitOp, WriteOp};
//!
//! let v3 = rsetcd::v3::Client::builder().endpoints(["http://127.0.0.1:2379"]).build()?;
//! let engine = Engine::new(v3, "/v2c");
//! engine.execute(&WriteOp::set("/message", "Hello world").into()).await?;
//! let r = engine.execute(&KeyOp::Read(ReadOp::get("/message"))).await?;
//! assert_eq!(r.node.value_str(), "Hello world");
//! let next = engine.wait(&WaitOp::wait("/message").wait_index(r.etcd_index + 1)).await?;
//! # let _ = next; Ok(()) }
//! ```

mod errors;
mod layout;
mod op;
mod read;
mod remove;
mod snapshot;
mod tree;
mod ttl;
mod watch;
mod write;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::Result;
use crate::v2::{Action, Node, Response};
use crate::v3::{Client, Compare, Op, ResponseHeader, TxnResponse};

pub use layout::{in_order_name, index_of, revision_of, Layout, V2Path, MAX_SEGMENTS};
pub use op::{DeleteOp, KeyOp, ReadOp, WaitOp, WriteOp};
pub use watch::Events;

tokio::task_local! {
    /// Set when a [`tracking`](Engine::tracking) call sends its transaction: a write cut
    /// short after that may have been applied.
    static COMMITTING: Arc<AtomicBool>;
}

/// The v2 key API over a v3 client, under one key prefix. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    client: Client,
    layout: Layout,
}

impl Engine {
    /// An engine keeping its nodes under `prefix` (for interoperability with etcd's emulation,
    /// the prefix given to `--experimental-enable-v2v3`).
    pub fn new(client: Client, prefix: &str) -> Engine {
        Engine {
            client,
            layout: Layout::new(prefix),
        }
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        self.layout.prefix()
    }

    /// The key layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// The v3 client underneath.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs one key operation: what a v2 `PUT`, `POST`, `GET` (without `wait`) or `DELETE`
    /// answers.
    pub async fn execute(&self, op: &KeyOp) -> Result<Response> {
        match op {
            KeyOp::Write(w) => self.write(w).await,
            KeyOp::Read(r) => self.read(r).await,
            KeyOp::Delete(d) => self.delete(d).await,
        }
    }

    /// A `PUT` or `POST`.
    pub async fn write(&self, op: &WriteOp) -> Result<Response> {
        write::write(self, op).await
    }

    /// A `GET` without `wait`.
    pub async fn read(&self, op: &ReadOp) -> Result<Response> {
        read::read(self, op).await
    }

    /// A `DELETE`.
    pub async fn delete(&self, op: &DeleteOp) -> Result<Response> {
        remove::delete(self, op).await
    }

    /// A `GET` with `wait=true`: the first matching change at or after `wait_index` (from
    /// history if it is there), or, without one, the next. Error 401 if that history has
    /// been compacted away. Bound it with a timeout: like v2, it may wait for ever.
    pub async fn wait(&self, op: &WaitOp) -> Result<Response> {
        let mut events = self.watch(op).await?;
        match events.next().await {
            Some(answer) => answer,
            None => Err(crate::Error::InvalidArgument(
                "the v3 watch ended without an event".into(),
            )),
        }
    }

    /// Every matching change from `wait_index` on (or from now), in index order, as v2 `wait`
    /// answers (a v2 `stream=true` watch). The stream ends after error 401.
    pub async fn watch(&self, op: &WaitOp) -> Result<Events> {
        watch::watch(self, op, None).await
    }

    /// [`watch`](Engine::watch), giving up after `bound` without an endpoint serving it.
    pub(crate) async fn watch_bounded(
        &self,
        op: &WaitOp,
        bound: std::time::Duration,
    ) -> Result<Events> {
        watch::watch(self, op, Some(bound)).await
    }

    /// Runs `fut` (an engine call), setting `sent` once it sends a write transaction.
    pub(crate) async fn tracking<F: Future>(sent: Arc<AtomicBool>, fut: F) -> F::Output {
        COMMITTING.scope(sent, fut).await
    }

    /// Commits `ops` if every compare holds: the answer, or `None` when a compare failed
    /// (nothing was written: read again and retry).
    pub(crate) async fn commit(
        &self,
        compares: Vec<Compare>,
        ops: Vec<Op>,
        retry_unknown: bool,
    ) -> Result<Option<TxnResponse>> {
        let mut txn = self.client.txn();
        for c in compares {
            txn = txn.when(c);
        }
        for op in ops {
            txn = txn.and_then(op);
        }
        if retry_unknown {
            txn = txn.retry_unknown_outcome();
        }
        let _ = COMMITTING.try_with(|sent| sent.store(true, Ordering::Relaxed));
        let resp = txn.await?;
        Ok(resp.succeeded.then_some(resp))
    }
}

/// A v2 answer: `action` and nodes, with `X-Etcd-Index` (the revision minus one), the raft term
/// and the cluster ID (hex) from the v3 header.
pub(crate) fn response(
    action: Action,
    node: Node,
    prev_node: Option<Node>,
    header: Option<&ResponseHeader>,
) -> Response {
    let header = header.cloned().unwrap_or_default();
    Response {
        action,
        node,
        prev_node,
        etcd_index: index_of(header.revision),
        raft_index: None,
        raft_term: Some(header.raft_term),
        cluster_id: Some(format!("{:x}", header.cluster_id)),
    }
}
