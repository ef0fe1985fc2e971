//! Key-value operations: get, put, delete and compact. Each returns a builder: chain its options,
//! then `.await` it. The same options exist on [`GetOp`], [`PutOp`] and [`DeleteOp`], the
//! operations of a transaction (see [`Txn`](super::Txn)).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use bytes::Bytes;

use super::client::Client;
use super::proto::etcdserverpb::{
    range_request, CompactionRequest, CompactionResponse, DeleteRangeRequest, DeleteRangeResponse,
    PutRequest, PutResponse, RangeRequest, RangeResponse,
};
use super::range::{bytes, range_options, KeyRange};
use crate::error::Result;
use crate::retry::Retry;

/// A boxed future borrowing the client: what the builders of this module turn into.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// The order of a sorted get.
pub use range_request::SortOrder;
/// What a sorted get sorts by.
pub use range_request::SortTarget;

/// Generates the option methods of a client-bound builder from those of its operation.
macro_rules! forward_options {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident : $ty:ty),*); )*) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $($arg: $ty),*) -> Self {
                self.op = self.op.$name($($arg),*);
                self
            }
        )*
    };
}
pub(crate) use forward_options;

/// A get (etcd's `Range`): one key, a prefix or a range, with options.
#[derive(Debug, Clone)]
pub struct GetOp {
    pub(crate) req: RangeRequest,
}

impl KeyRange for GetOp {
    fn key_range(&mut self) -> (&mut Bytes, &mut Bytes) {
        (&mut self.req.key, &mut self.req.range_end)
    }
}

impl GetOp {
    /// A get of `key` alone.
    pub fn new(key: impl AsRef<[u8]>) -> GetOp {
        GetOp {
            req: RangeRequest {
                key: bytes(key),
                ..Default::default()
            },
        }
    }

    range_options!("Every key");

    /// At most `limit` keys (0: no limit). The answer's `more` says whether there were more.
    pub fn limit(mut self, limit: i64) -> Self {
        self.req.limit = limit;
        self
    }

    /// Sorts the keys by `target`, in `order`.
    pub fn sort(mut self, target: SortTarget, order: SortOrder) -> Self {
        self.req.sort_target = target as i32;
        self.req.sort_order = order as i32;
        self
    }

    /// Reads the store as it was at `revision` (0: the newest). A compacted revision is
    /// [`V3ErrorKind::Compacted`](super::V3ErrorKind::Compacted).
    pub fn revision(mut self, revision: i64) -> Self {
        self.req.revision = revision;
        self
    }

    /// Keys only, without values.
    pub fn keys_only(mut self) -> Self {
        self.req.keys_only = true;
        self
    }

    /// Only the number of keys (the answer's `count`), no keys.
    pub fn count_only(mut self) -> Self {
        self.req.count_only = true;
        self
    }

    /// Answer from the member asked, without a round through the leader: faster, possibly stale.
    pub fn serializable(mut self) -> Self {
        self.req.serializable = true;
        self
    }

    /// Only keys whose mod revision is at least `revision`.
    pub fn min_mod_revision(mut self, revision: i64) -> Self {
        self.req.min_mod_revision = revision;
        self
    }

    /// Only keys whose mod revision is at most `revision`.
    pub fn max_mod_revision(mut self, revision: i64) -> Self {
        self.req.max_mod_revision = revision;
        self
    }

    /// Only keys whose create revision is at least `revision`.
    pub fn min_create_revision(mut self, revision: i64) -> Self {
        self.req.min_create_revision = revision;
        self
    }

    /// Only keys whose create revision is at most `revision`.
    pub fn max_create_revision(mut self, revision: i64) -> Self {
        self.req.max_create_revision = revision;
        self
    }
}

/// A put: sets a key's value, with options.
#[derive(Debug, Clone)]
pub struct PutOp {
    pub(crate) req: PutRequest,
}

