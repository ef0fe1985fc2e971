//! Shared by the v2-over-v3 integration tests: one real etcd per test binary (without the v2
//! API, as etcd 3.6 runs, or with etcd's emulation), engines under unique prefixes.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use rsetcd::v2::over_v3::{Engine, V2Path};
use rsetcd::v2::Node;
use rsetcd::{Error, EtcdCode};
use rsetcd_testkit::{Etcd, V2Api};

/// The test binary's etcd node without any v2 flag (started on first use).
pub fn node() -> &'static Etcd {
    rsetcd_testkit::shared_with(V2Api::Disabled).expect("start etcd without v2")
}

/// A v3 client for `node`.
pub fn v3(node: &Etcd) -> rsetcd::v3::Client {
    rsetcd::v3::Client::builder()
        .host(node.client_url())
        .build()
        .expect("v3 client")
}

/// A prefix no other test uses.
pub fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/v2o{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An engine on the shared node, under a prefix of its own.
pub fn engine(name: &str) -> Engine {
    Engine::new(v3(node()), &unique(name))
}

/// A node of its own without v2 (killed when dropped) and an engine on it.
pub async fn own_engine(name: &str) -> (Etcd, Engine) {
    let node = tokio::task::spawn_blocking(|| {
        Etcd::builder()
            .v2(V2Api::Disabled)
            .start()
            .expect("start etcd")
    })
    .await
    .expect("start etcd");
    let engine = Engine::new(v3(&node), &unique(name));
    (node, engine)
}

/// The etcd code of an error, with the error shown when there is none.
pub fn code(err: &Error) -> EtcdCode {
    err.code()
        .unwrap_or_else(|| panic!("not an etcd error: {err}"))
}

/// The cause of an etcd error.
pub fn cause(err: &Error) -> String {
    match err {
        Error::Etcd { cause, .. } => cause.clone().unwrap_or_default(),
        other => panic!("not an etcd error: {other}"),
    }
}

/// The current v3 revision of the engine's node.
pub async fn revision(engine: &Engine) -> i64 {
    let resp = engine.client().get("/").await.expect("get");
    resp.header.expect("header").revision
}

/// The v3 key-value of a v2 file or directory, if it exists.
pub async fn kv(engine: &Engine, path: &str, dir: bool) -> Option<rsetcd::v3::KeyValue> {
    let p = V2Path::parse(path).unwrap();
    let key = if dir {
        engine.layout().dir_key(&p)
    } else {
        engine.layout().file_key(&p)
    };
    engine.client().get(key).await.expect("get").kvs.pop()
}

/// How many v3 keys the engine's prefix holds.
pub async fn keys_under_prefix(engine: &Engine) -> i64 {
    let resp = engine
        .client()
        .get(engine.layout().watch_prefix())
        .prefix()
        .count_only()
        .await
        .expect("count");
    resp.count
}

/// The keys of a listing, in order.
pub fn keys(nodes: &[Node]) -> Vec<&str> {
    nodes.iter().map(|n| n.key.as_str()).collect()
}

/// A node tree with every level sorted and TTL fields dropped, for comparing two readers.
pub fn canonical(mut node: Node) -> Node {
    node.expiration = None;
    node.ttl = None;
    node.nodes = node.nodes.into_iter().map(canonical).collect();
    node.nodes.sort_by(|a, b| a.key.cmp(&b.key));
    node
}
