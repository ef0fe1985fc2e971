//! `--total-timeout` bounds the whole command (issue 15, bug 5): member sync, connecting and
//! every attempt, also while a member is frozen (SIGSTOP: it accepts connections and answers
//! nothing).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rsetcd_testkit::Cluster;

const RSETCD: &str = env!("CARGO_BIN_EXE_rsetcd");

/// Process start-up and scheduling on a loaded machine.
const MARGIN: Duration = Duration::from_secs(1);

#[test]
fn set_returns_within_the_total_timeout_while_the_first_member_is_frozen() {
    let mut cluster = Cluster::start(3).unwrap();
    let endpoints = cluster.endpoints().join(",");
    let total = Duration::from_secs(3);
    cluster.pause(0).unwrap();
    let start = Instant::now();
    let mut child = Command::new(RSETCD)
        .args(["--endpoints", &endpoints, "--total-timeout", "3s"])
        .args(["set", "/frozen-member", "v"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Bounded: a command that hangs is killed (by its PID) rather than hanging the test.
    let deadline = start + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    cluster.resume(0).unwrap();
    let report = format!(
        "took {took:?} under --total-timeout {total:?}; exit {:?}; stdout {:?}; stderr {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(took <= total + MARGIN, "{report}");
    // Set, or failed as a cluster that did not answer in time fails (etcdctl's exit codes 2,
    // cluster unavailable, or 4 with the write's outcome unknown); not bad arguments (1).
    match out.status.code() {
        Some(0) => assert_eq!(String::from_utf8_lossy(&out.stdout), "v\n", "{report}"),
        Some(2 | 4) => assert!(out.stderr.starts_with(b"Error:"), "{report}"),
        _ => panic!("neither set nor a cluster failure: {report}"),
    }
}
