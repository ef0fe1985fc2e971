//! A real [`Channel`] against in-process HTTP/2 servers on 127.0.0.1 (the `h2` crate's server, or
//! raw frames where a frame must be exact): what each way a call fails proves.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use h2::Reason;
use http::{HeaderMap, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::*;
use crate::error::V3ErrorKind;
use crate::retry::Fate;
use crate::v3::proto::etcdserverpb::{RangeRequest, RangeResponse};

const RANGE: &str = "/etcdserverpb.KV/Range";

/// The channel to `url`, as a v3 client with default settings makes it.
fn channel(url: &str) -> (Channels, Channel, Endpoint) {
    let config = crate::v3::Client::builder()
        .endpoints([url])
        .test_config()
        .unwrap();
    let channels = Channels::new(&config).unwrap();
    let endpoint = config.endpoints[0].clone();
    let channel = channels.get(&endpoint).unwrap();
    (channels, channel, endpoint)
}

async fn range(channel: &Channel, progress: &Progress) -> Result<RangeResponse, CallError> {
    let body = encode(&RangeRequest {
        key: Bytes::from_static(b"k"),
        ..Default::default()
    })
    .unwrap();
    channel.unary(RANGE, body, None, progress).await
}

/// What a failed call proves.
fn sorted(outcome: Result<RangeResponse, CallError>, endpoint: &Endpoint) -> crate::retry::Failure {
    match outcome {
        Ok(answer) => panic!("expected a failure, got {answer:?}"),
        Err(err) => err.sort(endpoint),
    }
}

// ----- A gRPC server on h2 -----

/// What the server does with one call.
#[derive(Clone, Debug)]
enum Reply {
    /// A whole answer: head, message, trailers with grpc-status 0.
    Ok(RangeResponse),
    /// A head that carries the status and ends the stream.
    TrailersOnly(u16, &'static str),
    /// A head, no message, the status in the trailers.
    InTrailers(u16, &'static str),
    /// A head and a message, and the stream ends without trailers.
    NoStatus,
    /// An HTTP answer that is not gRPC's.
    Http(u16),
    /// RST_STREAM with this reason.
    Reset(Reason),
    /// The TCP connection is closed (the request has arrived).
    Close,
}

#[derive(Default)]
struct Log {
    conns: AtomicUsize,
    calls: AtomicUsize,
    /// Each call's path and `token` header.
    heads: Mutex<Vec<(String, Option<String>)>>,
}

/// A server answering its n-th call (over all its connections) by `script[n]` (`Close` past
/// its end), on the test's runtime.
async fn server(script: Vec<Reply>) -> (String, Arc<Log>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let log = Arc::new(Log::default());
    let script = Arc::new(script);
    let shared = Arc::clone(&log);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            shared.conns.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(tcp, Arc::clone(&script), Arc::clone(&shared)));
        }
    });
    (url, log)
}

async fn serve(tcp: TcpStream, script: Arc<Vec<Reply>>, log: Arc<Log>) {
    let Ok(mut conn) = h2::server::handshake(tcp).await else {
        return;
    };
    while let Some(Ok((req, mut respond))) = conn.accept().await {
        let n = log.calls.fetch_add(1, Ordering::SeqCst);
        let token = req
            .headers()
            .get("token")
            .map(|v| v.to_str().unwrap().to_string());
        log.heads
            .lock()
            .unwrap()
            .push((req.uri().path().to_string(), token));
        match script.get(n).cloned().unwrap_or(Reply::Close) {
            // Dropping the connection closes the socket.
            Reply::Close => return,
            Reply::Reset(reason) => respond.send_reset(reason),
            reply => {
                tokio::spawn(answer(req, respond, reply));
            }
        }
    }
}

fn grpc_head(status: u16) -> http::response::Builder {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/grpc")
}

fn grpc_status(code: u16, message: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("grpc-status", HeaderValue::from(code));
    if !message.is_empty() {
        let encoded = message.replace(' ', "%20");
        headers.insert("grpc-message", HeaderValue::from_str(&encoded).unwrap());
    }
    headers
}

