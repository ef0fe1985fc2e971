//! HTTP/1.1 message boundaries in a byte stream: where a request's or an answer's head ends
//! (parsed with `httparse`), how its body is framed (`Content-Length`, chunked, until the
//! connection closes, none), where that body ends, and where to cut it in the middle.
//!
//! A [`Framer`] turns the bytes of one direction of a connection into [`Piece`]s that say which
//! message each byte belongs to; the relay decides what to do with them.

/// How a message's body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body.
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// An answer without either: the body ends when the connection does.
    UntilClose,
}

/// A parsed head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// Its length in bytes, the blank line included.
    pub(crate) len: usize,
    /// How the body that follows is framed.
    pub(crate) framing: Framing,
    /// An answer's status (0 for a request).
    pub(crate) status: u16,
    /// A request with the method HEAD (its answer has no body).
    pub(crate) head_method: bool,
}

/// Bytes that are not HTTP/1.1 as framed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Heads longer than this are taken as malformed.
const MAX_HEAD: usize = 64 * 1024;
const MAX_HEADERS: usize = 64;

fn framing_of(headers: &[httparse::Header<'_>]) -> Result<Option<Framing>, Malformed> {
    let mut length = None;
    for h in headers {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            let value = std::str::from_utf8(h.value).map_err(|_| Malformed)?;
            if value
                .rsplit(',')
                .next()
                .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
            {
                return Ok(Some(Framing::Chunked));
            }
        } else if h.name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(h.value).map_err(|_| Malformed)?;
            length = Some(value.trim().parse::<u64>().map_err(|_| Malformed)?);
        }
    }
    Ok(length.map(Framing::Length))
}

fn too_long<T>(buf: &[u8]) -> Result<Option<T>, Malformed> {
    if buf.len() > MAX_HEAD {
        Err(Malformed)
    } else {
        Ok(None)
    }
}

/// Parses the request head at the start of `buf`: `None` until it is complete.
pub(crate) fn request_head(buf: &[u8]) -> Result<Option<Head>, Malformed> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => Ok(Some(Head {
            len,
            framing: framing_of(req.headers)?.unwrap_or(Framing::Empty),
            status: 0,
            head_method: req.method == Some("HEAD"),
        })),
        Ok(httparse::Status::Partial) => too_long(buf),
        Err(_) => Err(Malformed),
    }
}

/// Parses the answer head at the start of `buf` (`head_method`: the request was a HEAD).
pub(crate) fn answer_head(buf: &[u8], head_method: bool) -> Result<Option<Head>, Malformed> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut headers);
    match res.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let status = res.code.unwrap_or(0);
            let framing = if head_method || status < 200 || status == 204 || status == 304 {
                Framing::Empty
            } else {
                framing_of(res.headers)?.unwrap_or(Framing::UntilClose)
            };
            Ok(Some(Head {
                len,
                framing,
                status,
                head_method: false,
            }))
        }
        Ok(httparse::Status::Partial) => too_long(buf),
        Err(_) => Err(Malformed),
    }
}

/// Where the body of a chunked message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// In a size line, this long so far.
    Size(usize),
    /// In a chunk's data, this much left.
    Data(u64),
    /// In the CRLF after a chunk's data, this many bytes left.
    DataEnd(u8),
    /// In the trailer section, in a line this long so far.
    Trailer(usize),
}

/// Follows a body through its raw bytes to find where it ends.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    state: BodyState,
    /// The size line being read (chunked).
    line: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    Done,
}

