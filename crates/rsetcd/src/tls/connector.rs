//! The connector of the v2 transport: hyper-rustls underneath, plus what a refused handshake leaves
//! behind.
//!
//! With TLS 1.3 (etcd 3.4 speaks it) the client's handshake is over before the server has judged
//! the client's certificate. A server that demands one and gets none (or one it does not trust)
//! sends an alert and closes, while the client may already be using the connection. The alert then
//! surfaces in one of three places, each handled here so that every request on such a connection
//! fails with the TLS reason and never as a write of unknown outcome:
//!
//! - reading the answer: the rustls error is in hyper's error chain;
//! - hyper's connection task reads it before the request is written: hyper hands the request back
//!   unsent with a bare "connection was not ready"; the alert is kept in the connection's
//!   [`Refusal`] (attached to hyper's connection info) for [`refusal`] to find;
//! - writing the request hits the reset that follows the alert: the alert is still waiting in the
//!   socket, so the stream waits until the socket is readable, reads it and reports it instead of
//!   the reset.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use hyper::rt::{self, Read as _, ReadBuf, ReadBufCursor};
use hyper::Uri;
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower::Service;

use crate::error::BoxError;

/// Makes plain or TLS connections (by the endpoint's scheme) whose TLS refusals are not lost.
#[derive(Clone)]
pub(crate) struct Connector(HttpsConnector<HttpConnector>);

impl Connector {
    /// A connector over `http` with the TLS settings `tls` (HTTP/1.1 only).
    pub(crate) fn new(http: HttpConnector, tls: rustls::ClientConfig) -> Connector {
        Connector(
            hyper_rustls::HttpsConnectorBuilder::new()
                .with_tls_config(tls)
                .https_or_http()
                .enable_http1()
                .wrap_connector(http),
        )
    }
}

impl Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.0.call(uri);
        Box::pin(async move {
            Ok(Stream {
                inner: connecting.await?,
                refusal: Refusal::default(),
                write_error: None,
            })
        })
    }
}

/// The server's refusal of the handshake that ended a connection, if one did (shared with hyper's
/// connection info).
#[derive(Clone, Default)]
pub(crate) struct Refusal(Arc<OnceLock<rustls::Error>>);

impl Refusal {
    /// Keeps `err` if it is the server refusing the handshake.
    fn note(&self, err: &io::Error) {
        if let Some(tls) = super::find_rustls(err).filter(|tls| super::is_refusal(tls)) {
            let _ = self.0.set(tls.clone());
        }
    }
}

/// The handshake refusal that ended the connection a failed request was meant for, from hyper's
/// connection info.
pub(crate) fn refusal(connected: &Connected) -> Option<rustls::Error> {
    let mut extensions = hyper::http::Extensions::new();
    connected.get_extras(&mut extensions);
    extensions.get::<Refusal>()?.0.get().cloned()
}

/// One connection.
pub(crate) struct Stream {
    inner: MaybeHttpsStream<TokioIo<TcpStream>>,
    refusal: Refusal,
    /// A failed write, reported once the socket has told whether a TLS alert came first.
    write_error: Option<io::Error>,
}

impl Stream {
    /// A write failed with `err` (or failed earlier, `err` is `None`, and we are waiting). If the
    /// server refused the handshake, its alert arrived before the reset and is still in the
    /// socket: wait until the socket is readable (at the latest when the reset has been seen) and
    /// report the alert, the cause, rather than the reset.
    fn poll_write_failure(
        &mut self,
        cx: &mut Context<'_>,
        err: Option<io::Error>,
    ) -> Poll<io::Error> {
        let Some(err) = err.or_else(|| self.write_error.take()) else {
            return Poll::Ready(io::Error::other("write after a failed write"));
        };
        self.refusal.note(&err);
        let reset = matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
        );
        let MaybeHttpsStream::Https(tls) = &mut self.inner else {
            return Poll::Ready(err);
        };
        if !reset || self.refusal.0.get().is_some() {
            return Poll::Ready(err);
        }
        let mut scratch = [0u8; 256];
        let mut buf = ReadBuf::new(&mut scratch);
        match Pin::new(tls).poll_read(cx, buf.unfilled()) {
            Poll::Pending => {
                self.write_error = Some(err);
                Poll::Pending
            }
            Poll::Ready(Err(read_err))
                if super::find_rustls(&read_err).is_some_and(super::is_refusal) =>
            {
                self.refusal.note(&read_err);
                Poll::Ready(read_err)
            }
            Poll::Ready(_) => Poll::Ready(err),
        }
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        self.inner.connected().extra(self.refusal.clone())
    }
}

impl rt::Read for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = ready!(Pin::new(&mut this.inner).poll_read(cx, buf));
        Poll::Ready(result.inspect_err(|e| this.refusal.note(e)))
    }
}

/// Runs one write operation of the inner stream, or goes on waiting for a failed one's cause.
macro_rules! write_op {
    ($self:ident, $cx:ident, $op:ident($($arg:expr),*)) => {{
        let this = $self.get_mut();
        if this.write_error.is_some() {
            return this.poll_write_failure($cx, None).map(Err);
        }
        match ready!(Pin::new(&mut this.inner).$op($cx, $($arg),*)) {
            Err(e) => this.poll_write_failure($cx, Some(e)).map(Err),
            ok => Poll::Ready(ok),
        }
    }};
}

impl rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        write_op!(self, cx, poll_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        write_op!(self, cx, poll_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        write_op!(self, cx, poll_flush())
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
