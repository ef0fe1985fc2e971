//! A run: refuse or resume, sync a snapshot, follow until cut-over, sync the last snapshot,
//! verify.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::apply::Applier;
use super::checkpoint::Checkpoint;
use super::plan::{self, Plan};
use super::source::{self, hidden_roots, Source};
use super::target::{self, Target};
use super::verify::{self, hidden_set};
use super::{Error, Migration, Phase, Summary};
use crate::v2::over_v3::V2Path;

/// Attempts of one sync whose transactions found the copy changed under them.
pub(crate) const ATTEMPTS: u32 = 5;

/// A node with a lease of its own, watched for refreshes the v2 watch does not report.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tracked {
    /// When its lease in the copy ends.
    pub(crate) deadline: Instant,
    /// Whether it was checked before its end already (the next check is after it).
    pub(crate) after: bool,
}

/// The state of one run.
pub(crate) struct Run<'a> {
    pub(crate) m: &'a Migration,
    pub(crate) applier: Applier<'a>,
    /// Hidden nodes known by name (given, found in the copy or in the history).
    pub(crate) hidden: BTreeSet<V2Path>,
    pub(crate) tracked: BTreeMap<V2Path, Tracked>,
    pub(crate) summary: Summary,
}

pub(crate) async fn run(m: Migration) -> Result<Summary, Error> {
    let layout = m.layout();
    let mut summary = Summary {
        prefix: m.prefix.clone(),
        dry_run: m.dry_run,
        ..Summary::default()
    };
    if let Ok(true) = m.source.auth().status().await {
        summary.warnings.push(
            "v2 auth is enabled: v2 users and roles are not migrated (etcd keeps v3 auth apart): \
             create the users and roles again with the v3 commands (user add, role add, role \
             grant-permission), then auth enable"
                .to_string(),
        );
    }
    m.report(Phase::Scan, 0, 0, 0);
    let tgt = target::scan_all(&m.target, &layout).await?;
    let cp_key = m.checkpoint();
    let checkpoint = Checkpoint::read(&m.target, &cp_key).await?;
    let named: Vec<V2Path> = m
        .hidden
        .iter()
        .filter_map(|h| V2Path::parse(h).ok())
        .collect();
    let mut hidden = hidden_set(&named, &tgt);
    m.report(Phase::Snapshot, 0, 0, 0);
    let root = V2Path::root();
    let mut src = source::read(&m.source, &root, &BTreeSet::new()).await?;
    if m.history {
        for p in source::history_hidden(&m.source, src.index).await? {
            hidden.extend(hidden_roots(&p));
        }
    }
    source::add_hidden(&m.source, &mut src, &root, &hidden).await?;
    m.report(
        Phase::Snapshot,
        src.nodes.len() as u64,
        src.nodes.len() as u64,
        src.index,
    );

    let has_nodes = !tgt.nodes.is_empty() || tgt.act;
    match &checkpoint {
        None if has_nodes && !m.overwrite => {
            return Err(Error::TargetNotEmpty {
                prefix: m.prefix.clone(),
                keys: tgt.nodes.len() as u64 + u64::from(tgt.act),
            })
        }
        Some(cp) if cp.prefix != m.prefix => {
            return Err(Error::BadCheckpoint {
                key: String::from_utf8_lossy(&cp_key).into_owned(),
                reason: format!("it is the checkpoint of prefix {:?}", cp.prefix),
            })
        }
        Some(cp) if cp.source_cluster != src.cluster_id && !m.overwrite => {
            return Err(Error::OtherSource {
                prefix: m.prefix.clone(),
                found: cp.source_cluster.clone(),
                source_cluster: src.cluster_id.clone(),
            })
        }
        Some(_) => summary.resumed = true,
        None => {}
    }
    if tgt.foreign > 0 {
        summary.warnings.push(format!(
            "{} key(s) under {:?} are not v2 nodes of the layout: left as they are",
            tgt.foreign, m.prefix
        ));
    }
    summary.snapshot_index = src.index;
    summary.source_nodes = src.nodes.len() as u64;
    summary.unsupported = src.unsupported.clone();

    if m.dry_run {
        let plan = plan::plan(&layout, &src.nodes, &tgt, m.ttl_tolerance, Instant::now());
        summary.written = plan.writes();
        summary.deleted = plan.deletes();
        summary.unchanged = plan.unchanged;
        summary.final_index = src.index;
        summary.leases = plan
            .puts
            .values()
            .flatten()
            .filter(|p| matches!(p.lease, plan::PutLease::Own(_)))
            .count() as u64;
        summary.verified = None;
        summary.warnings.push(format!(
            "dry run: nothing written; {} node(s) would be written, {} deleted",
            summary.written, summary.deleted
        ));
        if m.follow.is_some() {
            summary
                .warnings
                .push("dry run: the follow (catch-up) was not started".to_string());
        }
        summary.changes = plan.differences;
        return Ok(summary);
    }

    let cp = Checkpoint::new(&m.prefix, &src.cluster_id);
    let mut run = Run {
        m: &m,
        applier: Applier::new(&m, cp),
        hidden,
        tracked: BTreeMap::new(),
        summary,
    };
    run.applier
        .mark("copying", src.index, src.nodes.len() as u64)
        .await?;
    let unchanged_before =
        plan::plan(&layout, &src.nodes, &tgt, m.ttl_tolerance, Instant::now()).unchanged;
    let (index, changes) = run.sync_all(Some((src, tgt)), Phase::Copy).await?;
    run.summary.changes = changes;
    run.summary.unchanged = unchanged_before;
    run.summary.final_index = index;
    let follow = m
        .follow
        .as_ref()
        .and_then(|f| f.lock().unwrap_or_else(|p| p.into_inner()).take());
    let state = match follow {
        Some(follow) => {
            run.applier.mark("following", index, 0).await?;
            run.follow(index, follow).await?;
            // The cut-over: one last snapshot, synced.
            let (index, _) = run.sync_all(None, Phase::Copy).await?;
            run.summary.final_index = index;
            "done"
        }
        None => "copied",
    };
    let total = run.summary.source_nodes;
    run.applier
        .mark(state, run.summary.final_index, total)
        .await?;
    let hidden = run.hidden.clone();
    let mut summary = run.finish();
    if m.verify {
        summary.verified = Some(verify::verify_with(&m, &hidden).await?);
    }
    Ok(summary)
}

