//! Lost answers settled by what was observed, as etcd's robustness suite does. Values are unique
//! per write, so:
//!
//! - an unknown write whose value is in the watches' reference, or in an answer (a read, a
//!   write's previous pair) at a revision the watches did not cover, **happened**, at that revision (v2: index): its answer is filled in
//!   — the revision, the created revision and, where the reference is complete up to it, the
//!   previous pair — and it gets a completion bound: it had taken effect when its event first
//!   reached a watch, or when a read first returned its value;
//! - an unknown write whose value nobody saw **did not happen** (it is dropped) — but only where
//!   the observation is complete: every revision from the first one it could have had (above
//!   every revision answered before it was invoked) to the final write was delivered by some
//!   watch without a gap (compactions and resyncs leave holes in a watch's coverage). Otherwise
//!   it stays unknown;
//! - an unknown delete is matched with the reference's deletes of its key that no answer
//!   accounts for and that reached a watch after it was invoked: pinned when it and such a
//!   delete can only be each other's, dropped when there is none and the observation is
//!   complete, else kept unknown.
//!
//! Without this every unknown write stays a candidate at every later point of the search, which
//! multiplies its states.
//!
//! Sound only when the reference agrees with itself: the caller patches an API's history only
//! when its watches passed every validator and reached the final write.

use std::collections::HashMap;

use crate::history::{Op, Sym, Time};
use crate::model::v2::{self, NodeSeen};
use crate::model::v3::{self, Kv, TxnOp, TxnResult};
use crate::watch::{Pair, WatchReport};
use crate::wgl::NEVER;

/// How many lost answers were settled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Found applied, at a known revision.
    pub applied: usize,
    /// Found not applied, dropped.
    pub dropped: usize,
    /// Left unknown (not seen where the observation has holes, or ambiguous).
    pub kept: usize,
}

/// What the settling goes by: the watches' report, where the watched keys were empty, and the
/// final write every watch reached.
#[derive(Debug, Clone, Copy)]
pub struct Observed<'a> {
    /// The watches' reference, its arrival times and coverage.
    pub watch: &'a WatchReport,
    /// The revision (v2: index) at which the watched keys were empty and the watches began.
    pub base: i64,
    /// The revision (v2: index) of the final write; 0 for none (nothing is dropped then).
    pub end: i64,
}

impl Observed<'_> {
    /// Whether no write at a revision in `from..=end` can be missing from the reference.
    fn complete_from(&self, from: i64) -> bool {
        // Nothing of the watched keys was written at or below the base.
        self.end > 0 && self.watch.covers(from.max(self.base + 1), self.end)
    }

    /// Whether the reference holds every write up to `rev` (its previous pairs are right).
    fn complete_to(&self, rev: i64) -> bool {
        self.watch.covers(self.base + 1, rev)
    }
}

/// Deadlines of operations left unknown, by (client, invocation): the time by which each had
/// taken effect if it ever did (see [`crate::wgl::Call::deadline`]).
pub type Deadlines = HashMap<(usize, Time), Time>;

/// The earliest completion of an answer at a revision of at least `h`, for every `h`: built
/// from `(revision, completion)` pairs.
struct Answered(Vec<(i64, Time)>);

impl Answered {
    fn new(mut at: Vec<(i64, Time)>) -> Answered {
        at.sort_unstable();
        let mut best = NEVER;
        for a in at.iter_mut().rev() {
            best = best.min(a.1);
            a.1 = best;
        }
        Answered(at)
    }

    fn from(&self, h: i64) -> Time {
        let i = self.0.partition_point(|&(r, _)| r < h);
        self.0.get(i).map_or(NEVER, |a| a.1)
    }
}

/// The deadline of an unknown write whose value nobody saw: had it happened at a revision up
/// to the final write, that revision is in a hole of the watches' coverage (a covered one would
/// hold its value) above `floor`; so it happened before any answer at or above the last such
/// hole completed. (Had it happened after the final write, nothing observed it: the same as
/// never.) `None`: there is no hole, it did not happen up to the final write.
fn hole_deadline(floor: i64, obs: &Observed<'_>, answered: &Answered) -> Option<Time> {
    if obs.end <= 0 {
        return Some(NEVER);
    }
    obs.watch
        .last_hole((floor + 1).max(obs.base + 1), obs.end)
        .map(|h| answered.from(h))
}

