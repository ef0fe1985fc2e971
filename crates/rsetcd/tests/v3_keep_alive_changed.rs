//! `KeepAlive::changed`: one state per refresh, then the loss, against real etcd.

use std::time::Duration;

use rsetcd::v3::{Client, LeaseLost, LeaseState};
use rsetcd_testkit::Etcd;

#[tokio::test]
async fn each_refresh_then_the_loss() {
    let node = tokio::task::spawn_blocking(Etcd::start)
        .await
        .unwrap()
        .unwrap();
    let client = Client::builder().host(node.client_url()).build().unwrap();
    let lease = client.lease_grant(3).await.unwrap();
    let mut keep = client.lease_keep_alive(lease.id).await.unwrap();
    let bound = Duration::from_secs(5);
    // The refresh lease_keep_alive waited for, then the next one (a refresh every TTL / 3).
    for _ in 0..2 {
        let state = tokio::time::timeout(bound, keep.changed()).await.unwrap();
        assert_eq!(state, LeaseState::Alive { ttl: 3 });
    }
    client.lease_revoke(lease.id).await.unwrap();
    let state = tokio::time::timeout(bound, keep.changed()).await.unwrap();
    assert_eq!(state, LeaseState::Lost(LeaseLost::NotFound));
    // Lost stays lost, at once.
    let again = tokio::time::timeout(Duration::from_millis(100), keep.changed())
        .await
        .unwrap();
    assert_eq!(again, LeaseState::Lost(LeaseLost::NotFound));
}
