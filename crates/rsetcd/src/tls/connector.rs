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
//!   socket, so the stream reads it and reports it instead of the reset.

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
            })
        })
    }
}

/// The TLS error that ended a connection, if one did (shared with hyper's connection info).
#[derive(Clone, Default)]
pub(crate) struct Refusal(Arc<OnceLock<rustls::Error>>);

impl Refusal {
    fn note(&self, err: &io::Error) {
        if let Some(tls) = super::find_rustls(err) {
            let _ = self.0.set(tls.clone());
        }
    }
}

/// The TLS error that ended the connection a failed request was meant for, from hyper's
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
}

impl Stream {
    /// A write failed: if the server refused the handshake, its alert arrived before the reset and
    /// can still be read; report the alert, the cause, rather than the reset.
    fn write_failed(&mut self, cx: &mut Context<'_>, err: io::Error) -> io::Error {
        self.refusal.note(&err);
        if self.refusal.0.get().is_some() {
            return err;
        }
        let MaybeHttpsStream::Https(tls) = &mut self.inner else {
            return err;
        };
        let mut scratch = [0u8; 256];
        let mut buf = ReadBuf::new(&mut scratch);
        match Pin::new(tls).poll_read(cx, buf.unfilled()) {
            Poll::Ready(Err(read_err)) if super::find_rustls(&read_err).is_some() => {
                self.refusal.note(&read_err);
                read_err
            }
            _ => err,
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

impl rt::Write for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.inner).poll_write(cx, buf)) {
            Err(e) => Poll::Ready(Err(this.write_failed(cx, e))),
            ok => Poll::Ready(ok),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)) {
            Err(e) => Poll::Ready(Err(this.write_failed(cx, e))),
            ok => Poll::Ready(ok),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match ready!(Pin::new(&mut this.inner).poll_flush(cx)) {
            Err(e) => Poll::Ready(Err(this.write_failed(cx, e))),
            ok => Poll::Ready(ok),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