/// [`hole_deadline`], [`NEVER`] for none.
fn unseen_deadline(floor: i64, obs: &Observed<'_>, answered: &Answered) -> Time {
    hole_deadline(floor, obs, answered).unwrap_or(NEVER)
}

/// For each operation, the greatest revision answered by an operation that completed before it
/// was invoked (`rev_of` of an answer; 0 for none): its own revision, if it writes, is above.
fn floors<I, O>(ops: &[Op<I, O>], rev_of: impl Fn(&O) -> Option<i64>) -> Vec<i64> {
    let mut done: Vec<(Time, i64)> = ops
        .iter()
        .filter_map(|o| Some((o.ret, rev_of(o.output.as_ref()?)?)))
        .collect();
    done.sort_unstable();
    let mut best = 0;
    for d in &mut done {
        best = best.max(d.1);
        d.1 = best;
    }
    ops.iter()
        .map(|o| {
            let n = done.partition_point(|&(ret, _)| ret < o.call);
            if n == 0 {
                0
            } else {
                done[n - 1].1
            }
        })
        .collect()
}

/// What the answers showed of each value: the earliest completion of a read (or a write's
/// previous pair) that returned it, and the revision and created revision it had.
#[derive(Debug, Default)]
struct Reads {
    at: HashMap<Sym, Time>,
    rev: HashMap<Sym, (i64, i64)>,
}

/// `values` lists the `(value, revision, created revision)` an answer shows.
fn read_by<I, O>(ops: &[Op<I, O>], values: impl Fn(&O, &mut Vec<(Sym, i64, i64)>)) -> Reads {
    let mut out = Reads::default();
    let mut scratch = Vec::new();
    for op in ops {
        let Some(o) = &op.output else { continue };
        scratch.clear();
        values(o, &mut scratch);
        for &(v, rev, created) in &scratch {
            let t = out.at.entry(v).or_insert(op.ret);
            *t = (*t).min(op.ret);
            out.rev.entry(v).or_insert((rev, created));
        }
    }
    out
}

/// Where the write of `value` happened, if anything saw it: the watches' reference, else an
/// answer that showed it (a read, a write's previous pair) at a revision no watch covered. A
/// value read at a revision the watches covered without it stays unseen: the search then says
/// that the read and the watches disagree.
fn seen(value: Sym, obs: &Observed<'_>, reads: &Reads) -> Option<(i64, i64)> {
    obs.watch.seen.get(&value).copied().or_else(|| {
        reads
            .rev
            .get(&value)
            .copied()
            .filter(|&(rev, _)| !obs.watch.covers(rev, rev))
    })
}

/// When the write of `value` had surely taken effect: its first observation, not before the
/// operation's invocation (an observation before it is the search's to reject).
fn bound(value: Sym, call: Time, obs: &Observed<'_>, reads: &Reads) -> Time {
    let first = match (obs.watch.seen_at.get(&value), reads.at.get(&value)) {
        (Some(&a), Some(&b)) => a.min(b),
        (Some(&a), None) | (None, Some(&a)) => a,
        (None, None) => return NEVER,
    };
    first.max(call)
}

/// Per key, the reference's deletes that no answer accounts for, with when they reached a
/// watch: `(revision, arrival, deleted pair)`.
type Unclaimed = HashMap<Sym, Vec<(i64, Time, Option<Pair>)>>;

/// The reference's deletes that no answer accounts for ([`Unclaimed`]).
fn unclaimed(obs: &Observed<'_>, claimed: &std::collections::HashSet<(Sym, i64)>) -> Unclaimed {
    let mut out = Unclaimed::new();
    for d in &obs.watch.deletes {
        if claimed.contains(&(d.key, d.rev)) {
            continue;
        }
        if let Some(at) = d.at {
            out.entry(d.key).or_default().push((d.rev, at, d.prev));
        }
    }
    out
}

