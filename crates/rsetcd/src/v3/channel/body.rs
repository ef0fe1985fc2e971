//! Request and answer bodies between tonic and `h2`: what a request body has ready at once, the
//! task that sends the rest of a streaming request, and an answer body for tonic to decode.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use h2::{Reason, RecvStream, SendStream};
use http::HeaderMap;
use http_body::{Body as _, Frame};
use tokio::sync::oneshot;
use tonic::body::Body;
use tonic::Status;

use super::Active;

/// The frames a request body had ready without waiting, and whether it ended there.
pub(super) struct Ready {
    pub(super) frames: Vec<Bytes>,
    pub(super) ended: bool,
}

/// Takes every data frame `body` has ready now. A unary call's body is all there; a stream's
/// body stops at its first pending item (and the rest is left to [`pump`]).
pub(super) fn take_ready(body: &mut Body) -> Result<Ready, Box<Status>> {
    let mut ready = Ready {
        frames: Vec::new(),
        ended: body.is_end_stream(),
    };
    let mut cx = Context::from_waker(std::task::Waker::noop());
    while !ready.ended {
        match Pin::new(&mut *body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    ready.frames.push(data);
                }
            }
            Poll::Ready(Some(Err(status))) => return Err(Box::new(status)),
            Poll::Ready(None) => ready.ended = true,
            Poll::Pending => break,
        }
    }
    Ok(ready)
}

/// Sends the rest of a streaming request body, one frame at a time as the server's window allows,
/// until the body ends, the stream is reset, or the answer is dropped (`closed` fires).
pub(super) async fn pump(
    mut body: Body,
    mut stream: SendStream<Bytes>,
    mut closed: oneshot::Receiver<()>,
) {
    loop {
        // Wait for room before taking the next item, so at most one frame is ever buffered.
        stream.reserve_capacity(1);
        let room = poll_fn(|cx| {
            if stopped(&mut closed, &mut stream, cx) {
                return Poll::Ready(false);
            }
            if stream.capacity() > 0 {
                return Poll::Ready(true);
            }
            match stream.poll_capacity(cx) {
                Poll::Ready(Some(Ok(_))) => Poll::Ready(true),
                Poll::Ready(_) => Poll::Ready(false),
                Poll::Pending => Poll::Pending,
            }
        })
        .await;
        if !room {
            break;
        }
        let next = poll_fn(|cx| {
            if stopped(&mut closed, &mut stream, cx) {
                return Poll::Ready(None);
            }
            Pin::new(&mut body).poll_frame(cx).map(Some)
        })
        .await;
        match next {
            None => break,
            Some(None) => {
                let _ = stream.send_data(Bytes::new(), true);
                return;
            }
            Some(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    if stream.send_data(data, false).is_err() {
                        return;
                    }
                }
            }
            Some(Some(Err(status))) => {
                tracing::debug!(error = %status, "v3 request stream failed; resetting it");
                break;
            }
        }
    }
    stream.send_reset(Reason::CANCEL);
}

/// Whether the stream should stop: its answer was dropped or the server reset it.
fn stopped(
    closed: &mut oneshot::Receiver<()>,
    stream: &mut SendStream<Bytes>,
    cx: &mut Context<'_>,
) -> bool {
    Pin::new(closed).poll(cx).is_ready() || stream.poll_reset(cx).is_ready()
}

/// An answer body: `h2`'s data frames, then its trailers (where gRPC puts the status).
pub(crate) struct RecvBody {
    recv: RecvStream,
    state: State,
    /// Dropping it stops the task sending the request's stream, if there is one.
    _closed: Option<oneshot::Sender<()>>,
    _active: Active,
}

#[derive(PartialEq, Eq)]
enum State {
    Data,
    Trailers,
    Done,
}

impl RecvBody {
    pub(super) fn new(
        recv: RecvStream,
        closed: Option<oneshot::Sender<()>>,
        active: Active,
    ) -> RecvBody {
        RecvBody {
            recv,
            state: State::Data,
            _closed: closed,
            _active: active,
        }
    }
}

impl http_body::Body for RecvBody {
    type Data = Bytes;
    type Error = h2::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, h2::Error>>> {
        let this = &mut *self;
        if this.state == State::Data {
            match this.recv.poll_data(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    // Read: the server may send as much again.
                    let _ = this.recv.flow_control().release_capacity(data.len());
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.state = State::Done;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => this.state = State::Trailers,
                Poll::Pending => return Poll::Pending,
            }
        }
        if this.state == State::Trailers {
            let trailers: Result<Option<HeaderMap>, h2::Error> = match this.recv.poll_trailers(cx) {
                Poll::Ready(result) => result,
                Poll::Pending => return Poll::Pending,
            };
            this.state = State::Done;
            return Poll::Ready(match trailers {
                Ok(Some(trailers)) => Some(Ok(Frame::trailers(trailers))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            });
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done
    }
}
