//! `check perf` and `check datascale` against etcdctl 3.4 and 3.5, each tool on its own server
//! with the same history: the refusals byte for byte; datascale's lines with the memory figure
//! masked; perf's lines by kind (its figures and verdicts depend on the machine's load), run on
//! the three servers at once, for its full minute. Then each server's final state: nothing left
//! under the prefix, the history compacted at the revision the tool printed.

mod v3;

use std::ffi::OsString;

use v3::more::step;
use v3::{Output, Side, Trio};

/// etcdctl's progress bar (pb.v1 draws it on stdout even into a pipe: `\r 12 / 60   20.00%
/// 00m48s`, redrawn in place, then a newline), taken out; empty lines dropped.
fn strip_bar(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('\r') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(pct) = after.find('%') else {
            rest = "";
            break;
        };
        let mut tail = &after[pct + 1..];
        if let Some(t) = tail.strip_prefix(' ') {
            let len = t
                .find(|c: char| !(c.is_ascii_digit() || "hms".contains(c)))
                .unwrap_or(t.len());
            if len > 0 {
                tail = &t[len..];
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Digits (and decimal points between them) as `<N>`.
fn mask_figures(text: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() || (in_number && c == '.') {
            if !in_number {
                out.push_str("<N>");
                in_number = true;
            }
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// What kind of line `check perf` printed: etcdctl's forms, whatever the figures and verdict.
fn kind(line: &str) -> String {
    let masked = mask_figures(line);
    let kinds = [
        ("Compacting with revision <N>", "compacting"),
        ("Compacted with revision <N>", "compacted"),
        ("PASS: Throughput is <N> writes/s", "throughput"),
        ("FAIL: Throughput too low: <N> writes/s", "throughput"),
        ("PASS: Slowest request took <N>s", "slowest"),
        ("Slowest request took too long: <N>s", "slowest"),
        ("PASS: Stddev is <N>s", "stddev"),
        ("Stddev too high: <N>s", "stddev"),
        ("PASS", "verdict"),
        ("FAIL", "verdict"),
        ("FAIL: too many errors", "errors"),
    ];
    if let Some((_, k)) = kinds.iter().find(|(form, _)| masked == *form) {
        return k.to_string();
    }
    if masked.starts_with("FAIL: ERROR(") && masked.ends_with(") -> <N>") {
        return "error".into();
    }
    format!("unknown line {line:?}")
}

/// The revision in a `Compacting with revision N` line.
fn compacted_at(stdout: &str) -> i64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Compacting with revision "))
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or_else(|| panic!("no compaction line in {stdout:?}"))
}

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// On `side`'s server: nothing under `prefix`, and revision `rev - 1` compacted away.
fn assert_cleaned_up(side: &Side, prefix: &str, rev: i64) {
    let left = side.run(&os(&["get", "--prefix", prefix, "--keys-only"]), None);
    assert_eq!(
        (left.code, left.stdout.len()),
        (0, 0),
        "{}: {left:?}",
        side.name
    );
    let old = side.run(&os(&["get", "x", "--rev", &(rev - 1).to_string()]), None);
    assert_eq!(old.code, 1, "{}: {old:?}", side.name);
    assert!(
        String::from_utf8_lossy(&old.stderr).contains("required revision has been compacted"),
        "{}: {old:?}",
        side.name
    );
    let now = side.run(&os(&["get", "x", "--rev", &rev.to_string()]), None);
    assert_eq!(
        now.code, 0,
        "{}: revision {rev} should remain: {now:?}",
        side.name
    );
}

#[test]
fn refusals_match_etcdctl() {
    let trio = Trio::start();
    trio.same(&["check", "perf", "--load", "zz"], None);
    trio.same(&["check", "datascale", "--load", "huge"], None);
    // A prefix that holds keys (the check would delete them after): exit 3, before any load.
    trio.same(&["put", "/etcdctl-check-perf/x", "1"], None);
    trio.same(&["check", "perf"], None);
    trio.same(&["put", "/etcdctl-check-datascale/y", "1"], None);
    trio.same(&["check", "datascale", "--load", "xLarge"], None);
    trio.same(&["put", "a bc", "1"], None);
    trio.same(
        &["check", "perf", "--prefix", "a b", "--load", "medium"],
        None,
    );
    // Nothing was written or deleted.
    trio.same(&["get", "", "--prefix", "--keys-only"], None);
    trio.finish();
}

#[test]
fn datascale_matches_etcdctl_and_leaves_nothing_behind() {
    let trio = Trio::start();
    let args = ["check", "datascale", "--auto-compact", "--auto-defrag"];
    // The memory each server grew by differs; the revisions agree (the same history).
    let memory = |s: &str| {
        strip_bar(s)
            .lines()
            .map(|l| {
                let figure = l
                    .strip_prefix("PASS: Approximate system memory used : ")
                    .and_then(|rest| rest.strip_suffix(" MB."));
                match figure {
                    Some(f) if f.parse::<f64>().is_ok() => {
                        "PASS: Approximate system memory used : <N> MB.\n".to_string()
                    }
                    _ => format!("{l}\n"),
                }
            })
            .collect::<String>()
    };
    step(&trio, &args, |_| None, None, true, memory);
    for side in trio.sides() {
        // 10,000 puts after the first revision, then the delete.
        assert_cleaned_up(side, "/etcdctl-check-datascale/", 10_002);
    }
    // rsetcd printed no progress into the pipe, and its lines are etcdctl's.
    let out = trio.rs.run(&os(&args), None);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.is_empty() && !text.contains('\r'), "{out:?}");
    assert!(
        text.starts_with(
            "Start data scale check for work load [10000 key-value pairs, 1024 bytes per \
             key-value, 50 concurrent clients].\nCompacting with revision 20003\n"
        ),
        "{text}"
    );
    trio.finish();
}

#[test]
fn perf_runs_its_minute_and_reports_as_etcdctl() {
    let trio = Trio::start();
    let sides: Vec<&Side> = trio.sides().collect();
    // The three at once: a minute in all.
    let outs: Vec<Output> = std::thread::scope(|scope| {
        let runs: Vec<_> = sides
            .iter()
            .map(|s| scope.spawn(|| s.run(&os(&["check", "perf", "--auto-compact"]), None)))
            .collect();
        runs.into_iter().map(|r| r.join().expect("runs")).collect()
    });
    let mut shapes = Vec::new();
    for (side, out) in sides.iter().zip(&outs) {
        let text = strip_bar(&String::from_utf8_lossy(&out.stdout));
        let last = text.lines().last().unwrap_or("");
        assert!(
            (last == "PASS" && out.code == 0) || (last == "FAIL" && out.code == 1),
            "{}: {out:?}",
            side.name
        );
        // The same kinds of line in the same order ("too many errors" only where a put failed).
        let kinds: Vec<String> = text
            .lines()
            .map(kind)
            .filter(|k| k != "errors" && k != "error")
            .collect();
        assert_cleaned_up(side, "/etcdctl-check-perf/", compacted_at(&text));
        shapes.push((side.name, kinds, text));
    }
    let (_, ours, text) = shapes.last().expect("rsetcd ran");
    for (name, theirs, their_text) in &shapes {
        assert_eq!(theirs, ours, "{name}:\n{their_text}\nrsetcd:\n{text}");
    }
    assert_eq!(
        ours,
        &[
            "compacting",
            "compacted",
            "throughput",
            "slowest",
            "stddev",
            "verdict"
        ]
    );
    // Where rsetcd passed, its figures say so: 150 puts a second for a minute.
    let rs = outs.last().expect("rsetcd ran");
    assert!(rs.stderr.is_empty(), "{rs:?}");
    if rs.code == 0 {
        let writes: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("PASS: Throughput is "))
            .and_then(|l| l.strip_suffix(" writes/s"))
            .and_then(|n| n.parse().ok())
            .expect("a throughput line");
        assert!((136..=151).contains(&writes), "{text}");
        // More than 135 puts a second for 60 s (a pass), at most 9,000; one delete, the first revision.
        let rev = compacted_at(text);
        assert!((135 * 60 + 2..=9_002).contains(&rev), "{text}");
    }
}

#[test]
fn the_bar_is_taken_out_as_etcdctl_draws_it() {
    let drawn = "\r 0 / 60    0.00%\r 9 / 60   15.00% 00m50s\r 59 / 60   98.33%Compacting with \
                 revision 19005\n\r 60 / 60  100.00% 1m0s\nCompacted with revision 19005\nPASS\n";
    assert_eq!(
        strip_bar(drawn),
        "Compacting with revision 19005\nCompacted with revision 19005\nPASS\n"
    );
    assert_eq!(kind("Slowest request took too long: 0.786915s"), "slowest");
    assert_eq!(kind("FAIL: ERROR(boom 1) -> 3"), "error");
    assert!(kind("PASS: something else").starts_with("unknown"));
}