/// An unknown delete to match: its operation's index, key, invocation, floor and, for a v2
/// compare-and-delete, the value and modified index the deleted node must have had.
#[derive(Debug, Clone, Copy)]
struct LostDelete {
    op: usize,
    key: Sym,
    call: Time,
    floor: i64,
    prev_value: Option<Sym>,
    prev_index: Option<i64>,
}

/// How the unknown deletes match the unclaimed deletes of their keys. A delete of the reference
/// that no answer accounts for was made by one of the unknown deletes that could have made it
/// (invoked before it reached a watch, with a floor below its revision, conditions met); each
/// made at most one. Deletes with a single possible maker are given to it, which takes that
/// maker away from the others, until nothing changes. Per operation: `Some(Some(i))` pinned to
/// delete `i` of its key, `Some(None)` no delete is left for it, `None` ambiguous; and for the
/// ambiguous ones, when the last of their candidates reached a watch.
fn match_deletes(
    unknown: &[LostDelete],
    events: &Unclaimed,
) -> (HashMap<usize, Option<usize>>, HashMap<usize, Time>) {
    let none = Vec::new();
    // Candidates both ways, per (key, event index) and per operation.
    let mut of_op: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut of_event: HashMap<(Sym, usize), Vec<usize>> = HashMap::new();
    for d in unknown {
        let evs = events.get(&d.key).unwrap_or(&none);
        let mine: Vec<usize> = (0..evs.len())
            .filter(|&i| {
                let (rev, at, prev) = evs[i];
                at > d.call
                    && rev > d.floor
                    && d.prev_value
                        .is_none_or(|v| prev.is_some_and(|p| p.value == v))
                    && d.prev_index
                        .is_none_or(|x| prev.is_some_and(|p| p.rev == x))
            })
            .collect();
        for &i in &mine {
            of_event.entry((d.key, i)).or_default().push(d.op);
        }
        of_op.insert(d.op, mine);
    }
    let key_of: HashMap<usize, Sym> = unknown.iter().map(|d| (d.op, d.key)).collect();
    let mut pinned: HashMap<usize, usize> = HashMap::new();
    let mut taken: std::collections::HashSet<(Sym, usize)> = std::collections::HashSet::new();
    loop {
        let forced: Vec<((Sym, usize), usize)> = of_event
            .iter()
            .filter(|(e, ops)| !taken.contains(e) && ops.len() == 1)
            .map(|(e, ops)| (*e, ops[0]))
            .collect();
        let mut changed = false;
        for (e, op) in forced {
            if taken.contains(&e) || pinned.contains_key(&op) {
                continue;
            }
            // Still its only maker?
            if of_event.get(&e).is_none_or(|ops| ops != &[op]) {
                continue;
            }
            pinned.insert(op, e.1);
            taken.insert(e);
            changed = true;
            // The operation made this one, no other.
            for other in of_op.get(&op).cloned().unwrap_or_default() {
                if other != e.1 {
                    if let Some(ops) = of_event.get_mut(&(e.0, other)) {
                        ops.retain(|o| *o != op);
                    }
                }
            }
            of_op.insert(op, vec![e.1]);
        }
        // Taken deletes are no longer candidates of anyone else.
        for (op, evs) in of_op.iter_mut() {
            if pinned.contains_key(op) {
                continue;
            }
            let before = evs.len();
            evs.retain(|i| !taken.contains(&(key_of[op], *i)));
            changed |= evs.len() != before;
        }
        if !changed {
            break;
        }
    }
    let mut out = HashMap::new();
    let mut latest = HashMap::new();
    for d in unknown {
        if let Some(&i) = pinned.get(&d.op) {
            out.insert(d.op, Some(i));
            continue;
        }
        let evs = &of_op[&d.op];
        if evs.is_empty() {
            out.insert(d.op, None);
        } else if let Some(t) = evs.iter().map(|&i| events[&d.key][i].1).max() {
            latest.insert(d.op, t);
        }
    }
    (out, latest)
}

