//! HTTP/1.1 on the wire: request encoding, response heads and bodies (pure functions over buffers).
//!
//! etcd's v2 API needs a small, well-defined part of HTTP/1.1: one request at a time per
//! connection, answers framed by `Content-Length`, by chunks (long polls, big listings) or by the
//! end of the connection. Heads are parsed with `httparse`; the few headers rsetcd reads are kept as
//! typed values as they are parsed, so an answer costs no header map.

use bytes::{Buf, Bytes, BytesMut};

/// The largest response head accepted (etcd's are a few hundred bytes).
const MAX_HEAD: usize = 64 * 1024;
/// The most headers a response head may carry.
const MAX_HEADERS: usize = 64;

/// The HTTP methods the v2 API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Put,
    Post,
    Delete,
}

impl Method {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Appends a whole request (head and body) to `out`, ready for one write.
pub(crate) fn encode_request(
    out: &mut Vec<u8>,
    method: Method,
    host: &str,
    path_and_query: &str,
    content_type: Option<&str>,
    authorization: Option<&str>,
    body: &[u8],
) {
    out.reserve(96 + host.len() + path_and_query.len() + body.len());
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(path_and_query.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    out.extend_from_slice(host.as_bytes());
    if let Some(ct) = content_type {
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(ct.as_bytes());
    }
    if let Some(auth) = authorization {
        out.extend_from_slice(b"\r\nAuthorization: ");
        out.extend_from_slice(auth.as_bytes());
    }
    if !body.is_empty() || matches!(method, Method::Put | Method::Post) {
        out.extend_from_slice(b"\r\nContent-Length: ");
        out.extend_from_slice(itoa(body.len() as u64, &mut [0; 20]).as_bytes());
    }
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

fn itoa(mut n: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    std::str::from_utf8(&buf[i..]).unwrap_or("0")
}

/// The etcd headers of an answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Headers {
    /// `X-Etcd-Index`.
    pub(crate) etcd_index: Option<u64>,
    /// `X-Raft-Index`.
    pub(crate) raft_index: Option<u64>,
    /// `X-Raft-Term`.
    pub(crate) raft_term: Option<u64>,
    /// `X-Etcd-Cluster-Id`.
    pub(crate) cluster_id: Option<String>,
}

/// How the body of an answer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// This many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// At the end of the connection.
    UntilClose,
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    pub(crate) framing: Framing,
    /// The connection may carry another request after this answer.
    pub(crate) keep_alive: bool,
}

/// An answer that is not HTTP/1.1 as etcd speaks it.
#[derive(Debug, thiserror::Error)]
#[error("malformed HTTP answer: {0}")]
pub(crate) struct Malformed(pub(crate) String);

/// Parses a response head at the start of `buf`: `Ok(None)` while it is incomplete, else the head,
/// with its bytes removed from `buf`. Informational (1xx) heads are skipped.
pub(crate) fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, Malformed> {
    loop {
        // Left uninitialised: httparse fills what it uses (no 2 KiB of zeroes per answer).
        let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut []);
        let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            buf,
            &mut headers,
        );
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(Malformed(format!("head longer than {MAX_HEAD} bytes")))
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(Malformed(e.to_string())),
        };
        let status = response.code.unwrap_or(0);
        if (100..200).contains(&status) {
            buf.advance(len);
            continue;
        }
        let mut head = Head {
            status,
            headers: Headers::default(),
            framing: Framing::UntilClose,
            keep_alive: response.version == Some(1),
        };
        let mut length = None;
        let mut chunked = false;
        for h in response.headers.iter() {
            let (name, value) = (h.name.as_bytes(), trim(h.value));
            // By length first: most of etcd's headers are none of these, and cost one compare.
            let is = |wanted: &str| name.eq_ignore_ascii_case(wanted.as_bytes());
            match name.len() {
                14 if is("content-length") => {
                    let n = number(value).ok_or_else(|| Malformed("bad Content-Length".into()))?;
                    if length.is_some_and(|l| l != n) {
                        return Err(Malformed("conflicting Content-Length headers".into()));
                    }
                    length = Some(n);
                }
                17 if is("transfer-encoding") => {
                    chunked = value
                        .rsplit(|&b| b == b',')
                        .next()
                        .is_some_and(|last| trim(last).eq_ignore_ascii_case(b"chunked"));
                    if !chunked {
                        let v = String::from_utf8_lossy(value);
                        return Err(Malformed(format!("unsupported Transfer-Encoding {v:?}")));
                    }
                }
                10 if is("connection") => {
                    let has = |t: &[u8]| {
                        value
                            .split(|&b| b == b',')
                            .any(|v| trim(v).eq_ignore_ascii_case(t))
                    };
                    if has(b"close") {
                        head.keep_alive = false;
                    } else if has(b"keep-alive") {
                        head.keep_alive = true;
                    }
                }
                12 if is("x-etcd-index") => head.headers.etcd_index = number(value),
                12 if is("x-raft-index") => head.headers.raft_index = number(value),
                11 if is("x-raft-term") => head.headers.raft_term = number(value),
                17 if is("x-etcd-cluster-id") => {
                    head.headers.cluster_id = std::str::from_utf8(value).ok().map(str::to_string)
                }
                _ => {}
            }
        }
        head.framing = if status == 204 || status == 304 {
            Framing::Length(0)
        } else if chunked {
            Framing::Chunked
        } else if let Some(n) = length {
            Framing::Length(n)
        } else {
            head.keep_alive = false;
            Framing::UntilClose
        };
        buf.advance(len);
        return Ok(Some(head));
    }
}

