//! One HTTP/1.1 connection and the pool of idle ones.
//!
//! A request is written and its answer read by the task that makes the call: no connection task,
//! no channel between the caller and the socket. A connection goes back to the pool only after a
//! complete answer that lets it be reused; a call that is dropped half-way (a timeout, a cancelled
//! watch) drops its connection with it, which closes it.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};

use super::wire::{self, Chunked, Framing, Head, Malformed};
use crate::net::Stream;
use crate::retry::Progress;

/// How much room a read asks for.
const READ_CHUNK: usize = 8 * 1024;

/// A failed exchange on one connection.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The request could not be written in full: the server never acted on it (etcd reads a
    /// whole request before acting).
    Unsent(io::Error),
    /// The request was written; the answer did not come (whole). `answered` tells whether any of
    /// it arrived.
    Sent { error: io::Error, answered: bool },
}

/// One connection to one endpoint, with its read buffer.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: Stream,
    /// Bytes read and not used yet.
    buf: BytesMut,
    /// The request being sent.
    pub(crate) out: Vec<u8>,
    idle_since: Instant,
}

impl Conn {
    pub(crate) fn new(stream: Stream) -> Conn {
        Conn {
            stream,
            buf: BytesMut::with_capacity(READ_CHUNK),
            out: Vec::with_capacity(256),
            idle_since: Instant::now(),
        }
    }

    /// Writes the request in `out` and reads the answer's head; `progress` learns when the
    /// request has been written in full.
    pub(crate) async fn exchange(&mut self, progress: &Progress) -> Result<Head, Failure> {
        if let Err(e) = self.write_out().await {
            // Boxed: a rare path, and its read buffer would grow every exchange's future.
            return Err(Failure::Unsent(Box::pin(self.write_failure(e)).await));
        }
        progress.sent();
        // Nothing of the answer can be here yet: read before the first parse.
        self.buf.clear();
        loop {
            let answered = !self.buf.is_empty();
            match self.fill().await {
                Ok(0) => {
                    return Err(Failure::Sent {
                        error: io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            "the connection closed before a complete answer",
                        ),
                        answered,
                    })
                }
                Ok(_) => {}
                Err(error) => return Err(Failure::Sent { error, answered }),
            }
            match wire::parse_head(&mut self.buf) {
                Ok(Some(head)) => return Ok(head),
                Ok(None) => {}
                Err(e) => {
                    return Err(Failure::Sent {
                        error: malformed(e),
                        answered: true,
                    })
                }
            }
        }
    }

    async fn write_out(&mut self) -> io::Result<()> {
        self.stream.write_all(&self.out).await?;
        if self.stream.is_tls() {
            self.stream.flush().await?;
        }
        Ok(())
    }

    /// A write failed with `err`. Under TLS 1.3 a server that refuses the client's certificate
    /// sends an alert and resets the connection after the client's handshake is over; a write that
    /// meets the reset hides the alert, which is still waiting in the socket: read it, as it tells
    /// the cause.
    async fn write_failure(&mut self, err: io::Error) -> io::Error {
        let reset = matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
        );
        if !reset || !self.stream.is_tls() {
            return err;
        }
        let mut scratch = [0u8; 256];
        match self.stream.read(&mut scratch).await {
            Err(read_err)
                if crate::tls::find_rustls(&read_err).is_some_and(crate::tls::is_refusal) =>
            {
                read_err
            }
            _ => err,
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the connection.
    async fn fill(&mut self) -> io::Result<usize> {
        if self.buf.capacity() - self.buf.len() < READ_CHUNK / 2 {
            self.buf.reserve(READ_CHUNK);
        }
        self.stream.read_buf(&mut self.buf).await
    }

    /// Reads the body framed by `framing`.
    pub(crate) async fn read_body(&mut self, framing: Framing) -> io::Result<Bytes> {
        match framing {
            Framing::Length(len) => loop {
                if let Some(body) = wire::take_body(&mut self.buf, len) {
                    return Ok(body);
                }
                if usize::try_from(len).is_err() {
                    return Err(malformed(Malformed(format!("body of {len} bytes"))));
                }
                let missing = len as usize - self.buf.len();
                self.buf.reserve(missing.min(1 << 20));
                if self.stream.read_buf(&mut self.buf).await? == 0 {
                    return Err(truncated());
                }
            },
            Framing::Chunked => {
                let mut chunked = Chunked::default();
                let mut body = BytesMut::new();
                loop {
                    if chunked
                        .decode(&mut self.buf, &mut body)
                        .map_err(malformed)?
                    {
                        return Ok(body.freeze());
                    }
                    if self.fill().await? == 0 {
                        return Err(truncated());
                    }
                }
            }
            Framing::UntilClose => {
                while self.fill().await? > 0 {}
                Ok(self.buf.split().freeze())
            }
        }
    }

    /// Whether nothing beyond the answer came: a connection that received more than it asked for is
    /// not reused.
    pub(crate) fn is_clean(&self) -> bool {
        self.buf.is_empty()
    }

    /// Whether an idle connection can still carry a request: not closed by the server, nothing
    /// unexpected waiting (TLS session tickets are taken in passing).
    fn is_alive(&mut self) -> bool {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut scratch = [0u8; 64];
        let mut buf = ReadBuf::new(&mut scratch);
        matches!(
            Pin::new(&mut self.stream).poll_read(&mut cx, &mut buf),
            Poll::Pending
        )
    }
}

