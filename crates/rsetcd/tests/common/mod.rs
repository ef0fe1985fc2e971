//! Shared by the integration tests: one real etcd per test binary, unique key prefixes.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};

use rsetcd::v2::Client;
use rsetcd_testkit::Etcd;

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
