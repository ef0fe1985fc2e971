//! The whole check of a recorded log: linearizability of the v2 and v3 histories (per key
//! partition), the store-wide order of their revisions and indexes, and the watch validators;
//! with the figures a run prints.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use crate::history::{Interner, Op, Sym};
use crate::model::{v2, v3};
use crate::partition::{self, Linearizability};
use crate::record::Log;
use crate::revisions::{self, Seen, Stamp};
use crate::watch::{self, WatchReport};

/// Where the watched prefixes were empty (the watches start right after), and the final
/// writes every watch must reach (0: none was made).
#[derive(Debug, Clone, Copy, Default)]
pub struct Bases {
    /// The v2 store index.
    pub v2_index: u64,
    /// The v3 revision.
    pub v3_rev: i64,
    /// The index of the final v2 write.
    pub v2_end: u64,
    /// The revision of the final v3 write.
    pub v3_end: i64,
    /// See [`watch::v3::Context::lenient_progress`] (etcd before 3.4.25).
    pub lenient_progress: bool,
}

/// Everything the check found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// v2 linearizability.
    pub v2: Linearizability,
    /// v3 linearizability.
    pub v3: Linearizability,
    /// Breaches of the v2 index order.
    pub v2_order: Vec<String>,
    /// Breaches of the v3 revision order.
    pub v3_order: Vec<String>,
    /// v2 watches.
    pub v2_watch: WatchReport,
    /// v3 watches.
    pub v3_watch: WatchReport,
    /// Operations that failed without effect.
    pub failed: u64,
    /// v2 lost answers settled by the watches.
    pub settled_v2: crate::patch::Settled,
    /// v3 lost answers settled by the watches.
    pub settled_v3: crate::patch::Settled,
    /// How long the whole check took.
    pub elapsed: Duration,
}

impl Report {
    /// Every violation, each on one line with what it is about.
    pub fn violations(&self) -> Vec<String> {
        let mut out = Vec::new();
        let tag = |t: &str, v: &[String], out: &mut Vec<String>| {
            out.extend(v.iter().map(|x| format!("[{t}] {x}")));
        };
        tag("v2 linearizability", &self.v2.violations, &mut out);
        tag("v3 linearizability", &self.v3.violations, &mut out);
        tag("v2 index order", &self.v2_order, &mut out);
        tag("v3 revision order", &self.v3_order, &mut out);
        tag("v2 watch", &self.v2_watch.violations, &mut out);
        tag("v3 watch", &self.v3_watch.violations, &mut out);
        out
    }

