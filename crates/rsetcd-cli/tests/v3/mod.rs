//! The harness of the v3 comparisons: the same commands run by Debian's etcdctl 3.4, by etcdctl
//! 3.5 (see [`etcdctl35`]; that half is skipped, loudly, when there is none) and by rsetcd, each on its
//! own etcd server with the same history (so revisions agree). What must differ between servers
//! is masked: cluster and member IDs, lease IDs, the endpoint, remaining TTLs, and etcdctl's
//! `{"level":"warn",…}` retry log lines (timestamps and pointer addresses), which rsetcd does
//! not print.

#![allow(dead_code)]

pub mod more;

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rsetcd_testkit::Etcd;

pub const RSETCD: &str = env!("CARGO_BIN_EXE_rsetcd");

/// One tool against its own server.
pub struct Side {
    pub name: &'static str,
    pub program: String,
    pub node: Etcd,
    /// Values masked in its output: (text, placeholder).
    pub masks: Vec<(String, String)>,
}

/// What a run printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub code: i32,
}

impl Side {
    fn start(name: &'static str, program: String, args: &[&str]) -> Side {
        let mut builder = Etcd::builder();
        for a in args {
            builder = builder.arg(*a);
        }
        let node = builder.start().expect("etcd starts");
        let mut side = Side {
            name,
            program,
            node,
            masks: Vec::new(),
        };
        let url = side.node.client_url();
        let addr = url.trim_start_matches("http://").to_string();
        let (cluster, member) = ids(&url);
        side.mask(&url, "<URL>");
        side.mask(&addr, "<ADDR>");
        side.mask_id(cluster, "C");
        side.mask_id(member, "M");
        side
    }

    /// Masks a 64-bit ID in decimal (signed and unsigned) and hex forms.
    pub fn mask_id(&mut self, id: u64, name: &str) {
        self.mask(&format!("{id:016x}"), &format!("<{name}x>"));
        self.mask(&format!("{id:x}"), &format!("<{name}x>"));
        self.mask(&id.to_string(), &format!("<{name}>"));
        self.mask(&(id as i64).to_string(), &format!("<{name}>"));
    }

    pub fn mask(&mut self, text: &str, placeholder: &str) {
        self.masks.push((text.to_string(), placeholder.to_string()));
        // Longer texts first, so a hex ID is not half-replaced by a shorter one.
        self.masks.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
    }

    pub fn command(&self, args: &[OsString]) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(args)
            .env("ETCDCTL_API", "3")
            .env("ETCDCTL_ENDPOINTS", self.node.client_url())
            .env_remove("ETCDCTL_WRITE_OUT");
        cmd
    }

    /// `args` with `{Ln}` replaced by this side's lease `n` (hex).
    pub fn args(&self, args: &[OsString]) -> Vec<OsString> {
        args.iter()
            .map(|a| {
                let text = a.to_string_lossy();
                match text.strip_prefix("{L").and_then(|t| t.strip_suffix('}')) {
                    Some(n) => Trio::lease_hex(self, n.parse().unwrap()).into(),
                    None => a.clone(),
                }
            })
            .collect()
    }

    /// Runs `args` with `stdin`.
    pub fn run(&self, args: &[OsString], stdin: Option<&[u8]>) -> Output {
        let mut child = self
            .command(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.program));
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        Output {
            stdout: out.stdout,
            stderr: out.stderr,
            code: out.status.code().unwrap_or(-1),
        }
    }

    /// `out` with this side's values masked and etcdctl's retry log lines dropped.
    pub fn normalise(&self, out: &Output) -> (String, String, i32) {
        let clean = |bytes: &[u8]| {
            let mut text = String::from_utf8_lossy(bytes).into_owned();
            for (from, to) in &self.masks {
                text = text.replace(from, to);
            }
            text.lines()
                .filter(|l| !l.starts_with("{\"level\":\"warn\""))
                // etcdctl 3.5 (and rsetcd) print the IDs of `member add|update|remove|promote`
                // with `%16x`: an ID of 15 hex digits gets a leading space, and each side runs
                // on a server of its own, with IDs of its own.
                .map(|l| match l.starts_with("Member ") {
                    true => format!("{}\n", l.replace("  <", " <")),
                    false => format!("{l}\n"),
                })
                .collect::<String>()
        };
        (clean(&out.stdout), clean(&out.stderr), out.code)
    }
}

