//! What a fault proxy is armed with: triggers (which exchange), faults (what happens to it, and
//! where), and the bookkeeping of each armed rule (how often it fired, whether the request of a
//! firing reached the server).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::relay::lock;

/// Which exchange a fault applies to: an HTTP/1.1 request, or an HTTP/2 stream, whose request
/// bytes contain a pattern (or any exchange), and how many times it fires (once by default).
///
/// ```
/// use rsetcd_testkit::Trigger;
///
/// let once = Trigger::containing(b"/edge/put-1");      // the first exchange naming that key
/// let thrice = Trigger::containing("/edge/").times(3); // the first three
/// let every = Trigger::any().always();                 // every exchange, for ever
/// # let _ = (once, thrice, every);
/// ```
///
/// What is searched: for HTTP/1.1 the whole request as sent (request line, headers and body);
/// for HTTP/2 the payload of the stream's DATA frames (a gRPC message is protobuf, which holds
/// keys and values verbatim), not its header block (HPACK-compressed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pattern: Option<Vec<u8>>,
    times: Option<usize>,
}

impl Trigger {
    /// Exchanges whose request bytes contain `pattern` (an empty pattern matches any exchange).
    pub fn containing(pattern: impl AsRef<[u8]>) -> Trigger {
        let pattern = pattern.as_ref();
        Trigger {
            pattern: (!pattern.is_empty()).then(|| pattern.to_vec()),
            times: Some(1),
        }
    }

    /// Every exchange (HTTP/2: every stream, decided at its HEADERS frame).
    pub fn any() -> Trigger {
        Trigger {
            pattern: None,
            times: Some(1),
        }
    }

    /// Fire on the first `n` matching exchanges, then let them pass (the default is once).
    pub fn times(mut self, n: usize) -> Trigger {
        self.times = Some(n);
        self
    }

    /// Fire on every matching exchange until disarmed.
    pub fn always(mut self) -> Trigger {
        self.times = None;
        self
    }

    /// Whether `bytes` (the request so far) contain the pattern.
    pub(crate) fn matches(&self, bytes: &[u8]) -> bool {
        match &self.pattern {
            None => true,
            Some(p) => bytes.windows(p.len()).any(|w| w == p.as_slice()),
        }
    }
}

/// What happens to the exchange a [`Trigger`] picked, each at an exact point of it. (Not
/// [`fault::Fault`](crate::fault::Fault): what the fake server does with every connection.)
///
/// "Closing" the client's connection sends a FIN and then reads (and throws away) what the
/// client still sends until it closes too, so the client sees a clean end of stream and no
/// reset; the connection to etcd is closed with it. HTTP/2 faults act on the matching stream's
/// frames and keep the other streams' frames flowing until the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Connection refused: from the moment it is armed until it is disarmed the proxy does not
    /// listen (the port is bound again when disarmed). Connections already open are left alone,
    /// so arm it before the client connects. The trigger's pattern and count are not used.
    Refuse,
    /// Accept and read, never answer, never close: from the matching request on, nothing more is
    /// forwarded on that connection in either direction (the request itself neither), the
    /// connection to etcd is closed and the client's stays open, read and ignored, until the
    /// proxy is dropped.
    BlackHole,
    /// Once the first `n` bytes of the matching request have reached the proxy, forward those `n`
    /// bytes only (a truncated request; 0: nothing), then close both connections at once,
    /// without reading further: a client that was still writing (a request bigger than the
    /// socket buffers) gets a reset on its write, one that had written everything sees the end
    /// of stream.
    CloseAfterRequestBytes(usize),
    /// Forward the whole request, wait until etcd's answer starts, drop it and close the client's
    /// connection (FIN).
    DropAnswerAndClose,
    /// Forward the whole request; when the answer starts, reset the client's connection (RST:
    /// `SO_LINGER` 0).
    ResetAfterForward,
    /// Forward the answer's head only (HTTP/1.1: status line and headers; HTTP/2: that stream's
    /// response HEADERS), then close.
    CutAfterHead,
    /// Forward the head and part of the body (HTTP/1.1: half of a `Content-Length` body, or the
    /// first chunk's size line and half of its data; HTTP/2: the stream's first DATA frame cut to
    /// half its payload), then close.
    CutMidBody,
    /// Hold the answer for this long from its first byte, then forward it. HTTP/2: the whole
    /// server-to-client direction waits from that frame on (header blocks must stay in order).
    DelayAnswer(Duration),
    /// Forward the answer's head at once, hold its body for this long, then forward it (a v2
    /// watch whose event is late: its head, sent at once, is not a proof that nothing happened).
    DelayBody(Duration),
    /// HTTP/2 only: do not forward the matching stream to etcd; send the client a GOAWAY
    /// (`NO_ERROR`) whose last stream id is the last stream forwarded (below the matching one),
    /// then close both connections.
    GoAway,
    /// HTTP/2 only: do not forward the matching stream to etcd; send the client
    /// RST_STREAM(REFUSED_STREAM) for it, then close both connections (the stream's dropped
    /// header block would leave etcd's HPACK state behind the client's; a new connection works).
    RefusedStream,
}

