//! The v3 API's retry rules at every edge of an HTTP/2 exchange, against a real 3-member
//! cluster with a fault proxy in front of member 0 (the first endpoint). Each call class (get,
//! put, a create-if-absent transaction, watch creation and its events, lease keep-alive) meets
//! each fault once, on the stream whose gRPC message holds the test's key (or lease ID); the
//! outcome must be the one the README's retry rules state, and the final state, read from member
//! 1, must show every write applied at most once (the key's `version`) and every watch event
//! delivered exactly once.
//!
//! Run one class with `cargo test -p rsetcd --test edges_v3 put::`.

mod edges;

use std::time::{Duration, Instant};

use rsetcd::v3::{Client, Compare, CompareOp, Op, Watch, WatchItem};
use rsetcd_testkit::{Fault, FaultProxy, Trigger, Wire};

use edges::{about, reach, Reach};

/// A client under test behind the proxy, a client for member 1, and a key.
struct Edge {
    proxy: FaultProxy,
    client: Client,
    clean: Client,
    key: String,
}

impl Edge {
    async fn new(name: &str) -> Edge {
        let proxy = edges::proxy(Wire::Http2).await;
        let client = edges::quick(Client::builder())
            .endpoints(edges::endpoints(&proxy).await)
            .build()
            .unwrap();
        let clean = Client::builder()
            .host(edges::clean_member().await)
            .build()
            .unwrap();
        Edge {
            proxy,
            client,
            clean,
            key: edges::unique(name),
        }
    }

    fn arm(&self, pattern: impl AsRef<[u8]>, fault: Fault) {
        self.proxy.arm(Trigger::containing(pattern), fault).unwrap();
    }

    /// Puts the key on member 1; the revision.
    async fn seed(&self, value: &str) -> i64 {
        let r = self.clean.put(&self.key, value).await.unwrap();
        r.header.map_or(0, |h| h.revision)
    }

    /// The key's version on member 1 (0: absent), and its value.
    async fn version(&self) -> (i64, String) {
        let r = self.clean.get(&self.key).await.unwrap();
        r.kvs.first().map_or((0, String::new()), |kv| {
            (kv.version, String::from_utf8_lossy(&kv.value).into_owned())
        })
    }
}

/// The write classes.
#[derive(Debug, Clone, Copy)]
enum Write {
    Put,
    /// Compare version == 0, then put: applied at most once by construction, so a second
    /// sending shows as an answer that says it did not succeed.
    CreateIfAbsent,
}

/// One write through the faulted endpoint, held to the rules.
async fn write(kind: Write, fault: Fault) {
    let e = Edge::new(&format!("{kind:?}")).await;
    e.arm(&e.key, fault);
    let c = &e.client;
    let result = match kind {
        Write::Put => c.put(&e.key, "v").await.map(|_| true),
        Write::CreateIfAbsent => c
            .txn()
            .when(Compare::version(&e.key, CompareOp::Equal, 0))
            .and_then(Op::put(&e.key, "v"))
            .await
            .map(|r| r.succeeded),
    };
    let (version, value) = e.version().await;
    let about = about(&e.proxy, fault);
    assert_eq!(e.proxy.fired(), 1, "{about}");
    match reach(fault) {
        Reach::NeverSent => {
            let succeeded =
                result.unwrap_or_else(|err| panic!("{about}: the next endpoint: {err}"));
            assert!(succeeded, "{about}: the transaction's compare held");
            assert_eq!((version, value.as_str()), (1, "v"), "{about}: applied once");
        }
        Reach::SentWithoutAnswer => {
            match result {
                Err(err) => assert!(err.is_outcome_unknown(), "{about}: {err}"),
                Ok(succeeded) => panic!(
                    "{about}: a sent write must not be re-sent (answer: succeeded {succeeded}, \
                     version now {version})"
                ),
            }
            let reached = i64::from(e.proxy.request_reached_server());
            assert_eq!(
                version, reached,
                "{about}: applied as often as it reached etcd"
            );
        }
    }
}

/// A get through the faulted endpoint: always answered.
async fn get(fault: Fault) {
    let e = Edge::new("get").await;
    e.seed("v").await;
    e.arm(&e.key, fault);
    let r = e.client.get(&e.key).await;
    let about = about(&e.proxy, fault);
    let r = r.unwrap_or_else(|err| panic!("{about}: a read goes on: {err}"));
    assert_eq!(
        r.kvs.first().map(|kv| &kv.value[..]),
        Some(&b"v"[..]),
        "{about}"
    );
    assert_eq!(e.proxy.fired(), 1, "{about}");
}

/// Reads `w` until `seen` holds `until` values.
async fn take(e: &Edge, fault: Fault, w: &mut Watch, seen: &mut Vec<String>, until: usize) {
    while seen.len() < until {
        let what = || format!("{} (events so far {seen:?})", about(&e.proxy, fault));
        match edges::within(what, w.next()).await {
            Some(Ok(WatchItem::Events { events, .. })) => {
                seen.extend(events.iter().map(|ev| {
                    ev.kv.as_ref().map_or(String::new(), |kv| {
                        String::from_utf8_lossy(&kv.value).into_owned()
                    })
                }));
            }
            Some(Ok(_)) => {}
            other => panic!("{}: after {seen:?}: {other:?}", about(&e.proxy, fault)),
        }
    }
}

