//! A TCP proxy in front of a real etcd that can be frozen: a network partition on loopback.
//! While frozen, nothing goes through in either direction and no connection is closed, so a
//! client only finds out by its own timeouts or keep-alive pings.

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex};

use crate::relay::{self, lock, Pair, Relay, TICK};

/// A proxy on 127.0.0.1 to one address; its threads stop when it is dropped.
#[derive(Debug)]
pub struct Proxy {
    freeze: Arc<Freeze>,
    // Dropped last: shutting the relay down wakes the pumps, which then see it stopping.
    relay: Relay,
}

#[derive(Debug, Default)]
struct Freeze {
    frozen: Mutex<bool>,
    thawed: Condvar,
}

impl Freeze {
    /// Waits while frozen; `false` once the proxy is stopping.
    fn wait_thawed(&self, shared: &relay::Shared) -> bool {
        let mut frozen = lock(&self.frozen);
        while *frozen && !shared.stopping() {
            frozen = match self.thawed.wait_timeout(frozen, TICK) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        !shared.stopping()
    }

    fn set(&self, on: bool) {
        *lock(&self.frozen) = on;
        self.thawed.notify_all();
    }
}

impl Proxy {
    /// Starts a proxy to `target` (`host:port` or an `http://` URL).
    pub fn start(target: &str) -> std::io::Result<Proxy> {
        let target = relay::parse_target(target)?;
        let freeze = Arc::new(Freeze::default());
        let handler = {
            let freeze = Arc::clone(&freeze);
            Box::new(move |pair: Arc<Pair>, shared: &Arc<relay::Shared>| {
                for upstream in [true, false] {
                    let (pair, shared, freeze) =
                        (Arc::clone(&pair), Arc::clone(shared), Arc::clone(&freeze));
                    std::thread::spawn(move || pump(&pair, upstream, &shared, &freeze));
                }
            })
        };
        let relay = Relay::start(0, target, handler)?;
        Ok(Proxy { freeze, relay })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.relay.port())
    }

    /// Stops forwarding (both ways, on every connection, old and new) without closing anything.
    pub fn freeze(&self) {
        self.freeze.set(true);
    }

    /// Forwards again, including what was held while frozen.
    pub fn thaw(&self) {
        self.freeze.set(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // Wakes the pumps waiting for a thaw; the relay's own drop then shuts every pair down.
        self.freeze.thawed.notify_all();
    }
}

/// Copies one direction of `pair` (client to server when `upstream`), holding what it read
/// while the proxy is frozen.
fn pump(pair: &Pair, upstream: bool, shared: &relay::Shared, freeze: &Freeze) {
    let (mut from, mut to) = if upstream {
        (&pair.client, &pair.server)
    } else {
        (&pair.server, &pair.client)
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !freeze.wait_thawed(shared) {
            return;
        }
        let n = match from.read(&mut buf) {
            Ok(0) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
            Ok(n) => n,
            Err(e) if relay::is_idle(&e) => continue,
            Err(_) => {
                let _ = to.shutdown(Shutdown::Write);
                return;
            }
        };
        if !freeze.wait_thawed(shared) || to.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}
