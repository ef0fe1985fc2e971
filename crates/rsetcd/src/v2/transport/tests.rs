//! Each attempt's deadline, the sorting of failed exchanges, 5xx answers and the pooled
//! connection's second chance, against loopback fake servers.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::*;
use crate::error::EtcdCode;

const S: Duration = Duration::from_secs(1);

type Builder = crate::config::ClientBuilder<crate::v2::Client>;

fn transport(urls: &[&str], settings: impl FnOnce(Builder) -> Builder) -> Transport {
    let builder = crate::v2::Client::builder().endpoints(urls.iter().copied());
    Transport::new(settings(builder).test_config().unwrap()).unwrap()
}

fn get(retry: Retry) -> Request {
    Request::new(Method::Get, "/v2/keys/a".into(), retry)
}

fn put(retry: Retry) -> Request {
    Request::new(Method::Put, "/v2/keys/a".into(), retry).body(Body::Form("value=1".into()))
}

// ----- Deadlines -----

/// The bound of a call's next attempt (not its first: that one counts from the call's start).
fn bound(d: &crate::retry::Deadline) -> Option<Option<std::time::Duration>> {
    d.next_attempt(false).map(|a| a.map(|(_, limit)| limit))
}

#[tokio::test(start_paused = true)]
async fn each_timeout_gives_the_call_its_deadline() {
    let t = transport(&["http://127.0.0.1:1"], |b| {
        b.request_timeout(3 * S).total_timeout(10 * S)
    });
    let start = Instant::now();
    let call = t.call(&get(Retry::Read));
    assert_eq!(call.retry, Retry::Read);
    assert!(call.reconnect);
    assert_eq!(call.deadline.until(), Some(start + 10 * S));
    assert_eq!(bound(&call.deadline), Some(Some(3 * S)));
    tokio::time::advance(8 * S).await;
    assert_eq!(
        bound(&call.deadline),
        Some(Some(2 * S)),
        "cut to what is left of the total"
    );
    tokio::time::advance(2 * S).await;
    assert_eq!(bound(&call.deadline), None);

    // A call's own timeout bounds each attempt, and only that.
    let own = t.call(&get(Retry::Read).timeout(Timeout::After(7 * S)));
    assert_eq!(own.deadline.until(), None);
    assert_eq!(bound(&own.deadline), Some(Some(7 * S)));
    let never = t.call(&put(Retry::Write).timeout(Timeout::Never));
    assert_eq!(never.retry, Retry::Write);
    assert_eq!(never.deadline.until(), None);
    assert_eq!(bound(&never.deadline), Some(None));

    // Without a total timeout, only the attempts are bounded.
    let t = transport(&["http://127.0.0.1:1"], |b| {
        b.request_timeout(3 * S).allow_reconnect(false)
    });
    let call = t.call(&get(Retry::Probe));
    assert!(!call.reconnect);
    assert_eq!(call.retry, Retry::Probe);
    assert_eq!(call.deadline.until(), None);
    tokio::time::advance(100 * S).await;
    assert_eq!(bound(&call.deadline), Some(Some(3 * S)));
}

// ----- Sorting a failed exchange -----

#[cfg(feature = "tls")]
fn refusal() -> io::Error {
    let alert = rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
    io::Error::new(io::ErrorKind::InvalidData, alert)
}

#[cfg(feature = "tls")]
#[test]
fn a_tls_refusal_never_reached_etcd_whenever_it_shows() {
    let mut t = transport(&["https://127.0.0.1:1"], |b| b);
    let endpoint = t.endpoints.snapshot().0[0].clone();
    let failures = [
        ConnFailure::Unsent(refusal()),
        ConnFailure::Sent {
            error: refusal(),
            answered: false,
        },
        ConnFailure::Sent {
            error: refusal(),
            answered: true,
        },
    ];
    for failure in failures {
        let sorted = t.classify(&endpoint, failure);
        assert_eq!(sorted.fate, Fate::NeverSent);
        match &sorted.error {
            Error::Tls { endpoint, reason } => {
                assert_eq!(endpoint, "https://127.0.0.1:1");
                assert!(reason.contains("none is configured"), "{reason}");
            }
            other => panic!("expected a TLS error, got {other:?}"),
        }
    }
    // With a client certificate, the reason says it was not accepted.
    t.config.tls.identity = Some((
        crate::tls::Pem::Bytes(Vec::new()),
        crate::tls::Pem::Bytes(Vec::new()),
    ));
    let sorted = t.classify(&endpoint, ConnFailure::Unsent(refusal()));
    assert_eq!(sorted.fate, Fate::NeverSent);
    assert!(
        matches!(&sorted.error, Error::Tls { reason, .. } if reason.contains("does not accept")),
        "{:?}",
        sorted.error
    );
}

