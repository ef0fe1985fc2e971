//! HTTP/2 frames in a byte stream, without decoding headers: the client's 24-byte preface, then
//! frames of a 9-byte header (24-bit length, type, flags, 31-bit stream id) and a payload; the
//! few frames the proxy writes itself (GOAWAY, RST_STREAM, a shortened DATA frame); and gRPC's
//! message boundaries inside a stream's DATA (a 1-byte flag and a 4-byte length per message).

/// What an HTTP/2 client sends before its first frame.
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Frame types.
pub(crate) const DATA: u8 = 0x0;
pub(crate) const HEADERS: u8 = 0x1;
pub(crate) const RST_STREAM: u8 = 0x3;
pub(crate) const GOAWAY: u8 = 0x7;
pub(crate) const CONTINUATION: u8 = 0x9;

/// Frame flags.
pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;
pub(crate) const PADDED: u8 = 0x8;

/// Error codes.
pub(crate) const NO_ERROR: u32 = 0x0;
pub(crate) const REFUSED_STREAM: u32 = 0x7;

const HEADER_LEN: usize = 9;

/// One whole frame, header included, as it was on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    bytes: Vec<u8>,
}

impl Frame {
    /// A frame from its parts.
    pub(crate) fn new(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Frame {
        let len = payload.len().min(0xff_ffff);
        let mut bytes = Vec::with_capacity(HEADER_LEN + len);
        bytes.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        bytes.push(kind);
        bytes.push(flags);
        bytes.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
        bytes.extend_from_slice(&payload[..len]);
        Frame { bytes }
    }

    /// GOAWAY: streams above `last` were not and will not be processed.
    pub(crate) fn goaway(last: u32, code: u32) -> Frame {
        let mut payload = (last & 0x7fff_ffff).to_be_bytes().to_vec();
        payload.extend_from_slice(&code.to_be_bytes());
        Frame::new(GOAWAY, 0, 0, &payload)
    }

    /// RST_STREAM for `stream`.
    pub(crate) fn rst_stream(stream: u32, code: u32) -> Frame {
        Frame::new(RST_STREAM, 0, stream, &code.to_be_bytes())
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub(crate) fn kind(&self) -> u8 {
        self.bytes[3]
    }

    pub(crate) fn flags(&self) -> u8 {
        self.bytes[4]
    }

    pub(crate) fn stream(&self) -> u32 {
        u32::from_be_bytes([self.bytes[5], self.bytes[6], self.bytes[7], self.bytes[8]])
            & 0x7fff_ffff
    }

    fn payload(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..]
    }

    /// Whether this DATA or HEADERS frame ends its stream's side.
    pub(crate) fn ends_stream(&self) -> bool {
        matches!(self.kind(), DATA | HEADERS) && self.flags() & END_STREAM != 0
    }

    /// Whether this HEADERS or CONTINUATION frame ends its header block.
    pub(crate) fn ends_headers(&self) -> bool {
        matches!(self.kind(), HEADERS | CONTINUATION) && self.flags() & END_HEADERS != 0
    }

    /// The data of a DATA frame, padding removed (empty for other frames or bad padding).
    pub(crate) fn data(&self) -> &[u8] {
        if self.kind() != DATA {
            return &[];
        }
        let payload = self.payload();
        if self.flags() & PADDED == 0 {
            return payload;
        }
        match payload.split_first() {
            Some((&pad, rest)) if usize::from(pad) <= rest.len() => {
                &rest[..rest.len() - usize::from(pad)]
            }
            _ => &[],
        }
    }

    /// This DATA frame with only the first `keep` bytes of its data, unpadded, not ending the
    /// stream: part of a body.
    pub(crate) fn shortened(&self, keep: usize) -> Frame {
        let data = self.data();
        let keep = keep.min(data.len());
        let flags = self.flags() & !(END_STREAM | PADDED);
        Frame::new(DATA, flags, self.stream(), &data[..keep])
    }

    /// Whether the frame is about a stream the client opened with HEADERS (not PRIORITY).
    pub(crate) fn opens_stream(&self) -> bool {
        self.kind() == HEADERS && self.stream() != 0
    }
}

/// Bytes that are not HTTP/2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// What a [`Splitter`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// The client's connection preface.
    Preface,
    /// A frame.
    Frame(Frame),
}

/// Splits one direction of an HTTP/2 connection into the preface (client side) and frames.
#[derive(Debug)]
pub(crate) struct Splitter {
    buf: Vec<u8>,
    expect_preface: bool,
}

impl Splitter {
    /// For what the client sends: the preface first.
    pub(crate) fn client() -> Splitter {
        Splitter {
            buf: Vec::new(),
            expect_preface: true,
        }
    }

