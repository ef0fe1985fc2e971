//! etcd's v3 key space (mvcc) as a sequential model: put, range (one key), delete, transactions
//! with compares on value, version, create and mod revisions, and lease revocation deleting the
//! keys attached. Revisions are checked: a write's revision is above the key's previous one, a
//! read shows the exact revisions and version of the last write.

use super::{Known, Slot, Slots};
use crate::history::Sym;
use crate::wgl::Model;

/// A key-value pair as etcd answered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kv {
    /// The key.
    pub key: Sym,
    /// The value.
    pub value: Sym,
    /// The revision of its last change.
    pub mod_rev: i64,
    /// The revision of its creation.
    pub create_rev: i64,
    /// Puts since its creation.
    pub version: i64,
    /// Its lease, 0 for none.
    pub lease: i64,
}

/// What the model holds of an existing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Node {
    /// The value.
    pub value: Sym,
    /// Its mod revision.
    pub modr: Known,
    /// Its create revision.
    pub create: Known,
    /// Its version.
    pub version: i64,
    /// Its lease.
    pub lease: i64,
}

/// A compare's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The value (only `Equal` and `NotEqual`); fails on a missing key.
    Value(Sym),
    /// The version (0 for a missing key).
    Version(i64),
    /// The mod revision (0 for a missing key).
    Mod(i64),
    /// The create revision (0 for a missing key).
    Create(i64),
    /// The lease (0 for a missing key).
    Lease(i64),
}

/// A compare operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Equal,
    /// `!=`
    NotEqual,
    /// `>`
    Greater,
    /// `<`
    Less,
}

/// One compare of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compare {
    /// The key compared.
    pub key: Sym,
    /// What is compared.
    pub target: Target,
    /// How.
    pub op: CmpOp,
}

/// An operation inside a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnOp {
    /// Read one key.
    Get(Sym),
    /// Put a value (with a lease, 0 for none).
    Put(Sym, Sym, i64),
    /// Delete one key.
    Delete(Sym),
}

/// A v3 request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// A linearizable range read of one key.
    Get(Sym),
    /// A put; `prev_kv` asks for the previous pair.
    Put {
        /// The key.
        key: Sym,
        /// The value.
        value: Sym,
        /// The lease, 0 for none.
        lease: i64,
        /// Whether the answer carries the previous pair.
        prev_kv: bool,
    },
    /// A delete of one key; `prev_kv` asks for the deleted pair.
    Delete {
        /// The key.
        key: Sym,
        /// Whether the answer carries the deleted pair.
        prev_kv: bool,
    },
    /// A transaction.
    Txn {
        /// Compares, all of which must hold for `success` to run.
        compares: Vec<Compare>,
        /// Run when every compare holds.
        success: Vec<TxnOp>,
        /// Run otherwise.
        failure: Vec<TxnOp>,
    },
    /// Revoking a lease, which deletes those of `keys` attached to it.
    LeaseRevoke {
        /// The lease.
        lease: i64,
        /// The keys that may be attached to it.
        keys: Vec<Sym>,
    },
}

impl Request {
    /// The keys the request touches (its partition).
    pub fn keys(&self) -> Vec<Sym> {
        match self {
            Request::Get(k) | Request::Put { key: k, .. } | Request::Delete { key: k, .. } => {
                vec![*k]
            }
            Request::Txn {
                compares,
                success,
                failure,
            } => {
                let mut keys: Vec<Sym> = compares.iter().map(|c| c.key).collect();
                keys.extend(success.iter().chain(failure).map(|op| match op {
                    TxnOp::Get(k) | TxnOp::Put(k, _, _) | TxnOp::Delete(k) => *k,
                }));
                keys.sort_unstable();
                keys.dedup();
                keys
            }
            Request::LeaseRevoke { keys, .. } => keys.clone(),
        }
    }

