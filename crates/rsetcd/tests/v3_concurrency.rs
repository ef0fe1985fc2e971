//! v3 locks and elections (etcd's server-side services) with lease-backed sessions; an observer
//! that resumes on another member when its own is killed, and gives up when none is left.

mod v3common;

use std::time::{Duration, Instant};

use rsetcd::v3::Client;
use rsetcd::Error;
use rsetcd_testkit::Cluster;
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

/// Proclaims `value`, trying again (bounded) while the cluster recovers from a kill; a proclaim
/// whose answer was lost is checked before being sent again, so each value is put once.
async fn proclaim(c: &Client, lead: &rsetcd::v3::LeaderKey, name: &str, value: &str) {
    for _ in 0..100 {
        match c.proclaim(lead, value).await {
            Ok(_) => return,
            Err(e) => {
                tracing::debug!(error = %e, "proclaim failed; checking");
                if let Ok(Some(kv)) = c.leader(name).await {
                    if kv.value == value {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    panic!("proclaiming {value} never went through");
}

#[tokio::test]
async fn observe_resumes_on_another_member_without_missing_or_repeating_a_value() {
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start(3).expect("cluster"))
        .await
        .unwrap();
    let eps = cluster.endpoints();
    // Kill a raft follower (not the leader: the proclaims are not the subject here), the
    // member the observer's stream is on: its first endpoint.
    let probe = Client::builder().endpoints(eps.clone()).build().unwrap();
    let raft_leader = probe.status().await.unwrap().leader;
    let members = probe.member_list().await.unwrap().members;
    let url_of = |id: u64| members.iter().find(|m| m.id == id).unwrap().client_ur_ls[0].clone();
    let victim = (0..3).find(|i| eps[*i] != url_of(raft_leader)).unwrap();
    let others: Vec<String> = (0..3)
        .filter(|i| *i != victim)
        .map(|i| eps[i].clone())
        .collect();
    let mut order = vec![eps[victim].clone()];
    order.extend(others.iter().cloned());
    let observer = Client::builder().endpoints(order).build().unwrap();
    let candidate = Client::builder().endpoints(others).build().unwrap();

    let name = "/observe-resume/e";
    let session = candidate.session(10).await.unwrap();
    let lead = candidate.campaign(name, "v0", &session).await.unwrap();
    let mut o = observer.observe(name).await.unwrap();
    assert_eq!(
        observer.endpoints()[0],
        eps[victim],
        "observing on the victim"
    );
    assert_eq!(next(&mut o).await, "v0");
    for i in 1..=3 {
        proclaim(&candidate, &lead, name, &format!("v{i}")).await;
        assert_eq!(next(&mut o).await, format!("v{i}"));
    }

    cluster.kill(victim).unwrap();
    // The observer resumes on another member, whose first answer is v3 again: it must not be
    // yielded a second time.
    let quiet = tokio::time::timeout(Duration::from_millis(1500), o.next()).await;
    assert!(quiet.is_err(), "unexpected item after the kill: {quiet:?}");
    for i in 4..=10 {
        proclaim(&candidate, &lead, name, &format!("v{i}")).await;
        assert_eq!(next(&mut o).await, format!("v{i}"));
    }
    // A new leader is seen too, once.
    let second = candidate.session(10).await.unwrap();
    let c2 = candidate.clone();
    let waiting = tokio::spawn(async move {
        let lead = c2.campaign(name, "w0", &second).await.unwrap();
        (lead, second)
    });
    candidate.resign(&lead).await.unwrap();
    assert_eq!(next(&mut o).await, "w0");
    let (_lead2, second) = tokio::time::timeout(WAIT, waiting).await.unwrap().unwrap();
    let extra = tokio::time::timeout(Duration::from_millis(300), o.next()).await;
    assert!(extra.is_err(), "unexpected item: {extra:?}");
    second.close().await.unwrap();
    session.close().await.unwrap();
}

#[tokio::test]
async fn observe_gives_up_after_its_bound_when_no_endpoint_is_left() {
    let (mut node, c) = v3common::own_node().await;
    let name = unique("observe-giveup");
    let session = c.session(10).await.unwrap();
    let _lead = c.campaign(&name, "x", &session).await.unwrap();
    let bound = Duration::from_secs(2);
    let mut o = c.observe(&name).give_up_after(bound).await.unwrap();
    assert_eq!(next(&mut o).await, "x");
    let killed = Instant::now();
    node.kill().unwrap();
    let last = tokio::time::timeout(bound + WAIT, o.next())
        .await
        .expect("the observer gives up within its bound")
        .expect("an error item before the end");
    let waited = killed.elapsed();
    let err = last.expect_err("the last item is the failure");
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(
        waited >= bound,
        "gave up after {waited:?}, before {bound:?}"
    );
    assert!(
        waited < bound + Duration::from_secs(3),
        "gave up only after {waited:?}"
    );
    let end = tokio::time::timeout(WAIT, o.next()).await.unwrap();
    assert!(end.is_none(), "the observer ends after its error: {end:?}");
}
