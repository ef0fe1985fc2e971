//! Transactions: compares, then the operations of the branch that the compares chose.
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
//! use rsetcd::v3::{Compare, CompareOp, Op};
//! // Create /lock only if it does not exist; otherwise read it.
//! let answer = client
//!     .txn()
//!     .when(Compare::version("/lock", CompareOp::Equal, 0))
//!     .and_then(Op::put("/lock", "me"))
//!     .or_else(Op::get("/lock"))
//!     .await?;
//! println!("took the lock: {}", answer.succeeded());
//! # Ok(()) }
//! ```

use std::future::IntoFuture;

use super::client::Client;
use super::kv::{BoxFuture, DeleteOp, GetOp, PutOp};
use super::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use super::proto::etcdserverpb::request_op::Request;
use super::proto::etcdserverpb::{self as pb, RequestOp, TxnRequest, TxnResponse};
use super::range::{bytes, range_options, KeyRange};
use crate::retry::Retry;

/// How a compare compares the key's field with the value given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// Equal to.
    Equal,
    /// Not equal to.
    NotEqual,
    /// Greater than.
    Greater,
    /// Less than.
    Less,
}

impl From<CompareOp> for CompareResult {
    fn from(op: CompareOp) -> Self {
        match op {
            CompareOp::Equal => CompareResult::Equal,
            CompareOp::NotEqual => CompareResult::NotEqual,
            CompareOp::Greater => CompareResult::Greater,
            CompareOp::Less => CompareResult::Less,
        }
    }
}

/// One condition of a transaction, on a key (or, with [`Compare::prefix`] / [`Compare::range_end`],
/// on every key of a range).
///
/// A missing key has version, create and mod revision 0 and lease 0: `Compare::version(k,
/// Equal, 0)` holds when `k` does not exist.
#[derive(Debug, Clone)]
pub struct Compare(pub(crate) pb::Compare);

impl KeyRange for Compare {
    fn key_range(&mut self) -> (&mut bytes::Bytes, &mut bytes::Bytes) {
        (&mut self.0.key, &mut self.0.range_end)
    }
}

impl Compare {
    fn new(
        key: impl AsRef<[u8]>,
        op: CompareOp,
        target: CompareTarget,
        union: TargetUnion,
    ) -> Self {
        Compare(pb::Compare {
            result: CompareResult::from(op) as i32,
            target: target as i32,
            key: bytes(key),
            range_end: Default::default(),
            target_union: Some(union),
        })
    }

    /// Compares the key's value.
    pub fn value(key: impl AsRef<[u8]>, op: CompareOp, value: impl AsRef<[u8]>) -> Self {
        Compare::new(
            key,
            op,
            CompareTarget::Value,
            TargetUnion::Value(bytes(value)),
        )
    }

    /// Compares the key's version (the number of changes since its creation; 0: no key).
    pub fn version(key: impl AsRef<[u8]>, op: CompareOp, version: i64) -> Self {
        Compare::new(
            key,
            op,
            CompareTarget::Version,
            TargetUnion::Version(version),
        )
    }

    /// Compares the revision of the key's creation.
    pub fn create_revision(key: impl AsRef<[u8]>, op: CompareOp, revision: i64) -> Self {
        Compare::new(
            key,
            op,
            CompareTarget::Create,
            TargetUnion::CreateRevision(revision),
        )
    }

    /// Compares the revision of the key's last change.
    pub fn mod_revision(key: impl AsRef<[u8]>, op: CompareOp, revision: i64) -> Self {
        Compare::new(
            key,
            op,
            CompareTarget::Mod,
            TargetUnion::ModRevision(revision),
        )
    }

    /// Compares the key's lease ID (0: no lease).
    pub fn lease(key: impl AsRef<[u8]>, op: CompareOp, lease: i64) -> Self {
        Compare::new(key, op, CompareTarget::Lease, TargetUnion::Lease(lease))
    }

    range_options!("Applies the compare to every key");
}

/// One operation of a transaction branch.
#[derive(Debug, Clone)]
pub struct Op(pub(crate) RequestOp);

impl Op {
    /// A get of `key`: chain [`GetOp`]'s options.
    pub fn get(key: impl AsRef<[u8]>) -> GetOp {
        GetOp::new(key)
    }

