//! The v2 API's retry rules at every edge of an HTTP/1.1 exchange, against a real 3-member
//! cluster with a fault proxy in front of member 0 (the first endpoint). Each call class
//! (read, set, CAS on value and on index, create, watch stream, one-shot wait) meets each fault
//! once; the outcome must be the one the README's retry rules state, and the final state, read
//! from member 1, must show every write applied at most once and every watch event delivered
//! exactly once.
//!
//! Run one class with `cargo test -p rsetcd --test edges_v2 set::`.

mod edges;

use std::time::Duration;

use futures_util::StreamExt;
use rsetcd::v2::{Client, Response, WatchEvent};
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
        let proxy = edges::proxy(Wire::Http1).await;
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

    /// The key's path as the client sends it.
    fn path(&self) -> String {
        format!("/v2/keys{}", self.key)
    }

    fn arm(&self, pattern: &str, fault: Fault) {
        self.proxy.arm(Trigger::containing(pattern), fault).unwrap();
    }

    /// Writes the key on member 1; its modified index.
    async fn seed(&self, value: &str) -> u64 {
        self.clean
            .write(&self.key, value)
            .await
            .unwrap()
            .node
            .modified_index
    }

    /// The store index now.
    async fn index(&self) -> u64 {
        self.clean.read("/").await.unwrap().etcd_index
    }

    /// Every event on the key after `after`, read from member 1's history.
    async fn history(&self, after: u64) -> Vec<Response> {
        let mut events = Vec::new();
        let mut next = after + 1;
        for _ in 0..10 {
            match self
                .clean
                .read(&self.key)
                .wait_index(next)
                .timeout(Duration::from_millis(300))
                .await
            {
                Ok(event) => {
                    next = event.node.modified_index + 1;
                    events.push(event);
                }
                Err(e) if edges::is_timeout(&e) => break,
                Err(e) => panic!("reading the history of {}: {e}", self.key),
            }
        }
        events
    }
}

/// The write classes.
#[derive(Debug, Clone, Copy)]
enum Write {
    Set,
    CasValue,
    CasIndex,
    Create,
}

/// One write through the faulted endpoint, held to the rules.
async fn write(kind: Write, fault: Fault) {
    let e = Edge::new(&format!("{kind:?}")).await;
    let after = match kind {
        Write::Create => e.index().await,
        _ => e.seed("before").await,
    };
    e.arm(&e.path(), fault);
    let c = &e.client;
    let result = match kind {
        Write::Set => c.write(&e.key, "after").await,
        Write::CasValue => {
            c.compare_and_swap(&e.key, "after")
                .prev_value("before")
                .await
        }
        Write::CasIndex => c.compare_and_swap(&e.key, "after").prev_index(after).await,
        Write::Create => c.create(&e.key, "after").await,
    };
    let applied = e.history(after).await.len();
    let about = about(&e.proxy, fault);
    assert_eq!(e.proxy.fired(), 1, "{about}");
    match reach(fault) {
        Reach::NeverSent => {
            let r = result.unwrap_or_else(|err| panic!("{about}: the next endpoint: {err}"));
            assert_eq!(r.value(), Some("after"), "{about}");
            assert_eq!(applied, 1, "{about}: applied once");
        }
        Reach::SentWithoutAnswer => {
            match result {
                Err(err) => assert!(err.is_outcome_unknown(), "{about}: {err}"),
                Ok(r) => panic!("{about}: a sent write must not be re-sent, got {r:?}"),
            }
            let reached = usize::from(e.proxy.request_reached_server());
            assert_eq!(
                applied, reached,
                "{about}: applied as often as it reached etcd"
            );
        }
    }
}

/// A read through the faulted endpoint: always answered.
async fn read(fault: Fault) {
    let e = Edge::new("read").await;
    e.seed("v").await;
    e.arm(&e.path(), fault);
    let r = e.client.read(&e.key).await;
    let about = about(&e.proxy, fault);
    let r = r.unwrap_or_else(|err| panic!("{about}: a read goes on: {err}"));
    assert_eq!(r.value(), Some("v"), "{about}");
    assert_eq!(e.proxy.fired(), 1, "{about}");
}

