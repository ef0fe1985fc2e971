//! The v2 client's backend choice against real etcd: `Auto` on a node with v2 and on one
//! without (and a probe that decides nothing), the member API over v3, the APIs that have no
//! v3 counterpart, and a call's own timeout over v3.

mod common;

use std::time::Duration;

use common::{raw_http, unique};
use rsetcd::v2::over_v3::{Layout, V2Path};
use rsetcd::v2::{Client, V2Backend};
use rsetcd::Error;
use rsetcd_testkit::{Etcd, Proxy, V2Api};

const PREFIX: &str = "/v2auto";

async fn node(v2: V2Api) -> Etcd {
    tokio::task::spawn_blocking(move || Etcd::builder().v2(v2).start())
        .await
        .unwrap()
        .unwrap()
}

fn auto(url: &str) -> Client {
    Client::builder()
        .host(url)
        .v2_backend(V2Backend::auto(PREFIX))
        .build()
        .unwrap()
}

/// The v3 value of the v2 file `key` under `PREFIX`, if there is one.
async fn v3_value(url: &str, key: &str) -> Option<Vec<u8>> {
    let v3 = rsetcd::v3::Client::builder().host(url).build().unwrap();
    let layout = Layout::new(PREFIX);
    let kvs = v3
        .get(layout.file_key(&V2Path::parse(key).unwrap()))
        .await
        .unwrap()
        .kvs;
    kvs.into_iter().next().map(|kv| kv.value.to_vec())
}

#[tokio::test]
async fn auto_uses_http_where_v2_is_served() {
    let node = node(V2Api::Enabled).await;
    let url = node.client_url();
    let c = auto(&url);
    let k = unique("auto-http");
    let r = c.write(&k, "in the v2 store").await.unwrap();
    assert!(r.raft_index.is_some(), "a v2 HTTP answer has X-Raft-Index");
    let raw = String::from_utf8(raw_http(&url, "GET", &format!("/v2/keys{k}"), None)).unwrap();
    assert!(raw.contains("in the v2 store"), "{raw}");
    assert_eq!(
        v3_value(&url, &k).await,
        None,
        "nothing under the v3 prefix"
    );
    // The v2-only APIs are there.
    assert!(c.store_stats().await.is_ok());
}

#[tokio::test]
async fn auto_uses_v3_where_v2_is_not_served() {
    let node = node(V2Api::Disabled).await;
    let url = node.client_url();
    let raw = String::from_utf8(raw_http(&url, "GET", "/v2/keys/", None)).unwrap();
    assert!(
        raw.contains("404 page not found"),
        "what the probe sees: {raw}"
    );
    let c = auto(&url);
    let k = unique("auto-v3");
    let r = c.write(&k, "under the prefix").await.unwrap();
    assert!(r.raft_index.is_none(), "a v3 header has no raft index");
    assert_eq!(
        v3_value(&url, &k).await.as_deref(),
        Some(&b"under the prefix"[..])
    );
    // Clones share the decision (and the engine).
    let clone = c.clone();
    assert_eq!(
        clone.read(&k).await.unwrap().value(),
        Some("under the prefix")
    );
    // The blocking face gets the same.
    let url2 = url.clone();
    let k2 = k.clone();
    let value = tokio::task::spawn_blocking(move || {
        let b = rsetcd::v2::blocking::Client::builder()
            .host(url2)
            .v2_backend(V2Backend::auto(PREFIX))
            .build()
            .unwrap();
        b.read(&k2).send().unwrap().node.value
    })
    .await
    .unwrap();
    assert_eq!(value.as_deref(), Some("under the prefix"));
}

#[tokio::test]
async fn a_probe_that_reaches_nothing_decides_nothing() {
    let port = rsetcd_testkit::free_port().unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let c = Client::builder()
        .host(&url)
        .connect_timeout(Duration::from_millis(200))
        .v2_backend(V2Backend::auto(PREFIX))
        .build()
        .unwrap();
    let err = c.read("/k").await.unwrap_err();
    assert!(err.is_connect(), "{err}");
    // A node without v2 comes up on that address: the next call probes again and goes over v3.
    let _node = tokio::task::spawn_blocking(move || {
        Etcd::builder()
            .v2(V2Api::Disabled)
            .client_port(port)
            .start()
    })
    .await
    .unwrap()
    .unwrap();
    let k = unique("late");
    let r = c.write(&k, "v").await.unwrap();
    assert!(r.raft_index.is_none(), "over v3");
    assert!(v3_value(&url, &k).await.is_some());
}

#[tokio::test]
async fn members_map_to_the_v3_cluster_api_and_v2_only_apis_say_so() {
    let node = node(V2Api::Disabled).await;
    let url = node.client_url();
    let c = Client::builder()
        .host(&url)
        .v2_backend(V2Backend::over_v3(PREFIX))
        .build()
        .unwrap();
    let members = c.members().await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].client_urls, [url.as_str()]);
    let leader = c.leader().await.unwrap();
    assert_eq!(leader.id, members[0].id);
    assert_eq!(c.sync_members().await.unwrap(), [url.as_str()]);
    assert_eq!(c.endpoints(), [url.as_str()]);
    // `health` and `version` are not v2's: served by every etcd 3, over HTTP.
    assert!(c.health().await.unwrap());
    assert!(!c.version_server().await.unwrap().is_empty());
    for err in [
        c.self_stats().await.map(drop).unwrap_err(),
        c.store_stats().await.map(drop).unwrap_err(),
        c.auth().status().await.map(drop).unwrap_err(),
        c.auth().users().await.map(drop).unwrap_err(),
    ] {
        assert!(matches!(err, Error::Unsupported(_)), "{err}");
    }
}

#[tokio::test]
async fn a_calls_own_timeout_bounds_the_whole_operation_over_v3() {
    let node = node(V2Api::Disabled).await;
    let proxy = Proxy::start(&node.client_url()).unwrap();
    let c = Client::builder()
        .host(proxy.url())
        .v2_backend(V2Backend::over_v3(PREFIX))
        .build()
        .unwrap();
    let k = unique("timeout");
    c.write(&k, "1").await.unwrap();
    proxy.freeze();
    let started = std::time::Instant::now();
    // Frozen before the write's first read: it never sent its transaction.
    let err = c
        .write(&k, "2")
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let err = c
        .read(&k)
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "each within its own timeout"
    );
    proxy.thaw();
    assert_eq!(c.read(&k).await.unwrap().value(), Some("1"));
}