impl Body {
    pub(crate) fn new(framing: Framing) -> Body {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => BodyState::Done,
            Framing::Length(n) => BodyState::Length(n),
            Framing::Chunked => BodyState::Chunked(Chunk::Size(0)),
            Framing::UntilClose => BodyState::UntilClose,
        };
        Body {
            state,
            line: Vec::new(),
        }
    }

    /// Whether the whole body has been seen.
    pub(crate) fn done(&self) -> bool {
        self.state == BodyState::Done
    }

    /// Takes body bytes from the start of `bytes`; returns how many belong to the body (all of
    /// them unless it ends inside).
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<usize, Malformed> {
        let mut used = 0;
        while used < bytes.len() {
            let rest = &bytes[used..];
            match self.state {
                BodyState::Done => break,
                BodyState::UntilClose => used = bytes.len(),
                BodyState::Length(left) => {
                    let take = left.min(rest.len() as u64);
                    used += take as usize;
                    self.state = match left - take {
                        0 => BodyState::Done,
                        n => BodyState::Length(n),
                    };
                }
                BodyState::Chunked(chunk) => used += self.chunked(chunk, rest)?,
            }
        }
        Ok(used)
    }

    /// One step of a chunked body; returns the bytes used.
    fn chunked(&mut self, chunk: Chunk, rest: &[u8]) -> Result<usize, Malformed> {
        let byte = rest[0];
        match chunk {
            Chunk::Size(len) => {
                if len > 4096 {
                    return Err(Malformed);
                }
                if byte != b'\n' {
                    self.line.push(byte);
                    self.state = BodyState::Chunked(Chunk::Size(len + 1));
                    return Ok(1);
                }
                let size = chunk_size(&self.line)?;
                self.line.clear();
                self.state = BodyState::Chunked(if size == 0 {
                    Chunk::Trailer(0)
                } else {
                    Chunk::Data(size)
                });
                Ok(1)
            }
            Chunk::Data(left) => {
                let take = left.min(rest.len() as u64);
                self.state = BodyState::Chunked(match left - take {
                    0 => Chunk::DataEnd(2),
                    n => Chunk::Data(n),
                });
                Ok(take as usize)
            }
            Chunk::DataEnd(left) => {
                let expected = if left == 2 { b'\r' } else { b'\n' };
                if byte != expected {
                    return Err(Malformed);
                }
                self.state = BodyState::Chunked(if left == 2 {
                    Chunk::DataEnd(1)
                } else {
                    Chunk::Size(0)
                });
                Ok(1)
            }
            Chunk::Trailer(len) => {
                self.state = match byte {
                    b'\n' if len == 0 => BodyState::Done,
                    b'\n' => BodyState::Chunked(Chunk::Trailer(0)),
                    b'\r' => BodyState::Chunked(Chunk::Trailer(len)),
                    _ if len > 4096 => return Err(Malformed),
                    _ => BodyState::Chunked(Chunk::Trailer(len + 1)),
                };
                Ok(1)
            }
        }
    }
}

/// The size of a chunk from its size line (without the LF): hex digits, maybe extensions.
fn chunk_size(line: &[u8]) -> Result<u64, Malformed> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let digits = line.split(|b| *b == b';').next().unwrap_or(line);
    let text = std::str::from_utf8(digits).map_err(|_| Malformed)?.trim();
    u64::from_str_radix(text, 16).map_err(|_| Malformed)
}

/// Where to cut a body in the middle, given its first bytes (`None`: more are needed). The cut
/// leaves a strict, non-empty part of the body whenever the body has at least two bytes:
/// half of a `Content-Length` body; the first chunk's size line and half of its data; half of
/// what came first of a body that runs until the connection closes.
pub(crate) fn mid_body_cut(framing: Framing, body: &[u8]) -> Option<usize> {
    let cut = match framing {
        Framing::Empty => 0,
        Framing::Length(n) => usize::try_from(n / 2).unwrap_or(usize::MAX),
        Framing::Chunked => {
            let eol = body.iter().position(|b| *b == b'\n')?;
            match chunk_size(&body[..eol]) {
                Ok(0) | Err(_) => eol + 1,
                Ok(size) => eol + 1 + usize::try_from((size / 2).max(1)).unwrap_or(usize::MAX),
            }
        }
        Framing::UntilClose if body.is_empty() => return None,
        Framing::UntilClose => (body.len() / 2).max(1),
    };
    (body.len() >= cut).then_some(cut)
}

/// What a [`Framer`] found in the bytes given to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// The first byte of message `index` arrived (its head may still be incomplete).
    Start(u64),
    /// The complete head of message `index`.
    Head(u64, Head, Vec<u8>),
    /// Body bytes of message `index`.
    Body(u64, Vec<u8>),
    /// Message `index` is complete.
    End(u64),
    /// An interim (1xx) answer, which belongs to no exchange.
    Interim(Vec<u8>),
    /// Bytes after something that could not be framed: passed on as they are.
    Raw(Vec<u8>),
}

/// Which side of the connection a [`Framer`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Requests,
    Answers,
}

/// Splits one direction of an HTTP/1.1 connection into messages, numbered from 0.
#[derive(Debug)]
pub(crate) struct Framer {
    side: Side,
    index: u64,
    head: Vec<u8>,
    body: Option<Body>,
    broken: bool,
}

