//! More of the harness, for the cluster, auth and lock commands: runs with per-side arguments
//! (`{M}`: the side's member ID in hex, `{URL}`: its client URL) and a per-side working
//! directory, and normalisations for what must differ (random member IDs and their order,
//! durations, log timestamps).

use std::ffi::OsString;
use std::path::Path;
use std::process::Stdio;

use super::{Output, Side, Trio};

/// `args` with `{M}` and `{URL}` replaced by this side's member ID (hex) and client URL.
pub fn args_for(side: &Side, args: &[&str]) -> Vec<OsString> {
    let member = side
        .masks
        .iter()
        .filter(|(_, p)| p == "<Mx>")
        .map(|(t, _)| t.clone())
        .min_by_key(|t| t.len())
        .unwrap_or_default();
    let url = side.node.client_url();
    side.args(
        &args
            .iter()
            .map(|a| OsString::from(a.replace("{M}", &member).replace("{URL}", &url)))
            .collect::<Vec<_>>(),
    )
}

/// Runs `args` on `side` in `dir` (when given), with `stdin`; `env_endpoints: false` leaves
/// `ETCDCTL_ENDPOINTS` unset (the step passes `--endpoints {URL}`).
pub fn run_in(
    side: &Side,
    args: &[&str],
    dir: Option<&Path>,
    stdin: Option<&[u8]>,
    env_endpoints: bool,
) -> Output {
    let mut cmd = side.command(&args_for(side, args));
    if !env_endpoints {
        cmd.env_remove("ETCDCTL_ENDPOINTS");
    }
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("runs");
    if let Some(input) = stdin {
        use std::io::Write;
        let _ = child.stdin.take().expect("stdin").write_all(input);
    }
    let out = child.wait_with_output().expect("ends");
    Output {
        stdout: out.stdout,
        stderr: out.stderr,
        code: out.status.code().unwrap_or(-1),
    }
}

/// A step: each side runs `args` (see [`run_in`]); outputs normalised by the side's masks,
/// then by `fix`; compared by the trio's judge.
pub fn step(
    trio: &Trio,
    args: &[&str],
    dir: impl Fn(&Side) -> Option<std::path::PathBuf>,
    stdin: Option<&str>,
    env_endpoints: bool,
    fix: impl Fn(&str) -> String,
) {
    let outs = trio
        .sides()
        .map(|s| {
            let d = dir(s);
            let out = run_in(
                s,
                args,
                d.as_deref(),
                stdin.map(str::as_bytes),
                env_endpoints,
            );
            let (o, e, c) = s.normalise(&out);
            (fix(&o), fix(&e), c)
        })
        .collect();
    let shown: Vec<OsString> = args.iter().map(OsString::from).collect();
    trio.judge(&shown, outs);
}

/// Hex words of 13 to 16 characters with a digit and a letter (member and lease IDs printed
/// with `%x` or `%16x`) as `<ID>`, and the padding `%16x` puts before a shorter one.
pub fn mask_hex_ids(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hexish = (13..=16).contains(&word.len())
            && word.bytes().all(|b| b.is_ascii_hexdigit())
            && word.bytes().any(|b| b.is_ascii_alphabetic())
            && word.bytes().any(|b| b.is_ascii_digit());
        if hexish {
            while out.ends_with("  ") {
                out.pop();
            }
            out.push_str("<ID>");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Go durations (`1.36ms`, `2.5s`, `15µs`) as `<T>`, and zap's `"ts":…` and `"took":…`.
pub fn mask_times(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        for key in ["\"ts\":", "\"took\":"] {
            if let Some(at) = l.find(key) {
                let rest = &l[at + key.len()..];
                let end = if let Some(r) = rest.strip_prefix('"') {
                    r.find('"').map_or(rest.len(), |i| i + 2)
                } else {
                    rest.find([',', '}']).unwrap_or(rest.len())
                };
                l = format!("{}{key}<T>{}", &l[..at], &rest[end..]);
            }
        }
        out.push_str(&mask_durations(&l));
    }
    out
}

fn mask_durations(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let boundary = start == 0 || !chars[start - 1].is_ascii_alphanumeric();
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
            i += 1;
        }
        if i > start && boundary {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let unit = ["ms", "µs", "ns"]
                .iter()
                .find(|u| rest.starts_with(**u))
                .map(|u| u.chars().count())
                .or_else(|| {
                    let after = chars.get(i + 1).copied().unwrap_or(' ');
                    (chars.get(i) == Some(&'s') && !after.is_ascii_alphanumeric()).then_some(1)
                });
            if let Some(n) = unit {
                out.push_str("<T>");
                i += n;
                continue;
            }
        }
        if i > start {
            out.extend(&chars[start..i]);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A table with its rules and padding collapsed (cells whose width differs between servers).
pub fn squeeze(text: &str) -> String {
    let mut out = String::new();
    let mut last = '\0';
    for c in text.chars() {
        if (c == ' ' || c == '-') && c == last {
            continue;
        }
        out.push(c);
        last = c;
    }
    out
}

/// Lines sorted (members listed by random ID), and comma lists inside `"…"` sorted too.
pub fn sorted_lines(text: &str) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| match (l.find('"'), l.rfind('"')) {
            (Some(a), Some(b)) if b > a + 1 && l[a + 1..b].contains('=') => {
                let mut parts: Vec<&str> = l[a + 1..b].split(',').collect();
                parts.sort();
                format!("{}{}{}", &l[..=a], parts.join(","), &l[b..])
            }
            _ => l.to_string(),
        })
        .collect();
    lines.sort();
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// `endpoint status`'s raft index and applied index as `<I>`, in each format, and the database
/// sizes as `<S>`: etcd's background commit moves them between two calls, and each tool's server
/// grows its file by its own timing (its pages differ). A size cell must still read like one
/// (`33 kB`), so the formatting is compared.
pub fn mask_raft_index(text: &str) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let mut l = line.to_string();
        for key in [
            "\"raftIndex\":",
            "\"raftAppliedIndex\":",
            "\"RaftIndex\" : ",
            "\"RaftAppliedIndex\" : ",
            "\"dbSizeInUse\":",
            "\"DbSizeInUse\" : ",
            "\"dbSize\":",
            "\"DBSize\" : ",
        ] {
            while let Some(at) = l.find(key) {
                let rest = &l[at + key.len()..];
                let n = rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(rest.len());
                if n == 0 {
                    break;
                }
                l = format!("{}{}<I>{}", &l[..at], key.replace(':', "="), &rest[n..]);
            }
        }
        // simple: `ep, id, version, size, leader, learner, term, index, applied, errors`;
        // table: the same cells between `|`.
        let sep = if l.starts_with('|') { "|" } else { ", " };
        let mut cells: Vec<String> = l.split(sep).map(str::to_string).collect();
        let (a, b) = if sep == "|" { (8, 9) } else { (7, 8) };
        if cells.len() >= 10 && cells[a].trim().chars().all(|c| c.is_ascii_digit()) {
            cells[a] = " <I> ".into();
            cells[b] = " <I> ".into();
            let size = a - 4;
            if is_human_size(cells[size].trim()) {
                cells[size] = " <S> ".into();
            }
            l = cells.join(sep);
        }
        out.push_str(&l);
    }
    out
}

/// Whether `s` is a size as etcdctl prints one: digits, a space, a unit (`33 kB`, `2.1 MB`).
fn is_human_size(s: &str) -> bool {
    s.split_once(' ').is_some_and(|(n, unit)| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_digit() || c == '.')
            && ["B", "kB", "MB", "GB", "TB"].contains(&unit)
    })
}
