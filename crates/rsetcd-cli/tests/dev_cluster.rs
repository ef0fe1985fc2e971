//! `rsetcd dev-cluster` as a child process: it serves on the endpoints it prints, and SIGTERM leaves
//! no etcd process and no temporary directory behind.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RSETCD: &str = env!("CARGO_BIN_EXE_rsetcd");

#[test]
fn dev_cluster_serves_and_cleans_up_on_sigterm() {
    let mut child = Command::new(RSETCD)
        .env("ETCDCTL_API", "2")
        .args(["dev-cluster", "--nodes", "3"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut logs = Vec::new();
    let endpoints = loop {
        let line = lines.next().expect("dev-cluster ended early").unwrap();
        if let Some(log) = line.split("(log: ").nth(1) {
            logs.push(PathBuf::from(log.trim_end_matches(')')));
        }
        if let Some(e) = line.strip_prefix("export ETCDCTL_ENDPOINTS=") {
            break e.to_string();
        }
    };
    assert_eq!(endpoints.split(',').count(), 3);
    assert_eq!(logs.len(), 3);
    let dirs: Vec<PathBuf> = logs
        .iter()
        .map(|l| l.parent().unwrap().to_path_buf())
        .collect();
    assert!(dirs.iter().all(|d| d.exists()));

    let list = Command::new(RSETCD)
        .env("ETCDCTL_API", "2")
        .args(["--endpoints", &endpoints, "member", "list"])
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 3);
    let set = Command::new(RSETCD)
        .env("ETCDCTL_API", "2")
        .args(["--endpoints", &endpoints, "set", "/dev", "ok"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&set.stdout), "ok\n");

    // SAFETY: sending SIGTERM to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "dev-cluster did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    for d in &dirs {
        assert!(!d.exists(), "{} left behind", d.display());
    }
    for e in endpoints.split(',') {
        let addr = e.trim_start_matches("http://");
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "{addr} still serves"
        );
    }
}

/// A fixed port another server holds: dev-cluster fails with etcd's own reason and a non-zero
/// exit, instead of printing an endpoint that is somebody else's.
#[test]
fn dev_cluster_on_a_taken_port_fails_with_the_reason() {
    let other = rsetcd_testkit::Etcd::start().unwrap();
    let taken = other.client_port();
    let out = Command::new(RSETCD)
        .args([
            "dev-cluster",
            "--nodes",
            "1",
            "--base-port",
            &taken.to_string(),
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(!out.status.success(), "{stdout}");
    assert!(!stdout.contains("ETCDCTL_ENDPOINTS"), "{stdout}");
    let first = stderr.lines().next().unwrap_or("");
    assert!(
        first.starts_with("Error:  etcd could not start: listen tcp 127.0.0.1:"),
        "{stderr}"
    );
    assert!(first.ends_with("bind: address already in use"), "{stderr}");
}
