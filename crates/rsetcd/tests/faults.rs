//! Faults real etcd cannot produce, from a tiny fake server: each arrives as the right error variant,
//! without a panic and within the timeouts.

mod common;

use std::time::{Duration, Instant};

use common::client;
use rsetcd::v2::Client;
use rsetcd::Error;
use rsetcd_testkit::fault::{Fault, FaultServer};

fn client_for(server: &FaultServer) -> Client {
    Client::builder()
        .host(server.url())
        .request_timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn respond(raw: &str) -> FaultServer {
    FaultServer::start(Fault::Respond(raw.as_bytes().to_vec())).unwrap()
}

#[tokio::test]
async fn garbage_json_is_an_invalid_response() {
    let s = respond("HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!");
    let err = client_for(&s).read("/k").await.unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err}");
    assert!(
        err.to_string().contains(&s.url()),
        "names the endpoint: {err}"
    );
}

#[tokio::test]
async fn json_of_the_wrong_shape_is_an_invalid_response() {
    let body = r#"{"action":42,"node":"x"}"#;
    let s = respond(&format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let err = client_for(&s).read("/k").await.unwrap_err();
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err}");
}

#[tokio::test]
async fn empty_body_is_an_empty_response() {
    let s = respond("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let err = client_for(&s).read("/k").await.unwrap_err();
    assert!(matches!(err, Error::EmptyResponse { .. }), "{err}");
}

#[tokio::test]
async fn truncated_body_is_a_transport_error() {
    let s = respond(
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"action\":\"get\"",
    );
    let err = client_for(&s).read("/k").await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    // The same fault on a write: the request was sent, so its outcome is unknown.
    let err = client_for(&s).write("/k", "v").await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
}

#[tokio::test]
async fn bodies_framed_by_chunks_or_by_the_end_of_the_connection() {
    let body =
        r#"{"action":"get","node":{"key":"/k","value":"v","modifiedIndex":3,"createdIndex":3}}"#;
    let (a, b) = body.split_at(20);
    let chunked = respond(&format!(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Etcd-Index: 7\r\n\r\n\
         {:x}\r\n{a}\r\n{:x};ext=1\r\n{b}\r\n0\r\nX-Trailer: t\r\n\r\n",
        a.len(),
        b.len()
    ));
    let until_close = respond(&format!(
        "HTTP/1.1 200 OK\r\nX-Etcd-Index: 7\r\nConnection: close\r\n\r\n{body}"
    ));
    for s in [&chunked, &until_close] {
        let r = client_for(s).read("/k").await.unwrap();
        assert_eq!(r.value(), Some("v"));
        assert_eq!(r.etcd_index, 7);
    }
}

#[tokio::test]
async fn a_kept_alive_connection_the_server_closed_is_replaced() {
    // Keep-alive answers, but the server closes every connection after one answer: each read
    // finds its pooled connection dead (or meets the close) and goes on with a new one.
    let body =
        r#"{"action":"get","node":{"key":"/k","value":"v","modifiedIndex":3,"createdIndex":3}}"#;
    let s = respond(&format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    let c = client_for(&s);
    for _ in 0..20 {
        assert_eq!(c.read("/k").await.unwrap().value(), Some("v"));
    }
    assert_eq!(s.connections(), 20);
}

#[tokio::test]
async fn malformed_framing_is_a_transport_error() {
    for raw in [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Le",
    ] {
        let s = respond(raw);
        let err = client_for(&s).read("/k").await.unwrap_err();
        assert!(matches!(err, Error::Transport { .. }), "{raw:?}: {err}");
        let err = client_for(&s).write("/k", "v").await.unwrap_err();
        assert!(err.is_outcome_unknown(), "{raw:?}: {err}");
    }
}

#[tokio::test]
async fn garbage_bytes_instead_of_http() {
    let s =
        FaultServer::start(Fault::Respond(vec![0xde, 0xad, 0xbe, 0xef, b'\n', 0, 1, 2])).unwrap();
    let err = client_for(&s).read("/k").await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
}

#[tokio::test]
async fn http_error_without_an_etcd_body() {
    let s = respond("HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\nContent-Length: 18\r\nConnection: close\r\n\r\nMethod Not Allowed");
    let err = client_for(&s).write("/k", "v").await.unwrap_err();
    match err {
        Error::Http {
            status: 405,
            message,
            ..
        } => assert_eq!(message, "Method Not Allowed"),
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn connection_closed_without_a_byte() {
    let s = FaultServer::start(Fault::CloseImmediately).unwrap();
    let err = client_for(&s).read("/k").await.unwrap_err();
    assert!(
        matches!(err, Error::Transport { .. } | Error::Connect { .. }),
        "{err}"
    );
    let err = client_for(&s).write("/k", "v").await.unwrap_err();
    assert!(err.is_outcome_unknown() || err.is_connect(), "{err}");
}

#[tokio::test]
async fn black_hole_costs_at_most_the_request_timeout() {
    let s = FaultServer::start(Fault::BlackHole).unwrap();
    let c = client_for(&s);
    let start = Instant::now();
    let err = c.read("/k").await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    let err = c.write("/k", "v").await.unwrap_err();
    assert!(
        err.is_outcome_unknown(),
        "a write sent into a black hole may have applied: {err}"
    );
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_live_etcd_after_faults_still_works() {
    // Sanity: the same client type against the real node.
    client().write("/faults-sanity", "ok").await.unwrap();
}
