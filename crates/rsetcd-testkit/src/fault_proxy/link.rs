//! One relayed connection of a fault proxy, as both of its pumps see it: the two sockets, the
//! ways it can end (a clean close, a reset, an abrupt close, a black hole), and reading with an
//! eye on the proxy's stop flag.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::relay::{self, lock, Pair, Shared};

/// How long a closed client connection is still read (and ignored) for its end of stream.
const DRAIN: Duration = Duration::from_secs(2);

/// What the link is doing.
const OPEN: u8 = 0;
/// Closed by a fault or by one side: nothing more is forwarded; the upstream pump drains.
const CLOSED: u8 = 1;
/// Black-holed: nothing more is forwarded, nothing is closed.
const BLACK: u8 = 2;
/// Reset or closed abruptly: nothing more is read either.
const CUT: u8 = 3;

/// What a pump got from its socket.
pub(crate) enum Got {
    /// Bytes.
    Bytes(usize),
    /// Nothing within a tick: a chance to look at timers.
    Idle,
    /// End of stream or an error: this direction is over.
    End,
}

/// A relayed connection shared by its two pumps.
pub(crate) struct Link {
    pub(crate) pair: Arc<Pair>,
    pub(crate) shared: Arc<Shared>,
    state: AtomicU8,
    /// Serialises writes to the client (both pumps may write to it).
    to_client: Mutex<()>,
}

impl Link {
    pub(crate) fn new(pair: Arc<Pair>, shared: Arc<Shared>) -> Link {
        Link {
            pair,
            shared,
            state: AtomicU8::new(OPEN),
            to_client: Mutex::new(()),
        }
    }

    /// Whether bytes may still be forwarded.
    pub(crate) fn open(&self) -> bool {
        self.state.load(Ordering::SeqCst) == OPEN && !self.shared.stopping()
    }

    pub(crate) fn black_holed(&self) -> bool {
        self.state.load(Ordering::SeqCst) == BLACK
    }

    /// Reads from the client (`upstream`) or from etcd into `buf`.
    pub(crate) fn read(&self, upstream: bool, buf: &mut [u8]) -> Got {
        if self.shared.stopping() {
            return Got::End;
        }
        let mut from = if upstream {
            &self.pair.client
        } else {
            &self.pair.server
        };
        match from.read(buf) {
            Ok(0) => Got::End,
            Ok(n) => Got::Bytes(n),
            Err(e) if relay::is_idle(&e) => Got::Idle,
            Err(_) => Got::End,
        }
    }

    /// Writes to etcd; `false` once that is no longer possible.
    pub(crate) fn to_server(&self, bytes: &[u8]) -> bool {
        self.open() && (&self.pair.server).write_all(bytes).is_ok()
    }

    /// Writes to the client; `false` once that is no longer possible.
    pub(crate) fn to_client(&self, bytes: &[u8]) -> bool {
        let _guard = lock(&self.to_client);
        self.open() && (&self.pair.client).write_all(bytes).is_ok()
    }

    /// One side ended: pass the end of stream on to the other (`upstream`: the client ended),
    /// unless a fault already decided how the connection ends (a black hole stays open).
    pub(crate) fn half_close(&self, upstream: bool) {
        if !self.open() {
            return;
        }
        let to = if upstream {
            &self.pair.server
        } else {
            &self.pair.client
        };
        let _ = to.shutdown(Shutdown::Write);
    }

    fn mark(&self, state: u8) -> bool {
        self.state
            .compare_exchange(OPEN, state, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// A clean close: FIN to the client (which the upstream pump then drains), etcd's connection
    /// shut down.
    pub(crate) fn close(&self) {
        if self.mark(CLOSED) {
            let _guard = lock(&self.to_client);
            let _ = self.pair.client.shutdown(Shutdown::Write);
            let _ = self.pair.server.shutdown(Shutdown::Both);
        }
    }

    /// A reset: the client's socket closes with `SO_LINGER` 0 as soon as both pumps let go of it.
    pub(crate) fn reset(&self) {
        if self.mark(CUT) {
            let _guard = lock(&self.to_client);
            let _ = relay::linger_zero(&self.pair.client);
            // Wakes the upstream pump (a shut-down read returns at once) so the socket is
            // closed, and the RST sent, right after this pump returns.
            let _ = self.pair.client.shutdown(Shutdown::Read);
            let _ = self.pair.server.shutdown(Shutdown::Both);
        }
    }

    /// An abrupt close: FIN now, and no more reading, so bytes the client still sends (or had
    /// sent and the proxy had not read) make the kernel reset the connection once it closes.
    pub(crate) fn abort(&self) {
        if self.mark(CUT) {
            let _guard = lock(&self.to_client);
            let _ = self.pair.client.shutdown(Shutdown::Both);
            let _ = self.pair.server.shutdown(Shutdown::Both);
        }
    }

    /// From now on nothing is forwarded and the client's connection stays open; etcd's closes.
    pub(crate) fn black_hole(&self) {
        if self.mark(BLACK) {
            let _ = self.pair.server.shutdown(Shutdown::Both);
        }
    }

    /// The upstream pump's last duty once the link is no longer open: a black hole reads and
    /// ignores the client until the proxy stops; a clean close reads until the client's end of
    /// stream (bounded), so that closing does not reset what the client already received.
    pub(crate) fn finish_upstream(&self) {
        if self.state.load(Ordering::SeqCst) == CUT {
            return;
        }
        let mut sink = [0u8; 16 * 1024];
        let deadline = Instant::now() + DRAIN;
        loop {
            if self.black_holed() {
                if self.shared.stopping() {
                    return;
                }
            } else if Instant::now() >= deadline {
                return;
            }
            if let Got::End = self.read(true, &mut sink) {
                return;
            }
        }
    }

    /// Sleeps `d` in ticks; `false` if the link closed or the proxy stopped meanwhile.
    pub(crate) fn sleep(&self, d: Duration) -> bool {
        let deadline = Instant::now() + d;
        while self.open() {
            let now = Instant::now();
            if now >= deadline {
                return true;
            }
            std::thread::sleep((deadline - now).min(relay::TICK));
        }
        false
    }
}