/// The cluster and member IDs of the server at `url` (from a JSON get).
fn ids(url: &str) -> (u64, u64) {
    let out = Command::new(RSETCD)
        .args(["--endpoints", url, "get", "x", "-w", "json"])
        .env("ETCDCTL_API", "3")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json get");
    (
        v["header"]["cluster_id"].as_u64().unwrap(),
        v["header"]["member_id"].as_u64().unwrap(),
    )
}

/// etcdctl 3.4 (Debian's, on PATH), etcdctl 3.5 (`$RSETCD_ETCDCTL35`) and rsetcd, each on a
/// fresh server.
pub struct Trio {
    pub e34: Option<Side>,
    pub e35: Option<Side>,
    pub rs: Side,
    failures: std::cell::RefCell<Vec<String>>,
}

/// How much of a run must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// stdout, stderr and exit code.
    All,
    /// Everything, with long numbers (IDs not learned beforehand, such as those of leases
    /// granted in the step) and remaining TTLs masked.
    Ids,
    /// A command-line mistake: etcdctl (cobra) also prints the command's usage on stdout and the
    /// error twice; rsetcd prints the error line once. The first stderr line and the exit code
    /// must match.
    Usage,
}

/// etcdctl 3.5: `$RSETCD_ETCDCTL35`; else `<repo>/.etcd/3.5.1/etcdctl` (where
/// `scripts/install-etcd.sh --with-3.5` puts it); else `$RSETCD_ETCDCTL_BIN` when that one says
/// it is 3.5. `None` (the comparison skipped, loudly) when none is found.
pub fn etcdctl35() -> Option<String> {
    let repo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.etcd/3.5.1/etcdctl");
    let candidates = [
        std::env::var("RSETCD_ETCDCTL35").ok(),
        Some(repo.to_string()),
        std::env::var("RSETCD_ETCDCTL_BIN").ok().filter(|p| {
            Command::new(p)
                .arg("version")
                .env("ETCDCTL_API", "3")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("version: 3.5"))
        }),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .find(|p| std::path::Path::new(p).is_file());
    if found.is_none() {
        eprintln!(
            "\n!!!!! no etcdctl 3.5 (RSETCD_ETCDCTL35, .etcd/3.5.1/etcdctl, RSETCD_ETCDCTL_BIN): \
             SKIPPING the etcdctl 3.5 comparison (scripts/install-etcd.sh --with-3.5) !!!!!\n"
        );
    }
    found
}

pub fn etcdctl34() -> Option<String> {
    let ok = Command::new("etcdctl").arg("version").output().is_ok();
    if !ok {
        eprintln!("\n!!!!! etcdctl is not installed: SKIPPING the etcdctl 3.4 comparison !!!!!\n");
    }
    ok.then(|| "etcdctl".to_string())
}

impl Trio {
    pub fn start() -> Trio {
        Trio::start_with(&[])
    }

    /// Servers started with these extra etcd flags.
    pub fn start_with(etcd_args: &[&str]) -> Trio {
        let (a, b) = (etcdctl34(), etcdctl35());
        Trio {
            e34: a.map(|p| Side::start("etcdctl 3.4", p, etcd_args)),
            e35: b.map(|p| Side::start("etcdctl 3.5", p, etcd_args)),
            rs: Side::start("rsetcd", RSETCD.to_string(), etcd_args),
            failures: Default::default(),
        }
    }