impl Fault {
    /// Whether the fault acts on the answer (the request is forwarded whole first).
    pub(crate) fn on_answer(self) -> bool {
        matches!(
            self,
            Fault::DropAnswerAndClose
                | Fault::ResetAfterForward
                | Fault::CutAfterHead
                | Fault::CutMidBody
                | Fault::DelayAnswer(_)
                | Fault::DelayBody(_)
        )
    }

    /// Whether the fault only exists in HTTP/2.
    pub(crate) fn http2_only(self) -> bool {
        matches!(self, Fault::GoAway | Fault::RefusedStream)
    }
}

/// One armed trigger and fault, with its counters.
#[derive(Debug)]
pub(crate) struct Rule {
    pub(crate) trigger: Trigger,
    pub(crate) fault: Fault,
    left: Mutex<Option<usize>>,
    fired: AtomicUsize,
    forwarded: AtomicUsize,
    disarmed: AtomicBool,
    changed: Condvar,
    changed_lock: Mutex<()>,
}

impl Rule {
    pub(crate) fn new(trigger: Trigger, fault: Fault) -> Rule {
        Rule {
            left: Mutex::new(trigger.times),
            trigger,
            fault,
            fired: AtomicUsize::new(0),
            forwarded: AtomicUsize::new(0),
            disarmed: AtomicBool::new(false),
            changed: Condvar::new(),
            changed_lock: Mutex::new(()),
        }
    }

    /// Takes one firing if any is left.
    fn take(&self) -> bool {
        if self.disarmed.load(Ordering::SeqCst) {
            return false;
        }
        let mut left = lock(&self.left);
        match &mut *left {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }

    fn exhausted(&self) -> bool {
        self.disarmed.load(Ordering::SeqCst) || *lock(&self.left) == Some(0)
    }

    pub(crate) fn fired(&self) -> usize {
        self.fired.load(Ordering::SeqCst)
    }

    pub(crate) fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }

    pub(crate) fn disarm(&self) {
        self.disarmed.store(true, Ordering::SeqCst);
    }

    fn notify(&self) {
        let _guard = lock(&self.changed_lock);
        self.changed.notify_all();
    }

