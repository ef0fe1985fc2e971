//! v2 watch streams: each delivers exactly the modified indexes of the watched keys, in order,
//! none twice and none skipped, except where it resynced: a resync at index `i` accounts for the
//! indexes it skipped only if its snapshot is the reference's state of the watched keys at `i`,
//! or differs from it only where a write whose answer was lost made the difference (no watch saw
//! the hole, so the reference cannot hold that write).
//! Each event's node and previous node match the reference (every stream's events, every
//! resync's nodes at their modified indexes, and the answered writes), and a watcher that reopens
//! goes on from where it stopped.

use std::collections::{BTreeMap, HashMap};

pub use super::Lost;
use super::{Pair, RefDelete, WatchReport};
use crate::history::{Interner, Sym, Time};
use crate::model::v2::NodeSeen;

/// One event as a v2 stream delivered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// The key.
    pub key: Sym,
    /// `Some(value)` for set, create and compare-and-swap; `None` for deletes and expiries.
    pub value: Option<Sym>,
    /// Whether the write kept the node's created index (compare-and-swap, update).
    pub keeps_created: bool,
    /// The node's modified index: the event's index.
    pub index: u64,
    /// The node's created index (for a put).
    pub created: u64,
    /// `prevNode`.
    pub prev: Option<NodeSeen>,
}

/// What a stream yielded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// An event.
    Event {
        /// When it arrived.
        at: Time,
        /// The event.
        event: Event,
    },
    /// A resync: the state of the watched keys at `index`; events go on after it.
    Resynced {
        /// When it arrived.
        at: Time,
        /// The snapshot's index.
        index: u64,
        /// The files under the watched key, with their nodes.
        snapshot: Vec<(Sym, NodeSeen)>,
    },
    /// The stream ended with an error.
    Ended {
        /// When.
        at: Time,
        /// The error.
        error: String,
    },
}

/// One stream opened by a watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The watcher.
    pub watcher: usize,
    /// The watched directory (recursive), as a key prefix.
    pub prefix: String,
    /// The stream delivers the events after this index.
    pub after: u64,
    /// What it yielded.
    pub items: Vec<Item>,
}

/// A write the history saw answered, with its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    /// The operation (for reports).
    pub op: usize,
    /// Its modified index.
    pub index: u64,
    /// The key.
    pub key: Sym,
    /// `Some(value)` for a put, `None` for a delete.
    pub value: Option<Sym>,
    /// Whether it kept the created index (compare-and-swap).
    pub keeps_created: bool,
}

/// Everything a validation needs besides the streams.
#[derive(Debug)]
pub struct Context<'a> {
    /// Key and value names.
    pub names: &'a Interner,
    /// Acknowledged writes.
    pub acked: &'a [Acked],
    /// Which operation wrote each value.
    pub writers: &'a HashMap<Sym, usize>,
    /// Writes whose answers were lost: where no watch saw an index, one of them may be what a
    /// resync's snapshot shows and the reference lacks.
    pub lost: &'a [Lost],
    /// The index at which the watched directories were empty.
    pub base_index: u64,
    /// The directory (as a key prefix) holding every key of the traffic: only streams of it
    /// count towards [`WatchReport::covered`] (`None`: every stream does).
    pub full_prefix: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RefEvent {
    key: Sym,
    value: Option<Sym>,
    keeps_created: bool,
}

