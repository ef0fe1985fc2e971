//! v3 watches, checked as etcd's robustness suite defines the guarantees:
//!
//! - **ordered**: revisions never go back within a watch;
//! - **unique**: no (revision, key) is delivered twice;
//! - **atomic**: a revision's events come in one answer, all of them;
//! - **reliable**: from its start to the last revision it confirmed (by an event or a progress
//!   notification) a watch misses no event of the reference;
//! - **resumable**: a watch opened at a revision starts there, and a watcher that reopens
//!   continues right after what it saw, or from a snapshot read that matches the reference, or
//!   differs from it only where a write whose answer was lost, in a hole no watch saw, made the
//!   difference (see `snapshot`);
//! - **bookmarkable**: after a progress notification at `r`, no event at or below `r` arrives.
//!   An event *at* `r` is only noted (etcd before 3.4.25 / 3.5.8 may send the notification
//!   first), and with [`Context::lenient_progress`] so are events below it (those versions answer
//!   a progress request with their current revision even to a watch still catching up). A
//!   notification below what was already delivered is harmless and only noted;
//! - **prevKV**: an event's previous pair is the reference's state of the key before it (in a
//!   watch's first answer it may be missing: etcd records a new watch's prev_kv flag only after
//!   registering the watch, a race that is noted, not held against the client);
//! - **isCreate**: a put creates (`create_revision == mod_revision`, version 1) exactly when the
//!   key did not exist before.
//!
//! Plus: events only for watched keys, each put's value written by exactly one client operation
//! (and at the revision it was answered with), every acknowledged write in the reference.

use std::collections::{BTreeMap, HashMap};

pub use super::Lost;
use super::{Pair, RefDelete, WatchReport};
use crate::history::{Interner, Sym, Time};
use crate::model::v3::Kv;

/// One event as a watch delivered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// A put (else a delete).
    pub put: bool,
    /// The pair after the event (for a delete: its key and revision).
    pub kv: Kv,
    /// The pair before it, when the watch asked for it and the key existed.
    pub prev: Option<Kv>,
}

/// What a watch yielded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// One answer's events.
    Events {
        /// When it arrived.
        at: Time,
        /// The answer's header revision.
        revision: i64,
        /// Its events.
        events: Vec<Event>,
    },
    /// A progress notification.
    Progress {
        /// When it arrived.
        at: Time,
        /// The store revision it confirms.
        revision: i64,
    },
    /// The watch ended: its history was compacted.
    Compacted {
        /// When.
        at: Time,
        /// The compaction revision.
        compact_revision: i64,
    },
    /// The watch ended with an error.
    Ended {
        /// When.
        at: Time,
        /// The error.
        error: String,
    },
}

/// A read of the watched prefix taken before a watcher reopened after a compaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The read's revision.
    pub rev: i64,
    /// When its answer arrived: a write invoked later cannot explain what it shows.
    pub at: Time,
    /// The pairs it returned.
    pub kvs: Vec<Kv>,
}

/// One watch opened by a watcher (a watcher reopens after its watch ended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The watcher.
    pub watcher: usize,
    /// The watched prefix.
    pub prefix: String,
    /// Whether it asked for previous pairs.
    pub prev_kv: bool,
    /// The revision it started at.
    pub start_rev: i64,
    /// The read it reopened from, if any.
    pub snapshot: Option<Snapshot>,
    /// What it yielded, in order.
    pub items: Vec<Item>,
}

/// A write the key-value history saw answered, with its revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Acked {
    /// The operation (for reports).
    pub op: usize,
    /// Its revision.
    pub rev: i64,
    /// The key.
    pub key: Sym,
    /// `Some((value, lease))` for a put, `None` for a delete.
    pub put: Option<(Sym, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RefEvent {
    put: Option<(Sym, i64)>,
}

/// Everything a validation needs besides the watches.
#[derive(Debug)]
pub struct Context<'a> {
    /// Key and value names.
    pub names: &'a Interner,
    /// Acknowledged writes.
    pub acked: &'a [Acked],
    /// Which operation wrote each value (every put of the history, known or not).
    pub writers: &'a HashMap<Sym, usize>,
    /// Writes whose answers were lost: where no watch saw a revision, one of them may be what
    /// makes a snapshot read differ from the reference (see [`Lost`]).
    pub lost: &'a [Lost],
    /// The revision at which the watched prefixes were empty and the watches start from.
    pub base_rev: i64,
    /// etcd before 3.4.25 / 3.5.8 answers a progress *request* with its current revision
    /// even to a watch still catching up, so events below it may follow: with this set, such
    /// cases are notes rather than violations.
    pub lenient_progress: bool,
    /// The prefix holding every key of the traffic: only watches of it count towards
    /// [`WatchReport::covered`] (`None`: every watch does).
    pub full_prefix: Option<&'a str>,
}

