//! The v2-over-v3 engine against real etcd without v2: TTLs as leases (expiry events,
//! refresh without an event, directory TTLs over their subtree), waits and watch streams
//! (waitIndex, recursive, hidden nodes, deletes above the watched key) and error 401 after
//! compaction.

mod v2v3common;

use std::time::Duration;

use rsetcd::v2::over_v3::{DeleteOp, Engine, ReadOp, WaitOp, WriteOp};
use rsetcd::v2::{Action, Response};
use rsetcd::EtcdCode;
use v2v3common::{cause, code, engine, kv, own_engine};

/// Longest wait for an event that must come (TTL expiry included).
const EVENT: Duration = Duration::from_secs(20);

async fn wait(e: &Engine, op: WaitOp) -> Response {
    tokio::time::timeout(EVENT, e.wait(&op))
        .await
        .expect("no event in time")
        .expect("wait")
}

fn spawn_wait(e: &Engine, op: WaitOp) -> tokio::task::JoinHandle<Response> {
    let e = e.clone();
    tokio::spawn(async move { wait(&e, op).await })
}

#[tokio::test]
async fn a_ttl_key_shows_its_time_left_and_expires_with_an_event() {
    let e = engine("ttl");
    let r = e
        .write(&WriteOp::set("/t", "ephemeral").ttl(Duration::from_secs(2)))
        .await
        .unwrap();
    let ttl = r.node.ttl.expect("ttl shown");
    assert!((2..=3).contains(&ttl), "{ttl}");
    assert!(r.node.expiration_time().is_some());
    assert_ne!(kv(&e, "/t", false).await.unwrap().lease, 0, "a lease");
    let got = e.read(&ReadOp::get("/t")).await.unwrap();
    assert!(got.node.ttl.is_some_and(|t| t <= ttl));
    let expired = wait(&e, WaitOp::wait("/t").wait_index(r.etcd_index + 1)).await;
    assert_eq!(expired.action, Action::Expire);
    assert_eq!(expired.node.key, "/t");
    assert!(expired.node.value.is_none());
    assert_eq!(
        expired.prev_node.unwrap().value.as_deref(),
        Some("ephemeral")
    );
    let err = e.read(&ReadOp::get("/t")).await.unwrap_err();
    assert_eq!(code(&err), EtcdCode::KeyNotFound);
}

#[tokio::test]
async fn a_write_without_ttl_removes_it() {
    let e = engine("dropttl");
    let first = WriteOp::set("/u", "1").ttl(Duration::from_secs(30));
    let r = e.write(&first).await.unwrap();
    let lease = kv(&e, "/u", false).await.unwrap().lease;
    assert_ne!(lease, 0);
    let r2 = e.write(&WriteOp::update("/u", "2")).await.unwrap();
    assert!(r2.node.ttl.is_none() && r2.node.expiration.is_none());
    assert!(r2.prev_node.unwrap().ttl.is_some(), "the old node had one");
    assert_eq!(kv(&e, "/u", false).await.unwrap().lease, 0);
    let old = e.client().lease_time_to_live(lease, false).await.unwrap();
    assert_eq!(old.ttl, -1, "the lease left unused was revoked");
    assert!(r2.etcd_index > r.etcd_index);
}