/// Checks every stream against the reference built from all of them and the acknowledged
/// writes.
pub fn validate(segments: &[Segment], cx: &Context<'_>) -> WatchReport {
    let mut report = WatchReport::default();
    let name = |k: Sym| cx.names.name(k).to_string();
    let in_prefix = |k: Sym, p: &str| cx.names.name(k).starts_with(p);

    let mut reference: BTreeMap<u64, RefEvent> = BTreeMap::new();
    let mut add = |index: u64, ev: RefEvent, from: &str, report: &mut WatchReport| match reference
        .get(&index)
    {
        Some(old) if *old != ev => report.gap(format!(
            "index {index}: {from} says {} {:?}, another source {} {:?}",
            name(ev.key),
            ev.value.map(|v| cx.names.name(v).to_string()),
            name(old.key),
            old.value.map(|v| cx.names.name(v).to_string()),
        )),
        Some(_) => {}
        None => {
            reference.insert(index, ev);
        }
    };
    // When each index's event first reached a watch.
    let mut arrived: HashMap<u64, Time> = HashMap::new();
    for seg in segments {
        for item in &seg.items {
            if let Item::Event { event: e, at } = item {
                let t = arrived.entry(e.index).or_insert(*at);
                *t = (*t).min(*at);
                let ev = RefEvent {
                    key: e.key,
                    value: e.value,
                    keeps_created: e.keeps_created,
                };
                add(
                    e.index,
                    ev,
                    &format!("watcher {}", seg.watcher),
                    &mut report,
                );
            }
            // A resync's snapshot observes the write behind each node it shows, at the node's
            // modified index (a write in the hole, whose answer may have been lost). A node
            // created at that index was set or created; an older one was swapped or updated.
            if let Item::Resynced {
                index, snapshot, ..
            } = item
            {
                for (key, n) in snapshot {
                    let ev = RefEvent {
                        key: *key,
                        value: Some(n.value),
                        keeps_created: n.created != n.modified,
                    };
                    add(
                        n.modified,
                        ev,
                        &format!("watcher {}'s resync at {index}", seg.watcher),
                        &mut report,
                    );
                }
            }
        }
    }
    for a in cx.acked {
        let ev = RefEvent {
            key: a.key,
            value: a.value,
            keeps_created: a.keeps_created,
        };
        add(
            a.index,
            ev,
            &format!("the answer to operation {}", a.op),
            &mut report,
        );
    }

    // Replay: each event's node before and after.
    let mut state: HashMap<Sym, NodeSeen> = HashMap::new();
    let mut before: HashMap<u64, Option<NodeSeen>> = HashMap::new();
    let mut after: HashMap<u64, NodeSeen> = HashMap::new();
    let mut value_at: HashMap<Sym, u64> = HashMap::new();
    let mut last_event: HashMap<Sym, u64> = HashMap::new();
    let mut absent_deletes: Vec<(u64, u64, Sym)> = Vec::new();
    for (&index, ev) in &reference {
        if index <= cx.base_index {
            report.fail(format!(
                "event at index {index}, before the base {}",
                cx.base_index
            ));
            continue;
        }
        let prev = state.get(&ev.key).copied();
        before.insert(index, prev);
        match ev.value {
            Some(value) => {
                let created = match (ev.keeps_created, prev) {
                    (true, Some(p)) => p.created,
                    _ => index,
                };
                let node = NodeSeen {
                    value,
                    modified: index,
                    created,
                };
                state.insert(ev.key, node);
                after.insert(index, node);
                report.seen.insert(value, (idx(index), idx(created)));
                if let Some(&t) = arrived.get(&index) {
                    report.seen_at.insert(value, t);
                }
                report.before.insert(value, prev.map(|p| pair(ev.key, p)));
                if let Some(i0) = value_at.insert(value, index) {
                    report.fail(format!(
                        "value {} written twice: at indexes {i0} and {index}: a write applied twice",
                        cx.names.name(value)
                    ));
                }
                if !cx.writers.contains_key(&value) {
                    report.fail(format!(
                        "index {index} sets {} = {}, a value no client wrote",
                        name(ev.key),
                        cx.names.name(value)
                    ));
                }
            }
            None => {
                if prev.is_none() {
                    // A violation only where the watches saw every index since the key's last
                    // event (else a write in a resync's hole, lost, made it): decided below.
                    let since = last_event.get(&ev.key).copied().unwrap_or(cx.base_index);
                    absent_deletes.push((since, index, ev.key));
                }
                report.deletes.push(RefDelete {
                    key: ev.key,
                    rev: idx(index),
                    at: arrived.get(&index).copied(),
                    prev: prev.map(|p| pair(ev.key, p)),
                });
                state.remove(&ev.key);
            }
        }
        last_event.insert(ev.key, index);
    }
    let state_at = |index: u64, prefix: &str| -> HashMap<Sym, NodeSeen> {
        let mut s = HashMap::new();
        for (&i, ev) in reference.range(..=index) {
            if !in_prefix(ev.key, prefix) {
                continue;
            }
            match after.get(&i) {
                Some(node) => {
                    s.insert(ev.key, *node);
                }
                None => {
                    s.remove(&ev.key);
                }
            }
        }
        s
    };

    let mut stopped: HashMap<usize, u64> = HashMap::new();
    for seg in segments {
        let w = seg.watcher;
        if let Some(&c) = stopped.get(&w) {
            if seg.after != c {
                report.gap(format!(
                    "watcher {w} reopened after index {}, not {c} where it stopped",
                    seg.after
                ));
            }
        }
        let mut cursor = seg.after;
        // Where the run of indexes this stream delivered completely began.
        let mut from = seg.after.saturating_add(1);
        let vouches = cx.full_prefix.is_none_or(|p| seg.prefix == p);
        // Every reference index of the watched keys in (from, to) must have been delivered.
        let gap = |from: u64, to: u64, report: &mut WatchReport| {
            for (&i, ev) in reference.range(from.saturating_add(1)..to) {
                if in_prefix(ev.key, &seg.prefix) {
                    report.gap(format!(
                        "watcher {w} skipped index {i} ({}) between {from} and {to}",
                        name(ev.key)
                    ));
                }
            }
        };
        for item in &seg.items {
            match item {
                Item::Event { event: e, .. } => {
                    report.events += 1;
                    if !in_prefix(e.key, &seg.prefix) {
                        report.fail(format!(
                            "watcher {w} got {} outside {}",
                            name(e.key),
                            seg.prefix
                        ));
                    }
                    if e.index <= cursor {
                        report.fail(format!(
                            "watcher {w}: index {} delivered after {cursor} (out of order or twice)",
                            e.index
                        ));
                        continue;
                    }
                    gap(cursor, e.index, &mut report);
                    cursor = e.index;
                    if let Some(was) = before.get(&e.index) {
                        if e.prev.is_some() && e.prev != *was {
                            report.fail(format!(
                                "watcher {w}: index {} has prevNode {:?}, the reference {was:?}",
                                e.index, e.prev
                            ));
                        }
                    }
                    if let (Some(_), Some(node)) = (e.value, after.get(&e.index)) {
                        if node.created != e.created {
                            report.fail(format!(
                                "watcher {w}: index {} has createdIndex {}, the reference {}",
                                e.index, e.created, node.created
                            ));
                        }
                    }
                }
                Item::Resynced {
                    at,
                    index,
                    snapshot,
                } => {
                    report.resyncs += 1;
                    if *index < cursor {
                        report.gap(format!(
                            "watcher {w} resynced back to {index} from {cursor}"
                        ));
                    }
                    let expected = state_at(*index, &seg.prefix);
                    let got: HashMap<Sym, NodeSeen> = snapshot.iter().copied().collect();
                    let hole = (cursor, *index);
                    let (explained, unexplained) = differences(&got, &expected, hole, *at, cx.lost);
                    if !explained.is_empty() && unexplained.is_empty() {
                        let keys: Vec<String> = explained.iter().map(|k| name(*k)).collect();
                        report.notes.push(format!(
                            "watcher {w}'s resync at {index} differs from the reference on {} \
                             (writes whose answers were lost, in ({cursor}, {index}] where no \
                             watch saw an index)",
                            keys.join(", ")
                        ));
                    }
                    if !unexplained.is_empty() {
                        report.gap(format!(
                            "watcher {w}'s resync at {index} skipped ({cursor}, {index}] with a snapshot \
                             of {} keys that is not the reference's {} keys",
                            got.len(),
                            expected.len()
                        ));
                    }
                    // What the resync skipped is not covered by this stream.
                    if vouches {
                        report.cover(idx(from), idx(cursor));
                    }
                    cursor = cursor.max(*index);
                    from = cursor.saturating_add(1);
                }
                Item::Ended { .. } => {}
            }
        }
        if vouches {
            report.cover(idx(from), idx(cursor));
        }
        stopped.insert(w, cursor);
    }
    report.merge_covered();
    for (since, index, key) in absent_deletes {
        let what = format!("index {index} deletes {}, which did not exist", name(key));
        if report.covers(idx(since) + 1, idx(index)) {
            report.gap(what);
        } else {
            // The key's creation fell in a hole of every watch (a resync) and its answer was
            // lost: the reference misses it. etcd's, not the client's.
            report.notes.push(format!(
                "{what} in the reference (created unseen in a resync's hole)"
            ));
        }
    }
    report
}

