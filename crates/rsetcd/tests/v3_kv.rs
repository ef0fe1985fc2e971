//! v3 key-value operations against real etcd: get options, put options, delete, transactions
//! (including a contended counter), compaction, error kinds, and one client shared by several
//! runtimes.

mod v3common;

use std::future::IntoFuture;

use rsetcd::v3::proto::etcdserverpb::response_op::Response;
use rsetcd::v3::{Compare, CompareOp, Op, SortOrder, SortTarget, TxnOp, V3ErrorKind};
use v3common::{client, text, unique};

#[tokio::test]
async fn put_and_get_one_key_missing_key_is_not_an_error() {
    let c = client();
    let p = unique("one");
    let put = c.put(format!("{p}a"), "1").await.unwrap();
    assert!(put.header.as_ref().unwrap().revision > 0);
    let got = c.get(format!("{p}a")).await.unwrap();
    assert_eq!(got.kvs.len(), 1);
    assert_eq!(got.kvs[0].value, "1");
    assert_eq!(got.kvs[0].version, 1);
    assert_eq!(got.count, 1);
    let missing = c.get(format!("{p}nothing")).await.unwrap();
    assert!(missing.kvs.is_empty());
    assert_eq!(missing.count, 0);
}

/// An answer larger than gRPC's customary 4 MiB limit on received messages arrives whole (etcd's
/// own client sets no limit either), split over many HTTP/2 data frames.
#[tokio::test]
async fn an_answer_larger_than_four_mebibytes_arrives_whole() {
    let c = client();
    let p = unique("large");
    let value = "v".repeat(1024 * 1024);
    for i in 0..5 {
        c.put(format!("{p}{i}"), value.clone()).await.unwrap();
    }
    let all = c.get(&p).prefix().await.unwrap();
    assert_eq!(all.kvs.len(), 5);
    assert!(all.kvs.iter().all(|kv| kv.value.len() == value.len()));
    c.delete(&p).prefix().await.unwrap();
}

#[tokio::test]
async fn get_options_prefix_range_limit_sort_revision_keys_count_serializable() {
    let c = client();
    let p = unique("opts");
    let mut revs = Vec::new();
    for (k, v) in [("b", "2"), ("a", "1"), ("c", "3"), ("d", "4")] {
        revs.push(
            c.put(format!("{p}{k}"), v)
                .await
                .unwrap()
                .header
                .unwrap()
                .revision,
        );
    }
    c.put(format!("{p}a"), "1b").await.unwrap();
    // A key outside the prefix must not show.
    c.put(format!("{}x", p.trim_end_matches('/')), "out")
        .await
        .unwrap();

    let all = c.get(&p).prefix().await.unwrap();
    let keys: Vec<_> = all.kvs.iter().map(|kv| text(&kv.key)).collect();
    assert_eq!(keys, ["a", "b", "c", "d"].map(|k| format!("{p}{k}")));

    let range = c
        .get(format!("{p}b"))
        .range_end(format!("{p}d"))
        .await
        .unwrap();
    assert_eq!(range.kvs.len(), 2);
    assert_eq!(text(&range.kvs[1].key), format!("{p}c"));

    let limited = c.get(&p).prefix().limit(2).await.unwrap();
    assert_eq!(limited.kvs.len(), 2);
    assert!(limited.more);
    assert_eq!(limited.count, 4);

    let sorted = c
        .get(&p)
        .prefix()
        .sort(SortTarget::Value, SortOrder::Descend)
        .await
        .unwrap();
    let values: Vec<_> = sorted.kvs.iter().map(|kv| text(&kv.value)).collect();
    assert_eq!(values, ["4", "3", "2", "1b"]);

    let old = c.get(format!("{p}a")).revision(revs[1]).await.unwrap();
    assert_eq!(old.kvs[0].value, "1");

    let keys_only = c.get(&p).prefix().keys_only().await.unwrap();
    assert_eq!(keys_only.kvs.len(), 4);
    assert!(keys_only.kvs.iter().all(|kv| kv.value.is_empty()));

    let counted = c.get(&p).prefix().count_only().await.unwrap();
    assert!(counted.kvs.is_empty());
    assert_eq!(counted.count, 4);

    let serial = c.get(format!("{p}c")).serializable().await.unwrap();
    assert_eq!(serial.kvs[0].value, "3");

    let from = c.get(format!("{p}c")).from_key().keys_only().await.unwrap();
    assert!(from.kvs.iter().any(|kv| text(&kv.key) == format!("{p}d")));
    assert!(from
        .kvs
        .iter()
        .all(|kv| kv.key.as_ref() >= format!("{p}c").as_bytes()));
}

