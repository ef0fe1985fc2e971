//! The fault proxy in front of real etcd, spoken to over raw HTTP/1.1 sockets: each fault
//! happens at its point and nowhere else. (Its HTTP/2 side is exercised by rsetcd's v3 edge
//! tests, which need an HTTP/2 client.)

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rsetcd_testkit::{Etcd, Fault, FaultProxy, Trigger, Wire};

fn node() -> &'static Etcd {
    Etcd::shared().expect("start the shared etcd")
}

fn key(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/fp{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn proxy() -> FaultProxy {
    FaultProxy::start(&node().client_url(), Wire::Http1).unwrap()
}

fn connect(url: &str) -> TcpStream {
    let s = TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

fn put_request(key: &str, value: &str) -> String {
    let body = format!("value={value}");
    format!(
        "PUT /v2/keys{key} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn get_request(key: &str) -> String {
    format!("GET /v2/keys{key} HTTP/1.1\r\nHost: x\r\n\r\n")
}

/// Reads until the peer closes (or resets); what came, and how it ended.
fn read_all(s: &mut TcpStream) -> (Vec<u8>, Option<ErrorKind>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, None),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) => return (out, Some(e.kind())),
        }
    }
}

/// Reads one whole answer with a `Content-Length` body from a kept-alive connection.
fn read_answer(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map_or(0, |n| n.trim().parse::<usize>().unwrap());
            if out.len() >= end + 4 + length {
                return text;
            }
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "the connection ended inside an answer: {text:?}");
        out.extend_from_slice(&buf[..n]);
    }
}

/// The key's value as etcd has it, read without the proxy.
fn value_of(key: &str) -> Option<String> {
    let mut s = connect(&node().client_url());
    s.write_all(get_request(key).as_bytes()).unwrap();
    let answer = read_answer(&mut s);
    let value = answer.split("\"value\":\"").nth(1)?;
    Some(value.split('"').next()?.to_string())
}

#[test]
fn exchanges_the_trigger_does_not_pick_pass_untouched_on_the_same_connection() {
    let p = proxy();
    let armed = p
        .arm(
            Trigger::containing("/never-sent"),
            Fault::DropAnswerAndClose,
        )
        .unwrap();
    let k = key("pass");
    let mut s = connect(&p.url());
    s.write_all(put_request(&k, "one").as_bytes()).unwrap();
    assert!(read_answer(&mut s).starts_with("HTTP/1.1 201"));
    s.write_all(get_request(&k).as_bytes()).unwrap();
    assert!(read_answer(&mut s).contains("\"value\":\"one\""));
    assert_eq!((armed.fired(), p.fired(), p.connections()), (0, 0, 1));
}

#[test]
fn drop_answer_and_close_forwards_the_request_and_ends_the_connection_cleanly() {
    let p = proxy();
    let k = key("drop");
    let armed = p
        .arm(Trigger::containing(&k), Fault::DropAnswerAndClose)
        .unwrap();
    let mut s = connect(&p.url());
    s.write_all(put_request(&k, "applied").as_bytes()).unwrap();
    assert_eq!(
        read_all(&mut s),
        (Vec::new(), None),
        "a FIN, no byte, no reset"
    );
    assert_eq!((armed.fired(), armed.forwarded()), (1, 1));
    assert!(p.request_reached_server());
    assert_eq!(value_of(&k).as_deref(), Some("applied"));
    // Fired once: the next connection passes.
    let mut s = connect(&p.url());
    s.write_all(get_request(&k).as_bytes()).unwrap();
    assert!(read_answer(&mut s).contains("applied"));
}

#[test]
fn reset_after_forward_resets_once_the_answer_starts() {
    let p = proxy();
    let k = key("reset");
    p.arm(Trigger::containing(&k), Fault::ResetAfterForward)
        .unwrap();
    let mut s = connect(&p.url());
    s.write_all(put_request(&k, "applied").as_bytes()).unwrap();
    let (bytes, end) = read_all(&mut s);
    assert_eq!((bytes.len(), end), (0, Some(ErrorKind::ConnectionReset)));
    assert!(p.request_reached_server());
    assert_eq!(value_of(&k).as_deref(), Some("applied"));
}

#[test]
fn cut_after_head_forwards_exactly_the_head() {
    let p = proxy();
    let k = key("head");
    p.arm(Trigger::containing(&k), Fault::CutAfterHead).unwrap();
    let mut s = connect(&p.url());
    s.write_all(put_request(&k, "applied").as_bytes()).unwrap();
    let (bytes, end) = read_all(&mut s);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("HTTP/1.1 201 Created\r\n"), "{text:?}");
    assert!(
        text.ends_with("\r\n\r\n"),
        "the head and nothing else: {text:?}"
    );
    assert_eq!(end, None);
}

#[test]
fn cut_mid_body_forwards_half_of_a_sized_body() {
    let p = proxy();
    let k = key("mid");
    assert!(value_of(&k).is_none());
    {
        let mut s = connect(&node().client_url());
        s.write_all(put_request(&k, "some-longer-value").as_bytes())
            .unwrap();
        read_answer(&mut s);
    }
    p.arm(Trigger::containing(&k), Fault::CutMidBody).unwrap();
    let mut s = connect(&p.url());
    s.write_all(get_request(&k).as_bytes()).unwrap();
    let (bytes, end) = read_all(&mut s);
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!((body.len(), end), (length / 2, None), "{text:?}");
}

