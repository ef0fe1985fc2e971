//! A writer that lets an HTTP/2 PING acknowledgement wait a moment for company.
//!
//! etcd's gRPC server measures the bandwidth-delay product with a PING after each burst of data it
//! receives, so with one call in flight every answer comes with a PING to acknowledge. `h2` writes
//! the acknowledgement on its own as soon as it has read it: one more system call (and one more
//! wake-up of etcd) per call, just before the next call's frames. [`Coalesce`] holds a lone
//! acknowledgement back while the connection's task yields once (letting the task it has just
//! woken, the caller that will send the next call, run first), and sends it in the same write as
//! whatever comes next, or on its own at the task's next turn. Nothing else is ever held, and
//! nothing waits on a timer.
//!
//! It also keeps the TLS failure that ends a connection (a certificate refused just after a TLS
//! 1.3 handshake): `h2` turns an I/O error's source into text, so below it is the last place the
//! `crate::tls::TlsError` can be seen, and the call it fails must be told that etcd never read it.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The wire size of a PING frame: a 9-byte frame header and 8 bytes of opaque data.
const PING_FRAME_LEN: usize = 17;

/// Wraps a connection's write side; reads pass through.
pub(super) struct Coalesce<S> {
    inner: S,
    /// A held-back PING acknowledgement (empty, or one whole frame).
    held: Vec<u8>,
    /// Whether the connection's task has yielded once since the acknowledgement was held.
    yielded: bool,
    /// Where the TLS failure that ended the connection is kept.
    tls_failure: Arc<OnceLock<crate::tls::TlsError>>,
}

impl<S> Coalesce<S> {
    pub(super) fn new(inner: S, tls_failure: Arc<OnceLock<crate::tls::TlsError>>) -> Coalesce<S> {
        Coalesce {
            inner,
            held: Vec::with_capacity(PING_FRAME_LEN),
            yielded: false,
            tls_failure,
        }
    }

    /// Keeps the TLS failure in `result`, if it is one, before `h2` sees it.
    fn note<T>(&self, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(e)) = &result {
            if let Some(tls) = crate::tls::find_rustls(e) {
                let _ = self.tls_failure.set(tls.clone());
            }
        }
        result
    }
}

/// Whether `buf` is exactly one PING frame with the ACK flag, on stream 0.
fn is_lone_ping_ack(buf: &[u8]) -> bool {
    buf.len() == PING_FRAME_LEN
        && buf[..3] == [0, 0, 8] // payload length 8
        && buf[3] == 0x6 // PING
        && buf[4] & 0x1 == 0x1 // ACK
        && buf[5..9] == [0, 0, 0, 0] // stream 0
}

impl<S: AsyncWrite + Unpin> Coalesce<S> {
    /// Writes what is held, all of it, before anything else.
    fn poll_release(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.held.is_empty() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.held))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.held.drain(..n);
        }
        Poll::Ready(Ok(()))
    }

    /// Writes `bufs`, preceded in the same system call by what is held.
    fn poll_write_after_held(
        &mut self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.held.is_empty() {
            return Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        }
        if self.inner.is_write_vectored() {
            let mut all = Vec::with_capacity(bufs.len() + 1);
            all.push(IoSlice::new(&self.held));
            all.extend(bufs.iter().map(|b| IoSlice::new(b)));
            let n = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, &all))?;
            let held = self.held.len();
            if n > held {
                self.held.clear();
                return Poll::Ready(Ok(n - held));
            }
            // Only (part of) the held frame went: the rest is written below.
            self.held.drain(..n.min(held));
        }
        ready!(self.poll_release(cx))?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Coalesce<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.note(read)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Coalesce<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.held.is_empty() && bufs.iter().map(|b| b.len()).sum::<usize>() == PING_FRAME_LEN {
            for b in bufs {
                this.held.extend_from_slice(b);
            }
            if is_lone_ping_ack(&this.held) {
                this.yielded = false;
                return Poll::Ready(Ok(PING_FRAME_LEN));
            }
            this.held.clear();
        }
        let written = this.poll_write_after_held(cx, bufs);
        this.note(written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    /// Flushes, except a just-held acknowledgement: the connection's task is woken again at once,
    /// and its next flush sends it.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.held.is_empty() {
            if this.yielded {
                ready!(this.poll_release(cx))?;
            } else {
                // Let the tasks already woken run first (the caller of the next request, most
                // often), then come back: the next flush sends it, with or without company.
                this.yielded = true;
                cx.waker().wake_by_ref();
            }
        }
        let flushed = Pin::new(&mut this.inner).poll_flush(cx);
        this.note(flushed)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_release(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const ACK: [u8; 17] = [0, 0, 8, 6, 1, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
    const PING: [u8; 17] = [0, 0, 8, 6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];

    #[test]
    fn only_a_lone_ping_ack_is_recognised() {
        assert!(is_lone_ping_ack(&ACK));
        assert!(!is_lone_ping_ack(&PING));
        assert!(!is_lone_ping_ack(&ACK[..16]));
        let mut on_stream = ACK;
        on_stream[8] = 1;
        assert!(!is_lone_ping_ack(&on_stream));
    }

    #[tokio::test]
    async fn a_held_ack_goes_with_the_next_write_in_order() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut w = Coalesce::new(client, Arc::default());
        w.write_all(&ACK).await.unwrap();
        w.flush().await.unwrap();
        w.write_all(b"next frame").await.unwrap();
        w.flush().await.unwrap();
        let mut got = vec![0u8; ACK.len() + 10];
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..17], &ACK);
        assert_eq!(&got[17..], b"next frame");
    }

    #[tokio::test]
    async fn a_held_ack_alone_goes_at_the_next_flush() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut w = Coalesce::new(client, Arc::default());
        w.write_all(&ACK).await.unwrap();
        // The first flush keeps it (and asks to be polled again); the second sends it.
        w.flush().await.unwrap();
        let mut got = [0u8; 17];
        assert!(
            futures_util::FutureExt::now_or_never(server.read_exact(&mut got)).is_none(),
            "held over one flush"
        );
        w.flush().await.unwrap();
        server.read_exact(&mut got).await.unwrap();
        assert_eq!(got, ACK);
    }

    #[tokio::test]
    async fn shutdown_sends_what_is_held() {
        let (client, mut server) = tokio::io::duplex(1024);
        let mut w = Coalesce::new(client, Arc::default());
        w.write_all(&ACK).await.unwrap();
        w.shutdown().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, ACK);
    }
}
