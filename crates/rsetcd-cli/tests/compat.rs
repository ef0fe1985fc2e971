//! `rsetcd` against Debian's `ETCDCTL_API=2 etcdctl` on the same real etcd: stdout, stderr and exit
//! code must match, with indexes (and expiration times) normalised only where they must differ.
//!
//! The etcdctl is `rsetcd_testkit::etcdctl_bin()`: the one beside `$RSETCD_ETCD_BIN` when there is
//! one (etcdctl 3.5.1 for the etcd 3.5.1 of `scripts/install-etcd.sh --with-3.5`), else Debian's.
//! Two known differences of etcd 3.5 are handled where they occur, and only on 3.5:
//! etcdctl 3.5 exits 128 where 3.4 exits 1 (rsetcd keeps 3.4's 1), and etcd 3.5's v2 store
//! answers `updatedir --ttl` with a 500 (see `updatedir_ttl_is_a_server_regression_on_35`).

use std::io::Write;
use std::process::{Command, Stdio};

use rsetcd_testkit::{Etcd, Version};

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run(program: &str, endpoint: &str, args: &[&str], stdin: Option<&str>) -> Run {
    run_api("2", program, endpoint, args, stdin)
}

fn run_api(api: &str, program: &str, endpoint: &str, args: &[&str], stdin: Option<&str>) -> Run {
    let mut child = Command::new(program)
        .args(args)
        .env("ETCDCTL_API", api)
        .env("ETCDCTL_ENDPOINTS", endpoint)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// The etcdctl to compare with (see the module comment).
fn etcdctl() -> String {
    rsetcd_testkit::etcdctl_bin().to_string_lossy().into_owned()
}

/// etcdctl's exit code as etcdctl 3.4 gives it: etcdctl 3.5 exits 128 for a usage error (`get`
/// without a key, `set` without a value) where 3.4 exits 1, and rsetcd follows 3.4.
fn etcdctl_code(code: i32) -> i32 {
    let is_35 = rsetcd_testkit::etcdctl_version().is_some_and(|v| v >= Version::new(3, 5, 0));
    if is_35 && code == 128 {
        1
    } else {
        code
    }
}

/// Whether the server is etcd 3.5 (or later).
fn server_is_35() -> bool {
    rsetcd_testkit::etcd_version().is_some_and(|v| v >= Version::new(3, 5, 0))
}

/// etcd 3.5's v2 store answers a TTL update of an existing directory (`PUT d?dir=true&prevExist=true&ttl=50`)
/// with 500 `{"errorCode":300,"message":"Raft Internal Error","cause":"nodePath /1/d : Not a file ()"}`
/// (3.4.23: 200 update), a server regression: etcdctl and rsetcd cannot agree on it (etcdctl 3.4
/// reports the 500 as "has no leader", rsetcd as an unknown outcome of a 300). On 3.5 this checks
/// that the regression is still what both tools meet: both fail with exit code 4, and rsetcd
/// shows the server's error. When etcd fixes it, this assertion fails and the skip can go.
fn updatedir_ttl_is_a_server_regression_on_35(url: &str, args: &[&str]) {
    let e_args: Vec<String> = args.iter().map(|a| a.replace("/P", "/e")).collect();
    let r_args: Vec<String> = args.iter().map(|a| a.replace("/P", "/r")).collect();
    let e = run(
        &etcdctl(),
        url,
        &e_args.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    let r = run(
        RSETCD,
        url,
        &r_args.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
    );
    assert_eq!((e.code, r.code), (4, 4), "{} / {}", e.stderr, r.stderr);
    assert!(
        r.stderr.contains("Raft Internal Error") && r.stderr.contains("Not a file"),
        "etcd 3.5's updatedir regression changed: {}",
        r.stderr
    );
}

fn etcdctl_available() -> bool {
    let ok = Command::new(etcdctl()).arg("--version").output().is_ok();
    if !ok {
        eprintln!("\n!!!!! etcdctl is not installed: SKIPPING the etcdctl comparison (run scripts/install-etcd.sh) !!!!!\n");
    }
    ok
}

const RSETCD: &str = env!("CARGO_BIN_EXE_rsetcd");

/// Masks what must differ between two runs on different keys: index numbers, in-order key names
/// and expiration times.
fn normalise(text: &str, prefix: &str) -> String {
    let text = text.replace(prefix, "/P");
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut word = String::new();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut n = c.to_string();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            let index_like = word.ends_with("Index: ")
                || word.ends_with("!= ")
                || word.ends_with("Index\":")
                || word.ends_with('[')
                || n.len() == 20;
            out.push_str(if index_like { "N" } else { &n });
            word.clear();
            continue;
        }
        word.push(c);
        if word.len() > 16 {
            word.remove(0);
        }
        out.push(c);
    }
    // Expiration times: "expiration":"2026-…Z"
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(at) = rest.find("\"expiration\":\"") {
        let (head, tail) = rest.split_at(at + 14);
        result.push_str(head);
        result.push_str("T\"");
        rest = tail.split_once('"').map_or("", |(_, after)| after);
    }
    result.push_str(rest);
    result
}