/// Answers a call once its request has arrived whole.
async fn answer(
    req: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    reply: Reply,
) {
    let mut body = req.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    match reply {
        Reply::Ok(message) => {
            let mut send = respond
                .send_response(grpc_head(200).body(()).unwrap(), false)
                .unwrap();
            send.send_data(encode(&message).unwrap(), false).unwrap();
            send.send_trailers(grpc_status(0, "")).unwrap();
        }
        Reply::TrailersOnly(code, message) => {
            let mut head = grpc_head(200).body(()).unwrap();
            head.headers_mut().extend(grpc_status(code, message));
            respond.send_response(head, true).unwrap();
        }
        Reply::InTrailers(code, message) => {
            let mut send = respond
                .send_response(grpc_head(200).body(()).unwrap(), false)
                .unwrap();
            send.send_trailers(grpc_status(code, message)).unwrap();
        }
        Reply::NoStatus => {
            let mut send = respond
                .send_response(grpc_head(200).body(()).unwrap(), false)
                .unwrap();
            let message = encode(&RangeResponse::default()).unwrap();
            send.send_data(message, true).unwrap();
        }
        Reply::Http(status) => {
            let head = http::Response::builder()
                .status(status)
                .header("content-type", "text/plain")
                .body(())
                .unwrap();
            respond.send_response(head, true).unwrap();
        }
        Reply::Reset(_) | Reply::Close => unreachable!("handled by the connection"),
    }
}

// ----- Answers -----

