//! Shared by the migration tests: nodes, clients, a keyspace to migrate, and views to compare.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use rsetcd::v2::over_v3::{Engine, ReadOp};
use rsetcd::v2::Node;
use rsetcd_testkit::{Etcd, V2Api};

pub const RSETCD: &str = env!("CARGO_BIN_EXE_rsetcd");

/// A node of its own with the v2 API (or etcd's emulation under `prefix`).
pub async fn node(v2: V2Api) -> Etcd {
    tokio::task::spawn_blocking(move || Etcd::builder().v2(v2).start().expect("start etcd"))
        .await
        .expect("start etcd")
}

pub fn v2(node: &Etcd) -> rsetcd::v2::Client {
    rsetcd::v2::Client::builder()
        .endpoints([node.client_url()])
        .request_timeout(Duration::from_secs(30))
        .build()
        .expect("v2 client")
}

pub fn v3(node: &Etcd) -> rsetcd::v3::Client {
    rsetcd::v3::Client::builder()
        .host(node.client_url())
        .build()
        .expect("v3 client")
}

/// The awkward keys: spaces, URL characters, unicode, hidden names, a 1 MiB value.
pub fn awkward() -> Vec<(String, String)> {
    vec![
        ("/awk/a b c".into(), "spaces".into()),
        ("/awk/?#%&+=".into(), "url characters".into()),
        ("/awk/ünïcødé/ключ/鍵".into(), "unicode ✓".into()),
        ("/awk/_hidden".into(), "hidden file".into()),
        ("/_top/inner".into(), "below a hidden dir".into()),
        ("/awk/big".into(), "x".repeat(1 << 20)),
        ("/awk/empty-value".into(), String::new()),
        ("/n/1/2/3/4/5/6/7/8".into(), "deep".into()),
    ]
}

/// The hidden nodes of [`awkward`], as the migration is told.
pub const HIDDEN: [&str; 2] = ["/awk/_hidden", "/_top"];

/// Writes `files` keys (`/big/d<i>/k<j>`, 100 per directory) with 32 requests in flight, the
/// awkward keys, TTLs (files and a directory), an empty directory.
pub async fn populate(c: &rsetcd::v2::Client, files: usize) {
    let writes = (0..files).map(|i| (format!("/big/d{}/k{}", i / 100, i % 100), format!("v{i}")));
    let results: Vec<_> = stream::iter(writes.chain(awkward()))
        .map(|(k, v)| async move { c.write(&k, v).await })
        .buffer_unordered(32)
        .collect()
        .await;
    for r in results {
        r.expect("write");
    }
    for i in 0..20 {
        c.write(&format!("/ttl/t{i}"), "lives")
            .ttl(Duration::from_secs(60 + i))
            .await
            .expect("ttl");
    }
    c.set_dir("/ttl/dir")
        .ttl(Duration::from_secs(120))
        .await
        .expect("ttl dir");
    c.write("/ttl/dir/child", "inherits").await.expect("child");
    c.write("/ttl/dir/sooner", "own")
        .ttl(Duration::from_secs(40))
        .await
        .expect("child ttl");
    c.mkdir("/empty/dir").await.expect("empty dir");
}

/// A view of a listing: path → (dir, value, seconds left), indexes left out.
pub type View = BTreeMap<String, (bool, Option<String>, Option<i64>)>;

pub fn view(root: &Node) -> View {
    root.walk()
        .filter(|n| n.key != "/")
        .map(|n| (n.key.clone(), (n.dir, n.value.clone(), n.ttl)))
        .collect()
}

/// Compares two views: same paths, kinds and values; TTLs present on both or neither, within 3 s.
pub fn same(a: &View, b: &View, what: &str) {
    let ka: Vec<&String> = a.keys().collect();
    let kb: Vec<&String> = b.keys().collect();
    if ka != kb {
        let only_a: Vec<_> = a.keys().filter(|k| !b.contains_key(*k)).take(10).collect();
        let only_b: Vec<_> = b.keys().filter(|k| !a.contains_key(*k)).take(10).collect();
        panic!(
            "{what}: keys differ; only in the first: {only_a:?}, only in the second: {only_b:?}"
        );
    }
    for (k, (dir, value, ttl)) in a {
        let (dir2, value2, ttl2) = &b[k];
        assert_eq!(dir, dir2, "{what}: {k} kind");
        assert_eq!(value, value2, "{what}: {k} value");
        match (ttl, ttl2) {
            (None, None) => {}
            (Some(x), Some(y)) => assert!((x - y).abs() <= 3, "{what}: {k} ttl {x} vs {y}"),
            other => panic!("{what}: {k} ttl {other:?}"),
        }
    }
}

/// The v2 HTTP view of the source (hidden nodes left out, as v2 lists).
pub async fn source_view(c: &rsetcd::v2::Client) -> View {
    view(&c.read("/").recursive().sorted().await.expect("read").node)
}

/// The engine's view of the copy.
pub async fn engine_view(e: &Engine) -> View {
    view(
        &e.read(&ReadOp::get("/").recursive().sorted())
            .await
            .expect("engine read")
            .node,
    )
}

/// The hidden nodes' values, read by name.
pub async fn hidden_values_v2(c: &rsetcd::v2::Client) -> Vec<String> {
    let mut out = Vec::new();
    for k in ["/awk/_hidden", "/_top/inner"] {
        out.push(
            c.read(k)
                .await
                .expect("hidden")
                .node
                .value_str()
                .to_string(),
        );
    }
    out
}

pub async fn hidden_values_engine(e: &Engine) -> Vec<String> {
    let mut out = Vec::new();
    for k in ["/awk/_hidden", "/_top/inner"] {
        out.push(
            e.read(&ReadOp::get(k))
                .await
                .expect("hidden")
                .node
                .value_str()
                .to_string(),
        );
    }
    out
}
