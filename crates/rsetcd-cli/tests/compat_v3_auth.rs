//! `auth`, `user` and `role` against etcdctl 3.4 and 3.5 on servers with the same history, as
//! etcd's `tests/e2e/ctl_v3_auth_test.go`, `ctl_v3_user_test.go` and `ctl_v3_role_test.go` call
//! etcdctl (passwords from `--interactive=false` stdin, `name:password`, `--new-user-password`).

mod v3;

use v3::Trio;

#[test]
fn users_roles_and_auth_in_every_format() {
    let trio = Trio::start();
    let formats = ["simple", "json", "fields", "protobuf", "table"];
    trio.same(&["user", "add", "root:rootpw"], None);
    trio.same(&["user", "add", "alice", "--new-user-password=pw"], None);
    trio.same(
        &["user", "add", "bob", "--interactive=false"],
        Some("bobpw\n"),
    );
    trio.same(&["user", "add", "carol", "--no-password"], None);
    trio.same(&["role", "add", "r-x"], None);
    for w in ["json", "fields", "protobuf"] {
        trio.same(&["user", "add", &format!("u-{w}:pw"), "-w", w], None);
        trio.same(
            &["role", "grant-permission", "r-x", "read", "/q", "-w", w],
            None,
        );
        trio.same(&["role", "revoke-permission", "r-x", "/q", "-w", w], None);
    }
    for args in [
        &["user", "add"][..],
        &["user", "add", "alice:x"],
        &["user", "add", ":pw"],
        &["user", "get"],
        &["user", "get", "nobody"],
        &["user", "delete"],
        &["user", "passwd"],
        &["user", "grant-role", "alice"],
        &["user", "revoke-role", "alice"],
        &["role", "add"],
        &["role", "get"],
        &["role", "delete"],
        &["role", "grant-permission", "r1", "read"],
        &["role", "grant-permission", "r1", "bogus", "/x"],
        &["role", "revoke-permission", "r1"],
        &["auth", "enable", "x"],
    ] {
        trio.same(args, None);
    }
    for w in formats {
        trio.same(&["role", "add", &format!("r-{w}"), "-w", w], None);
    }
    trio.same(&["role", "add", "r1"], None);
    trio.same(&["role", "add", "r1"], None);
    for args in [
        &["role", "grant-permission", "r1", "read", "/a"][..],
        &[
            "role",
            "grant-permission",
            "r1",
            "readwrite",
            "/p",
            "--prefix",
        ],
        &[
            "role",
            "grant-permission",
            "r1",
            "write",
            "/f",
            "--from-key",
        ],
        &["role", "grant-permission", "r1", "write", "/r", "/s"],
        &["role", "grant-permission", "r1", "READ", "", "--prefix"],
        &[
            "role",
            "grant-permission",
            "r1",
            "read",
            "/x",
            "/y",
            "--prefix",
        ],
        &[
            "role",
            "grant-permission",
            "r1",
            "read",
            "/x",
            "--prefix",
            "--from-key",
        ],
        &["role", "grant-permission", "nor", "read", "/a"],
    ] {
        trio.same(args, None);
    }
    for w in formats {
        trio.same(&["role", "get", "r1", "-w", w], None);
        trio.same(&["role", "list", "-w", w], None);
        trio.same(&["user", "list", "-w", w], None);
        trio.same(&["user", "grant-role", "alice", "r1", "-w", w], None);
        trio.same(&["user", "get", "alice", "-w", w], None);
        trio.same(&["user", "revoke-role", "alice", "r1", "-w", w], None);
    }
    trio.same(&["user", "grant-role", "alice", "r1"], None);
    trio.same(&["user", "grant-role", "alice", "nor"], None);
    trio.same(&["user", "get", "alice", "--detail"], None);
    trio.same(&["user", "get", "alice", "--detail", "-w", "json"], None);
    trio.same(&["user", "revoke-role", "bob", "r1"], None);
    for w in formats {
        trio.same(
            &["user", "passwd", "bob", "--interactive=false", "-w", w],
            Some("newpw\n"),
        );
    }
    for args in [
        &["role", "revoke-permission", "r1", "/a"][..],
        &["role", "revoke-permission", "r1", "/p", "--prefix"],
        &["role", "revoke-permission", "r1", "/f", "--from-key"],
        &["role", "revoke-permission", "r1", "/r", "/s"],
        &["role", "revoke-permission", "r1", "", "--prefix"],
        &["role", "revoke-permission", "r1", "/zz"],
        &["role", "revoke-permission", "r1", "/a", "-w", "json"],
    ] {
        trio.same(args, None);
    }
    // Auth on: as root, then without credentials.
    trio.same(&["auth", "enable"], None);
    trio.same(&["auth", "enable"], None);
    trio.same(&["--user", "root:rootpw", "auth", "enable"], None);
    trio.same(&["--user", "root:rootpw", "user", "list"], None);
    trio.same(&["--user", "root:wrong", "user", "list"], None);
    trio.same(&["--user", "alice:pw", "put", "/a", "v"], None);
    trio.same(&["--user", "alice:pw", "put", "/p/1", "v"], None);
    trio.same(&["--user", "alice:pw", "get", "/p/1"], None);
    trio.same(&["--user", "bob:newpw", "get", "/p/1"], None);
    trio.same(
        &["--user", "alice", "--password", "pw", "get", "/p/1"],
        None,
    );
    trio.same(&["--user", "root:rootpw", "auth", "disable"], None);
    trio.same(&["auth", "disable"], None);
    for w in formats {
        trio.same(&["user", "delete", "bob", "-w", w], None);
        trio.same(&["role", "delete", &format!("r-{w}"), "-w", w], None);
    }
    trio.finish();
}

