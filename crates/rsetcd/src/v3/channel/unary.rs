//! One unary gRPC call straight on `h2`: the request encoded once (and reused by every attempt),
//! handed over with its head so that one write carries both, the answer read whole and decoded.
//! No codec, body or stream objects per call: streaming calls go through tonic's stubs and the
//! channel's `Service`, unary ones come here.

use bytes::{BufMut, Bytes, BytesMut};
use h2::RecvStream;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE, TE};
use http::uri::PathAndQuery;
use http::{HeaderMap, Method, StatusCode};
use prost::Message;
use tonic::{Code, Status};

use super::{Active, CallError, Shared};
use crate::error::Error;
use crate::retry::Progress;

/// The header etcd reads the auth token from.
static TOKEN: HeaderName = HeaderName::from_static("token");
static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");

/// `message` as the body of a unary call: one gRPC message (a 5-byte prefix, then the message).
pub(crate) fn encode<M: Message>(message: &M) -> Result<Bytes, Error> {
    let len = message.encoded_len();
    let prefix = u32::try_from(len).map_err(|_| {
        Error::InvalidArgument(format!(
            "the request has {len} bytes, more than a gRPC message can hold"
        ))
    })?;
    let mut buf = BytesMut::with_capacity(5 + len);
    buf.put_u8(0);
    buf.put_u32(prefix);
    // Cannot fail: the buffer grows as needed.
    message
        .encode(&mut buf)
        .map_err(|e| Error::InvalidArgument(format!("cannot encode the request: {e}")))?;
    Ok(buf.freeze())
}

/// The one message of a unary answer's body, or what is wrong with it.
fn decode<M: Message + Default>(body: Bytes) -> Result<M, String> {
    let Some((prefix, message)) = body.split_first_chunk::<5>() else {
        return Err("the answer holds no message".into());
    };
    if prefix[0] != 0 {
        // Compression is never asked for, so a compressed answer is a broken one.
        return Err("the answer's message is compressed".into());
    }
    let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    if message.len() != len {
        return Err(format!(
            "the answer's message has {} bytes where its prefix says {len}",
            message.len()
        ));
    }
    M::decode(body.slice(5..)).map_err(|e| format!("cannot decode the answer: {e}"))
}

/// The status for an answer that is not gRPC's (a proxy's error page, say), by the mapping of the
/// gRPC specification.
fn from_http(status: StatusCode) -> Status {
    let code = match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502 | 503 | 504 => Code::Unavailable,
        _ => Code::Unknown,
    };
    Status::new(code, format!("the answer is HTTP {status}, not gRPC"))
}

/// The gRPC status `headers` carry, if any: OK is told by a glance at `grpc-status`, anything else
/// is read whole (message and details) by tonic.
fn status_of(headers: &HeaderMap) -> Option<Result<(), Status>> {
    let code = headers.get(&GRPC_STATUS)?;
    if code.as_bytes() == b"0" {
        return Some(Ok(()));
    }
    Some(Err(Status::from_header_map(headers).unwrap_or_else(|| {
        Status::unknown("the answer carries an unreadable grpc-status")
    })))
}

impl Shared {
    /// Calls method `path` with `body` (from [`encode`]) and decodes its answer.
    pub(super) async fn unary<Resp: Message + Default>(
        &self,
        path: &'static str,
        body: Bytes,
        token: Option<&HeaderValue>,
        progress: &Progress,
    ) -> Result<Resp, CallError> {
        // What is only needed to send (the head, the handles) is dropped before the first wait
        // on the answer, so this future does not carry it (its size decides the allocator's path).
        let (state, answer) = {
            let (mut send, state) = self.ready().await.map_err(CallError::NotSent)?;
            let head = self.head(path, token).map_err(|e| {
                CallError::NotSent(Error::InvalidArgument(format!(
                    "cannot make the request's URI: {e}"
                )))
            })?;
            let (answer, mut stream) = send
                .send_request(head, false)
                .map_err(|e| CallError::NotSent(self.not_handed_over(e)))?;
            // The message did not go with its head: etcd cannot act on a call without it.
            stream
                .send_data(body, true)
                .map_err(|e| CallError::NotSent(self.not_handed_over(e)))?;
            progress.sent();
            (state, answer)
        };
        let _active = Active::new(&state);
        let broken = |e: h2::Error| CallError::Broken(self.failure(e, &state));
        let mut recv = {
            let answer = answer.await.map_err(broken)?;
            let (parts, recv) = answer.into_parts();
            // An error before any message comes as headers only ("trailers-only").
            if let Some(Err(status)) = status_of(&parts.headers) {
                return Err(CallError::Status(status));
            }
            if parts.status != StatusCode::OK {
                return Err(CallError::Status(from_http(parts.status)));
            }
            recv
        };
        let message = read_whole(&mut recv).await.map_err(broken)?;
        let trailers = recv.trailers().await.map_err(broken)?;
        match trailers.as_ref().and_then(status_of) {
            Some(Ok(())) => decode(message).map_err(|e| CallError::Status(Status::internal(e))),
            Some(Err(status)) => Err(CallError::Status(status)),
            None => Err(CallError::Status(Status::internal(
                "the answer ended without a gRPC status",
            ))),
        }
    }

