//! A snapshot read (taken before a compacted watcher reopened) against the reference's state at
//! its revision. The reference already holds the put behind every pair a snapshot returned, so
//! what it can miss are the other writes no watch saw in the hole between where the watcher
//! stopped and the read: a difference is explained (a note, not a violation) when a write whose
//! answer was lost, invoked before the read's answer arrived, made it, at revisions no watch
//! covered:
//!
//! - a key the reference has and the snapshot lacks: a lost delete of it, applied after the
//!   reference's pair and where the watcher stopped, by the snapshot's revision;
//! - a key whose pair the snapshot shows differently (the same write, with another create
//!   revision or version: the key was deleted and created again, or written more often, unseen):
//!   a lost put of exactly the value the snapshot shows, its mod revision after where the watcher
//!   stopped and at or before the snapshot's revision.
//!
//! Anything else — a pair the reference does not hold, or one older than a write of the key the
//! reference holds by the snapshot's revision — no lost write explains.

use std::collections::HashMap;

use super::{same, Kv, Lost, Snapshot};
use crate::history::Sym;
use crate::watch::WatchReport;

/// One key where a snapshot and the reference differ.
#[derive(Debug)]
struct Difference {
    key: Sym,
    /// The snapshot's pair.
    got: Option<Kv>,
    /// The reference's.
    expected: Option<Kv>,
    /// Where (inclusive revisions) the unseen write behind it must lie when a lost write can
    /// explain it: explained if some watch did not cover all of them.
    unseen: Option<(i64, i64)>,
}

/// The differences of one snapshot, settled once the watches' coverage is known.
#[derive(Debug)]
pub(super) struct Mismatch {
    watcher: usize,
    rev: i64,
    stopped: i64,
    diffs: Vec<Difference>,
}

/// Where `snap`, read by watcher `w` after it `stopped` (the last revision it saw), differs from
/// the reference's state `expected` of its prefix at the snapshot's revision; `None` if nowhere.
pub(super) fn compare(
    w: usize,
    snap: &Snapshot,
    expected: &HashMap<Sym, Kv>,
    stopped: i64,
    lost: &[Lost],
) -> Option<Mismatch> {
    let got: HashMap<Sym, Kv> = snap.kvs.iter().map(|kv| (kv.key, *kv)).collect();
    let lost_before = |key: Sym, value: Option<Sym>| {
        lost.iter()
            .any(|l| l.key == key && l.value == value && l.call < snap.at)
    };
    let mut keys: Vec<Sym> = expected.keys().chain(got.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut diffs = Vec::new();
    for key in keys {
        let (g, e) = (got.get(&key).copied(), expected.get(&key).copied());
        let unseen = match (g, e) {
            (Some(g), Some(e)) if same(&g, &e) => continue,
            (None, None) => continue,
            // Deleted after the reference's pair and where the watcher stopped.
            (None, Some(e)) => {
                lost_before(key, None).then_some((stopped.max(e.mod_rev) + 1, snap.rev))
            }
            // The reference's own write (else it holds a later one the snapshot missed), put by
            // a lost put in the hole after writes of the key no watch saw.
            (Some(g), Some(e)) => (e.mod_rev == g.mod_rev
                && e.value == g.value
                && g.mod_rev > stopped
                && g.mod_rev <= snap.rev
                && lost_before(key, Some(g.value)))
            .then_some((stopped + 1, g.mod_rev)),
            (Some(_), None) => None,
        };
        diffs.push(Difference {
            key,
            got: g,
            expected: e,
            unseen,
        });
    }
    (!diffs.is_empty()).then_some(Mismatch {
        watcher: w,
        rev: snap.rev,
        stopped,
        diffs,
    })
}

impl Mismatch {
    /// Reports each difference: a gap, or, where a lost write explains it and no watch covered
    /// where it must have been applied, part of one note.
    pub(super) fn settle(self, name: &impl Fn(Sym) -> String, report: &mut WatchReport) {
        let (w, rev) = (self.watcher, self.rev);
        let mut explained = Vec::new();
        for d in self.diffs {
            if d.unseen.is_some_and(|(lo, hi)| !report.covers(lo, hi)) {
                explained.push(name(d.key));
                continue;
            }
            match d.expected {
                Some(kv) => report.gap(format!(
                    "watcher {w}'s snapshot at {rev} shows {} as {:?}, the reference as {kv:?}",
                    name(d.key),
                    d.got
                )),
                None => report.gap(format!(
                    "watcher {w}'s snapshot at {rev} holds {}, which the reference does not",
                    name(d.key)
                )),
            }
        }
        if !explained.is_empty() {
            report.notes.push(format!(
                "watcher {w}'s snapshot at {rev} differs from the reference on {} (writes whose \
                 answers were lost, in ({}, {rev}] where no watch saw every revision)",
                explained.join(", "),
                self.stopped
            ));
        }
    }
}