/// The keys where a resync's snapshot (`got`, read at `hole.1`, arrived at `at`) differs from
/// the reference's state there, as (explained, unexplained). A difference is explained when a
/// write whose answer was lost, invoked before the snapshot arrived, made it: a lost put of the
/// very value the snapshot shows, at an index in the hole, or a lost delete of a key the
/// snapshot lacks. Anything else is a resync that does not account for what it skipped.
fn differences(
    got: &HashMap<Sym, NodeSeen>,
    expected: &HashMap<Sym, NodeSeen>,
    hole: (u64, u64),
    at: Time,
    lost: &[Lost],
) -> (Vec<Sym>, Vec<Sym>) {
    let mut keys: Vec<Sym> = got.keys().chain(expected.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let lost_on = |key: Sym, value: Option<Sym>| {
        lost.iter()
            .any(|l| l.key == key && l.value == value && l.call < at)
    };
    let (mut explained, mut unexplained) = (Vec::new(), Vec::new());
    for key in keys {
        let (g, e) = (got.get(&key), expected.get(&key));
        if g == e {
            continue;
        }
        let ok = match g {
            Some(n) => n.modified > hole.0 && n.modified <= hole.1 && lost_on(key, Some(n.value)),
            None => lost_on(key, None),
        };
        if ok {
            explained.push(key);
        } else {
            unexplained.push(key);
        }
    }
    (explained, unexplained)
}

fn pair(key: Sym, n: NodeSeen) -> Pair {
    Pair {
        key,
        value: n.value,
        rev: idx(n.modified),
        created: idx(n.created),
        version: 0,
        lease: 0,
    }
}

fn idx(i: u64) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests;