    /// Fails the test with every difference found.
    pub fn finish(self) {
        let failures = self.failures.borrow();
        assert!(
            failures.is_empty(),
            "{} differences:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }

    pub fn sides(&self) -> impl Iterator<Item = &Side> {
        self.e34
            .iter()
            .chain(self.e35.iter())
            .chain(std::iter::once(&self.rs))
    }

    pub fn sides_mut(&mut self) -> impl Iterator<Item = &mut Side> {
        self.e34
            .iter_mut()
            .chain(self.e35.iter_mut())
            .chain(std::iter::once(&mut self.rs))
    }

    /// Runs the step everywhere; rsetcd must match etcdctl 3.5 exactly, and etcdctl 3.4 too
    /// unless 3.4 and 3.5 differ there (printed, and returned).
    pub fn same(&self, args: &[&str], stdin: Option<&str>) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.same_os(&args, stdin.map(str::as_bytes))
    }

    pub fn same_os(&self, args: &[OsString], stdin: Option<&[u8]>) -> Vec<String> {
        self.same_as(Match::All, args, stdin)
    }

    /// A usage error: see [`Match::Usage`].
    pub fn usage(&self, args: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        self.same_as(Match::Usage, &args, None)
    }

    pub fn same_as(&self, how: Match, args: &[OsString], stdin: Option<&[u8]>) -> Vec<String> {
        let protobuf = args.windows(2).any(|w| w[0] == "-w" && w[1] == "protobuf");
        let outs: Vec<(String, String, i32)> = self
            .sides()
            .map(|s| {
                let mut out = s.run(&s.args(args), stdin);
                if protobuf {
                    out.stdout = pb_masked(&out.stdout, s, how == Match::Ids);
                }
                let (o, e, c) = s.normalise(&out);
                match how {
                    Match::All => (o, e, c),
                    Match::Ids => (mask_numbers(&o), mask_numbers(&e), c),
                    Match::Usage => {
                        let first = e
                            .lines()
                            .next()
                            .unwrap_or("")
                            .replace("\"rsetcd\"", "\"etcdctl\"");
                        (String::new(), first, c)
                    }
                }
            })
            .collect();
        self.judge(args, outs)
    }

    /// Compares normalised outputs (one per side, in `sides()` order).
    pub fn judge(&self, args: &[OsString], outs: Vec<(String, String, i32)>) -> Vec<String> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let shown = shown.join(" ");
        let ours = outs.last().unwrap().clone();
        let mut notes = Vec::new();
        let (o34, o35) = match (&self.e34, &self.e35) {
            (Some(_), Some(_)) => (Some(&outs[0]), Some(&outs[1])),
            (Some(_), None) => (Some(&outs[0]), None),
            (None, Some(_)) => (None, Some(&outs[0])),
            (None, None) => (None, None),
        };
        let fail = |what: &str, theirs: &(String, String, i32)| {
            self.failures.borrow_mut().push(format!(
                "`{shown}`: {what} and rsetcd differ\n  etcdctl: {theirs:?}\n  rsetcd:  {ours:?}"
            ));
        };
        if let Some(e35) = o35 {
            if *e35 != ours {
                fail("etcdctl 3.5", e35);
            }
        }
        if let Some(e34) = o34 {
            match o35 {
                Some(e35) if e35 != e34 => {
                    let note = format!("`{shown}`: etcdctl 3.4 differs from 3.5 (rsetcd follows 3.5):\n  3.4: {e34:?}\n  3.5: {e35:?}");
                    eprintln!("{note}");
                    notes.push(note);
                }
                _ if *e34 != ours => fail("etcdctl 3.4", e34),
                _ => {}
            }
        }
        notes
    }

    /// Learns the lease ID each side printed in a `lease grant` answer, masked as `<Ln>`.
    pub fn grant(&mut self, ttl: &str, n: usize) {
        for side in self.sides_mut() {
            let out = side.run(&["lease".into(), "grant".into(), ttl.into()], None);
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let id = text
                .split_whitespace()
                .nth(1)
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .unwrap_or_else(|| panic!("{}: lease grant printed {text:?}", side.name));
            side.mask_id(id, &format!("L{n}"));
        }
    }

    /// The lease ID `n` as each side knows it (hex), for building per-side arguments.
    pub fn lease_hex(side: &Side, n: usize) -> String {
        side.masks
            .iter()
            .find(|(t, p)| *p == format!("<L{n}x>") && t.len() == 16)
            .map(|(t, _)| t.clone())
            .expect("lease granted")
    }
}

