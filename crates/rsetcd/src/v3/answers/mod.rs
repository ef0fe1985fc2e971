//! Reading v3 answers without knowing prost: methods on etcd's own message types.
//!
//! The answers of [`Client`](super::Client) are etcd's protobuf messages ([`RangeResponse`],
//! [`KeyValue`], [`Event`]…), whose fields stay public. The methods here read them the way a
//! user thinks of them: keys and values as bytes or text, revisions, the header's ids, an
//! event's kind, a lease that may be absent (`None` rather than etcd's `0`), a transaction's
//! answers as a typed enum. They are inherent methods (the types are this crate's own): nothing
//! to import, and they borrow from the message, so nothing is copied.
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
//! let answer = client.get("/config/").prefix().await?;
//! for kv in answer.kvs() {
//!     println!("{} = {} (rev {})", kv.key_str(), kv.value_str(), kv.mod_revision());
//! }
//! println!("store revision {}, {} keys", answer.revision(), answer.count());
//! # Ok(()) }
//! ```
//!
//! Text: [`KeyValue::key_str`] and [`KeyValue::value_str`] never fail (bytes that are not
//! UTF-8 become `U+FFFD`, and valid text is borrowed, not copied);
//! [`KeyValue::try_key_str`] and [`KeyValue::try_value_str`] refuse invalid UTF-8 instead.

use std::borrow::Cow;
use std::str::Utf8Error;

use bytes::Bytes;

use super::proto::etcdserverpb::{
    AlarmResponse, AuthStatusResponse, CompactionResponse, DefragmentResponse, DeleteRangeResponse,
    HashKvResponse, LeaseGrantResponse, LeaseLeasesResponse, LeaseRevokeResponse,
    LeaseTimeToLiveResponse, MemberAddResponse, MemberListResponse, MemberPromoteResponse,
    MemberRemoveResponse, MemberUpdateResponse, MoveLeaderResponse, PutResponse, RangeResponse,
    ResponseHeader, StatusResponse, TxnResponse,
};
use super::proto::mvccpb::event::EventType;
use super::proto::mvccpb::{Event, KeyValue};
use super::proto::v3electionpb::{LeaderKey, ProclaimResponse, ResignResponse};
use super::proto::v3lockpb::{LockResponse, UnlockResponse};
use super::watch::WatchItem;

mod cluster;
#[cfg(test)]
mod tests;
mod txn;

pub use txn::OpResponse;

/// What [`header`](RangeResponse::header) shows when etcd sent no header (it always does).
static NO_HEADER: ResponseHeader = ResponseHeader {
    cluster_id: 0,
    member_id: 0,
    revision: 0,
    raft_term: 0,
};

/// What [`Event::kv`] shows when etcd sent no key-value pair (it always does).
static NO_KV: KeyValue = KeyValue {
    key: Bytes::new(),
    create_revision: 0,
    mod_revision: 0,
    version: 0,
    value: Bytes::new(),
    lease: 0,
};

/// Bytes as text, `U+FFFD` for what is not UTF-8; borrowed when it is.
fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

/// A lease id, `None` for etcd's "no lease" (0).
fn lease_id(id: i64) -> Option<i64> {
    (id != 0).then_some(id)
}

impl KeyValue {
    /// The key, as bytes.
    ///
    /// ```
    /// use rsetcd::v3::KeyValue;
    /// let kv = KeyValue { key: "/a".into(), value: "1".into(), ..Default::default() };
    /// assert_eq!(kv.key(), b"/a");
    /// assert_eq!(kv.value(), b"1");
    /// ```
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The value, as bytes (empty for a key read with
    /// [`keys_only`](super::GetOp::keys_only)).
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// The key as text: bytes that are not UTF-8 become `U+FFFD` (borrowed when it is valid).
    ///
    /// ```
    /// use rsetcd::v3::KeyValue;
    /// let kv = KeyValue { key: "/a".into(), value: vec![b'x', 0xff].into(), ..Default::default() };
    /// assert_eq!(kv.key_str(), "/a");
    /// assert_eq!(kv.value_str(), "x\u{fffd}");
    /// assert!(kv.try_value_str().is_err());
    /// ```
    pub fn key_str(&self) -> Cow<'_, str> {
        lossy(&self.key)
    }

