//! v3 leases against real etcd: grant, time-to-live with keys, list, revoke, put options tied to
//! leases, and keep-alives (surviving a member's death, reporting loss, letting go when dropped).

mod v3common;

use std::time::Duration;

use rsetcd::v3::{Client, LeaseLost, LeaseState, V3ErrorKind, WatchItem};
use rsetcd_testkit::Cluster;
use v3common::{client, text, unique};

#[tokio::test]
async fn grant_ttl_list_revoke_and_lease_put_options() {
    let c = client();
    let p = unique("lease");
    let lease = c.lease_grant(30).await.unwrap();
    assert!(lease.id != 0);
    assert_eq!(lease.ttl, 30);
    c.put(format!("{p}a"), "1").lease(lease.id).await.unwrap();
    c.put(format!("{p}b"), "2").await.unwrap();
    // ignore_value: attach b to the lease without touching its value.
    c.put(format!("{p}b"), "")
        .ignore_value()
        .lease(lease.id)
        .await
        .unwrap();
    let b = c.get(format!("{p}b")).await.unwrap().kvs.remove(0);
    assert_eq!((b.value.as_ref(), b.lease), (b"2".as_ref(), lease.id));
    // ignore_lease: change the value, keep the lease.
    c.put(format!("{p}b"), "3").ignore_lease().await.unwrap();
    let b = c.get(format!("{p}b")).await.unwrap().kvs.remove(0);
    assert_eq!((b.value.as_ref(), b.lease), (b"3".as_ref(), lease.id));

    let ttl = c.lease_time_to_live(lease.id, true).await.unwrap();
    assert_eq!(ttl.granted_ttl, 30);
    assert!(ttl.ttl > 0 && ttl.ttl <= 30);
    let mut keys: Vec<_> = ttl.keys.iter().map(|k| text(k)).collect();
    keys.sort();
    assert_eq!(keys, [format!("{p}a"), format!("{p}b")]);
    assert!(c
        .leases()
        .await
        .unwrap()
        .leases
        .iter()
        .any(|l| l.id == lease.id));

    c.lease_revoke(lease.id).await.unwrap();
    assert_eq!(c.get(&p).prefix().count_only().await.unwrap().count, 0);
    assert_eq!(c.lease_time_to_live(lease.id, false).await.unwrap().ttl, -1);
    let err = c.lease_revoke(lease.id).await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::LeaseNotFound), "{err}");
    let err = c
        .put(format!("{p}c"), "x")
        .lease(lease.id)
        .await
        .unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::LeaseNotFound), "{err}");
    let err = c.lease_keep_alive(lease.id).await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::LeaseNotFound), "{err}");

    let chosen = c.lease_grant_with_id(5, lease.id + 7).await.unwrap();
    assert_eq!(chosen.id, lease.id + 7);
    let err = c.lease_grant_with_id(5, lease.id + 7).await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::LeaseExists), "{err}");
    c.lease_revoke(chosen.id).await.unwrap();
}

#[tokio::test]
async fn keep_alive_holds_the_lease_then_dropping_it_lets_the_keys_go() {
    let c = client();
    let k = format!("{}k", unique("keep"));
    let lease = c.lease_grant(2).await.unwrap();
    c.put(&k, "v").lease(lease.id).await.unwrap();
    let keep = c.lease_keep_alive(lease.id).await.unwrap();
    assert!(matches!(keep.state(), LeaseState::Alive { ttl } if ttl > 0));
    // Twice the TTL: without the keep-alive the key would be gone.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(keep.is_alive());
    assert_eq!(c.get(&k).await.unwrap().kvs.len(), 1);

    let mut w = c.watch(&k).await.unwrap();
    drop(keep);
    let gone = tokio::time::timeout(Duration::from_secs(8), w.next())
        .await
        .expect("the key goes within the TTL (and etcd's expiry check)")
        .unwrap()
        .unwrap();
    match gone {
        WatchItem::Events { events, .. } => assert_eq!(
            events[0].r#type(),
            rsetcd::v3::proto::mvccpb::event::EventType::Delete
        ),
        other => panic!("expected the delete, got {other:?}"),
    }
    assert_eq!(c.lease_time_to_live(lease.id, false).await.unwrap().ttl, -1);
}

#[tokio::test]
async fn keep_alive_reports_a_revoked_lease() {
    let c = client();
    let lease = c.lease_grant(3).await.unwrap();
    let mut keep = c.lease_keep_alive(lease.id).await.unwrap();
    c.lease_revoke(lease.id).await.unwrap();
    let why = tokio::time::timeout(Duration::from_secs(5), keep.lost())
        .await
        .expect("loss reported within a refresh period");
    assert_eq!(why, LeaseLost::NotFound);
    assert!(!keep.is_alive());
}

#[tokio::test]
async fn keep_alive_survives_the_loss_of_a_member() {
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start(3).expect("cluster"))
        .await
        .unwrap();
    let eps = cluster.endpoints();
    let c = Client::builder().endpoints(eps.clone()).build().unwrap();
    let lease = c.lease_grant(2).await.unwrap();
    c.put("/keep/k", "v").lease(lease.id).await.unwrap();
    // The keep-alive stream opens on the first endpoint: member 0.
    let keep = c.lease_keep_alive(lease.id).await.unwrap();
    cluster.kill(0).unwrap();
    // Three TTLs after the kill, the lease and its key are still there.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert!(keep.is_alive(), "{:?}", keep.state());
    let other = Client::builder()
        .endpoints([eps[1].clone()])
        .build()
        .unwrap();
    let ttl = other.lease_time_to_live(lease.id, true).await.unwrap();
    assert!(ttl.ttl > 0, "lease expired: {ttl:?}");
    assert_eq!(other.get("/keep/k").await.unwrap().kvs.len(), 1);
}