#[test]
fn enabling_auth_without_a_root_user_or_role() {
    let trio = Trio::start();
    trio.same(&["auth", "enable"], None);
    // A root user without the root role: etcdctl grants it, then enables.
    trio.same(&["user", "add", "root:rootpw"], None);
    trio.same(&["auth", "enable"], None);
    trio.same(&["--user", "root:rootpw", "user", "get", "root"], None);
    trio.same(&["--user", "root:rootpw", "auth", "disable"], None);
    trio.finish();
}

/// `auth status` (etcdctl 3.5's; 3.4 has no such command and prints the `auth` help, noted as
/// a 3.4/3.5 difference). On an etcd 3.5 server: auth off, after user changes (each raises the
/// auth revision), on (as root, as another user, without credentials), off again; simple, json
/// and protobuf, and fields and table refused after the call (exit 4). On an etcd 3.4 server
/// every step is etcd's `Unimplemented` refusal (exit 1), the same in every format.
#[test]
fn auth_status_in_every_format() {
    let trio = Trio::start();
    let formats = ["simple", "json", "fields", "protobuf", "table"];
    let status = |user: Option<&str>| {
        for w in formats {
            let mut args = Vec::new();
            if let Some(u) = user {
                args.extend(["--user", u]);
            }
            args.extend(["auth", "status", "-w", w]);
            trio.same(&args, None);
        }
    };
    status(None);
    trio.same(&["auth", "status"], None);
    trio.same(&["auth", "status", "x"], None);
    trio.same(&["auth", "status", "--hex", "-w", "protobuf"], None);
    trio.same(&["user", "add", "root:rootpw"], None);
    status(None);
    trio.same(&["user", "add", "alice:pw"], None);
    trio.same(&["role", "add", "r1"], None);
    trio.same(&["role", "grant-permission", "r1", "read", "/a"], None);
    trio.same(&["user", "grant-role", "alice", "r1"], None);
    status(None);
    trio.same(&["auth", "enable"], None);
    status(Some("root:rootpw"));
    status(Some("alice:pw"));
    trio.same(&["auth", "status"], None);
    trio.same(&["--user", "root:wrong", "auth", "status"], None);
    trio.same(&["--user", "root:rootpw", "user", "delete", "alice"], None);
    status(Some("root:rootpw"));
    trio.same(&["--user", "root:rootpw", "auth", "disable"], None);
    status(None);
    trio.same(
        &["user", "passwd", "root", "--interactive=false"],
        Some("newpw\n"),
    );
    status(None);
    trio.finish();
}
