//! etcd's v3 API (gRPC), served by etcd 3.x on the same client URL as v2, and the only API left
//! in etcd 3.6.
//!
//! [`Client`] is built from the shared [`ClientBuilder`](crate::ClientBuilder) (endpoints, SRV
//! discovery, TLS, credentials, timeouts), is `Clone + Send + Sync`, and every method takes
//! `&self`. Operations return builders: chain options, then `.await`.
//!
//! ```no_run
//! # async fn demo() -> rsetcd::Result<()> {
//! use rsetcd::v3::{Client, Compare, CompareOp, Op};
//! let client = Client::builder().endpoints(["http://127.0.0.1:2379"]).build()?;
//! client.put("/config/a", "1").await?;
//! let all = client.get("/config/").prefix().await?;
//! for kv in all.kvs() {
//!     println!("{} = {}", kv.key_str(), kv.value_str());
//! }
//! let swapped = client
//!     .txn()
//!     .when(Compare::value("/config/a", CompareOp::Equal, "1"))
//!     .and_then(Op::put("/config/a", "2"))
//!     .await?;
//! println!("swapped: {} at revision {}", swapped.succeeded(), swapped.revision());
//! # Ok(()) }
//! ```
//!
//! ## Answers
//!
//! Answers are etcd's own protobuf messages ([`RangeResponse`], [`KeyValue`], [`Event`]…,
//! generated into [`proto`]), with public fields, and with methods that read them without
//! knowing protobuf: keys and values as bytes ([`KeyValue::key`]) or text
//! ([`KeyValue::key_str`], lossy; [`KeyValue::try_key_str`], strict), revisions and versions,
//! a lease as an `Option`, [`RangeResponse::kvs`] / [`first`](RangeResponse::first) /
//! [`count`](RangeResponse::count) / [`more`](RangeResponse::more), every answer's
//! `header()` (revision, member and cluster ids) and `revision()`, an event's kind
//! ([`Event::is_put`], [`Event::is_delete`], [`Event::is_create`]) and pairs
//! ([`Event::kv`], [`Event::prev_kv`]), a transaction's answers as [`OpResponse`]s
//! ([`TxnResponse::responses`]), leases ([`LeaseTimeToLiveResponse::ttl`]), members
//! ([`Member::client_urls`]). They borrow from the message: nothing is copied.
//! `examples/v3_*.rs` are complete programs using them.
//!
//! ## Failover and retries
//!
//! The rules of the crate root hold here too (one retry layer runs both APIs): a call that never
//! reached a server (or that etcd declined: no leader, a learner) goes on to the next endpoint; a
//! read that got no answer, or an answer saying etcd does not know (request timed out, leader
//! changed, server stopped), is tried on the next endpoint; a write whose outcome is unknown is
//! **never re-sent**: it returns [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown) unless
//! the call opted in with `.retry_unknown_outcome()`. A call handed to an HTTP/2 connection counts
//! as sent unless etcd refused its stream (`REFUSED_STREAM`, or a `GOAWAY` below it).
//!
//! ## Long-lived streams
//!
//! [Watches](Client::watch) share one gRPC stream per client and resume by themselves on
//! another endpoint from their last revision + 1; [election observers](Client::observe) resume
//! by observing again elsewhere, never yielding a leader value twice. While no endpoint serves
//! them they retry, and after a give-up bound (`give_up_after`, 30 s by default, as the v2
//! watch) counted from the first failure in a row they yield that failure and end. Each watch
//! buffers a bounded number of unread items: a consumer that falls behind pauses its own watch
//! on the server (resumed without gap or duplicate once it catches up) and never holds up the
//! others; see [`Watch`]. A lease [keep-alive](Client::lease_keep_alive) fails over the same
//! way and reports the lease lost once its TTL has run out with no endpoint answering.
//!
//! ## Errors
//!
//! A refusal from etcd is [`Error::V3`](crate::Error::V3); match on
//! [`Error::v3_kind`](crate::Error::v3_kind) ([`V3ErrorKind::Compacted`],
//! [`V3ErrorKind::LeaseNotFound`], [`V3ErrorKind::PermissionDenied`]…). A missing key is not an
//! error: the answer simply has no key.

mod answers;
mod auth;
mod channel;
mod client;
mod cluster;
mod core;
mod election;
mod error;
mod hub;
mod kv;
mod lease;
mod lock;
mod maintenance;
pub mod proto;
mod range;
mod rpc;
pub mod snapshot;
mod txn;
mod watch;

pub use crate::error::{GrpcCode, V3ErrorKind};
pub use answers::OpResponse;
pub use auth::Permission;
pub use client::Client;
pub use election::{Observe, ObserveBuilder};
pub use kv::{BoxFuture, Delete, DeleteOp, Get, GetOp, Put, PutOp, SortOrder, SortTarget};
pub use lease::{KeepAlive, LeaseLost, LeaseState};
pub use lock::Session;
pub use proto::etcdserverpb::{
    AlarmMember, AlarmResponse, AlarmType, AuthStatusResponse, CompactionResponse,
    DefragmentResponse, DeleteRangeResponse, HashKvResponse, LeaseGrantResponse,
    LeaseLeasesResponse, LeaseRevokeResponse, LeaseTimeToLiveResponse, Member, MemberAddResponse,
    MemberListResponse, MemberPromoteResponse, MemberRemoveResponse, MemberUpdateResponse,
    MoveLeaderResponse, PutResponse, RangeResponse, ResponseHeader, StatusResponse, TxnResponse,
};
pub use proto::mvccpb::event::EventType;
pub use proto::mvccpb::{Event, KeyValue};
pub use proto::v3electionpb::{LeaderKey, ProclaimResponse, ResignResponse};
pub use proto::v3lockpb::{LockResponse, UnlockResponse};
pub use range::prefix_end;
pub use txn::{Compare, CompareOp, Op, Txn, TxnOp};
pub use watch::{Watch, WatchBuilder, WatchItem, DEFAULT_WATCH_BUFFER};
