//! v3 locks and elections (etcd's server-side services) with lease-backed sessions.

mod v3common;

use std::time::Duration;

use v3common::{client, text, unique};

const WAIT: Duration = Duration::from_secs(10);

async fn next(o: &mut rsetcd::v3::Observe) -> String {
    let kv = tokio::time::timeout(WAIT, o.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    text(&kv.value)
}

#[tokio::test]
async fn lock_excludes_until_unlock_or_session_end() {
    let c = client();
    let name = unique("lock");
    let a = c.session(10).await.unwrap();
    let b = c.session(10).await.unwrap();
    let held = c.lock(&name, &a).await.unwrap();
    assert!(held.key.starts_with(name.as_bytes()));

    let c2 = c.clone();
    let name2 = name.clone();
    let waiting = tokio::spawn(async move {
        let got = c2.lock(&name2, &b).await.unwrap();
        (got, b)
    });
    // While A holds the lock, B waits.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "B got the lock while A held it");
    c.unlock(&held.key).await.unwrap();
    let (got, b) = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    assert_ne!(got.key, held.key);

    // Closing B's session releases its lock: C gets it.
    let cs = c.session(10).await.unwrap();
    let c3 = c.clone();
    let name3 = name.clone();
    let third = tokio::spawn(async move { c3.lock(&name3, &cs).await.unwrap() });
    b.close().await.unwrap();
    let got3 = tokio::time::timeout(WAIT, third).await.unwrap().unwrap();
    assert!(got3.key.starts_with(name.as_bytes()));
    a.close().await.unwrap();
}

#[tokio::test]
async fn election_campaign_proclaim_observe_resign() {
    let c = client();
    let name = unique("election");
    assert!(c.leader(&name).await.unwrap().is_none());
    let s1 = c.session(10).await.unwrap();
    let s2 = c.session(10).await.unwrap();
    let lead1 = c.campaign(&name, "one", &s1).await.unwrap();
    assert_eq!(c.leader(&name).await.unwrap().unwrap().value, "one");
    let mut observe = c.observe(&name).await.unwrap();
    assert_eq!(next(&mut observe).await, "one");

    let c2 = c.clone();
    let name2 = name.clone();
    let second = tokio::spawn(async move {
        let lead = c2.campaign(&name2, "two", &s2).await.unwrap();
        (lead, s2)
    });
    c.proclaim(&lead1, "one-b").await.unwrap();
    assert_eq!(next(&mut observe).await, "one-b");
    assert!(
        !second.is_finished(),
        "a second leader while the first leads"
    );
    c.resign(&lead1).await.unwrap();
    let (lead2, s2) = tokio::time::timeout(WAIT, second).await.unwrap().unwrap();
    assert_eq!(next(&mut observe).await, "two");
    assert_eq!(c.leader(&name).await.unwrap().unwrap().value, "two");
    // The first leadership is over: proclaiming with it fails.
    assert!(c.proclaim(&lead1, "stale").await.is_err());
    let _ = lead2;
    s2.close().await.unwrap();
    assert!(c.leader(&name).await.unwrap().is_none());
    s1.close().await.unwrap();
}
