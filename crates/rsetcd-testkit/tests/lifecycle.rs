//! The test kit against real etcd: start, kill, stop, restart, clusters, members, clean-up.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use rsetcd_testkit::fault::{Fault, FaultServer};
use rsetcd_testkit::{Cluster, Error, Etcd};

/// A raw HTTP/1.0 request; the whole answer (head and body).
fn http(url: &str, method: &str, path: &str, content_type: &str, body: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn get(url: &str, path: &str) -> String {
    http(url, "GET", path, "text/plain", "")
}

fn put(url: &str, key: &str, value: &str) -> String {
    let form = "application/x-www-form-urlencoded";
    http(
        url,
        "PUT",
        &format!("/v2/keys/{key}"),
        form,
        &format!("value={value}"),
    )
}

/// Whether a process with this pid exists (`kill(pid, 0)`).
fn exists(pid: u32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

#[test]
fn single_node_survives_kill_and_restart_with_its_data() {
    let mut node = Etcd::start().unwrap();
    assert_eq!(node.name(), "node1");
    let url = node.client_url();
    assert_eq!(url, format!("http://127.0.0.1:{}", node.client_port()));
    assert!(get(&url, "/health").contains(r#""health":"true""#));
    assert!(put(&url, "k", "v").starts_with("HTTP/1.0 201"));
    assert!(node.is_running());
    let pid = node.pid().unwrap();
    node.kill().unwrap();
    assert!(!exists(pid), "etcd {pid} still there after kill");
    assert!(node.pid().is_none());
    assert!(!node.is_running());
    assert!(matches!(
        node.wait_healthy(Duration::from_secs(1)),
        Err(Error::NotRunning { .. })
    ));
    node.restart().unwrap();
    assert_eq!(node.client_url(), url, "same port after a restart");
    node.wait_healthy(Duration::from_secs(10)).unwrap();
    assert!(get(&url, "/v2/keys/k").contains(r#""value":"v""#));
    assert!(node.log_path().starts_with(node.data_dir()));
    assert!(node.log_tail(1000).contains("etcd"));
    assert!(node.log_tail(3).lines().count() <= 3);

    // A graceful stop, then a restart from a stopped node.
    let pid = node.pid().unwrap();
    node.stop().unwrap();
    assert!(!exists(pid));
    node.restart().unwrap();
    assert!(get(&url, "/v2/keys/k").contains(r#""value":"v""#));
}

#[test]
fn drop_leaves_no_process_and_no_directory() {
    let node = Etcd::start().unwrap();
    let pid = node.pid().unwrap();
    let dir = node.data_dir().to_path_buf();
    assert!(exists(pid) && dir.exists());
    drop(node);
    assert!(!exists(pid), "etcd {pid} still running");
    assert!(!dir.exists(), "{} still there", dir.display());
}

#[test]
fn a_given_data_dir_is_kept_and_reused() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("single");
    let node = Etcd::builder()
        .name("keeper")
        .data_dir(dir.clone())
        .unsafe_no_fsync(true)
        .arg("--snapshot-count=1000")
        .start()
        .unwrap();
    assert_eq!(node.name(), "keeper");
    assert!(put(&node.client_url(), "kept", "yes").starts_with("HTTP/1.0 201"));
    let pid = node.pid().unwrap();
    drop(node);
    assert!(!exists(pid));
    assert!(
        dir.join("data/member").is_dir(),
        "the caller's data is gone"
    );
    let node = Etcd::builder()
        .name("keeper")
        .data_dir(dir)
        .start()
        .unwrap();
    assert!(get(&node.client_url(), "/v2/keys/kept").contains(r#""value":"yes""#));
}

#[test]
fn a_node_that_exits_is_an_error_with_its_log() {
    let err = Etcd::builder().arg("--no-such-flag").start().unwrap_err();
    assert!(matches!(err, Error::Exited { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("node1") && text.contains("no-such-flag"),
        "{text}"
    );
}

#[test]
fn three_node_cluster_loses_and_regains_a_member() {
    let mut cluster = Cluster::start(3).unwrap();
    assert_eq!((cluster.len(), cluster.is_empty()), (3, false));
    let endpoints = cluster.endpoints();
    assert_eq!(endpoints.len(), 3);
    for (i, e) in endpoints.iter().enumerate() {
        assert_eq!(cluster.node(i).name(), format!("n{}", i + 1));
        assert_eq!(*e, cluster.node(i).client_url());
    }
    let members = get(&endpoints[0], "/v2/members");
    assert_eq!(members.matches(r#""name":"n"#).count(), 3, "{members}");

    cluster.kill(2).unwrap();
    assert!(cluster.node(2).pid().is_none());
    cluster.wait_healthy(Duration::from_secs(10)).unwrap(); // the two still running
    assert!(put(&endpoints[1], "c", "2of3").starts_with("HTTP/1.0 201"));
    cluster.restart(2).unwrap();
    cluster.wait_healthy(Duration::from_secs(20)).unwrap();
    assert!(get(&endpoints[2], "/v2/keys/c?quorum=true").contains(r#""value":"2of3""#));

    // All down, then back one by one: the first has no quorum to come back to.
    for i in 0..3 {
        cluster.kill(i).unwrap();
    }
    for i in 0..3 {
        cluster.restart(i).unwrap();
    }
    cluster.wait_healthy(Duration::from_secs(20)).unwrap();
    assert!(get(&endpoints[0], "/v2/keys/c?quorum=true").contains(r#""value":"2of3""#));

    let pids: Vec<u32> = (0..3).map(|i| cluster.node(i).pid().unwrap()).collect();
    let dirs: Vec<_> = (0..3)
        .map(|i| cluster.node(i).data_dir().to_path_buf())
        .collect();
    drop(cluster);
    assert!(pids.iter().all(|p| !exists(*p)));
    assert!(dirs.iter().all(|d| !d.exists()));
}

#[test]
fn a_member_joins_and_is_forgotten() {
    // etcd's strict reconfiguration check refuses new members for seconds after a start.
    let mut cluster = Cluster::builder(1)
        .arg("--strict-reconfig-check=false")
        .start()
        .unwrap();
    let first = cluster.endpoints()[0].clone();
    let pending = cluster.prepare_member().unwrap();
    assert_eq!(pending.name, "n2");
    let added = http(
        &first,
        "POST",
        "/v2/members",
        "application/json",
        &format!(r#"{{"peerURLs":["{}"]}}"#, pending.peer_url),
    );
    assert!(added.starts_with("HTTP/1.0 201"), "{added}");
    let id = added
        .split(r#""id":""#)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string();
    let client_url = pending.client_url.clone();
    let idx = cluster.start_member(pending).unwrap();
    assert_eq!(idx, 1);
    assert_eq!(cluster.endpoints(), [first.clone(), client_url.clone()]);
    assert!(put(&client_url, "joined", "yes").starts_with("HTTP/1.0 201"));

    let removed = http(
        &first,
        "DELETE",
        &format!("/v2/members/{id}"),
        "text/plain",
        "",
    );
    assert!(removed.starts_with("HTTP/1.0 204"), "{removed}");
    let pid = cluster.node(idx).pid().unwrap();
    cluster.forget(idx).unwrap();
    cluster.forget(idx).unwrap();
    assert!(!exists(pid));
    assert_eq!(cluster.len(), 2);
    assert_eq!(cluster.endpoints(), std::slice::from_ref(&first));
    assert!(matches!(
        cluster.kill(idx),
        Err(Error::NoMember { index: 1 })
    ));
    assert!(matches!(cluster.restart(7), Err(Error::NoMember { .. })));
    cluster.wait_healthy(Duration::from_secs(10)).unwrap();
    assert!(get(&first, "/v2/keys/joined").contains(r#""value":"yes""#));
}

#[test]
fn a_cluster_in_a_base_dir_comes_back_with_its_data() {
    let base = tempfile::tempdir().unwrap();
    let cluster = Cluster::builder(3)
        .base_dir(base.path().to_path_buf())
        .unsafe_no_fsync(true)
        .start()
        .unwrap();
    let endpoints = cluster.endpoints();
    assert!(put(&endpoints[0], "dev", "kept").starts_with("HTTP/1.0 201"));
    for i in 0..3 {
        assert_eq!(
            cluster.node(i).data_dir(),
            base.path().join(format!("n{}", i + 1))
        );
    }
    drop(cluster);
    // A second run reuses the data, and so the recorded ports.
    let cluster = Cluster::builder(3)
        .base_dir(base.path().to_path_buf())
        .start()
        .unwrap();
    assert_eq!(cluster.endpoints(), endpoints);
    assert!(get(&endpoints[2], "/v2/keys/dev?quorum=true").contains(r#""value":"kept""#));
}

#[test]
fn fault_server_modes() {
    let s = FaultServer::start(Fault::Respond(b"HTTP/1.0 200 OK\r\n\r\nhi".to_vec())).unwrap();
    assert_eq!(s.url(), format!("http://127.0.0.1:{}", s.port()));
    assert!(get(&s.url(), "/").ends_with("hi"));
    assert!(get(&s.url(), "/").ends_with("hi"));
    assert_eq!(s.connections(), 2);

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
    drop(hole);
    // Dropping the server closes the held connection.
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    assert!(matches!(c.read(&mut buf), Ok(0) | Err(_)));

    let close = FaultServer::start(Fault::CloseImmediately).unwrap();
    let mut c = TcpStream::connect(("127.0.0.1", close.port())).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut out = Vec::new();
    let _ = c.write_all(b"GET / HTTP/1.0\r\n\r\n");
    assert!(matches!(c.read_to_end(&mut out), Ok(0) | Err(_)));
    assert!(out.is_empty());
    assert_eq!(close.connections(), 1);
}

#[test]
fn free_and_dead_ports() {
    let a = rsetcd_testkit::free_port().unwrap();
    let b = rsetcd_testkit::free_port().unwrap();
    assert_ne!(a, b);
    let dead = rsetcd_testkit::dead_endpoint().unwrap();
    let addr = dead.strip_prefix("http://").unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "something listens on {dead}"
    );
}

#[test]
fn a_paused_node_answers_nothing_until_resumed() {
    let node = Etcd::start().unwrap();
    node.pause().unwrap();
    let addr = node.client_url().trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    s.write_all(b"GET /version HTTP/1.0\r\n\r\n").unwrap();
    let mut answer = String::new();
    let err = s
        .read_to_string(&mut answer)
        .expect_err("a frozen node stays silent");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    node.resume().unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.contains("etcdserver"), "{answer}");
}