impl Framer {
    pub(crate) fn new(side: Side) -> Framer {
        Framer {
            side,
            index: 0,
            head: Vec::new(),
            body: None,
            broken: false,
        }
    }

    /// Frames `data`; `head_method(i)` says whether request `i` was a HEAD (for answers).
    pub(crate) fn push(
        &mut self,
        mut data: &[u8],
        head_method: &dyn Fn(u64) -> bool,
    ) -> Vec<Piece> {
        let mut out = Vec::new();
        while !data.is_empty() {
            if self.broken {
                out.push(Piece::Raw(data.to_vec()));
                break;
            }
            if let Some(body) = &mut self.body {
                let Ok(used) = body.feed(data) else {
                    self.broken = true;
                    continue;
                };
                if used > 0 {
                    out.push(Piece::Body(self.index, data[..used].to_vec()));
                }
                data = &data[used..];
                if body.done() {
                    self.end(&mut out);
                }
                continue;
            }
            if self.head.is_empty() {
                out.push(Piece::Start(self.index));
            }
            let before = self.head.len();
            self.head.extend_from_slice(data);
            let parsed = match self.side {
                Side::Requests => request_head(&self.head),
                Side::Answers => answer_head(&self.head, head_method(self.index)),
            };
            match parsed {
                Err(Malformed) => {
                    self.broken = true;
                    data = &[];
                    out.push(Piece::Raw(std::mem::take(&mut self.head)));
                }
                Ok(None) => data = &[],
                Ok(Some(head)) => {
                    data = &data[head.len - before..];
                    self.head.truncate(head.len);
                    let bytes = std::mem::take(&mut self.head);
                    if self.side == Side::Answers && head.status < 200 && head.status != 101 {
                        out.push(Piece::Interim(bytes));
                        continue;
                    }
                    out.push(Piece::Head(self.index, head, bytes));
                    let body = Body::new(head.framing);
                    if body.done() {
                        self.end(&mut out);
                    } else {
                        self.body = Some(body);
                    }
                }
            }
        }
        out
    }

    /// The connection ended: a body that runs until then is complete.
    pub(crate) fn finish(&mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        if self
            .body
            .as_ref()
            .is_some_and(|b| b.state == BodyState::UntilClose)
        {
            self.end(&mut out);
        }
        out
    }