#[tokio::test]
async fn put_options_prev_kv_and_delete_range() {
    let c = client();
    let p = unique("put");
    let first = c.put(format!("{p}k"), "v1").prev_kv().await.unwrap();
    assert!(first.prev_kv.is_none());
    let second = c.put(format!("{p}k"), "v2").prev_kv().await.unwrap();
    assert_eq!(second.prev_kv.unwrap().value, "v1");

    // ignore_lease keeps the value's lease (none here) and sets the value.
    c.put(format!("{p}k"), "v3").ignore_lease().await.unwrap();
    assert_eq!(c.get(format!("{p}k")).await.unwrap().kvs[0].value, "v3");

    // ignore_value on a missing key is refused by etcd: key not found (an error only here).
    let err = c
        .put(format!("{p}none"), "")
        .ignore_value()
        .await
        .unwrap_err();
    assert!(err.v3_kind().is_some(), "{err}");

    for k in ["a", "b", "c"] {
        c.put(format!("{p}r/{k}"), k).await.unwrap();
    }
    let one = c.delete(format!("{p}r/a")).prev_kv().await.unwrap();
    assert_eq!(one.deleted, 1);
    assert_eq!(one.prev_kvs[0].value, "a");
    let rest = c.delete(format!("{p}r/")).prefix().await.unwrap();
    assert_eq!(rest.deleted, 2);
    let none = c.delete(format!("{p}r/")).prefix().await.unwrap();
    assert_eq!(none.deleted, 0);
    assert_eq!(
        c.get(format!("{p}r/"))
            .prefix()
            .count_only()
            .await
            .unwrap()
            .count,
        0
    );
}

#[tokio::test]
async fn txn_compares_on_value_version_revisions_and_lease_with_nested_ops() {
    let c = client();
    let p = unique("txn");
    let k = format!("{p}k");
    let put = c.put(&k, "v").await.unwrap();
    let rev = put.header.unwrap().revision;
    let kv = c.get(&k).await.unwrap().kvs.remove(0);

    let ok = c
        .txn()
        .when(Compare::value(&k, CompareOp::Equal, "v"))
        .when(Compare::version(&k, CompareOp::Equal, 1))
        .when(Compare::create_revision(
            &k,
            CompareOp::Equal,
            kv.create_revision,
        ))
        .when(Compare::mod_revision(&k, CompareOp::Less, rev + 1))
        .when(Compare::lease(&k, CompareOp::Equal, 0))
        .and_then(Op::put(&k, "w"))
        .and_then(Op::get(&k))
        .and_then(Op::txn(
            TxnOp::new()
                .when(Compare::version(format!("{p}absent"), CompareOp::Equal, 0))
                .and_then(Op::put(format!("{p}nested"), "n")),
        ))
        .or_else(Op::delete(&k))
        .await
        .unwrap();
    assert!(ok.succeeded);
    assert_eq!(ok.responses.len(), 3);
    match &ok.responses[1].response {
        Some(Response::ResponseRange(r)) => assert_eq!(r.kvs[0].value, "w"),
        other => panic!("expected a range answer, got {other:?}"),
    }
    match &ok.responses[2].response {
        Some(Response::ResponseTxn(t)) => assert!(t.succeeded),
        other => panic!("expected a txn answer, got {other:?}"),
    }
    assert_eq!(c.get(format!("{p}nested")).await.unwrap().kvs[0].value, "n");

    let failed = c
        .txn()
        .when(Compare::value(&k, CompareOp::NotEqual, "w"))
        .and_then(Op::delete(&k))
        .or_else(Op::get(&k).keys_only())
        .await
        .unwrap();
    assert!(!failed.succeeded);
    assert_eq!(c.get(&k).await.unwrap().kvs[0].value, "w");

    // A compare on a prefix applies to every key in it.
    let all_v1 = c
        .txn()
        .when(Compare::version(&p, CompareOp::Greater, 0).prefix())
        .await
        .unwrap();
    assert!(all_v1.succeeded);

    // Writing one key twice in a transaction is refused with its own kind.
    let err = c
        .txn()
        .and_then(Op::put(&k, "1"))
        .and_then(Op::put(&k, "2"))
        .await
        .unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::DuplicateKey), "{err}");
}