/// A one-shot wait whose event is in etcd's history: delivered, whatever its first poll met.
async fn wait(fault: Fault) {
    let e = Edge::new("wait").await;
    let first = e.seed("1").await;
    e.seed("2").await;
    e.arm(&format!("{}?wait=true", e.path()), fault);
    let r = e
        .client
        .read(&e.key)
        .wait_index(first)
        .timeout(edges::REQUEST_TIMEOUT)
        .await;
    let about = about(&e.proxy, fault);
    let r = r.unwrap_or_else(|err| panic!("{about}: the wait goes on: {err}"));
    assert_eq!(
        (r.value(), r.node.modified_index),
        (Some("1"), first),
        "{about}"
    );
    assert_eq!(e.proxy.fired(), 1, "{about}");
}

/// A watch stream from before three writes (so etcd answers its first poll at once, from its
/// history), its first poll faulted: it delivers those three, then the next write, each once.
async fn watch(fault: Fault) {
    let e = Edge::new("watch").await;
    let first = e.seed("1").await;
    e.seed("2").await;
    e.seed("3").await;
    e.arm(&format!("{}?wait=true", e.path()), fault);
    let mut stream = e
        .client
        .watch(&e.key)
        .after_index(first - 1)
        .idle_timeout(Duration::from_secs(1))
        .give_up_after(Duration::from_secs(10))
        .stream();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        if seen.len() == 3 {
            // A fourth event after the three: a duplicate or a late one would come before it.
            e.seed("4").await;
        }
        let what = || format!("{} (events so far {seen:?})", about(&e.proxy, fault));
        match edges::within(what, stream.next()).await {
            Some(Ok(WatchEvent::Event(r))) => seen.push(r.value().unwrap_or("").to_string()),
            other => panic!("{}: after {seen:?}: {other:?}", about(&e.proxy, fault)),
        }
    }
    let about = about(&e.proxy, fault);
    assert_eq!(
        seen,
        ["1", "2", "3", "4"],
        "{about}: in order, no gap, no duplicate"
    );
    assert_eq!(e.proxy.fired(), 1, "{about}");
}

mod read {
    crate::edges::each_v2_fault!(super::read);
}

mod set {
    async fn check(fault: rsetcd_testkit::Fault) {
        super::write(super::Write::Set, fault).await
    }
    crate::edges::each_v2_fault!(check);
}

mod cas_value {
    async fn check(fault: rsetcd_testkit::Fault) {
        super::write(super::Write::CasValue, fault).await
    }
    crate::edges::each_v2_fault!(check);
}

mod cas_index {
    async fn check(fault: rsetcd_testkit::Fault) {
        super::write(super::Write::CasIndex, fault).await
    }
    crate::edges::each_v2_fault!(check);
}

mod create {
    async fn check(fault: rsetcd_testkit::Fault) {
        super::write(super::Write::Create, fault).await
    }
    crate::edges::each_v2_fault!(check);
}

mod wait {
    crate::edges::each_v2_fault!(super::wait);
}

mod watch {
    crate::edges::each_v2_fault!(super::watch);
}

/// A write that opted in is re-sent after its answer was lost: applied twice, as asked.
#[tokio::test]
async fn a_set_that_opted_in_is_sent_again_after_its_answer_was_dropped() {
    let e = Edge::new("opt-in").await;
    let after = e.seed("before").await;
    e.arm(&e.path(), Fault::DropAnswerAndClose);
    let r = e
        .client
        .write(&e.key, "after")
        .retry_unknown_outcome()
        .await
        .unwrap();
    assert_eq!(r.value(), Some("after"));
    assert!(e.proxy.request_reached_server());
    assert_eq!(
        e.history(after).await.len(),
        2,
        "once through the proxy, once on member 1"
    );
}

