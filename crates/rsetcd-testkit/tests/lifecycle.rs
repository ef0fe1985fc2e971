//! The test kit against real etcd: start, kill, restart, clusters, clean-up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rsetcd_testkit::fault::{Fault, FaultServer};
use rsetcd_testkit::{Cluster, Etcd};

fn http(url: &str, method: &str, path: &str, body: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
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

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.rsplit_once(") ").unwrap().1.starts_with('Z'))
        .unwrap_or(false)
}

#[test]
fn single_node_survives_kill_and_restart_with_its_data() {
    let mut node = Etcd::start().unwrap();
    let url = node.client_url();
    assert!(http(&url, "GET", "/health", "").contains("\"true\""));
    assert!(http(&url, "PUT", "/v2/keys/k", "value=v").starts_with("HTTP/1.0 201"));
    let pid = node.pid().unwrap();
    node.kill().unwrap();
    assert!(!alive(pid));
    assert!(node.pid().is_none());
    node.restart().unwrap();
    assert_eq!(node.client_url(), url, "same port after a restart");
    node.wait_healthy(Duration::from_secs(10)).unwrap();
    assert!(http(&url, "GET", "/v2/keys/k", "").contains("\"value\":\"v\""));
}

#[test]
fn drop_leaves_no_process_and_no_directory() {
    let node = Etcd::start().unwrap();
    let pid = node.pid().unwrap();
    let dir = node.data_dir().to_path_buf();
    assert!(alive(pid) && dir.exists());
    drop(node);
    assert!(!alive(pid), "etcd {pid} still running");
    assert!(!dir.exists(), "{} still there", dir.display());
}

#[test]
fn three_node_cluster_loses_and_regains_a_member() {
    let mut cluster = Cluster::start(3).unwrap();
    assert_eq!(cluster.endpoints().len(), 3);
    let members = http(&cluster.endpoints()[0], "GET", "/v2/members", "");
    assert_eq!(members.matches("\"name\":\"n").count(), 3, "{members}");
    cluster.kill(2).unwrap();
    cluster
        .node(0)
        .wait_healthy(Duration::from_secs(10))
        .unwrap();
    cluster
        .node(1)
        .wait_healthy(Duration::from_secs(10))
        .unwrap();
    assert!(
        http(&cluster.endpoints()[1], "PUT", "/v2/keys/c", "value=2of3")
            .starts_with("HTTP/1.0 201")
    );
    cluster.restart(2).unwrap();
    cluster.wait_healthy(Duration::from_secs(20)).unwrap();
    let pids: Vec<u32> = (0..3).map(|i| cluster.node(i).pid().unwrap()).collect();
    drop(cluster);
    assert!(pids.iter().all(|p| !alive(*p)));
}

#[test]
fn fault_server_modes() {
    let s = FaultServer::start(Fault::Respond(b"HTTP/1.0 200 OK\r\n\r\nhi".to_vec())).unwrap();
    assert!(http(&s.url(), "GET", "/", "").ends_with("hi"));
    assert_eq!(s.connections(), 1);
    let hole = FaultServer::start(Fault::BlackHole).unwrap();
    let mut c = TcpStream::connect(("127.0.0.1", hole.port())).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    c.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut buf = [0u8; 8];
    let err = c.read(&mut buf).unwrap_err();
    assert!(matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
}