    /// The value as text: bytes that are not UTF-8 become `U+FFFD` (borrowed when it is valid).
    pub fn value_str(&self) -> Cow<'_, str> {
        lossy(&self.value)
    }

    /// The key as text, or an error when it is not UTF-8.
    pub fn try_key_str(&self) -> Result<&str, Utf8Error> {
        std::str::from_utf8(&self.key)
    }

    /// The value as text, or an error when it is not UTF-8.
    pub fn try_value_str(&self) -> Result<&str, Utf8Error> {
        std::str::from_utf8(&self.value)
    }

    /// The revision of the key's creation (since its last deletion).
    pub fn create_revision(&self) -> i64 {
        self.create_revision
    }

    /// The revision of the key's last change.
    pub fn mod_revision(&self) -> i64 {
        self.mod_revision
    }

    /// The number of changes since the key's creation: 1 for a new key (0 in a delete event).
    pub fn version(&self) -> i64 {
        self.version
    }

    /// The lease the key is attached to, `None` without one.
    ///
    /// ```
    /// use rsetcd::v3::KeyValue;
    /// assert_eq!(KeyValue::default().lease(), None);
    /// assert_eq!(KeyValue { lease: 7, ..Default::default() }.lease(), Some(7));
    /// ```
    pub fn lease(&self) -> Option<i64> {
        lease_id(self.lease)
    }

    /// The key and the value, without copying them.
    pub fn into_key_value(self) -> (Bytes, Bytes) {
        (self.key, self.value)
    }
}

impl RangeResponse {
    /// The key-value pairs read (none for a missing key; without values with
    /// [`keys_only`](super::GetOp::keys_only), none at all with
    /// [`count_only`](super::GetOp::count_only)).
    ///
    /// ```
    /// use rsetcd::v3::{KeyValue, RangeResponse};
    /// let answer = RangeResponse {
    ///     kvs: vec![KeyValue { key: "/a".into(), value: "1".into(), ..Default::default() }],
    ///     count: 1,
    ///     ..Default::default()
    /// };
    /// assert_eq!(answer.kvs().len(), 1);
    /// assert_eq!(answer.first().map(|kv| kv.value_str()).as_deref(), Some("1"));
    /// assert_eq!(answer.count(), 1);
    /// assert!(!answer.more());
    /// ```
    pub fn kvs(&self) -> &[KeyValue] {
        &self.kvs
    }

    /// The first key-value pair read: the key's, for a get of one key; `None` when it is missing.
    pub fn first(&self) -> Option<&KeyValue> {
        self.kvs.first()
    }

    /// The key-value pairs, owned.
    pub fn into_kvs(self) -> Vec<KeyValue> {
        self.kvs
    }

    /// The first key-value pair, owned.
    pub fn into_first(self) -> Option<KeyValue> {
        self.kvs.into_iter().next()
    }

    /// How many keys the range holds, whatever [`limit`](super::GetOp::limit) cut.
    pub fn count(&self) -> i64 {
        self.count
    }

    /// Whether the range holds more keys than the [`limit`](super::GetOp::limit) returned.
    pub fn more(&self) -> bool {
        self.more
    }
}

impl PutResponse {
    /// The key-value pair before the put, asked for with [`prev_kv`](super::PutOp::prev_kv)
    /// (`None` too when the key did not exist).
    pub fn prev_kv(&self) -> Option<&KeyValue> {
        self.prev_kv.as_ref()
    }
}

impl DeleteRangeResponse {
    /// How many keys were deleted.
    pub fn deleted(&self) -> i64 {
        self.deleted
    }

    /// The deleted key-value pairs, asked for with [`prev_kv`](super::DeleteOp::prev_kv).
    pub fn prev_kvs(&self) -> &[KeyValue] {
        &self.prev_kvs
    }
}

impl Event {
    /// What happened: [`EventType::Put`] or [`EventType::Delete`] (an expired lease's keys are
    /// deleted too).
    pub fn event_type(&self) -> EventType {
        self.r#type()
    }

    /// Whether the key was put (created or changed).
    ///
    /// ```
    /// use rsetcd::v3::{Event, EventType, KeyValue};
    /// let created = Event {
    ///     r#type: EventType::Put as i32,
    ///     kv: Some(KeyValue { key: "/a".into(), version: 1, mod_revision: 9, ..Default::default() }),
    ///     prev_kv: None,
    /// };
    /// assert!(created.is_put() && created.is_create() && !created.is_delete());
    /// assert_eq!((created.key(), created.revision()), (&b"/a"[..], 9));
    /// ```
    pub fn is_put(&self) -> bool {
        self.r#type == EventType::Put as i32
    }

    /// Whether the key was deleted (or expired with its lease).
    pub fn is_delete(&self) -> bool {
        self.r#type == EventType::Delete as i32
    }

    /// Whether the key was created: a put of version 1.
    pub fn is_create(&self) -> bool {
        self.is_put() && self.kv().version == 1
    }

    /// The key-value pair after the change; for a delete, the key with the revision of its
    /// deletion and no value.
    pub fn kv(&self) -> &KeyValue {
        self.kv.as_ref().unwrap_or(&NO_KV)
    }