    /// For what the server sends: frames only.
    pub(crate) fn server() -> Splitter {
        Splitter {
            buf: Vec::new(),
            expect_preface: false,
        }
    }

    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The bytes not yet split off (after a [`Malformed`], all that is left).
    pub(crate) fn take_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// The next item, `None` until one is complete.
    pub(crate) fn next(&mut self) -> Result<Option<Item>, Malformed> {
        if self.expect_preface {
            let n = self.buf.len().min(PREFACE.len());
            if self.buf[..n] != PREFACE[..n] {
                return Err(Malformed);
            }
            if n < PREFACE.len() {
                return Ok(None);
            }
            self.buf.drain(..PREFACE.len());
            self.expect_preface = false;
            return Ok(Some(Item::Preface));
        }
        if self.buf.len() < HEADER_LEN {
            return Ok(None);
        }
        let len = u32::from_be_bytes([0, self.buf[0], self.buf[1], self.buf[2]]) as usize;
        if self.buf.len() < HEADER_LEN + len {
            return Ok(None);
        }
        let bytes: Vec<u8> = self.buf.drain(..HEADER_LEN + len).collect();
        Ok(Some(Item::Frame(Frame { bytes })))
    }
}

/// The end (an offset into `data`, a stream's DATA bytes so far) of the gRPC message that holds
/// the byte at `at`, once that message's 5-byte prefix has arrived.
pub(crate) fn grpc_message_end(data: &[u8], at: usize) -> Option<usize> {
    let mut start = 0usize;
    loop {
        let prefix = data.get(start..start + 5)?;
        let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
        let end = start + 5 + len;
        if at < end {
            return Some(end);
        }
        start = end;
    }
}

/// Whether the gRPC message holding byte `at` of `data` has arrived whole.
pub(crate) fn grpc_message_complete(data: &[u8], at: usize) -> bool {
    grpc_message_end(data, at).is_some_and(|end| data.len() >= end)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIORITY: u8 = 0x20;

    fn grpc(message: &[u8]) -> Vec<u8> {
        let mut out = vec![0];
        out.extend_from_slice(&(message.len() as u32).to_be_bytes());
        out.extend_from_slice(message);
        out
    }

    #[test]
    fn the_preface_then_frames_split_at_any_point() {
        let frames = [
            Frame::new(0x4, 0, 0, &[0, 3, 0, 0, 0, 100]),
            Frame::new(
                HEADERS,
                END_HEADERS | PRIORITY,
                1,
                b"\x00\x00\x00\x00\x10hpack",
            ),
            Frame::new(DATA, END_STREAM, 1, &grpc(b"\x0a\x03key")),
            Frame::new(DATA, 0, 3, &[]),
        ];
        let mut wire = PREFACE.to_vec();
        for f in &frames {
            wire.extend_from_slice(f.bytes());
        }
        for step in [1, 2, 7, 9, 10, 64] {
            let mut s = Splitter::client();
            let mut items = Vec::new();
            for piece in wire.chunks(step) {
                s.push(piece);
                while let Some(item) = s.next().unwrap() {
                    items.push(item);
                }
            }
            let mut expected = vec![Item::Preface];
            expected.extend(frames.iter().cloned().map(Item::Frame));
            assert_eq!(items, expected, "in pieces of {step}");
        }
        assert_eq!(frames[1].stream(), 1);
        assert!(frames[1].flags() & PRIORITY != 0 && frames[1].ends_headers());
        assert!(frames[1].opens_stream() && !frames[1].ends_stream());
        assert!(frames[2].ends_stream());
        assert_eq!(frames[3].stream(), 3);
    }

    #[test]
    fn what_is_not_http2_is_malformed() {
        let mut s = Splitter::client();
        s.push(b"GET / HTTP/1.1\r\n");
        assert_eq!(s.next(), Err(Malformed));
        assert_eq!(s.take_rest(), b"GET / HTTP/1.1\r\n");
        let mut s = Splitter::client();
        s.push(b"PRI * HTTP");
        assert_eq!(s.next(), Ok(None));
    }

    #[test]
    fn padding_is_not_data_and_a_shortened_frame_keeps_part_of_it() {
        let f = Frame::new(DATA, PADDED | END_STREAM, 5, b"\x02hello\x00\x00");
        assert_eq!(f.data(), b"hello");
        let short = f.shortened(2);
        assert_eq!(short.data(), b"he");
        assert_eq!((short.stream(), short.flags()), (5, 0));
        assert_eq!(Frame::new(DATA, PADDED, 1, b"\x09ab").data(), b"");
        assert_eq!(Frame::new(HEADERS, 0, 1, b"ab").data(), b"");
    }

    #[test]
    fn frames_the_proxy_writes() {
        let g = Frame::goaway(3, NO_ERROR);
        assert_eq!(
            g.bytes(),
            &[0, 0, 8, GOAWAY, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0]
        );
        let r = Frame::rst_stream(5, REFUSED_STREAM);
        assert_eq!(r.bytes(), &[0, 0, 4, RST_STREAM, 0, 0, 0, 0, 5, 0, 0, 0, 7]);
    }

    #[test]
    fn grpc_messages_are_found_in_a_streams_data() {
        let data = [grpc(b"first"), grpc(b"second")].concat();
        assert_eq!(grpc_message_end(&data, 0), Some(10));
        assert_eq!(grpc_message_end(&data, 9), Some(10));
        assert_eq!(grpc_message_end(&data, 10), Some(21));
        assert!(grpc_message_complete(&data, 12));
        assert!(!grpc_message_complete(&data[..15], 12));
        assert_eq!(grpc_message_end(&data[..3], 0), None);
        assert_eq!(grpc_message_end(&data, 21), None);
    }
}