    fn end(&mut self, out: &mut Vec<Piece>) {
        out.push(Piece::End(self.index));
        self.body = None;
        self.index += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_head(_: u64) -> bool {
        false
    }

    /// Frames `data` split at every possible point into two pushes: the pieces, joined per
    /// kind, must not depend on where the bytes were split.
    fn frame_all(side: Side, data: &[u8]) -> Vec<Piece> {
        let whole = Framer::new(side).push(data, &no_head);
        for split in 1..data.len() {
            let mut f = Framer::new(side);
            let mut pieces = f.push(&data[..split], &no_head);
            pieces.extend(f.push(&data[split..], &no_head));
            assert_eq!(joined(&pieces), joined(&whole), "split at {split}");
        }
        whole
    }

    /// Pieces with consecutive body bytes of one message merged.
    fn joined(pieces: &[Piece]) -> Vec<Piece> {
        let mut out: Vec<Piece> = Vec::new();
        for p in pieces {
            if let (Some(Piece::Body(i, acc)), Piece::Body(j, more)) = (out.last_mut(), p) {
                if i == j {
                    acc.extend_from_slice(more);
                    continue;
                }
            }
            out.push(p.clone());
        }
        out
    }

    #[test]
    fn requests_with_and_without_bodies_are_told_apart() {
        let get = b"GET /v2/keys/a?wait=true HTTP/1.1\r\nHost: x\r\n\r\n";
        let put = b"PUT /v2/keys/a HTTP/1.1\r\nContent-Length: 7\r\n\r\nvalue=1";
        let data = [&get[..], &put[..]].concat();
        let pieces = frame_all(Side::Requests, &data);
        let kinds: Vec<String> = pieces
            .iter()
            .map(|p| match p {
                Piece::Start(i) => format!("start {i}"),
                Piece::Head(i, h, bytes) => format!("head {i} {:?} {}", h.framing, bytes.len()),
                Piece::Body(i, b) => format!("body {i} {}", String::from_utf8_lossy(b)),
                Piece::End(i) => format!("end {i}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "start 0".to_string(),
                format!("head 0 Empty {}", get.len()),
                "end 0".into(),
                "start 1".into(),
                format!("head 1 Length(7) {}", put.len() - 7),
                "body 1 value=1".into(),
                "end 1".into(),
            ]
        );
    }

    #[test]
    fn a_chunked_answer_ends_after_its_last_chunk_and_trailers() {
        let answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Etcd-Index: 7\r\n\r\n\
                       5;ext=1\r\nhello\r\n1a\r\n{\"action\":\"set\",\"node\":{}}\r\n0\r\nX-T: t\r\n\r\n";
        let next = b"HTTP/1.1 204 No Content\r\n\r\n";
        let data = [&answer[..], &next[..]].concat();
        let pieces = frame_all(Side::Answers, &data);
        let Piece::Head(0, head, _) = &pieces[1] else {
            panic!("{pieces:?}")
        };
        assert_eq!(head.framing, Framing::Chunked);
        assert_eq!(head.status, 200);
        let body: Vec<u8> = joined(&pieces)
            .iter()
            .find_map(|p| match p {
                Piece::Body(0, b) => Some(b.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(body.len(), answer.len() - head.len);
        assert_eq!(
            &pieces[pieces.len() - 4..],
            &[
                Piece::End(0),
                Piece::Start(1),
                Piece::Head(
                    1,
                    Head {
                        len: next.len(),
                        framing: Framing::Empty,
                        status: 204,
                        head_method: false
                    },
                    next.to_vec()
                ),
                Piece::End(1),
            ]
        );
    }

    #[test]
    fn an_answer_without_length_runs_until_the_connection_ends() {
        let mut f = Framer::new(Side::Answers);
        let pieces = f.push(b"HTTP/1.1 200 OK\r\n\r\nsome body", &no_head);
        assert!(!pieces.contains(&Piece::End(0)));
        assert_eq!(pieces.last(), Some(&Piece::Body(0, b"some body".to_vec())));
        assert_eq!(f.finish(), [Piece::End(0)]);
    }

    #[test]
    fn answers_to_head_and_interim_answers_have_no_body() {
        let mut f = Framer::new(Side::Answers);
        let data = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        let pieces = f.push(data, &|i| i == 0);
        assert!(matches!(pieces[1], Piece::Interim(_)), "{pieces:?}");
        assert!(matches!(&pieces[2], Piece::Start(0)), "{pieces:?}");
        assert!(matches!(&pieces[3], Piece::Head(0, h, _) if h.framing == Framing::Empty));
        assert_eq!(pieces[4], Piece::End(0));
    }

    #[test]
    fn what_cannot_be_framed_passes_as_raw_bytes() {
        let mut f = Framer::new(Side::Answers);
        let pieces = f.push(
            b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}",
            &no_head,
        );
        assert!(matches!(pieces.last(), Some(Piece::Raw(_))), "{pieces:?}");
        assert_eq!(f.push(b"more", &no_head), [Piece::Raw(b"more".to_vec())]);
        let mut f = Framer::new(Side::Answers);
        let pieces = f.push(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            &no_head,
        );
        assert!(matches!(pieces.last(), Some(Piece::Raw(_))), "{pieces:?}");
    }

    #[test]
    fn bodies_are_cut_strictly_inside() {
        assert_eq!(mid_body_cut(Framing::Length(10), b"0123"), None);
        assert_eq!(mid_body_cut(Framing::Length(10), b"01234"), Some(5));
        assert_eq!(mid_body_cut(Framing::Empty, b""), Some(0));
        let chunked = b"1a\r\n{\"action\":\"set\",\"node\":{}}\r\n0\r\n\r\n";
        assert_eq!(mid_body_cut(Framing::Chunked, b"1a"), None);
        assert_eq!(mid_body_cut(Framing::Chunked, chunked), Some(4 + 13));
        assert_eq!(mid_body_cut(Framing::Chunked, b"1\r\nx"), Some(4));
        assert_eq!(mid_body_cut(Framing::UntilClose, b""), None);
        assert_eq!(mid_body_cut(Framing::UntilClose, b"abcd"), Some(2));
    }

    #[test]
    fn heads_that_never_end_are_malformed() {
        let endless = vec![b'a'; MAX_HEAD + 1];
        assert_eq!(request_head(b"GET / HTTP/1.1\r\nHost"), Ok(None));
        assert_eq!(
            request_head(&[b"GET /".as_slice(), &endless].concat()),
            Err(Malformed)
        );
        assert_eq!(chunk_size(b"ff;name=value\r"), Ok(255));
        assert_eq!(chunk_size(b"g\r"), Err(Malformed));
    }
}
