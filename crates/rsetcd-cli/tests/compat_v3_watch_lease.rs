//! `rsetcd watch` and `rsetcd lease …` against etcdctl 3.4 and 3.5 on servers with the same
//! history (as etcd's `tests/e2e/ctl_v3_watch_test.go` and `ctl_v3_lease_test.go` use them).

mod v3;

use std::ffi::OsString;
use std::time::Duration;

use v3::{stream, Match, Trio};

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Runs a long-running command on every side until `until` holds for its stdout, kills it, and
/// compares what each printed.
fn same_stream(trio: &Trio, args: &[&str], stdin: &str, until: impl Fn(&str) -> bool + Copy) {
    let args = os(args);
    let outs = trio
        .sides()
        .map(|s| {
            s.normalise(&stream(
                s,
                &s.args(&args),
                stdin.as_bytes(),
                until,
                Duration::from_secs(15),
            ))
        })
        .collect();
    trio.judge(&args, outs);
}

fn lines(n: usize) -> impl Fn(&str) -> bool + Copy {
    count("\n", n)
}

fn count(needle: &'static str, n: usize) -> impl Fn(&str) -> bool + Copy {
    move |s: &str| s.matches(needle).count() >= n
}

#[test]
fn watch_replays_history_in_every_format() {
    let trio = Trio::start();
    trio.same(&["put", "/w/a", "1"], None);
    trio.same(&["put", "/w/b", "2"], None);
    trio.same(&["put", "/w/a", "3"], None);
    trio.same(&["del", "/w/b"], None);
    trio.same(&["put", "/x", "outside"], None);
    for (w, until) in [
        ("simple", count("\n", 12)),
        ("json", count("\"kv\":", 4)),
        ("fields", count("\"Type\" :", 4)),
    ] {
        same_stream(
            &trio,
            &["watch", "/w/", "--prefix", "--rev", "1", "-w", w],
            "",
            until,
        );
    }
    same_stream(
        &trio,
        &["watch", "/w/a", "--rev", "1", "--prev-kv"],
        "",
        lines(8),
    );
    same_stream(
        &trio,
        &["watch", "/w/a", "--rev", "1", "--prev-kv", "-w", "fields"],
        "",
        count("\"Type\" :", 2),
    );
    same_stream(
        &trio,
        &["watch", "/w/a", "/w/c", "--rev", "2"],
        "",
        lines(9),
    );
    same_stream(&trio, &["watch", "/w/a", "--rev=1", "--", "sh", "-c", "echo \"$ETCD_WATCH_REVISION $ETCD_WATCH_EVENT_TYPE $ETCD_WATCH_KEY $ETCD_WATCH_VALUE\""], "", lines(8));
    same_stream(
        &trio,
        &["watch", "--rev=1", "/w/a", "--", "sh", "-c", "exit 3"],
        "",
        |_| false,
    );
    same_stream(&trio, &["watch", "-i"], "watch /w/a --rev 1\n", lines(6));
    same_stream(
        &trio,
        &["watch", "-i", "-w", "json"],
        "watch /w/b --rev=1 --prefix\n",
        count("\"kv\":", 2),
    );
    same_stream(&trio, &["watch", "-i"], "", |_| false);
    same_stream(
        &trio,
        &["watch", "-i"],
        "bogus\nwatch /nothing\nprogress\n",
        lines(1),
    );
    for args in [
        &["watch"][..],
        &["watch", "/w/a", "/w/b", "--prefix"],
        &["watch", "/w/a", "--"],
    ] {
        trio.same(args, None);
    }
    trio.same(&["compaction", "4"], None);
    same_stream(&trio, &["watch", "/w/a", "--rev", "2"], "", |_| false);
    same_stream(
        &trio,
        &["watch", "/w/a", "--rev", "2", "-w", "json"],
        "",
        |_| false,
    );
    trio.finish();
}