fn malformed(e: Malformed) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the connection closed in the middle of the answer",
    )
}

/// Idle connections, by runtime and endpoint URL (most recently used last). Cheap to clone.
///
/// A connection is driven by the reactor of the tokio runtime that made it, so each runtime gets
/// its own connections: a client shared by several runtimes (one per core, say) never has one
/// runtime wait on another's reactor.
#[derive(Debug, Clone)]
pub(crate) struct Pool {
    inner: Arc<Mutex<Vec<Idle>>>,
    idle_timeout: Duration,
}

/// The idle connections of one runtime to one endpoint. A client has a few endpoints and is used
/// from a few runtimes: a list scanned in place costs less than hashing twice per request.
#[derive(Debug)]
struct Idle {
    runtime: RuntimeId,
    url: Arc<str>,
    conns: Vec<Conn>,
}

impl Idle {
    fn is(&self, runtime: RuntimeId, url: &str) -> bool {
        self.runtime == runtime && &*self.url == url
    }
}

impl Pool {
    pub(crate) fn new(idle_timeout: Duration) -> Pool {
        Pool {
            inner: Arc::new(Mutex::new(Vec::new())),
            idle_timeout,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        match self.inner.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// A live idle connection of this runtime to `url`, the most recently used one.
    pub(crate) fn take(&self, runtime: RuntimeId, url: &str) -> Option<Conn> {
        loop {
            let mut conn = {
                let mut slots = self.lock();
                let idle = slots.iter_mut().find(|i| i.is(runtime, url))?;
                self.expire(&mut idle.conns);
                idle.conns.pop()?
            };
            if conn.is_alive() {
                return Some(conn);
            }
        }
    }

    /// Keeps `conn` for the next request of this runtime to `url`.
    pub(crate) fn put(&self, runtime: RuntimeId, url: &Arc<str>, mut conn: Conn) {
        conn.idle_since = Instant::now();
        let mut slots = self.lock();
        if let Some(idle) = slots.iter_mut().find(|i| i.is(runtime, url)) {
            self.expire(&mut idle.conns);
            idle.conns.push(conn);
            return;
        }
        // A new runtime or endpoint: forget what runtimes gone since have left behind.
        slots.iter_mut().for_each(|i| self.expire(&mut i.conns));
        slots.retain(|i| !i.conns.is_empty());
        slots.push(Idle {
            runtime,
            url: url.clone(),
            conns: vec![conn],
        });
    }

    /// Drops the connections idle for too long (the oldest come first).
    fn expire(&self, list: &mut Vec<Conn>) {
        let expired = list
            .iter()
            .take_while(|c| c.idle_since.elapsed() >= self.idle_timeout)
            .count();
        list.drain(..expired);
    }
}

/// The tokio runtime a call runs on.
pub(crate) type RuntimeId = tokio::runtime::Id;

/// The body of an answer not read yet, on its connection.
#[derive(Debug)]
pub(crate) struct Body {
    conn: Conn,
    head_framing: Framing,
    keep_alive: bool,
    pool: Pool,
    runtime: RuntimeId,
    url: Arc<str>,
}

impl Body {
    pub(crate) fn new(
        conn: Conn,
        head: &Head,
        pool: Pool,
        runtime: RuntimeId,
        url: Arc<str>,
    ) -> Body {
        Body {
            conn,
            head_framing: head.framing,
            keep_alive: head.keep_alive,
            pool,
            runtime,
            url,
        }
    }

    /// Reads the whole body; the connection then goes back to the pool when it may be reused.
    pub(crate) async fn collect(mut self) -> io::Result<Bytes> {
        let body = self.conn.read_body(self.head_framing).await?;
        if self.keep_alive && self.conn.is_clean() {
            self.pool.put(self.runtime, &self.url, self.conn);
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests;