    /// The key-value pair before the change, for a watch with
    /// [`prev_kv`](super::WatchBuilder::prev_kv) (`None` too for a new key).
    pub fn prev_kv(&self) -> Option<&KeyValue> {
        self.prev_kv.as_ref()
    }

    /// The key changed.
    pub fn key(&self) -> &[u8] {
        self.kv().key()
    }

    /// The key changed, as text (see [`KeyValue::key_str`]).
    pub fn key_str(&self) -> Cow<'_, str> {
        self.kv().key_str()
    }

    /// The new value (empty for a delete).
    pub fn value(&self) -> &[u8] {
        self.kv().value()
    }

    /// The new value, as text (see [`KeyValue::value_str`]).
    pub fn value_str(&self) -> Cow<'_, str> {
        self.kv().value_str()
    }

    /// The revision of the change.
    pub fn revision(&self) -> i64 {
        self.kv().mod_revision
    }
}

impl WatchItem {
    /// The events of a [`WatchItem::Events`]; none for the other items.
    ///
    /// ```
    /// use rsetcd::v3::WatchItem;
    /// let item = WatchItem::Progress { revision: 5 };
    /// assert!(item.events().is_empty());
    /// assert_eq!(item.revision(), 5);
    /// ```
    pub fn events(&self) -> &[Event] {
        match self {
            WatchItem::Events { events, .. } => events,
            _ => &[],
        }
    }

    /// The store's revision the item speaks of (for [`WatchItem::Compacted`], the revision
    /// the history was compacted to).
    pub fn revision(&self) -> i64 {
        match self {
            WatchItem::Events { revision, .. } | WatchItem::Progress { revision } => *revision,
            WatchItem::Compacted { compact_revision } => *compact_revision,
        }
    }
}

impl ResponseHeader {
    /// The store's revision when the member answered.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// The id of the member that answered.
    pub fn member_id(&self) -> u64 {
        self.member_id
    }

    /// The id of the cluster.
    pub fn cluster_id(&self) -> u64 {
        self.cluster_id
    }

    /// The raft term when the member answered.
    pub fn raft_term(&self) -> u64 {
        self.raft_term
    }
}

/// `header()` and `revision()` on every answer that carries etcd's header.
macro_rules! with_header {
    ($($ty:ty),* $(,)?) => {
        $(
            impl $ty {
                /// The answer's header: store revision, the answering member's id, the
                /// cluster's id, the raft term (zeros if etcd sent none).
                pub fn header(&self) -> &ResponseHeader {
                    self.header.as_ref().unwrap_or(&NO_HEADER)
                }

                /// The store's revision when the member answered (that of the write, for a
                /// write).
                pub fn revision(&self) -> i64 {
                    self.header().revision
                }
            }
        )*
    };
}

with_header!(
    RangeResponse,
    PutResponse,
    DeleteRangeResponse,
    TxnResponse,
    CompactionResponse,
    LeaseGrantResponse,
    LeaseRevokeResponse,
    LeaseTimeToLiveResponse,
    LeaseLeasesResponse,
    MemberListResponse,
    MemberAddResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
    MemberPromoteResponse,
    StatusResponse,
    HashKvResponse,
    AlarmResponse,
    DefragmentResponse,
    MoveLeaderResponse,
    AuthStatusResponse,
    LockResponse,
    UnlockResponse,
    ProclaimResponse,
    ResignResponse,
);

impl AuthStatusResponse {
    /// Whether authentication is on.
    ///
    /// ```
    /// use rsetcd::v3::AuthStatusResponse;
    /// let status = AuthStatusResponse { enabled: true, auth_revision: 7, ..Default::default() };
    /// assert!(status.enabled());
    /// assert_eq!(status.auth_revision(), 7);
    /// ```
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The auth store's revision, a counter of its own (not the key-value store's revision):
    /// every change to users, roles or permissions raises it, and so does disabling auth
    /// (enabling it does not).
    pub fn auth_revision(&self) -> u64 {
        self.auth_revision
    }
}

impl LockResponse {
    /// The key that holds the lock while it is held: give it to
    /// [`unlock`](super::Client::unlock). It carries the session's lease: the lock is released
    /// when the session ends.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The lock's key as text (see [`KeyValue::key_str`]).
    pub fn key_str(&self) -> Cow<'_, str> {
        lossy(&self.key)
    }
}

impl LeaderKey {
    /// The election's name.
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// The key that holds the leadership while it lasts.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The leader key as text (see [`KeyValue::key_str`]).
    pub fn key_str(&self) -> Cow<'_, str> {
        lossy(&self.key)
    }

    /// The revision at which leadership was won.
    pub fn revision(&self) -> i64 {
        self.rev
    }

    /// The lease of the session that holds leadership.
    pub fn lease(&self) -> Option<i64> {
        lease_id(self.lease)
    }
}