#[test]
fn cut_mid_body_cuts_a_chunked_watch_answer_inside_its_event() {
    let p = proxy();
    let k = key("watch");
    {
        let mut s = connect(&node().client_url());
        s.write_all(put_request(&k, "event").as_bytes()).unwrap();
        read_answer(&mut s);
    }
    p.arm(Trigger::containing("wait=true"), Fault::CutMidBody)
        .unwrap();
    let mut s = connect(&p.url());
    let poll = format!("GET /v2/keys{k}?wait=true&waitIndex=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    s.write_all(poll.as_bytes()).unwrap();
    let (bytes, end) = read_all(&mut s);
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.contains("Transfer-Encoding: chunked"), "{head}");
    let (size, data) = body.split_once("\r\n").unwrap();
    let size = usize::from_str_radix(size, 16).unwrap();
    assert_eq!((data.len(), end), (size / 2, None), "{body:?}");
}

#[test]
fn close_after_request_bytes_sends_etcd_a_truncated_request_only() {
    let p = proxy();
    let k = key("trunc");
    p.arm(Trigger::containing(&k), Fault::CloseAfterRequestBytes(10))
        .unwrap();
    let mut s = connect(&p.url());
    s.write_all(put_request(&k, "never").as_bytes()).unwrap();
    let (bytes, _) = read_all(&mut s);
    assert!(bytes.is_empty());
    assert!(!p.request_reached_server());
    assert_eq!(p.fired(), 1);
    assert_eq!(value_of(&k), None, "etcd never got the whole request");
}

#[test]
fn close_after_request_bytes_resets_a_client_still_writing() {
    let p = proxy();
    let k = key("big");
    p.arm(Trigger::containing(&k), Fault::CloseAfterRequestBytes(0))
        .unwrap();
    let mut s = connect(&p.url());
    let request = put_request(&k, &"x".repeat(32 << 20));
    let written = s.write_all(request.as_bytes());
    let err = written.expect_err("32 MiB cannot all fit in the socket buffers");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
        ),
        "{err}"
    );
    assert_eq!(value_of(&k), None);
}

#[test]
fn black_hole_never_answers_and_never_closes() {
    let p = proxy();
    let k = key("hole");
    let armed = p.arm(Trigger::containing(&k), Fault::BlackHole).unwrap();
    let mut s = connect(&p.url());
    s.set_read_timeout(Some(Duration::from_millis(400)))
        .unwrap();
    s.write_all(put_request(&k, "never").as_bytes()).unwrap();
    let err = s.read(&mut [0u8; 16]).expect_err("no answer, no close");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    s.write_all(b"still open").unwrap();
    assert!(armed.wait_fired(1, Duration::ZERO));
    assert_eq!(value_of(&k), None);
}

#[test]
fn delays_hold_the_whole_answer_or_only_its_body() {
    let p = proxy();
    let k = key("delay");
    let hold = Duration::from_millis(400);
    p.arm(Trigger::containing(&k), Fault::DelayAnswer(hold))
        .unwrap();
    let mut s = connect(&p.url());
    let start = Instant::now();
    s.write_all(put_request(&k, "late").as_bytes()).unwrap();
    assert!(read_answer(&mut s).starts_with("HTTP/1.1 201"));
    assert!(start.elapsed() >= hold, "{:?}", start.elapsed());

    p.arm(Trigger::containing(&k), Fault::DelayBody(hold))
        .unwrap();
    let start = Instant::now();
    s.write_all(get_request(&k).as_bytes()).unwrap();
    let mut first = [0u8; 4096];
    let n = s.read(&mut first).unwrap();
    let head_after = start.elapsed();
    let head = String::from_utf8_lossy(&first[..n]).into_owned();
    assert!(
        head.ends_with("\r\n\r\n"),
        "the head alone comes first: {head:?}"
    );
    assert!(head_after < hold, "{head_after:?}");
    let mut rest = [0u8; 4096];
    let n = s.read(&mut rest).unwrap();
    assert!(String::from_utf8_lossy(&rest[..n]).contains("late"));
    assert!(start.elapsed() >= hold);
}

#[test]
fn refuse_closes_the_port_until_disarmed() {
    let p = proxy();
    let armed = p.arm(Trigger::any(), Fault::Refuse).unwrap();
    let addr = p.url().trim_start_matches("http://").to_string();
    let err = TcpStream::connect(&addr).expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    assert_eq!(armed.fired(), 1);
    armed.disarm().unwrap();
    let mut s = connect(&p.url());
    s.write_all(get_request("/").as_bytes()).unwrap();
    assert!(read_answer(&mut s).starts_with("HTTP/1.1 200"));
}

#[test]
fn counts_and_http2_only_faults() {
    let p = proxy();
    let k = key("count");
    let armed = p
        .arm(Trigger::containing(&k).times(2), Fault::CutAfterHead)
        .unwrap();
    for round in 0..2 {
        let mut s = connect(&p.url());
        s.write_all(put_request(&k, "v").as_bytes()).unwrap();
        let (bytes, _) = read_all(&mut s);
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.ends_with("\r\n\r\n"), "round {round}: {text:?}");
    }
    let mut s = connect(&p.url());
    s.write_all(put_request(&k, "v").as_bytes()).unwrap();
    assert!(
        read_answer(&mut s).contains("\"value\":\"v\""),
        "the third passes"
    );
    assert_eq!(armed.fired(), 2);
    let err = p.arm(Trigger::any(), Fault::GoAway).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