impl PutOp {
    /// A put of `value` at `key`.
    pub fn new(key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> PutOp {
        PutOp {
            req: PutRequest {
                key: bytes(key),
                value: bytes(value),
                ..Default::default()
            },
        }
    }

    /// Attaches the key to lease `id`: the key is deleted when the lease ends.
    pub fn lease(mut self, id: i64) -> Self {
        self.req.lease = id;
        self
    }

    /// Also returns the previous key-value pair (`prev_kv` of the answer).
    pub fn prev_kv(mut self) -> Self {
        self.req.prev_kv = true;
        self
    }

    /// Keeps the current value (the value given must be empty): changes only the lease.
    pub fn ignore_value(mut self) -> Self {
        self.req.ignore_value = true;
        self.req.value = Bytes::new();
        self
    }

    /// Keeps the current lease (no lease may be given): changes only the value.
    pub fn ignore_lease(mut self) -> Self {
        self.req.ignore_lease = true;
        self
    }
}

/// A delete: one key, a prefix or a range.
#[derive(Debug, Clone)]
pub struct DeleteOp {
    pub(crate) req: DeleteRangeRequest,
}

impl KeyRange for DeleteOp {
    fn key_range(&mut self) -> (&mut Bytes, &mut Bytes) {
        (&mut self.req.key, &mut self.req.range_end)
    }
}

impl DeleteOp {
    /// A delete of `key` alone.
    pub fn new(key: impl AsRef<[u8]>) -> DeleteOp {
        DeleteOp {
            req: DeleteRangeRequest {
                key: bytes(key),
                ..Default::default()
            },
        }
    }

    range_options!("Every key");

    /// Also returns the deleted key-value pairs (`prev_kvs` of the answer).
    pub fn prev_kv(mut self) -> Self {
        self.req.prev_kv = true;
        self
    }
}

/// `client.get(key)`: see [`GetOp`] for the options. A missing key is not an error: the answer
/// has no [`kvs`](RangeResponse::kvs) (its [`first`](RangeResponse::first) is `None`).
#[derive(Debug)]
#[must_use = "a get does nothing until awaited"]
pub struct Get<'a> {
    client: &'a Client,
    op: GetOp,
}

impl Get<'_> {
    forward_options! {
        /// See [`GetOp::prefix`].
        fn prefix();
        /// See [`GetOp::range_end`].
        fn range_end(end: impl AsRef<[u8]>);
        /// See [`GetOp::from_key`].
        fn from_key();
        /// See [`GetOp::limit`].
        fn limit(limit: i64);
        /// See [`GetOp::sort`].
        fn sort(target: SortTarget, order: SortOrder);
        /// See [`GetOp::revision`].
        fn revision(revision: i64);
        /// See [`GetOp::keys_only`].
        fn keys_only();
        /// See [`GetOp::count_only`].
        fn count_only();
        /// See [`GetOp::serializable`].
        fn serializable();
        /// See [`GetOp::min_mod_revision`].
        fn min_mod_revision(revision: i64);
        /// See [`GetOp::max_mod_revision`].
        fn max_mod_revision(revision: i64);
        /// See [`GetOp::min_create_revision`].
        fn min_create_revision(revision: i64);
        /// See [`GetOp::max_create_revision`].
        fn max_create_revision(revision: i64);
    }
}

impl<'a> IntoFuture for Get<'a> {
    type Output = Result<RangeResponse>;
    type IntoFuture = BoxFuture<'a, RangeResponse>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.client.core.unary(Retry::Read, self.op.req))
    }
}

/// `client.put(key, value)`: see [`PutOp`] for the options.
#[derive(Debug)]
#[must_use = "a put does nothing until awaited"]
pub struct Put<'a> {
    client: &'a Client,
    op: PutOp,
    retry_unknown: bool,
}

impl Put<'_> {
    forward_options! {
        /// See [`PutOp::lease`].
        fn lease(id: i64);
        /// See [`PutOp::prev_kv`].
        fn prev_kv();
        /// See [`PutOp::ignore_value`].
        fn ignore_value();
        /// See [`PutOp::ignore_lease`].
        fn ignore_lease();
    }

    /// Re-send to another endpoint even when the outcome of an attempt is unknown (a put of the
    /// same value twice is usually harmless, but it does make two revisions).
    pub fn retry_unknown_outcome(mut self) -> Self {
        self.retry_unknown = true;
        self
    }
}

