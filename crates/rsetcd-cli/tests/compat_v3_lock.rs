//! `lock`, `elect` and `make-mirror` against etcdctl 3.4 and 3.5 (as etcd's
//! `tests/e2e/ctl_v3_lock_test.go`, `ctl_v3_elect_test.go` and `ctl_v3_make_mirror_test.go` call
//! etcdctl), and the progress of long commands: on a terminal (a pty made by `script`), never on
//! a pipe.

mod v3;

use std::ffi::OsString;
use std::process::Command;
use std::time::Duration;

use v3::more::mask_hex_ids;
use v3::{stream, Trio};

fn os(args: &[&str]) -> Vec<OsString> {
    args.iter().map(OsString::from).collect()
}

/// Runs a command that holds on until stopped, reads its first lines, then stops it (SIGKILL:
/// the session's lease then expires by itself; the keys differ per side and are masked).
fn same_held(trio: &Trio, args: &[&str], lines: usize) {
    let args = os(args);
    let outs = trio
        .sides()
        .map(|s| {
            let out = stream(
                s,
                &s.args(&args),
                b"",
                |t| t.matches('\n').count() >= lines,
                Duration::from_secs(15),
            );
            let (o, e, c) = s.normalise(&out);
            (mask_hex_ids(&o), e, c)
        })
        .collect();
    trio.judge(&args, outs);
}

#[test]
fn lock_and_elect() {
    let trio = Trio::start();
    for args in [
        &["lock"][..],
        &["elect"],
        &["elect", "e1"],
        &["elect", "e1", "p1", "p2"],
        &["lock", "l0", "--", "sh", "-c", "exit 3"],
        &[
            "lock",
            "l0",
            "--ttl",
            "5",
            "--",
            "sh",
            "-c",
            "echo $ETCD_LOCK_KEY | cut -d/ -f1",
        ],
        &["lock", "l0", "-w", "json", "--", "echo", "hi"],
    ] {
        trio.same(args, None);
    }
    same_held(&trio, &["lock", "l1"], 2);
    same_held(&trio, &["elect", "e1", "p1"], 2);
    trio.finish();
}

#[test]
fn make_mirror_copies_then_follows() {
    let trio = Trio::start();
    trio.same(&["put", "/m/a", "1"], None);
    trio.same(&["put", "/m/b", "2"], None);
    trio.same(&["make-mirror"], None);
    trio.same(&["make-mirror", "a", "b"], None);
    // Each side mirrors /m/ into its own second server, under /n/.
    let dests: Vec<rsetcd_testkit::Etcd> = trio
        .sides()
        .map(|_| rsetcd_testkit::Etcd::start().expect("etcd starts"))
        .collect();
    std::thread::scope(|scope| {
        for (side, dest) in trio.sides().zip(&dests) {
            scope.spawn(move || {
                let url = dest.client_url();
                let args = os(&["make-mirror", "--prefix=/m/", "--dest-prefix=/n/", &url]);
                let mut child = side
                    .command(&args)
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .expect("runs");
                side.run(&os(&["put", "/m/c", "3"]), None);
                let get = || {
                    let out = Command::new(v3::RSETCD)
                        .args(["--endpoints", &url, "get", "/n/", "--prefix"])
                        .env("ETCDCTL_API", "3")
                        .output()
                        .expect("get");
                    String::from_utf8_lossy(&out.stdout).into_owned()
                };
                let want = "/n/a\n1\n/n/b\n2\n/n/c\n3\n";
                let deadline = std::time::Instant::now() + Duration::from_secs(15);
                let mut seen = get();
                while seen != want && std::time::Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(100));
                    seen = get();
                }
                let _ = child.kill();
                let _ = child.wait();
                assert_eq!(seen, want, "{}", side.name);
            });
        }
    });
    trio.finish();
}

/// `script -qec CMD /dev/null`: CMD on a pseudo-terminal; what the terminal showed.
fn on_pty(cmd: &str, endpoint: &str) -> Option<String> {
    let out = Command::new("script")
        .args(["-qec", cmd, "/dev/null"])
        .env("ETCDCTL_API", "3")
        .env("ETCDCTL_ENDPOINTS", endpoint)
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_on_a_terminal_never_on_a_pipe() {
    let node = rsetcd_testkit::Etcd::start().expect("etcd starts");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.db");
    let file = file.to_str().unwrap();
    let cmd = format!("{} snapshot save {file}", v3::RSETCD);
    let Some(screen) = on_pty(&cmd, &node.client_url()) else {
        eprintln!("!!!!! `script` is not installed: SKIPPING the terminal half !!!!!");
        return;
    };
    assert!(screen.contains("Downloading snapshot: "), "{screen:?}");
    assert!(screen.contains("Snapshot saved at"), "{screen:?}");
    // On a pipe: etcdctl's lines only.
    let out = Command::new(v3::RSETCD)
        .args(["snapshot", "save", file])
        .env("ETCDCTL_API", "3")
        .env("ETCDCTL_ENDPOINTS", node.client_url())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("Downloading"), "{err:?}");
    assert!(!err.contains('\r'), "{err:?}");
    assert!(
        err.lines().all(|l| l.starts_with("{\"level\":\"info\"")),
        "{err:?}"
    );
    // defrag --cluster over two endpoints' worth (the same member twice) on a terminal.
    let cmd = format!(
        "{} --endpoints {},{} defrag",
        v3::RSETCD,
        node.client_url(),
        node.client_url()
    );
    let screen = on_pty(&cmd, &node.client_url()).unwrap_or_default();
    assert!(screen.contains("defragmenting member 1/2"), "{screen:?}");
    assert_eq!(
        screen.matches("Finished defragmenting").count(),
        2,
        "{screen:?}"
    );
}