    /// The head of a call of method `path`.
    fn head(
        &self,
        path: &'static str,
        token: Option<&HeaderValue>,
    ) -> Result<http::Request<()>, http::Error> {
        let mut head = http::Request::new(());
        *head.method_mut() = Method::POST;
        *head.uri_mut() = http::Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(PathAndQuery::from_static(path))
            .build()?;
        let headers = head.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        if let Some(token) = token {
            headers.insert(&TOKEN, token.clone());
        }
        Ok(head)
    }
}

/// Every data frame of an answer, joined (without a copy when there is one frame, as there
/// usually is), its flow-control capacity given back as it is read.
async fn read_whole(recv: &mut RecvStream) -> Result<Bytes, h2::Error> {
    let mut first = Bytes::new();
    let mut joined: Option<BytesMut> = None;
    while let Some(chunk) = recv.data().await {
        let chunk = chunk?;
        let _ = recv.flow_control().release_capacity(chunk.len());
        match &mut joined {
            Some(buf) => buf.extend_from_slice(&chunk),
            None if first.is_empty() => first = chunk,
            None => {
                let mut buf = BytesMut::with_capacity(first.len() + chunk.len());
                buf.extend_from_slice(&first);
                buf.extend_from_slice(&chunk);
                joined = Some(buf);
            }
        }
    }
    Ok(joined.map_or(first, BytesMut::freeze))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v3::proto::etcdserverpb::{PutRequest, RangeResponse};

    #[test]
    fn a_message_round_trips_and_broken_bodies_are_statuses() {
        let put = PutRequest {
            key: Bytes::from_static(b"/k"),
            value: vec![7; 300].into(),
            ..Default::default()
        };
        let body = encode(&put).unwrap();
        assert_eq!(body[0], 0);
        assert_eq!(body.len(), 5 + put.encoded_len());
        assert_eq!(decode::<PutRequest>(body.clone()).unwrap(), put);

        let broken = [
            Bytes::new(),
            Bytes::from_static(&[0, 0, 0]),
            Bytes::from_static(&[1, 0, 0, 0, 0]),
            body.slice(..body.len() - 1),
            Bytes::from_static(&[0, 0, 0, 0, 2, 0xff, 0xff]),
        ];
        for body in broken {
            assert!(decode::<RangeResponse>(body.clone()).is_err(), "{body:?}");
        }
    }

    #[test]
    fn statuses_from_headers() {
        let mut headers = HeaderMap::new();
        assert!(status_of(&headers).is_none());
        headers.insert(&GRPC_STATUS, HeaderValue::from_static("0"));
        assert!(matches!(status_of(&headers), Some(Ok(()))));
        headers.insert(&GRPC_STATUS, HeaderValue::from_static("9"));
        headers.insert(
            "grpc-message",
            HeaderValue::from_static("etcdserver:%20no%20leader"),
        );
        let status = status_of(&headers).unwrap().unwrap_err();
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert_eq!(status.message(), "etcdserver: no leader");
    }

    #[test]
    fn http_errors_map_as_grpc_says() {
        assert_eq!(
            from_http(StatusCode::SERVICE_UNAVAILABLE).code(),
            Code::Unavailable
        );
        assert_eq!(from_http(StatusCode::NOT_FOUND).code(), Code::Unimplemented);
        assert_eq!(from_http(StatusCode::IM_A_TEAPOT).code(), Code::Unknown);
    }
}
