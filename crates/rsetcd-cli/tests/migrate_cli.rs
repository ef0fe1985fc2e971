//! `rsetcd migrate` as a command: killed with SIGKILL mid-run and resumed, `check` on empty and
//! non-empty keyspaces, `--dry-run` writing nothing, a prefix holding other data refused.

mod migrate_common;

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use migrate_common::*;
use rsetcd::v2::over_v3::{Engine, Layout};
use rsetcd::v3::WatchItem;
use rsetcd_testkit::V2Api;

fn rsetcd(url: &str, api: &str, args: &[&str]) -> Output {
    Command::new(RSETCD)
        .env("ETCDCTL_API", api)
        .arg("--endpoints")
        .arg(url)
        .arg("migrate")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run rsetcd")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every key under the prefix with its mod revision.
async fn keys(v3: &rsetcd::v3::Client, prefix: &str) -> BTreeMap<Vec<u8>, i64> {
    let resp = v3.get(format!("{prefix}/")).prefix().await.expect("get");
    resp.kvs
        .iter()
        .map(|kv| (kv.key.to_vec(), kv.mod_revision))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_with_sigkill_mid_run_then_resumed_is_equal() {
    let source = node(V2Api::Enabled).await;
    let url = source.client_url();
    let src = v2(&source);
    populate(&src, 10_000).await;
    let v3c = v3(&source);
    let checkpoint = b"/rsetcd-migrate/v2c".to_vec();
    let mut watch = v3c.watch(&checkpoint).await.expect("watch the checkpoint");

    // Small sequential transactions, so that the run is still going when it is killed.
    let mut child = Command::new(RSETCD)
        .args([
            "--endpoints",
            &url,
            "migrate",
            "v2-to-v3",
            "--batch-size",
            "10",
            "--concurrency",
            "1",
        ])
        .args(["--hidden", HIDDEN[0], "--hidden", HIDDEN[1]])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the migration");
    // Kill it by PID once its checkpoint says 2,000 nodes are written (bounded wait).
    let seen = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(item) = watch.next().await {
            if let Ok(WatchItem::Events { events, .. }) = item {
                for e in events {
                    let cp: serde_json::Value =
                        serde_json::from_slice(&e.kv.expect("kv").value).expect("checkpoint JSON");
                    if cp["written"].as_u64().unwrap_or(0) >= 2_000 {
                        return cp;
                    }
                }
            }
        }
        panic!("the checkpoint watch ended");
    })
    .await
    .expect("progress within 120 s");
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reap");
    assert!(!status.success(), "killed, not finished: {status:?}");
    assert_eq!(seen["state"], "copying");

    // What the kill left: whole transactions only. Every node's parent is there, every value
    // is the source's.
    let after_kill = keys(&v3c, "/v2c").await;
    let layout = Layout::new("/v2c");
    let nodes: Vec<_> = after_kill.keys().filter_map(|k| layout.decode(k)).collect();
    assert!(
        nodes.len() >= 2_000 && nodes.len() < 10_100,
        "mid-run: {} nodes",
        nodes.len()
    );
    for (path, _) in &nodes {
        if let Some(parent) = path.parent().filter(|p| !p.is_root()) {
            assert!(
                after_kill.contains_key(&layout.dir_key(&parent)),
                "{path}'s parent"
            );
        }
    }
    let some_file = v3c
        .get(layout.file_key(&rsetcd::v2::over_v3::V2Path::parse("/big/d0/k1").unwrap()))
        .await
        .expect("get");
    if let Some(kv) = some_file.kvs.first() {
        assert_eq!(&kv.value[..], b"v1");
    }

    // Run again: it resumes and finishes; what was written before the kill is not written again.
    let out = rsetcd(
        &url,
        "3",
        &["v2-to-v3", "--hidden", HIDDEN[0], "--hidden", HIDDEN[1]],
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("resuming an earlier run"), "{shown}");
    assert!(shown.contains(": equal"), "{shown}");
    let after_resume = keys(&v3c, "/v2c").await;
    for (key, rev) in &after_kill {
        if layout.decode(key).is_some() {
            assert_eq!(
                after_resume.get(key),
                Some(rev),
                "{} written twice",
                String::from_utf8_lossy(key)
            );
        }
    }
    let engine = Engine::new(v3c.clone(), "/v2c");
    same(
        &source_view(&src).await,
        &engine_view(&engine).await,
        "v2 vs engine after resume",
    );
    assert_eq!(
        hidden_values_v2(&src).await,
        hidden_values_engine(&engine).await
    );
    let cp: serde_json::Value =
        serde_json::from_slice(&v3c.get(&checkpoint).await.expect("get").kvs[0].value)
            .expect("checkpoint");
    assert_eq!(cp["state"], "copied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_empty_or_what_there_is_whatever_the_api() {
    let source = node(V2Api::Enabled).await;
    let url = source.client_url();
    for api in ["2", "3"] {
        let out = rsetcd(&url, api, &["check"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(text(&out).contains(": empty"), "{}", text(&out));
    }
    let c = v2(&source);
    c.write("/a/b", "v")
        .ttl(Duration::from_secs(60))
        .await
        .expect("write");
    c.write("/x/_secret", "hidden").await.expect("write");
    c.write("/big", "y".repeat(5000)).await.expect("write");
    for api in ["2", "3"] {
        let out = rsetcd(&url, api, &["check"]);
        let shown = text(&out);
        assert_eq!(out.status.code(), Some(1), "{shown}");
        assert!(shown.contains("holds data"), "{shown}");
        assert!(
            shown.contains("files: 3 (5007 bytes of values), directories: 2, with a TTL: 1"),
            "{shown}"
        );
        assert!(
            shown.contains("hidden nodes found: 1 (/x/_secret)"),
            "history: {shown}"
        );
        assert!(
            shown.contains("largest value: /big (5000 bytes)"),
            "{shown}"
        );
        assert!(shown.contains("v2 auth: disabled"), "{shown}");
    }
    // Unreachable: exit 2, "could not tell".
    let dead = format!(
        "http://127.0.0.1:{}",
        rsetcd_testkit::free_port().expect("a free port")
    );
    let out = rsetcd(&dead, "3", &["check", "--command-timeout", "2s"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_nothing_and_other_data_is_refused() {
    let source = node(V2Api::Enabled).await;
    let url = source.client_url();
    populate(&v2(&source), 300).await;
    let v3c = v3(&source);
    let before = v3c
        .get("x")
        .await
        .expect("get")
        .header
        .expect("header")
        .revision;
    let out = rsetcd(&url, "3", &["v2-to-v3", "--dry-run"]);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(0), "{shown}");
    assert!(shown.contains("would copy"), "{shown}");
    assert!(
        shown.contains("would fix: missing in v3: directory /awk"),
        "{shown}"
    );
    let after = v3c
        .get("x")
        .await
        .expect("get")
        .header
        .expect("header")
        .revision;
    assert_eq!(before, after, "a dry run wrote: {shown}");
    assert!(
        v3c.get("")
            .prefix()
            .count_only()
            .await
            .expect("count")
            .count
            == 0
    );
    // A lease granted would show too.
    assert!(v3c.leases().await.expect("leases").leases.is_empty());

    // Someone else's node under the prefix: refused (exit 5), then --overwrite replaces it.
    let layout = Layout::new("/v2c");
    let foreign = layout.file_key(&rsetcd::v2::over_v3::V2Path::parse("/not-from-v2").unwrap());
    v3c.put(&foreign, "theirs").await.expect("put");
    let out = rsetcd(&url, "3", &["v2-to-v3", "--no-history"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(text(&out).contains("--overwrite"), "{}", text(&out));
    let out = rsetcd(&url, "3", &["v2-to-v3", "--overwrite"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        v3c.get(&foreign).await.expect("get").kvs.is_empty(),
        "replaced by the source"
    );
}
