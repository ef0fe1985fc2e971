//! `rsetcd` (ETCDCTL_API=3, the default) against etcdctl 3.4 and 3.5 on servers with the same
//! history: put, get, del, txn and compaction in every output format, their flags (as etcd's
//! `tests/e2e/ctl_v3_kv_test.go` and `ctl_v3_txn_test.go` use them), errors and exit codes.

mod v3;

use std::ffi::OsString;

use v3::Trio;

const FORMATS: [&str; 4] = ["simple", "json", "fields", "protobuf"];

#[test]
fn put_get_del_in_every_format() {
    let trio = Trio::start();
    for (i, v) in ["1", "2", "3", "4", "5"].iter().enumerate() {
        trio.same(&["put", &format!("/k/{i}"), v], None);
    }
    trio.same(&["put", "/k/0", "again"], None);
    for w in FORMATS {
        for args in [
            &["get", "/k/1"][..],
            &["get", "/k/", "--prefix"],
            &["get", "/k/", "--prefix", "--keys-only"],
            &["get", "/k/", "--prefix", "--limit", "2"],
            &["get", "/k/1", "/k/4"],
            &["get", "/k/2", "--from-key"],
            &["get", "", "--prefix"],
            &["get", "", "--from-key", "--limit=1"],
            &[
                "get",
                "/k/",
                "--prefix",
                "--sort-by=MODIFY",
                "--order=DESCEND",
            ],
            &[
                "get",
                "/k/",
                "--prefix",
                "--sort-by=value",
                "--order=ascend",
            ],
            &["get", "/k/", "--prefix", "--sort-by=CREATE"],
            &["get", "/k/", "--prefix", "--order=DESCEND"],
            &["get", "/k/0", "--rev", "2"],
            &["get", "/k/0", "--consistency=s"],
            &["get", "/nope"],
            &["get", "/k/", "--prefix", "--count-only"],
            &["get", "/k/1", "--print-value-only"],
        ] {
            let mut a: Vec<&str> = args.to_vec();
            a.extend(["-w", w]);
            trio.same(&a, None);
        }
        let p = format!("/{w}/");
        trio.same(&["put", &format!("{p}a"), "va", "-w", w], None);
        trio.same(&["put", &format!("{p}a"), "vb", "--prev-kv", "-w", w], None);
        trio.same(&["put", &format!("{p}b"), "-w", w], Some("from stdin\n"));
        trio.same(&["del", &format!("{p}a"), "--prev-kv", "-w", w], None);
        trio.same(&["del", &format!("{p}nope"), "-w", w], None);
        trio.same(&["del", &p, "--prefix", "-w", w], None);
    }
    trio.same(&["get", "/k/1", "-w", "table"], None);
    trio.same(&["put", "/t", "v", "-w", "table"], None);
    trio.same(&["get", "/k/1", "--hex"], None);
    trio.same(
        &["get", "/k/", "--prefix", "--hex", "--print-value-only"],
        None,
    );
    trio.same(&["del", "/k/1", "/k/3"], None);
    trio.same(&["del", "/k/", "--from-key"], None);
    trio.finish();
}

#[test]
fn argument_and_server_errors() {
    let trio = Trio::start();
    trio.same(&["put", "/a", "1"], None);
    for args in [
        &["get"][..],
        &["get", "/a", "--prefix", "--from-key"],
        &["get", "/a", "/b", "--prefix"],
        &["get", "/a", "--keys-only", "--count-only"],
        &["get", "/a", "--consistency=x"],
        &["get", "/a", "--order=sideways"],
        &["get", "/a", "--sort-by=colour"],
        &["get", "/a", "--rev=1000"],
        &["get", "/a", "--count-only"],
        &["get", "/a", "--print-value-only", "-w", "json"],
        &["get", "/a", "-w", "yaml"],
        &["put"],
        &["put", "/a", "1", "--lease=zz"],
        &["put", "/a", "1", "--lease=1234"],
        &["put", "/a", "1", "--ignore-value"],
        &["put", "/a", "--ignore-value"],
        &["put", "/nope", "--ignore-value"],
        &["del"],
        &["del", "a", "b", "c"],
        &["del", "/a", "--prefix", "--from-key"],
        &["del", "/a", "/b", "--prefix"],
        &["compaction"],
        &["compaction", "x"],
        &["compaction", "1000"],
    ] {
        trio.same(args, None);
    }
    for args in [
        &["get", "/a", "--bogus"][..],
        &["frobnicate"],
        &["get", "-x"],
    ] {
        trio.usage(args);
    }
    trio.same(&["put", "/a"], None);
    trio.same(&["put", "/a"], Some(""));
    trio.finish();
}

#[test]
fn keys_and_values_are_bytes() {
    use std::os::unix::ffi::OsStringExt;
    let trio = Trio::start();
    let key = OsString::from_vec(b"/bin/\xff\xfe\x01?".to_vec());
    let value = OsString::from_vec(b"v\xc3\x28\n\t\"q\"".to_vec());
    trio.same_os(&["put".into(), key.clone(), value], None);
    for w in FORMATS {
        trio.same_os(
            &[
                "get".into(),
                "/bin/".into(),
                "--prefix".into(),
                "-w".into(),
                w.into(),
            ],
            None,
        );
    }
    trio.same_os(&["get".into(), key.clone(), "--hex".into()], None);
    trio.same(&["put", "/v"], Some("\x01binary\x02 from stdin"));
    trio.same(&["get", "/v", "-w", "fields"], None);
    trio.same_os(&["del".into(), key], None);
    trio.finish();
}

#[test]
fn transactions_from_stdin() {
    let trio = Trio::start();
    trio.same(&["put", "key1", "v1"], None);
    trio.same(&["put", "key2", "v2"], None);
    let txns = [
        "mod(\"key1\") > \"0\"\n\nput key1 \"overwrote-key1\"\n\nput key1 \"created-key1\"\nput key2 \"some extra key\"\n\n",
        "value(\"key1\") = \"nope\"\n\nget key1\n\nget key2\nget key --prefix\ndel key2 --prev-kv\n\n",
        "ver(\"key1\") = \"2\"\nc(\"key1\") != \"0\"\nval(\"key1\") = \"overwrote-key1\"\n\nput \"key 3\" \"v 3\" --prev-kv\ndel nothing\n\n\n",
        "\n\n\n",
        "\nput key5 \"\\x41\\n\"\n\n\n",
    ];
    for w in FORMATS {
        for t in txns {
            trio.same(&["txn", "-w", w], Some(t));
        }
    }
    trio.same(&["txn", "-i"], Some(txns[1]));
    for bad in [
        "nonsense\n\n\n\n",
        "mod(\"key1\") >\n\n\n\n",
        "mod(\"key1\") > \"x\"\n\n\n\n",
        "colour(\"key1\") = \"red\"\n\n\n\n",
        "\nfoo\n\n\n",
        "\nget\n\n\n",
        "\nput key1 v\n",
        "mod(\"key1\") > \"0\"",
    ] {
        trio.same(&["txn"], Some(bad));
    }
    trio.same(&["txn", "extra"], Some("\n\n\n"));
    trio.finish();
}

#[test]
fn compaction() {
    let trio = Trio::start();
    for v in ["1", "2", "3", "4"] {
        trio.same(&["put", "/c", v], None);
    }
    trio.same(&["compaction", "3"], None);
    trio.same(&["get", "/c", "--rev=2"], None);
    trio.same(&["compaction", "3"], None);
    trio.same(&["compaction", "--physical", "4"], None);
    trio.same(&["compaction", "4", "-w", "json"], None);
    trio.finish();
}