/// The deadline of a kept unknown delete: it took effect (if it deleted anything) at one of its
/// candidate deletes, before the last of them reached a watch, or in a hole of the coverage.
fn delete_deadline(
    latest: Option<Time>,
    floor: i64,
    obs: &Observed<'_>,
    answered: &Answered,
) -> Time {
    let hole = hole_deadline(floor, obs, answered);
    match (latest, hole) {
        (None, None) => NEVER,
        (a, b) => a.unwrap_or(0).max(b.unwrap_or(0)),
    }
}

fn kv(p: Pair) -> Kv {
    Kv {
        key: p.key,
        value: p.value,
        mod_rev: p.rev,
        create_rev: p.created,
        version: p.version,
        lease: p.lease,
    }
}

fn node_seen(p: Pair) -> NodeSeen {
    NodeSeen {
        value: p.value,
        modified: u64::try_from(p.rev).unwrap_or(0),
        created: u64::try_from(p.created).unwrap_or(0),
    }
}

/// The v3 history with its unknown puts, deletes and transactions whose success branch only
/// puts settled by `obs`.
pub fn v3(
    ops: &[Op<v3::Request, v3::Response>],
    obs: &Observed<'_>,
) -> (Vec<Op<v3::Request, v3::Response>>, Settled, Deadlines) {
    let floor = floors(ops, |o| Some(o.rev()).filter(|r| *r > 0));
    // Every answer's header revision: the member had applied everything up to it.
    let answered = Answered::new(
        ops.iter()
            .filter_map(|o| Some((o.output.as_ref()?.rev(), o.ret)))
            .filter(|&(r, _)| r > 0)
            .collect(),
    );
    let mut deadlines = Deadlines::new();
    let reads = read_by(ops, |o, out| {
        let kv = |kv: &Kv| (kv.value, kv.mod_rev, kv.create_rev);
        match o {
            v3::Response::Get { kv: Some(k), .. } => out.push(kv(k)),
            v3::Response::Put { prev: Some(p), .. }
            | v3::Response::Delete { prev: Some(p), .. } => out.push(kv(p)),
            v3::Response::Txn { results, .. } => {
                out.extend(results.iter().filter_map(|r| match r {
                    TxnResult::Get(Some(k)) => Some(kv(k)),
                    _ => None,
                }))
            }
            _ => {}
        }
    });
    // Deletes that answers account for; keys a lease may delete are left alone.
    let mut claimed = std::collections::HashSet::new();
    let mut leased = std::collections::HashSet::new();
    for op in ops {
        match (&op.input, &op.output) {
            (
                v3::Request::Delete { key, .. },
                Some(v3::Response::Delete {
                    rev, deleted: 1, ..
                }),
            ) => {
                claimed.insert((*key, *rev));
            }
            (
                v3::Request::Txn {
                    success, failure, ..
                },
                Some(v3::Response::Txn {
                    rev,
                    succeeded,
                    results,
                }),
            ) => {
                let branch = if *succeeded { success } else { failure };
                for (s, r) in branch.iter().zip(results) {
                    if let (TxnOp::Delete(k), TxnResult::Delete(1)) = (s, r) {
                        claimed.insert((*k, *rev));
                    }
                }
            }
            (v3::Request::LeaseRevoke { keys, .. }, _) => leased.extend(keys.iter().copied()),
            _ => {}
        }
    }
    let events = unclaimed(obs, &claimed);
    let deletes: Vec<LostDelete> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match (&op.input, &op.output) {
            (v3::Request::Delete { key, .. }, None) if !leased.contains(key) => Some(LostDelete {
                op: i,
                key: *key,
                call: op.call,
                floor: floor[i],
                prev_value: None,
                prev_index: None,
            }),
            _ => None,
        })
        .collect();
    let (matched, latest) = match_deletes(&deletes, &events);

    let mut out = Vec::with_capacity(ops.len());
    let mut n = Settled::default();
    for (i, op) in ops.iter().enumerate() {
        if op.output.is_some() {
            out.push(op.clone());
            continue;
        }
        let complete = obs.complete_from(floor[i] + 1);
        match &op.input {
            v3::Request::Put {
                key, value, lease, ..
            } => match seen(*value, obs, &reads) {
                Some((rev, _)) => {
                    n.applied += 1;
                    // The previous pair, where the reference holds every write before it.
                    let prev = obs
                        .watch
                        .before
                        .get(value)
                        .filter(|_| obs.complete_to(rev))
                        .map(|p| p.map(kv));
                    out.push(Op {
                        ret: bound(*value, op.call, obs, &reads),
                        input: v3::Request::Put {
                            key: *key,
                            value: *value,
                            lease: *lease,
                            prev_kv: prev.is_some(),
                        },
                        output: Some(v3::Response::Put {
                            rev,
                            prev: prev.flatten(),
                        }),
                        ..op.clone()
                    });
                }
                None if complete => n.dropped += 1,
                None => {
                    n.kept += 1;
                    let d = unseen_deadline(floor[i], obs, &answered);
                    if d != NEVER {
                        deadlines.insert((op.client, op.call), d);
                    }
                    out.push(op.clone());
                }
            },
            v3::Request::Delete { key, .. } => match matched.get(&i) {
                Some(Some(at)) => {
                    let (rev, seen_at, prev) = events[key][*at];
                    let prev = prev.filter(|_| obs.complete_to(rev)).map(kv);
                    n.applied += 1;
                    out.push(Op {
                        ret: seen_at.max(op.call),
                        input: v3::Request::Delete {
                            key: *key,
                            prev_kv: prev.is_some(),
                        },
                        output: Some(v3::Response::Delete {
                            rev,
                            deleted: 1,
                            prev,
                        }),
                        ..op.clone()
                    });
                }
                // It deleted nothing (or never ran): no change either way.
                Some(None) if complete => n.dropped += 1,
                _ => {
                    n.kept += 1;
                    let d = delete_deadline(latest.get(&i).copied(), floor[i], obs, &answered);
                    if d != NEVER {
                        deadlines.insert((op.client, op.call), d);
                    }
                    out.push(op.clone());
                }
            },
            v3::Request::Txn {
                success, failure, ..
            } if !success.is_empty()
                && success.iter().all(|s| matches!(s, TxnOp::Put(..)))
                && failure.iter().all(|s| matches!(s, TxnOp::Get(_))) =>
            {
                let revs: Vec<Option<i64>> = success
                    .iter()
                    .map(|s| match s {
                        TxnOp::Put(_, v, _) => seen(*v, obs, &reads).map(|(r, _)| r),
                        _ => None,
                    })
                    .collect();
                match revs.first().copied().flatten() {
                    // Applied: every put of the branch at one revision (else: keep it unknown,
                    // the watch validators have said what is wrong).
                    Some(rev) if revs.iter().all(|r| *r == Some(rev)) => {
                        n.applied += 1;
                        let ret = success
                            .iter()
                            .filter_map(|s| match s {
                                TxnOp::Put(_, v, _) => Some(bound(*v, op.call, obs, &reads)),
                                _ => None,
                            })
                            .min()
                            .unwrap_or(NEVER);
                        out.push(Op {
                            ret,
                            output: Some(v3::Response::Txn {
                                rev,
                                succeeded: true,
                                results: vec![TxnResult::Put; success.len()],
                            }),
                            ..op.clone()
                        });
                    }
                    // No put seen: the success branch never ran; the failure branch only reads.
                    None if complete && revs.iter().all(Option::is_none) => n.dropped += 1,
                    unseen => {
                        n.kept += 1;
                        if unseen.is_none() && revs.iter().all(Option::is_none) {
                            let d = unseen_deadline(floor[i], obs, &answered);
                            if d != NEVER {
                                deadlines.insert((op.client, op.call), d);
                            }
                        }
                        out.push(op.clone());
                    }
                }
            }
            _ => {
                n.kept += 1;
                out.push(op.clone());
            }
        }
    }
    (out, n, deadlines)
}

