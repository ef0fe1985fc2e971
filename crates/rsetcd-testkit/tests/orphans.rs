//! A test process killed outright (no destructors, no exit handlers) takes its etcd with it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rsetcd_testkit::Etcd;

const HELPER: &str = "RSETCD_TESTKIT_ORPHAN_HELPER";

/// Alive and not a zombie (a killed orphan may wait a moment to be reaped).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
        .unwrap_or(false)
}

/// Run by `killed_test_process_leaves_no_etcd` in a child process: starts a node, says where it
/// is, then waits to be killed.
#[test]
fn orphan_helper() {
    if std::env::var_os(HELPER).is_none() {
        return;
    }
    let node = Etcd::start().unwrap();
    println!("PID {} {}", node.pid().unwrap(), node.data_dir().display());
    std::thread::sleep(Duration::from_secs(30));
}

#[test]
fn killed_test_process_leaves_no_etcd() {
    let mut helper = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "orphan_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = BufReader::new(helper.stdout.take().unwrap());
    // The harness prints `test orphan_helper ... ` before the helper's own line.
    let line = out
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.split_once("PID ").map(|(_, rest)| rest.to_string()))
        .expect("the helper started no node");
    let mut words = line.split_whitespace();
    let pid: u32 = words.next().unwrap().parse().unwrap();
    let dir = words.next().unwrap().to_string();
    assert!(alive(pid));
    helper.kill().unwrap(); // SIGKILL: no Drop, no atexit
    helper.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !alive(pid),
        "etcd {pid} outlived the process that started it"
    );
}
