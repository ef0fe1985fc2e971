//! The blocking face: from a plain thread, and from inside a tokio runtime without panicking —
//! on both v2 backends (`http::`, `over_v3::`).

mod common;

use std::time::Duration;

use common::{unique, Backend};
use rsetcd::v2::blocking::Client;
use rsetcd::v2::Action;
use rsetcd::EtcdCode;

fn client(b: Backend) -> Client {
    b.blocking().host(b.node().client_url()).build().unwrap()
}

fn plain_thread_usage(b: Backend) {
    let c = client(b);
    let k = unique("blocking");
    c.write(&k, "Hello world").send().unwrap();
    assert_eq!(c.read(&k).send().unwrap().value(), Some("Hello world"));
    let r = c
        .write(&k, "2")
        .ttl(Duration::from_secs(30))
        .send()
        .unwrap();
    assert_eq!(r.node.ttl, Some(30));
    let r = c.compare_and_swap(&k, "3").prev_value("2").send().unwrap();
    assert_eq!(r.action, Action::CompareAndSwap);
    let err = c
        .compare_and_delete(&k)
        .prev_value("nope")
        .send()
        .unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::TestFailed));
    c.delete(&k).send().unwrap();
    let d = unique("bdir");
    c.mkdir(&d).send().unwrap();
    c.create_in_order(&d, "job").send().unwrap();
    c.rmdir(&d).recursive().send().unwrap();
}

fn clones_share_and_threads_work(b: Backend) {
    let c = client(b);
    let k = unique("threads");
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let c = c.clone();
            let k = format!("{k}/{i}");
            std::thread::spawn(move || c.write(&k, "v").send().unwrap())
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(c.read(&k).send().unwrap().node.nodes.len(), 4);
}

async fn inside_a_runtime_it_blocks_without_panicking(b: Backend) {
    let c = client(b);
    let k = unique("in-runtime");
    c.write(&k, "v").send().unwrap();
    assert_eq!(c.read(&k).send().unwrap().value(), Some("v"));
    drop(c); // dropping inside an async context must not panic either
}

async fn inside_a_current_thread_runtime(b: Backend) {
    let c = client(b);
    let k = unique("in-ct-runtime");
    c.write(&k, "v").send().unwrap();
    assert_eq!(c.as_async().read(&k).await.unwrap().value(), Some("v"));
}

both_backends! {
    sync plain_thread_usage,
    sync clones_share_and_threads_work,
    tokio inside_a_runtime_it_blocks_without_panicking,
    tokio inside_a_current_thread_runtime,
}
