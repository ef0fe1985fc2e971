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

use crate::history::Sym;

/// What a validator found.
#[derive(Debug, Clone, Default)]
pub struct WatchReport {
    /// Every value the reference holds, with the revision (v2: index) it was written at and
    /// the created revision (index) of its key then: how lost answers are settled.
    pub seen: HashMap<Sym, (i64, i64)>,
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