/// The v2 history with its unknown set, create, compare-and-swap, delete and
/// compare-and-delete settled by `obs`.
pub fn v2(
    ops: &[Op<v2::Request, v2::Response>],
    obs: &Observed<'_>,
) -> (Vec<Op<v2::Request, v2::Response>>, Settled, Deadlines) {
    let index = |i: u64| i64::try_from(i).unwrap_or(i64::MAX);
    // The writes' own indexes (a read shows the key's, not the store's).
    let answered = Answered::new(
        ops.iter()
            .filter_map(|o| match o.output? {
                v2::Response::Node { node, .. } | v2::Response::Applied { node }
                    if o.input.is_write() =>
                {
                    Some((index(node.modified), o.ret))
                }
                v2::Response::Deleted { index: i, .. } => Some((index(i), o.ret)),
                _ => None,
            })
            .collect(),
    );
    let mut deadlines = Deadlines::new();
    let floor = floors(ops, |o| match o {
        v2::Response::Node { node, .. } | v2::Response::Applied { node } => {
            Some(index(node.modified))
        }
        v2::Response::Deleted { index: i, .. } => Some(index(*i)),
        _ => None,
    });
    let reads = read_by(ops, |o, out| {
        let n = |n: &NodeSeen| (n.value, index(n.modified), index(n.created));
        match o {
            v2::Response::Node { node, prev } => {
                out.push(n(node));
                out.extend(prev.as_ref().map(n));
            }
            v2::Response::Deleted { prev: Some(p), .. } => out.push(n(p)),
            _ => {}
        }
    });
    let mut claimed = std::collections::HashSet::new();
    for op in ops {
        if let Some(v2::Response::Deleted { index: i, .. }) = op.output {
            claimed.insert((op.input.key(), index(i)));
        }
    }
    let events = unclaimed(obs, &claimed);
    let deletes: Vec<LostDelete> = ops
        .iter()
        .enumerate()
        .filter_map(|(i, op)| {
            let (key, prev_value, prev_index) = match (op.input, &op.output) {
                (v2::Request::Delete(k), None) => (k, None, None),
                (
                    v2::Request::Cad {
                        key,
                        prev_value,
                        prev_index,
                    },
                    None,
                ) => (key, prev_value, prev_index.map(index)),
                _ => return None,
            };
            Some(LostDelete {
                op: i,
                key,
                call: op.call,
                floor: floor[i],
                prev_value,
                prev_index,
            })
        })
        .collect();
    let (matched, latest) = match_deletes(&deletes, &events);

    let mut out = Vec::with_capacity(ops.len());
    let mut n = Settled::default();
    for (i, op) in ops.iter().enumerate() {
        if op.output.is_some() {
            out.push(op.clone());
            continue;
        }
        let complete = obs.complete_from(floor[i] + 1);
        let value = match op.input {
            v2::Request::Set(_, v) | v2::Request::Create(_, v) => Some(v),
            v2::Request::Cas { value, .. } => Some(value),
            _ => None,
        };
        if let Some(v) = value {
            match seen(v, obs, &reads) {
                Some((at, created)) => {
                    n.applied += 1;
                    let node = NodeSeen {
                        value: v,
                        modified: u64::try_from(at).unwrap_or(0),
                        created: u64::try_from(created).unwrap_or(0),
                    };
                    let prev = obs
                        .watch
                        .before
                        .get(&v)
                        .filter(|_| obs.complete_to(at))
                        .map(|p| p.map(node_seen));
                    let output = match prev {
                        Some(prev) => v2::Response::Node { node, prev },
                        None => v2::Response::Applied { node },
                    };
                    out.push(Op {
                        ret: bound(v, op.call, obs, &reads),
                        output: Some(output),
                        ..op.clone()
                    });
                }
                None if complete => n.dropped += 1,
                None => {
                    n.kept += 1;
                    let d = unseen_deadline(floor[i], obs, &answered);
                    if d != NEVER {
                        deadlines.insert((op.client, op.call), d);
                    }
                    out.push(op.clone());
                }
            }
            continue;
        }
        match matched.get(&i) {
            // A v2 delete's answer carries the deleted node: pinned only where the reference
            // holds it.
            Some(Some(at)) if obs.complete_to(events[&op.input.key()][*at].0) => {
                let (at, seen_at, prev) = events[&op.input.key()][*at];
                n.applied += 1;
                out.push(Op {
                    ret: seen_at.max(op.call),
                    output: Some(v2::Response::Deleted {
                        index: u64::try_from(at).unwrap_or(0),
                        prev: prev.map(node_seen),
                    }),
                    ..op.clone()
                });
            }
            Some(None) if complete => n.dropped += 1,
            _ => {
                n.kept += 1;
                let d = delete_deadline(latest.get(&i).copied(), floor[i], obs, &answered);
                if d != NEVER {
                    deadlines.insert((op.client, op.call), d);
                }
                out.push(op.clone());
            }
        }
    }
    (out, n, deadlines)
}