    /// Whether the request may change the key space.
    pub fn is_write(&self) -> bool {
        match self {
            Request::Get(_) => false,
            Request::Txn {
                success, failure, ..
            } => success
                .iter()
                .chain(failure)
                .any(|op| !matches!(op, TxnOp::Get(_))),
            _ => true,
        }
    }
}

/// The result of one operation of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnResult {
    /// A read: the pair, if the key exists.
    Get(Option<Kv>),
    /// A put.
    Put,
    /// A delete: how many keys it deleted.
    Delete(i64),
}

/// A v3 answer. `rev` is the answer header's revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// A read.
    Get {
        /// Header revision.
        rev: i64,
        /// The pair, if the key exists.
        kv: Option<Kv>,
    },
    /// A put: `rev` is its revision.
    Put {
        /// Header revision.
        rev: i64,
        /// The previous pair, when asked for.
        prev: Option<Kv>,
    },
    /// A delete.
    Delete {
        /// Header revision.
        rev: i64,
        /// How many keys it deleted.
        deleted: i64,
        /// The deleted pair, when asked for.
        prev: Option<Kv>,
    },
    /// A transaction.
    Txn {
        /// Header revision.
        rev: i64,
        /// Whether every compare held.
        succeeded: bool,
        /// One result per operation of the branch that ran.
        results: Vec<TxnResult>,
    },
    /// A lease revocation (answered, or the lease was already gone).
    LeaseRevoke {
        /// Header revision.
        rev: i64,
    },
}

impl Response {
    /// The header revision.
    pub fn rev(&self) -> i64 {
        match self {
            Response::Get { rev, .. }
            | Response::Put { rev, .. }
            | Response::Delete { rev, .. }
            | Response::Txn { rev, .. }
            | Response::LeaseRevoke { rev } => *rev,
        }
    }
}

/// The state of a partition: a slot per key.
pub type State = Slots<Node>;

/// The v3 model.
#[derive(Debug, Default, Clone, Copy)]
pub struct V3;

/// `slot` as it must be for `kv` (`None`: the key is missing) to have been read, if it can.
fn observe(slot: Slot<Node>, kv: Option<&Kv>) -> Option<Slot<Node>> {
    match (slot.node, kv) {
        (None, None) => Some(slot),
        (Some(n), Some(kv)) => {
            if n.value != kv.value
                || n.version != kv.version
                || n.lease != kv.lease
                || kv.create_rev > kv.mod_rev
            {
                return None;
            }
            let modr = n.modr.refine(kv.mod_rev)?;
            // A key at version 1 was created by its last put: one revision for both.
            let create = if n.version == 1 {
                (kv.create_rev == kv.mod_rev).then_some(modr)?
            } else {
                n.create.refine(kv.create_rev)?
            };
            Some(Slot {
                node: Some(Node { modr, create, ..n }),
                last: modr,
            })
        }
        _ => None,
    }
}

/// The revision of a write: `rev` when known (it must be above the key's last), else unknown.
fn write_rev(slot: &Slot<Node>, rev: Option<i64>) -> Option<Known> {
    match rev {
        Some(r) if r > slot.last.floor() => Some(Known::Is(r)),
        Some(_) => None,
        None => Some(Known::After(slot.last.floor())),
    }
}

fn put(slot: Slot<Node>, value: Sym, lease: i64, rev: Option<i64>) -> Option<Slot<Node>> {
    let k = write_rev(&slot, rev)?;
    let node = match slot.node {
        Some(n) => Node {
            value,
            modr: k,
            create: n.create,
            version: n.version + 1,
            lease,
        },
        None => Node {
            value,
            modr: k,
            create: k,
            version: 1,
            lease,
        },
    };
    Some(Slot {
        node: Some(node),
        last: k,
    })
}

/// Deletes the key: the new slot and how many keys were deleted.
fn delete(slot: Slot<Node>, rev: Option<i64>) -> Option<(Slot<Node>, i64)> {
    if slot.node.is_none() {
        return Some((slot, 0));
    }
    let k = write_rev(&slot, rev)?;
    Some((
        Slot {
            node: None,
            last: k,
        },
        1,
    ))
}