/// A watch created through the first endpoint delivers two events; then a get on the same
/// connection meets `fault`, which ends the connection the watch's stream shares. The watch
/// resumes on another member: the events written meanwhile and after come once each.
async fn watch_events(fault: Fault) {
    let e = Edge::new("watch-events").await;
    let first = e.seed("1").await;
    let created = edges::within(
        || about(&e.proxy, fault),
        e.client.watch(&e.key).start_revision(first),
    )
    .await;
    let mut w = created.unwrap_or_else(|err| panic!("created: {err}"));
    let mut seen = Vec::new();
    take(&e, fault, &mut w, &mut seen, 1).await;
    e.seed("2").await;
    take(&e, fault, &mut w, &mut seen, 2).await;
    let other = format!("{}-other", e.key);
    e.arm(&other, fault);
    e.client
        .get(&other)
        .await
        .unwrap_or_else(|err| panic!("{}: a read goes on: {err}", about(&e.proxy, fault)));
    assert_eq!(e.proxy.fired(), 1, "{}", about(&e.proxy, fault));
    e.seed("3").await;
    e.seed("4").await;
    take(&e, fault, &mut w, &mut seen, 4).await;
    let about = about(&e.proxy, fault);
    assert_eq!(
        seen,
        ["1", "2", "3", "4"],
        "{about}: in order, no gap, no duplicate"
    );
}

/// A watch created from the revision of the first of three puts (its creation answered with
/// history at once), the stream carrying the creation faulted: it is created, delivers those
/// three, then the next put, each once.
async fn watch(fault: Fault) {
    let e = Edge::new("watch").await;
    let first = e.seed("1").await;
    e.seed("2").await;
    e.seed("3").await;
    e.arm(&e.key, fault);
    let created = edges::within(
        || about(&e.proxy, fault),
        e.client.watch(&e.key).start_revision(first),
    )
    .await;
    let mut w = created.unwrap_or_else(|err| panic!("{}: created: {err}", about(&e.proxy, fault)));
    let mut seen = Vec::new();
    take(&e, fault, &mut w, &mut seen, 3).await;
    // A fourth event after the three: a duplicate or a late one would come before it.
    e.seed("4").await;
    take(&e, fault, &mut w, &mut seen, 4).await;
    let about = about(&e.proxy, fault);
    assert_eq!(
        seen,
        ["1", "2", "3", "4"],
        "{about}: in order, no gap, no duplicate"
    );
    assert_eq!(e.proxy.fired(), 1, "{about}");
}

/// A keep-alive whose first stream is faulted: it still refreshes the lease (a refresh is safe
/// to repeat), so the lease outlives the TTL it was granted with.
async fn keep_alive(fault: Fault) {
    const TTL: i64 = 3;
    let e = Edge::new("lease").await;
    let granted = Instant::now();
    let id = e.clean.lease_grant(TTL).await.unwrap().id;
    // LeaseKeepAliveRequest { ID = 1 }: the field's tag, then the ID as a varint.
    let mut pattern = vec![0x08];
    let mut v = id as u64;
    while v >= 0x80 {
        pattern.push((v as u8) | 0x80);
        v >>= 7;
    }
    pattern.push(v as u8);
    e.arm(&pattern, fault);
    let kept = edges::within(|| about(&e.proxy, fault), e.client.lease_keep_alive(id)).await;
    let about = about(&e.proxy, fault);
    let kept = kept.unwrap_or_else(|err| panic!("{about}: the keep-alive goes on: {err}"));
    assert!(kept.is_alive(), "{about}: {:?}", kept.state());
    assert_eq!(e.proxy.fired(), 1, "{about}");
    // Past the granted TTL, the lease lives only if it was refreshed.
    let past = granted + Duration::from_millis(TTL as u64 * 1000 + 500);
    tokio::time::sleep_until(past.into()).await;
    let left = e.clean.lease_time_to_live(id, false).await.unwrap().ttl;
    assert!(
        left > 0,
        "{about}: the lease expired (ttl {left}); state {:?}",
        kept.state()
    );
    assert!(kept.is_alive(), "{about}: {:?}", kept.state());
}

mod get {
    crate::edges::each_v3_fault!(super::get);
}

mod put {
    async fn check(fault: rsetcd_testkit::Fault) {
        super::write(super::Write::Put, fault).await
    }
    crate::edges::each_v3_fault!(check);
}

mod txn {
    async fn check(fault: rsetcd_testkit::Fault) {
        super::write(super::Write::CreateIfAbsent, fault).await
    }
    crate::edges::each_v3_fault!(check);
}

mod watch {
    crate::edges::each_v3_fault!(super::watch);
}

/// The events of a watch whose connection a fault ends after its creation.
mod watch_events {
    #[tokio::test]
    async fn drop_answer_and_close() {
        super::watch_events(rsetcd_testkit::Fault::DropAnswerAndClose).await
    }
    #[tokio::test]
    async fn reset_after_forward() {
        super::watch_events(rsetcd_testkit::Fault::ResetAfterForward).await
    }
    #[tokio::test]
    async fn cut_mid_body() {
        super::watch_events(rsetcd_testkit::Fault::CutMidBody).await
    }
    #[tokio::test]
    async fn goaway() {
        super::watch_events(rsetcd_testkit::Fault::GoAway).await
    }
}

mod keep_alive {
    crate::edges::each_v3_fault!(super::keep_alive);
}

/// A put that opted in is re-sent after its answer was lost: applied twice, as asked.
#[tokio::test]
async fn a_put_that_opted_in_is_sent_again_after_its_answer_was_dropped() {
    let e = Edge::new("opt-in").await;
    e.arm(&e.key, Fault::DropAnswerAndClose);
    e.client
        .put(&e.key, "v")
        .retry_unknown_outcome()
        .await
        .unwrap();
    assert!(e.proxy.request_reached_server());
    assert_eq!(
        e.version().await,
        (2, "v".to_string()),
        "once through the proxy, once on member 1"
    );
}