    /// A put of `value` at `key`: chain [`PutOp`]'s options.
    pub fn put(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> PutOp {
        PutOp::new(key, value)
    }

    /// A delete of `key`: chain [`DeleteOp`]'s options.
    pub fn delete(key: impl AsRef<[u8]>) -> DeleteOp {
        DeleteOp::new(key)
    }

    /// A nested transaction.
    pub fn txn(txn: TxnOp) -> Op {
        Op(RequestOp {
            request: Some(Request::RequestTxn(txn.req)),
        })
    }
}

fn is_read(op: &RequestOp) -> bool {
    match &op.request {
        Some(Request::RequestRange(_)) | None => true,
        Some(Request::RequestTxn(t)) => is_read_only(t),
        _ => false,
    }
}

impl From<GetOp> for Op {
    fn from(op: GetOp) -> Op {
        Op(RequestOp {
            request: Some(Request::RequestRange(op.req)),
        })
    }
}

impl From<PutOp> for Op {
    fn from(op: PutOp) -> Op {
        Op(RequestOp {
            request: Some(Request::RequestPut(op.req)),
        })
    }
}

impl From<DeleteOp> for Op {
    fn from(op: DeleteOp) -> Op {
        Op(RequestOp {
            request: Some(Request::RequestDeleteRange(op.req)),
        })
    }
}

impl From<TxnOp> for Op {
    fn from(op: TxnOp) -> Op {
        Op::txn(op)
    }
}

fn is_read_only(t: &TxnRequest) -> bool {
    t.success.iter().chain(&t.failure).all(is_read)
}

/// A transaction without a client: a nested transaction ([`Op::txn`]), or the content of
/// [`Client::txn`].
#[derive(Debug, Clone, Default)]
pub struct TxnOp {
    req: TxnRequest,
}

impl TxnOp {
    /// An empty transaction: no compares (so the `and_then` branch runs), no operations.
    pub fn new() -> TxnOp {
        TxnOp::default()
    }

    /// Adds a compare; the `and_then` branch runs when every compare holds.
    pub fn when(mut self, compare: Compare) -> Self {
        self.req.compare.push(compare.0);
        self
    }

    /// Adds an operation to the branch run when every compare holds.
    pub fn and_then(mut self, op: impl Into<Op>) -> Self {
        self.req.success.push(op.into().0);
        self
    }

    /// Adds an operation to the branch run when a compare fails.
    pub fn or_else(mut self, op: impl Into<Op>) -> Self {
        self.req.failure.push(op.into().0);
        self
    }
}

/// `client.txn()`: add compares with `when`, operations with `and_then` / `or_else`, then
/// `.await`. The answer's [`succeeded`](TxnResponse::succeeded) says which branch ran and
/// [`responses`](TxnResponse::responses) gives one answer per operation of that branch.
#[derive(Debug)]
#[must_use = "a transaction does nothing until awaited"]
pub struct Txn<'a> {
    client: &'a Client,
    op: TxnOp,
    retry_unknown: bool,
}

impl Txn<'_> {
    super::kv::forward_options! {
        /// See [`TxnOp::when`].
        fn when(compare: Compare);
        /// See [`TxnOp::and_then`].
        fn and_then(op: impl Into<Op>);
        /// See [`TxnOp::or_else`].
        fn or_else(op: impl Into<Op>);
    }

    /// Re-send to another endpoint even when the outcome of an attempt is unknown (safe when
    /// the compares make a second application fail, as a compare on a mod revision does).
    pub fn retry_unknown_outcome(mut self) -> Self {
        self.retry_unknown = true;
        self
    }
}

impl<'a> IntoFuture for Txn<'a> {
    type Output = crate::Result<TxnResponse>;
    type IntoFuture = BoxFuture<'a, TxnResponse>;

    fn into_future(self) -> Self::IntoFuture {
        let retry = if is_read_only(&self.op.req) {
            Retry::Read
        } else {
            Retry::write(self.retry_unknown)
        };
        Box::pin(self.client.core.unary(retry, self.op.req))
    }
}

impl Client {
    /// Starts a transaction.
    pub fn txn(&self) -> Txn<'_> {
        Txn {
            client: self,
            op: TxnOp::new(),
            retry_unknown: false,
        }
    }
}
