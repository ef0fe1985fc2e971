//! Runs every example of `examples/` against a real etcd from the test kit, as a user would
//! (`ETCDCTL_ENDPOINTS=… target/debug/examples/NAME`), and checks what it printed.
//!
//! Cargo gives integration tests no path to the examples (`CARGO_BIN_EXE_*` is for binaries
//! only), so the examples are built here, by the cargo that runs this test (`$CARGO`), into the
//! target directory and profile this test binary was built in (found from its own path); its
//! JSON messages name each executable. After a `cargo test` that built them already, that build
//! only checks they are fresh (about a second); run alone (`cargo test --test examples`), it
//! builds them first.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rsetcd_testkit::{Etcd, V2Api};

/// How long one example may run before it is killed and the test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// The variables (or prefixes) cargo sets for the crate it runs, not for a cargo it starts.
const CRATE_VARS: &[&str] = &[
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_CRATE_",
    "CARGO_BIN_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// The target directory and the cargo flags for the profile (and target) of this test binary:
/// `<target>/[<triple>/]<profile>/deps/examples-<hash>`.
fn build_flags() -> (PathBuf, Vec<String>) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("<profile>/deps/<test>");
    let target_dir = profile_dir
        .ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .unwrap_or_else(|| profile_dir.parent().expect("<target>/<profile>"));
    let mut flags = Vec::new();
    match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => {}
        Some("release") => flags.push("--release".into()),
        Some(other) => flags.extend(["--profile".into(), other.to_string()]),
    }
    if let Some(triple) = profile_dir.parent().filter(|p| *p != target_dir) {
        if let Some(name) = triple.file_name().and_then(|n| n.to_str()) {
            flags.extend(["--target".into(), name.to_string()]);
        }
    }
    (target_dir.to_path_buf(), flags)
}

/// Builds the examples once per test binary; the executables by example name.
fn examples() -> &'static Vec<(String, PathBuf)> {
    static BUILT: OnceLock<Vec<(String, PathBuf)>> = OnceLock::new();
    BUILT.get_or_init(|| {
        let (target_dir, flags) = build_flags();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
        let mut build = Command::new(cargo);
        // The variables cargo set for this test (CARGO_PKG_NAME…) would reach the build scripts
        // of dependencies that track them (ring does), which would then rebuild everything.
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if CRATE_VARS.iter().any(|v| name.starts_with(v)) {
                build.env_remove(&*name);
            }
        }
        let out = build
            .args([
                "build",
                "--examples",
                "--message-format=json-render-diagnostics",
            ])
            .arg("--manifest-path")
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target_dir)
            .args(&flags)
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build --examples");
        assert!(out.status.success(), "cargo build --examples failed");
        let built: Vec<(String, PathBuf)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|m| m["reason"] == "compiler-artifact")
            .filter(|m| {
                m["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "example"))
            })
            .filter_map(|m| {
                let name = m["target"]["name"].as_str()?.to_string();
                Some((name, PathBuf::from(m["executable"].as_str()?)))
            })
            .collect();
        assert!(!built.is_empty(), "cargo named no example executable");
        built
    })
}

fn executable(name: &str) -> PathBuf {
    examples()
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, path)| path.clone())
        .unwrap_or_else(|| panic!("no example {name} was built"))
}

fn etcd() -> &'static Etcd {
    Etcd::shared().expect("start the shared etcd")
}

/// The v2 examples share keys (`/message`…): one at a time.
fn v2_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

fn has_v2() -> bool {
    etcd().v2_api() != &V2Api::Disabled
}

/// Runs example `name` against the shared etcd and returns what it printed; fails when it
/// fails or outlives [`LIMIT`] (then it is killed, through its own handle).
fn run(name: &str) -> String {
    let exe = executable(name);
    let mut child = Command::new(&exe)
        .env("ETCDCTL_ENDPOINTS", etcd().client_url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let started = Instant::now();
    // This thread reads; the watchdog owns the child, kills it past the limit (which ends the
    // read), and reaps it.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let killed = done_rx.recv_timeout(LIMIT).is_err();
        if killed {
            let _ = child.kill();
        }
        (child.wait(), killed)
    });
    let mut printed = String::new();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        printed.push_str(&line);
        printed.push('\n');
    }
    let mut errors = String::new();
    let _ = stderr.read_to_string(&mut errors);
    let _ = done_tx.send(());
    let (status, killed) = watchdog.join().expect("the watchdog thread");
    let status = status.expect("wait for the example");
    assert!(
        !killed,
        "{name} ran longer than {LIMIT:?}; it printed:\n{printed}"
    );
    assert!(
        status.success(),
        "{name} failed ({status}) after {:?}:\n{printed}\nstderr:\n{errors}",
        started.elapsed()
    );
    printed
}

