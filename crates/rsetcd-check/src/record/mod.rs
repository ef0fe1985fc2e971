//! The recorder: rsetcd's v2 and v3 clients wrapped so that every operation is logged with its
//! invocation and completion times, arguments and result ([`v2::V2Client`], [`v3::V3Client`]),
//! and every watch item with the watch it belongs to and where it (re)started
//! ([`v2::record_watch`], [`v3::record_watch`]).
//!
//! How an answer is kept:
//! - an answer (including etcd's "key not found", "compare failed", "node exists") is the
//!   operation's output;
//! - a write that failed with [`rsetcd::Error::OutcomeUnknown`] — or with an error that by its
//!   documentation may follow a sent request (`Timeout`, `Transport`, an invalid or empty
//!   answer) — is kept with an unknown outcome: it may have happened;
//! - any other failure (never sent, `NoMoreHosts`, refused by etcd) says the write was not
//!   applied, and a failed read observed nothing: such operations are counted, not kept. A client
//!   that re-sent a write behind such an error is caught by what others observed.

pub mod v2;
pub mod v3;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use crate::history::{Interner, Op, Sym, Time};
use crate::model;
use crate::watch;

/// How long a watcher goes on after it was told to stop, waiting for the final write.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(45);

/// Everything recorded.
#[derive(Debug, Default)]
pub struct Log {
    /// Key and value names.
    pub names: Interner,
    /// v2 operations.
    pub v2: Vec<Op<model::v2::Request, model::v2::Response>>,
    /// v3 operations.
    pub v3: Vec<Op<model::v3::Request, model::v3::Response>>,
    /// v2 watch streams.
    pub v2_watches: Vec<watch::v2::Segment>,
    /// v3 watches.
    pub v3_watches: Vec<watch::v3::Segment>,
    /// Operations that failed without effect (not kept).
    pub failed: u64,
}

/// A shared recorder; clone it into every client and watcher.
#[derive(Debug, Clone)]
pub struct Recorder {
    start: Instant,
    log: Arc<Mutex<Log>>,
    longest: Arc<AtomicU64>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Recorder {
        Recorder {
            start: Instant::now(),
            log: Arc::new(Mutex::new(Log::default())),
            longest: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Nanoseconds since the recorder started.
    pub fn now(&self) -> Time {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The log, locked.
    pub fn log(&self) -> MutexGuard<'_, Log> {
        match self.log.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// Interns a name.
    pub fn intern(&self, s: &str) -> Sym {
        self.log().names.intern(s)
    }

    /// Notes how long an operation took (the longest is a figure of the run).
    pub(crate) fn took(&self, call: Time, ret: Time) {
        self.longest
            .fetch_max(ret.saturating_sub(call), Ordering::Relaxed);
    }

    /// The longest time any operation took, in nanoseconds.
    pub fn longest(&self) -> u64 {
        self.longest.load(Ordering::Relaxed)
    }

    /// Takes the log out (the recorder keeps an empty one).
    pub fn take(&self) -> Log {
        std::mem::take(&mut *self.log())
    }
}

/// How a failed operation is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It may have been applied: keep it with an unknown outcome.
    Unknown,
    /// It had no effect: count it, do not keep it.
    NoEffect,
}

/// The reading of a failed write (see the module documentation).
pub fn classify_write(err: &rsetcd::Error) -> Failure {
    use rsetcd::Error as E;
    match err {
        E::OutcomeUnknown { .. }
        | E::Timeout { .. }
        | E::Transport { .. }
        | E::InvalidResponse { .. }
        | E::EmptyResponse { .. } => Failure::Unknown,
        _ => Failure::NoEffect,
    }
}