    /// Whether nothing was found.
    pub fn ok(&self) -> bool {
        self.violations().is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (api, l) in [("v2", &self.v2), ("v3", &self.v3)] {
            writeln!(
                f,
                "{api}: {} operations ({} unknown outcomes) in {} partitions, checked in {:.2} s",
                l.ops,
                l.unknown,
                l.partitions,
                l.elapsed.as_secs_f64()
            )?;
        }
        writeln!(
            f,
            "watch events checked: v2 {} ({} resyncs), v3 {} ({} compactions)",
            self.v2_watch.events,
            self.v2_watch.resyncs,
            self.v3_watch.events,
            self.v3_watch.resyncs
        )?;
        writeln!(f, "failed without effect: {}", self.failed)?;
        writeln!(
            f,
            "unknown outcomes settled by the watches: v2 {} applied, {} not, {} left; v3 {} applied, {} not, {} left",
            self.settled_v2.applied,
            self.settled_v2.dropped,
            self.settled_v2.kept,
            self.settled_v3.applied,
            self.settled_v3.dropped,
            self.settled_v3.kept
        )?;
        let notes: Vec<&String> = self
            .v2_watch
            .notes
            .iter()
            .chain(&self.v3_watch.notes)
            .collect();
        if !notes.is_empty() {
            writeln!(f, "notes (etcd's, not violations): {}", notes.len())?;
            for n in notes.iter().take(5) {
                writeln!(f, "  {n}")?;
            }
        }
        let v = self.violations();
        writeln!(f, "violations: {}", v.len())?;
        for line in v.iter().take(40) {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

/// `text` with every `Sym(n)` replaced by the name it stands for.
pub fn named(text: &str, names: &Interner) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("Sym(") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 4..];
        match after
            .find(')')
            .and_then(|end| after[..end].parse::<u32>().ok().map(|n| (n, end)))
        {
            Some((n, end)) => {
                out.push_str(&format!("{:?}", names.name(Sym(n))));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str("Sym(");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn describe<I: fmt::Debug, O: fmt::Debug>(op: &Op<I, O>, names: &Interner) -> String {
    let out = match (&op.output, &op.error) {
        (Some(o), _) => format!("{o:?}"),
        (None, Some(e)) => format!("unknown ({e})"),
        (None, None) => "unknown".into(),
    };
    named(
        &format!(
            "client {} at {:.3}..{:.3} s: {:?} -> {out}",
            op.client,
            op.call as f64 / 1e9,
            op.ret as f64 / 1e9,
            op.input
        ),
        names,
    )
}

/// The whole log as text, one operation or watch item a line, names resolved.
pub fn dump(log: &Log) -> String {
    let mut out = String::new();
    for op in &log.v2 {
        out.push_str(&format!("v2 {}\n", describe(op, &log.names)));
    }
    for op in &log.v3 {
        out.push_str(&format!("v3 {}\n", describe(op, &log.names)));
    }
    for seg in &log.v2_watches {
        out.push_str(&named(&format!("v2 watch {seg:?}\n"), &log.names));
    }
    for seg in &log.v3_watches {
        out.push_str(&named(&format!("v3 watch {seg:?}\n"), &log.names));
    }
    out
}

/// Seconds since the run began, for messages.
fn secs(at: crate::history::Time) -> f64 {
    at as f64 / 1e9
}

/// How a v2 watcher's recording ended, for a finding that it stopped short: its segments, and
/// the last item of the last one.
fn last_words_v2(log: &crate::record::Log, w: usize) -> String {
    use crate::watch::v2::Item;
    let segs: Vec<_> = log.v2_watches.iter().filter(|s| s.watcher == w).collect();
    let Some(last) = segs.last() else {
        return "it recorded nothing".into();
    };
    let end = match last.items.last() {
        None => "nothing".to_string(),
        Some(Item::Event { at, event, .. }) => {
            format!("an event at index {} ({:.3} s)", event.index, secs(*at))
        }
        Some(Item::Resynced { at, index, .. }) => {
            format!("a resync to index {index} ({:.3} s)", secs(*at))
        }
        Some(Item::Ended { at, error }) => format!("\"{error}\" ({:.3} s)", secs(*at)),
    };
    format!(
        "{} segment(s); the last, after index {}, has {} item(s) and ends with {end}",
        segs.len(),
        last.after,
        last.items.len()
    )
}

/// How a v3 watcher's recording ended, for a finding that it stopped short (see
/// [`last_words_v2`]).
fn last_words_v3(log: &crate::record::Log, w: usize) -> String {
    use crate::watch::v3::Item;
    let segs: Vec<_> = log.v3_watches.iter().filter(|s| s.watcher == w).collect();
    let Some(last) = segs.last() else {
        return "it recorded nothing".into();
    };
    let end = match last.items.last() {
        None => "nothing".to_string(),
        Some(Item::Events {
            at,
            revision,
            events,
        }) => format!(
            "{} event(s) in an answer at revision {revision} ({:.3} s)",
            events.len(),
            secs(*at)
        ),
        Some(Item::Progress { at, revision }) => {
            format!("progress at revision {revision} ({:.3} s)", secs(*at))
        }
        Some(Item::Compacted {
            at,
            compact_revision,
        }) => format!("compaction at {compact_revision} ({:.3} s)", secs(*at)),
        Some(Item::Ended { at, error }) => format!("\"{error}\" ({:.3} s)", secs(*at)),
    };
    format!(
        "{} segment(s); the last, from revision {}, has {} item(s) and ends with {end}",
        segs.len(),
        last.start_rev,
        last.items.len()
    )
}

/// How far each v2 watcher got: the last index it delivered or resynced to.
fn reached_v2(log: &crate::record::Log) -> std::collections::BTreeMap<usize, u64> {
    use crate::watch::v2::Item;
    let mut out = std::collections::BTreeMap::new();
    for seg in &log.v2_watches {
        let last = seg.items.iter().fold(seg.after, |m, item| match item {
            Item::Event { event, .. } => m.max(event.index),
            Item::Resynced { index, .. } => m.max(*index),
            Item::Ended { .. } => m,
        });
        let e = out.entry(seg.watcher).or_insert(0);
        *e = (*e).max(last);
    }
    out
}

/// How far each v3 watcher got: the last revision an event or a progress notification showed.
fn reached_v3(log: &crate::record::Log) -> std::collections::BTreeMap<usize, i64> {
    use crate::watch::v3::Item;
    let mut out = std::collections::BTreeMap::new();
    for seg in &log.v3_watches {
        let last = seg
            .items
            .iter()
            .fold(seg.start_rev - 1, |m, item| match item {
                Item::Events { events, .. } => events.iter().fold(m, |m, e| m.max(e.kv.mod_rev)),
                Item::Progress { revision, .. } => m.max(*revision),
                _ => m,
            });
        let e = out.entry(seg.watcher).or_insert(0);
        *e = (*e).max(last);
    }
    out
}

/// A budget of search steps per partition.
pub const BUDGET: u64 = 20_000_000;

/// How lost answers are settled before the search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Settle {
    /// By what was observed, where the observation is complete ([`crate::patch`]).
    #[default]
    Observed,
    /// The former rule, kept to compare checker times on one history
    /// ([`crate::patch::watch_only_v3`]; unsound where the watches have holes).
    WatchOnly,
}

/// Checks a whole log.
pub fn check(log: &Log, bases: Bases) -> Report {
    check_with(log, bases, Settle::Observed)
}

/// Checks a whole log, settling lost answers as `settle` says.
pub fn check_with(log: &Log, bases: Bases, settle: Settle) -> Report {
    let start = Instant::now();
    let names = &log.names;
    let mut report = Report {
        failed: log.failed,
        ..Report::default()
    };

    // The store-wide order.
    let (v2_stamps, v2_ops): (Vec<Stamp>, Vec<usize>) = log
        .v2
        .iter()
        .enumerate()
        .filter_map(|(i, op)| {
            let index = match op.output? {
                v2::Response::Node { node, .. } if op.input.is_write() => node.modified,
                v2::Response::Deleted { index, .. } => index,
                _ => return None,
            };
            let seen = Seen::Write(i64::try_from(index).unwrap_or(i64::MAX));
            Some((
                Stamp {
                    call: op.call,
                    ret: op.ret,
                    seen,
                },
                i,
            ))
        })
        .unzip();
    report.v2_order = revisions::check(&v2_stamps)
        .into_iter()
        .map(|b| {
            format!(
                "{}: {} against {}",
                b.what,
                describe(&log.v2[v2_ops[b.later]], names),
                describe(&log.v2[v2_ops[b.earlier]], names)
            )
        })
        .collect();
    let (v3_stamps, v3_ops): (Vec<Stamp>, Vec<usize>) = log
        .v3
        .iter()
        .enumerate()
        .filter_map(|(i, op)| {
            let out = op.output.as_ref()?;
            let rev = out.rev();
            if rev == 0 {
                return None;
            }
            let wrote = match out {
                v3::Response::Put { .. } => true,
                v3::Response::Delete { deleted, .. } => *deleted > 0,
                v3::Response::Txn { results, .. } => results
                    .iter()
                    .any(|r| matches!(r, v3::TxnResult::Put | v3::TxnResult::Delete(1..))),
                _ => false,
            };
            let seen = if wrote {
                Seen::Write(rev)
            } else {
                Seen::Read(rev)
            };
            Some((
                Stamp {
                    call: op.call,
                    ret: op.ret,
                    seen,
                },
                i,
            ))
        })
        .unzip();
    report.v3_order = revisions::check(&v3_stamps)
        .into_iter()
        .map(|b| {
            format!(
                "{}: {} against {}",
                b.what,
                describe(&log.v3[v3_ops[b.later]], names),
                describe(&log.v3[v3_ops[b.earlier]], names)
            )
        })
        .collect();

    // Watches.
    // Only watches of the prefix (directory) that holds every key of the history vouch for
    // what was not written; with none, nothing is dropped for want of an event.
    let v3_full = full_prefix(
        log.v3_watches.iter().map(|s| s.prefix.as_str()),
        log.v3.iter().flat_map(|o| o.input.keys()),
        names,
    );
    let v2_full = full_prefix(
        log.v2_watches.iter().map(|s| s.prefix.as_str()),
        log.v2.iter().map(|o| o.input.key()),
        names,
    );
    let (acked, writers, lost) = v3_writes(log);
    report.v3_watch = watch::v3::validate(
        &log.v3_watches,
        &watch::v3::Context {
            names,
            acked: &acked,
            writers: &writers,
            lost: &lost,
            base_rev: bases.v3_rev,
            lenient_progress: bases.lenient_progress,
            full_prefix: Some(v3_full.as_str()),
        },
    );
    let (acked, writers, lost) = v2_writes(log);
    report.v2_watch = watch::v2::validate(
        &log.v2_watches,
        &watch::v2::Context {
            names,
            acked: &acked,
            writers: &writers,
            lost: &lost,
            base_index: bases.v2_index,
            full_prefix: Some(v2_full.as_str()),
        },
    );
    for (w, reached) in reached_v2(log) {
        if bases.v2_end != 0 && reached < bases.v2_end {
            report.v2_watch.gaps = true;
            report.v2_watch.violations.push(format!(
                "v2 watcher {w} stopped at index {reached}, short of the final write at {}; {}",
                bases.v2_end,
                last_words_v2(log, w)
            ));
        }
    }
    for (w, reached) in reached_v3(log) {
        if bases.v3_end != 0 && reached < bases.v3_end {
            report.v3_watch.gaps = true;
            report.v3_watch.violations.push(format!(
                "v3 watcher {w} stopped at revision {reached}, short of the final write at {}; {}",
                bases.v3_end,
                last_words_v3(log, w)
            ));
        }
    }
    report.v2_watch.gaps |= bases.v2_end == 0;
    report.v3_watch.gaps |= bases.v3_end == 0;
    if bases.v2_end == 0 {
        report
            .v2_watch
            .violations
            .push("no final v2 write: the watches were not checked to the end".into());
    }
    if bases.v3_end == 0 {
        report
            .v3_watch
            .violations
            .push("no final v3 write: the watches were not checked to the end".into());
    }
    for v in report
        .v2_watch
        .violations
        .iter_mut()
        .chain(report.v3_watch.violations.iter_mut())
    {
        *v = named(v, names);
    }

    // Lost answers settled by the watches, where their reference is complete.
    let (v2_ops, v3_ops) = (&log.v2, &log.v3);
    let patched_v2;
    let patched_v3;
    let (mut v2_deadlines, mut v3_deadlines) = Default::default();
    let v2_ops = if !report.v2_watch.gaps {
        let obs = crate::patch::Observed {
            watch: &report.v2_watch,
            base: i64::try_from(bases.v2_index).unwrap_or(i64::MAX),
            end: i64::try_from(bases.v2_end).unwrap_or(0),
        };
        let (ops, n) = match settle {
            Settle::Observed => {
                let (ops, n, d) = crate::patch::v2(v2_ops, &obs);
                v2_deadlines = d;
                (ops, n)
            }
            Settle::WatchOnly => crate::patch::watch_only_v2(v2_ops, &obs.watch.seen),
        };
        report.settled_v2 = n;
        patched_v2 = ops;
        &patched_v2
    } else {
        v2_ops
    };
    let v3_ops = if !report.v3_watch.gaps {
        let obs = crate::patch::Observed {
            watch: &report.v3_watch,
            base: bases.v3_rev,
            end: bases.v3_end,
        };
        let (ops, n) = match settle {
            Settle::Observed => {
                let (ops, n, d) = crate::patch::v3(v3_ops, &obs);
                v3_deadlines = d;
                (ops, n)
            }
            Settle::WatchOnly => crate::patch::watch_only_v3(v3_ops, &obs.watch.seen),
        };
        report.settled_v3 = n;
        patched_v3 = ops;
        &patched_v3
    } else {
        v3_ops
    };
    let deadline = |d: &crate::patch::Deadlines, client: usize, call| {
        d.get(&(client, call)).copied().unwrap_or(crate::wgl::NEVER)
    };
    report.v2 = partition::check_with_deadlines(
        &v2::V2,
        v2_ops,
        |r| vec![r.key()],
        BUDGET,
        |op| describe(op, names),
        |op| deadline(&v2_deadlines, op.client, op.call),
    );
    report.v3 = partition::check_with_deadlines(
        &v3::V3,
        v3_ops,
        v3::Request::keys,
        BUDGET,
        |op| describe(op, names),
        |op| deadline(&v3_deadlines, op.client, op.call),
    );
    // Figures of what was recorded, not of what was left to search.
    report.v2.ops = log.v2.len();
    report.v2.unknown = log.v2.iter().filter(|o| o.is_unknown()).count();
    report.v3.ops = log.v3.len();
    report.v3.unknown = log.v3.iter().filter(|o| o.is_unknown()).count();
    report.elapsed = start.elapsed();
    report
}

/// The shortest of the watched `prefixes` if every key starts with it (the watches of it see
/// every write of the history), else a prefix no watch has.
fn full_prefix<'a>(
    prefixes: impl Iterator<Item = &'a str>,
    mut keys: impl Iterator<Item = Sym>,
    names: &Interner,
) -> String {
    const NONE: &str = "\u{0}no watch holds every key";
    match prefixes.min_by_key(|p| p.len()) {
        Some(p) if keys.all(|k| names.name(k).starts_with(p)) => p.to_string(),
        _ => NONE.to_string(),
    }
}

/// The acknowledged v3 writes, the writer of every value, and the writes whose answers were
/// lost: every put and delete of an unanswered put, delete or transaction (either branch).
/// Leased keys stay in: a lease may delete one unseen too, but that only leaves one more unseen
/// write that could explain a snapshot lacking the key (nothing is settled from these).
fn v3_writes(log: &Log) -> V3Writes {
    let mut acked = Vec::new();
    let mut writers = HashMap::new();
    let mut lost = Vec::new();
    let lose = |key: Sym, value: Option<Sym>, call| watch::v3::Lost { key, value, call };
    for (i, op) in log.v3.iter().enumerate() {
        match (&op.input, &op.output) {
            (
                v3::Request::Put {
                    key, value, lease, ..
                },
                out,
            ) => {
                writers.insert(*value, i);
                if out.is_none() {
                    lost.push(lose(*key, Some(*value), op.call));
                }
                if let Some(v3::Response::Put { rev, .. }) = out {
                    acked.push(watch::v3::Acked {
                        op: i,
                        rev: *rev,
                        key: *key,
                        put: Some((*value, *lease)),
                    });
                }
            }
            (
                v3::Request::Delete { key, .. },
                Some(v3::Response::Delete {
                    rev, deleted: 1, ..
                }),
            ) => {
                acked.push(watch::v3::Acked {
                    op: i,
                    rev: *rev,
                    key: *key,
                    put: None,
                });
            }
            (v3::Request::Delete { key, .. }, None) => lost.push(lose(*key, None, op.call)),
            (
                v3::Request::Txn {
                    success, failure, ..
                },
                out,
            ) => {
                for step in success.iter().chain(failure) {
                    match step {
                        v3::TxnOp::Put(k, v, _) => {
                            writers.insert(*v, i);
                            if out.is_none() {
                                lost.push(lose(*k, Some(*v), op.call));
                            }
                        }
                        v3::TxnOp::Delete(k) if out.is_none() => lost.push(lose(*k, None, op.call)),
                        _ => {}
                    }
                }
                if let Some(v3::Response::Txn {
                    rev,
                    succeeded,
                    results,
                }) = out
                {
                    let ops = if *succeeded { success } else { failure };
                    for (step, result) in ops.iter().zip(results) {
                        match (step, result) {
                            (v3::TxnOp::Put(k, v, l), _) => acked.push(watch::v3::Acked {
                                op: i,
                                rev: *rev,
                                key: *k,
                                put: Some((*v, *l)),
                            }),
                            (v3::TxnOp::Delete(k), v3::TxnResult::Delete(1)) => {
                                acked.push(watch::v3::Acked {
                                    op: i,
                                    rev: *rev,
                                    key: *k,
                                    put: None,
                                })
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    (acked, writers, lost)
}

type V3Writes = (
    Vec<watch::v3::Acked>,
    HashMap<Sym, usize>,
    Vec<watch::v3::Lost>,
);

/// The acknowledged v2 writes and the writer of every value.
/// The v2 writes answered (with their indexes), which operation wrote each value, and the
/// writes whose answers were lost.
fn v2_writes(log: &Log) -> V2Writes {
    let mut acked = Vec::new();
    let mut writers = HashMap::new();
    let mut lost = Vec::new();
    for (i, op) in log.v2.iter().enumerate() {
        let (key, value, keeps) = match op.input {
            v2::Request::Set(k, v) | v2::Request::Create(k, v) => (k, Some(v), false),
            v2::Request::Cas { key, value, .. } => (key, Some(value), true),
            v2::Request::Cad { key, .. } | v2::Request::Delete(key) => (key, None, false),
            v2::Request::Get(_) => continue,
        };
        if let Some(v) = value {
            writers.insert(v, i);
        }
        let index = match op.output {
            Some(v2::Response::Node { node, .. }) => node.modified,
            Some(v2::Response::Deleted { index, .. }) => index,
            None => {
                lost.push(watch::v2::Lost {
                    key,
                    value,
                    call: op.call,
                });
                continue;
            }
            _ => continue,
        };
        acked.push(watch::v2::Acked {
            op: i,
            index,
            key,
            value,
            keeps_created: keeps,
        });
    }
    (acked, writers, lost)
}

type V2Writes = (
    Vec<watch::v2::Acked>,
    HashMap<Sym, usize>,
    Vec<watch::v2::Lost>,
);

#[cfg(test)]
mod tests;
