//! The v2-over-v3 engine against real etcd started without any v2 flag (3.4.23, or the 3.5.1 of
//! `RSETCD_ETCD_BIN`): keys, conditions, directories, listings, in-order keys, deletes, and the
//! v2 store's errors with their codes, causes and indexes.

mod v2v3common;

use rsetcd::v2::over_v3::{DeleteOp, KeyOp, ReadOp, WriteOp};
use rsetcd::v2::Action;
use rsetcd::EtcdCode;
use v2v3common::{cause, code, engine, keys, keys_under_prefix, kv, own_engine};

#[tokio::test]
async fn set_create_update_and_compare_and_swap_answer_as_v2() {
    let e = engine("keys");
    let r = e
        .write(&WriteOp::set("/message", "Hello world"))
        .await
        .unwrap();
    assert_eq!(r.action, Action::Set);
    assert_eq!(r.node.key, "/message");
    assert_eq!(r.node.value.as_deref(), Some("Hello world"));
    assert_eq!(r.node.modified_index, r.node.created_index);
    assert_eq!(r.node.modified_index, r.etcd_index);
    assert!(r.prev_node.is_none());
    // Indexes are v3 revisions minus one.
    let stored = kv(&e, "/message", false).await.unwrap();
    assert_eq!(stored.mod_revision - 1, r.etcd_index as i64);
    assert_eq!(stored.lease, 0);

    let r2 = e
        .write(&WriteOp::set("/message", "Hello etcd"))
        .await
        .unwrap();
    let stored = kv(&e, "/message", false).await.unwrap();
    assert_eq!(stored.mod_revision - 1, r2.etcd_index as i64);
    assert_eq!(r2.node.modified_index, r2.etcd_index);
    let prev = r2.prev_node.as_ref().unwrap();
    assert_eq!(prev.value.as_deref(), Some("Hello world"));
    assert_eq!(prev.modified_index, r.etcd_index);
    assert_eq!(
        r2.node.created_index, r.node.created_index,
        "v3 keeps a key's creation"
    );

    let got = e
        .execute(&KeyOp::Read(ReadOp::get("/message")))
        .await
        .unwrap();
    assert_eq!(got.action, Action::Get);
    assert_eq!(got.node, r2.node);
    assert!(got.etcd_index >= r2.etcd_index, "the index of the read");

    let err = e
        .write(&WriteOp::create("/message", "x"))
        .await
        .unwrap_err();
    assert_eq!(code(&err), EtcdCode::NodeExist);
    assert_eq!(cause(&err), "/message");
    assert!(
        err.index().is_some_and(|i| i >= r2.etcd_index),
        "the index of the read"
    );
    let created = e.write(&WriteOp::create("/new", "n")).await.unwrap();
    assert_eq!(created.action, Action::Create);

    let err = e.write(&WriteOp::update("/nokey", "z")).await.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::KeyNotFound, "/nokey".into())
    );
    let upd = e.write(&WriteOp::update("/new", "n2")).await.unwrap();
    assert_eq!(upd.action, Action::Update);
    assert_eq!(upd.node.created_index, created.node.created_index);
    assert_eq!(upd.prev_node.unwrap().value.as_deref(), Some("n"));

    let cas = WriteOp::compare_and_swap("/new", "n3").prev_value("n2");
    let swapped = e.write(&cas).await.unwrap();
    assert_eq!(swapped.action, Action::CompareAndSwap);
    assert_eq!(swapped.node.value.as_deref(), Some("n3"));
    let err = e
        .write(&WriteOp::compare_and_swap("/new", "w").prev_value("nope"))
        .await;
    let err = err.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::TestFailed, "[nope != n3]".into())
    );
    let both = WriteOp::compare_and_swap("/new", "w")
        .prev_value("nope")
        .prev_index(3);
    let err = e.write(&both).await.unwrap_err();
    let m = swapped.node.modified_index;
    assert_eq!(
        cause(&err),
        format!("[nope != n3] [3 != {m}]"),
        "v2 indexes, not revisions"
    );
    let by_index = WriteOp::compare_and_swap("/new", "n4").prev_index(m);
    assert_eq!(
        e.write(&by_index).await.unwrap().node.value.as_deref(),
        Some("n4")
    );
    let err = e
        .write(&WriteOp::compare_and_swap("/nokey", "x").prev_value("y"))
        .await;
    assert_eq!(code(&err.unwrap_err()), EtcdCode::KeyNotFound);
    // prevIndex 0 is no condition; an empty prevValue is refused before anything is read.
    let r = e
        .write(&WriteOp::set("/new", "n5").prev_index(0))
        .await
        .unwrap();
    assert_eq!(r.action, Action::Set);
    let err = e
        .write(&WriteOp::set("/new", "x").prev_value(""))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&err), err.index()),
        (EtcdCode::PrevValueRequired, Some(0))
    );
    let err = e.write(&WriteOp::set("/", "x")).await.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::RootReadOnly, "/".into())
    );
    // Awkward keys and values round-trip.
    let awkward = "/enc/a b/ké?y#z&=+%";
    let value = "x&y=z +1%\nline two";
    e.write(&WriteOp::set(awkward, value)).await.unwrap();
    let got = e.read(&ReadOp::get(awkward)).await.unwrap();
    assert_eq!(
        (got.node.key.as_str(), got.node.value_str()),
        (awkward, value)
    );
}

