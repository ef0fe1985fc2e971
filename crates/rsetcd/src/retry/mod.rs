//! The retry layer: the one place that decides whether a request may be sent again, and where.
//!
//! Every v2 request, every v3 unary call and every v3 stream opening (watch, lease keep-alive,
//! election observe, snapshot) goes through [`Call::run`]: the endpoints are tried in turn,
//! starting with the one that answered last; each attempt is bounded by the per-attempt timeout
//! cut to what is left of the call's total timeout ([`Deadline`]); each failure is sorted by
//! what it proves about the request ([`Fate`], see [`classify`]), and the rules below ([`verdict`])
//! say what happens next. When every endpoint failed, [`Error::NoMoreHosts`] lists each with its
//! own failure.
//!
//! The rules, in full:
//! - A request that **never reached** a server (connection refused or timed out, TLS handshake
//!   refused, an HTTP/2 stream the server refused or left unprocessed by its GOAWAY, a request
//!   not handed to the connection) goes to the next endpoint: always safe.
//! - A request the server **declined** before acting on it (v3: no leader, a learner, not
//!   capable) goes to the next endpoint too.
//! - A request that **left without an answer** (the connection broke after its bytes left, the
//!   attempt timed out after it was sent, the answer was cut), or that etcd answered with "I do not
//!   know" (v3 "request timed out", v2 error 300): a read goes to the next endpoint; a write
//!   returns [`Error::OutcomeUnknown`] unless the call opted in to re-sending
//!   ([`Retry::WriteRetryUnknown`]).
//! - A server failure answer (v2: an HTTP 5xx) sends a read to the next endpoint; for anything
//!   else it is the answer.
//! - Any other answer is final.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::endpoints::{Endpoint, EndpointSet};
use crate::error::{Error, Result};

pub(crate) mod classify;
mod deadline;
pub(crate) mod outage;

pub(crate) use deadline::Deadline;

/// What a request may do once it may have reached a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A read, or a write that is safe to apply twice: sent again anywhere.
    Read,
    /// A read whose every answer is final (health probes): only failures without an answer move
    /// on.
    #[cfg_attr(not(feature = "v2"), allow(dead_code))]
    Probe,
    /// A write: never sent again once it may have reached a server.
    Write,
    /// A write whose caller opted in to sending it again when its outcome is unknown.
    WriteRetryUnknown,
}

impl Retry {
    /// [`Retry::Write`], or [`Retry::WriteRetryUnknown`] when the caller opted in.
    pub(crate) fn write(retry_unknown: bool) -> Retry {
        if retry_unknown {
            Retry::WriteRetryUnknown
        } else {
            Retry::Write
        }
    }
}

/// What a failure proves about the request: the one question the rules ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(all(feature = "v2", feature = "v3")), allow(dead_code))]
pub(crate) enum Fate {
    /// It never reached a server.
    NeverSent,
    /// It left, and no (complete) answer came back: the server may have acted on it.
    Sent,
    /// The server answered that it did not act on it, and another member may.
    Declined,
    /// The server answered that it does not know whether it acted on it.
    Undecided,
    /// The server answered with a failure of its own (v2: an HTTP 5xx).
    ServerFailure,
    /// The answer stands: another member would answer the same.
    Final,
}

/// What the rotation does after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Record the failure and try the next endpoint.
    Next,
    /// Stop: the write may or may not have been applied.
    Unknown,
    /// Stop with this failure.
    Stop,
}

/// The rules: what a request of kind `retry` does after a failure with `fate`.
pub(crate) fn verdict(retry: Retry, fate: Fate) -> Verdict {
    match (fate, retry) {
        (Fate::NeverSent | Fate::Declined, _) => Verdict::Next,
        (Fate::Sent, Retry::Read | Retry::Probe | Retry::WriteRetryUnknown) => Verdict::Next,
        (Fate::Undecided, Retry::Read | Retry::WriteRetryUnknown) => Verdict::Next,
        (Fate::Sent | Fate::Undecided, Retry::Write) => Verdict::Unknown,
        (Fate::Undecided, Retry::Probe) => Verdict::Stop,
        (Fate::ServerFailure, Retry::Read) => Verdict::Next,
        (Fate::ServerFailure, _) | (Fate::Final, _) => Verdict::Stop,
    }
}

/// A failed attempt: what it proves, and the error it reports.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) fate: Fate,
    pub(crate) error: Error,
}

impl Failure {
    pub(crate) fn new(fate: Fate, error: Error) -> Failure {
        Failure { fate, error }
    }

    /// A failure before anything was sent (connecting, or a configuration problem that holds
    /// for this endpoint only).
    pub(crate) fn never_sent(error: Error) -> Failure {
        Failure::new(Fate::NeverSent, error)
    }
}

/// How far the current attempt got, for the case where its timeout runs out: an attempt that
/// tracks it marks the moment its request is handed to the connection.
#[derive(Debug)]
pub(crate) struct Progress(AtomicU8);

#[cfg(any(feature = "v3", test))]
const UNTRACKED: u8 = 0;
const NOT_SENT: u8 = 1;
const SENT: u8 = 2;

impl Progress {
    /// For attempts that mark [`Progress::sent`]: until then, a timeout proves nothing left.
    pub(crate) fn tracked() -> Progress {
        Progress(AtomicU8::new(NOT_SENT))
    }

