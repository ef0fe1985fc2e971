//! Watches against real etcd: one-shot waits, event actions, exactly-once ordering, the 401 resync,
//! failover mid-watch, cancellation and a few hundred watches at once — on both v2 backends
//! (`http::`, `over_v3::`), except the test whose subject is the long poll's connection.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{unique, Backend};
use futures_util::StreamExt;
use rsetcd::v2::{Action, Client, Response, WatchEvent, WatchStream};
use rsetcd_testkit::Cluster;

async fn next_event(s: &mut WatchStream) -> Response {
    next_event_within(s, Duration::from_secs(10)).await
}

async fn next_event_within(s: &mut WatchStream, bound: Duration) -> Response {
    match tokio::time::timeout(bound, s.next()).await {
        Ok(Some(Ok(WatchEvent::Event(r)))) => r,
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn one_shot_wait_from_history_recursive_and_ancestors(b: Backend) {
    let c = b.client();
    let d = unique("wait");
    let first = c.write(&format!("{d}/x"), "1").await.unwrap();
    c.write(&format!("{d}/x"), "2").await.unwrap();
    // An event still in history comes back at once; X-Etcd-Index is the current index.
    let r = c
        .read(&format!("{d}/x"))
        .wait_index(first.node.modified_index)
        .await
        .unwrap();
    assert_eq!(r.value(), Some("1"));
    assert!(r.etcd_index > r.node.modified_index);
    // Recursive wait on the directory sees a child's change.
    let r = c
        .read(&d)
        .recursive()
        .wait_index(first.node.modified_index)
        .await
        .unwrap();
    assert_eq!(r.node.key, format!("{d}/x"));
    // A wait blocks until the next change (from a known index, so the write cannot slip in before
    // the wait registers; bounded by a timeout).
    let now = c.read(&d).await.unwrap().etcd_index;
    let waiter = {
        let c = c.clone();
        let k = format!("{d}/sub/k");
        tokio::spawn(async move {
            c.read(&k)
                .wait_index(now + 1)
                .timeout(Duration::from_secs(10))
                .await
        })
    };
    let watched = c.write(&format!("{d}/sub/k"), "v").await;
    let r = waiter.await.unwrap().unwrap();
    assert_eq!(r.node.modified_index, watched.unwrap().node.modified_index);
    // Deleting an ancestor wakes a watcher on the child, reporting the ancestor.
    let now = c.read(&d).await.unwrap().etcd_index;
    let waiter = {
        let c = c.clone();
        let k = format!("{d}/sub/k");
        tokio::spawn(async move {
            c.read(&k)
                .wait_index(now + 1)
                .timeout(Duration::from_secs(10))
                .await
        })
    };
    c.rmdir(&format!("{d}/sub")).recursive().await.unwrap();
    let r = waiter.await.unwrap().unwrap();
    assert_eq!(r.action, Action::Delete);
    assert_eq!(r.node.key, format!("{d}/sub"));
    assert!(r.node.dir);
    // A wait with a timeout gives up with a timeout error.
    let err = c
        .read(&unique("silent"))
        .wait()
        .timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(matches!(err, rsetcd::Error::Timeout { .. }), "{err}");
}

async fn every_action_arrives(b: Backend) {
    let c = b.client();
    let d = unique("actions");
    let now = c.read("/").await.unwrap().etcd_index;
    let mut s = c.watch(&d).recursive().after_index(now).stream();
    c.mkdir(&d).await.unwrap();
    assert_eq!(next_event(&mut s).await.action, Action::Create);
    let k = format!("{d}/k");
    let w = c.write(&k, "1").await.unwrap();
    c.compare_and_swap(&k, "2")
        .prev_index(w.node.modified_index)
        .await
        .unwrap();
    c.compare_and_delete(&k).prev_value("2").await.unwrap();
    c.write(&format!("{d}/ttl"), "gone soon")
        .ttl(Duration::from_secs(1))
        .await
        .unwrap();
    let mut actions = Vec::new();
    for _ in 0..5 {
        let e = next_event(&mut s).await;
        actions.push(e.action.clone());
        if e.action == Action::Expire {
            assert_eq!(e.node.key, format!("{d}/ttl"));
            assert_eq!(e.prev_node.unwrap().value.as_deref(), Some("gone soon"));
        }
    }
    assert_eq!(
        actions,
        [
            Action::Set,
            Action::CompareAndSwap,
            Action::CompareAndDelete,
            Action::Set,
            Action::Expire
        ]
    );
    c.write(&format!("{d}/a/b"), "x").await.unwrap();
    next_event(&mut s).await;
    c.rmdir(&d).recursive().await.unwrap();
    let e = next_event(&mut s).await;
    assert_eq!(
        (e.action, e.node.key.as_str(), e.node.dir),
        (Action::Delete, d.as_str(), true)
    );
}

/// A writer makes 3,000 changes (sets, CAS, deletes, TTL expiries); a recursive watch started first
/// yields exactly the writer's sequence, in order, without a gap or a duplicate. The writer stays
/// within a few hundred events of the reader so that the 1,000-event window is not the subject here.
async fn exactly_once_in_order_over_3000_changes(b: Backend) {
    let node = b.own_node().await;
    // Latency is not the subject: on a loaded machine one v3 call of the 3,000 writes (each a
    // read and a transaction over v3) once took longer than the default 5 s.
    let c = b
        .builder()
        .host(node.client_url())
        .request_timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let d = "/ordered";
    let start = c.read("/").await.unwrap().etcd_index;
    let mut s = c.watch(d).recursive().after_index(start).stream();
    let consumed = Arc::new(AtomicU64::new(0));

    let writer = {
        let (c, consumed) = (c.clone(), consumed.clone());
        tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut ttl_keys = 0u64;
            for i in 0..3000u64 {
                let deadline = Instant::now() + Duration::from_secs(30);
                while (acked.len() as u64).saturating_sub(consumed.load(Ordering::SeqCst)) > 300 {
                    assert!(Instant::now() < deadline, "the reader stopped");
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                let k = format!("{d}/k{}", i % 50);
                let r = match i % 6 {
                    0 | 1 => c.write(&k, i.to_string()).await,
                    2 => match c.read(&k).await {
                        Ok(cur) => {
                            c.compare_and_swap(&k, i.to_string())
                                .prev_index(cur.node.modified_index)
                                .await
                        }
                        Err(_) => c.write(&k, i.to_string()).await,
                    },
                    3 => match c.delete(&k).await {
                        Ok(r) => Ok(r),
                        Err(_) => c.write(&k, "recreated").await,
                    },
                    4 if i % 60 == 4 => {
                        ttl_keys += 1;
                        c.write(&format!("{d}/ttl{i}"), "t")
                            .ttl(Duration::from_secs(1))
                            .await
                    }
                    _ => c.create_in_order(&format!("{d}/q"), i.to_string()).await,
                };
                acked.push(r.unwrap().node.modified_index);
            }
            (acked, ttl_keys)
        })
    };

    // The writer acknowledges 3,000 changes, and 50 of its keys (i ≡ 4 mod 60) expire.
    let mut seen = Vec::new();
    let mut expired = 0u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < 3000 || expired < 50 {
        assert!(
            Instant::now() < deadline,
            "timed out after {} events",
            seen.len()
        );
        match tokio::time::timeout(Duration::from_secs(10), s.next()).await {
            Ok(Some(Ok(WatchEvent::Event(e)))) if e.action == Action::Expire => expired += 1,
            Ok(Some(Ok(WatchEvent::Event(e)))) => {
                seen.push(e.node.modified_index);
                consumed.store(seen.len() as u64, Ordering::SeqCst);
            }
            other => panic!("unexpected {other:?} after {} events", seen.len()),
        }
    }
    let (acked, ttl_keys) = writer.await.unwrap();
    assert_eq!(ttl_keys, 50);
    assert_eq!(seen, acked, "the watch saw exactly the writer's sequence");
    assert_eq!(expired, ttl_keys, "every expiry arrived once");
    drop(node);
}

/// The consumer pauses while more than 1,000 events happen; on resume the stream yields one
/// `Resynced` with the current state, then the following events, and the reconciled state equals a
/// fresh read. Over v3 the history is etcd's until compaction (docs/v2-over-v3.md §8.7), and a
/// running v3 watch never falls out of it: there the stream resumes after a compaction
/// (`after_index` of the first event, as a consumer restarting from its saved index does).
async fn history_window_resync(b: Backend) {
    let node = b.own_node().await;
    let c = b.builder().host(node.client_url()).build().unwrap();
    let d = "/resync";
    let now = c.read("/").await.unwrap().etcd_index;
    let mut s = c.watch(d).recursive().after_index(now).stream();
    c.write(&format!("{d}/first"), "1").await.unwrap();
    let first = next_event(&mut s).await;
    assert_eq!(first.node.key, format!("{d}/first"));
    // Paused: the stream is not polled while 1,100 changes happen.
    for i in 0..1100 {
        c.write(&format!("{d}/k{}", i % 40), i.to_string())
            .await
            .unwrap();
    }
    let after = c.write(&format!("{d}/after"), "x").await.unwrap();
    if b == Backend::OverV3 {
        let v3 = rsetcd::v3::Client::builder()
            .host(node.client_url())
            .build()
            .unwrap();
        let revision = rsetcd::v2::over_v3::revision_of(after.etcd_index);
        v3.compact(revision, false).await.unwrap();
        s = c
            .watch(d)
            .recursive()
            .after_index(first.node.modified_index)
            .stream();
    }

    let mut state: BTreeMap<String, String> = BTreeMap::new();
    let mut resyncs = 0;
    match tokio::time::timeout(Duration::from_secs(10), s.next()).await {
        Ok(Some(Ok(WatchEvent::Resynced { snapshot, index }))) => {
            resyncs += 1;
            let snapshot = snapshot.expect("the directory exists");
            assert_eq!(snapshot.etcd_index, index);
            for n in snapshot.node.leaves() {
                state.insert(n.key.clone(), n.value_str().to_string());
            }
        }
        other => panic!("expected a resync, got {other:?}"),
    }
    c.write(&format!("{d}/later"), "y").await.unwrap();
    c.delete(&format!("{d}/k0")).await.unwrap();
    for _ in 0..2 {
        match tokio::time::timeout(Duration::from_secs(10), s.next()).await {
            Ok(Some(Ok(WatchEvent::Event(e)))) => match e.action {
                Action::Delete => {
                    state.remove(&e.node.key);
                }
                _ => {
                    state.insert(e.node.key.clone(), e.node.value_str().to_string());
                }
            },
            Ok(Some(Ok(WatchEvent::Resynced { .. }))) => resyncs += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(resyncs, 1);
    let fresh = c.read(d).recursive().await.unwrap();
    let expected: BTreeMap<String, String> = fresh
        .node
        .leaves()
        .map(|n| (n.key.clone(), n.value_str().to_string()))
        .collect();
    assert_eq!(state, expected);
}

async fn failover_mid_watch_without_gap_or_duplicate(b: Backend) {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(3))
        .await
        .unwrap()
        .unwrap();
    let endpoints = cluster.endpoints();
    let watcher = b
        .builder()
        .endpoints(endpoints.clone())
        .connect_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let writer = b
        .builder()
        .endpoints([endpoints[1].clone(), endpoints[2].clone()])
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let start = writer.read("/").quorum().await.unwrap().etcd_index;
    let mut s = watcher.watch("/fo").recursive().after_index(start).stream();
    let mut acked = Vec::new();
    let mut seen = Vec::new();
    let mut cluster = Some(cluster);
    for i in 0..200 {
        let r = writer
            .write(&format!("/fo/k{}", i % 10), i.to_string())
            .retry_unknown_outcome()
            .await;
        acked.push(r.unwrap().node.modified_index);
        if i % 4 == 0 {
            seen.push(next_event(&mut s).await.node.modified_index);
        }
        if i == 100 {
            // The stream polls the first endpoint: kill it.
            assert_eq!(watcher.endpoints()[0], endpoints[0]);
            let mut c = cluster.take().unwrap();
            cluster = Some(
                tokio::task::spawn_blocking(move || {
                    c.kill(0).unwrap();
                    c
                })
                .await
                .unwrap(),
            );
        }
    }
    while seen.len() < acked.len() {
        seen.push(next_event(&mut s).await.node.modified_index);
    }
    assert_eq!(seen, acked);
    assert_ne!(
        watcher.endpoints()[0],
        endpoints[0],
        "the stream moved to another node"
    );
}

fn watchers(url: &str) -> u64 {
    let raw = common::raw_http(url, "GET", "/v2/stats/store", None);
    let text = String::from_utf8(raw).unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    v["watchers"].as_u64().unwrap()
}

/// HTTP only: its subject is the long poll's HTTP connection, counted by the v2 server's store
/// statistics (a v3 watch is cancelled on its shared stream: `v3_watch`).
#[tokio::test]
async fn dropping_a_stream_cancels_its_poll() {
    let node = tokio::task::spawn_blocking(rsetcd_testkit::Etcd::start)
        .await
        .unwrap()
        .unwrap();
    let url = node.client_url();
    let c = Client::builder().host(&url).build().unwrap();
    c.write("/cancel", "x").await.unwrap();
    let mut streams: Vec<_> = (0..3).map(|_| c.watch("/cancel").stream()).collect();
    // Drive each stream until its long poll is registered on the server (bounded).
    for s in &mut streams {
        let _ = tokio::time::timeout(Duration::from_millis(300), s.next()).await;
    }
    assert_eq!(watchers(&url), 3);
    drop(streams);
    let deadline = Instant::now() + Duration::from_secs(5);
    while watchers(&url) != 0 {
        assert!(Instant::now() < deadline, "the server still has watchers");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn three_hundred_watches_each_get_their_event(b: Backend) {
    let c = b.client();
    let d = unique("many");
    let start = c
        .write(&format!("{d}/start"), "x")
        .await
        .unwrap()
        .etcd_index;
    // Each task's bound runs from its start, through all 300 writes: over v3 each of the 300
    // watches sees every write under the prefix (docs/v2-over-v3.md §8.9), which on a loaded
    // machine took longer than 10 s.
    let mut tasks = Vec::new();
    for i in 0..300 {
        let s = c.watch(&format!("{d}/k{i}")).after_index(start).stream();
        tasks.push(tokio::spawn(async move {
            let mut s = s;
            next_event_within(&mut s, Duration::from_secs(60)).await
        }));
    }
    for i in 0..300 {
        c.write(&format!("{d}/k{i}"), i.to_string()).await.unwrap();
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let e = t.await.unwrap();
        assert_eq!(e.node.key, format!("{d}/k{i}"));
        assert_eq!(e.value(), Some(i.to_string().as_str()));
    }
}

fn blocking_iterator(backend: Backend) {
    let b = backend
        .blocking()
        .host(backend.node().client_url())
        .build()
        .unwrap();
    let d = unique("biter");
    let start = b
        .write(&format!("{d}/a"), "1")
        .send()
        .unwrap()
        .node
        .modified_index;
    b.write(&format!("{d}/b"), "2").send().unwrap();
    let got: Vec<_> = b
        .watch(&d)
        .recursive()
        .after_index(start - 1)
        .iter()
        .take(2)
        .map(|e| match e.unwrap() {
            WatchEvent::Event(r) => r.node.value.unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, ["1", "2"]);
}

async fn silent_polls_are_renewed_and_an_unreachable_cluster_ends_the_stream(b: Backend) {
    let c = b.client();
    let k = unique("idle");
    let start = c.write(&k, "0").await.unwrap().etcd_index;
    // Polls renewed every 150 ms stay correct: the change after several renewals still arrives
    // (over v3 nothing is polled: `idle_timeout` has no meaning there, the event arrives).
    let mut s = c
        .watch(&k)
        .after_index(start)
        .idle_timeout(Duration::from_millis(150))
        .stream();
    let writer = {
        let (c, k) = (c.clone(), k.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(600)).await;
            c.write(&k, "1").await.unwrap().node.modified_index
        })
    };
    let e = next_event(&mut s).await;
    assert_eq!(e.node.modified_index, writer.await.unwrap());

    // Nothing answers: after the give-up bound the stream yields the error and ends.
    let dead = b
        .builder()
        .host(rsetcd_testkit::dead_endpoint().unwrap())
        .connect_timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut s = dead
        .watch("/k")
        .give_up_after(Duration::from_millis(400))
        .stream();
    let item = tokio::time::timeout(Duration::from_secs(5), s.next())
        .await
        .unwrap();
    assert!(
        matches!(item, Some(Err(ref e)) if e.is_connect()),
        "{item:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(
        s.next().await.is_none(),
        "the stream ends after its final error"
    );
}

both_backends! {
    tokio history_window_resync,
    tokio one_shot_wait_from_history_recursive_and_ancestors,
    tokio every_action_arrives,
    tokio three_hundred_watches_each_get_their_event,
    tokio silent_polls_are_renewed_and_an_unreachable_cluster_ends_the_stream,
    multi exactly_once_in_order_over_3000_changes,
    multi failover_mid_watch_without_gap_or_duplicate,
    sync blocking_iterator,
}