#[tokio::test]
async fn an_ok_answer_is_decoded() {
    let (url, log) = server(vec![Reply::Ok(RangeResponse {
        count: 7,
        more: true,
        ..Default::default()
    })])
    .await;
    let (_channels, channel, _) = channel(&url);
    let progress = Progress::tracked();
    let answer = match range(&channel, &progress).await {
        Ok(answer) => answer,
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!((answer.count, answer.more), (7, true));
    assert!(progress.was_sent());
    assert_eq!(*log.heads.lock().unwrap(), [(RANGE.to_string(), None)]);
}

#[tokio::test]
async fn the_token_goes_with_the_call() {
    let (url, log) = server(vec![Reply::Ok(RangeResponse::default())]).await;
    let (_channels, channel, _) = channel(&url);
    let token = HeaderValue::from_static("secret.7");
    let body = encode(&RangeRequest::default()).unwrap();
    let answer: Result<RangeResponse, _> = channel
        .unary(RANGE, body, Some(&token), &Progress::tracked())
        .await;
    assert!(answer.is_ok());
    assert_eq!(
        *log.heads.lock().unwrap(),
        [(RANGE.to_string(), Some("secret.7".to_string()))]
    );
}

#[tokio::test]
async fn etcds_status_in_the_head_or_in_the_trailers_is_sorted_by_its_message() {
    let cases = [
        (
            Reply::TrailersOnly(14, "etcdserver: no leader"),
            Fate::Declined,
            V3ErrorKind::NoLeader,
        ),
        (
            Reply::InTrailers(14, "etcdserver: no leader"),
            Fate::Declined,
            V3ErrorKind::NoLeader,
        ),
        (
            Reply::TrailersOnly(14, "etcdserver: request timed out"),
            Fate::Undecided,
            V3ErrorKind::RequestTimedOut,
        ),
        (
            Reply::InTrailers(14, "etcdserver: request timed out"),
            Fate::Undecided,
            V3ErrorKind::RequestTimedOut,
        ),
        (
            Reply::TrailersOnly(7, "etcdserver: permission denied"),
            Fate::Final,
            V3ErrorKind::PermissionDenied,
        ),
        (
            Reply::InTrailers(11, "etcdserver: mvcc: required revision has been compacted"),
            Fate::Final,
            V3ErrorKind::Compacted,
        ),
        // Unavailable without etcd's words: nothing proves it was not passed on.
        (Reply::Http(503), Fate::Undecided, V3ErrorKind::Unavailable),
        (Reply::NoStatus, Fate::Final, V3ErrorKind::Other),
    ];
    let (url, log) = server(cases.iter().map(|c| c.0.clone()).collect()).await;
    let (_channels, channel, endpoint) = channel(&url);
    for (reply, fate, kind) in cases {
        let progress = Progress::tracked();
        let outcome = range(&channel, &progress).await;
        assert!(
            matches!(outcome, Err(CallError::Status(_))),
            "{reply:?}: {outcome:?}"
        );
        assert!(progress.was_sent());
        let failure = sorted(outcome, &endpoint);
        assert_eq!(failure.fate, fate, "{reply:?}");
        assert_eq!(failure.error.v3_kind(), Some(kind), "{reply:?}");
    }
    assert_eq!(
        log.conns.load(Ordering::SeqCst),
        1,
        "one connection for all"
    );
}

// ----- Resets and closes -----

#[tokio::test]
async fn a_refused_stream_never_reached_etcd() {
    let (url, log) = server(vec![
        Reply::Reset(Reason::REFUSED_STREAM),
        Reply::Ok(RangeResponse::default()),
    ])
    .await;
    let (_channels, channel, endpoint) = channel(&url);
    let progress = Progress::tracked();
    let outcome = range(&channel, &progress).await;
    assert!(matches!(outcome, Err(CallError::Broken(_))), "{outcome:?}");
    assert!(progress.was_sent(), "it was handed over");
    let failure = sorted(outcome, &endpoint);
    assert_eq!(failure.fate, Fate::NeverSent);
    assert!(failure.error.is_connect(), "{:?}", failure.error);
    // The connection itself is fine.
    assert!(range(&channel, &Progress::tracked()).await.is_ok());
    assert_eq!(log.conns.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_reset_for_another_reason_is_sent() {
    let (url, _log) = server(vec![
        Reply::Reset(Reason::CANCEL),
        Reply::Reset(Reason::INTERNAL_ERROR),
        Reply::Reset(Reason::NO_ERROR),
    ])
    .await;
    let (_channels, channel, endpoint) = channel(&url);
    for reason in ["CANCEL", "INTERNAL_ERROR", "NO_ERROR"] {
        let failure = sorted(range(&channel, &Progress::tracked()).await, &endpoint);
        assert_eq!(failure.fate, Fate::Sent, "{reason}");
        assert!(
            matches!(failure.error, Error::Transport { .. }),
            "{reason}: {:?}",
            failure.error
        );
    }
}

#[tokio::test]
async fn a_close_after_the_request_arrived_is_sent_and_the_next_call_connects_again() {
    let (url, log) = server(vec![Reply::Close, Reply::Ok(RangeResponse::default())]).await;
    let (_channels, channel, endpoint) = channel(&url);
    let progress = Progress::tracked();
    let outcome = range(&channel, &progress).await;
    assert!(matches!(outcome, Err(CallError::Broken(_))), "{outcome:?}");
    assert!(progress.was_sent());
    let failure = sorted(outcome, &endpoint);
    assert_eq!(failure.fate, Fate::Sent);
    assert!(
        matches!(failure.error, Error::Transport { .. }),
        "{:?}",
        failure.error
    );
    assert!(range(&channel, &Progress::tracked()).await.is_ok());
    assert_eq!(log.conns.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refused_connection_is_never_sent_and_progress_stays_unmarked() {
    let dead = rsetcd_testkit::dead_endpoint().unwrap();
    let (_channels, channel, endpoint) = channel(&dead);
    let progress = Progress::tracked();
    let outcome = range(&channel, &progress).await;
    assert!(matches!(outcome, Err(CallError::NotSent(_))), "{outcome:?}");
    assert!(!progress.was_sent());
    let failure = sorted(outcome, &endpoint);
    assert_eq!(failure.fate, Fate::NeverSent);
    assert!(failure.error.is_connect(), "{:?}", failure.error);
}

// ----- GOAWAY, in raw frames -----

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut f = Vec::with_capacity(9 + payload.len());
    f.extend_from_slice(&len[1..]);
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

const SETTINGS: u8 = 0x4;
const HEADERS: u8 = 0x1;
const DATA: u8 = 0x0;
const GOAWAY: u8 = 0x7;
const ACK: u8 = 0x1;
const END_STREAM: u8 = 0x1;

/// One frame: type, flags, stream id (`None` at the end of the connection).
async fn read_frame(tcp: &mut TcpStream) -> Option<(u8, u8, u32)> {
    let mut head = [0u8; 9];
    tcp.read_exact(&mut head).await.ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    tcp.read_exact(&mut payload).await.ok()?;
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    Some((head[3], head[4], stream))
}

/// A server that answers the first call's HEADERS with a GOAWAY whose last stream id is
/// `last(stream)`; with `close`, it then closes once the call's request has arrived whole, else
/// it reads until the client goes.
async fn goaway_server(last: fn(u32) -> u32, close: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        tcp.write_all(&frame(SETTINGS, 0, 0, &[])).await.unwrap();
        let mut preface = [0u8; 24];
        tcp.read_exact(&mut preface).await.unwrap();
        assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        let mut call = None;
        while let Some((kind, flags, stream)) = read_frame(&mut tcp).await {
            match kind {
                SETTINGS if flags & ACK == 0 => {
                    tcp.write_all(&frame(SETTINGS, ACK, 0, &[])).await.unwrap();
                }
                HEADERS if call.is_none() => {
                    call = Some(stream);
                    let mut payload = last(stream).to_be_bytes().to_vec();
                    payload.extend_from_slice(&u32::from(Reason::NO_ERROR).to_be_bytes());
                    tcp.write_all(&frame(GOAWAY, 0, 0, &payload)).await.unwrap();
                }
                DATA if close && Some(stream) == call && flags & END_STREAM != 0 => return,
                _ => {}
            }
        }
    });
    url
}

#[tokio::test]
async fn a_goaway_below_the_calls_stream_never_reached_etcd() {
    let url = goaway_server(|stream| stream - 1, false).await;
    let (_channels, channel, endpoint) = channel(&url);
    let progress = Progress::tracked();
    let outcome = range(&channel, &progress).await;
    assert!(matches!(outcome, Err(CallError::Broken(_))), "{outcome:?}");
    assert!(progress.was_sent());
    let failure = sorted(outcome, &endpoint);
    assert_eq!(failure.fate, Fate::NeverSent, "{:?}", failure.error);
    assert!(failure.error.is_connect(), "{:?}", failure.error);
}

#[tokio::test]
async fn a_goaway_that_covers_the_calls_stream_then_a_close_is_sent() {
    let url = goaway_server(|stream| stream, true).await;
    let (_channels, channel, endpoint) = channel(&url);
    let progress = Progress::tracked();
    let failure = sorted(range(&channel, &progress).await, &endpoint);
    assert!(progress.was_sent());
    assert_eq!(failure.fate, Fate::Sent, "{:?}", failure.error);
    assert!(
        matches!(failure.error, Error::Transport { .. }),
        "{:?}",
        failure.error
    );
}

// ----- A connection the server closed before the hand-over -----

#[tokio::test]
async fn a_connection_found_closed_before_the_hand_over_is_replaced() {
    // The server runs on a thread of its own, so that it can close the connection while this
    // runtime's tasks (the connection's driver among them) stand still.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (close, closing) = oneshot::channel::<()>();
    let log = Arc::new(Log::default());
    let shared = Arc::clone(&log);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::from_std(listener).unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            shared.conns.fetch_add(1, Ordering::SeqCst);
            let mut conn = h2::server::handshake(tcp).await.unwrap();
            let accepting = async {
                while let Some(Ok((req, respond))) = conn.accept().await {
                    shared.calls.fetch_add(1, Ordering::SeqCst);
                    let reply = Reply::Ok(RangeResponse {
                        count: 1,
                        ..Default::default()
                    });
                    tokio::spawn(answer(req, respond, reply));
                }
            };
            tokio::select! {
                _ = closing => {}
                () = accepting => {}
            }
            drop(conn);
            let (tcp, _) = listener.accept().await.unwrap();
            shared.conns.fetch_add(1, Ordering::SeqCst);
            let reply = Reply::Ok(RangeResponse {
                count: 2,
                ..Default::default()
            });
            serve(tcp, Arc::new(vec![reply]), Arc::new(Log::default())).await;
        });
    });

    let (_channels, channel, _) = channel(&url);
    let first = range(&channel, &Progress::tracked()).await;
    assert_eq!(first.map(|a| a.count).ok(), Some(1));
    let state = {
        let connections = channel.shared.connections();
        assert_eq!(connections.len(), 1);
        Arc::clone(&connections[0].1.state)
    };
    close.send(()).unwrap();
    // From here until the next call, this task does not yield: the driver cannot read the close.
    let peer = state.peer.as_ref().unwrap();
    let since = std::time::Instant::now();
    while !peer.closed() {
        assert!(
            since.elapsed() < Duration::from_secs(10),
            "the close never reached the socket"
        );
        std::thread::yield_now();
    }
    assert!(
        !state.ended.load(Ordering::Acquire),
        "the driver has not seen the close"
    );
    let progress = Progress::tracked();
    let second = range(&channel, &progress).await;
    // Handed to the closed connection, the call would have broken (sent): it went to a new one.
    assert_eq!(second.map(|a| a.count).ok(), Some(2));
    assert!(progress.was_sent());
    assert_eq!(log.conns.load(Ordering::SeqCst), 2);
    assert_eq!(log.calls.load(Ordering::SeqCst), 1, "one call on the first");
}

// ----- TLS -----

#[cfg(feature = "tls")]
#[tokio::test]
async fn a_server_refusing_the_client_certificate_after_the_handshake_never_got_the_call() {
    let pki = rsetcd_testkit::certs::TestPki::generate().unwrap();
    let url = crate::tls::refusing_server(&pki, b"h2").await;
    let config = crate::v3::Client::builder()
        .endpoints([url.as_str()])
        .ca_file(&pki.ca)
        .test_config()
        .unwrap();
    let channels = Channels::new(&config).unwrap();
    let endpoint = config.endpoints[0].clone();
    let channel = channels.get(&endpoint).unwrap();
    let failure = sorted(range(&channel, &Progress::tracked()).await, &endpoint);
    assert_eq!(failure.fate, Fate::NeverSent, "{:?}", failure.error);
    assert!(
        matches!(&failure.error, Error::Tls { reason, .. } if reason.contains("client certificate")),
        "{:?}",
        failure.error
    );
}
