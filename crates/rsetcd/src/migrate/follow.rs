//! Catch-up: a v2 watch of the whole keyspace from the snapshot's index; each change re-syncs
//! the subtree it touched (a file's new value straight from the event; anything with a TTL, a
//! directory or an unknown action read again from the source; a delete or expiry removes the
//! subtree). When the watch falls out of etcd's 1,000-event window, a fresh snapshot is synced.
//!
//! v2 sends no watch event for a TTL refresh, so each node on a lease of its own is read again
//! shortly before its lease ends in the copy (and once after, in case the refresh came later):
//! a refreshed node gets a new lease.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::plan;
use super::run::{Run, ATTEMPTS};
use super::source::{self, hidden_roots, SrcNode};
use super::target;
use super::{Error, Follow, Phase};
use crate::v2::over_v3::V2Path;
use crate::v2::{Action, Response, WatchEvent};
use crate::EtcdCode;

/// How long before a lease ends in the copy its node is read again in the source.
const BEFORE_END: Duration = Duration::from_millis(1500);
/// A key nobody writes: reading it gives the source's index cheaply (error 100 carries it).
const INDEX_PROBE: &str = "/_rsetcd_migrate_index_probe";

/// What the source says a path holds.
enum Truth {
    /// Nothing (deleted, expired).
    Absent,
    /// A file without a TTL, as an event showed it.
    File(String),
    /// Read it again.
    Read,
}

fn far() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