/// Runs the same command on two key prefixes (etcdctl on one, rsetcd on the other) and compares.
fn same(url: &str, args: &[&str], stdin: Option<&str>) {
    let e_args: Vec<String> = args.iter().map(|a| a.replace("/P", "/e")).collect();
    let r_args: Vec<String> = args.iter().map(|a| a.replace("/P", "/r")).collect();
    let e = run(
        &etcdctl(),
        url,
        &e_args.iter().map(String::as_str).collect::<Vec<_>>(),
        stdin,
    );
    let r = run(
        RSETCD,
        url,
        &r_args.iter().map(String::as_str).collect::<Vec<_>>(),
        stdin,
    );
    let (eo, ro) = (normalise(&e.stdout, "/e"), normalise(&r.stdout, "/r"));
    let (ee, re) = (normalise(&e.stderr, "/e"), normalise(&r.stderr, "/r"));
    assert_eq!(
        (eo.as_str(), ee.as_str(), etcdctl_code(e.code)),
        (ro.as_str(), re.as_str(), r.code),
        "\n`{}` differs (left etcdctl, right rsetcd)",
        args.join(" ")
    );
}

#[test]
fn v3_key_commands_match_etcdctl_v3() {
    if !etcdctl_available() {
        return;
    }
    let node = Etcd::start().unwrap();
    let url = node.client_url();
    for args in [
        &["put", "/P/a", "hello world"][..],
        &["put", "/P/b", "2"],
        &["get", "/P/a"],
        &["get", "/P/", "--prefix"],
        &["get", "/P/nope"],
        &["del", "/P/a"],
        &["del", "/P/", "--prefix"],
        &["get", "/P/", "--prefix"],
    ] {
        let e_args: Vec<String> = args.iter().map(|a| a.replace("/P", "/e")).collect();
        let mut r_args = vec!["v3".to_string()];
        r_args.extend(args.iter().map(|a| a.replace("/P", "/r")));
        let e = run_api(
            "3",
            &etcdctl(),
            &url,
            &e_args.iter().map(String::as_str).collect::<Vec<_>>(),
            None,
        );
        let r = run_api(
            "3",
            RSETCD,
            &url,
            &r_args.iter().map(String::as_str).collect::<Vec<_>>(),
            None,
        );
        assert_eq!(
            (e.stdout.replace("/e", "/P"), e.code),
            (r.stdout.replace("/r", "/P"), r.code),
            "`{}` differs (left etcdctl, right rsetcd)",
            args.join(" ")
        );
    }
}

