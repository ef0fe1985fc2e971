//! The online v2 → v3 migration: copies a live v2 keyspace (read over the v2 HTTP API) into the
//! v3 keyspace in the key layout of [`over_v3`](crate::v2::over_v3) (the layout of etcd's own
//! `--experimental-enable-v2v3` emulation), so that the v2-over-v3 engine — and etcd's emulation
//! on 3.4 / 3.5 — then serves it, and follows the v2 keyspace until cut-over.
//!
//! - **What is copied**: files with their values, directories (empty ones too), hidden nodes
//!   (`_` names: the v2 API never lists them, so they are read by name — the names given with
//!   [`Migration::hidden`], those already in the v3 copy, and those in the v2 event history),
//!   TTLs as leases granted for the time the source has left (so they expire when the source's
//!   do, within about a second). Indexes are not: v3 counts its own revisions.
//! - **Idempotent and resumable**: every run reads the source (one recursive read) and the v3
//!   copy, and writes only the differences, level by level (parents before children, deletes
//!   deepest first), in transactions of up to [`Migration::batch_size`] nodes, each applied only
//!   if none of its keys changed since they were read (a compare per key). A run killed at any
//!   point leaves whole transactions only; running it again writes what is left, nothing twice.
//!   A checkpoint key outside the prefix ([`checkpoint_key`]) records the run's state and marks
//!   the prefix as the migration's, so a second run resumes instead of refusing a non-empty
//!   prefix.
//! - **Catch-up** ([`Migration::follow`]): after the copy, a v2 watch from the snapshot's index
//!   applies every change (sets, deletes, expiries, directory removals) until the stop condition;
//!   when the watch falls out of etcd's 1,000-event window it re-snapshots. At cut-over a last
//!   snapshot is synced, then verified.
//! - **Verify** (at the end of a run unless [`Migration::verify`]`(false)`, or alone with
//!   [`Migration::verify_now`]): both sides read again and compared node by node — kind, value,
//!   TTL within [`Migration::ttl_tolerance`] — into a [`Report`].
//! - **Not carried over**: the v2 auth API's users and roles (etcd keeps v3 auth apart: a run
//!   warns when v2 auth is on), v2 members and statistics (the v3 cluster API has its own),
//!   indexes (`createdIndex`/`modifiedIndex` become the copy's revisions).
//!
//! ```no_run
//! # async fn demo() -> Result<(), rsetcd::migrate::Error> {
//! use std::time::Duration;
//! use rsetcd::migrate::{Follow, Migration};
//!
//! let v2 = rsetcd::v2::Client::builder().endpoints(["http://127.0.0.1:2379"]).build()?;
//! let v3 = rsetcd::v3::Client::builder().endpoints(["http://127.0.0.1:2379"]).build()?;
//! let summary = Migration::new(v2, v3)
//!     .prefix("/v2c")
//!     .follow(Follow::new().for_duration(Duration::from_secs(60)))
//!     .on_progress(|p| eprintln!("{p}"))
//!     .run()
//!     .await?;
//! assert!(summary.verified.as_ref().is_some_and(|r| r.is_equal()));
//! # Ok(()) }
//! ```
//!
//! [`check`] tells whether a v2 keyspace holds data, and what, before an upgrade to etcd 3.6.
//! `docs/migrate.md` describes the CLI (`rsetcd migrate`), the guarantees and the limits.

mod apply;
mod check;
mod checkpoint;
mod error;
mod follow;
mod plan;
mod run;
mod source;
mod target;
mod verify;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

pub use check::{check, Inventory};
pub use checkpoint::{checkpoint_key, Checkpoint};
pub use error::Error;
pub use verify::{Difference, Report};

/// The prefix the migration writes under unless told otherwise: the one the v2-over-v3 backend
/// uses by default (give etcd's emulation the same: `--experimental-enable-v2v3=/v2c`).
pub const DEFAULT_PREFIX: &str = "/v2c";

/// What a progress callback is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// What the migration is doing.
    pub phase: Phase,
    /// Units done in this phase (nodes, or events while following).
    pub done: u64,
    /// Units in this phase (0 when unknown).
    pub total: u64,
    /// The source's index the phase works at.
    pub index: u64,
}

/// The phases of a migration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Reading the source (a recursive read, and hidden nodes by name).
    Snapshot,
    /// Reading the v3 copy under the prefix.
    Scan,
    /// Removing from the copy what the source no longer has.
    Delete,
    /// Writing nodes.
    Copy,
    /// Following the source's changes (`done` counts the events applied).
    Follow,
    /// The watch fell out of etcd's event window: syncing a fresh snapshot.
    Resnapshot,
    /// Comparing both sides.
    Verify,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.phase {
            Phase::Snapshot => "reading the v2 keyspace",
            Phase::Scan => "reading the v3 copy",
            Phase::Delete => "deleting",
            Phase::Copy => "copying",
            Phase::Follow => "following: events applied",
            Phase::Resnapshot => "the watch fell out of etcd's event window: re-snapshotting",
            Phase::Verify => "verifying",
        };
        f.write_str(what)?;
        if self.total > 0 {
            write!(f, " {}/{}", self.done, self.total)?;
        } else if self.done > 0 || self.phase == Phase::Follow {
            write!(f, " {}", self.done)?;
        }
        if self.index > 0 {
            write!(f, " (v2 index {})", self.index)?;
        }
        Ok(())
    }
}