/// The former rule, kept to compare checker times on one history: an unknown put (or
/// transaction whose success branch only puts) whose value is in `seen` (value → (revision,
/// created revision)) happened, with no completion bound; any other did not. Unsound where the
/// watches have holes (a resync, a compaction every watch went through): a write in a hole is
/// dropped though it happened.
pub fn watch_only_v3(
    ops: &[Op<v3::Request, v3::Response>],
    seen: &HashMap<Sym, (i64, i64)>,
) -> (Vec<Op<v3::Request, v3::Response>>, Settled) {
    let mut out = Vec::with_capacity(ops.len());
    let mut n = Settled::default();
    for op in ops {
        if op.output.is_some() {
            out.push(op.clone());
            continue;
        }
        match &op.input {
            v3::Request::Put {
                key, value, lease, ..
            } => match seen.get(value) {
                Some(&(rev, _)) => {
                    n.applied += 1;
                    out.push(Op {
                        ret: NEVER,
                        input: v3::Request::Put {
                            key: *key,
                            value: *value,
                            lease: *lease,
                            prev_kv: false,
                        },
                        output: Some(v3::Response::Put { rev, prev: None }),
                        ..op.clone()
                    });
                }
                None => n.dropped += 1,
            },
            v3::Request::Txn {
                success, failure, ..
            } if !success.is_empty()
                && success.iter().all(|s| matches!(s, TxnOp::Put(..)))
                && failure.iter().all(|s| matches!(s, TxnOp::Get(_))) =>
            {
                let revs: Vec<Option<i64>> = success
                    .iter()
                    .map(|s| match s {
                        TxnOp::Put(_, v, _) => seen.get(v).map(|&(r, _)| r),
                        _ => None,
                    })
                    .collect();
                match revs.first().copied().flatten() {
                    // Applied: every put of the branch at one revision (else: keep it unknown,
                    // the watch validators have said what is wrong).
                    Some(rev) if revs.iter().all(|r| *r == Some(rev)) => {
                        n.applied += 1;
                        out.push(Op {
                            ret: NEVER,
                            output: Some(v3::Response::Txn {
                                rev,
                                succeeded: true,
                                results: vec![TxnResult::Put; success.len()],
                            }),
                            ..op.clone()
                        });
                    }
                    // No put seen: the success branch never ran; the failure branch only reads.
                    None if revs.iter().all(Option::is_none) => n.dropped += 1,
                    _ => out.push(op.clone()),
                }
            }
            _ => out.push(op.clone()),
        }
    }
    (out, n)
}

/// [`watch_only_v3`] for v2.
pub fn watch_only_v2(
    ops: &[Op<v2::Request, v2::Response>],
    seen: &HashMap<Sym, (i64, i64)>,
) -> (Vec<Op<v2::Request, v2::Response>>, Settled) {
    let mut out = Vec::with_capacity(ops.len());
    let mut n = Settled::default();
    for op in ops {
        let value = match op.input {
            v2::Request::Set(_, v) | v2::Request::Create(_, v) => Some(v),
            v2::Request::Cas { value, .. } => Some(value),
            _ => None,
        };
        match (value, &op.output) {
            (Some(v), None) => match seen.get(&v) {
                Some(&(index, created)) => {
                    n.applied += 1;
                    let node = NodeSeen {
                        value: v,
                        modified: u64::try_from(index).unwrap_or(0),
                        created: u64::try_from(created).unwrap_or(0),
                    };
                    out.push(Op {
                        ret: NEVER,
                        output: Some(v2::Response::Applied { node }),
                        ..op.clone()
                    });
                }
                None => n.dropped += 1,
            },
            _ => out.push(op.clone()),
        }
    }
    (out, n)
}

#[cfg(test)]
mod tests;
