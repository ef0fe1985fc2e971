//! A fault proxy: a TCP proxy in front of a real etcd that follows each HTTP/1.1 request and
//! answer, or each HTTP/2 stream, and places a fault at an exact point of the exchange a trigger
//! picked — before any byte left, after part of the request, after the whole request, after
//! the answer's head, in the middle of its body — while every other exchange passes untouched.
//! `http1` and `http2` find the boundaries (pure, unit-tested), `http1_relay` and
//! `http2_relay` are the two pumps of a connection for each protocol, `link` is a connection as
//! both pumps see it, `rules` what the proxy is armed with.

mod http1;
mod http1_relay;
mod http2;
mod http2_relay;
mod link;
mod rules;

use std::sync::Arc;
use std::time::Duration;

pub use rules::{Fault, Trigger};

use crate::relay::{self, Pair, Relay, Shared};
use link::Link;
use rules::{Rule, Rules};

/// The protocol spoken through a [`FaultProxy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    /// HTTP/1.1: the v2 API.
    Http1,
    /// HTTP/2 with prior knowledge (h2c): the v3 gRPC API.
    Http2,
}

/// A proxy on 127.0.0.1 to one etcd that places faults at exact points of exchanges; its
/// threads stop and its connections close when it is dropped.
///
/// Each connection is relayed by two threads (one per direction), as by the freezable
/// [`Proxy`](crate::Proxy), with which it shares its listener and clean-up. Every request is
/// held until the armed rules have judged it: an HTTP/1.1 request until a trigger's pattern is
/// found in it or it is complete; a new HTTP/2 stream (and the frames behind it, header blocks
/// must stay in order) until the pattern is found in its DATA, its side ends, its first gRPC
/// message is whole, 16 KiB of it came or 300 ms passed. With nothing armed, requests pass at
/// once. See [`Trigger`] for what is searched and [`Fault`] for where each fault strikes.
///
/// ```no_run
/// use std::time::Duration;
/// use rsetcd_testkit::{Etcd, Fault, FaultProxy, Trigger, Wire};
///
/// let node = Etcd::start()?;
/// let proxy = FaultProxy::start(&node.client_url(), Wire::Http2)?;
/// // The first gRPC call whose message holds this key: etcd gets it whole, its answer is
/// // dropped and the client's connection closed. Then everything passes again.
/// let armed = proxy.arm(Trigger::containing(b"/edge/put-1"), Fault::DropAnswerAndClose)?;
/// let endpoint = proxy.url(); // give this to the client
/// // ... the client puts /edge/put-1 through `endpoint` ...
/// assert!(armed.wait_fired(1, Duration::from_secs(5)));
/// assert_eq!(proxy.fired(), 1);
/// assert!(proxy.request_reached_server()); // the put was forwarded whole
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct FaultProxy {
    wire: Wire,
    rules: Arc<Rules>,
    relay: Relay,
}

/// A rule armed on a [`FaultProxy`]: its trigger and fault, and what it did so far. Cheap to
/// clone (clones share the counters); it outlives the proxy harmlessly.
#[derive(Debug, Clone)]
pub struct Armed {
    rule: Arc<Rule>,
    shared: Arc<Shared>,
}

impl Armed {
    /// How many exchanges it fired on (for [`Fault::Refuse`]: 1 from the moment it is armed).
    pub fn fired(&self) -> usize {
        self.rule.fired()
    }

    /// How many of the exchanges it fired on had their request forwarded to etcd whole.
    pub fn forwarded(&self) -> usize {
        self.rule.forwarded()
    }

    /// Blocks until it fired `n` times, at most `timeout`; whether it did.
    pub fn wait_fired(&self, n: usize, timeout: Duration) -> bool {
        self.rule.wait_fired(n, timeout)
    }

    /// No more firings; a [`Fault::Refuse`] listens again on the same port.
    pub fn disarm(&self) -> std::io::Result<()> {
        self.rule.disarm();
        if self.rule.fault == Fault::Refuse {
            self.shared.listen_again()?;
        }
        Ok(())
    }
}

impl FaultProxy {
    /// Starts a proxy to `target` (`host:port` or an `http://` URL) that speaks `wire`.
    pub fn start(target: &str, wire: Wire) -> std::io::Result<FaultProxy> {
        let target = relay::parse_target(target)?;
        let rules = Arc::new(Rules::default());
        let handler = {
            let rules = Arc::clone(&rules);
            Box::new(move |pair: Arc<Pair>, shared: &Arc<Shared>| {
                relay_connection(wire, pair, shared, &rules);
            })
        };
        // A port this process hands out once, so that a refusing proxy can bind it again.
        let port = crate::ports::alloc_port().map_err(std::io::Error::other)?;
        let relay = Relay::start(port, target, handler)?;
        Ok(FaultProxy { wire, rules, relay })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.relay.port())
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.relay.port()
    }

    /// Arms `fault` for the exchanges `trigger` picks. Rules are tried in the order armed; the
    /// first that matches an exchange fires. An HTTP/2-only fault on an HTTP/1.1 proxy is an
    /// `InvalidInput` error.
    pub fn arm(&self, trigger: Trigger, fault: Fault) -> std::io::Result<Armed> {
        if fault.http2_only() && self.wire != Wire::Http2 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{fault:?} exists only in HTTP/2; this proxy speaks HTTP/1.1"),
            ));
        }
        let rule = Arc::new(Rule::new(trigger, fault));
        if fault == Fault::Refuse {
            self.relay.shared().refuse();
            self.rules.fire_unjudged(&rule);
        }
        self.rules.add(Arc::clone(&rule));
        Ok(Armed {
            rule,
            shared: Arc::clone(self.relay.shared()),
        })
    }

    /// Disarms every rule and listens again if it was refusing.
    pub fn disarm_all(&self) -> std::io::Result<()> {
        self.rules.disarm_all();
        self.relay.shared().listen_again()
    }

    /// How many times a fault fired, every rule together.
    pub fn fired(&self) -> usize {
        self.rules.fired()
    }

    /// Whether the request of the latest firing was forwarded to etcd whole (`false` before any
    /// firing, and for faults that keep the request from etcd).
    pub fn request_reached_server(&self) -> bool {
        self.rules.last_reached()
    }

    /// How many connections it accepted.
    pub fn connections(&self) -> usize {
        self.relay.accepted()
    }
}

/// Starts the two pumps of a new connection.
fn relay_connection(wire: Wire, pair: Arc<Pair>, shared: &Arc<Shared>, rules: &Arc<Rules>) {
    let link = Arc::new(Link::new(pair, Arc::clone(shared)));
    let rules = Arc::clone(rules);
    let spawned = match wire {
        Wire::Http1 => {
            let exchanges = Arc::new(http1_relay::Exchanges::default());
            let (up, ex) = (Arc::clone(&link), Arc::clone(&exchanges));
            spawn("fault-proxy-up", move || {
                http1_relay::upstream(&up, &rules, &ex)
            })
            .and_then(|()| {
                spawn("fault-proxy-down", move || {
                    http1_relay::downstream(&link, &exchanges)
                })
            })
        }
        Wire::Http2 => {
            let answers = Arc::new(http2_relay::Answers::default());
            let (up, an) = (Arc::clone(&link), Arc::clone(&answers));
            spawn("fault-proxy-up", move || {
                http2_relay::upstream(&up, &rules, &an)
            })
            .and_then(|()| {
                spawn("fault-proxy-down", move || {
                    http2_relay::downstream(&link, &answers)
                })
            })
        }
    };
    if let Err(e) = spawned {
        eprintln!("fault proxy: cannot start a relay thread: {e}");
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(drop)
}