#[tokio::test]
async fn txn_counter_under_contention_loses_no_update() {
    let c = client();
    let key = format!("{}counter", unique("counter"));
    c.put(&key, "0").await.unwrap();
    let per_task = 25;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let c = c.clone();
        let key = key.clone();
        tasks.push(tokio::spawn(async move {
            let mut retries = 0;
            for _ in 0..per_task {
                for attempt in 0.. {
                    assert!(attempt < 1000, "no progress");
                    let kv = c.get(&key).await.unwrap().kvs.remove(0);
                    let n: u64 = text(&kv.value).parse().unwrap();
                    let done = c
                        .txn()
                        .when(Compare::mod_revision(
                            &key,
                            CompareOp::Equal,
                            kv.mod_revision,
                        ))
                        .and_then(Op::put(&key, (n + 1).to_string()))
                        .await
                        .unwrap();
                    if done.succeeded {
                        break;
                    }
                    retries += 1;
                }
            }
            retries
        }));
    }
    let mut retries = 0;
    for t in tasks {
        retries += t.await.unwrap();
    }
    let end = c.get(&key).await.unwrap().kvs.remove(0);
    assert_eq!(text(&end.value), (8 * per_task).to_string());
    assert_eq!(end.version, 8 * per_task as i64 + 1);
    println!("{retries} compare failures were retried");
}

#[tokio::test]
async fn compact_makes_old_revisions_unreadable() {
    let (_node, c) = v3common::own_node().await;
    let k = format!("{}k", unique("compact"));
    let first = c.put(&k, "1").await.unwrap().header.unwrap().revision;
    let second = c.put(&k, "2").await.unwrap().header.unwrap().revision;
    c.compact(second, true).await.unwrap();
    let err = c.get(&k).revision(first).await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::Compacted), "{err}");
    assert!(matches!(err, rsetcd::Error::V3 { .. }));
    let future = c.get(&k).revision(second + 1_000_000).await.unwrap_err();
    assert_eq!(
        future.v3_kind(),
        Some(V3ErrorKind::FutureRevision),
        "{future}"
    );
    assert_eq!(c.get(&k).revision(second).await.unwrap().kvs[0].value, "2");
}

#[tokio::test]
async fn empty_key_is_a_typed_error_and_client_is_send_sync_clone() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<rsetcd::v3::Client>();
    let err = client().put("", "x").await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::EmptyKey), "{err}");
}

#[test]
fn one_client_shared_by_several_runtimes() {
    // Each runtime gets a connection of its own, driven by its own tasks: a runtime that is idle
    // (not running its tasks), blocked or gone never holds up the others.
    let c = client();
    let p = unique("runtimes");
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    };
    // This thread's runtime connects first, then stops running (it is only driven inside
    // block_on): its connection's task is frozen while the others work.
    let idle = runtime();
    idle.block_on(c.put(format!("{p}first"), "v").into_future())
        .unwrap();
    // A runtime that connects, then goes away with its connection.
    runtime()
        .block_on(c.put(format!("{p}gone"), "v").into_future())
        .unwrap();
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let (c, p) = (c.clone(), format!("{p}t{t}/"));
            std::thread::spawn(move || {
                runtime().block_on(async move {
                    for i in 0..20 {
                        c.put(format!("{p}{i}"), "v").await.unwrap();
                        assert_eq!(c.get(format!("{p}{i}")).await.unwrap().kvs.len(), 1);
                    }
                })
            })
        })
        .collect();
    for t in threads {
        t.join()
            .expect("a runtime's calls never wait on another runtime");
    }
    let all = idle
        .block_on(c.get(&p).prefix().count_only().into_future())
        .unwrap();
    assert_eq!(all.count, 2 + 3 * 20);
}