impl<'a> IntoFuture for Put<'a> {
    type Output = Result<PutResponse>;
    type IntoFuture = BoxFuture<'a, PutResponse>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(
            self.client
                .core
                .unary(Retry::write(self.retry_unknown), self.op.req),
        )
    }
}

/// `client.delete(key)`: see [`DeleteOp`] for the options.
#[derive(Debug)]
#[must_use = "a delete does nothing until awaited"]
pub struct Delete<'a> {
    client: &'a Client,
    op: DeleteOp,
    retry_unknown: bool,
}

impl Delete<'_> {
    forward_options! {
        /// See [`DeleteOp::prefix`].
        fn prefix();
        /// See [`DeleteOp::range_end`].
        fn range_end(end: impl AsRef<[u8]>);
        /// See [`DeleteOp::from_key`].
        fn from_key();
        /// See [`DeleteOp::prev_kv`].
        fn prev_kv();
    }

    /// Re-send to another endpoint even when the outcome of an attempt is unknown.
    pub fn retry_unknown_outcome(mut self) -> Self {
        self.retry_unknown = true;
        self
    }
}

impl<'a> IntoFuture for Delete<'a> {
    type Output = Result<DeleteRangeResponse>;
    type IntoFuture = BoxFuture<'a, DeleteRangeResponse>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(
            self.client
                .core
                .unary(Retry::write(self.retry_unknown), self.op.req),
        )
    }
}

impl Client {
    /// Reads `key` (or, with options, a prefix or a range).
    ///
    /// ```no_run
    /// # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
    /// use rsetcd::v3::{SortOrder, SortTarget};
    /// let one = client.get("/config/a").await?;
    /// let newest_ten = client
    ///     .get("/config/")
    ///     .prefix()
    ///     .sort(SortTarget::Mod, SortOrder::Descend)
    ///     .limit(10)
    ///     .await?;
    /// println!("{} of {} keys", newest_ten.kvs().len(), newest_ten.count());
    /// # let _ = one; Ok(()) }
    /// ```
    pub fn get(&self, key: impl AsRef<[u8]>) -> Get<'_> {
        Get {
            client: self,
            op: GetOp::new(key),
        }
    }

    /// Sets `key` to `value`.
    pub fn put(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Put<'_> {
        Put {
            client: self,
            op: PutOp::new(key, value),
            retry_unknown: false,
        }
    }

    /// Deletes `key` (or, with options, a prefix or a range). The answer's `deleted` counts them.
    pub fn delete(&self, key: impl AsRef<[u8]>) -> Delete<'_> {
        Delete {
            client: self,
            op: DeleteOp::new(key),
            retry_unknown: false,
        }
    }

    /// Compacts the history up to `revision`: older revisions can no longer be read or watched.
    /// With `physical`, returns only once the space is reclaimed.
    pub async fn compact(&self, revision: i64, physical: bool) -> Result<CompactionResponse> {
        let req = CompactionRequest { revision, physical };
        // Compacting twice to the same revision changes nothing: safe to retry.
        self.core.unary(Retry::Read, req).await
    }
}

#[cfg(test)]
mod future_size {
    use std::future::IntoFuture;

    /// Connecting (TCP, TLS, the HTTP/2 handshake) is rare and boxed; inline, it once made every
    /// call's future 3.3 KiB to allocate and move.
    #[test]
    fn call_futures_stay_small() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let _in_runtime = runtime.enter();
        let client = crate::v3::Client::builder()
            .endpoints(["http://127.0.0.1:1"])
            .build()
            .unwrap();
        let put = std::mem::size_of_val(&*client.put("/k", "v").into_future());
        let get = std::mem::size_of_val(&*client.get("/k").into_future());
        assert!(put <= 1536 && get <= 1536, "put {put} B, get {get} B");
    }
}