#[tokio::test]
async fn a_refresh_resets_the_ttl_and_wakes_no_watcher() {
    let e = engine("refresh");
    let r1 = e
        .write(&WriteOp::set("/r", "held").ttl(Duration::from_secs(5)))
        .await
        .unwrap();
    let watcher = spawn_wait(&e, WaitOp::wait("/r").wait_index(r1.etcd_index + 1));
    let refreshed = e
        .write(&WriteOp::refresh("/r", Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(refreshed.action, Action::Update);
    assert_eq!(refreshed.node.value.as_deref(), Some("held"));
    assert!(
        refreshed.node.ttl.is_some_and(|t| t > 20),
        "{:?}",
        refreshed.node.ttl
    );
    assert!(refreshed.node.modified_index > r1.node.modified_index);
    assert_eq!(refreshed.node.created_index, r1.node.created_index);
    assert!(refreshed.prev_node.unwrap().ttl.is_some_and(|t| t <= 5));
    let after = e.write(&WriteOp::set("/r", "after")).await.unwrap();
    let event = watcher.await.unwrap();
    assert_eq!(event.action, Action::Set, "the refresh made no event");
    assert_eq!(event.node.value.as_deref(), Some("after"));
    assert_eq!(event.node.modified_index, after.node.modified_index);

    let err = e
        .write(&WriteOp::refresh("/missing", Duration::from_secs(5)))
        .await
        .unwrap_err();
    assert_eq!(code(&err), EtcdCode::KeyNotFound);
    let mut set_refresh = WriteOp::refresh("/r", Duration::from_secs(9));
    set_refresh.prev_exist = None;
    let r = e.write(&set_refresh).await.unwrap();
    assert_eq!((r.action, r.node.value_str()), (Action::Set, "after"));
}

#[tokio::test]
async fn a_directory_ttl_takes_its_subtree_along_and_wakes_watchers_below() {
    let e = engine("dirttl");
    let d = e
        .write(&WriteOp::mkdir("/d").ttl(Duration::from_secs(2)))
        .await
        .unwrap();
    assert!(d.node.dir && d.node.ttl.is_some());
    let x = e.write(&WriteOp::set("/d/x", "1")).await.unwrap();
    assert!(x.node.ttl.is_none(), "no TTL of its own");
    let long = WriteOp::set("/d/s/y", "2").ttl(Duration::from_secs(300));
    let y = e.write(&long).await.unwrap();
    assert!(
        y.node.ttl.is_none(),
        "the directory expires first: its lease is kept"
    );
    let dir_lease = kv(&e, "/d", true).await.unwrap().lease;
    assert_ne!(dir_lease, 0);
    for (path, is_dir) in [("/d/x", false), ("/d/s", true), ("/d/s/y", false)] {
        assert_eq!(
            kv(&e, path, is_dir).await.unwrap().lease,
            dir_lease,
            "{path}"
        );
    }
    let listing = e.read(&ReadOp::get("/d").recursive()).await.unwrap();
    assert!(listing.node.ttl.is_some());
    assert!(listing.node.nodes.iter().all(|n| n.ttl.is_none()));
    let event = wait(&e, WaitOp::wait("/d/s/y").wait_index(y.etcd_index + 1)).await;
    assert_eq!(event.action, Action::Expire);
    assert_eq!(event.node.key, "/d", "woken with the ancestor's key");
    assert!(event.node.dir);
    let err = e.read(&ReadOp::get("/d/x")).await.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::KeyNotFound, "/d".into())
    );
}

#[tokio::test]
async fn changing_a_directory_ttl_moves_its_subtree() {
    let e = engine("movettl");
    e.write(&WriteOp::mkdir("/e").ttl(Duration::from_secs(60)))
        .await
        .unwrap();
    e.write(&WriteOp::set("/e/x", "1")).await.unwrap();
    let own = WriteOp::set("/e/o", "own").ttl(Duration::from_secs(10));
    e.write(&own).await.unwrap();
    let own_lease = kv(&e, "/e/o", false).await.unwrap().lease;
    let gone = e.write(&WriteOp::update_dir("/e", None)).await.unwrap();
    assert!(gone.node.ttl.is_none());
    assert_eq!(kv(&e, "/e", true).await.unwrap().lease, 0);
    assert_eq!(kv(&e, "/e/x", false).await.unwrap().lease, 0);
    assert_eq!(
        kv(&e, "/e/o", false).await.unwrap().lease,
        own_lease,
        "its own TTL stays"
    );
    let back = WriteOp::update_dir("/e", Some(Duration::from_secs(5)));
    let back = e.write(&back).await.unwrap();
    assert!(back.node.ttl.is_some());
    let lease = kv(&e, "/e", true).await.unwrap().lease;
    assert_ne!(lease, 0);
    assert_eq!(kv(&e, "/e/x", false).await.unwrap().lease, lease);
    assert_eq!(
        kv(&e, "/e/o", false).await.unwrap().lease,
        lease,
        "10 s outlives 5 s"
    );
    let refreshed = e
        .write(&WriteOp::refresh("/e", Duration::from_secs(90)))
        .await
        .unwrap();
    assert!(refreshed.node.dir && refreshed.node.ttl.is_some_and(|t| t > 60));
    let new_lease = kv(&e, "/e", true).await.unwrap().lease;
    assert_eq!(kv(&e, "/e/x", false).await.unwrap().lease, new_lease);
    let old = e.client().lease_time_to_live(lease, false).await.unwrap();
    assert_eq!(old.ttl, -1, "the directory's old lease was revoked");
}

