//! A transaction's answers, typed.

use crate::v3::proto::etcdserverpb::response_op::Response;
use crate::v3::proto::etcdserverpb::{
    DeleteRangeResponse, PutResponse, RangeResponse, ResponseOp, TxnResponse,
};

/// The answer to one operation of a transaction's branch, borrowed from the [`TxnResponse`]
/// (see [`TxnResponse::responses`]).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum OpResponse<'a> {
    /// The answer to an [`Op::get`](crate::v3::Op::get).
    Get(&'a RangeResponse),
    /// The answer to an [`Op::put`](crate::v3::Op::put).
    Put(&'a PutResponse),
    /// The answer to an [`Op::delete`](crate::v3::Op::delete).
    Delete(&'a DeleteRangeResponse),
    /// The answer to a nested [`Op::txn`](crate::v3::Op::txn).
    Txn(&'a TxnResponse),
    /// An answer etcd left empty, or of a kind this version of etcd's protocol does not know.
    Unknown,
}

impl<'a> OpResponse<'a> {
    fn of(op: &'a ResponseOp) -> Self {
        match &op.response {
            Some(Response::ResponseRange(r)) => OpResponse::Get(r),
            Some(Response::ResponsePut(r)) => OpResponse::Put(r),
            Some(Response::ResponseDeleteRange(r)) => OpResponse::Delete(r),
            Some(Response::ResponseTxn(r)) => OpResponse::Txn(r),
            None => OpResponse::Unknown,
        }
    }

    /// The answer of a get, `None` for another operation.
    pub fn as_get(self) -> Option<&'a RangeResponse> {
        match self {
            OpResponse::Get(r) => Some(r),
            _ => None,
        }
    }

    /// The answer of a put, `None` for another operation.
    pub fn as_put(self) -> Option<&'a PutResponse> {
        match self {
            OpResponse::Put(r) => Some(r),
            _ => None,
        }
    }

    /// The answer of a delete, `None` for another operation.
    pub fn as_delete(self) -> Option<&'a DeleteRangeResponse> {
        match self {
            OpResponse::Delete(r) => Some(r),
            _ => None,
        }
    }

    /// The answer of a nested transaction, `None` for another operation.
    pub fn as_txn(self) -> Option<&'a TxnResponse> {
        match self {
            OpResponse::Txn(r) => Some(r),
            _ => None,
        }
    }
}

impl TxnResponse {
    /// Whether every compare held, so the `and_then` branch ran (otherwise the `or_else` one).
    pub fn succeeded(&self) -> bool {
        self.succeeded
    }

    /// The answers of the branch that ran, one per operation, in order.
    ///
    /// ```no_run
    /// # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
    /// use rsetcd::v3::{Compare, CompareOp, Op, OpResponse};
    /// let answer = client
    ///     .txn()
    ///     .when(Compare::version("/lock", CompareOp::Equal, 0))
    ///     .and_then(Op::put("/lock", "me"))
    ///     .or_else(Op::get("/lock"))
    ///     .await?;
    /// for response in answer.responses() {
    ///     match response {
    ///         OpResponse::Put(put) => println!("took it at revision {}", put.revision()),
    ///         OpResponse::Get(get) => {
    ///             let holder = get.first().map(|kv| kv.value_str().into_owned());
    ///             println!("held by {holder:?}");
    ///         }
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn responses(&self) -> impl ExactSizeIterator<Item = OpResponse<'_>> + '_ {
        self.responses.iter().map(OpResponse::of)
    }

    /// The answer to the `index`th operation of the branch that ran.
    ///
    /// ```
    /// use rsetcd::v3::proto::etcdserverpb::{response_op::Response, ResponseOp};
    /// use rsetcd::v3::{KeyValue, RangeResponse, TxnResponse};
    /// let get = RangeResponse {
    ///     kvs: vec![KeyValue { key: "/lock".into(), value: "you".into(), ..Default::default() }],
    ///     ..Default::default()
    /// };
    /// let answer = TxnResponse {
    ///     succeeded: false,
    ///     responses: vec![ResponseOp { response: Some(Response::ResponseRange(get)) }],
    ///     header: None,
    /// };
    /// assert!(!answer.succeeded());
    /// let holder = answer.response(0).and_then(|r| r.as_get()).and_then(|g| g.first());
    /// assert_eq!(holder.map(|kv| kv.value_str()).as_deref(), Some("you"));
    /// assert!(answer.response(1).is_none());
    /// ```
    pub fn response(&self, index: usize) -> Option<OpResponse<'_>> {
        self.responses.get(index).map(OpResponse::of)
    }
}