#[test]
fn key_commands_in_every_output_format() {
    if !etcdctl_available() {
        return;
    }
    let node = Etcd::start().unwrap();
    let url = node.client_url();
    for format in ["simple", "extended", "json"] {
        let o = ["-o", format];
        let with = |args: &[&'static str]| -> Vec<&'static str> {
            let mut v: Vec<&str> = o.to_vec();
            v.extend_from_slice(args);
            v
        };
        let steps: Vec<(Vec<&str>, Option<&str>)> = vec![
            (with(&["set", "/P/k", "v1"]), None),
            (with(&["set", "/P/k", "v2"]), None),
            (with(&["set", "/P/t", "tv", "--ttl", "100"]), None),
            (with(&["get", "/P/k"]), None),
            (with(&["get", "/P/missing"]), None),
            (with(&["mk", "/P/k", "x"]), None),
            (with(&["mk", "/P/k2", "v"]), None),
            (with(&["update", "/P/k", "v3"]), None),
            (with(&["update", "/P/missing", "v"]), None),
            (
                with(&["set", "/P/k", "v4", "--swap-with-value", "v3"]),
                None,
            ),
            (
                with(&["set", "/P/k", "v5", "--swap-with-value", "nope"]),
                None,
            ),
            (with(&["set", "/P/k", "v6", "--swap-with-index", "1"]), None),
            (with(&["set", "/P/stdin"]), Some("from stdin\n")),
            (with(&["mkdir", "/P/d"]), None),
            (with(&["mkdir", "/P/d"]), None),
            (with(&["get", "/P/d"]), None),
            (with(&["setdir", "/P/d2"]), None),
            (with(&["updatedir", "/P/d2", "--ttl", "50"]), None),
            (with(&["mk", "/P/q", "job", "--in-order"]), None),
            (with(&["ls", "/P", "--sort"]), None),
            (with(&["ls", "/P", "--sort", "--recursive", "-p"]), None),
            (with(&["rm", "/P/k", "--with-value", "nope"]), None),
            (with(&["rm", "/P/k", "--with-value", "v4"]), None),
            (with(&["rm", "/P/k2"]), None),
            (with(&["rm", "/P/d"]), None),
            (with(&["rm", "/P/d", "--dir"]), None),
            (with(&["rmdir", "/P/d2"]), None),
            (with(&["rm", "/P/q"]), None),
            (with(&["rm", "/P/q", "--recursive"]), None),
            (with(&["get"]), None),
            (with(&["set", "/P/only-key"]), None),
        ];
        for (args, stdin) in &steps {
            if server_is_35() && args.contains(&"updatedir") && args.contains(&"--ttl") {
                updatedir_ttl_is_a_server_regression_on_35(&url, args);
                continue;
            }
            same(&url, args, *stdin);
        }
        // Clean up for the next format.
        run(&etcdctl(), &url, &["rm", "/e", "--recursive"], None);
        run(RSETCD, &url, &["rm", "/r", "--recursive"], None);
    }
}

#[test]
fn reads_of_the_same_state_match_exactly() {
    if !etcdctl_available() {
        return;
    }
    let node = Etcd::start().unwrap();
    let url = node.client_url();
    for k in ["/s/a", "/s/b/c", "/s/b/d", "/s/e"] {
        run(&etcdctl(), &url, &["set", k, "value of it"], None);
    }
    for args in [
        vec!["get", "/s/a"],
        vec!["-o", "extended", "get", "/s/a"],
        vec!["-o", "json", "get", "/s/a"],
        vec!["get", "/s/a", "--quorum"],
        vec!["ls", "/s", "--sort"],
        vec!["ls", "--sort", "--recursive", "/s"],
        vec!["-o", "json", "ls", "/s", "--sort", "--recursive"],
        vec!["-o", "extended", "ls", "/s/b"],
        vec!["member", "list"],
        vec!["cluster-health"],
        vec!["--no-sync", "get", "/s/e"],
        vec!["get", "/s/b"],
        vec!["get", "/nope"],
        vec!["-o", "json", "get", "/nope"],
    ] {
        let e = run(&etcdctl(), &url, &args, None);
        let r = run(RSETCD, &url, &args, None);
        assert_eq!(
            (&e.stdout, &e.stderr, e.code),
            (&r.stdout, &r.stderr, r.code),
            "`{}`",
            args.join(" ")
        );
    }
}

#[test]
fn watch_and_exec_watch_match() {
    if !etcdctl_available() {
        return;
    }
    let node = Etcd::start().unwrap();
    let url = node.client_url();
    let first = run(
        &etcdctl(),
        &url,
        &["-o", "json", "set", "/w/k", "one"],
        None,
    );
    let index: u64 = first
        .stdout
        .split("\"modifiedIndex\":")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    run(&etcdctl(), &url, &["set", "/w/k", "two"], None);
    let after = (index - 1).to_string();
    for args in [
        vec!["watch", "/w/k", "--after-index", after.as_str()],
        vec![
            "-o",
            "extended",
            "watch",
            "/w/k",
            "--after-index",
            after.as_str(),
        ],
        vec![
            "-o",
            "json",
            "watch",
            "/w",
            "--recursive",
            "--after-index",
            after.as_str(),
        ],
    ] {
        let e = run(&etcdctl(), &url, &args, None);
        let r = run(RSETCD, &url, &args, None);
        assert_eq!(
            (&e.stdout, &e.stderr, e.code),
            (&r.stdout, &r.stderr, r.code),
            "`{}`",
            args.join(" ")
        );
    }
    // exec-watch runs forever: check rsetcd's environment for the first event, against etcdctl's
    // variable names.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("env");
    let script = format!(
        "env | grep ^ETCD_WATCH_ | sort > {}.$ETCD_WATCH_MODIFIED_INDEX",
        out.display()
    );
    let mut child = Command::new(RSETCD)
        .env("ETCDCTL_API", "2")
        .args([
            "exec-watch",
            "/w/k",
            "--after-index",
            &after,
            "--",
            "sh",
            "-c",
            &script,
        ])
        .env("ETCDCTL_ENDPOINTS", &url)
        .spawn()
        .unwrap();
    let file = format!("{}.{index}", out.display());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::path::Path::new(&file).exists()
        || std::fs::read_to_string(&file).unwrap().is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "exec-watch ran nothing"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let env = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        env,
        format!("ETCD_WATCH_ACTION=set\nETCD_WATCH_KEY=/w/k\nETCD_WATCH_MODIFIED_INDEX={index}\nETCD_WATCH_VALUE=one\n")
    );
}