impl Run<'_> {
    /// Follows the source from `from` (the index of the snapshot synced) until `follow` says
    /// to stop.
    pub(crate) async fn follow(&mut self, from: u64, follow: Follow) -> Result<(), Error> {
        let Follow {
            mut until,
            duration,
            until_index,
        } = follow;
        let ends = duration.map(|d| Instant::now() + d);
        let mut stream = self
            .m
            .source
            .watch("/")
            .recursive()
            .after_index(from)
            .stream();
        let mut index = from;
        let mut events = 0u64;
        self.m.report(Phase::Follow, 0, 0, from);
        loop {
            if until_index.is_some_and(|n| index >= n) {
                return Ok(());
            }
            let next_check = self
                .tracked
                .values()
                .map(|t| {
                    if t.after {
                        t.deadline + self.m.ttl_tolerance
                    } else {
                        t.deadline.checked_sub(BEFORE_END).unwrap_or(t.deadline)
                    }
                })
                .min()
                .unwrap_or_else(far);
            let poll_index = if until_index.is_some() {
                Instant::now() + Duration::from_secs(1)
            } else {
                far()
            };
            let stop = async {
                match until.as_mut() {
                    Some(f) => f.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = stop => return Ok(()),
                () = tokio::time::sleep_until(ends.unwrap_or_else(far).into()) => return Ok(()),
                () = tokio::time::sleep_until(next_check.into()) => self.check_ttls().await?,
                () = tokio::time::sleep_until(poll_index.into()) => {
                    index = index.max(self.source_index().await?);
                }
                item = stream.next() => match item {
                    None => {
                        return Err(Error::Etcd(crate::Error::InvalidArgument(
                            "the v2 watch ended".into(),
                        )))
                    }
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(WatchEvent::Event(r))) => {
                        index = index.max(r.node.modified_index);
                        self.apply_event(&r).await?;
                        events += 1;
                        self.summary.events = events;
                        self.m.report(Phase::Follow, events, 0, index);
                    }
                    Some(Ok(WatchEvent::Resynced { index: at, .. })) => {
                        self.m.report(Phase::Resnapshot, 0, 0, at);
                        self.summary.resnapshots += 1;
                        let (synced, _) = self.sync_all(None, Phase::Resnapshot).await?;
                        index = index.max(synced).max(at);
                    }
                }
            }
        }
    }

    /// The source's current index.
    async fn source_index(&self) -> Result<u64, Error> {
        match self.m.source.read(INDEX_PROBE).await {
            Ok(r) => Ok(r.etcd_index),
            Err(crate::Error::Etcd { index, .. }) => Ok(index),
            Err(e) => Err(e.into()),
        }
    }

    async fn apply_event(&mut self, r: &Response) -> Result<(), Error> {
        let path = match V2Path::parse(&r.node.key) {
            Ok(p) if !p.is_root() => p,
            Ok(_) => V2Path::root(),
            Err(e) => {
                self.summary
                    .unsupported
                    .push((r.node.key.clone(), e.to_string()));
                return Ok(());
            }
        };
        if path.is_hidden_below(&V2Path::root()) {
            // Seen in the history (live watches skip hidden nodes): known from now on.
            self.hidden.extend(hidden_roots(&path));
        }
        let truth = match r.action {
            Action::Delete | Action::Expire | Action::CompareAndDelete => Truth::Absent,
            Action::Set | Action::Create | Action::Update | Action::CompareAndSwap
                if !r.node.dir && r.node.ttl.is_none() && r.node.expiration.is_none() =>
            {
                Truth::File(r.node.value.clone().unwrap_or_default())
            }
            _ => Truth::Read,
        };
        self.sync_path(path, truth, None).await
    }

    /// Reads again (in the source) every tracked node whose check is due.
    async fn check_ttls(&mut self) -> Result<(), Error> {
        let now = Instant::now();
        let tol = self.m.ttl_tolerance;
        let due: Vec<(V2Path, bool)> = self
            .tracked
            .iter()
            .filter(|(_, t)| {
                let at = if t.after {
                    t.deadline + tol
                } else {
                    t.deadline.checked_sub(BEFORE_END).unwrap_or(t.deadline)
                };
                at <= now
            })
            .map(|(p, t)| (p.clone(), t.after))
            .collect();
        for (path, after) in due {
            self.sync_path(path, Truth::Read, Some(after)).await?;
        }
        Ok(())
    }

    /// Makes the copy's subtree at `path` equal to what the source has there.
    async fn sync_path(
        &mut self,
        mut path: V2Path,
        mut truth: Truth,
        checked: Option<bool>,
    ) -> Result<(), Error> {
        let layout = self.m.layout();
        for _ in 0..ATTEMPTS {
            let tgt = target::scan_subtree(&self.m.target, &layout, &path).await?;
            if let Some(top) = &tgt.broken_ancestor {
                // A parent the copy lacks (created with this node): sync from there.
                path = top.clone();
                truth = Truth::Read;
                continue;
            }
            let src = match &truth {
                Truth::Absent => Default::default(),
                Truth::File(value) => [(
                    path.clone(),
                    SrcNode {
                        dir: false,
                        value: value.clone(),
                        deadline: None,
                    },
                )]
                .into_iter()
                .collect(),
                Truth::Read => {
                    let mut hidden: BTreeSet<V2Path> = self
                        .hidden
                        .iter()
                        .filter(|h| path.contains(h))
                        .cloned()
                        .collect();
                    for (p, _) in tgt.nodes.keys() {
                        hidden.extend(hidden_roots(p).into_iter().filter(|h| path.contains(h)));
                    }
                    match source::read(&self.m.source, &path, &hidden).await {
                        Ok(s) => s.nodes,
                        Err(Error::Etcd(e)) if e.code() == Some(EtcdCode::NotDir) => {
                            Default::default()
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            let plan = plan::plan(&layout, &src, &tgt, self.m.ttl_tolerance, Instant::now());
            let owned = plan.owned.clone();
            let applied = self.applier.apply(plan, 0, Phase::Follow).await?;
            if !applied.conflict {
                self.track(&path, owned.into_iter().chain(applied.owned), checked);
                return Ok(());
            }
        }
        Err(Error::Contention {
            prefix: self.m.prefix.clone(),
            attempts: ATTEMPTS,
        })
    }
}
