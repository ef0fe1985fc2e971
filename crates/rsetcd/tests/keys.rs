//! Every key operation against a real etcd, including pyetcd's own functional scenarios, on
//! both v2 backends (`http::` and `over_v3::`, see `common::Backend`); where the v3 backend
//! differs by design (`docs/v2-over-v3.md` §8), the test says so.

mod common;

use std::time::{Duration, Instant};

use common::{unique, Backend};
use rsetcd::v2::Action;
use rsetcd::{Error, EtcdCode};

fn code(err: Error) -> EtcdCode {
    err.code()
        .unwrap_or_else(|| panic!("expected an etcd error, got {err}"))
}

async fn write_then_read_and_overwrite(b: Backend) {
    let c = b.client();
    let k = unique("message");
    let r = c.write(&k, "Hello world").await.unwrap();
    assert_eq!(r.action, Action::Set);
    assert_eq!(r.node.key, k);
    assert_eq!(r.value(), Some("Hello world"));
    assert!(r.prev_node.is_none());
    assert!(r.etcd_index >= r.node.modified_index && r.etcd_index > 0);
    assert!(r.raft_term.is_some() && r.cluster_id.is_some());
    // Over v3 there is no raft index: v3 answer headers carry none (docs/v2-over-v3.md §3).
    assert_eq!(r.raft_index.is_some(), b == Backend::Http);

    let r2 = c.write(&k, "Hello etcd").await.unwrap();
    assert_eq!(
        r2.prev_node.as_ref().and_then(|n| n.value.as_deref()),
        Some("Hello world")
    );
    match b {
        Backend::Http => assert!(
            r2.node.created_index > r.node.created_index,
            "a plain set replaces the node"
        ),
        // v3 keeps a key's create revision across puts (docs/v2-over-v3.md §8.1).
        Backend::OverV3 => assert_eq!(r2.node.created_index, r.node.created_index),
    }
    assert_eq!(c.read(&k).await.unwrap().value(), Some("Hello etcd"));
}

async fn mkdir_then_node_exist_on_repeat(b: Backend) {
    let c = b.client();
    let d = unique("dir");
    let r = c.mkdir(&d).await.unwrap();
    assert_eq!(r.action, Action::Create);
    assert!(r.node.dir);
    assert_eq!(code(c.mkdir(&d).await.unwrap_err()), EtcdCode::NodeExist);
    let f = unique("file");
    c.write(&f, "x").await.unwrap();
    assert_eq!(code(c.mkdir(&f).await.unwrap_err()), EtcdCode::NodeExist);
}

async fn rmdir_empty_non_empty_and_recursive(b: Backend) {
    let c = b.client();
    let d = unique("rmdir");
    c.mkdir(&d).await.unwrap();
    let r = c.rmdir(&d).await.unwrap();
    assert_eq!(r.action, Action::Delete);
    assert_eq!(code(c.read(&d).await.unwrap_err()), EtcdCode::KeyNotFound);

    c.write(&format!("{d}/a/b"), "deep").await.unwrap();
    assert_eq!(code(c.rmdir(&d).await.unwrap_err()), EtcdCode::DirNotEmpty);
    assert_eq!(code(c.delete(&d).await.unwrap_err()), EtcdCode::NotFile);
    c.rmdir(&d).recursive().await.unwrap();
    assert_eq!(code(c.read(&d).await.unwrap_err()), EtcdCode::KeyNotFound);
}