#[test]
fn bad_input_gives_clear_messages_and_exit_codes() {
    let dead = rsetcd_testkit::dead_endpoint().unwrap();
    for (args, code, needle) in [
        (vec!["frobnicate"], 1, "unrecognized subcommand"),
        (vec!["get"], 1, "Error:  key required"),
        (
            vec!["--timeout", "soon", "get", "/k"],
            1,
            "invalid duration",
        ),
        (vec!["-o", "yaml", "get", "/k"], 1, "invalid value 'yaml'"),
        (
            vec!["--endpoints", "ftp://x:1", "get", "/k"],
            1,
            "unsupported protocol",
        ),
        (
            vec!["--endpoints", dead.as_str(), "get", "/k"],
            2,
            "etcd cluster is unavailable",
        ),
        (vec!["member", "remove", "not-hex"], 1, "invalid member ID"),
    ] {
        let r = run(RSETCD, &dead, &args, None);
        assert_eq!(r.code, code, "`{}`: {}", args.join(" "), r.stderr);
        assert!(
            r.stderr.contains(needle),
            "`{}`: {}",
            args.join(" "),
            r.stderr
        );
        assert!(
            !r.stderr.contains("panicked") && !r.stderr.contains("RUST_BACKTRACE"),
            "{}",
            r.stderr
        );
    }
    let r = run(RSETCD, &dead, &["completions", "bash"], None);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("_rsetcd"), "a bash completion script");
    let r = run(RSETCD, &dead, &["version"], None);
    assert!(r.stdout.contains("API version: 2"));
}

#[test]
fn debug_prints_curl_without_the_password() {
    let node = Etcd::start().unwrap();
    let url = node.client_url();
    let r = run(
        RSETCD,
        &url,
        &[
            "--debug",
            "--no-sync",
            "-u",
            "root:s3cret",
            "set",
            "/dbg",
            "v",
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "cURL Command: curl -X PUT '{url}/v2/keys/dbg' -u 'root' -d 'value=v'"
        )),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cret"));
    let r = run(
        RSETCD,
        &url,
        &["--debug", "--no-sync", "user", "add", "bob:b0bsecret"],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains(r#""password":"***""#), "{}", r.stderr);
    assert!(!r.stderr.contains("b0bsecret"), "{}", r.stderr);
}