/// `bytes` without the spaces and tabs around it (header values may carry them).
fn trim(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'))
        .unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

/// A decimal header value (digits only, as HTTP and etcd write them), `None` if it is not one or
/// overflows.
fn number(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// Decodes a chunked body as its bytes arrive.
#[derive(Debug, Default)]
pub(crate) struct Chunked {
    /// Bytes left in the current chunk (its data, then its CRLF).
    left: u64,
    /// The last (empty) chunk was seen: trailers follow.
    trailers: bool,
}

impl Chunked {
    /// Moves what `buf` holds of the body into `out`: `Ok(true)` once the body (with its trailers)
    /// is complete, `Ok(false)` when more bytes are needed.
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
        out: &mut BytesMut,
    ) -> Result<bool, Malformed> {
        loop {
            if self.trailers {
                // Trailer lines up to an empty line; their content is not used.
                let Some(end) = find_crlf(buf) else {
                    return self.check_line(buf).map(|()| false);
                };
                buf.advance(end + 2);
                if end == 0 {
                    return Ok(true);
                }
                continue;
            }
            if self.left > 2 {
                let take = (self.left - 2).min(buf.len() as u64) as usize;
                if take == 0 {
                    return Ok(false);
                }
                out.extend_from_slice(&buf[..take]);
                buf.advance(take);
                self.left -= take as u64;
                continue;
            }
            if self.left > 0 {
                // The CRLF after a chunk's data.
                let need = self.left as usize;
                if buf.len() < need {
                    return Ok(false);
                }
                if buf[..need] != b"\r\n"[2 - need..] {
                    return Err(Malformed("chunk data not followed by CRLF".into()));
                }
                buf.advance(need);
                self.left = 0;
                continue;
            }
            let Some(end) = find_crlf(buf) else {
                return self.check_line(buf).map(|()| false);
            };
            let line = std::str::from_utf8(&buf[..end])
                .map_err(|_| Malformed("chunk size line is not text".into()))?;
            let hex = line.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(hex, 16)
                .map_err(|_| Malformed(format!("bad chunk size {hex:?}")))?;
            buf.advance(end + 2);
            if size == 0 {
                self.trailers = true;
            } else {
                self.left = size
                    .checked_add(2)
                    .ok_or_else(|| Malformed("chunk too large".into()))?;
            }
        }
    }

    fn check_line(&self, buf: &BytesMut) -> Result<(), Malformed> {
        if buf.len() > MAX_HEAD {
            return Err(Malformed("chunk header line too long".into()));
        }
        Ok(())
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
    buf.windows(2).position(|w| w == b"\r\n")
}

/// Takes a `Content-Length` body of `len` bytes from `buf` once it is all there.
pub(crate) fn take_body(buf: &mut BytesMut, len: u64) -> Option<Bytes> {
    let len = usize::try_from(len).ok()?;
    (buf.len() >= len).then(|| buf.split_to(len).freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &str) -> (Result<Option<Head>, Malformed>, BytesMut) {
        let mut buf = BytesMut::from(raw.as_bytes());
        (parse_head(&mut buf), buf)
    }

    #[test]
    fn encodes_requests() {
        let mut out = Vec::new();
        encode_request(
            &mut out,
            Method::Put,
            "127.0.0.1:2379",
            "/v2/keys/a%20b?ttl=5",
            Some("application/x-www-form-urlencoded"),
            Some("Basic dTpw"),
            b"value=1",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "PUT /v2/keys/a%20b?ttl=5 HTTP/1.1\r\nHost: 127.0.0.1:2379\r\nContent-Type: \
             application/x-www-form-urlencoded\r\nAuthorization: Basic dTpw\r\nContent-Length: \
             7\r\n\r\nvalue=1"
        );
        let mut out = Vec::new();
        encode_request(&mut out, Method::Get, "h:1", "/v2/keys/", None, None, b"");
        assert_eq!(out, b"GET /v2/keys/ HTTP/1.1\r\nHost: h:1\r\n\r\n");
        let mut out = Vec::new();
        encode_request(&mut out, Method::Post, "h:1", "/x", None, None, b"");
        assert!(String::from_utf8(out)
            .unwrap()
            .ends_with("Content-Length: 0\r\n\r\n"));
    }

    #[test]
    fn parses_etcd_heads() {
        let (h, rest) = head(
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Etcd-Cluster-Id: \
             cdf818194e3a8c32\r\nX-Etcd-Index: 12\r\nX-Raft-Index: 40\r\nX-Raft-Term: 2\r\n\
             Content-Length: 5\r\n\r\nhello",
        );
        let h = h.unwrap().unwrap();
        assert_eq!(h.status, 201);
        assert_eq!(h.framing, Framing::Length(5));
        assert!(h.keep_alive);
        assert_eq!(
            h.headers,
            Headers {
                etcd_index: Some(12),
                raft_index: Some(40),
                raft_term: Some(2),
                cluster_id: Some("cdf818194e3a8c32".into()),
            }
        );
        assert_eq!(&rest[..], b"hello");
    }

    #[test]
    fn framing_and_keep_alive() {
        let framing = |raw: &str| {
            let h = head(raw).0.unwrap().unwrap();
            (h.framing, h.keep_alive)
        };
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
            (Framing::Chunked, true)
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\n\r\n"),
            (Framing::UntilClose, false)
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"),
            (Framing::Length(3), false)
        );
        assert_eq!(
            framing("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n"),
            (Framing::Length(3), false)
        );
        assert_eq!(
            framing("HTTP/1.1 204 No Content\r\n\r\n"),
            (Framing::Length(0), true)
        );
        assert_eq!(
            framing("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
            (Framing::Length(0), true)
        );
    }

    #[test]
    fn incomplete_and_malformed_heads() {
        assert!(head("HTTP/1.1 200 OK\r\nContent-Le").0.unwrap().is_none());
        assert!(head("garbage\r\n\r\n").0.is_err());
        assert!(head("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")
            .0
            .is_err());
        assert!(
            head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n")
                .0
                .is_err()
        );
        assert!(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n")
            .0
            .is_err());
        let long = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD + 1));
        assert!(head(&long).0.is_err());
        for bad in ["-1", "+1", "1 2", "", "18446744073709551616"] {
            let raw = format!("HTTP/1.1 200 OK\r\nContent-Length: {bad}\r\n\r\n");
            assert!(head(&raw).0.is_err(), "Content-Length {bad:?}");
        }
    }

    #[test]
    fn header_values_as_numbers() {
        assert_eq!(number(b"0"), Some(0));
        assert_eq!(number(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(number(b"18446744073709551616"), None);
        assert_eq!(number(b"12a"), None);
        assert_eq!(number(b""), None);
        assert_eq!(trim(b" \t 42\t "), b"42");
        assert_eq!(trim(b"   "), b"");
        // A bad etcd index is left out, not an error: the answer itself is fine.
        let (parsed, _) = head(
            "HTTP/1.1 200 OK\r\nx-ETCD-index: 9x\r\nX-Raft-Term:  7 \r\nContent-Length: 0\r\n\r\n",
        );
        let h = parsed.unwrap().unwrap();
        assert_eq!((h.headers.etcd_index, h.headers.raft_term), (None, Some(7)));
    }

    #[test]
    fn decodes_chunks_byte_by_byte() {
        let wire = b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\n";
        for step in [1, 2, 3, 7, wire.len()] {
            let mut chunked = Chunked::default();
            let mut buf = BytesMut::new();
            let mut out = BytesMut::new();
            let mut done = false;
            for piece in wire.chunks(step) {
                assert!(!done);
                buf.extend_from_slice(piece);
                done = chunked.decode(&mut buf, &mut out).unwrap();
            }
            assert!(done, "step {step}");
            assert_eq!(&out[..], b"hello world!");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn malformed_chunks() {
        for wire in [&b"zz\r\n"[..], b"3\r\nabcX\r\n", b"ffffffffffffffffff\r\n"] {
            let mut buf = BytesMut::from(wire);
            let err = Chunked::default().decode(&mut buf, &mut BytesMut::new());
            assert!(err.is_err(), "{wire:?}");
        }
    }

    #[test]
    fn takes_length_bodies() {
        let mut buf = BytesMut::from(&b"abcdef"[..]);
        assert!(take_body(&mut buf, 7).is_none());
        assert_eq!(&take_body(&mut buf, 4).unwrap()[..], b"abcd");
        assert_eq!(&buf[..], b"ef");
    }
}
