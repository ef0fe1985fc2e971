//! member, user, role and auth commands of `rsetcd` against real etcd.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use rsetcd_testkit::Etcd;

const RSETCD: &str = env!("CARGO_BIN_EXE_rsetcd");

fn rsetcd(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(RSETCD)
        .env("ETCDCTL_API", "2")
        .args(["--endpoints", url])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(url: &str, args: &[&str], stdin: Option<&str>) -> String {
    let out = rsetcd(url, args, stdin);
    assert!(
        out.status.success(),
        "`{}`: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn users_roles_and_auth() {
    let node = Etcd::start().unwrap();
    let url = node.client_url();
    let out = rsetcd(&url, &["auth", "enable"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "auth: No root user available, please create one\n"
    );

    assert_eq!(
        ok(&url, &["user", "add", "root", "--stdin"], Some("rootpw\n")),
        "User root created\n"
    );
    assert_eq!(
        ok(&url, &["auth", "enable"], None),
        "Authentication Enabled\n"
    );
    let root = ["-u", "root:rootpw"];
    let with_root =
        |args: &[&str]| -> Vec<String> { root.iter().chain(args).map(|s| s.to_string()).collect() };
    let run = |args: &[&str], stdin: Option<&str>| {
        let v = with_root(args);
        ok(
            &url,
            &v.iter().map(String::as_str).collect::<Vec<_>>(),
            stdin,
        )
    };
    assert_eq!(run(&["role", "add", "app"], None), "Role app created\n");
    assert_eq!(
        run(
            &["role", "grant", "app", "--path", "/app/*", "--readwrite"],
            None
        ),
        "Role app updated\n"
    );
    assert_eq!(
        run(&["role", "get", "app"], None),
        "Role: app\nKV Read:\n\t/app/*\nKV Write:\n\t/app/*\n"
    );
    assert_eq!(
        run(&["user", "add", "alice:alicepw"], None),
        "User alice created\n"
    );
    assert_eq!(
        run(&["user", "grant", "alice", "--roles", "app"], None),
        "User alice updated\n"
    );
    assert_eq!(
        run(&["user", "get", "alice"], None),
        "User: alice\nRoles: app\n"
    );
    assert_eq!(run(&["user", "list"], None), "alice\nroot\n");
    run(
        &["role", "revoke", "guest", "--path", "/*", "--readwrite"],
        None,
    );

    assert_eq!(
        ok(&url, &["-u", "alice:alicepw", "set", "/app/x", "v"], None),
        "v\n"
    );
    let denied = rsetcd(&url, &["-u", "alice:alicepw", "set", "/other", "v"], None);
    assert_eq!(denied.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&denied.stderr)
        .starts_with("Error:  110: The request requires user authentication"));

    assert_eq!(
        run(&["user", "passwd", "alice", "--stdin"], Some("newpw\n")),
        "Password updated\n"
    );
    assert_eq!(
        run(&["user", "revoke", "alice", "--roles", "app"], None),
        "User alice updated\n"
    );
    assert_eq!(
        run(&["user", "remove", "alice"], None),
        "User alice removed\n"
    );
    assert_eq!(run(&["role", "remove", "app"], None), "Role app removed\n");
    assert_eq!(run(&["auth", "disable"], None), "Authentication Disabled\n");
}

#[test]
fn member_commands() {
    let node = Etcd::start().unwrap();
    let url = node.client_url();
    let list = ok(&url, &["member", "list"], None);
    assert!(list.ends_with("isLeader=true\n"), "{list}");
    let id = list.split(':').next().unwrap().to_string();
    let peer = node.peer_url();
    assert_eq!(
        ok(&url, &["member", "update", &id, &peer], None),
        format!("Updated member with ID {id} in cluster\n")
    );
    let bad = rsetcd(&url, &["member", "remove", "1234"], None);
    assert_eq!(bad.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("No such member"));
}