#[test]
fn unsent_is_never_sent_and_sent_is_sent() {
    let t = transport(&["http://127.0.0.1:1"], |b| b);
    let endpoint = t.endpoints.snapshot().0[0].clone();
    let unsent = t.classify(
        &endpoint,
        ConnFailure::Unsent(io::ErrorKind::BrokenPipe.into()),
    );
    assert_eq!(unsent.fate, Fate::NeverSent);
    assert!(matches!(unsent.error, Error::Connect { .. }), "{unsent:?}");
    for answered in [false, true] {
        let sent = t.classify(
            &endpoint,
            ConnFailure::Sent {
                error: io::ErrorKind::ConnectionReset.into(),
                answered,
            },
        );
        assert_eq!(sent.fate, Fate::Sent);
        assert!(matches!(sent.error, Error::Transport { .. }), "{sent:?}");
    }
    // A TLS failure that is not a refusal of the handshake: after the request, sent.
    #[cfg(feature = "tls")]
    {
        let other = rustls::Error::AlertReceived(rustls::AlertDescription::DecodeError);
        let sent = t.classify(
            &endpoint,
            ConnFailure::Sent {
                error: io::Error::new(io::ErrorKind::InvalidData, other),
                answered: false,
            },
        );
        assert_eq!(sent.fate, Fate::Sent);
        assert!(matches!(sent.error, Error::Transport { .. }), "{sent:?}");
    }
}

// ----- A fake v2 server -----

/// What the fake server does with one request.
#[derive(Clone, Debug)]
enum Reply {
    /// These bytes; the connection stays open for the next request.
    Answer(Vec<u8>),
    /// Nothing: the connection is closed once the request has been read.
    Silent,
    /// These bytes (part of an answer), then the connection is closed.
    Cut(Vec<u8>),
}

/// A loopback server answering its n-th request (counted over all its connections) by
/// `script[n]` (`Silent` past its end).
struct Fake {
    url: String,
    /// Each request: the connection it came on (counted from 0) and its request line.
    seen: Arc<Mutex<Vec<(usize, String)>>>,
}

impl Fake {
    async fn start(script: Vec<Reply>) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(script);
        let next = Arc::new(AtomicUsize::new(0));
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            for conn in 0.. {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let (script, next, log) = (script.clone(), next.clone(), log.clone());
                tokio::spawn(serve(tcp, conn, script, next, log));
            }
        });
        Fake { url, seen }
    }

    fn seen(&self) -> Vec<(usize, String)> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut tcp: TcpStream,
    conn: usize,
    script: Arc<Vec<Reply>>,
    next: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<(usize, String)>>>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map_or(0, |n| n.trim().parse().unwrap());
        while buf.len() < head_end + len {
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + len);
        let n = next.fetch_add(1, Ordering::SeqCst);
        let line = head.lines().next().unwrap_or("").to_string();
        seen.lock().unwrap().push((conn, line));
        match script.get(n).cloned().unwrap_or(Reply::Silent) {
            Reply::Answer(bytes) => tcp.write_all(&bytes).await.unwrap(),
            Reply::Silent => return,
            Reply::Cut(bytes) => {
                tcp.write_all(&bytes).await.unwrap();
                return;
            }
        }
    }
}