#[tokio::test]
async fn directories_parents_listings_and_hidden_nodes() {
    let e = engine("dirs");
    let r = e.write(&WriteOp::set("/a/b/c", "deep")).await.unwrap();
    let a = e.read(&ReadOp::get("/a")).await.unwrap();
    assert!(a.node.dir && a.node.value.is_none());
    assert_eq!(
        a.node.created_index, r.node.created_index,
        "parents made in the same write"
    );
    assert_eq!(keys(&a.node.nodes), ["/a/b"]);
    assert!(
        a.node.nodes[0].dir && a.node.nodes[0].nodes.is_empty(),
        "one level"
    );
    let rec = e.read(&ReadOp::get("/a").recursive()).await.unwrap();
    assert_eq!(rec.node.nodes[0].nodes[0].value.as_deref(), Some("deep"));

    let err = e.write(&WriteOp::set("/a/b/c/d", "x")).await.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::NotDir, "/a/b/c".into())
    );
    let err = e.read(&ReadOp::get("/a/b/c/d")).await.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::NotDir, "/a/b/c".into())
    );
    let err = e.read(&ReadOp::get("/nope/deeper")).await.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::KeyNotFound, "/nope".into())
    );
    for op in [WriteOp::set("/a", "v"), WriteOp::set_dir("/a")] {
        assert_eq!(
            code(&e.write(&op).await.unwrap_err()),
            EtcdCode::NotFile,
            "{op:?}"
        );
    }
    assert_eq!(
        code(&e.write(&WriteOp::mkdir("/a")).await.unwrap_err()),
        EtcdCode::NodeExist
    );
    let mut with_value = WriteOp::update_dir("/a", None);
    with_value.value = Some("zz".into());
    assert_eq!(
        code(&e.write(&with_value).await.unwrap_err()),
        EtcdCode::NotFile
    );
    let upd = e.write(&WriteOp::update_dir("/a", None)).await.unwrap();
    assert!(upd.action == Action::Update && upd.node.dir);

    // A directory over a file replaces it.
    e.write(&WriteOp::set("/f", "file")).await.unwrap();
    let d = e.write(&WriteOp::set_dir("/f")).await.unwrap();
    assert!(d.action == Action::Set && d.node.dir);
    assert_eq!(d.prev_node.unwrap().value.as_deref(), Some("file"));
    assert!(kv(&e, "/f", false).await.is_none() && kv(&e, "/f", true).await.is_some());

    let mk = e.write(&WriteOp::mkdir("/empty")).await.unwrap();
    assert_eq!(mk.action, Action::Create);
    let empty = e.read(&ReadOp::get("/empty")).await.unwrap();
    assert!(empty.node.dir && empty.node.nodes.is_empty());

    e.write(&WriteOp::set("/h/_secret", "s")).await.unwrap();
    e.write(&WriteOp::set("/h/visible", "v")).await.unwrap();
    e.write(&WriteOp::set("/h/_hd/x", "x")).await.unwrap();
    let h = e.read(&ReadOp::get("/h").recursive()).await.unwrap();
    assert_eq!(
        keys(&h.node.nodes),
        ["/h/visible"],
        "hidden nodes are left out"
    );
    let secret = e.read(&ReadOp::get("/h/_secret")).await.unwrap();
    assert_eq!(secret.node.value_str(), "s", "readable by name");

    for k in ["e", "c", "a", "b", "d"] {
        e.write(&WriteOp::set(&format!("/srt/{k}/x"), k))
            .await
            .unwrap();
    }
    e.write(&WriteOp::set("/srt/a-b", "ab")).await.unwrap();
    let sorted = e
        .read(&ReadOp::get("/srt").sorted().recursive())
        .await
        .unwrap();
    let expected = ["/srt/a", "/srt/a-b", "/srt/b", "/srt/c", "/srt/d", "/srt/e"];
    assert_eq!(keys(&sorted.node.nodes), expected);
    assert_eq!(keys(&sorted.node.nodes[0].nodes), ["/srt/a/x"]);

    // A sibling whose name starts like a directory's is not inside it.
    e.write(&WriteOp::set("/ab/x", "ab")).await.unwrap();
    let a = e.read(&ReadOp::get("/a").recursive()).await.unwrap();
    assert_eq!(keys(&a.node.nodes), ["/a/b"]);

    let root = e.read(&ReadOp::get("/").sorted()).await.unwrap();
    assert!(root.node.dir && root.node.key == "/");
    assert_eq!(root.node.modified_index, 0);
    let top = keys(&root.node.nodes);
    for k in ["/a", "/ab", "/empty", "/f", "/h", "/srt"] {
        assert!(top.contains(&k), "{k} in {top:?}");
    }
}

