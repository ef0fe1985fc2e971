//! Waiting for a node: healthy, serving, listening — by what the node answers, or for TLS
//! nodes (the test kit speaks no TLS) and emulating nodes by what it logs and accepts.

use std::time::{Duration, Instant};

use super::Etcd;
use crate::{probe, Error, Result, V2Api};

impl Etcd {
    /// Waits until `GET /health` answers `{"health":"true"}`, which needs a quorum.
    ///
    /// The test kit speaks no TLS: a TLS node counts as healthy once its log (since it was last
    /// started) says `serving client traffic securely` and its client port accepts connections.
    /// Under etcd's v2 emulation ([`V2Api::Emulated`]) `/health` and `/version` never answer
    /// (3.4.23 holds the request, 3.5.1 closes the connection), so there a node is healthy once
    /// `GET /v2/keys/` answers, which also needs a quorum.
    pub fn wait_healthy(&self, timeout: Duration) -> Result<()> {
        self.wait_for(timeout, "healthy", |n| {
            if n.settings.secure() {
                n.tls_serving()
            } else if n.emulated() {
                n.v2v3_serving()
            } else {
                // Our process must say it serves: another server on a fixed port would answer
                // the probe while ours failed to bind it.
                n.log_says_serving()
                    && probe::get(n.client_port, "/health")
                        .is_some_and(|b| b.contains(r#""health":"true""#))
            }
        })
    }

    fn emulated(&self) -> bool {
        matches!(self.settings.v2, V2Api::Emulated(_))
    }

    fn v2v3_serving(&self) -> bool {
        probe::get(self.client_port, "/v2/keys/").is_some_and(|b| b.contains(r#""action""#))
    }

    /// Waits until the node serves client requests (`GET /version` answers). etcd 3.4 serves
    /// clients only once it has published itself through raft, so this too needs a quorum.
    pub fn wait_serving(&self, timeout: Duration) -> Result<()> {
        self.wait_for(timeout, "serving", |n| n.serving())
    }

    /// Waits until the process has started its servers and its client port accepts connections,
    /// quorum or not.
    pub(super) fn wait_listening(&self, timeout: Duration) -> Result<()> {
        self.wait_for(timeout, "listening", |n| {
            probe::accepts(n.client_port)
                && (n.log_since_spawn().contains(LISTENING) || n.serving())
        })
    }

    fn serving(&self) -> bool {
        if self.settings.secure() {
            self.tls_serving()
        } else if self.emulated() {
            self.v2v3_serving()
        } else {
            self.log_says_serving() && probe::get(self.client_port, "/version").is_some()
        }
    }

    /// Whether this process (since it was last spawned) logged that it serves clients.
    fn log_says_serving(&self) -> bool {
        let log = self.log_since_spawn();
        SERVING.iter().any(|line| log.contains(line))
    }

    fn tls_serving(&self) -> bool {
        let log = self.log_since_spawn();
        log.contains(TLS_SERVING) && probe::accepts(self.client_port)
    }

    /// Polls `ok` every 25 ms until it holds, the timeout passes or the process exits.
    fn wait_for(&self, timeout: Duration, what: &str, ok: impl Fn(&Etcd) -> bool) -> Result<()> {
        let Some(pid) = self.pid() else {
            return Err(Error::NotRunning {
                name: self.name.clone(),
            });
        };
        let deadline = Instant::now() + timeout;
        loop {
            if ok(self) {
                return Ok(());
            }
            if !crate::reaper::alive(pid) {
                return Err(Error::Exited {
                    name: self.name.clone(),
                    log: self.log_for_error(),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::NotHealthy {
                    name: self.name.clone(),
                    what: what.to_string(),
                    timeout,
                    log: self.log_for_error(),
                });
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

/// Logged (zap) by etcd 3.4/3.5 once its peer and client servers are started, before it has a quorum.
const LISTENING: &str = "now serving peer/client/metrics";

/// Logged once the plain client listener, bound by this process, serves requests (zap, etcd
/// 3.4/3.5; capnslog).
const SERVING: [&str; 2] = [
    "serving client traffic insecurely",
    "ready to serve client requests",
];

/// Logged (zap, etcd 3.4 and 3.5) once a TLS client listener serves requests. etcd 3.5 logs
/// "ready to serve client requests" a few lines earlier, before its TLS listener is up: that line
/// does not count.
const TLS_SERVING: &str = "serving client traffic securely";