fn ordered(op: CmpOp, have: i64, want: i64) -> bool {
    match op {
        CmpOp::Equal => have == want,
        CmpOp::NotEqual => have != want,
        CmpOp::Greater => have > want,
        CmpOp::Less => have < want,
    }
}

/// The outcomes of comparing a revision that may be unknown: `(holds, refined revision)`.
fn compare_rev(have: Known, op: CmpOp, want: i64) -> Vec<(bool, Known)> {
    match (have, op) {
        (Known::Is(v), _) => vec![(ordered(op, v, want), have)],
        (_, CmpOp::Equal) => have.equals(want),
        (_, CmpOp::NotEqual) => have
            .equals(want)
            .into_iter()
            .map(|(b, k)| (!b, k))
            .collect(),
        // Unknown, above a: `> want` surely holds when a >= want; `< want` surely fails then.
        (Known::After(a), CmpOp::Greater) if a >= want => vec![(true, have)],
        (Known::After(a), CmpOp::Less) if a >= want - 1 => vec![(false, have)],
        _ => vec![(true, have), (false, have)],
    }
}

/// The outcomes of one compare in `state`.
fn compare(state: &State, c: &Compare) -> Vec<(bool, State)> {
    let slot = state.get(c.key);
    let Some(n) = slot.node else {
        let holds = match c.target {
            Target::Value(_) => false,
            Target::Version(x) | Target::Mod(x) | Target::Create(x) | Target::Lease(x) => {
                ordered(c.op, 0, x)
            }
        };
        return vec![(holds, state.clone())];
    };
    let with = |node: Node| {
        let mut s = state.clone();
        s.set(
            c.key,
            Slot {
                node: Some(node),
                last: node.modr,
            },
        );
        s
    };
    match c.target {
        Target::Value(v) => {
            let eq = n.value == v;
            let holds = match c.op {
                CmpOp::Equal => eq,
                CmpOp::NotEqual => !eq,
                // Interned values have no order; traffic never asks for one.
                CmpOp::Greater | CmpOp::Less => false,
            };
            vec![(holds, state.clone())]
        }
        Target::Version(x) => vec![(ordered(c.op, n.version, x), state.clone())],
        Target::Lease(x) => vec![(ordered(c.op, n.lease, x), state.clone())],
        Target::Mod(x) => compare_rev(n.modr, c.op, x)
            .into_iter()
            .map(|(b, k)| {
                let create = if n.version == 1 { k } else { n.create };
                (
                    b,
                    with(Node {
                        modr: k,
                        create,
                        ..n
                    }),
                )
            })
            .collect(),
        Target::Create(x) => compare_rev(n.create, c.op, x)
            .into_iter()
            .map(|(b, k)| {
                let modr = if n.version == 1 { k } else { n.modr };
                (
                    b,
                    with(Node {
                        create: k,
                        modr,
                        ..n
                    }),
                )
            })
            .collect(),
    }
}

/// Runs a transaction branch on `state`; `out`: the header revision and results, when known.
fn run_branch(mut state: State, ops: &[TxnOp], out: Option<(i64, &[TxnResult])>) -> Option<State> {
    if let Some((_, results)) = out {
        if results.len() != ops.len() {
            return None;
        }
    }
    let rev = out.map(|(r, _)| r);
    for (i, op) in ops.iter().enumerate() {
        let result = out.map(|(_, r)| &r[i]);
        match *op {
            TxnOp::Get(k) => {
                let slot = state.get(k);
                let slot = match result {
                    None => slot,
                    Some(TxnResult::Get(kv)) => observe(slot, kv.as_ref())?,
                    Some(_) => return None,
                };
                state.set(k, slot);
            }
            TxnOp::Put(k, v, lease) => {
                if !matches!(result, None | Some(TxnResult::Put)) {
                    return None;
                }
                let slot = put(state.get(k), v, lease, rev)?;
                state.set(k, slot);
            }
            TxnOp::Delete(k) => {
                let (slot, n) = delete(state.get(k), rev)?;
                if result.is_some_and(|r| *r != TxnResult::Delete(n)) {
                    return None;
                }
                state.set(k, slot);
            }
        }
    }
    Some(state)
}

