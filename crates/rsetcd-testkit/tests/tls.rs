//! A TLS node: https client URL, readiness without speaking TLS, restart.

use std::net::TcpStream;
use std::time::Duration;

use rsetcd_testkit::certs::TestPki;
use rsetcd_testkit::{Cluster, Etcd};

#[test]
fn tls_node_and_cluster_start_and_restart() {
    let pki = TestPki::generate().unwrap();
    let mut node = Etcd::builder().tls(pki.server_tls()).start().unwrap();
    let url = node.client_url();
    assert_eq!(url, format!("https://127.0.0.1:{}", node.client_port()));
    assert!(TcpStream::connect(("127.0.0.1", node.client_port())).is_ok());
    node.kill().unwrap();
    node.restart().unwrap();
    node.wait_healthy(Duration::from_secs(10)).unwrap();
    assert!(node
        .log_tail(200)
        .contains("serving client traffic securely"));

    let cluster = Cluster::builder(2).tls(pki.server_tls()).start().unwrap();
    assert!(cluster
        .endpoints()
        .iter()
        .all(|e| e.starts_with("https://")));
}