fn answer(status: &str, body: &str) -> Reply {
    Reply::Answer(
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nX-Etcd-Index: 9\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn ok() -> Reply {
    answer(
        "200 OK",
        r#"{"action":"get","node":{"key":"/a","value":"1","modifiedIndex":9,"createdIndex":9}}"#,
    )
}

fn etcd_error(code: u16) -> Reply {
    answer(
        "500 Internal Server Error",
        &format!(r#"{{"errorCode":{code},"message":"m","cause":"c","index":0}}"#),
    )
}

// ----- 5xx answers -----

#[tokio::test]
async fn a_write_answered_300_has_an_unknown_outcome_and_a_read_goes_on() {
    let first = Fake::start(vec![etcd_error(300), etcd_error(300)]).await;
    let second = Fake::start(vec![ok()]).await;
    let t = transport(&[&first.url, &second.url], |b| b);

    let err = t.send(&put(Retry::Write)).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.code(), Some(EtcdCode::RaftInternal));
    assert!(second.seen().is_empty(), "the write went nowhere else");

    let raw = t.send(&get(Retry::Read)).await.unwrap();
    assert_eq!(raw.status, 200);
    assert_eq!(&*raw.endpoint, second.url);
    assert_eq!(first.seen().len(), 2);
    assert_eq!(second.seen().len(), 1);
}

#[tokio::test]
async fn another_5xx_sends_a_read_to_the_next_endpoint_and_is_a_writes_answer() {
    let unavailable = answer("503 Service Unavailable", r#"{"message":"not ready"}"#);
    let first = Fake::start(vec![unavailable, etcd_error(301), etcd_error(301)]).await;
    let second = Fake::start(vec![ok(), ok()]).await;
    let t = transport(&[&first.url, &second.url], |b| b);

    let raw = t.send(&get(Retry::Read)).await.unwrap();
    assert_eq!((raw.status, &*raw.endpoint), (200, second.url.as_str()));
    // The endpoint that answered is tried first next time: start again on the first.
    t.endpoints.mark_good(&t.endpoints.snapshot().0, 0);
    let raw = t.send(&get(Retry::Read)).await.unwrap();
    assert_eq!(&*raw.endpoint, second.url);

    t.endpoints.mark_good(&t.endpoints.snapshot().0, 0);
    let err = t.send(&put(Retry::Write)).await.unwrap_err();
    assert!(!err.is_outcome_unknown(), "{err:?}");
    assert_eq!(err.code(), Some(EtcdCode::LeaderElect));
    assert_eq!(first.seen().len(), 3);
    assert_eq!(second.seen().len(), 2, "the write was not sent there");
}

#[tokio::test]
async fn a_health_probes_503_is_final() {
    let first = Fake::start(vec![answer(
        "503 Service Unavailable",
        r#"{"health":"false"}"#,
    )])
    .await;
    let second = Fake::start(vec![ok()]).await;
    let t = transport(&[&first.url, &second.url], |b| b);
    let err = t.send(&get(Retry::Probe)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Http { status: 503, endpoint, .. } if *endpoint == first.url),
        "{err:?}"
    );
    assert!(second.seen().is_empty());
}

#[tokio::test]
async fn an_opened_answer_with_a_5xx_head_sends_a_read_on() {
    let first = Fake::start(vec![answer("502 Bad Gateway", "")]).await;
    let second = Fake::start(vec![ok()]).await;
    let t = transport(&[&first.url, &second.url], |b| b);
    let opened = t.open(&get(Retry::Read)).await.unwrap();
    assert_eq!(
        (opened.status, &*opened.endpoint),
        (200, second.url.as_str())
    );
    let body = opened.body.collect().await.unwrap();
    assert!(body.starts_with(b"{\"action\":\"get\""));
}

// ----- Connections that break -----

#[tokio::test]
async fn a_refused_connection_sends_even_a_write_to_the_next_endpoint() {
    let dead = rsetcd_testkit::dead_endpoint().unwrap();
    let second = Fake::start(vec![ok()]).await;
    let t = transport(&[&dead, &second.url], |b| b);
    let raw = t.send(&put(Retry::Write)).await.unwrap();
    assert_eq!(&*raw.endpoint, second.url);
}

#[tokio::test]
async fn a_cut_answer_is_sent_a_write_has_an_unknown_outcome() {
    let cut_body = Reply::Cut(b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n{\"act".to_vec());
    let first = Fake::start(vec![cut_body, Reply::Silent]).await;
    let second = Fake::start(vec![ok()]).await;
    let t = transport(&[&first.url, &second.url], |b| b);
    let err = t.send(&put(Retry::Write)).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    // A read broken the same way (here: no answer at all) goes on.
    let raw = t.send(&get(Retry::Read)).await.unwrap();
    assert_eq!(&*raw.endpoint, second.url);
    assert_eq!(first.seen().len(), 2);
}

#[tokio::test]
async fn a_read_is_sent_again_on_a_new_connection_when_the_pooled_one_fails_silently() {
    let fake = Fake::start(vec![ok(), Reply::Silent, ok()]).await;
    let t = transport(&[&fake.url], |b| b);
    t.send(&get(Retry::Read)).await.unwrap();
    let raw = t.send(&get(Retry::Read)).await.unwrap();
    assert_eq!(raw.status, 200);
    let conns: Vec<usize> = fake.seen().iter().map(|(c, _)| *c).collect();
    assert_eq!(
        conns,
        [0, 0, 1],
        "the pooled connection, then one new connection"
    );
}

#[tokio::test]
async fn a_write_is_not_sent_again_when_the_pooled_connection_fails_silently() {
    let fake = Fake::start(vec![ok(), Reply::Silent, ok()]).await;
    let t = transport(&[&fake.url], |b| b);
    t.send(&get(Retry::Read)).await.unwrap();
    let err = t.send(&put(Retry::Write)).await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err:?}");
    let seen = fake.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1], (0, "PUT /v2/keys/a HTTP/1.1".to_string()));
    // A write that opted in goes again.
    let fake = Fake::start(vec![ok(), Reply::Silent, ok()]).await;
    let t = transport(&[&fake.url], |b| b);
    t.send(&get(Retry::Read)).await.unwrap();
    t.send(&put(Retry::WriteRetryUnknown)).await.unwrap();
    let conns: Vec<usize> = fake.seen().iter().map(|(c, _)| *c).collect();
    assert_eq!(conns, [0, 0, 1]);
}

