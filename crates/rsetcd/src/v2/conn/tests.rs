//! The idle pool, and what one exchange proves, against a loopback server driven by each test.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::*;

const REQUEST: &[u8] = b"GET /v2/keys/a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// A connection to a loopback listener, and the server's side of it.
async fn pair() -> (Conn, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    let mut conn = Conn::new(Stream::Plain(client));
    conn.out = REQUEST.to_vec();
    (conn, server)
}

fn tcp(conn: &Conn) -> &TcpStream {
    match &conn.stream {
        Stream::Plain(tcp) => tcp,
        #[cfg(feature = "tls")]
        Stream::Tls(_) => unreachable!("the tests use plain connections"),
    }
}

/// The client's port: which connection a pool handed out.
fn port(conn: &Conn) -> u16 {
    tcp(conn).local_addr().unwrap().port()
}

/// Reads one request head (the tests' requests have no body).
async fn read_request(server: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"\r\n\r\n") {
        let n = server.read(&mut buf).await.unwrap();
        assert!(n > 0, "the client closed before its request was whole");
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Runs an exchange against a server that reads the request, writes `answer` and, when
/// `close`, closes the connection; the server's side is returned when it stays open.
async fn exchange_with(
    answer: &'static [u8],
    close: bool,
) -> (Conn, Result<Head, Failure>, Progress, Option<TcpStream>) {
    let (mut conn, mut server) = pair().await;
    let server = tokio::spawn(async move {
        assert_eq!(read_request(&mut server).await, REQUEST);
        server.write_all(answer).await.unwrap();
        (!close).then_some(server)
    });
    let progress = Progress::tracked();
    let outcome = conn.exchange(&progress).await;
    let server = server.await.unwrap();
    (conn, outcome, progress, server)
}

fn unwrap_head(outcome: Result<Head, Failure>) -> Head {
    match outcome {
        Ok(head) => head,
        Err(failure) => panic!("no head: {failure:?}"),
    }
}

// ----- The pool -----

fn runtime() -> RuntimeId {
    tokio::runtime::Handle::current().id()
}

/// The id of another runtime (made and dropped on a thread of its own, as a runtime cannot be
/// dropped inside another: ids are never reused).
fn other_runtime() -> RuntimeId {
    std::thread::spawn(|| {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .handle()
            .id()
    })
    .join()
    .unwrap()
}

/// Makes every connection pooled for `url` look idle for `idle`.
fn age(pool: &Pool, url: &str, idle: Duration) {
    let mut slots = pool.lock();
    let slot = slots.iter_mut().find(|i| &*i.url == url).unwrap();
    for conn in &mut slot.conns {
        conn.idle_since = Instant::now().checked_sub(idle).unwrap();
    }
}

fn pooled(pool: &Pool) -> usize {
    pool.lock().iter().map(|i| i.conns.len()).sum()
}

#[tokio::test]
async fn the_pool_hands_out_the_most_recent_connection_of_this_runtime_and_url() {
    let pool = Pool::new(Duration::from_secs(60));
    let url: Arc<str> = "http://127.0.0.1:1".into();
    let rt = runtime();
    assert!(pool.take(rt, &url).is_none(), "empty");
    let (a, _sa) = pair().await;
    let (b, _sb) = pair().await;
    let (pa, pb) = (port(&a), port(&b));
    pool.put(rt, &url, a);
    pool.put(rt, &url, b);
    assert!(pool.take(rt, "http://127.0.0.1:2").is_none(), "another URL");
    assert!(
        pool.take(other_runtime(), &url).is_none(),
        "another runtime"
    );
    assert_eq!(pool.take(rt, &url).map(|c| port(&c)), Some(pb));
    assert_eq!(pool.take(rt, &url).map(|c| port(&c)), Some(pa));
    assert!(pool.take(rt, &url).is_none());

    // Each runtime and URL has its own connections.
    let other = other_runtime();
    let url2: Arc<str> = "http://127.0.0.1:2".into();
    let (c, _sc) = pair().await;
    let (d, _sd) = pair().await;
    let (e, _se) = pair().await;
    let (pc, pd, pe) = (port(&c), port(&d), port(&e));
    pool.put(rt, &url, c);
    pool.put(other, &url, d);
    pool.put(rt, &url2, e);
    assert_eq!(pool.take(other, &url).map(|c| port(&c)), Some(pd));
    assert_eq!(pool.take(rt, &url2).map(|c| port(&c)), Some(pe));
    assert_eq!(pool.take(rt, &url).map(|c| port(&c)), Some(pc));
    assert_eq!(pooled(&pool), 0);
}

#[tokio::test]
async fn connections_idle_longer_than_the_timeout_are_not_handed_out() {
    let pool = Pool::new(Duration::from_secs(60));
    let url: Arc<str> = "http://127.0.0.1:1".into();
    let rt = runtime();
    let (old, _s1) = pair().await;
    pool.put(rt, &url, old);
    age(&pool, &url, Duration::from_secs(61));
    let (fresh, _s2) = pair().await;
    let fresh_port = port(&fresh);
    // Putting a connection drops the expired ones of its slot.
    pool.put(rt, &url, fresh);
    assert_eq!(pooled(&pool), 1, "the expired one is gone");
    assert_eq!(pool.take(rt, &url).map(|c| port(&c)), Some(fresh_port));

    // Expired when taken: not handed out, and dropped.
    let (a, _s3) = pair().await;
    let (b, _s4) = pair().await;
    pool.put(rt, &url, a);
    pool.put(rt, &url, b);
    age(&pool, &url, Duration::from_secs(60));
    assert!(
        pool.take(rt, &url).is_none(),
        "idle for the whole timeout: expired"
    );
    assert_eq!(pooled(&pool), 0);

    // Just below the timeout: still good.
    let (c, _s5) = pair().await;
    pool.put(rt, &url, c);
    age(&pool, &url, Duration::from_secs(59));
    assert!(pool.take(rt, &url).is_some());
}

#[tokio::test]
async fn a_new_slot_forgets_what_other_slots_left_to_expire() {
    let pool = Pool::new(Duration::from_secs(60));
    let rt = runtime();
    let gone: Arc<str> = "http://127.0.0.1:1".into();
    let (a, _sa) = pair().await;
    pool.put(other_runtime(), &gone, a);
    age(&pool, &gone, Duration::from_secs(120));
    let kept: Arc<str> = "http://127.0.0.1:2".into();
    let (b, _sb) = pair().await;
    pool.put(rt, &kept, b);
    let slots = pool.lock();
    assert_eq!(slots.len(), 1, "the expired slot was removed");
    assert_eq!(&*slots[0].url, &*kept);
}

#[tokio::test]
async fn a_connection_the_server_closed_is_not_handed_out() {
    let pool = Pool::new(Duration::from_secs(60));
    let url: Arc<str> = "http://127.0.0.1:1".into();
    let rt = runtime();
    let (alive, _keep) = pair().await;
    let alive_port = port(&alive);
    let (closed, server) = pair().await;
    drop(server);
    // The FIN is in the client's socket once it shows as readable.
    tcp(&closed).readable().await.unwrap();
    pool.put(rt, &url, alive);
    pool.put(rt, &url, closed);
    assert_eq!(
        pool.take(rt, &url).map(|c| port(&c)),
        Some(alive_port),
        "the closed one (most recent) is skipped and dropped"
    );
    assert_eq!(pooled(&pool), 0);

    // Bytes nobody asked for: the connection is out of step, not reused.
    let (chatty, mut server) = pair().await;
    server.write_all(b"HTTP/1.1 408 ").await.unwrap();
    tcp(&chatty).readable().await.unwrap();
    pool.put(rt, &url, chatty);
    assert!(pool.take(rt, &url).is_none());
}

// ----- One exchange -----

#[tokio::test]
async fn a_request_that_cannot_be_written_was_never_sent() {
    let (mut conn, server) = pair().await;
    // The server resets the connection before the request goes.
    server.set_zero_linger().unwrap();
    drop(server);
    tcp(&conn).readable().await.unwrap();
    let progress = Progress::tracked();
    match conn.exchange(&progress).await {
        Err(Failure::Unsent(e)) => assert!(
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{e:?}"
        ),
        other => panic!("expected Unsent, got {other:?}"),
    }
    assert!(!progress.was_sent());
}

#[tokio::test]
async fn a_request_read_then_a_close_is_sent_without_an_answer() {
    let (_, outcome, progress, _) = exchange_with(b"", true).await;
    match outcome {
        Err(Failure::Sent { error, answered }) => {
            assert!(!answered);
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        }
        other => panic!("expected Sent, got {other:?}"),
    }
    assert!(progress.was_sent());
}

#[tokio::test]
async fn half_a_head_then_a_close_is_sent_and_answered() {
    let (_, outcome, progress, _) = exchange_with(b"HTTP/1.1 200 OK\r\nContent-Le", true).await;
    match outcome {
        Err(Failure::Sent { error, answered }) => {
            assert!(answered, "part of the answer came");
            assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
        }
        other => panic!("expected Sent, got {other:?}"),
    }
    assert!(progress.was_sent());
}

#[tokio::test]
async fn a_malformed_head_is_an_answer_that_broke() {
    let (_, outcome, progress, _server) =
        exchange_with(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", false).await;
    match outcome {
        Err(Failure::Sent { error, answered }) => {
            assert!(answered);
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(error.to_string().contains("malformed"), "{error}");
        }
        other => panic!("expected Sent, got {other:?}"),
    }
    assert!(progress.was_sent());
}

#[tokio::test]
async fn a_whole_head_is_returned_with_the_body_left_to_read() {
    let (mut conn, outcome, progress, _server) = exchange_with(
        b"HTTP/1.1 200 OK\r\nX-Etcd-Index: 7\r\nContent-Length: 5\r\n\r\nhello",
        false,
    )
    .await;
    let head = unwrap_head(outcome);
    assert!(progress.was_sent());
    assert_eq!(head.status, 200);
    assert_eq!(head.headers.etcd_index, Some(7));
    assert_eq!(head.framing, Framing::Length(5));
    assert!(head.keep_alive);
    assert_eq!(&conn.read_body(head.framing).await.unwrap()[..], b"hello");
    assert!(conn.is_clean());
}

/// Polls `fut` once.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx))).await
}

#[tokio::test]
async fn progress_is_marked_once_the_request_is_written_in_full() {
    let (mut conn, mut server) = pair().await;
    // Far more than the socket buffers of both ends hold: the write waits for the server.
    let body = vec![b'x'; 32 << 20];
    conn.out = format!(
        "PUT /v2/keys/big HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    conn.out.extend_from_slice(&body);
    let total = conn.out.len();
    let (go, start) = oneshot::channel::<()>();
    let (read_tx, read_rx) = oneshot::channel::<()>();
    let (answer_tx, answer_rx) = oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        start.await.unwrap();
        let mut left = total;
        let mut buf = vec![0u8; 1 << 16];
        while left > 0 {
            let n = server.read(&mut buf).await.unwrap();
            assert!(n > 0);
            left -= n;
        }
        read_tx.send(()).unwrap();
        answer_rx.await.unwrap();
        server
            .write_all(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        server
    });
    let progress = Progress::tracked();
    let mut exchange = Box::pin(conn.exchange(&progress));
    assert!(poll_once(&mut exchange).await.is_pending());
    assert!(
        !progress.was_sent(),
        "part of the request is still waiting to be written"
    );
    go.send(()).unwrap();
    let checked = async {
        read_rx.await.unwrap();
        // The server has the whole request and has not answered.
        assert!(progress.was_sent(), "marked before any answer came");
        answer_tx.send(()).unwrap();
    };
    let (outcome, ()) = tokio::join!(exchange, checked);
    assert_eq!(unwrap_head(outcome).status, 201);
    let _server = server.await.unwrap();
}

// ----- Bodies -----

#[tokio::test]
async fn a_body_framed_by_its_length() {
    let (mut conn, outcome, _, _server) = exchange_with(
        b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world",
        false,
    )
    .await;
    let head = unwrap_head(outcome);
    assert_eq!(
        &conn.read_body(head.framing).await.unwrap()[..],
        b"hello world"
    );
    assert!(conn.is_clean());

    let (mut conn, outcome, _, _server) =
        exchange_with(b"HTTP/1.1 204 No Content\r\n\r\n", false).await;
    let head = unwrap_head(outcome);
    assert_eq!(head.framing, Framing::Length(0));
    assert!(conn.read_body(head.framing).await.unwrap().is_empty());
    assert!(conn.is_clean());
}

#[tokio::test]
async fn a_chunked_body_with_extensions_and_trailers() {
    let (mut conn, outcome, _, _server) = exchange_with(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
          5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n",
        false,
    )
    .await;
    let head = unwrap_head(outcome);
    assert_eq!(head.framing, Framing::Chunked);
    assert_eq!(
        &conn.read_body(head.framing).await.unwrap()[..],
        b"hello world"
    );
    assert!(conn.is_clean(), "the trailers were read too");
}

#[tokio::test]
async fn a_body_until_the_close() {
    let (mut conn, outcome, _, _) =
        exchange_with(b"HTTP/1.1 200 OK\r\n\r\n{\"action\":\"get\"}", true).await;
    let head = unwrap_head(outcome);
    assert_eq!(head.framing, Framing::UntilClose);
    assert!(!head.keep_alive);
    assert_eq!(
        &conn.read_body(head.framing).await.unwrap()[..],
        b"{\"action\":\"get\"}"
    );
}

#[tokio::test]
async fn a_truncated_body_is_an_error() {
    let (mut conn, outcome, _, _) =
        exchange_with(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true).await;
    let head = unwrap_head(outcome);
    let err = conn.read_body(head.framing).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

    let (mut conn, outcome, _, _) = exchange_with(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        true,
    )
    .await;
    let head = unwrap_head(outcome);
    let err = conn.read_body(head.framing).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

    // The last chunk came, its trailers' end did not.
    let (mut conn, outcome, _, _) = exchange_with(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n",
        true,
    )
    .await;
    let head = unwrap_head(outcome);
    let err = conn.read_body(head.framing).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
}

#[tokio::test]
async fn a_malformed_chunk_is_an_error() {
    let (mut conn, outcome, _, _server) = exchange_with(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        false,
    )
    .await;
    let head = unwrap_head(outcome);
    let err = conn.read_body(head.framing).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[tokio::test]
async fn more_than_the_answer_leaves_the_connection_unclean() {
    let (mut conn, outcome, _, _server) = exchange_with(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
        false,
    )
    .await;
    let head = unwrap_head(outcome);
    assert_eq!(&conn.read_body(head.framing).await.unwrap()[..], b"ok");
    assert!(!conn.is_clean());
}

#[tokio::test]
async fn a_body_read_whole_returns_its_connection_to_the_pool_when_reusable() {
    let url: Arc<str> = "http://127.0.0.1:1".into();
    let rt = runtime();
    let cases: [(&'static [u8], bool); 3] = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", true),
        (
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
            false,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA",
            false,
        ),
    ];
    for (answer, reused) in cases {
        let pool = Pool::new(Duration::from_secs(60));
        let (conn, outcome, _, _server) = exchange_with(answer, false).await;
        let head = unwrap_head(outcome);
        let body = Body::new(conn, &head, pool.clone(), rt, url.clone());
        assert_eq!(&body.collect().await.unwrap()[..], b"ok");
        assert_eq!(
            pool.take(rt, &url).is_some(),
            reused,
            "{}",
            String::from_utf8_lossy(answer)
        );
    }
}