impl Run<'_> {
    fn finish(self) -> Summary {
        let a = &self.applier;
        let mut s = self.summary;
        s.written = a.written.load(Ordering::Relaxed);
        s.deleted = a.deleted.load(Ordering::Relaxed);
        s.leases = a.leases.load(Ordering::Relaxed);
        s.expired = a.expired.load(Ordering::Relaxed);
        s
    }

    /// Makes the whole copy equal to a snapshot of the source (`first`: one already read):
    /// the snapshot's index and the differences it had.
    pub(crate) async fn sync_all(
        &mut self,
        mut first: Option<(Source, Target)>,
        phase: Phase,
    ) -> Result<(u64, Vec<super::Difference>), Error> {
        let layout = self.m.layout();
        let root = V2Path::root();
        let mut src: Option<Source> = None;
        let mut differences = Vec::new();
        for attempt in 0..ATTEMPTS {
            let (s, tgt) = match (first.take(), src.take()) {
                (Some(both), _) => both,
                (None, Some(s)) => (s, target::scan_all(&self.m.target, &layout).await?),
                (None, None) => {
                    self.m.report(Phase::Scan, 0, 0, 0);
                    let tgt = target::scan_all(&self.m.target, &layout).await?;
                    self.hidden.extend(hidden_set(std::iter::empty(), &tgt));
                    self.m.report(Phase::Snapshot, 0, 0, 0);
                    let s = source::read(&self.m.source, &root, &self.hidden).await?;
                    (s, tgt)
                }
            };
            self.summary.source_nodes = s.nodes.len() as u64;
            let plan: Plan = plan::plan(
                &layout,
                &s.nodes,
                &tgt,
                self.m.ttl_tolerance,
                Instant::now(),
            );
            if attempt == 0 {
                differences = plan.differences.clone();
            }
            let owned_before = plan.owned.clone();
            let applied = self.applier.apply(plan, s.index, phase).await?;
            if !applied.conflict {
                self.track(&root, owned_before.into_iter().chain(applied.owned), None);
                return Ok((s.index, differences));
            }
            src = Some(s);
        }
        Err(Error::Contention {
            prefix: self.m.prefix.clone(),
            attempts: ATTEMPTS,
        })
    }

    /// Records the nodes of `scope` that live on leases of their own after a sync
    /// (`checked`: the sync was a tracker's check, before (`false`) or after (`true`) the end).
    pub(crate) fn track(
        &mut self,
        scope: &V2Path,
        owned: impl IntoIterator<Item = (V2Path, Instant)>,
        checked: Option<bool>,
    ) {
        let owned: BTreeMap<V2Path, Instant> = owned.into_iter().collect();
        let tol = self.m.ttl_tolerance;
        self.tracked
            .retain(|p, _| !scope.contains(p) || owned.contains_key(p));
        for (p, deadline) in owned {
            let same = self.tracked.get(&p).is_some_and(|t| {
                let d = if t.deadline > deadline {
                    t.deadline - deadline
                } else {
                    deadline - t.deadline
                };
                d <= tol
            });
            match (same, checked) {
                (true, Some(false)) => {
                    if let Some(t) = self.tracked.get_mut(&p) {
                        t.after = true;
                    }
                }
                (true, Some(true)) => {
                    self.tracked.remove(&p);
                }
                (true, None) => {}
                (false, _) => {
                    self.tracked.insert(
                        p,
                        Tracked {
                            deadline,
                            after: false,
                        },
                    );
                }
            }
        }
    }
}