#[tokio::test]
async fn only_a_pooled_connection_that_answered_nothing_gets_a_second_chance() {
    // The pooled connection answered in part: the server spoke, the read is not re-sent there.
    let fake = Fake::start(vec![
        ok(),
        Reply::Cut(b"HTTP/1.1 200 OK\r\nContent-".to_vec()),
        ok(),
    ])
    .await;
    let t = transport(&[&fake.url], |b| b);
    t.send(&get(Retry::Read)).await.unwrap();
    let err = t.send(&get(Retry::Read)).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(fake.seen().len(), 2);

    // A new connection that fails silently is not tried again on the same endpoint.
    let fake = Fake::start(vec![Reply::Silent, ok()]).await;
    let t = transport(&[&fake.url], |b| b);
    let err = t.send(&get(Retry::Read)).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(fake.seen().len(), 1);
}

#[cfg(feature = "tls")]
#[tokio::test]
async fn a_server_refusing_the_client_certificate_after_the_handshake_never_got_the_write() {
    let pki = rsetcd_testkit::certs::TestPki::generate().unwrap();
    let refusing = crate::tls::refusing_server(&pki, b"http/1.1").await;
    let second = Fake::start(vec![ok()]).await;
    let t = transport(&[&refusing, &second.url], |b| b.ca_file(&pki.ca));
    let refused = t.call(&put(Retry::Write));
    let endpoint = t.endpoints.snapshot().0[0].clone();
    let failure = match t
        .whole(endpoint, &put(Retry::Write), &refused.progress)
        .await
    {
        Ok(raw) => panic!("the refusing server answered {raw:?}"),
        Err(failure) => failure,
    };
    assert_eq!(failure.fate, Fate::NeverSent, "{:?}", failure.error);
    assert!(
        matches!(&failure.error, Error::Tls { reason, .. } if reason.contains("none is configured")),
        "{:?}",
        failure.error
    );
    // So a write goes on to the next endpoint.
    let raw = t.send(&put(Retry::Write)).await.unwrap();
    assert_eq!(&*raw.endpoint, second.url);
}