fn same(a: &Kv, b: &Kv) -> bool {
    (a.key, a.value, a.mod_rev, a.create_rev, a.version, a.lease)
        == (b.key, b.value, b.mod_rev, b.create_rev, b.version, b.lease)
}

/// Checks every segment against the reference built from all of them and the acknowledged
/// writes.
pub fn validate(segments: &[Segment], cx: &Context<'_>) -> WatchReport {
    let mut report = WatchReport::default();
    let name = |k: Sym| cx.names.name(k).to_string();
    let in_prefix = |k: Sym, p: &str| cx.names.name(k).starts_with(p);

    // The reference: every event any watch saw, every pair a snapshot read returned, and every
    // acknowledged write.
    let mut reference: BTreeMap<(i64, Sym), RefEvent> = BTreeMap::new();
    let mut add =
        |rev: i64, key: Sym, ev: RefEvent, from: &str, report: &mut WatchReport| match reference
            .get(&(rev, key))
        {
            Some(old) if *old != ev => report.gap(format!(
                "at revision {rev} key {}: {from} says {ev:?}, another source {old:?}",
                name(key)
            )),
            Some(_) => {}
            None => {
                reference.insert((rev, key), ev);
            }
        };
    // When each event first reached a watch.
    let mut arrived: HashMap<(i64, Sym), Time> = HashMap::new();
    for seg in segments {
        // A snapshot read observes the put behind each pair it returns, at the pair's revision
        // (a write no watch saw, whose answer may have been lost).
        if let Some(snap) = &seg.snapshot {
            let from = format!("watcher {}'s snapshot at {}", seg.watcher, snap.rev);
            for kv in &snap.kvs {
                let ev = RefEvent {
                    put: Some((kv.value, kv.lease)),
                };
                add(kv.mod_rev, kv.key, ev, &from, &mut report);
            }
        }
        for item in &seg.items {
            if let Item::Events { events, at, .. } = item {
                for e in events {
                    let t = arrived.entry((e.kv.mod_rev, e.kv.key)).or_insert(*at);
                    *t = (*t).min(*at);
                    let ev = RefEvent {
                        put: e.put.then_some((e.kv.value, e.kv.lease)),
                    };
                    let from = format!("watcher {}", seg.watcher);
                    add(e.kv.mod_rev, e.kv.key, ev, &from, &mut report);
                }
            }
        }
    }
    for a in cx.acked {
        let from = format!("the answer to operation {}", a.op);
        add(a.rev, a.key, RefEvent { put: a.put }, &from, &mut report);
    }

    // Replay it: the pair before and after every event.
    let mut state: HashMap<Sym, Kv> = HashMap::new();
    let mut before: HashMap<(i64, Sym), Option<Kv>> = HashMap::new();
    let mut after: HashMap<(i64, Sym), Kv> = HashMap::new();
    let mut value_at: HashMap<Sym, (i64, Sym)> = HashMap::new();
    for (&(rev, key), ev) in &reference {
        if rev <= cx.base_rev {
            report.fail(format!(
                "event at revision {rev}, before the watches' base {}",
                cx.base_rev
            ));
            continue;
        }
        let prev = state.get(&key).copied();
        before.insert((rev, key), prev);
        match ev.put {
            Some((value, lease)) => {
                let kv = Kv {
                    key,
                    value,
                    mod_rev: rev,
                    create_rev: prev.map_or(rev, |p| p.create_rev),
                    version: prev.map_or(1, |p| p.version + 1),
                    lease,
                };
                state.insert(key, kv);
                after.insert((rev, key), kv);
                report.seen.insert(value, (rev, kv.create_rev));
                if let Some(&t) = arrived.get(&(rev, key)) {
                    report.seen_at.insert(value, t);
                }
                report.before.insert(value, prev.map(pair));
                if let Some((r0, k0)) = value_at.insert(value, (rev, key)) {
                    report.fail(format!(
                        "value {} written twice: at revision {r0} ({}) and {rev} ({}): a write applied twice",
                        cx.names.name(value),
                        name(k0),
                        name(key)
                    ));
                }
                if !cx.writers.contains_key(&value) {
                    report.fail(format!(
                        "revision {rev} puts {} = {}, a value no client wrote",
                        name(key),
                        cx.names.name(value)
                    ));
                }
            }
            None => {
                if prev.is_none() {
                    report.gap(format!(
                        "revision {rev} deletes {}, which did not exist",
                        name(key)
                    ));
                }
                report.deletes.push(RefDelete {
                    key,
                    rev,
                    at: arrived.get(&(rev, key)).copied(),
                    prev: prev.map(pair),
                });
                state.remove(&key);
            }
        }
    }
    let state_at = |rev: i64, prefix: &str| -> HashMap<Sym, Kv> {
        let mut s: HashMap<Sym, Kv> = HashMap::new();
        for (&(r, key), ev) in reference.range(..=(rev, Sym(u32::MAX))) {
            if r <= cx.base_rev || !in_prefix(key, prefix) {
                continue;
            }
            match ev.put {
                Some(_) => {
                    if let Some(kv) = after.get(&(r, key)) {
                        s.insert(key, *kv);
                    }
                }
                None => {
                    s.remove(&key);
                }
            }
        }
        s
    };

    // Each segment against the reference.
    let mut last_end: HashMap<usize, (i64, bool)> = HashMap::new();
    let mut mismatches: Vec<snapshot::Mismatch> = Vec::new();
    for seg in segments {
        let w = seg.watcher;
        let begin = seg.start_rev;
        // Resumable: where it reopened.
        if let Some(&(end, compacted)) = last_end.get(&w) {
            match &seg.snapshot {
                Some(snap) => {
                    report.resyncs += 1;
                    if begin != snap.rev + 1 {
                        report.gap(format!(
                            "watcher {w} reopened at {begin} after a snapshot at {}",
                            snap.rev
                        ));
                    }
                    let expected = state_at(snap.rev, &seg.prefix);
                    // Settled once every watch's coverage is known (below).
                    mismatches.extend(snapshot::compare(w, snap, &expected, end, cx.lost));
                }
                None if compacted => report.gap(format!(
                    "watcher {w} reopened at {begin} after a compaction without reading the keys"
                )),
                None if begin != end + 1 => report.gap(format!(
                    "watcher {w} reopened at {begin}, not right after {end} where it stopped"
                )),
                None => {}
            }
        }
        let mut delivered: HashMap<(i64, Sym), usize> = HashMap::new();
        let mut last_rev = begin - 1;
        let mut progress = i64::MIN;
        let mut end = begin - 1;
        let mut compacted = false;
        // The last revision up to which this watch surely delivered everything: its last
        // event's, or a progress notification's where those are trusted.
        let mut complete = begin - 1;
        let mut answered = false;
        for (n, item) in seg.items.iter().enumerate() {
            match item {
                Item::Events {
                    revision, events, ..
                } => {
                    let first_answer = !std::mem::replace(&mut answered, true);
                    let mut per_rev: BTreeMap<i64, usize> = BTreeMap::new();
                    for e in events {
                        report.events += 1;
                        let (rev, key) = (e.kv.mod_rev, e.kv.key);
                        if !in_prefix(key, &seg.prefix) {
                            report.fail(format!(
                                "watcher {w} got {} at {rev}, outside its prefix {}",
                                name(key),
                                seg.prefix
                            ));
                            continue;
                        }
                        if rev < begin {
                            report.fail(format!(
                                "watcher {w} (resumable) opened at {begin} got an event at {rev}"
                            ));
                        }
                        if rev < last_rev {
                            report.fail(format!(
                                "watcher {w} (ordered): revision {rev} after {last_rev}"
                            ));
                        }
                        if rev < progress && !cx.lenient_progress {
                            report.fail(format!(
                                "watcher {w} (bookmarkable): event at {rev} after progress at {progress}"
                            ));
                        } else if rev <= progress {
                            // etcd before 3.4.25 / 3.5.8 may notify progress at a revision whose
                            // events it has not sent yet: noted, not held against the client.
                            report.notes.push(format!(
                                "watcher {w}: progress at {progress} came before an event at {rev}"
                            ));
                        }
                        if rev > *revision {
                            report.fail(format!(
                                "watcher {w}: event at {rev} in an answer at revision {revision}"
                            ));
                        }
                        last_rev = last_rev.max(rev);
                        end = end.max(rev);
                        complete = complete.max(rev);
                        *per_rev.entry(rev).or_default() += 1;
                        if delivered.insert((rev, key), n).is_some() {
                            report.fail(format!(
                                "watcher {w} (unique): {} at {rev} delivered twice",
                                name(key)
                            ));
                        }
                        let prev_kv = match seg.prev_kv {
                            false => PrevKv::Off,
                            true if first_answer => PrevKv::FirstAnswer,
                            true => PrevKv::On,
                        };
                        check_event(w, prev_kv, e, &before, &after, &name, &mut report);
                    }
                    // Atomic: every event of each revision in this one answer.
                    for (rev, count) in per_rev {
                        let all = reference
                            .range((rev, Sym(0))..=(rev, Sym(u32::MAX)))
                            .filter(|((_, k), _)| in_prefix(*k, &seg.prefix))
                            .count();
                        if count < all {
                            report.fail(format!(
                                "watcher {w} (atomic): {count} of revision {rev}'s {all} events in one answer"
                            ));
                        }
                    }
                }
                Item::Progress { revision, .. } => {
                    if *revision < last_rev {
                        // Harmless (everything up to it was delivered): a member behind the one
                        // the watch left answered. Noted.
                        report.notes.push(format!(
                            "watcher {w}: progress at {revision} after an event at {last_rev}"
                        ));
                    }
                    progress = progress.max(*revision);
                    end = end.max(*revision);
                    if !cx.lenient_progress {
                        complete = complete.max(*revision);
                    }
                }
                Item::Compacted { .. } => compacted = true,
                Item::Ended { .. } => {}
            }
        }
        // Reliable: nothing of the reference missed between its start and its end.
        // (A segment that saw nothing has end = begin - 1: nothing to check, and no range.)
        let window =
            (end >= begin).then(|| reference.range((begin, Sym(0))..=(end, Sym(u32::MAX))));
        for (&(rev, key), _) in window.into_iter().flatten() {
            if in_prefix(key, &seg.prefix) && !delivered.contains_key(&(rev, key)) {
                report.gap(format!(
                    "watcher {w} (reliable) missed {} at revision {rev} (it saw {begin}..={end})",
                    name(key)
                ));
            }
        }
        last_end.insert(w, (end, compacted));
        // Only a watch of the whole traffic's prefix vouches for every key of it.
        if cx.full_prefix.is_none_or(|p| seg.prefix == p) {
            report.cover(begin, complete);
        }
    }
    report.merge_covered();
    for m in mismatches {
        m.settle(&name, &mut report);
    }
    report
}

