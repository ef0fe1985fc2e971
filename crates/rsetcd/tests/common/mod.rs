//! Shared by the integration tests: one real etcd per test binary, unique key prefixes.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use rsetcd::v2::{Client, V2Backend};
use rsetcd_testkit::{Etcd, EtcdBuilder, V2Api};

/// The test binary's etcd node (started on first use, killed when the process exits).
pub fn etcd() -> &'static Etcd {
    Etcd::shared().expect("start the shared etcd")
}

/// An async client for the shared node.
pub fn client() -> Client {
    Client::builder()
        .host(etcd().client_url())
        .build()
        .expect("client")
}

/// The backend a test of the v2 suite runs on: each such test is written once, as
/// `fn name(b: Backend)`, and [`both_backends!`] makes it a test in `http::` and in
/// `over_v3::` (select one half with a filter: `cargo test --test keys over_v3::`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// etcd's v2 HTTP API, on the binary's shared node (v2 on unless `$RSETCD_ETCD_V2` says).
    Http,
    /// The v2 data model over the v3 API ([`V2Backend::OverV3`] under
    /// [`DEFAULT_V3_PREFIX`](rsetcd::v2::DEFAULT_V3_PREFIX)), on a shared node without v2,
    /// as etcd 3.6 runs.
    OverV3,
}

impl Backend {
    /// The client setting.
    pub fn v2_backend(self) -> V2Backend {
        match self {
            Backend::Http => V2Backend::Http,
            Backend::OverV3 => V2Backend::over_v3(rsetcd::v2::DEFAULT_V3_PREFIX),
        }
    }

    /// The binary's shared node for this backend.
    pub fn node(self) -> &'static Etcd {
        match self {
            Backend::Http => etcd(),
            Backend::OverV3 => {
                rsetcd_testkit::shared_with(V2Api::Disabled).expect("start etcd without v2")
            }
        }
    }

    /// A builder for a node of a test's own: without v2 for the v3 backend.
    pub fn node_builder(self) -> EtcdBuilder {
        match self {
            Backend::Http => Etcd::builder(),
            Backend::OverV3 => Etcd::builder().v2(V2Api::Disabled),
        }
    }

    /// A node of a test's own (killed when dropped).
    pub async fn own_node(self) -> Etcd {
        let builder = self.node_builder();
        tokio::task::spawn_blocking(move || builder.start())
            .await
            .expect("start etcd")
            .expect("start etcd")
    }

    /// An async client for the shared node.
    pub fn client(self) -> Client {
        self.builder()
            .host(self.node().client_url())
            .build()
            .expect("client")
    }

    /// A client builder with this backend.
    pub fn builder(self) -> rsetcd::ClientBuilder<Client> {
        Client::builder().v2_backend(self.v2_backend())
    }

    /// A blocking client builder with this backend.
    pub fn blocking(self) -> rsetcd::ClientBuilder<rsetcd::v2::blocking::Client> {
        rsetcd::v2::blocking::Client::builder().v2_backend(self.v2_backend())
    }
}

/// Makes each `fn name(b: Backend)` listed a test twice: `http::name` and `over_v3::name`.
/// Kinds: `tokio` (`#[tokio::test]`), `multi` (two worker threads), `sync` (`#[test]`).
#[macro_export]
macro_rules! both_backends {
    ($($kind:ident $name:ident),* $(,)?) => {
        mod http {
            $($crate::both_backends!(@one $kind $name Http);)*
        }
        mod over_v3 {
            $($crate::both_backends!(@one $kind $name OverV3);)*
        }
    };
    (@one tokio $name:ident $b:ident) => {
        #[tokio::test]
        async fn $name() {
            super::$name($crate::common::Backend::$b).await
        }
    };
    (@one multi $name:ident $b:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            super::$name($crate::common::Backend::$b).await
        }
    };
    (@one sync $name:ident $b:ident) => {
        #[test]
        fn $name() {
            super::$name($crate::common::Backend::$b)
        }
    };
}

/// A key prefix no other test uses.
pub fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/t{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sends a raw HTTP/1.0 request and returns the whole raw answer (status line, headers, body).
pub fn raw_http(url: &str, method: &str, path: &str, form: Option<&str>) -> Vec<u8> {
    raw_request(
        url,
        method,
        path,
        "application/x-www-form-urlencoded",
        form.unwrap_or(""),
    )
}

/// Sends a raw HTTP/1.0 request with a JSON body and returns the whole raw answer.
pub fn raw_json(url: &str, method: &str, path: &str, json: &str) -> Vec<u8> {
    raw_request(url, method, path, "application/json", json)
}

fn raw_request(url: &str, method: &str, path: &str, content_type: &str, body: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).expect("write");
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("read");
    out
}