async fn ttl_is_reported_and_keys_expire(b: Backend) {
    let c = b.client();
    let (k1, k2) = (unique("ttl1"), unique("ttl2"));
    let r1 = c.write(&k1, "a").ttl(Duration::from_secs(1)).await.unwrap();
    let r2 = c.write(&k2, "b").ttl(Duration::from_secs(2)).await.unwrap();
    // Over v3 a TTL is a lease, raised to etcd's minimum lease TTL (2 s with the default
    // election timeout): the answer shows the TTL granted (docs/v2-over-v3.md §8.5).
    let shortest = match b {
        Backend::Http => 1,
        Backend::OverV3 => 2,
    };
    assert_eq!(r1.node.ttl, Some(shortest));
    assert_eq!(r2.node.ttl, Some(2));
    assert!(r2.node.expiration_time().is_some());
    // Expiry is the subject here: poll, bounded, until both are gone.
    let start = Instant::now();
    for k in [&k1, &k2] {
        loop {
            match c.read(k).await {
                Ok(_) => {
                    assert!(
                        start.elapsed() < Duration::from_secs(6),
                        "{k} never expired"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => {
                    assert_eq!(code(e), EtcdCode::KeyNotFound);
                    break;
                }
            }
        }
    }
    assert!(
        start.elapsed() >= Duration::from_millis(900),
        "expired too early"
    );
}

async fn compare_and_swap_conditions(b: Backend) {
    let c = b.client();
    let k = unique("cas");
    let first = c.write(&k, "1").await.unwrap();

    let err = c
        .compare_and_swap(&k, "2")
        .prev_exist(false)
        .await
        .unwrap_err();
    assert_eq!(code(err), EtcdCode::NodeExist);
    let err = c
        .compare_and_swap(&k, "2")
        .prev_value("nope")
        .await
        .unwrap_err();
    assert_eq!(code(err), EtcdCode::TestFailed);
    let stale = first.node.modified_index;
    let swapped = c
        .compare_and_swap(&k, "2")
        .prev_value("1")
        .prev_index(stale)
        .await
        .unwrap();
    assert_eq!(swapped.action, Action::CompareAndSwap);
    assert_eq!(swapped.node.created_index, first.node.created_index);

    // Both conditions are sent (pyetcd keeps only one): a right value with a stale index fails…
    let now = swapped.node.modified_index;
    let err = c
        .compare_and_swap(&k, "3")
        .prev_value("2")
        .prev_index(stale)
        .await
        .unwrap_err();
    match &err {
        Error::Etcd {
            code: EtcdCode::TestFailed,
            cause: Some(cause),
            ..
        } => {
            assert_eq!(cause, &format!("[{stale} != {now}]"))
        }
        other => panic!("expected TestFailed, got {other}"),
    }
    // …and when both are wrong etcd names both.
    let err = c
        .compare_and_swap(&k, "3")
        .prev_value("nope")
        .prev_index(stale)
        .await
        .unwrap_err();
    match &err {
        Error::Etcd {
            code: EtcdCode::TestFailed,
            cause: Some(cause),
            ..
        } => {
            assert_eq!(cause, &format!("[nope != 2] [{stale} != {now}]"))
        }
        other => panic!("expected TestFailed, got {other}"),
    }
    let ok = c
        .compare_and_swap(&k, "3")
        .prev_value("2")
        .prev_index(swapped.node.modified_index)
        .prev_exist(true)
        .ttl(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(ok.value(), Some("3"));
    assert_eq!(ok.node.ttl, Some(60));

    let err = c
        .compare_and_swap(&unique("missing"), "x")
        .prev_value("y")
        .await
        .unwrap_err();
    assert_eq!(code(err), EtcdCode::KeyNotFound);
    let created = c
        .compare_and_swap(&unique("new"), "x")
        .prev_exist(false)
        .await
        .unwrap();
    assert_eq!(created.action, Action::Create);
}

async fn compare_and_swap_refuses_meaningless_conditions(b: Backend) {
    let c = b.client();
    let k = unique("casargs");
    for err in [
        c.compare_and_swap(&k, "v").await.unwrap_err(),
        c.compare_and_swap(&k, "v")
            .prev_value("")
            .await
            .unwrap_err(),
        c.compare_and_swap(&k, "v").prev_index(0).await.unwrap_err(),
        c.compare_and_delete(&k).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
    }
}

async fn compare_and_delete_by_value_and_index(b: Backend) {
    let c = b.client();
    let k = unique("cad");
    c.write(&k, "one").await.unwrap();
    assert_eq!(
        code(
            c.compare_and_delete(&k)
                .prev_value("two")
                .await
                .unwrap_err()
        ),
        EtcdCode::TestFailed
    );
    let r = c.compare_and_delete(&k).prev_value("one").await.unwrap();
    assert_eq!(r.action, Action::CompareAndDelete);
    assert_eq!(r.prev_node.unwrap().value.as_deref(), Some("one"));

    let w = c.write(&k, "again").await.unwrap();
    let idx = w.node.modified_index;
    c.write(&k, "moved").await.unwrap();
    assert_eq!(
        code(c.compare_and_delete(&k).prev_index(idx).await.unwrap_err()),
        EtcdCode::TestFailed
    );
    let now = c.read(&k).await.unwrap().node.modified_index;
    let r = c.compare_and_delete(&k).prev_index(now).await.unwrap();
    assert_eq!(r.action, Action::CompareAndDelete);
    assert_eq!(code(c.read(&k).await.unwrap_err()), EtcdCode::KeyNotFound);
}

async fn update_ttl_keeps_the_value(b: Backend) {
    let c = b.client();
    let k = unique("refresh");
    c.write(&k, "held")
        .ttl(Duration::from_secs(20))
        .await
        .unwrap();
    let r = c.update_ttl(&k, Duration::from_secs(60)).await.unwrap();
    assert_eq!(r.action, Action::Update);
    assert_eq!(r.node.ttl, Some(60));
    assert_eq!(r.value(), Some("held"));
    assert_eq!(c.read(&k).await.unwrap().value(), Some("held"));
    let err = c
        .update_ttl(&unique("missing"), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(code(err), EtcdCode::KeyNotFound);
}

async fn create_and_update(b: Backend) {
    let c = b.client();
    let k = unique("cu");
    assert_eq!(
        code(c.update(&k, "x").await.unwrap_err()),
        EtcdCode::KeyNotFound
    );
    assert_eq!(c.create(&k, "x").await.unwrap().action, Action::Create);
    assert_eq!(
        code(c.create(&k, "y").await.unwrap_err()),
        EtcdCode::NodeExist
    );
    let r = c.update(&k, "y").await.unwrap();
    assert_eq!(r.action, Action::Update);
    assert_eq!(r.value(), Some("y"));
}

async fn in_order_keys_queue_up(b: Backend) {
    let c = b.client();
    let q = unique("queue");
    let mut keys = Vec::new();
    for job in ["Job1", "Job2", "Job3"] {
        let r = c.create_in_order(&q, job).await.unwrap();
        assert_eq!(r.action, Action::Create);
        assert!(r.node.key.starts_with(&format!("{q}/")));
        keys.push(r.node.key);
    }
    let listing = c.read(&q).sorted().await.unwrap();
    let got: Vec<_> = listing
        .node
        .nodes
        .iter()
        .map(|n| n.value_str().to_string())
        .collect();
    assert_eq!(got, ["Job1", "Job2", "Job3"]);
    let listed: Vec<_> = listing.node.nodes.iter().map(|n| n.key.clone()).collect();
    assert_eq!(listed, keys);
    let r = c
        .create_in_order(&q, "Job4")
        .ttl(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(r.node.ttl, Some(60));
}

async fn listings_recursive_sorted_and_quorum(b: Backend) {
    let c = b.client();
    let d = unique("list");
    for k in ["e", "c", "a", "b/x", "d"] {
        c.write(&format!("{d}/{k}"), k).await.unwrap();
    }
    let one = c.read(&d).sorted().await.unwrap();
    let names: Vec<_> = one
        .node
        .nodes
        .iter()
        .map(|n| n.key.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    assert!(one.node.nodes[1].dir && one.node.nodes[1].nodes.is_empty());
    let all = c.read(&d).recursive().sorted().quorum().await.unwrap();
    let leaves: Vec<_> = all.node.leaves().map(|n| n.value_str()).collect();
    assert_eq!(leaves, ["a", "b/x", "c", "d", "e"]);
    let root = c.read("/").await.unwrap();
    assert!(root.node.dir);
    assert_eq!(root.node.key, "/");
}

async fn awkward_keys_round_trip(b: Backend) {
    let c = b.client();
    let d = unique("enc");
    for name in [
        "a b",
        "q?x",
        "h#sh",
        "pct%20",
        "amp&er",
        "plus+1",
        "café",
        "日本",
        "eq=ual",
        "semi;colon",
        "~tilde",
        "'quote\"",
    ] {
        let key = format!("{d}/{name}");
        let w = c.write(&key, name).await.unwrap();
        assert_eq!(w.node.key, key, "etcd saw another key for {name:?}");
        let r = c.read(&key).await.unwrap();
        assert_eq!(r.node.key, key);
        assert_eq!(r.value(), Some(name));
    }
    let listing = c.read(&d).await.unwrap();
    assert_eq!(listing.node.nodes.len(), 12);
}

async fn awkward_values_round_trip(b: Backend) {
    let c = b.client();
    let k = unique("val");
    let big: String = (0..1024 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for value in [
        "x&y=z +1%",
        "line1\nline2\r\n",
        "ünïcødé ✓",
        "",
        "<>&\"'",
        big.as_str(),
    ] {
        c.write(&k, value).await.unwrap();
        let r = c.read(&k).await.unwrap();
        assert_eq!(r.value(), Some(value), "value of {} bytes", value.len());
    }
    // Conditions carry values too: in the form body (swap) and in the query string (delete).
    let awkward = "x&y=z +1%?#/ü";
    c.write(&k, awkward).await.unwrap();
    let swapped = c
        .compare_and_swap(&k, "next")
        .prev_value(awkward)
        .await
        .unwrap();
    assert_eq!(swapped.prev_node.unwrap().value.as_deref(), Some(awkward));
    c.write(&k, awkward).await.unwrap();
    let deleted = c.compare_and_delete(&k).prev_value(awkward).await.unwrap();
    assert_eq!(deleted.prev_node.unwrap().value.as_deref(), Some(awkward));
}

async fn keys_are_normalised_or_refused(b: Backend) {
    let c = b.client();
    let k = unique("rel");
    let relative = k.trim_start_matches('/').to_string();
    let w = c.write(&relative, "v").await.unwrap();
    assert_eq!(w.node.key, k, "a key without a leading / gets one");
    assert_eq!(c.read(&format!("{k}/")).await.unwrap().value(), Some("v"));
    for bad in ["/a//b", "/a/../b", "./x", "/x/."] {
        let err = c.write(bad, "v").await.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{bad}: {err}");
        assert!(
            err.to_string().contains(bad),
            "the error names the key: {err}"
        );
    }
}

async fn delete_reports_the_previous_node(b: Backend) {
    let c = b.client();
    let k = unique("del");
    c.write(&k, "doomed").await.unwrap();
    let r = c.delete(&k).await.unwrap();
    assert_eq!(r.action, Action::Delete);
    assert_eq!(r.node.value, None);
    assert_eq!(r.prev_node.unwrap().value.as_deref(), Some("doomed"));
    assert_eq!(code(c.delete(&k).await.unwrap_err()), EtcdCode::KeyNotFound);
}

fn one_client_shared_by_several_runtimes(b: Backend) {
    // Each runtime uses connections of its own (driven by its own reactor): a runtime that is
    // blocked or gone never holds up the others.
    let c = b.client();
    let k = unique("shared");
    let run = |c: rsetcd::v2::Client, k: String, n: u32| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                for i in 0..n {
                    c.write(&format!("{k}/{i}"), "v").await.unwrap();
                    c.read(&format!("{k}/{i}")).await.unwrap();
                }
            })
    };
    // A first runtime fills the pool, then goes away with its connections.
    run(c.clone(), k.clone(), 5);
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let (c, k) = (c.clone(), format!("{k}/t{t}"));
            std::thread::spawn(move || run(c, k, 20))
        })
        .collect();
    // Meanwhile this thread's runtime is blocked in join: the others must not need it.
    let blocked = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    blocked.block_on(async { c.read(&format!("{k}/0")).await.unwrap() });
    for t in threads {
        t.join().unwrap();
    }
    let listing = blocked.block_on(c.read(&k).recursive().send()).unwrap();
    assert_eq!(listing.node.leaves().count(), 5 + 3 * 20);
}

both_backends! {
    tokio write_then_read_and_overwrite,
    tokio mkdir_then_node_exist_on_repeat,
    tokio rmdir_empty_non_empty_and_recursive,
    tokio ttl_is_reported_and_keys_expire,
    tokio compare_and_swap_conditions,
    tokio compare_and_swap_refuses_meaningless_conditions,
    tokio compare_and_delete_by_value_and_index,
    tokio update_ttl_keeps_the_value,
    tokio create_and_update,
    tokio in_order_keys_queue_up,
    tokio listings_recursive_sorted_and_quorum,
    tokio awkward_keys_round_trip,
    tokio awkward_values_round_trip,
    tokio keys_are_normalised_or_refused,
    tokio delete_reports_the_previous_node,
    sync one_client_shared_by_several_runtimes,
}