    /// Waits until the rule fired `n` times, at most `timeout`.
    pub(crate) fn wait_fired(&self, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut guard = lock(&self.changed_lock);
        loop {
            if self.fired() >= n {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = match self.changed.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

/// One fault chosen for one exchange.
#[derive(Debug, Clone)]
pub(crate) struct Firing {
    pub(crate) fault: Fault,
    rule: Arc<Rule>,
    reached: Arc<AtomicBool>,
}

impl Firing {
    /// Records that the exchange's whole request was forwarded to etcd.
    pub(crate) fn reached_server(&self) {
        if !self.reached.swap(true, Ordering::SeqCst) {
            self.rule.forwarded.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// The rules of one proxy, in the order armed.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    rules: Mutex<Vec<Arc<Rule>>>,
    last: Mutex<Option<Arc<AtomicBool>>>,
    fired: AtomicUsize,
}

/// What the rules say about a request seen so far.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// A rule fired.
    Fire(Firing),
    /// No rule can fire on this request whatever comes next.
    Pass,
    /// A rule could still match once more of the request is seen.
    Undecided,
}

impl Rules {
    pub(crate) fn add(&self, rule: Arc<Rule>) {
        lock(&self.rules).push(rule);
    }

    pub(crate) fn disarm_all(&self) {
        for r in lock(&self.rules).drain(..) {
            r.disarm();
        }
    }

    /// Firings so far, every rule together.
    pub(crate) fn fired(&self) -> usize {
        self.fired.load(Ordering::SeqCst)
    }

    /// Whether the request of the latest firing was forwarded whole.
    pub(crate) fn last_reached(&self) -> bool {
        lock(&self.last)
            .as_ref()
            .is_some_and(|r| r.load(Ordering::SeqCst))
    }

    /// Judges the request seen so far (`bytes`); `complete` when no more of it will come.
    /// Exchange faults only: [`Fault::Refuse`] acts on the listener.
    pub(crate) fn judge(&self, bytes: &[u8], complete: bool) -> Verdict {
        let rules = lock(&self.rules);
        let mut open = false;
        for rule in rules.iter() {
            if rule.fault == Fault::Refuse || rule.exhausted() {
                continue;
            }
            if rule.trigger.matches(bytes) {
                if rule.take() {
                    return Verdict::Fire(self.fire(rule));
                }
            } else {
                open = true;
            }
        }
        if open && !complete {
            Verdict::Undecided
        } else {
            Verdict::Pass
        }
    }

    /// Counts a firing of a rule that acts on no exchange ([`Fault::Refuse`]).
    pub(crate) fn fire_unjudged(&self, rule: &Arc<Rule>) {
        rule.take();
        drop(self.fire(rule));
    }

    fn fire(&self, rule: &Arc<Rule>) -> Firing {
        let reached = Arc::new(AtomicBool::new(false));
        *lock(&self.last) = Some(Arc::clone(&reached));
        rule.fired.fetch_add(1, Ordering::SeqCst);
        self.fired.fetch_add(1, Ordering::SeqCst);
        rule.notify();
        Firing {
            fault: rule.fault,
            rule: Arc::clone(rule),
            reached,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(trigger: Trigger, fault: Fault) -> (Rules, Arc<Rule>) {
        let rules = Rules::default();
        let rule = Arc::new(Rule::new(trigger, fault));
        rules.add(Arc::clone(&rule));
        (rules, rule)
    }

    #[test]
    fn a_trigger_fires_its_count_then_lets_requests_pass() {
        let (rules, rule) = rules(
            Trigger::containing("/k").times(2),
            Fault::DropAnswerAndClose,
        );
        assert!(matches!(rules.judge(b"GET /x", false), Verdict::Undecided));
        assert!(matches!(rules.judge(b"GET /x", true), Verdict::Pass));
        assert!(matches!(rules.judge(b"GET /k", false), Verdict::Fire(_)));
        assert!(matches!(rules.judge(b"GET /k", false), Verdict::Fire(_)));
        assert!(matches!(rules.judge(b"GET /k", false), Verdict::Pass));
        assert_eq!((rule.fired(), rules.fired()), (2, 2));
    }

    #[test]
    fn always_fires_until_disarmed_and_refuse_never_judges_requests() {
        let (rules, rule) = rules(Trigger::any().always(), Fault::CutAfterHead);
        rules.add(Arc::new(Rule::new(Trigger::any(), Fault::Refuse)));
        for _ in 0..5 {
            assert!(matches!(rules.judge(b"", false), Verdict::Fire(_)));
        }
        rule.disarm();
        assert!(matches!(rules.judge(b"", false), Verdict::Pass));
    }

    #[test]
    fn the_latest_firing_reports_whether_its_request_reached_the_server() {
        let (rules, rule) = rules(Trigger::any().always(), Fault::CutMidBody);
        let Verdict::Fire(first) = rules.judge(b"a", true) else {
            panic!("fires")
        };
        first.reached_server();
        assert!(rules.last_reached());
        let Verdict::Fire(_second) = rules.judge(b"b", true) else {
            panic!("fires")
        };
        assert!(!rules.last_reached());
        assert_eq!(rule.forwarded(), 1);
        assert!(rule.wait_fired(2, Duration::ZERO));
        assert!(!rule.wait_fired(3, Duration::from_millis(10)));
    }
}
