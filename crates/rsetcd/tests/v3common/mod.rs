//! Shared by the v3 integration tests: one real etcd per test binary, unique key prefixes.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use rsetcd::v3::Client;
use rsetcd_testkit::Etcd;

/// The test binary's etcd node (started on first use, killed when the process exits).
pub fn etcd() -> &'static Etcd {
    Etcd::shared().expect("start the shared etcd")
}

/// A v3 client for the shared node.
pub fn client() -> Client {
    Client::builder()
        .host(etcd().client_url())
        .build()
        .expect("client")
}

/// A key prefix no other test uses.
pub fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/v3t{}-{}-{name}/",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The value of a key-value pair as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A node of its own, for tests that would disturb others (compaction, auth, alarms), and a
/// client for it. The node is killed when dropped.
pub async fn own_node() -> (Etcd, Client) {
    own_node_with(|b| b).await
}

/// [`own_node`] with extra settings.
pub async fn own_node_with(
    f: impl FnOnce(rsetcd_testkit::EtcdBuilder) -> rsetcd_testkit::EtcdBuilder + Send + 'static,
) -> (Etcd, Client) {
    let node = tokio::task::spawn_blocking(move || f(Etcd::builder()).start().expect("start etcd"))
        .await
        .expect("start etcd");
    let client = Client::builder()
        .host(node.client_url())
        .build()
        .expect("client");
    (node, client)
}

/// A client without credentials for `node`.
pub fn own_client(node: &Etcd) -> Client {
    Client::builder()
        .host(node.client_url())
        .build()
        .expect("client")
}
