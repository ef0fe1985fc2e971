//! The fault proxy's faults on every exchange with one member, for as long as they are held.
//!
//! Each original member has a [`Route`]: the v2 clients connect to its HTTP/1.1 fault proxy, the
//! v3 clients to its HTTP/2 one, and both connect to the member through its freezable proxy (the
//! partition fault). A [`ProxyFault`] arms both fault proxies of one member — the one most
//! clients of the traffic use now (clients fail over in the same order, so the watchers and the
//! lease client are mostly there too) — with one rule per kind of exchange ([`v2_classes`], [`v3_classes`]),
//! each firing on every matching exchange until the fault is healed; how often each fired is
//! the fault's [`Fired`]. Lease grants match no rule and pass: a faulted grant would only keep
//! the lease client from its keep-alives.
//!
//! What a rule searches (see [`rsetcd_testkit::Trigger`]): for HTTP/1.1 the whole request, for
//! HTTP/2 the DATA of a new stream, with the gRPC message's 5-byte prefix, until its first
//! message is whole. So a v3 rule is a pattern of protobuf bytes, and an exchange is counted
//! under the first class that matches it (in the order below). A v3 stream already open when a
//! fault is armed (a watch, a keep-alive) is not judged again; a fault that closes its
//! connection on another stream ends it too.

use std::time::Duration;

use rsetcd_testkit::{Armed, Fault as At, FaultProxy, Proxy, Trigger, Wire};

use crate::faults::{Env, Fault, Fired};
use crate::run::{REQUEST_TIMEOUT, V3_PREFIX};

/// How long a delayed answer is held: past the clients' request timeout.
pub const ANSWER_DELAY: Duration = Duration::from_secs(REQUEST_TIMEOUT.as_secs() + 1);

/// The way from the clients to one member.
#[derive(Debug)]
pub struct Route {
    /// The v2 clients' proxy (HTTP/1.1).
    pub v2: FaultProxy,
    /// The v3 clients' proxy (HTTP/2).
    pub v3: FaultProxy,
    /// Behind both: the member's freezable proxy.
    pub freeze: Proxy,
}

impl Route {
    /// Starts the proxies in front of the member at `client_url`.
    pub fn start(client_url: &str) -> std::io::Result<Route> {
        let freeze = Proxy::start(client_url)?;
        Ok(Route {
            v2: FaultProxy::start(&freeze.url(), Wire::Http1)?,
            v3: FaultProxy::start(&freeze.url(), Wire::Http2)?,
            freeze,
        })
    }

    /// The URL the clients of one API use (`v2`: the v2 API's).
    pub fn url(&self, v2: bool) -> String {
        if v2 {
            self.v2.url()
        } else {
            self.v3.url()
        }
    }
}

/// A kind of exchange: its name and the patterns that pick it (any of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Class {
    /// `v2 watch polls`, `v3 txns`, …
    pub name: String,
    /// The request bytes any of which picks it.
    pub patterns: Vec<Vec<u8>>,
}

fn class(name: &str, patterns: &[&[u8]]) -> Class {
    Class {
        name: name.to_string(),
        patterns: patterns.iter().map(|p| p.to_vec()).collect(),
    }
}

/// The v2 traffic's exchanges, by their request line and form: watch polls (`wait=true`),
/// reads (`GET`), deletes and compare-and-deletes (`DELETE`), compare-and-swaps and creates (a
/// `prev…` condition in the form), sets (a form with a value only).
pub fn v2_classes() -> Vec<Class> {
    vec![
        class("v2 watch polls", &[b"wait=true"]),
        class("v2 reads", &[b"GET "]),
        class("v2 deletes", &[b"DELETE "]),
        class(
            "v2 CAS and creates",
            &[b"prevValue=", b"prevIndex=", b"prevExist="],
        ),
        class("v2 sets", &[b"value="]),
    ]
}

/// The v3 traffic's exchanges on keys under `prefix`, by their first message:
/// - watch streams: the prefix's range end (a `WatchCreateRequest`; the watchers' reads of the
///   prefix after a compaction match too);
/// - txns: a compare's key (field 3, tag `0x1a`, then its length, then the prefix);
/// - lease keep-alives and revokes: a 9- or 10-byte message holding only field 1 as a varint
///   (a lease ID; a grant of the lease client's 60 s is 2 bytes long and passes);
/// - puts: a value of the traffic (`c1…`: v3 clients are numbered from 100);
/// - reads and deletes: the prefix.
pub fn v3_classes(prefix: &str) -> Vec<Class> {
    let p = prefix.as_bytes();
    let compare_key = |extra: usize| {
        let mut pat = vec![0x1a, (p.len() + extra) as u8];
        pat.extend_from_slice(p);
        pat
    };
    vec![
        Class {
            name: "v3 watch streams".into(),
            patterns: vec![rsetcd::v3::prefix_end(p).to_vec()],
        },
        Class {
            name: "v3 txns".into(),
            // `k0`…`k999`, `p0`, `p1` after the prefix.
            patterns: (2..=4).map(compare_key).collect(),
        },
        class(
            "v3 lease keep-alives and revokes",
            &[b"\0\0\0\0\x0a\x08", b"\0\0\0\0\x09\x08"],
        ),
        class("v3 puts", &[b"c1"]),
        Class {
            name: "v3 reads and deletes".into(),
            patterns: vec![p.to_vec()],
        },
    ]
}

/// Rules armed for classes of exchanges, each firing `fault` on every match until disarmed.
#[derive(Debug, Default, Clone)]
pub struct ArmedClasses {
    armed: Vec<(String, Vec<Armed>)>,
}