#[tokio::test]
async fn in_order_keys_are_named_by_their_index_and_list_in_creation_order() {
    // A node of its own: with no other writer, each name is exactly the key's index.
    let (_node, e) = own_engine("queue").await;
    let mut created = Vec::new();
    for job in ["job1", "job2", "job3"] {
        let r = e
            .write(&WriteOp::create_in_order("/queue", job))
            .await
            .unwrap();
        assert_eq!(r.action, Action::Create);
        let name = r.node.key.strip_prefix("/queue/").unwrap().to_string();
        assert_eq!(name.len(), 20);
        assert_eq!(name.parse::<u64>().unwrap(), r.node.created_index);
        created.push(r.node.key.clone());
    }
    let list = e.read(&ReadOp::get("/queue").sorted()).await.unwrap();
    assert_eq!(keys(&list.node.nodes), created);
    let values: Vec<&str> = list.node.nodes.iter().map(|n| n.value_str()).collect();
    assert_eq!(values, ["job1", "job2", "job3"]);
    let dir = e
        .write(&WriteOp::create_in_order("/queue", "").directory())
        .await
        .unwrap();
    assert!(dir.node.dir);
    let root = e
        .write(&WriteOp::create_in_order("/", "top"))
        .await
        .unwrap();
    assert_eq!(root.node.key.len(), 21);
    e.write(&WriteOp::set("/file", "f")).await.unwrap();
    let err = e
        .write(&WriteOp::create_in_order("/file", "x"))
        .await
        .unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::NotDir, "/file".into())
    );
}

#[tokio::test]
async fn concurrent_in_order_creates_keep_creation_order_and_unique_names() {
    let e = engine("fifo");
    let mut tasks = Vec::new();
    for t in 0..4 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for i in 0..10 {
                let op = WriteOp::create_in_order("/q", &format!("{t}-{i}"));
                out.push(e.write(&op).await.unwrap().node);
            }
            out
        }));
    }
    let mut nodes = Vec::new();
    for t in tasks {
        nodes.extend(t.await.unwrap());
    }
    assert_eq!(nodes.len(), 40);
    nodes.sort_by_key(|n| n.created_index);
    let names: Vec<&str> = nodes.iter().map(|n| n.key.as_str()).collect();
    let mut by_name = names.clone();
    by_name.sort();
    by_name.dedup();
    assert_eq!(by_name, names, "unique names, in the order of creation");
    for n in &nodes {
        let name: u64 = n.key.rsplit('/').next().unwrap().parse().unwrap();
        assert!(name <= n.created_index, "named at or before its index");
    }
}

