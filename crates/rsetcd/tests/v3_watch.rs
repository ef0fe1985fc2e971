//! v3 watches against real etcd: options, multiplexing, progress, compaction, resuming after
//! the member under the watch stream is killed in a 3-node cluster, giving up when no endpoint
//! is left, and slow consumers (bounded buffers, no gap, no duplicate, others not held up).

mod v3common;

use std::time::{Duration, Instant};

use rsetcd::v3::proto::mvccpb::event::EventType;
use rsetcd::v3::{Client, Event, Watch, WatchItem};
use rsetcd::Error;
use rsetcd_testkit::Cluster;
use v3common::{client, text, unique};

const WAIT: Duration = Duration::from_secs(10);

/// The next item, failing the test after a bounded wait.
async fn item(w: &mut Watch) -> WatchItem {
    tokio::time::timeout(WAIT, w.next())
        .await
        .expect("a watch item in time")
        .expect("the watch is still open")
        .expect("not an error")
}

/// The next `n` events, skipping progress items.
async fn events(w: &mut Watch, n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        match item(w).await {
            WatchItem::Events { events, .. } => out.extend(events),
            WatchItem::Progress { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

/// The values of the next `n` events, as numbers.
async fn values(w: &mut Watch, n: usize) -> Vec<u64> {
    events(w, n)
        .await
        .iter()
        .map(|e| text(&e.kv.as_ref().unwrap().value).parse().unwrap())
        .collect()
}

fn describe(e: &Event) -> String {
    let kv = e.kv.as_ref().unwrap();
    format!("{:?} {}={}", e.r#type(), text(&kv.key), text(&kv.value))
}

#[tokio::test]
async fn watch_prefix_sees_puts_and_deletes_in_order_with_prev_kv() {
    let c = client();
    let p = unique("w");
    let mut w = c.watch(&p).prefix().prev_kv().await.unwrap();
    assert!(w.created_revision() > 0);
    c.put(format!("{p}a"), "1").await.unwrap();
    c.put(format!("{p}a"), "2").await.unwrap();
    c.put(format!("{}outside", p.trim_end_matches('/')), "x")
        .await
        .unwrap();
    c.delete(format!("{p}a")).await.unwrap();
    let evs = events(&mut w, 3).await;
    let seen: Vec<_> = evs.iter().map(describe).collect();
    assert_eq!(
        seen,
        [
            format!("Put {p}a=1"),
            format!("Put {p}a=2"),
            format!("Delete {p}a="),
        ]
    );
    assert_eq!(evs[1].prev_kv.as_ref().unwrap().value, "1");
    assert_eq!(evs[2].prev_kv.as_ref().unwrap().value, "2");
    assert_eq!(evs[2].r#type(), EventType::Delete);
}

#[tokio::test]
async fn many_watches_share_a_client_with_filters_ranges_and_history() {
    let c = client();
    let p = unique("multi");
    let first = c
        .put(format!("{p}a"), "0")
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    let mut from_history = c
        .watch(format!("{p}a"))
        .start_revision(first)
        .await
        .unwrap();
    let mut no_put = c.watch(&p).prefix().no_put().await.unwrap();
    let mut no_delete = c.watch(&p).prefix().no_delete().await.unwrap();
    let mut range = c
        .watch(format!("{p}b"))
        .range_end(format!("{p}d"))
        .await
        .unwrap();
    let mut watches: Vec<Watch> = Vec::new();
    for _ in 0..20 {
        watches.push(c.watch(format!("{p}a")).await.unwrap());
    }
    let ids: std::collections::HashSet<_> = watches.iter().map(Watch::id).collect();
    assert_eq!(ids.len(), 20);

    c.put(format!("{p}a"), "1").await.unwrap();
    c.put(format!("{p}c"), "c").await.unwrap();
    c.put(format!("{p}d"), "d").await.unwrap();
    c.delete(format!("{p}a")).await.unwrap();

    let h: Vec<_> = events(&mut from_history, 3)
        .await
        .iter()
        .map(describe)
        .collect();
    assert_eq!(
        h,
        [
            format!("Put {p}a=0"),
            format!("Put {p}a=1"),
            format!("Delete {p}a=")
        ]
    );
    assert_eq!(
        describe(&events(&mut no_put, 1).await[0]),
        format!("Delete {p}a=")
    );
    let nd: Vec<_> = events(&mut no_delete, 3)
        .await
        .iter()
        .map(describe)
        .collect();
    assert_eq!(
        nd,
        [
            format!("Put {p}a=1"),
            format!("Put {p}c=c"),
            format!("Put {p}d=d")
        ]
    );
    assert_eq!(
        describe(&events(&mut range, 1).await[0]),
        format!("Put {p}c=c")
    );
    for w in &mut watches {
        assert_eq!(describe(&events(w, 1).await[0]), format!("Put {p}a=1"));
    }
    // Dropped watches are cancelled; the others go on.
    watches.truncate(1);
    c.put(format!("{p}a"), "2").await.unwrap();
    assert_eq!(
        describe(&events(&mut watches[0], 2).await[1]),
        format!("Put {p}a=2")
    );
}

#[tokio::test]
async fn progress_request_reports_the_current_revision() {
    let c = client();
    let p = unique("progress");
    let mut w = c.watch(&p).prefix().await.unwrap();
    let rev = c
        .put(format!("{}other", unique("x")), "1")
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    w.request_progress();
    match item(&mut w).await {
        WatchItem::Progress { revision } => assert!(revision >= rev),
        other => panic!("expected progress, got {other:?}"),
    }
}

#[tokio::test]
async fn compacted_start_yields_a_typed_item() {
    let (_node, c) = v3common::own_node().await;
    let k = format!("{}k", unique("compacted"));
    let first = c.put(&k, "1").await.unwrap().header.unwrap().revision;
    let last = c.put(&k, "2").await.unwrap().header.unwrap().revision;
    c.compact(last, true).await.unwrap();
    let mut w = c.watch(&k).start_revision(first).await.unwrap();
    assert_eq!(
        item(&mut w).await,
        WatchItem::Compacted {
            compact_revision: last
        }
    );
    let end = tokio::time::timeout(WAIT, w.next()).await.unwrap();
    assert!(end.is_none(), "the watch ends after Compacted: {end:?}");
}

#[tokio::test]
async fn watch_resumes_exactly_after_its_member_is_killed() {
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start(3).expect("cluster"))
        .await
        .unwrap();
    let eps = cluster.endpoints();
    // The watch stream opens on the first endpoint: member 0.
    let watcher = Client::builder().endpoints(eps.clone()).build().unwrap();
    let writer = Client::builder()
        .endpoints([eps[1].clone(), eps[2].clone()])
        .build()
        .unwrap();
    let key = "/resume/k";
    let mut w = watcher.watch(key).await.unwrap();
    const N: u64 = 120;
    let write_all = tokio::spawn(async move {
        for i in 0..N {
            let mut ok = false;
            for _ in 0..200 {
                match writer.put(key, i.to_string()).await {
                    Ok(_) => {
                        ok = true;
                        break;
                    }
                    Err(_) => {
                        // Applied or not? Read back before trying again: exactly once.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        if let Ok(r) = writer.get(key).await {
                            if r.kvs.first().is_some_and(|kv| kv.value == i.to_string()) {
                                ok = true;
                                break;
                            }
                        }
                    }
                }
            }
            assert!(ok, "write {i} never went through");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    let mut seen = Vec::new();
    let mut killed = false;
    while seen.len() < N as usize {
        for e in events(&mut w, 1).await {
            seen.push(text(&e.kv.unwrap().value).parse::<u64>().unwrap());
        }
        if !killed && seen.len() >= 30 {
            cluster.kill(0).unwrap();
            killed = true;
        }
    }
    write_all.await.unwrap();
    assert!(killed);
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
    // Nothing more (no duplicate) arrives after the last write.
    let extra = tokio::time::timeout(Duration::from_millis(300), w.next()).await;
    assert!(
        extra.is_err(),
        "unexpected item after the last write: {extra:?}"
    );
}

#[tokio::test]
async fn an_established_watch_gives_up_after_its_bound_when_no_endpoint_is_left() {
    let (mut node, c) = v3common::own_node().await;
    let k = format!("{}k", unique("giveup"));
    let bound = Duration::from_secs(2);
    let mut w = c.watch(&k).give_up_after(bound).await.unwrap();
    c.put(&k, "1").await.unwrap();
    assert!(matches!(item(&mut w).await, WatchItem::Events { .. }));

    let killed = Instant::now();
    node.kill().unwrap();
    let last = tokio::time::timeout(bound + WAIT, w.next())
        .await
        .expect("the watch gives up within its bound")
        .expect("an error item before the end");
    let waited = killed.elapsed();
    let err = last.expect_err("the last item is the failure");
    // One endpoint: its own failure (a refused connection), not a wrapper.
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(
        waited >= bound,
        "gave up after {waited:?}, before {bound:?}"
    );
    assert!(
        waited < bound + Duration::from_secs(3),
        "gave up only after {waited:?}"
    );
    let end = tokio::time::timeout(WAIT, w.next()).await.unwrap();
    assert!(end.is_none(), "the watch ends after its error: {end:?}");
}

#[tokio::test]
async fn a_slow_watch_holds_up_no_other_and_still_sees_every_change_once() {
    let c = client();
    let p = unique("slow");
    const BUF: usize = 8;
    const N: usize = 100;
    let mut slow = c.watch(&p).prefix().buffer(BUF).await.unwrap();
    let mut fast = c.watch(&p).prefix().buffer(BUF).await.unwrap();
    let writer = c.clone();
    let key = format!("{p}k");
    let write_all = tokio::spawn(async move {
        for i in 0..N {
            writer.put(&key, i.to_string()).await.unwrap();
        }
    });
    // The fast watch keeps up with the writer while the slow one is not read at all.
    let seen = tokio::time::timeout(WAIT, values(&mut fast, N))
        .await
        .expect("the fast watch is not held up by the slow one");
    write_all.await.unwrap();
    assert_eq!(seen, (0..N as u64).collect::<Vec<_>>());
    // The slow watch holds no more than its buffer...
    assert_eq!(slow.buffered(), BUF);
    // ...and, read now, yields the exact sequence: paused, then resumed where it stopped.
    assert_eq!(
        values(&mut slow, N).await,
        (0..N as u64).collect::<Vec<_>>()
    );
    for w in [&mut slow, &mut fast] {
        let extra = tokio::time::timeout(Duration::from_millis(300), w.next()).await;
        assert!(extra.is_err(), "unexpected item: {extra:?}");
    }
    // Both go on.
    c.put(format!("{p}k"), N.to_string()).await.unwrap();
    assert_eq!(values(&mut slow, 1).await, [N as u64]);
    assert_eq!(values(&mut fast, 1).await, [N as u64]);
}

#[tokio::test]
async fn a_slow_watch_whose_history_was_compacted_meanwhile_yields_compacted() {
    let (_node, c) = v3common::own_node().await;
    let k = format!("{}k", unique("slowcompacted"));
    let mut w = c.watch(&k).buffer(2).await.unwrap();
    let mut last = 0;
    for i in 0..10 {
        last = c
            .put(&k, i.to_string())
            .await
            .unwrap()
            .header
            .unwrap()
            .revision;
    }
    // Unread, the watch fills its buffer and pauses at the third answer (answers already on
    // their way are not affected by a compaction); the history it then needs is compacted.
    c.compact(last, true).await.unwrap();
    let mut seen = Vec::new();
    let compacted = loop {
        match item(&mut w).await {
            WatchItem::Events { events, .. } => seen.extend(
                events
                    .iter()
                    .map(|e| text(&e.kv.as_ref().unwrap().value).parse::<u64>().unwrap()),
            ),
            WatchItem::Compacted { compact_revision } => break compact_revision,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(compacted, last);
    // What came before is an exact prefix of the writes: nothing skipped silently.
    assert!(!seen.is_empty() && seen.len() < 10, "{seen:?}");
    assert_eq!(seen, (0..seen.len() as u64).collect::<Vec<_>>());
    let end = tokio::time::timeout(WAIT, w.next()).await.unwrap();
    assert!(end.is_none(), "the watch ends after Compacted: {end:?}");
}

#[tokio::test]
async fn a_watch_rides_out_an_outage_shorter_than_its_bound() {
    let (node, c) = v3common::own_node().await;
    let k = format!("{}k", unique("outage"));
    let mut w = c
        .watch(&k)
        .give_up_after(Duration::from_secs(60))
        .await
        .unwrap();
    c.put(&k, "0").await.unwrap();
    assert_eq!(values(&mut w, 1).await, [0]);
    // Down (every endpoint refuses for a while), then back with its data on the same port.
    let node = tokio::task::spawn_blocking(move || {
        let mut node = node;
        node.restart().expect("restart etcd");
        node
    })
    .await
    .unwrap();
    for i in 1..=3 {
        c.put(&k, i.to_string()).await.unwrap();
    }
    assert_eq!(values(&mut w, 3).await, [1, 2, 3]);
    drop(node);
}
