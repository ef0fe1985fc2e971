//! v3 maintenance against real etcd: status, snapshot to a file with progress, hash-kv, the
//! NOSPACE alarm (raised by a tiny quota), defragment and disarm.

mod v3common;

use rsetcd::v3::{AlarmType, V3ErrorKind};
use v3common::own_node_with;

#[tokio::test]
async fn status_snapshot_and_hash() {
    let (node, c) = own_node_with(|b| b).await;
    for i in 0..50 {
        c.put(format!("/snap/{i}"), vec![b'x'; 1000]).await.unwrap();
    }
    let status = c.status().await.unwrap();
    assert!(status.version.starts_with("3."), "{status:?}");
    assert!(status.db_size > 0);
    assert_eq!(status.leader, status.header.as_ref().unwrap().member_id);
    let same = c.status_at(&node.client_url()).await.unwrap();
    assert_eq!(same.leader, status.leader);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.snap");
    let mut calls = Vec::new();
    let size = c
        .snapshot_to_file(&path, |got, remaining| calls.push((got, remaining)))
        .await
        .unwrap();
    assert!(size > 50_000, "{size}");
    assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
    assert_eq!(calls.last().copied(), Some((size, 0)));
    assert!(calls.windows(2).all(|w| w[0].0 < w[1].0));
    assert!(!dir.path().join("db.part").exists());

    let h1 = c.hash_kv_at(&node.client_url(), 0).await.unwrap();
    let h2 = c.hash_kv_at(&node.client_url(), 0).await.unwrap();
    assert_eq!(h1.hash, h2.hash);
    c.put("/snap/0", "changed").await.unwrap();
    let h3 = c.hash_kv_at(&node.client_url(), 0).await.unwrap();
    assert_ne!(h1.hash, h3.hash);
}

#[tokio::test]
async fn nospace_alarm_defragment_and_disarm() {
    let (node, c) = own_node_with(|b| b.arg("--quota-backend-bytes=1048576")).await;
    let big = vec![b'x'; 100_000];
    let mut filled = None;
    for i in 0..100 {
        if let Err(e) = c.put(format!("/big/{i}"), &big).await {
            filled = Some(e);
            break;
        }
    }
    let err = filled.expect("the quota fills up");
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::NoSpace), "{err}");
    let alarms = c.alarm_list().await.unwrap();
    assert_eq!(alarms.len(), 1);
    assert_eq!(alarms[0].alarm(), AlarmType::Nospace);

    // Make room: delete, compact, defragment; then clear the alarm and write again.
    let rev = c
        .delete("/big/")
        .prefix()
        .await
        .unwrap()
        .header
        .unwrap()
        .revision;
    c.compact(rev, true).await.unwrap();
    let before = c.status().await.unwrap().db_size;
    c.defragment_at(&node.client_url()).await.unwrap();
    let after = c.status().await.unwrap().db_size;
    assert!(
        after < before,
        "defragment shrank nothing: {before} -> {after}"
    );
    let cleared = c.alarm_disarm_all().await.unwrap();
    assert_eq!(cleared.len(), 1);
    assert!(c.alarm_list().await.unwrap().is_empty());
    c.put("/big/again", "small").await.unwrap();
}
