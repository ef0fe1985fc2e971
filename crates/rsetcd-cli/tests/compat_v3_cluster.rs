//! `member`, `endpoint`, `alarm`, `defrag`, `move-leader` and `snapshot` against etcdctl 3.4 and
//! 3.5 on servers with the same history, called as etcd's `tests/e2e/ctl_v3_member_test.go`,
//! `ctl_v3_endpoint_test.go`, `ctl_v3_alarm_test.go`, `ctl_v3_defrag_test.go`,
//! `ctl_v3_move_leader_test.go` and `ctl_v3_snapshot_test.go` call etcdctl. One server per
//! tool, shared by every step of a test.

mod v3;

use std::path::PathBuf;

use v3::more::{mask_hex_ids, mask_raft_index, mask_times, run_in, sorted_lines, squeeze, step};
use v3::{mask_numbers, Match, Trio};

const FORMATS: [&str; 5] = ["simple", "json", "fields", "protobuf", "table"];

fn none(_: &v3::Side) -> Option<PathBuf> {
    None
}

fn same(s: &str) -> String {
    s.to_string()
}

#[test]
fn member_commands_in_every_format() {
    let mut trio = Trio::start();
    for side in trio.sides_mut() {
        let peer = side.node.peer_url();
        side.mask(&peer, "<PEER>");
    }
    for w in ["simple", "json", "fields"] {
        trio.same(&["member", "list", "-w", w], None);
    }
    // Each side's server has IDs of its own: a 15-digit hex ID makes a narrower table.
    step(
        &trio,
        &["member", "list", "-w", "table"],
        none,
        None,
        true,
        squeeze,
    );
    // The member's ID is inside the message (not masked): the exit codes must agree.
    let code_only = |_: &str| String::new();
    step(
        &trio,
        &["member", "list", "-w", "protobuf"],
        none,
        None,
        true,
        code_only,
    );
    trio.usage(&["member", "promote", "-1"]);
    for args in [
        &["member", "add"][..],
        &["member", "add", "x"],
        &["member", "add", "x", "http://127.0.0.1:1"],
        &["member", "remove"],
        &["member", "remove", "zz"],
        &["member", "update"],
        &["member", "update", "zz", "--peer-urls=http://a"],
        &["member", "update", "1"],
        &["member", "promote"],
        &["member", "remove", "1234"],
        &["member", "promote", "1234"],
    ] {
        trio.same(args, None);
    }
    // A learner (one at a time: etcd allows a single one), in each format, then removed.
    // Members are listed by ID, and IDs are random: lines sorted, IDs masked; the json and
    // protobuf answers list them in that order too, so only their exit codes are compared.
    let learner = |s: &str| sorted_lines(&squeeze(&mask_numbers(&mask_hex_ids(s))));
    for (i, w) in FORMATS.into_iter().enumerate() {
        // Fresh peer URLs each time: etcd derives a new member's ID from its URLs and the time
        // in seconds, and refuses the ID of a member removed in that second.
        let urls = format!(
            "--peer-urls=http://127.0.0.1:{},http://127.0.0.1:{}",
            10 + i,
            20 + i
        );
        let add = ["member", "add", "n2", &urls, "--learner", "-w", w];
        let ordered = w == "json" || w == "protobuf";
        let fix = |s: &str| if ordered { code_only(s) } else { learner(s) };
        step(&trio, &add, none, None, true, fix);
        step(&trio, &["member", "list", "-w", w], none, None, true, fix);
        // The learner's ID, per side, for the next steps.
        let ids: Vec<String> = trio
            .sides()
            .map(|s| {
                let out = run_in(s, &["member", "list"], None, None, true);
                let text = String::from_utf8_lossy(&out.stdout).into_owned();
                text.lines()
                    .find(|l| l.ends_with("true"))
                    .and_then(|l| l.split(", ").next())
                    .unwrap_or_else(|| panic!("{}: no learner in {text}", s.name))
                    .to_string()
            })
            .collect();
        for (side, id) in trio.sides_mut().zip(&ids) {
            side.masks.retain(|(_, p)| p != "<N>");
            side.mask(id, "<N>");
        }
        let per_side = |template: &[&str]| -> Vec<Vec<String>> {
            ids.iter()
                .map(|id| template.iter().map(|a| a.replace("{N}", id)).collect())
                .collect()
        };
        for template in [
            &[
                "member",
                "update",
                "{N}",
                "--peer-urls=http://127.0.0.1:4",
                "-w",
                w,
            ][..],
            &["member", "promote", "{N}", "-w", w],
            &["member", "remove", "{N}", "-w", w],
            &["member", "remove", "{N}", "-w", w],
        ] {
            let args = per_side(template);
            let outs = trio
                .sides()
                .zip(&args)
                .map(|(s, a)| {
                    let a: Vec<&str> = a.iter().map(String::as_str).collect();
                    let (o, e, c) = s.normalise(&run_in(s, &a, None, None, true));
                    (fix(&o), learner(&e), c)
                })
                .collect();
            let shown: Vec<std::ffi::OsString> = template.iter().map(Into::into).collect();
            trio.judge(&shown, outs);
        }
    }
    trio.finish();
}