impl Model for V3 {
    type State = State;
    type Input = Request;
    type Output = Response;

    fn init(&self) -> State {
        Slots::default()
    }

    fn step(&self, state: &State, req: &Request, out: Option<&Response>, next: &mut Vec<State>) {
        let one = |s: Option<State>, next: &mut Vec<State>| next.extend(s);
        match (req, out) {
            (Request::Get(_), None) => next.push(state.clone()),
            (Request::Get(k), Some(Response::Get { rev, kv })) => {
                if kv.is_some_and(|kv| kv.key != *k || kv.mod_rev > *rev) {
                    return;
                }
                one(
                    observe(state.get(*k), kv.as_ref()).map(|slot| {
                        let mut s = state.clone();
                        s.set(*k, slot);
                        s
                    }),
                    next,
                );
            }
            (Request::Get(_), Some(_)) => {}
            (
                Request::Put {
                    key,
                    value,
                    lease,
                    prev_kv,
                },
                out,
            ) => {
                let (rev, prev) = match out {
                    None => (None, None),
                    Some(Response::Put { rev, prev }) => (Some(*rev), Some(prev)),
                    Some(_) => return,
                };
                let mut slot = state.get(*key);
                if let (true, Some(prev)) = (*prev_kv, prev) {
                    let Some(seen) = observe(slot, prev.as_ref()) else {
                        return;
                    };
                    slot = seen;
                }
                one(
                    put(slot, *value, *lease, rev).map(|slot| {
                        let mut s = state.clone();
                        s.set(*key, slot);
                        s
                    }),
                    next,
                );
            }
            (Request::Delete { key, prev_kv }, out) => {
                let mut slot = state.get(*key);
                let (rev, deleted) = match out {
                    None => (None, None),
                    Some(Response::Delete { rev, deleted, prev }) => {
                        if *prev_kv {
                            match observe(slot, prev.as_ref()) {
                                Some(seen) => slot = seen,
                                None => return,
                            }
                        }
                        (Some(*rev), Some(*deleted))
                    }
                    Some(_) => return,
                };
                let Some((slot, n)) = delete(slot, rev) else {
                    return;
                };
                if deleted.is_some_and(|d| d != n) {
                    return;
                }
                let mut s = state.clone();
                s.set(*key, slot);
                next.push(s);
            }
            (
                Request::Txn {
                    compares,
                    success,
                    failure,
                },
                out,
            ) => {
                let known = match out {
                    None => None,
                    Some(Response::Txn {
                        rev,
                        succeeded,
                        results,
                    }) => Some((*rev, *succeeded, results.as_slice())),
                    Some(_) => return,
                };
                let mut outcomes = vec![(true, state.clone())];
                for c in compares {
                    let mut more = Vec::new();
                    for (acc, s) in outcomes {
                        if !acc {
                            more.push((false, s));
                            continue;
                        }
                        more.extend(compare(&s, c));
                    }
                    outcomes = more;
                }
                for (holds, s) in outcomes {
                    if known.is_some_and(|(_, ok, _)| ok != holds) {
                        continue;
                    }
                    let ops = if holds { success } else { failure };
                    one(run_branch(s, ops, known.map(|(r, _, res)| (r, res))), next);
                }
            }
            (Request::LeaseRevoke { lease, keys }, out) => {
                if !matches!(out, None | Some(Response::LeaseRevoke { .. })) {
                    return;
                }
                let mut s = state.clone();
                for k in keys {
                    let slot = s.get(*k);
                    if slot.node.is_some_and(|n| n.lease == *lease) {
                        s.set(
                            *k,
                            Slot {
                                node: None,
                                last: Known::After(slot.last.floor()),
                            },
                        );
                    }
                }
                next.push(s);
            }
        }
    }
}

#[cfg(test)]
mod tests;