    /// For attempts that cannot tell (streams opened through tonic's stubs): a timeout counts as
    /// sent.
    #[cfg(any(feature = "v3", test))]
    pub(crate) fn untracked() -> Progress {
        Progress(AtomicU8::new(UNTRACKED))
    }

    /// The request has been handed to the connection.
    pub(crate) fn sent(&self) {
        if self.0.load(Ordering::Relaxed) == NOT_SENT {
            self.0.store(SENT, Ordering::Relaxed);
        }
    }

    /// Whether [`Progress::sent`] was marked in this attempt (for tests).
    #[cfg(test)]
    pub(crate) fn was_sent(&self) -> bool {
        self.0.load(Ordering::Relaxed) == SENT
    }

    fn restart(&self) {
        if self.0.load(Ordering::Relaxed) == SENT {
            self.0.store(NOT_SENT, Ordering::Relaxed);
        }
    }

    fn left(&self) -> bool {
        self.0.load(Ordering::Relaxed) != NOT_SENT
    }
}

/// One call: which endpoints, by which rule, within which deadline.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) endpoints: &'a EndpointSet,
    /// `false`: only the first endpoint is ever tried (`allow_reconnect(false)`).
    pub(crate) reconnect: bool,
    pub(crate) retry: Retry,
    pub(crate) deadline: Deadline,
    /// The current attempt's progress (reset before each).
    pub(crate) progress: Progress,
    /// No attempt has been made yet: the first counts from the deadline's start.
    fresh: AtomicBool,
    /// Where to start instead of the endpoint that answered last (an index into the list,
    /// taken modulo its length): a stream resuming after its endpoint failed starts after it.
    first: Option<u32>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(
        endpoints: &'a EndpointSet,
        reconnect: bool,
        retry: Retry,
        deadline: Deadline,
    ) -> Call<'a> {
        Call {
            endpoints,
            reconnect,
            retry,
            deadline,
            progress: Progress::tracked(),
            fresh: AtomicBool::new(true),
            first: None,
        }
    }

    /// Starts at endpoint `first` (modulo the list's length) instead of the pinned one.
    #[cfg(feature = "v3")]
    pub(crate) fn starting_at(mut self, first: Option<usize>) -> Self {
        // An index past u32::MAX is taken modulo the list's length anyway.
        self.first = first.map(|i| (i % u32::MAX as usize) as u32);
        self
    }

    /// For attempts that cannot tell when their request left (see [`Progress::untracked`]).
    #[cfg(any(feature = "v3", test))]
    pub(crate) fn untracked(mut self) -> Self {
        self.progress = Progress::untracked();
        self
    }

    /// Runs `attempt` on each endpoint in turn, the one that answered last first, by the rules.
    ///
    /// The attempt's future goes straight into the timeout, never bound to a name first: a bound
    /// future would be stored twice in this future's state, and moved on every call.
    pub(crate) async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut(Endpoint) -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let (list, start) = self.endpoints.snapshot();
        if list.is_empty() {
            return Err(Error::from_failures(Vec::new()));
        }
        let (tries, start) = if self.reconnect {
            (
                list.len(),
                self.first.map_or(start, |i| i as usize % list.len()),
            )
        } else {
            (1, 0)
        };
        let mut failures: Vec<(String, Error)> = Vec::new();
        for i in 0..tries {
            let idx = (start + i) % list.len();
            let endpoint = &list[idx];
            let fresh = self.fresh.swap(false, Ordering::Relaxed);
            let Some(bound) = self.deadline.next_attempt(fresh) else {
                break;
            };
            self.progress.restart();
            // One await point for bounded and unbounded attempts alike: a second one would give
            // the attempt's future a second place in this future, and a copy into it.
            let (end, limit) = bound.unwrap_or_else(unbounded);
            let outcome = tokio::time::timeout_at(end, attempt(endpoint.clone()))
                .await
                .unwrap_or_else(|_| Err(timed_out(endpoint, limit, &self.progress)));
            let failure = match outcome {
                Ok(answer) => {
                    self.endpoints.mark_good(&list, idx);
                    return Ok(answer);
                }
                Err(failure) => failure,
            };
            match verdict(self.retry, failure.fate) {
                Verdict::Next => {
                    tracing::debug!(%endpoint, error = %failure.error, "endpoint failed");
                    failures.push((endpoint.url().to_string(), failure.error));
                }
                Verdict::Unknown => return Err(failure.error.outcome_unknown()),
                Verdict::Stop => return Err(failure.error),
            }
        }
        if failures.is_empty() {
            return Err(self.deadline.expired(&list[start]));
        }
        Err(Error::from_failures(failures))
    }
}

/// The "bound" of an attempt without one: far beyond any wait (tokio has no timer that never
/// fires; this one is 30 years away).
fn unbounded() -> (tokio::time::Instant, std::time::Duration) {
    let never = std::time::Duration::from_secs(30 * 365 * 24 * 3600);
    (tokio::time::Instant::now() + never, never)
}

/// An attempt whose timeout ran out: before its request left, a connect timeout; after, the
/// request's outcome is open.
fn timed_out(endpoint: &Endpoint, limit: std::time::Duration, progress: &Progress) -> Failure {
    if progress.left() {
        Failure::new(
            Fate::Sent,
            Error::Timeout {
                endpoint: endpoint.url().into(),
                after: limit,
            },
        )
    } else {
        Failure::never_sent(Error::connect(
            endpoint.url(),
            format!("no connection within {limit:?}"),
        ))
    }
}

#[cfg(test)]
mod tests;
