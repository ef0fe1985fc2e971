//! The v3 answer accessors against real etcd: what they read is what etcd answered (header ids
//! and revisions, members, status, leases, events), without touching a protobuf field.

mod v3common;

use rsetcd::v3::{Compare, CompareOp, Op, OpResponse};
use v3common::{client, etcd, unique};

#[tokio::test]
async fn headers_name_the_member_the_cluster_and_the_revision() {
    let client = client();
    let key = format!("{}k", unique("header"));
    let put = client.put(&key, "v").await.expect("put");
    let got = client.get(&key).await.expect("get");
    assert!(put.revision() > 0);
    assert!(got.revision() >= put.revision(), "other tests write too");
    let kv = got.first().expect("the key");
    assert_eq!(kv.mod_revision(), put.revision());
    assert_eq!(
        (kv.key_str(), kv.value_str()),
        (key.as_str().into(), "v".into())
    );

    let members = client.member_list().await.expect("member list");
    let me = &members.members()[0];
    assert_eq!(members.members().len(), 1);
    assert_eq!(got.header().member_id(), me.id());
    assert_eq!(members.header().cluster_id(), got.header().cluster_id());
    assert!(got.header().cluster_id() != 0 && got.header().raft_term() >= 1);
    assert_eq!(me.client_urls(), [etcd().client_url()]);
    assert!(me.is_started() && !me.is_learner());

    let status = client.status().await.expect("status");
    assert!(status.is_leader(), "a single member leads");
    assert!(status.version().starts_with("3."), "{}", status.version());
}

#[tokio::test]
async fn txn_branch_answers_and_lease_answers() {
    let client = client();
    let key = format!("{}k", unique("txn"));
    let lease = client.lease_grant(30).await.expect("grant");
    assert_eq!(lease.ttl(), 30);
    let answer = client
        .txn()
        .when(Compare::version(&key, CompareOp::Equal, 0))
        .and_then(Op::put(&key, "first").lease(lease.id()))
        .and_then(Op::get(&key))
        .await
        .expect("txn");
    assert!(answer.succeeded());
    assert_eq!(answer.responses().len(), 2);
    assert!(matches!(answer.response(0), Some(OpResponse::Put(_))));
    let read = answer
        .response(1)
        .and_then(OpResponse::as_get)
        .expect("a get");
    let kv = read.first().expect("the key, inside the txn");
    assert_eq!(kv.lease(), Some(lease.id()));
    assert!(kv.version() == 1 && kv.create_revision() == answer.revision());

    let ttl = client
        .lease_time_to_live(lease.id(), true)
        .await
        .expect("ttl");
    assert!(!ttl.is_expired() && ttl.ttl() <= 30 && ttl.granted_ttl() == 30);
    assert_eq!(ttl.keys().collect::<Vec<_>>(), [key.as_bytes()]);
    assert!(client
        .leases()
        .await
        .expect("leases")
        .ids()
        .any(|id| id == lease.id()));
    client.lease_revoke(lease.id()).await.expect("revoke");
    let gone = client
        .lease_time_to_live(lease.id(), false)
        .await
        .expect("ttl");
    assert!(gone.is_expired());
    assert!(client.get(&key).await.expect("get").first().is_none());
}

#[tokio::test]
async fn watch_events_read_as_put_create_and_delete() {
    let client = client();
    let dir = unique("events");
    let key = format!("{dir}k");
    let mut watch = client.watch(&dir).prefix().prev_kv().await.expect("watch");
    client.put(&key, "1").await.expect("put");
    client.put(&key, "2").await.expect("put");
    let deleted = client.delete(&key).prev_kv().await.expect("delete");
    assert_eq!(deleted.deleted(), 1);
    assert_eq!(deleted.prev_kvs()[0].value(), b"2");
    let mut events = Vec::new();
    while events.len() < 3 {
        let item = watch.next().await.expect("an item").expect("no error");
        events.extend(item.events().iter().cloned());
    }
    assert!(events[0].is_create() && events[0].prev_kv().is_none());
    assert!(events[1].is_put() && !events[1].is_create());
    assert_eq!(
        events[1].prev_kv().map(|kv| kv.value_str()),
        Some("1".into())
    );
    assert!(events[2].is_delete() && events[2].value().is_empty());
    assert_eq!(events[2].key(), key.as_bytes());
    assert_eq!(events[2].revision(), deleted.revision());
}
