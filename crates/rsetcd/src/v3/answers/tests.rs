use bytes::Bytes;

use super::OpResponse;
use crate::v3::proto::etcdserverpb::response_op::Response;
use crate::v3::proto::etcdserverpb::{
    DeleteRangeResponse, LeaseLeasesResponse, LeaseStatus, LeaseTimeToLiveResponse, Member,
    MemberListResponse, PutResponse, RangeResponse, ResponseHeader, ResponseOp, StatusResponse,
    TxnResponse,
};
use crate::v3::proto::mvccpb::event::EventType;
use crate::v3::proto::mvccpb::{Event, KeyValue};
use crate::v3::proto::v3electionpb::LeaderKey;
use crate::v3::proto::v3lockpb::LockResponse;
use crate::v3::WatchItem;

fn kv(key: &'static str, value: &'static [u8], rev: i64) -> KeyValue {
    KeyValue {
        key: Bytes::from_static(key.as_bytes()),
        value: Bytes::from_static(value),
        create_revision: rev - 1,
        mod_revision: rev,
        version: 2,
        lease: 0,
    }
}

fn header(revision: i64) -> Option<ResponseHeader> {
    Some(ResponseHeader {
        cluster_id: 11,
        member_id: 22,
        revision,
        raft_term: 3,
    })
}

#[test]
fn key_value_reads_as_bytes_and_text() {
    let pair = kv("/a", b"caf\xc3\xa9", 8);
    assert_eq!(pair.key(), b"/a");
    assert_eq!(pair.value(), "café".as_bytes());
    assert_eq!(pair.key_str(), "/a");
    assert_eq!(pair.value_str(), "café");
    assert_eq!(pair.try_value_str(), Ok("café"));
    assert_eq!(
        (pair.create_revision(), pair.mod_revision(), pair.version()),
        (7, 8, 2)
    );
    assert_eq!(pair.lease(), None);
    assert!(matches!(pair.key_str(), std::borrow::Cow::Borrowed(_)));
}

#[test]
fn text_that_is_not_utf8_is_lossy_or_refused() {
    let pair = kv("/\u{fffd}", b"\xff\xfe", 1);
    let bad = KeyValue {
        key: Bytes::from_static(b"/\xc3"),
        ..pair
    };
    assert_eq!(bad.key_str(), "/\u{fffd}");
    assert_eq!(bad.value_str(), "\u{fffd}\u{fffd}");
    assert!(bad.try_key_str().is_err());
    assert!(bad.try_value_str().is_err());
}

#[test]
fn into_key_value_shares_the_bytes() {
    let pair = kv("/a", b"value", 2);
    let ptr = pair.value.as_ptr();
    let (key, value) = pair.into_key_value();
    assert_eq!(key, "/a");
    assert_eq!(value.as_ptr(), ptr, "no copy");
}

#[test]
fn range_answer() {
    let answer = RangeResponse {
        header: header(40),
        kvs: vec![kv("/a", b"1", 5), kv("/b", b"2", 6)],
        more: true,
        count: 9,
    };
    assert_eq!(answer.revision(), 40);
    assert_eq!(answer.header().member_id(), 22);
    assert_eq!(answer.header().cluster_id(), 11);
    assert_eq!(answer.header().raft_term(), 3);
    assert_eq!(answer.kvs().len(), 2);
    assert_eq!(answer.first().map(|kv| kv.key()), Some(&b"/a"[..]));
    assert!(answer.more());
    assert_eq!(answer.count(), 9);
    let first = answer.clone().into_first().expect("a first pair");
    assert_eq!(first.value(), b"1");
    assert_eq!(answer.into_kvs().len(), 2);
}

#[test]
fn missing_key_and_missing_header() {
    let answer = RangeResponse::default();
    assert!(answer.first().is_none());
    assert!(answer.kvs().is_empty());
    assert_eq!(answer.revision(), 0);
    assert_eq!(answer.header().member_id(), 0);
    assert_eq!(answer.count(), 0);
}