#[tokio::test]
async fn deletes_files_directories_and_subtrees() {
    let e = engine("del");
    let set = e.write(&WriteOp::set("/k", "doomed")).await.unwrap();
    let del = e.delete(&DeleteOp::delete("/k")).await.unwrap();
    assert_eq!(del.action, Action::Delete);
    assert!(del.node.value.is_none());
    assert!(del.node.modified_index > set.etcd_index);
    assert_eq!(del.node.modified_index, del.etcd_index);
    assert_eq!(del.node.created_index, set.node.created_index);
    assert_eq!(del.prev_node.unwrap().value.as_deref(), Some("doomed"));

    let act = e.client().get(e.layout().action_key()).await.unwrap().kvs;
    let err = e.delete(&DeleteOp::delete("/k")).await.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::KeyNotFound, "/k".into())
    );
    let after = e.client().get(e.layout().action_key()).await.unwrap().kvs;
    assert_eq!(
        act, after,
        "a failed delete writes nothing (not even the action key)"
    );

    e.write(&WriteOp::set("/d/_hidden", "h")).await.unwrap();
    let err = e.delete(&DeleteOp::delete("/d")).await.unwrap_err();
    assert_eq!(code(&err), EtcdCode::NotFile);
    let err = e.delete(&DeleteOp::rmdir("/d")).await.unwrap_err();
    assert_eq!(code(&err), EtcdCode::DirNotEmpty, "a hidden child counts");
    e.delete(&DeleteOp::delete("/d/_hidden")).await.unwrap();
    let rm = e.delete(&DeleteOp::rmdir("/d")).await.unwrap();
    assert!(rm.node.dir && rm.prev_node.unwrap().dir);

    e.write(&WriteOp::set("/t/a/b/c", "1")).await.unwrap();
    e.write(&WriteOp::set("/t/a/x", "2")).await.unwrap();
    e.write(&WriteOp::set("/t/ab/y", "3")).await.unwrap();
    let all_keys = keys_under_prefix(&e).await;
    let rec = e
        .delete(&DeleteOp::delete("/t/a").recursive())
        .await
        .unwrap();
    assert!(rec.action == Action::Delete && rec.node.dir);
    // /t/a, /t/a/b, /t/a/b/c and /t/a/x are gone; /t/ab and its child stay.
    assert_eq!(keys_under_prefix(&e).await, all_keys - 4);
    let left = e.read(&ReadOp::get("/t").recursive()).await.unwrap();
    assert_eq!(keys(&left.node.nodes), ["/t/ab"]);
    assert_eq!(left.node.nodes[0].nodes[0].value.as_deref(), Some("3"));
    let file = e.delete(&DeleteOp::delete("/t/ab/y").dir()).await.unwrap();
    assert!(!file.node.dir, "dir=true on a file deletes the file");

    e.write(&WriteOp::set("/f", "1")).await.unwrap();
    let err = e.delete(&DeleteOp::delete("/f/x")).await.unwrap_err();
    assert_eq!((code(&err), cause(&err)), (EtcdCode::NotDir, "/f".into()));
    let err = e
        .delete(&DeleteOp::delete("/").recursive())
        .await
        .unwrap_err();
    assert_eq!(code(&err), EtcdCode::RootReadOnly);

    let c = e.write(&WriteOp::set("/cad", "one")).await.unwrap();
    let err = e
        .delete(&DeleteOp::compare_and_delete("/cad").prev_value("two"))
        .await;
    let err = err.unwrap_err();
    assert_eq!(
        (code(&err), cause(&err)),
        (EtcdCode::TestFailed, "[two != one]".into())
    );
    let wrong = DeleteOp::compare_and_delete("/cad").prev_index(c.node.modified_index + 100);
    assert_eq!(
        code(&e.delete(&wrong).await.unwrap_err()),
        EtcdCode::TestFailed
    );
    let ok = DeleteOp::compare_and_delete("/cad").prev_index(c.node.modified_index);
    let cad = e.delete(&ok).await.unwrap();
    assert_eq!(cad.action, Action::CompareAndDelete);
    e.write(&WriteOp::mkdir("/cd")).await.unwrap();
    let on_dir = DeleteOp::compare_and_delete("/cd").prev_value("x");
    assert_eq!(
        code(&e.delete(&on_dir).await.unwrap_err()),
        EtcdCode::NotFile
    );
}

#[tokio::test]
async fn concurrent_compare_and_swap_increments_apply_exactly_once_each() {
    let e = engine("counter");
    e.write(&WriteOp::set("/n", "0")).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            let mut applied = 0;
            let mut conflicts = 0;
            while applied < 20 {
                assert!(conflicts < 2_000, "no progress");
                let cur = e.read(&ReadOp::get("/n")).await.unwrap().node;
                let next = cur.value_str().parse::<u64>().unwrap() + 1;
                let op = WriteOp::compare_and_swap("/n", &next.to_string())
                    .prev_index(cur.modified_index);
                match e.write(&op).await {
                    Ok(_) => applied += 1,
                    Err(err) if err.code() == Some(EtcdCode::TestFailed) => conflicts += 1,
                    Err(err) => panic!("{err}"),
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let n = e.read(&ReadOp::get("/n")).await.unwrap();
    assert_eq!(n.node.value_str(), "120");
}

#[tokio::test]
async fn concurrent_writes_below_new_directories_all_land() {
    let e = engine("parents");
    let mut tasks = Vec::new();
    for t in 0..8 {
        let e = e.clone();
        tasks.push(tokio::spawn(async move {
            // Every task creates the same missing parents.
            e.write(&WriteOp::set(&format!("/p/q/r/{t}"), "v"))
                .await
                .unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let r = e.read(&ReadOp::get("/p/q/r")).await.unwrap();
    assert_eq!(r.node.nodes.len(), 8);
    let p = kv(&e, "/p", true).await.unwrap();
    assert_eq!(
        p.version, 1,
        "the parent was created once, never overwritten"
    );
}