#[tokio::test]
async fn waits_from_history_recursive_hidden_and_from_above() {
    let e = engine("waits");
    let r1 = e.write(&WriteOp::set("/w/x", "1")).await.unwrap();
    let r2 = e.write(&WriteOp::set("/w/x", "2")).await.unwrap();
    let first = wait(&e, WaitOp::wait("/w/x").wait_index(r1.etcd_index)).await;
    assert_eq!(first.node.value.as_deref(), Some("1"));
    assert!(
        first.etcd_index >= r2.etcd_index,
        "the index when the watch was registered"
    );
    let second = wait(&e, WaitOp::wait("/w/x").wait_index(r1.etcd_index + 1)).await;
    assert_eq!(second.node.modified_index, r2.node.modified_index);
    let rec = wait(&e, WaitOp::wait("/w").recursive().wait_index(r1.etcd_index)).await;
    assert_eq!(rec.node.key, "/w/x");
    // Not recursive: the changes below /w are skipped; the update of /w itself is not.
    let upd = e.write(&WriteOp::update_dir("/w", None)).await.unwrap();
    let own = wait(&e, WaitOp::wait("/w").wait_index(r1.etcd_index)).await;
    assert_eq!(
        (own.action, own.node.modified_index),
        (Action::Update, upd.node.modified_index)
    );

    let s = e.write(&WriteOp::set("/hw/_s", "s")).await.unwrap();
    e.write(&WriteOp::set("/hw/v", "v")).await.unwrap();
    let seen = wait(&e, WaitOp::wait("/hw").recursive().wait_index(s.etcd_index)).await;
    assert_eq!(seen.node.key, "/hw/v", "hidden nodes are skipped");
    let by_name = wait(&e, WaitOp::wait("/hw/_s").wait_index(s.etcd_index)).await;
    assert_eq!(by_name.node.key, "/hw/_s");

    let k = e.write(&WriteOp::set("/rd/s/k", "k")).await.unwrap();
    let watcher = spawn_wait(&e, WaitOp::wait("/rd/s/k").wait_index(k.etcd_index + 1));
    e.delete(&DeleteOp::delete("/rd").recursive())
        .await
        .unwrap();
    let event = watcher.await.unwrap();
    assert_eq!(
        (event.action, event.node.key.as_str()),
        (Action::Delete, "/rd")
    );
    assert!(event.node.dir);
}

#[tokio::test]
async fn a_watch_stream_yields_every_change_in_order_with_its_action() {
    let e = engine("stream");
    let start = e.write(&WriteOp::mkdir("/s")).await.unwrap();
    let mut events = e
        .watch(
            &WaitOp::wait("/s")
                .recursive()
                .wait_index(start.etcd_index + 1),
        )
        .await
        .unwrap();
    let c = e.write(&WriteOp::create("/s/k", "1")).await.unwrap();
    e.write(&WriteOp::update("/s/k", "2")).await.unwrap();
    let cas = WriteOp::compare_and_swap("/s/k", "3").prev_value("2");
    e.write(&cas).await.unwrap();
    e.write(&WriteOp::set("/s/k", "4")).await.unwrap();
    let cad = DeleteOp::compare_and_delete("/s/k").prev_value("4");
    e.delete(&cad).await.unwrap();
    e.write(&WriteOp::create_in_order("/s/q", "j"))
        .await
        .unwrap();
    e.delete(&DeleteOp::delete("/s/q").recursive())
        .await
        .unwrap();
    let mut seen = Vec::new();
    for _ in 0..7 {
        let next = tokio::time::timeout(EVENT, events.next())
            .await
            .expect("in time");
        let r = next.expect("an event").expect("no error");
        seen.push((r.action.clone(), r.node.key.clone(), r.node.modified_index));
    }
    let actions: Vec<Action> = seen.iter().map(|s| s.0.clone()).collect();
    use Action::*;
    assert_eq!(
        actions,
        [
            Create,
            Update,
            CompareAndSwap,
            Set,
            CompareAndDelete,
            Create,
            Delete
        ]
    );
    assert_eq!(seen[0].2, c.node.modified_index);
    assert!(seen.windows(2).all(|w| w[0].2 < w[1].2), "in index order");
    assert_eq!(seen[6].1, "/s/q");
}

#[tokio::test]
async fn compacted_history_is_error_401() {
    let (_node, e) = own_engine("compact").await;
    let first = e.write(&WriteOp::set("/c", "1")).await.unwrap();
    for v in ["2", "3"] {
        e.write(&WriteOp::set("/c", v)).await.unwrap();
    }
    let last = e.write(&WriteOp::set("/c", "4")).await.unwrap();
    let revision = last.etcd_index as i64 + 1;
    e.client().compact(revision, true).await.unwrap();
    let err = e
        .wait(&WaitOp::wait("/c").wait_index(first.etcd_index))
        .await
        .unwrap_err();
    assert_eq!(code(&err), EtcdCode::EventIndexCleared);
    let expected = format!(
        "the requested history has been cleared [{}/{}]",
        last.etcd_index, first.etcd_index
    );
    assert_eq!(cause(&err), expected);
    let mut events = e
        .watch(&WaitOp::wait("/c").wait_index(first.etcd_index))
        .await
        .unwrap();
    assert!(events.next().await.unwrap().is_err());
    assert!(events.next().await.is_none(), "the stream ends after 401");
    // From the compaction on, history is there again.
    let ok = wait(&e, WaitOp::wait("/c").wait_index(last.etcd_index)).await;
    assert_eq!(ok.node.value.as_deref(), Some("4"));
}
