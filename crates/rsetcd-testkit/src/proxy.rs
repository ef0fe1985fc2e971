//! A TCP proxy in front of a real etcd that can be frozen: a network partition on loopback.
//! While frozen, nothing goes through in either direction and no connection is closed, so a
//! client only finds out by its own timeouts or keep-alive pings.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often blocked threads look at the stop flag.
const TICK: Duration = Duration::from_millis(50);

/// A proxy on 127.0.0.1 to one address; its threads stop when it is dropped.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct Shared {
    frozen: Mutex<bool>,
    thawed: Condvar,
    stop: AtomicBool,
    sockets: Mutex<Vec<TcpStream>>,
}

impl Shared {
    /// Waits while frozen; `false` once the proxy is stopping.
    fn wait_thawed(&self) -> bool {
        let mut frozen = match self.frozen.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        while *frozen && !self.stop.load(Ordering::SeqCst) {
            frozen = match self.thawed.wait_timeout(frozen, TICK) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        !self.stop.load(Ordering::SeqCst)
    }

    fn set_frozen(&self, on: bool) {
        match self.frozen.lock() {
            Ok(mut guard) => *guard = on,
            Err(poisoned) => *poisoned.into_inner() = on,
        }
        self.thawed.notify_all();
    }
}

impl Proxy {
    /// Starts a proxy to `target` (`host:port` or an `http://` URL).
    pub fn start(target: &str) -> std::io::Result<Proxy> {
        let target: SocketAddr = target
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared::default());
        let thread = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept(listener, target, shared))
        };
        Ok(Proxy {
            port,
            shared,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops forwarding (both ways, on every connection, old and new) without closing anything.
    pub fn freeze(&self) {
        self.shared.set_frozen(true);
    }

    /// Forwards again, including what was held while frozen.
    pub fn thaw(&self) {
        self.shared.set_frozen(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.thawed.notify_all();
        if let Ok(sockets) = self.shared.sockets.lock() {
            for s in sockets.iter() {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn accept(listener: TcpListener, target: SocketAddr, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((client, _)) => {
                if let Err(e) = connect(client, target, &shared) {
                    eprintln!("proxy: cannot reach {target}: {e}");
                }
            }
            Err(_) => std::thread::sleep(TICK),
        }
    }
}

fn connect(client: TcpStream, target: SocketAddr, shared: &Arc<Shared>) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    let server = TcpStream::connect(target)?;
    for s in [&client, &server] {
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(TICK))?;
    }
    if let Ok(mut sockets) = shared.sockets.lock() {
        sockets.push(client.try_clone()?);
        sockets.push(server.try_clone()?);
    }
    for (from, to) in [(client.try_clone()?, server.try_clone()?), (server, client)] {
        let shared = Arc::clone(shared);
        std::thread::spawn(move || pump(from, to, &shared));
    }
    Ok(())
}

/// Copies `from` to `to`, holding what it read while the proxy is frozen.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: &Shared) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !shared.wait_thawed() {
            return;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue
            }
            Err(_) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
        };
        if !shared.wait_thawed() || to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
