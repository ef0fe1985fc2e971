//! A member that goes silent without closing anything (a frozen proxy in front of real etcd: a
//! network partition on loopback). The keep-alive pings find the dead connection; the watch on it
//! resumes on the next endpoint and misses nothing.

mod v3common;

use std::time::Duration;

use rsetcd::v3::{Client, WatchItem};
use rsetcd_testkit::Proxy;
use v3common::{client, etcd, text, unique};

/// Bound on every wait: the keep-alive below needs about 6 s to find the partition.
const WAIT: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_partitioned_member_is_found_by_keep_alive_and_the_watch_resumes_elsewhere() {
    let direct = etcd().client_url();
    let proxy = Proxy::start(&direct).unwrap();
    // etcd refuses pings more often than every 5 s (its --grpc-keepalive-min-time).
    let c = Client::builder()
        .endpoints([proxy.url(), direct.clone()])
        .keep_alive(Duration::from_secs(5), Duration::from_secs(1))
        .build()
        .unwrap();
    let writer = client();
    let p = unique("part");
    let mut w = c.watch(&p).prefix().await.unwrap();
    let mut seen = Vec::new();
    writer.put(format!("{p}1"), "1").await.unwrap();
    proxy.freeze();
    for i in 2..=4 {
        writer.put(format!("{p}{i}"), i.to_string()).await.unwrap();
    }
    while seen.len() < 4 {
        let item = tokio::time::timeout(WAIT, w.next())
            .await
            .expect("the watch delivers within the bound (keep-alive, then resume)")
            .expect("the watch is open")
            .expect("no error: the watch resumed on the other endpoint");
        if let WatchItem::Events { events, .. } = item {
            seen.extend(events.iter().map(|e| text(&e.kv.as_ref().unwrap().value)));
        }
    }
    assert_eq!(seen, ["1", "2", "3", "4"], "every event once, in order");
    // Calls on the same client go on too: the frozen connection is gone, the next endpoint
    // answers.
    let got = c.get(format!("{p}4")).await.unwrap();
    assert_eq!(text(&got.kvs[0].value), "4");
    proxy.thaw();
}