type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;
type StopFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// When catch-up ends (cut-over): the first of the conditions given. Without any, a follow
/// never ends by itself; give at least one.
#[derive(Default)]
pub struct Follow {
    pub(crate) until: Option<StopFuture>,
    pub(crate) duration: Option<Duration>,
    pub(crate) until_index: Option<u64>,
}

impl fmt::Debug for Follow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follow")
            .field("until", &self.until.as_ref().map(|_| "<future>"))
            .field("duration", &self.duration)
            .field("until_index", &self.until_index)
            .finish()
    }
}

impl Follow {
    /// No condition yet.
    pub fn new() -> Follow {
        Follow::default()
    }

    /// Cut over when `signal` completes (a Ctrl-C, a channel).
    pub fn until(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Follow {
        self.until = Some(Box::pin(signal));
        self
    }

    /// Cut over after following for `duration`.
    pub fn for_duration(mut self, duration: Duration) -> Follow {
        self.duration = Some(duration);
        self
    }

    /// Cut over once the source's index has reached `index` (seen in an event, or in the
    /// source's `X-Etcd-Index`, read once a second while no event comes).
    pub fn until_index(mut self, index: u64) -> Follow {
        self.until_index = Some(index);
        self
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct Summary {
    /// The prefix written under.
    pub prefix: String,
    /// Whether nothing was written (`dry_run`): the counts say what would have been.
    pub dry_run: bool,
    /// Whether an earlier run's checkpoint was found (this run resumed it).
    pub resumed: bool,
    /// The source's index of the first snapshot.
    pub snapshot_index: u64,
    /// The source's index of the last sync (the cut-over snapshot when following).
    pub final_index: u64,
    /// Nodes in the source (files and directories, hidden ones read included; the root not).
    pub source_nodes: u64,
    /// Nodes written (created or changed) in the copy.
    pub written: u64,
    /// Nodes deleted from the copy.
    pub deleted: u64,
    /// Nodes already equal in the copy (not written again).
    pub unchanged: u64,
    /// Leases granted (one per node with a TTL of its own).
    pub leases: u64,
    /// Nodes not written because their TTL ran out before they could be.
    pub expired: u64,
    /// Source changes applied while following.
    pub events: u64,
    /// Times the watch fell out of etcd's event window and a fresh snapshot was synced.
    pub resnapshots: u64,
    /// Source paths that cannot be copied (too deep for the layout), with why.
    pub unsupported: Vec<(String, String)>,
    /// Things to know: v2 auth enabled, keys under the prefix outside the layout, …
    pub warnings: Vec<String>,
    /// How the copy differed from the source before this run wrote (for a dry run: what it
    /// would write and delete).
    pub changes: Vec<Difference>,
    /// The verify pass, unless turned off (or a dry run).
    pub verified: Option<Report>,
}

/// An online migration of a v2 keyspace into the v3 keyspace: configure, then [`run`](Self::run).
#[derive(Clone)]
pub struct Migration {
    pub(crate) source: crate::v2::Client,
    pub(crate) target: crate::v3::Client,
    pub(crate) prefix: String,
    pub(crate) dry_run: bool,
    pub(crate) overwrite: bool,
    pub(crate) verify: bool,
    pub(crate) hidden: Vec<String>,
    pub(crate) history: bool,
    pub(crate) batch_size: usize,
    pub(crate) concurrency: usize,
    pub(crate) ttl_tolerance: Duration,
    pub(crate) checkpoint_key: Option<Vec<u8>>,
    pub(crate) progress: Option<ProgressFn>,
    pub(crate) follow: Option<Arc<std::sync::Mutex<Option<Follow>>>>,
}

impl fmt::Debug for Migration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Migration")
            .field("prefix", &self.prefix)
            .field("dry_run", &self.dry_run)
            .field("overwrite", &self.overwrite)
            .field("verify", &self.verify)
            .field("hidden", &self.hidden)
            .field("batch_size", &self.batch_size)
            .field("concurrency", &self.concurrency)
            .field("ttl_tolerance", &self.ttl_tolerance)
            .finish_non_exhaustive()
    }
}

/// The largest batch: two operations more than nodes (the action key, the checkpoint) must stay
/// within etcd's default `--max-txn-ops` of 128.
pub const MAX_BATCH: usize = 120;

impl Migration {
    /// A migration from the v2 API of `source` into the v3 API of `target` (often the same
    /// cluster), under [`DEFAULT_PREFIX`].
    pub fn new(source: crate::v2::Client, target: crate::v3::Client) -> Migration {
        Migration {
            source,
            target,
            prefix: DEFAULT_PREFIX.to_string(),
            dry_run: false,
            overwrite: false,
            verify: true,
            hidden: Vec::new(),
            history: true,
            batch_size: 100,
            concurrency: 8,
            ttl_tolerance: Duration::from_secs(2),
            checkpoint_key: None,
            progress: None,
            follow: None,
        }
    }

