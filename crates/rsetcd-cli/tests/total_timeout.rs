//! `--total-timeout` bounds the whole command (issue 15, bug 5): member sync, connecting and
//! every attempt, also while a member is frozen (SIGSTOP: it accepts connections and answers
//! nothing).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rsetcd_testkit::Cluster;

const RSETCD: &str = env!("CARGO_BIN_EXE_rsetcd");

/// Process start-up and scheduling on a loaded machine.
const MARGIN: Duration = Duration::from_secs(1);

/// Runs `args` with the first of three members frozen and returns how long it took and what it
/// said, checked against `bound`: set (or put), or failed as a cluster that did not answer in
/// time fails (v2: etcdctl's exit codes 2, cluster unavailable, or 4 with the write's outcome
/// unknown; v3: exit 1 with the outcome left open).
fn with_first_member_frozen(api: &str, args: &[&str], bound: Duration, ok_stdout: &str) {
    let mut cluster = Cluster::start(3).unwrap();
    let endpoints = cluster.endpoints().join(",");
    cluster.pause(0).unwrap();
    let start = Instant::now();
    let mut child = Command::new(RSETCD)
        .env("ETCDCTL_API", api)
        .args(["--endpoints", &endpoints])
        .args(args)
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
        "took {took:?} under a bound of {bound:?}; exit {:?}; stdout {:?}; stderr {:?}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{report}");
    assert!(took <= bound + MARGIN, "{report}");
    match out.status.code() {
        Some(0) => assert_eq!(String::from_utf8_lossy(&out.stdout), ok_stdout, "{report}"),
        Some(2 | 4) if api == "2" => assert!(out.stderr.starts_with(b"Error:"), "{report}"),
        // etcdctl v3 exits 1 on a deadline; a put handed to the frozen member may still apply
        // when it wakes, and the message must say so.
        Some(1) if api == "3" => assert!(
            String::from_utf8_lossy(&out.stderr).contains("may or may not have been applied"),
            "{report}"
        ),
        _ => panic!("neither done nor a cluster failure: {report}"),
    }
}

#[test]
fn set_returns_within_the_total_timeout_while_the_first_member_is_frozen() {
    let args = ["--total-timeout", "3s", "set", "/frozen-member", "v"];
    with_first_member_frozen("2", &args, Duration::from_secs(3), "v\n");
}

#[test]
fn put_returns_within_the_command_timeout_while_the_first_member_is_frozen() {
    let args = ["--command-timeout", "3s", "put", "/frozen-member", "v"];
    with_first_member_frozen("3", &args, Duration::from_secs(3), "OK\n");
}