/// A long-running command (watch, keep-alive): started, fed `stdin` lines, read until `until`
/// holds for its stdout (bounded by `limit`), then killed; its stdout and stderr.
pub fn stream(
    side: &Side,
    args: &[OsString],
    stdin: &[u8],
    until: impl Fn(&str) -> bool,
    limit: Duration,
) -> Output {
    let mut child: Child = side
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin).unwrap();
    // Closed at once when nothing is to be written (`watch -i` then meets the end of its input).
    let input = (!stdin.is_empty()).then_some(input);
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut all = Vec::new();
        loop {
            let mut line = Vec::new();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    all.extend_from_slice(&line);
                    if tx.send(all.clone()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    let mut exited = None;
    while !until(&String::from_utf8_lossy(&seen)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(all) => seen = all,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait().unwrap() {
                    exited = Some(status);
                    // Drain what is left.
                    while let Ok(all) = rx.recv_timeout(Duration::from_millis(200)) {
                        seen = all;
                    }
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{}: {:?} printed only {:?}",
                    side.name,
                    args,
                    String::from_utf8_lossy(&seen)
                );
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                // Its stdout closed: it is ending; give it a moment to be reaped.
                let reaped = Instant::now() + Duration::from_secs(5);
                while exited.is_none() && Instant::now() < reaped {
                    exited = child.try_wait().unwrap();
                    std::thread::sleep(Duration::from_millis(10));
                }
                break;
            }
        }
    }
    let code = match exited.or(child.try_wait().unwrap()) {
        Some(s) => s.code().unwrap_or(-1),
        None => {
            child.kill().unwrap();
            child.wait().unwrap();
            -9
        }
    };
    drop(input);
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    Output {
        stdout: seen,
        stderr,
        code,
    }
}

/// A protobuf answer with what differs between servers left out: the header's cluster and member
/// IDs (fields 1 and 2 of the header, field 1 of the answer) and any top-level varint that is a
/// lease ID of this side.
pub fn pb_masked(bytes: &[u8], side: &Side, big: bool) -> Vec<u8> {
    fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*i)?;
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn put(out: &mut Vec<u8>, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    // Walks the fields; `drop` decides which varint fields go; field 1 (LEN) recursed once.
    fn walk(b: &[u8], top: bool, leases: &[u64], big: bool) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let key = varint(b, &mut i)?;
            let (field, wire) = (key >> 3, key & 7);
            match wire {
                0 => {
                    let v = varint(b, &mut i)?;
                    let masked = (!top && (field == 1 || field == 2))
                        || (top && (leases.contains(&v) || (big && v > 1 << 40)));
                    if !masked {
                        put(&mut out, key);
                        put(&mut out, v);
                    }
                }
                2 => {
                    let len = varint(b, &mut i)? as usize;
                    let body = b.get(i..i + len)?;
                    i += len;
                    let body = if top && field == 1 {
                        walk(body, false, leases, big)?
                    } else {
                        body.to_vec()
                    };
                    put(&mut out, key);
                    put(&mut out, body.len() as u64);
                    out.extend_from_slice(&body);
                }
                _ => return None,
            }
        }
        Some(out)
    }
    let leases: Vec<u64> = side
        .masks
        .iter()
        .filter(|(t, p)| p.starts_with("<L") && !p.ends_with("x>") && !t.starts_with('-'))
        .filter_map(|(t, _)| t.parse().ok())
        .collect();
    walk(bytes, true, &leases, big).unwrap_or_else(|| bytes.to_vec())
}

/// Masks runs of 15 or more digits, 16-digit hex words, and remaining TTLs.
pub fn mask_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let digits = word.len() >= 15 && word.bytes().all(|b| b.is_ascii_digit());
        let hex = word.len() == 16 && word.bytes().all(|b| b.is_ascii_hexdigit());
        out.push_str(if digits || hex { "<ID>" } else { word });
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
    // remaining(99s), "ttl":99, "TTL" : 99
    let mut text = out;
    for marker in ["remaining(", "\"ttl\":", "\"TTL\" : "] {
        let mut result = String::new();
        let mut rest = text.as_str();
        while let Some(at) = rest.find(marker) {
            let (head, tail) = rest.split_at(at + marker.len());
            result.push_str(head);
            let digits = tail
                .trim_start_matches('-')
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(tail.len());
            let skip = digits + (tail.len() - tail.trim_start_matches('-').len());
            result.push_str(if skip > 0 { "T" } else { "" });
            rest = &tail[skip..];
        }
        result.push_str(rest);
        text = result;
    }
    text
}