#[test]
fn put_and_delete_answers() {
    let put = PutResponse {
        header: header(12),
        prev_kv: Some(kv("/a", b"old", 11)),
    };
    assert_eq!(put.revision(), 12);
    assert_eq!(
        put.prev_kv().map(|kv| kv.value_str()).as_deref(),
        Some("old")
    );
    assert!(PutResponse::default().prev_kv().is_none());
    let del = DeleteRangeResponse {
        header: header(13),
        deleted: 2,
        prev_kvs: vec![kv("/a", b"1", 3), kv("/b", b"2", 4)],
    };
    assert_eq!(
        (del.deleted(), del.prev_kvs().len(), del.revision()),
        (2, 2, 13)
    );
}

#[test]
fn events_with_their_type() {
    let put = Event {
        r#type: EventType::Put as i32,
        kv: Some(kv("/a", b"new", 20)),
        prev_kv: Some(kv("/a", b"old", 19)),
    };
    assert!(put.is_put() && !put.is_delete() && !put.is_create());
    assert_eq!(put.event_type(), EventType::Put);
    assert_eq!(
        (put.key_str().as_ref(), put.value_str().as_ref()),
        ("/a", "new")
    );
    assert_eq!(put.revision(), 20);
    assert_eq!(put.prev_kv().map(|kv| kv.value()), Some(&b"old"[..]));

    let delete = Event {
        r#type: EventType::Delete as i32,
        kv: Some(KeyValue {
            key: Bytes::from_static(b"/a"),
            mod_revision: 21,
            ..Default::default()
        }),
        prev_kv: None,
    };
    assert!(delete.is_delete() && !delete.is_put() && !delete.is_create());
    assert_eq!(delete.event_type(), EventType::Delete);
    assert_eq!((delete.key(), delete.value()), (&b"/a"[..], &b""[..]));
    assert_eq!(delete.revision(), 21);
    assert!(delete.prev_kv().is_none());

    let created = Event {
        r#type: EventType::Put as i32,
        kv: Some(KeyValue {
            version: 1,
            ..kv("/n", b"1", 30)
        }),
        prev_kv: None,
    };
    assert!(created.is_create());
}

#[test]
fn an_event_without_its_pair_reads_as_empty() {
    let event = Event {
        r#type: 7, // a type this protocol does not know
        kv: None,
        prev_kv: None,
    };
    assert!(!event.is_put() && !event.is_delete());
    assert_eq!((event.key(), event.revision()), (&b""[..], 0));
}

#[test]
fn watch_items() {
    let events = vec![Event {
        r#type: EventType::Put as i32,
        kv: Some(kv("/a", b"1", 4)),
        prev_kv: None,
    }];
    let item = WatchItem::Events {
        revision: 4,
        events,
    };
    assert_eq!((item.events().len(), item.revision()), (1, 4));
    let compacted = WatchItem::Compacted {
        compact_revision: 3,
    };
    assert_eq!((compacted.events().len(), compacted.revision()), (0, 3));
}

fn op(response: Response) -> ResponseOp {
    ResponseOp {
        response: Some(response),
    }
}