impl ArmedClasses {
    /// Arms `fault` on `proxy` for every pattern of `classes`, in order.
    pub fn arm(
        &mut self,
        proxy: &FaultProxy,
        classes: Vec<Class>,
        fault: At,
    ) -> std::io::Result<()> {
        for c in classes {
            let mut rules = Vec::new();
            for p in &c.patterns {
                rules.push(proxy.arm(Trigger::containing(p).always(), fault)?);
            }
            self.armed.push((c.name, rules));
        }
        Ok(())
    }

    /// How often each class fired (classes that never fired left out).
    pub fn fired(&self) -> Fired {
        let mut fired = Fired::default();
        for (name, rules) in &self.armed {
            let n: usize = rules.iter().map(Armed::fired).sum();
            fired.total += n;
            if n > 0 {
                fired.by_class.push((name.clone(), n));
            }
        }
        fired
    }
}

/// What the fault proxies do to each exchange they pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The request is forwarded, its answer dropped and the client's connection closed (FIN).
    Drop,
    /// The request is forwarded; as the answer starts, the client's connection is reset (RST).
    Reset,
    /// The answer's head is forwarded, then the connection closed.
    CutAfterHead,
    /// The answer's head and half of its first body part are forwarded, then it is closed.
    CutMidBody,
    /// HTTP/2: the stream is kept from etcd, the client gets a GOAWAY below it, then a close.
    GoAway,
    /// HTTP/2: the stream is kept from etcd and refused (RST_STREAM REFUSED_STREAM), then the
    /// connection closed.
    RefusedStream,
    /// The answer is held for [`ANSWER_DELAY`], then forwarded (HTTP/2: the connection's
    /// whole answer side waits).
    Delay,
}

impl Answer {
    /// The fault proxy's fault.
    pub fn fault(self) -> At {
        match self {
            Answer::Drop => At::DropAnswerAndClose,
            Answer::Reset => At::ResetAfterForward,
            Answer::CutAfterHead => At::CutAfterHead,
            Answer::CutMidBody => At::CutMidBody,
            Answer::GoAway => At::GoAway,
            Answer::RefusedStream => At::RefusedStream,
            Answer::Delay => At::DelayAnswer(ANSWER_DELAY),
        }
    }

    /// Whether only HTTP/2 has it (the v2 clients are left alone).
    pub fn http2_only(self) -> bool {
        matches!(self, Answer::GoAway | Answer::RefusedStream)
    }

    fn what(self) -> String {
        match self {
            Answer::Drop => "answers dropped, connections closed".into(),
            Answer::Reset => "connections reset after the request".into(),
            Answer::CutAfterHead => "answers cut after the head".into(),
            Answer::CutMidBody => "answers cut in the body".into(),
            Answer::GoAway => "new streams answered by GOAWAY".into(),
            Answer::RefusedStream => "new streams refused (REFUSED_STREAM)".into(),
            Answer::Delay => format!("answers held {ANSWER_DELAY:?}"),
        }
    }
}

/// One member's fault proxies firing [`Answer`] on every exchange of the traffic while held.
#[derive(Debug)]
pub struct ProxyFault {
    answer: Answer,
    pick: usize,
    member: Option<usize>,
    armed: ArmedClasses,
}

impl ProxyFault {
    /// A fault of this answer; `pick` breaks ties between members.
    pub fn new(answer: Answer, pick: usize) -> ProxyFault {
        ProxyFault {
            answer,
            pick,
            member: None,
            armed: ArmedClasses::default(),
        }
    }
}

/// The routed member most clients (`v3_only`: of v3) use now, ties broken by `pick`; and how
/// many of how many use it.
fn busiest(env: &Env, pick: usize, v3_only: bool) -> Option<(usize, usize, usize)> {
    let mut on = vec![0usize; env.routes.len()];
    let clients: Vec<_> = env
        .clients
        .iter()
        .filter(|c| !v3_only || c.is_v3())
        .collect();
    for c in &clients {
        if let Some(r) = c.route(&env.routes) {
            on[r] += 1;
        }
    }
    let routed = env.routed();
    let most = routed.iter().map(|&i| on[i]).max()?;
    let tied: Vec<usize> = routed.into_iter().filter(|&i| on[i] == most).collect();
    Some((tied[pick % tied.len()], most, clients.len()))
}

impl Fault for ProxyFault {
    fn inject(&mut self, env: &mut Env) -> Result<String, String> {
        let v3_only = self.answer.http2_only();
        let (i, on, of) = busiest(env, self.pick, v3_only).ok_or("no member behind a proxy")?;
        // Set first: a half-armed fault is healed too.
        self.member = Some(i);
        let route = &env.routes[i];
        let fault = self.answer.fault();
        let err = |e: std::io::Error| e.to_string();
        if !self.answer.http2_only() {
            self.armed
                .arm(&route.v2, v2_classes(), fault)
                .map_err(err)?;
        }
        self.armed
            .arm(&route.v3, v3_classes(V3_PREFIX), fault)
            .map_err(err)?;
        let apis = if v3_only { "v3" } else { "v2 and v3" };
        Ok(format!(
            "{} on {}'s {apis} proxies ({on} of {of} {apis} clients there)",
            self.answer.what(),
            env.cluster.node(i).name(),
        ))
    }

    fn heal(&mut self, env: &mut Env) -> Result<(), String> {
        if let Some(i) = self.member.take() {
            let route = &env.routes[i];
            route.v2.disarm_all().map_err(|e| e.to_string())?;
            route.v3.disarm_all().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn fired(&self) -> Option<Fired> {
        Some(self.armed.fired())
    }
}
