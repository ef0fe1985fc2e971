//! The v2-over-v3 engine and etcd's own emulation (`--experimental-enable-v2v3=/v2c`, etcd
//! 3.4.23 or the 3.5.1 of `RSETCD_ETCD_BIN`) on the same node: what one writes the other reads,
//! deletes and watches, within what the emulation supports (no TTLs: it refuses them, and on
//! 3.4 a lease expiring under its prefix crashes its watchers; no hidden keys, which it lists).
//! The emulation is spoken to through rsetcd's v2 HTTP client.

mod v2v3common;

use std::time::Duration;

use rsetcd::v2::over_v3::{DeleteOp, Engine, ReadOp, WaitOp, WriteOp};
use rsetcd::v2::{Action, Node};
use rsetcd::EtcdCode;
use rsetcd_testkit::{Etcd, V2Api};
use v2v3common::{canonical, code, keys, v3};

const PREFIX: &str = "/v2c";
const EVENT: Duration = Duration::from_secs(20);

fn node() -> &'static Etcd {
    rsetcd_testkit::shared_with(V2Api::Emulated(PREFIX.into())).expect("start the emulation")
}

/// The engine, under the emulation's prefix.
fn engine() -> Engine {
    Engine::new(v3(node()), PREFIX)
}

/// A v2 HTTP client of the emulation.
fn http() -> rsetcd::v2::Client {
    rsetcd::v2::Client::builder()
        .endpoints([node().client_url()])
        .build()
        .expect("v2 client")
}

/// A directory no other test uses.
fn dir(name: &str) -> String {
    format!("/{name}-{}", std::process::id())
}

/// A wait through the emulation, in a task of its own.
fn http_wait(
    h: &rsetcd::v2::Client,
    key: &str,
    recursive: bool,
    index: u64,
) -> tokio::task::JoinHandle<rsetcd::Result<rsetcd::v2::Response>> {
    let (h, key) = (h.clone(), key.to_string());
    tokio::spawn(async move {
        let read = h.read(&key);
        let read = if recursive { read.recursive() } else { read };
        read.wait().wait_index(index).timeout(EVENT).await
    })
}

async fn both_read(e: &Engine, h: &rsetcd::v2::Client, path: &str) -> (Node, Node) {
    let ours = e
        .read(&ReadOp::get(path).recursive().sorted())
        .await
        .unwrap();
    let theirs = h.read(path).recursive().sorted().await.unwrap();
    (canonical(ours.node), canonical(theirs.node))
}

#[tokio::test]
async fn what_the_engine_writes_the_emulation_reads() {
    let (e, h) = (engine(), http());
    let d = dir("engine-writes");
    let set = e
        .write(&WriteOp::set(&format!("{d}/a/b"), "1"))
        .await
        .unwrap();
    e.write(&WriteOp::mkdir(&format!("{d}/empty")))
        .await
        .unwrap();
    e.write(&WriteOp::create(&format!("{d}/c"), "x"))
        .await
        .unwrap();
    let cas = WriteOp::compare_and_swap(&format!("{d}/c"), "y").prev_value("x");
    e.write(&cas).await.unwrap();
    e.write(&WriteOp::set(&format!("{d}/f"), "file"))
        .await
        .unwrap();
    e.write(&WriteOp::set_dir(&format!("{d}/f"))).await.unwrap();
    e.write(&WriteOp::set(&format!("{d}/sp ace/ké?y"), "a&b=c"))
        .await
        .unwrap();
    for job in ["j1", "j2"] {
        e.write(&WriteOp::create_in_order(&format!("{d}/q"), job))
            .await
            .unwrap();
    }
    let (ours, theirs) = both_read(&e, &h, &d).await;
    assert_eq!(ours, theirs);
    assert_eq!(theirs.nodes.len(), 6, "{theirs:?}");
    let file = h.read(&format!("{d}/a/b")).await.unwrap();
    assert_eq!(file.node, set.node, "same value and indexes");
    let queue = h.read(&format!("{d}/q")).sorted().await.unwrap();
    let values: Vec<&str> = queue.node.nodes.iter().map(|n| n.value_str()).collect();
    assert_eq!(values, ["j1", "j2"], "in-order keys in creation order");
    // The emulation's conditions hold on what the engine wrote.
    let err = h.create(&format!("{d}/c"), "z").await.unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::NodeExist));
    let by_index = h
        .compare_and_swap(&format!("{d}/a/b"), "2")
        .prev_index(set.node.modified_index)
        .await
        .unwrap();
    assert_eq!(by_index.action, Action::CompareAndSwap);
}

#[tokio::test]
async fn what_the_emulation_writes_the_engine_reads() {
    let (e, h) = (engine(), http());
    let d = dir("emulation-writes");
    let set = h.write(&format!("{d}/x/y"), "1").await.unwrap();
    h.mkdir(&format!("{d}/empty")).await.unwrap();
    h.create(&format!("{d}/c"), "x").await.unwrap();
    h.update(&format!("{d}/c"), "y").await.unwrap();
    let c = h
        .compare_and_swap(&format!("{d}/c"), "z")
        .prev_value("y")
        .await
        .unwrap();
    let (ours, theirs) = both_read(&e, &h, &d).await;
    assert_eq!(ours, theirs);
    assert_eq!(
        keys(&ours.nodes),
        [format!("{d}/c"), format!("{d}/empty"), format!("{d}/x")]
    );
    let file = e.read(&ReadOp::get(&format!("{d}/x/y"))).await.unwrap();
    assert_eq!(file.node, set.node);
    // The engine's conditions hold on what the emulation wrote.
    let cas = WriteOp::compare_and_swap(&format!("{d}/c"), "w").prev_index(c.node.modified_index);
    let swapped = e.write(&cas).await.unwrap();
    assert_eq!(swapped.prev_node.unwrap().value.as_deref(), Some("z"));
    let err = e
        .write(&WriteOp::mkdir(&format!("{d}/empty")))
        .await
        .unwrap_err();
    assert_eq!(code(&err), EtcdCode::NodeExist);
}