/// A write bigger than the socket buffers, whose connection is reset before it was all written:
/// it provably never arrived whole (HTTP/1.1 needs the whole body), so it goes to the next
/// endpoint.
#[tokio::test]
async fn a_write_cut_before_its_body_left_goes_to_the_next_endpoint() {
    let e = Edge::new("big").await;
    let after = e.seed("before").await;
    e.arm(&e.path(), Fault::CloseAfterRequestBytes(0));
    let big = "x".repeat(6 << 20);
    let result = e
        .client
        .write(&e.key, big.clone())
        .timeout(Duration::from_secs(10))
        .await;
    let about = about(&e.proxy, Fault::CloseAfterRequestBytes(0));
    let r = result.unwrap_or_else(|err| panic!("{about}: {err}"));
    assert_eq!(r.value().map(str::len), Some(big.len()));
    assert!(!e.proxy.request_reached_server());
    assert_eq!(e.history(after).await.len(), 1, "{about}: applied once");
}

/// Waits for the stream's end: an error after `give_up` (not before, not much after), then
/// nothing; no event on the way.
async fn gives_up(stream: &mut rsetcd::v2::WatchStream, give_up: Duration, what: &str) {
    let start = std::time::Instant::now();
    let item = edges::within(|| format!("{what}: no error"), stream.next()).await;
    let elapsed = start.elapsed();
    match item {
        Some(Err(err)) => eprintln!("{what}: gave up after {elapsed:?}: {err}"),
        other => panic!("{what}: expected the give-up error, got {other:?}"),
    }
    assert!(
        elapsed >= give_up && elapsed < give_up + Duration::from_secs(3),
        "{what}: gave up after {elapsed:?}, bound {give_up:?}"
    );
    let end = edges::within(|| format!("{what}: no end"), stream.next()).await;
    assert!(
        end.is_none(),
        "{what}: the stream ends after its error: {end:?}"
    );
}

/// Issue 15, bug 4 (chunked): etcd answers each poll at once from its history, and the only
/// endpoint cuts every answer in the middle of its chunk. The stream cannot deliver the event;
/// it must give up after its bound instead of polling for ever.
#[tokio::test]
async fn a_watch_whose_every_chunked_answer_is_cut_gives_up_after_its_bound() {
    let e = Edge::new("always-cut").await;
    let first = e.seed("1").await;
    e.proxy
        .arm(
            Trigger::containing(format!("{}?wait=true", e.path())).always(),
            Fault::CutMidBody,
        )
        .unwrap();
    let alone = edges::quick(Client::builder())
        .host(e.proxy.url())
        .build()
        .unwrap();
    let give_up = Duration::from_secs(2);
    let mut stream = alone
        .watch(&e.key)
        .after_index(first - 1)
        .idle_timeout(Duration::from_secs(1))
        .give_up_after(give_up)
        .stream();
    gives_up(&mut stream, give_up, "every chunked answer cut").await;
    assert!(e.proxy.fired() >= 2, "polled again: {}", e.proxy.fired());
}

/// Issue 15, bug 4 (plain): an endpoint that answers every poll with a head and a
/// `Content-Length` body cut short (a fake server: etcd frames watch answers in chunks).
#[tokio::test]
async fn a_watch_whose_every_sized_answer_is_cut_gives_up_after_its_bound() {
    use rsetcd_testkit::fault::{Fault as Served, FaultServer};
    let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Etcd-Index: 9\r\n\
                  Content-Length: 200\r\n\r\n{\"action\":\"set\",\"node\":{\"key\":";
    let server = FaultServer::start(Served::Respond(answer.as_bytes().to_vec())).unwrap();
    let alone = edges::quick(Client::builder())
        .host(server.url())
        .build()
        .unwrap();
    let give_up = Duration::from_secs(2);
    let mut stream = alone
        .watch("/always-cut")
        .after_index(3)
        .idle_timeout(Duration::from_secs(1))
        .give_up_after(give_up)
        .stream();
    gives_up(&mut stream, give_up, "every sized answer cut").await;
    assert!(
        server.connections() >= 2,
        "polled again: {}",
        server.connections()
    );
}