#[test]
fn txn_answers_are_typed() {
    let nested = TxnResponse {
        header: header(50),
        succeeded: true,
        responses: vec![op(Response::ResponsePut(PutResponse::default()))],
    };
    let answer = TxnResponse {
        header: header(50),
        succeeded: true,
        responses: vec![
            op(Response::ResponsePut(PutResponse::default())),
            op(Response::ResponseRange(RangeResponse {
                kvs: vec![kv("/a", b"1", 50)],
                count: 1,
                ..Default::default()
            })),
            op(Response::ResponseDeleteRange(DeleteRangeResponse {
                deleted: 1,
                ..Default::default()
            })),
            op(Response::ResponseTxn(nested)),
            ResponseOp { response: None },
        ],
    };
    assert!(answer.succeeded());
    assert_eq!(answer.revision(), 50);
    let all: Vec<OpResponse<'_>> = answer.responses().collect();
    assert_eq!(all.len(), 5);
    assert!(matches!(all[0], OpResponse::Put(_)));
    let get = all[1].as_get().expect("a get");
    assert_eq!(get.first().map(|kv| kv.value_str()).as_deref(), Some("1"));
    assert_eq!(all[2].as_delete().map(|d| d.deleted()), Some(1));
    let inner = all[3].as_txn().expect("a nested txn");
    assert!(inner.succeeded() && inner.response(0).and_then(|r| r.as_put()).is_some());
    assert_eq!(all[4], OpResponse::Unknown);
    assert!(all[0].as_get().is_none() && all[1].as_put().is_none());
    assert!(all[1].as_delete().is_none() && all[1].as_txn().is_none());
    assert!(answer.response(5).is_none());
}

#[test]
fn lease_answers() {
    let ttl = LeaseTimeToLiveResponse {
        header: header(3),
        id: 9,
        ttl: 4,
        granted_ttl: 5,
        keys: vec![Bytes::from_static(b"/a"), Bytes::from_static(b"/b")],
    };
    assert_eq!((ttl.id(), ttl.ttl(), ttl.granted_ttl()), (9, 4, 5));
    assert!(!ttl.is_expired());
    assert_eq!(ttl.keys().collect::<Vec<_>>(), [&b"/a"[..], b"/b"]);
    let leases = LeaseLeasesResponse {
        header: None,
        leases: vec![LeaseStatus { id: 1 }, LeaseStatus { id: 2 }],
    };
    assert_eq!(leases.ids().collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn members_and_status() {
    let member = |id: u64, name: &str| Member {
        id,
        name: name.into(),
        peer_ur_ls: vec![format!("http://127.0.0.1:{}", 2380 + id)],
        client_ur_ls: vec![],
        is_learner: id == 3,
    };
    let list = MemberListResponse {
        header: header(1),
        members: vec![member(1, "a"), member(2, "b"), member(3, "")],
    };
    assert_eq!(list.members().len(), 3);
    let third = list.member_by_id(3).expect("member 3");
    assert!(third.is_learner() && !third.is_started());
    assert_eq!(third.peer_urls(), ["http://127.0.0.1:2383"]);
    assert!(third.client_urls().is_empty());
    assert_eq!(list.member_by_id(1).map(|m| m.name()), Some("a"));
    assert!(list.member_by_id(4).is_none());

    let status = StatusResponse {
        header: header(1),
        version: "3.5.1".into(),
        leader: 22,
        db_size: 4096,
        raft_index: 8,
        errors: vec!["NOSPACE".into()],
        ..Default::default()
    };
    assert!(status.is_leader() && !status.is_learner());
    assert_eq!(
        (status.version(), status.leader(), status.db_size()),
        ("3.5.1", 22, 4096)
    );
    assert_eq!((status.raft_index(), status.errors().len()), (8, 1));
    assert!(
        !StatusResponse::default().is_leader(),
        "no leader, no header"
    );
}

#[test]
fn lock_and_leader_keys() {
    let lock = LockResponse {
        header: header(5),
        key: Bytes::from_static(b"/lock/694d"),
    };
    assert_eq!(
        (lock.key(), lock.key_str().as_ref()),
        (&b"/lock/694d"[..], "/lock/694d")
    );
    assert_eq!(lock.revision(), 5);
    let leader = LeaderKey {
        name: Bytes::from_static(b"/e"),
        key: Bytes::from_static(b"/e/1"),
        rev: 6,
        lease: 0x1d,
    };
    assert_eq!((leader.name(), leader.key()), (&b"/e"[..], &b"/e/1"[..]));
    assert_eq!((leader.revision(), leader.lease()), (6, Some(0x1d)));
    assert_eq!(leader.key_str(), "/e/1");
}