fn pair(kv: Kv) -> Pair {
    Pair {
        key: kv.key,
        value: kv.value,
        rev: kv.mod_rev,
        created: kv.create_rev,
        version: kv.version,
        lease: kv.lease,
    }
}

/// Whether a watch asked for previous pairs, and whether an event came in its first answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrevKv {
    /// Not asked for.
    Off,
    /// Asked for; the watch's first answer. etcd (3.4 and 3.5) registers a new watch before it
    /// records that the watch wants previous pairs, so an answer sent in between (the first)
    /// may lack them: a missing pair there is noted, a wrong one is still a violation.
    FirstAnswer,
    /// Asked for.
    On,
}

/// prevKV, isCreate and the pair of one event against the reference replay.
fn check_event(
    w: usize,
    prev_kv: PrevKv,
    e: &Event,
    before: &HashMap<(i64, Sym), Option<Kv>>,
    after: &HashMap<(i64, Sym), Kv>,
    name: &impl Fn(Sym) -> String,
    report: &mut WatchReport,
) {
    let at = (e.kv.mod_rev, e.kv.key);
    let Some(was) = before.get(&at) else { return };
    let fields = |p: &Kv| (p.key, p.value, p.mod_rev, p.create_rev, p.version, p.lease);
    if prev_kv != PrevKv::Off && e.prev.as_ref().map(fields) != was.as_ref().map(fields) {
        if prev_kv == PrevKv::FirstAnswer && e.prev.is_none() {
            report.notes.push(format!(
                "watcher {w}: {} at {} came without its previous pair in the watch's first \
                 answer (etcd's race between registering a watch and its prev_kv flag)",
                name(e.kv.key),
                e.kv.mod_rev
            ));
        } else {
            report.fail(format!(
                "watcher {w} (prevKV): {} at {} has prev {:?}, the reference {was:?}",
                name(e.kv.key),
                e.kv.mod_rev,
                e.prev
            ));
        }
    }
    if !e.put {
        return;
    }
    let creates = e.kv.create_rev == e.kv.mod_rev;
    if creates != was.is_none() || (e.kv.version == 1) != was.is_none() {
        report.fail(format!(
            "watcher {w} (isCreate): {} at {} says create={creates} version={}, but the key {} before",
            name(e.kv.key),
            e.kv.mod_rev,
            e.kv.version,
            if was.is_none() { "did not exist" } else { "existed" }
        ));
    }
    if let Some(kv) = after.get(&at) {
        if !same(kv, &e.kv) {
            report.fail(format!(
                "watcher {w}: {} at {} is {:?}, the reference {kv:?}",
                name(e.kv.key),
                e.kv.mod_rev,
                e.kv
            ));
        }
    }
}

mod snapshot;

#[cfg(test)]
mod tests;
