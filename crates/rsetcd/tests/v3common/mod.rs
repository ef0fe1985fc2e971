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