    /// The v3 prefix (the engine's, and the one given to etcd's `--experimental-enable-v2v3`).
    pub fn prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// Read both sides and say what would be written, writing nothing (no checkpoint, no
    /// lease); a follow is not started.
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Accept a prefix that already holds nodes not written by a migration from this source:
    /// they are replaced by the source's, and those the source does not have are deleted.
    /// Without it such a prefix is refused ([`Error::TargetNotEmpty`]).
    pub fn overwrite(mut self, on: bool) -> Self {
        self.overwrite = on;
        self
    }

    /// Run the verify pass at the end (the default).
    pub fn verify(mut self, on: bool) -> Self {
        self.verify = on;
        self
    }

    /// Hidden nodes (names starting with `_`, which v2 never lists) to copy by name, with their
    /// subtrees: `/_config`, `/app/_lock`.
    pub fn hidden<I, S>(mut self, paths: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.hidden.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Look for hidden nodes in the source's event history (its last 1,000 events, where v2
    /// shows them; on by default).
    pub fn scan_history(mut self, on: bool) -> Self {
        self.history = on;
        self
    }

    /// Nodes per transaction (1 to [`MAX_BATCH`]; default 100). Values add up to at most
    /// 1 MiB per transaction (a larger one goes alone), within etcd's default request limit.
    pub fn batch_size(mut self, nodes: usize) -> Self {
        self.batch_size = nodes.clamp(1, MAX_BATCH);
        self
    }

    /// Transactions in flight at once within one level of the tree (default 8).
    pub fn concurrency(mut self, transactions: usize) -> Self {
        self.concurrency = transactions.max(1);
        self
    }

    /// How far a copied TTL may be from the source's and still count as equal (default 2 s:
    /// v2 shows whole seconds, and etcd expires leases on a 500 ms tick).
    pub fn ttl_tolerance(mut self, tolerance: Duration) -> Self {
        self.ttl_tolerance = tolerance;
        self
    }

    /// Where the checkpoint lives (default [`checkpoint_key`] of the prefix).
    pub fn checkpoint_key(mut self, key: impl AsRef<[u8]>) -> Self {
        self.checkpoint_key = Some(key.as_ref().to_vec());
        self
    }

    /// Called at each step of each phase (from the task running the migration: keep it quick).
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// After the copy, follow the source's changes until `follow`'s condition, then sync a
    /// last snapshot (the cut-over). Clones of this `Migration` share the condition: the first
    /// run to follow takes it (a later run copies without following).
    pub fn follow(mut self, follow: Follow) -> Self {
        self.follow = Some(Arc::new(std::sync::Mutex::new(Some(follow))));
        self
    }

    /// Copies (and follows, when asked), then verifies: see the module documentation. The
    /// summary's `verified` report says whether both sides are equal.
    pub async fn run(self) -> Result<Summary, Error> {
        run::run(self).await
    }

    /// Reads both sides and compares them, writing nothing.
    pub async fn verify_now(&self) -> Result<Report, Error> {
        verify::verify(self).await
    }

    pub(crate) fn layout(&self) -> crate::v2::over_v3::Layout {
        crate::v2::over_v3::Layout::new(&self.prefix)
    }

    pub(crate) fn checkpoint(&self) -> Vec<u8> {
        self.checkpoint_key
            .clone()
            .unwrap_or_else(|| checkpoint_key(&self.prefix))
    }

    pub(crate) fn report(&self, phase: Phase, done: u64, total: u64, index: u64) {
        if let Some(f) = &self.progress {
            f(&Progress {
                phase,
                done,
                total,
                index,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_a_line() {
        let p = |phase, done, total, index| {
            Progress {
                phase,
                done,
                total,
                index,
            }
            .to_string()
        };
        assert_eq!(p(Phase::Scan, 0, 0, 0), "reading the v3 copy");
        assert_eq!(p(Phase::Copy, 40, 100, 7), "copying 40/100 (v2 index 7)");
        assert_eq!(
            p(Phase::Follow, 0, 0, 9),
            "following: events applied 0 (v2 index 9)"
        );
    }
}
