//! What every proxy of the test kit shares: a listener on 127.0.0.1 that accepts connections on a
//! thread of its own and pairs each with a fresh connection to the target, a registry of the live
//! pairs (shut down when the proxy is dropped), and a listener that can be closed and opened again
//! on the same port (a refused connection).
//!
//! How the bytes of a pair are then moved is the proxy's business: [`Proxy`](crate::Proxy)
//! copies them and can freeze, [`FaultProxy`](crate::FaultProxy) follows the exchanges.

use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often blocked threads look at the stop flag (the read timeout of every relayed socket).
pub(crate) const TICK: Duration = Duration::from_millis(50);

/// How long the accept loop sleeps when nothing is waiting.
const ACCEPT_NAP: Duration = Duration::from_millis(2);

/// Locks a mutex, carrying on with the data of a poisoned one (a panicked test thread).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Parses a target: `host:port` or an `http://` URL of a loopback address.
pub(crate) fn parse_target(target: &str) -> std::io::Result<SocketAddr> {
    target
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
}

/// One relayed connection: the client's socket and the socket to the target.
///
/// Reading and writing go through `&TcpStream` (one thread per direction), so the sockets close
/// when the last holder of the pair lets go of it. That is what makes a reset exact: with
/// `SO_LINGER` 0, the close that sends the RST is the drop of the last `Arc<Pair>`.
#[derive(Debug)]
pub(crate) struct Pair {
    pub(crate) client: TcpStream,
    pub(crate) server: TcpStream,
}

impl Pair {
    /// Shuts both sockets down both ways, which wakes every thread blocked on them.
    pub(crate) fn shutdown(&self) {
        let _ = self.client.shutdown(Shutdown::Both);
        let _ = self.server.shutdown(Shutdown::Both);
    }
}

/// The state shared by the accept thread, the relaying threads and the proxy's handle.
#[derive(Debug)]
pub(crate) struct Shared {
    stop: AtomicBool,
    port: u16,
    /// `None` while connections are refused.
    listener: Mutex<Option<TcpListener>>,
    pairs: Mutex<Vec<Weak<Pair>>>,
    accepted: AtomicUsize,
}

impl Shared {
    /// Whether the proxy is being dropped.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Closes the listening socket: from now on connecting is refused. Open connections stay.
    pub(crate) fn refuse(&self) {
        lock(&self.listener).take();
    }

    /// Listens again on the same port after [`Shared::refuse`] (not once the proxy stopped).
    pub(crate) fn listen_again(&self) -> std::io::Result<()> {
        let mut guard = lock(&self.listener);
        if guard.is_none() && !self.stopping() {
            *guard = Some(listen(self.port)?);
        }
        Ok(())
    }
}

/// What is done with each new pair: runs on the accept thread, so it only starts threads.
pub(crate) type Handler = Box<dyn FnMut(Arc<Pair>, &Arc<Shared>) + Send>;

/// A listener on 127.0.0.1 relaying to one target; everything stops when it is dropped.
#[derive(Debug)]
pub(crate) struct Relay {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Relay {
    /// Listens on `port` (0: any free port) and hands every accepted connection, paired with a new
    /// connection to `target`, to `handler`.
    pub(crate) fn start(port: u16, target: SocketAddr, handler: Handler) -> std::io::Result<Relay> {
        let listener = listen(port)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            port,
            listener: Mutex::new(Some(listener)),
            pairs: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
        });
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name(format!("relay-accept-{port}"))
                .spawn(move || accept(&shared, target, handler))?
        };
        Ok(Relay {
            shared,
            thread: Some(thread),
        })
    }

    /// The port the proxy listens on (also while it refuses).
    pub(crate) fn port(&self) -> u16 {
        self.shared.port
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// What the relay shares with its threads (and with handles that outlive it).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for pair in lock(&self.shared.pairs).iter().filter_map(Weak::upgrade) {
            pair.shutdown();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn listen(port: u16) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

fn accept(shared: &Arc<Shared>, target: SocketAddr, mut handler: Handler) {
    while !shared.stopping() {
        let accepted = match lock(&shared.listener).as_ref() {
            Some(listener) => listener.accept(),
            None => Err(std::io::ErrorKind::WouldBlock.into()),
        };
        let client = match accepted {
            Ok((client, _)) => client,
            Err(_) => {
                std::thread::sleep(ACCEPT_NAP);
                continue;
            }
        };
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        match pair_with(client, target) {
            Ok(pair) => {
                let pair = Arc::new(pair);
                {
                    let mut pairs = lock(&shared.pairs);
                    pairs.retain(|p| p.strong_count() > 0);
                    pairs.push(Arc::downgrade(&pair));
                }
                handler(pair, shared);
            }
            Err(e) => eprintln!("proxy: cannot reach {target}: {e}"),
        }
    }
}

fn pair_with(client: TcpStream, target: SocketAddr) -> std::io::Result<Pair> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect(target)?;
    for s in [&client, &server] {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(TICK))?;
    }
    Ok(Pair { client, server })
}

/// Whether a read error only means "nothing yet" (the read timeout).
pub(crate) fn is_idle(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock
            | std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::Interrupted
    )
}

/// Sets `SO_LINGER` to 0 on `socket`: its close then sends a RST instead of a FIN.
pub(crate) fn linger_zero(socket: &TcpStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a pointer to a live `linger` of the size given.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