#[tokio::test]
async fn deletes_cross_over_both_ways() {
    let (e, h) = (engine(), http());
    let d = dir("deletes");
    e.write(&WriteOp::set(&format!("{d}/ours"), "1"))
        .await
        .unwrap();
    h.write(&format!("{d}/theirs/deep/k"), "2").await.unwrap();
    let del = h.delete(&format!("{d}/ours")).await.unwrap();
    assert_eq!(del.prev_node.unwrap().value.as_deref(), Some("1"));
    let err = e
        .read(&ReadOp::get(&format!("{d}/ours")))
        .await
        .unwrap_err();
    assert_eq!(code(&err), EtcdCode::KeyNotFound);
    let rec = e
        .delete(&DeleteOp::delete(&format!("{d}/theirs")).recursive())
        .await
        .unwrap();
    assert!(rec.node.dir);
    let err = h.read(&format!("{d}/theirs/deep/k")).await.unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::KeyNotFound));
    e.write(&WriteOp::set(&format!("{d}/sub/k"), "3"))
        .await
        .unwrap();
    h.delete(&format!("{d}/sub")).recursive().await.unwrap();
    let left = e.read(&ReadOp::get(&d).recursive()).await.unwrap();
    assert!(left.node.nodes.is_empty(), "{:?}", left.node.nodes);
}

#[tokio::test]
async fn the_engine_watches_what_the_emulation_writes() {
    let (e, h) = (engine(), http());
    let d = dir("engine-watches");
    let start = h.mkdir(&d).await.unwrap();
    let mut events = e
        .watch(
            &WaitOp::wait(&d)
                .recursive()
                .wait_index(start.etcd_index + 1),
        )
        .await
        .unwrap();
    h.write(&format!("{d}/new/deep"), "1").await.unwrap();
    h.update(&format!("{d}/new/deep"), "2").await.unwrap();
    h.compare_and_swap(&format!("{d}/new/deep"), "3")
        .prev_value("2")
        .await
        .unwrap();
    h.compare_and_delete(&format!("{d}/new/deep"))
        .prev_value("3")
        .await
        .unwrap();
    h.write(&format!("{d}/gone/k"), "x").await.unwrap();
    h.delete(&format!("{d}/gone")).recursive().await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..6 {
        let next = tokio::time::timeout(EVENT, events.next())
            .await
            .expect("in time");
        let r = next.expect("an event").expect("no error");
        seen.push((r.action, r.node.key));
    }
    let deep = format!("{d}/new/deep");
    let expected = [
        (Action::Set, deep.clone()),
        (Action::Update, deep.clone()),
        (Action::CompareAndSwap, deep.clone()),
        (Action::CompareAndDelete, deep),
        (Action::Set, format!("{d}/gone/k")),
        (Action::Delete, format!("{d}/gone")),
    ];
    assert_eq!(
        seen, expected,
        "the node written, not its new parents; deletes from the top"
    );
}

#[tokio::test]
async fn the_emulation_watches_what_the_engine_writes() {
    let (e, h) = (engine(), http());
    let d = dir("emulation-watches");
    let start = e.write(&WriteOp::mkdir(&d)).await.unwrap();
    let key = format!("{d}/k");
    let waiter = http_wait(&h, &key, false, start.etcd_index + 1);
    let set = e.write(&WriteOp::set(&key, "v")).await.unwrap();
    let event = waiter.await.unwrap().unwrap();
    assert_eq!(event.action, Action::Set);
    assert_eq!(event.node, set.node);

    // The emulation reports from one index early (see below): +2 waits for the next change.
    let waiter = http_wait(&h, &d, true, set.etcd_index + 2);
    let del = e.delete(&DeleteOp::delete(&key)).await.unwrap();
    let event = waiter.await.unwrap().unwrap();
    assert_eq!(
        (event.action, event.node.key),
        (Action::Delete, key.clone())
    );
    assert_eq!(event.node.modified_index, del.node.modified_index);
}

/// etcd's emulation starts a wait one index early: `waitIndex=N` reports the change at index
/// N - 1 (it watches from revision N, which is index N - 1). The engine does not.
#[tokio::test]
async fn the_emulation_waits_one_index_early_and_the_engine_does_not() {
    // A node of its own: no other write comes between the two below.
    let node = tokio::task::spawn_blocking(|| {
        Etcd::builder()
            .v2(V2Api::Emulated(PREFIX.into()))
            .start()
            .expect("start the emulation")
    })
    .await
    .unwrap();
    let e = Engine::new(v3(&node), PREFIX);
    let h = rsetcd::v2::Client::builder()
        .endpoints([node.client_url()])
        .build()
        .unwrap();
    let first = e.write(&WriteOp::set("/k", "1")).await.unwrap();
    let second = e.write(&WriteOp::set("/k", "2")).await.unwrap();
    let index = second.node.modified_index;
    assert_eq!(first.node.modified_index + 1, index);
    let theirs = h
        .read("/k")
        .wait()
        .wait_index(index)
        .timeout(EVENT)
        .await
        .unwrap();
    assert_eq!(
        theirs.node.modified_index, first.node.modified_index,
        "one early"
    );
    let ours = e.wait(&WaitOp::wait("/k").wait_index(index)).await.unwrap();
    assert_eq!(ours.node.modified_index, index);
}
