//! Nodes with the v2 API on, off (no v2 flag at all) and emulated on the v3 keyspace.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use rsetcd_testkit::{Etcd, V2Api};

/// A raw HTTP/1.0 request; the whole answer (head and body).
fn http(url: &str, method: &str, path: &str, body: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The flags the node's process was started with (Linux: /proc/<pid>/cmdline).
fn cmdline(node: &Etcd) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{}/cmdline", node.pid().unwrap())).unwrap();
    raw.split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[test]
fn without_v2_no_v2_flag_is_passed_and_v2_paths_are_404() {
    let node = Etcd::builder().v2(V2Api::Disabled).start().unwrap();
    assert_eq!(node.v2_api(), &V2Api::Disabled);
    let args = cmdline(&node);
    assert!(
        !args.iter().any(|a| a.contains("enable-v2")),
        "a v2 flag was passed: {args:?}"
    );
    let url = node.client_url();
    assert!(http(&url, "GET", "/health", "").contains(r#""health":"true""#));
    let answer = http(&url, "PUT", "/v2/keys/k", "value=v");
    assert!(answer.starts_with("HTTP/1.0 404"), "{answer}");
}

#[test]
fn with_v2_the_flag_is_passed_and_keys_are_served() {
    let node = Etcd::builder().v2(V2Api::Enabled).start().unwrap();
    assert!(cmdline(&node).contains(&"--enable-v2=true".to_string()));
    let answer = http(&node.client_url(), "PUT", "/v2/keys/k", "value=v");
    assert!(answer.starts_with("HTTP/1.0 201"), "{answer}");
}

#[test]
fn the_emulation_writes_under_its_prefix_in_the_v3_keyspace() {
    let node = Etcd::builder().v2v3_prefix("/v2c").start().unwrap();
    let args = cmdline(&node);
    assert!(
        args.contains(&"--experimental-enable-v2v3=/v2c".to_string()),
        "{args:?}"
    );
    let url = node.client_url();
    let answer = http(&url, "PUT", "/v2/keys/a/b", "value=hello");
    assert!(answer.starts_with("HTTP/1.0 201"), "{answer}");
    let out = Command::new(rsetcd_testkit::etcdctl_bin())
        .args([
            "--endpoints",
            &url,
            "get",
            "--prefix",
            "/v2c/",
            "--keys-only",
        ])
        .env("ETCDCTL_API", "3")
        .output()
        .unwrap();
    let keys = String::from_utf8_lossy(&out.stdout);
    assert!(keys.contains("/v2c/003/k//1/a/b"), "{keys}");
    assert!(keys.contains("/v2c/002/k//1/a/"), "{keys}");
}
