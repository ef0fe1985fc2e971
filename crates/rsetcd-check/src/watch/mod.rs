//! Watch validators: [`v3`] checks recorded v3 watches as etcd's robustness suite defines their
//! guarantees (ordered, unique, atomic, reliable, resumable, bookmarkable, prevKV, isCreate);
//! [`v2`] checks v2 watch streams deliver exactly the modified indexes of the watched keys, with
//! every resync accounting for the indexes it skipped.
//!
//! Both compare each watch against a *reference*: the union of every watch's events and the
//! writes the key-value history saw acknowledged (their revisions are known), checked for
//! agreement first. Values are unique per write, so each event names the write it came from:
//! a value in two events is a write applied twice.

pub mod v2;
pub mod v3;

use std::collections::HashMap;

use crate::history::{Sym, Time};

/// A write whose answer was lost (v2 or v3): it may have been applied, once, at any index or
/// revision after its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    /// The key.
    pub key: Sym,
    /// `Some(value)` for a put, `None` for a delete.
    pub value: Option<Sym>,
    /// When it was invoked.
    pub call: Time,
}

/// A key's pair as the reference holds it (v2: `version` and `lease` are 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pair {
    /// The key.
    pub key: Sym,
    /// The value.
    pub value: Sym,
    /// Its mod revision (v2: modified index).
    pub rev: i64,
    /// Its create revision (v2: created index).
    pub created: i64,
    /// Its version (v3).
    pub version: i64,
    /// Its lease (v3).
    pub lease: i64,
}

/// A delete of the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefDelete {
    /// The key deleted.
    pub key: Sym,
    /// Its revision (v2: index).
    pub rev: i64,
    /// When its event first reached a watch (`None`: known only from an answer).
    pub at: Option<Time>,
    /// The pair it deleted, as the reference holds it.
    pub prev: Option<Pair>,
}

/// What a validator found.
#[derive(Debug, Clone, Default)]
pub struct WatchReport {
    /// Every value the reference holds, with the revision (v2: index) it was written at and
    /// the created revision (index) of its key then: how lost answers are settled.
    pub seen: HashMap<Sym, (i64, i64)>,
    /// When the event of each value of `seen` first reached a watch: its write had taken
    /// effect by then.
    pub seen_at: HashMap<Sym, Time>,
    /// The reference's pair of the key before each value of `seen` was written (`None`: the
    /// key did not exist).
    pub before: HashMap<Sym, Option<Pair>>,
    /// Every delete of the reference.
    pub deletes: Vec<RefDelete>,
    /// The revisions (v2: indexes) whose events some watch delivered completely — from where
    /// it started to the last event it delivered, without a compaction or resync between —
    /// as sorted, disjoint, non-adjacent closed ranges.
    pub covered: Vec<(i64, i64)>,
    /// Events delivered to watches and checked.
    pub events: usize,
    /// Resyncs (v2) or compactions (v3) the watches went through.
    pub resyncs: usize,
    /// One line per violation.
    pub violations: Vec<String>,
    /// Oddities that are etcd's, not the client's (reported, not violations).
    pub notes: Vec<String>,
    /// Whether the reference may miss events (a watch missed some, sources disagreed, a
    /// snapshot did not match): lost answers are then not settled by it.
    pub gaps: bool,
}

impl WatchReport {
    /// Whether every revision (index) from `from` to `to` (inclusive) is covered: no write of
    /// the watched keys in that range can be missing from the reference.
    pub fn covers(&self, from: i64, to: i64) -> bool {
        if from > to {
            return true;
        }
        // The ranges are merged: one of them holds the whole span, or none does.
        let i = self.covered.partition_point(|&(_, hi)| hi < from);
        self.covered
            .get(i)
            .is_some_and(|&(lo, hi)| lo <= from && to <= hi)
    }

    /// The greatest revision (index) in `from..=to` that no watch covered, if any.
    pub fn last_hole(&self, from: i64, to: i64) -> Option<i64> {
        let mut r = to;
        for &(lo, hi) in self.covered.iter().rev() {
            if hi < r {
                break;
            }
            if lo <= r {
                r = lo - 1;
            }
        }
        (r >= from).then_some(r)
    }

    /// Records that a watch delivered every event of `from..=to`.
    pub(crate) fn cover(&mut self, from: i64, to: i64) {
        if from <= to {
            self.covered.push((from, to));
        }
    }

    /// Sorts and merges [`WatchReport::covered`] (touching ranges too).
    pub(crate) fn merge_covered(&mut self) {
        self.covered.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(self.covered.len());
        for &(lo, hi) in &self.covered {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        self.covered = out;
    }

    /// A violation that also says the reference may be incomplete.
    pub(crate) fn gap(&mut self, what: String) {
        self.gaps = true;
        self.fail(what);
    }

    pub(crate) fn fail(&mut self, what: String) {
        // Thousands of lines say no more than the first few hundred.
        if self.violations.len() < 500 {
            self.violations.push(what);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_merges_and_answers_spans() {
        let mut r = WatchReport::default();
        r.cover(10, 20);
        r.cover(21, 30);
        r.cover(5, 12);
        r.cover(40, 50);
        r.cover(9, 3);
        r.merge_covered();
        assert_eq!(r.covered, vec![(5, 30), (40, 50)]);
        assert!(r.covers(5, 30));
        assert!(r.covers(29, 29));
        assert!(r.covers(40, 41));
        assert!(!r.covers(30, 40));
        assert!(!r.covers(4, 6));
        assert!(!r.covers(51, 51));
        assert!(r.covers(60, 59));
        assert_eq!(r.last_hole(1, 60), Some(60));
        assert_eq!(r.last_hole(1, 50), Some(39));
        assert_eq!(r.last_hole(31, 50), Some(39));
        assert_eq!(r.last_hole(5, 30), None);
        assert_eq!(r.last_hole(1, 30), Some(4));
        assert_eq!(r.last_hole(41, 45), None);
    }
}
