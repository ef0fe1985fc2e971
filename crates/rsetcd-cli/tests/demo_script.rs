//! `scripts/demo.sh` runs with `CARGO_TARGET_DIR` set (it once hard-coded `$PWD/target`) and
//! stops what it started by PID (it once stopped processes by name).
//!
//! The demo is run with `CARGO_TARGET_DIR` set to the target directory this test was built in
//! and the `dev` profile, so its build finds what `cargo test` built; it starts its own 3-node
//! cluster on a free block of loopback ports. The scripts are not in the packaged crate: there,
//! this checks nothing.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The demo's bound: a run takes about 15 s once built.
const LIMIT: Duration = Duration::from_secs(240);

/// Variables cargo sets for the test it runs; passed on to the demo's `cargo build`, they would
/// make dependencies whose build scripts track them (ring) rebuild.
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

fn demo_script() -> Option<PathBuf> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/demo.sh");
    script.is_file().then_some(script)
}

/// `<target>/<profile>/deps/demo_script-<hash>`: the target directory and the profile.
fn target_and_profile() -> (PathBuf, &'static str) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("<profile>/deps");
    let target = profile_dir
        .ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .unwrap_or_else(|| profile_dir.parent().expect("<target>/<profile>"));
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("release") => "release",
        _ => "dev",
    };
    (target.to_path_buf(), profile)
}

/// A base port with the 6 ports of a 3-node dev cluster (BASE..BASE+5) free on 127.0.0.1 now.
fn free_block() -> u16 {
    for _ in 0..50 {
        let Ok(probe) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = probe.local_addr() else {
            continue;
        };
        drop(probe);
        let base = addr.port();
        if base > u16::MAX - 6 {
            continue;
        }
        let held: Vec<_> = (base..base + 6)
            .map_while(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if held.len() == 6 {
            return base;
        }
    }
    panic!("no free block of 6 loopback ports");
}

#[test]
fn demo_names_no_fixed_target_and_kills_nothing_by_name() {
    let Some(script) = demo_script() else { return };
    let text = std::fs::read_to_string(script).expect("read demo.sh");
    // The commands that stop processes by name, spelled in parts so that a search of the tree
    // for them finds real uses only.
    let by_name = [["p", "kill"].concat(), ["kill", "all"].concat()];
    for banned in ["$PWD/target", &by_name[0], &by_name[1]] {
        assert!(!text.contains(banned), "scripts/demo.sh uses {banned}");
    }
}

#[test]
fn demo_runs_with_cargo_target_dir_set() {
    let Some(script) = demo_script() else { return };
    let (target, profile) = target_and_profile();
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .env("CARGO_TARGET_DIR", &target)
        .env("RSETCD_DEMO_PROFILE", profile)
        .env("RSETCD_DEMO_PORT", free_block().to_string())
        .env_remove("ETCDCTL_ENDPOINTS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if CRATE_VARS.iter().any(|v| name.starts_with(v)) {
            cmd.env_remove(&*name);
        }
    }
    let mut child = cmd.spawn().expect("run scripts/demo.sh");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let pid = child.id() as libc::pid_t;
    // Past the bound, SIGTERM: the script's trap stops the cluster it started, by PID.
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let late = done_rx.recv_timeout(LIMIT).is_err();
        if late {
            // SAFETY: kill(2) on our own child's PID; it is reaped only after this thread ends.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        late
    });
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut out = String::new();
    let _ = stdout.read_to_string(&mut out);
    let errors = err_reader.join().unwrap_or_default();
    let _ = done_tx.send(());
    let late = watchdog.join().unwrap_or(true);
    let status = child.wait().expect("wait for demo.sh");
    assert!(!late, "demo.sh ran past {LIMIT:?}:\n{out}\n{errors}");
    assert!(
        status.success(),
        "demo.sh failed ({status}):\n{out}\n{errors}"
    );
    let dir = if profile == "dev" { "debug" } else { "release" };
    let bins = format!("demo: binaries from {}", target.join(dir).display());
    assert!(out.contains(&bins), "{bins:?} not in:\n{out}");
    assert!(out.contains("Hello from the command line"), "{out}");
    assert!(
        out.contains("counter is 101"),
        "the v3 examples ran:\n{out}"
    );
    assert!(out.contains("clients fail over"), "{out}");
    assert!(out.trim_end().ends_with("demo done"), "{out}");
}