#[test]
fn lease_commands_in_every_format() {
    let mut trio = Trio::start();
    for w in ["simple", "json", "fields", "protobuf"] {
        trio.same_as(Match::Ids, &os(&["lease", "grant", "100", "-w", w]), None);
    }
    trio.grant("200", 1);
    trio.grant("300", 2);
    trio.same(&["put", "/leased", "v", "--lease={L1}"], None);
    trio.same(&["put", "/leased2", "v", "--lease", "{L1}"], None);
    for w in ["simple", "json", "fields", "protobuf"] {
        for args in [
            &["lease", "timetolive", "{L1}"][..],
            &["lease", "timetolive", "{L1}", "--keys"],
            &["lease", "timetolive", "{L2}", "--keys"],
            &["lease", "list"],
            &["lease", "keep-alive", "--once", "{L2}"],
        ] {
            let mut a = args.to_vec();
            a.extend(["-w", w]);
            trio.same_as(Match::Ids, &os(&a), None);
        }
    }
    trio.same(&["lease", "revoke", "{L2}"], None);
    trio.same(&["lease", "revoke", "{L2}"], None);
    trio.same(&["lease", "timetolive", "{L2}"], None);
    trio.same(&["lease", "timetolive", "{L2}", "-w", "json"], None);
    trio.same(&["lease", "keep-alive", "--once", "{L2}"], None);
    trio.same(&["lease", "revoke", "{L1}", "-w", "json"], None);
    trio.same(&["get", "/leased", "--prefix"], None);
    for args in [
        &["lease", "grant"][..],
        &["lease", "grant", "ten"],
        &["lease", "revoke"],
        &["lease", "revoke", "zz"],
        &["lease", "timetolive"],
        &["lease", "keep-alive"],
        &["lease", "keep-alive", "not-hex"],
        &["put", "/k", "v", "--lease=123"],
    ] {
        trio.same(args, None);
    }
    trio.finish();
}

#[test]
fn keep_alive_until_revoked() {
    let mut trio = Trio::start();
    trio.grant("6", 1);
    same_stream(&trio, &["lease", "keep-alive", "{L1}"], "", lines(1));
    // Revoked while a keep-alive runs: it says so at its next refresh (TTL / 3) and ends.
    std::thread::scope(|scope| {
        for side in trio.sides() {
            scope.spawn(move || {
                let args = side.args(&os(&["lease", "keep-alive", "{L1}"]));
                let mut child = side
                    .command(&args)
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
                let mut first = String::new();
                std::io::BufRead::read_line(&mut reader, &mut first).unwrap();
                assert!(
                    first.contains("keepalived with TTL(6)"),
                    "{}: {first}",
                    side.name
                );
                side.run(&side.args(&os(&["lease", "revoke", "{L1}"])), None);
                let mut rest = String::new();
                std::io::Read::read_to_string(&mut reader, &mut rest).unwrap();
                let status = child.wait().unwrap();
                let rest = side
                    .normalise(&v3::Output {
                        stdout: rest.into_bytes(),
                        stderr: Vec::new(),
                        code: 0,
                    })
                    .0;
                assert_eq!(rest, "lease <L1x> expired or revoked.\n", "{}", side.name);
                assert_eq!(status.code(), Some(0), "{}", side.name);
            });
        }
    });
    trio.finish();
}

#[test]
fn watch_progress_notifications() {
    // etcd sends a progress notification to an idle watch every interval (10 minutes by default).
    let trio = Trio::start_with(&["--experimental-watch-progress-notify-interval=300ms"]);
    trio.same(&["put", "/p", "1"], None);
    for (w, until) in [
        ("simple", count("progress notify:", 1)),
        ("json", count("\"Events\":[]", 1)),
        ("fields", count("\"RaftTerm\"", 1)),
    ] {
        same_stream(
            &trio,
            &["watch", "/p", "--progress-notify", "-w", w],
            "",
            until,
        );
    }
    trio.finish();
}