#[test]
fn every_example_is_run_here() {
    let tested = [
        "quickstart",
        "cluster",
        "watch",
        "v3_quickstart",
        "v3_txn",
        "v3_watch",
        "v3_lease",
        "v3_lock",
        "v3_election",
    ];
    for (name, _) in examples() {
        assert!(
            tested.contains(&name.as_str()),
            "example {name} has no test in tests/examples.rs"
        );
    }
}

#[test]
fn v3_quickstart() {
    let out = run("v3_quickstart");
    assert!(out.contains("= Hello world (created at"), "{out}");
    assert!(
        out.contains("2 of 3 keys under /rsetcd-examples/quickstart/config/ (more: true)"),
        "{out}"
    );
    assert!(out.contains("replaced \"Hello world\" with"), "{out}");
    assert!(out.contains("deleted 4 keys"), "{out}");
}

#[test]
fn v3_txn() {
    let out = run("v3_txn");
    assert!(
        out.contains("changed under us (now Some(\"100\")); retrying"),
        "{out}"
    );
    assert!(out.contains("counter is 101"), "{out}");
    assert!(
        out.contains("alice took /rsetcd-examples/txn/owner"),
        "{out}"
    );
    assert!(
        out.contains("bob found /rsetcd-examples/txn/owner held by alice"),
        "{out}"
    );
}

#[test]
fn v3_watch() {
    let out = run("v3_watch");
    assert!(out.contains("CREATE /rsetcd-examples/watch/a = 1"), "{out}");
    assert!(
        out.contains("PUT    /rsetcd-examples/watch/a = 2 (was Some(\"1\"))"),
        "{out}"
    );
    assert!(
        out.contains("DELETE /rsetcd-examples/watch/a (was Some(\"2\"))"),
        "{out}"
    );
    // A transaction's events come in one answer (which may hold earlier revisions too, when
    // etcd sends a watcher that fell behind its backlog at once).
    let (a3, b4) = (
        out.find("CREATE /rsetcd-examples/watch/a = 3"),
        out.find("CREATE /rsetcd-examples/watch/b = 4"),
    );
    assert!(
        a3.zip(b4)
            .is_some_and(|(a, b)| a < b && !out[a..b].contains("event(s)")),
        "the transaction's two puts come as one answer: {out}"
    );
    assert!(out.contains("replayed 5 events from revision"), "{out}");
}

#[test]
fn v3_lease() {
    let out = run("v3_lease");
    assert!(
        out.contains("keys [\"/rsetcd-examples/lease/service\"]"),
        "{out}"
    );
    assert!(out.contains("has 0 keys left"), "{out}");
    assert!(out.contains("expired: true"), "{out}");
}

#[test]
fn v3_lock() {
    let out = run("v3_lock");
    assert_eq!(out.matches("holds the lock").count(), 4, "{out}");
    assert!(!out.contains("alone: false"), "two holders at once: {out}");
    assert!(out.contains("both done"), "{out}");
}

#[test]
fn v3_election() {
    let out = run("v3_election");
    assert!(
        out.contains("the leader says \"alice, second term\""),
        "{out}"
    );
    assert!(out.contains("observed leader value \"bob\""), "{out}");
    assert!(out.contains("bob leads since revision"), "{out}");
    assert!(out.contains("election over"), "{out}");
}

#[test]
fn v2_quickstart() {
    if !has_v2() {
        return;
    }
    let _turn = v2_turn();
    let out = run("quickstart");
    assert!(out.contains("/message = Hello world"), "{out}");
    assert!(out.contains("swapped: Hello world -> Hello etcd"), "{out}");
    assert!(out.contains("missing key:"), "{out}");
}

#[test]
fn v2_cluster() {
    if !has_v2() {
        return;
    }
    let _turn = v2_turn();
    let out = run("cluster");
    assert!(out.contains("/nodes/n1 = 1"), "{out}");
    assert!(out.contains("/nodes/n2 = 2"), "{out}");
}

#[test]
fn v2_watch() {
    if !has_v2() {
        return;
    }
    let _turn = v2_turn();
    let client = rsetcd::v2::blocking::Client::builder()
        .host(etcd().client_url())
        .build()
        .expect("a v2 client");
    // The example waits for the next change of /message: write it until the example has seen
    // one (a write before its wait arrived changes nothing; the next one wakes it).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = std::sync::Arc::clone(&stop);
        std::thread::spawn(move || {
            let until = Instant::now() + LIMIT;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < until {
                let _ = client.write("/message", "Hello from the test").send();
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let out = run("watch");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = writer.join();
    assert!(out.contains("set /message = Hello from the test"), "{out}");
}
