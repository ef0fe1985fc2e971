//! The json format: etcd's messages as Go's `encoding/json` marshals the structs etcdctl prints
//! (field order, `omitempty`, byte strings in base64, nested oneofs as `{"Response":{…}}`).
//!
//! Each Go shape is a struct here that serde writes field by field, in order; `skip_if` mirrors
//! Go's `omitempty`.

use base64::Engine;
use rsetcd::v3::proto::etcdserverpb::response_op::Response;
use rsetcd::v3::proto::etcdserverpb::ResponseOp;
use rsetcd::v3::{
    DeleteRangeResponse, Event, KeyValue, PutResponse, RangeResponse, ResponseHeader, TxnResponse,
};
use serde::{Serialize, Serializer};

use super::Out;
use crate::error::CliError;

/// Appends `value` as one line of JSON.
pub fn line(out: &mut Out, value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string(value)
        .map_err(|e| super::super::error::fail(super::super::error::Exit::Error, e))?;
    out.line(&text);
    Ok(())
}

/// Go's `omitempty` for numbers and booleans.
pub fn zero<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Go's `omitempty` for byte strings and slices.
pub fn empty<T>(v: &[T]) -> bool {
    v.is_empty()
}

/// A byte string as Go marshals `[]byte`: standard base64 with padding.
pub fn b64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// `etcdserverpb.ResponseHeader`.
#[derive(Serialize)]
pub struct Header {
    #[serde(skip_serializing_if = "zero")]
    cluster_id: u64,
    #[serde(skip_serializing_if = "zero")]
    member_id: u64,
    #[serde(skip_serializing_if = "zero")]
    revision: i64,
    #[serde(skip_serializing_if = "zero")]
    raft_term: u64,
}

impl Header {
    /// The header's Go shape (a missing header marshals as an empty object here; etcd always
    /// sends one).
    pub fn of(h: Option<&ResponseHeader>) -> Header {
        let d = ResponseHeader::default();
        let h = h.unwrap_or(&d);
        Header {
            cluster_id: h.cluster_id,
            member_id: h.member_id,
            revision: h.revision,
            raft_term: h.raft_term,
        }
    }
}

/// A header embedded in a clientv3 struct (`*pb.ResponseHeader` without a field name): its
/// fields at the top level of the object.
#[derive(Serialize)]
pub struct Embedded {
    #[serde(flatten)]
    header: Header,
}

impl Embedded {
    /// The embedded header's Go shape.
    pub fn of(h: Option<&ResponseHeader>) -> Embedded {
        Embedded {
            header: Header::of(h),
        }
    }
}

/// `mvccpb.KeyValue`.
#[derive(Serialize)]
pub struct Kv<'a> {
    #[serde(skip_serializing_if = "empty", serialize_with = "b64")]
    key: &'a [u8],
    #[serde(skip_serializing_if = "zero")]
    create_revision: i64,
    #[serde(skip_serializing_if = "zero")]
    mod_revision: i64,
    #[serde(skip_serializing_if = "zero")]
    version: i64,
    #[serde(skip_serializing_if = "empty", serialize_with = "b64")]
    value: &'a [u8],
    #[serde(skip_serializing_if = "zero")]
    lease: i64,
}

impl<'a> Kv<'a> {
    /// The pair's Go shape.
    pub fn of(kv: &'a KeyValue) -> Kv<'a> {
        Kv {
            key: &kv.key,
            create_revision: kv.create_revision,
            mod_revision: kv.mod_revision,
            version: kv.version,
            value: &kv.value,
            lease: kv.lease,
        }
    }
}

fn kvs(list: &[KeyValue]) -> Vec<Kv<'_>> {
    list.iter().map(Kv::of).collect()
}

/// `etcdserverpb.RangeResponse`.
#[derive(Serialize)]
pub struct Range<'a> {
    header: Header,
    #[serde(skip_serializing_if = "empty")]
    kvs: Vec<Kv<'a>>,
    #[serde(skip_serializing_if = "zero")]
    more: bool,
    #[serde(skip_serializing_if = "zero")]
    count: i64,
}