#[test]
fn endpoint_alarm_defrag_and_move_leader() {
    let trio = Trio::start_with(&["--quota-backend-bytes=1048576"]);
    trio.same(&["put", "/k", "v"], None);
    let health = |s: &str| squeeze(&mask_times(s));
    // The raft index moves with each client's connection (etcdctl 3.5's more than 3.4's).
    let status = |s: &str| squeeze(&mask_raft_index(s));
    for cluster in [&[][..], &["--cluster"]] {
        for w in FORMATS {
            let mut st = vec!["endpoint", "status", "-w", w];
            st.extend(cluster);
            step(&trio, &st, none, None, true, status);
            let mut hash = vec!["endpoint", "hashkv", "-w", w];
            hash.extend(cluster);
            trio.same(&hash, None);
            hash.extend(["--rev", "2"]);
            trio.same(&hash, None);
            let mut h = vec!["endpoint", "health", "-w", w];
            h.extend(cluster);
            step(&trio, &h, none, None, true, health);
        }
    }
    trio.same(&["endpoint", "hashkv", "--rev", "9"], None);
    for w in FORMATS {
        trio.same(&["defrag", "-w", w], None);
    }
    trio.same(&["defrag", "--cluster"], None);
    // move-leader: etcdctl 3.5.1 refuses ETCDCTL_ENDPOINTS there (its flag check fails), so the
    // endpoint is given as a flag.
    for args in [
        &["--endpoints", "{URL}", "move-leader"][..],
        &["--endpoints", "{URL}", "move-leader", "zz"],
        &["--endpoints", "{URL}", "move-leader", "1234"],
        &["--endpoints", "{URL}", "move-leader", "{M}"],
        &["--endpoints", "{URL}", "move-leader", "{M}", "-w", "json"],
    ] {
        step(&trio, args, none, None, false, same);
    }
    // Alarms: none, then NOSPACE once the quota is exceeded.
    for w in ["simple", "json", "protobuf", "table"] {
        trio.same(&["alarm", "list", "-w", w], None);
        trio.same(&["alarm", "disarm", "-w", w], None);
    }
    // etcd compares the quota with the size of its file, which grows only when its backend
    // commits (every 100 ms): quick puts may pass the quota before it notices, so the bound is
    // generous; the first refused put ends the loop.
    let big = "x".repeat(100_000);
    for side in trio.sides() {
        let filled = (0..100).any(|i| {
            let out = run_in(side, &["put", &format!("/big/{i}"), &big], None, None, true);
            out.code != 0
        });
        assert!(filled, "{}: the quota was never exceeded", side.name);
    }
    for w in ["simple", "json"] {
        trio.same(&["alarm", "list", "-w", w], None);
    }
    // The member ID inside the message is not masked: exit codes only.
    step(
        &trio,
        &["alarm", "list", "-w", "protobuf"],
        none,
        None,
        true,
        |_| String::new(),
    );
    step(&trio, &["endpoint", "health"], none, None, true, health);
    step(
        &trio,
        &["endpoint", "health", "-w", "json"],
        none,
        None,
        true,
        health,
    );
    trio.same(&["put", "/more", "v"], None);
    trio.same(&["alarm", "disarm"], None);
    trio.same(&["alarm", "list"], None);
    trio.finish();
}

#[test]
fn snapshot_save_and_status() {
    let trio = Trio::start();
    for i in 0..5 {
        trio.same(&["put", &format!("/s/{i}"), "value"], None);
    }
    let dirs: Vec<tempfile::TempDir> = trio.sides().map(|_| tempfile::tempdir().unwrap()).collect();
    let names: Vec<&'static str> = trio.sides().map(|s| s.name).collect();
    let dir_of = |s: &v3::Side| {
        let i = names.iter().position(|n| *n == s.name).unwrap();
        Some(dirs[i].path().to_path_buf())
    };
    // The size logged is each side's own server's (its database grows in the background).
    let logged = |s: &str| mask_logged_size(&mask_times(s));
    for args in [
        &["snapshot", "save"][..],
        &["snapshot", "save", "a.db", "b.db"],
        &["snapshot", "save", "no/such/dir/s.db"],
        &["snapshot", "save", "s.db"],
        &["snapshot", "save", "j.db", "-w", "json"],
    ] {
        step(&trio, args, dir_of, None, true, logged);
    }
    let two = ["--endpoints", "{URL},{URL}", "snapshot", "save", "m.db"];
    step(&trio, &two, dir_of, None, false, logged);
    // Status reads the file alone: every tool reads rsetcd's snapshot, so the hash agrees too.
    let ours = dirs.last().unwrap().path().join("s.db");
    let ours = ours.to_str().unwrap();
    for w in FORMATS {
        trio.same(&["snapshot", "status", ours, "-w", w], None);
    }
    for args in [
        &["snapshot", "status"][..],
        &["snapshot", "status", "nope.db"],
        &["snapshot", "status", "a", "b"],
    ] {
        trio.same(args, None);
    }
    // And rsetcd reads etcdctl's snapshots as etcdctl does.
    for (side, dir) in trio.sides().zip(&dirs) {
        let file = dir.path().join("s.db");
        let file = file.to_str().unwrap();
        let theirs = run_in(
            side,
            &["snapshot", "status", file, "-w", "json"],
            None,
            None,
            true,
        );
        let mine = run_in(
            &trio.rs,
            &["snapshot", "status", file, "-w", "json"],
            None,
            None,
            true,
        );
        assert_eq!(
            String::from_utf8_lossy(&mine.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{}'s snapshot",
            side.name
        );
    }
    let _ = Match::All;
    trio.finish();
}

/// The `"size":"…"` field of etcdctl's (and rsetcd's) snapshot log lines as `<SIZE>`.
fn mask_logged_size(text: &str) -> String {
    const KEY: &str = "\"size\":\"";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(KEY) {
        let value = &rest[at + KEY.len()..];
        let Some(end) = value.find('"') else { break };
        out.push_str(&rest[..at + KEY.len()]);
        out.push_str("<SIZE>");
        rest = &value[end..];
    }
    out.push_str(rest);
    out
}