impl<'a> Range<'a> {
    /// The answer's Go shape.
    pub fn of(r: &'a RangeResponse) -> Range<'a> {
        Range {
            header: Header::of(r.header.as_ref()),
            kvs: kvs(&r.kvs),
            more: r.more,
            count: r.count,
        }
    }
}

/// `etcdserverpb.PutResponse`.
#[derive(Serialize)]
pub struct Put<'a> {
    header: Header,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_kv: Option<Kv<'a>>,
}

impl<'a> Put<'a> {
    /// The answer's Go shape.
    pub fn of(r: &'a PutResponse) -> Put<'a> {
        Put {
            header: Header::of(r.header.as_ref()),
            prev_kv: r.prev_kv.as_ref().map(Kv::of),
        }
    }
}

/// `etcdserverpb.DeleteRangeResponse`.
#[derive(Serialize)]
pub struct Delete<'a> {
    header: Header,
    #[serde(skip_serializing_if = "zero")]
    deleted: i64,
    #[serde(skip_serializing_if = "empty")]
    prev_kvs: Vec<Kv<'a>>,
}

impl<'a> Delete<'a> {
    /// The answer's Go shape.
    pub fn of(r: &'a DeleteRangeResponse) -> Delete<'a> {
        Delete {
            header: Header::of(r.header.as_ref()),
            deleted: r.deleted,
            prev_kvs: kvs(&r.prev_kvs),
        }
    }
}

/// The oneof of `etcdserverpb.ResponseOp`, as Go marshals its interface field.
#[derive(Serialize)]
enum Op<'a> {
    #[serde(rename = "response_range")]
    Range(Range<'a>),
    #[serde(rename = "response_put")]
    Put(Put<'a>),
    #[serde(rename = "response_delete_range")]
    Delete(Delete<'a>),
    #[serde(rename = "response_txn")]
    Txn(Box<Txn<'a>>),
}

#[derive(Serialize)]
struct ResponseOpJson<'a> {
    #[serde(rename = "Response", skip_serializing_if = "Option::is_none")]
    response: Option<Op<'a>>,
}

fn op(r: &ResponseOp) -> ResponseOpJson<'_> {
    ResponseOpJson {
        response: r.response.as_ref().map(|r| match r {
            Response::ResponseRange(r) => Op::Range(Range::of(r)),
            Response::ResponsePut(r) => Op::Put(Put::of(r)),
            Response::ResponseDeleteRange(r) => Op::Delete(Delete::of(r)),
            Response::ResponseTxn(r) => Op::Txn(Box::new(Txn::of(r))),
        }),
    }
}

/// `etcdserverpb.TxnResponse`.
#[derive(Serialize)]
pub struct Txn<'a> {
    header: Header,
    #[serde(skip_serializing_if = "zero")]
    succeeded: bool,
    #[serde(skip_serializing_if = "empty")]
    responses: Vec<ResponseOpJson<'a>>,
}

impl<'a> Txn<'a> {
    /// The answer's Go shape.
    pub fn of(r: &'a TxnResponse) -> Txn<'a> {
        Txn {
            header: Header::of(r.header.as_ref()),
            succeeded: r.succeeded,
            responses: r.responses.iter().map(op).collect(),
        }
    }
}

/// `mvccpb.Event` (`type` 0 is PUT, omitted; 1 is DELETE).
#[derive(Serialize)]
pub struct EventJson<'a> {
    #[serde(rename = "type", skip_serializing_if = "zero")]
    kind: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    kv: Option<Kv<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev_kv: Option<Kv<'a>>,
}

impl<'a> EventJson<'a> {
    /// The event's Go shape.
    pub fn of(e: &'a Event) -> EventJson<'a> {
        EventJson {
            kind: e.r#type,
            kv: e.kv.as_ref().map(Kv::of),
            prev_kv: e.prev_kv.as_ref().map(Kv::of),
        }
    }
}
