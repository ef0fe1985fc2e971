//! etcd's v2 store as a sequential model, per key: set, get (quorum), create
//! (`prevExist=false`), compare-and-swap (`prevValue` / `prevIndex`), compare-and-delete and
//! delete, with the modified and created indexes of every answer and the previous node of
//! every write checked.

use super::{Known, Slot, Slots};
use crate::history::Sym;
use crate::wgl::Model;

/// A node as etcd answered it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NodeSeen {
    /// The value.
    pub value: Sym,
    /// `modifiedIndex`.
    pub modified: u64,
    /// `createdIndex`.
    pub created: u64,
}

/// What the model holds of an existing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Node {
    /// The value.
    pub value: Sym,
    /// `modifiedIndex`.
    pub modified: Known,
    /// `createdIndex`.
    pub created: Known,
}

/// A v2 request on one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// A quorum read.
    Get(Sym),
    /// `PUT` without conditions.
    Set(Sym, Sym),
    /// `PUT ?prevExist=false`.
    Create(Sym, Sym),
    /// `PUT ?prevValue=…` and/or `?prevIndex=…`.
    Cas {
        /// The key.
        key: Sym,
        /// The new value.
        value: Sym,
        /// The value it must have.
        prev_value: Option<Sym>,
        /// The modified index it must have.
        prev_index: Option<u64>,
    },
    /// `DELETE ?prevValue=…` and/or `?prevIndex=…`.
    Cad {
        /// The key.
        key: Sym,
        /// The value it must have.
        prev_value: Option<Sym>,
        /// The modified index it must have.
        prev_index: Option<u64>,
    },
    /// `DELETE` without conditions.
    Delete(Sym),
}

impl Request {
    /// The key.
    pub fn key(&self) -> Sym {
        match *self {
            Request::Get(k)
            | Request::Set(k, _)
            | Request::Create(k, _)
            | Request::Cas { key: k, .. }
            | Request::Cad { key: k, .. }
            | Request::Delete(k) => k,
        }
    }

    /// Whether the request may change the store.
    pub fn is_write(&self) -> bool {
        !matches!(self, Request::Get(_))
    }
}

/// A v2 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// A node (a read, or a write's new node), with the previous node when etcd sent one.
    Node {
        /// The node.
        node: NodeSeen,
        /// `prevNode`.
        prev: Option<NodeSeen>,
    },
    /// A write known to have been applied with this node (its answer was lost; the watches saw
    /// it): the previous node is not known.
    Applied {
        /// The node.
        node: NodeSeen,
    },
    /// A delete at `index`, with the deleted node.
    Deleted {
        /// The delete's modified index.
        index: u64,
        /// `prevNode`.
        prev: Option<NodeSeen>,
    },
    /// Error 100.
    KeyNotFound,
    /// Error 101.
    TestFailed,
    /// Error 105.
    NodeExist,
}

/// The state of a partition.
pub type State = Slots<Node>;

/// The v2 model.
#[derive(Debug, Default, Clone, Copy)]
pub struct V2;

fn observe(slot: Slot<Node>, seen: Option<&NodeSeen>) -> Option<Slot<Node>> {
    match (slot.node, seen) {
        (None, None) => Some(slot),
        (Some(n), Some(s)) if n.value == s.value && s.created <= s.modified => {
            let modified = n.modified.refine(idx(s.modified))?;
            let created = n.created.refine(idx(s.created))?;
            Some(Slot {
                node: Some(Node {
                    modified,
                    created,
                    ..n
                }),
                last: modified,
            })
        }
        _ => None,
    }
}

fn idx(i: u64) -> i64 {
    i64::try_from(i).unwrap_or(i64::MAX)
}

/// The index of a write: known (above the key's last) or not.
fn write_index(slot: &Slot<Node>, index: Option<u64>) -> Option<Known> {
    match index.map(idx) {
        Some(i) if i > slot.last.floor() => Some(Known::Is(i)),
        Some(_) => None,
        None => Some(Known::After(slot.last.floor())),
    }
}

/// The outcomes of a write's conditions on a present node: `(hold, refined slot)`.
fn conditions(
    slot: Slot<Node>,
    prev_value: Option<Sym>,
    prev_index: Option<u64>,
) -> Vec<(bool, Slot<Node>)> {
    let Some(n) = slot.node else {
        return vec![(false, slot)];
    };
    let value_ok = prev_value.is_none_or(|v| v == n.value);
    match prev_index {
        None => vec![(value_ok, slot)],
        Some(i) => n
            .modified
            .equals(idx(i))
            .into_iter()
            .map(|(eq, k)| {
                (
                    value_ok && eq,
                    Slot {
                        node: Some(Node { modified: k, ..n }),
                        last: k,
                    },
                )
            })
            .collect(),
    }
}

/// The new node of a write at `index` (created anew, or keeping the node's created index).
fn written(slot: Slot<Node>, value: Sym, index: Option<u64>, keep: bool) -> Option<Slot<Node>> {
    let k = write_index(&slot, index)?;
    let created = match (keep, slot.node) {
        (true, Some(n)) => n.created,
        _ => k,
    };
    Some(Slot {
        node: Some(Node {
            value,
            modified: k,
            created,
        }),
        last: k,
    })
}

/// Checks a write's answer: the new node (its value, and a created index equal to the modified
/// one for a new node) and the previous node; returns the new slot.
fn write_answer(
    slot: Slot<Node>,
    value: Sym,
    out: Option<&Response>,
    keep: bool,
) -> Option<Slot<Node>> {
    match out {
        None => written(slot, value, None, keep),
        Some(Response::Applied { node }) => {
            let after = written(slot, value, Some(node.modified), keep)?;
            let n = after.node?;
            let created_ok = n.created.refine(idx(node.created)).is_some();
            (node.value == value && created_ok).then_some(after)
        }
        Some(Response::Node { node, prev }) => {
            let before = observe(slot, prev.as_ref())?;
            let after = written(before, value, Some(node.modified), keep)?;
            let n = after.node?;
            let created_ok = n.created.refine(idx(node.created)).is_some();
            (node.value == value && created_ok).then_some(after)
        }
        Some(_) => None,
    }
}

fn deleted(slot: Slot<Node>, out: Option<&Response>) -> Option<Slot<Node>> {
    let index = match out {
        None => None,
        Some(Response::Deleted { index, prev }) => {
            observe(slot, prev.as_ref())?;
            Some(*index)
        }
        Some(_) => return None,
    };
    let k = write_index(&slot, index)?;
    Some(Slot {
        node: None,
        last: k,
    })
}

impl Model for V2 {
    type State = State;
    type Input = Request;
    type Output = Response;

    fn init(&self) -> State {
        Slots::default()
    }

    fn step(&self, state: &State, req: &Request, out: Option<&Response>, next: &mut Vec<State>) {
        let key = req.key();
        let slot = state.get(key);
        let absent = slot.node.is_none();
        let not_found = matches!(out, None | Some(Response::KeyNotFound));
        let mut push = |s: Option<Slot<Node>>| {
            if let Some(s) = s {
                let mut st = state.clone();
                st.set(key, s);
                next.push(st);
            }
        };
        match *req {
            Request::Get(_) => match out {
                None => push(Some(slot)),
                Some(Response::KeyNotFound) => push(absent.then_some(slot)),
                Some(Response::Node { node, .. }) => push(observe(slot, Some(node))),
                Some(_) => {}
            },
            Request::Set(_, v) => push(write_answer(slot, v, out, false)),
            Request::Create(_, v) if absent => push(write_answer(slot, v, out, false)),
            Request::Create(..) => {
                if matches!(out, None | Some(Response::NodeExist)) {
                    push(Some(slot));
                }
            }
            Request::Cas { .. } | Request::Cad { .. } if absent => {
                if not_found {
                    push(Some(slot));
                }
            }
            Request::Cas {
                value,
                prev_value,
                prev_index,
                ..
            } => {
                for (holds, s) in conditions(slot, prev_value, prev_index) {
                    if holds {
                        push(write_answer(s, value, out, true));
                    } else if matches!(out, None | Some(Response::TestFailed)) {
                        push(Some(s));
                    }
                }
            }
            Request::Cad {
                prev_value,
                prev_index,
                ..
            } => {
                for (holds, s) in conditions(slot, prev_value, prev_index) {
                    if holds {
                        push(deleted(s, out));
                    } else if matches!(out, None | Some(Response::TestFailed)) {
                        push(Some(s));
                    }
                }
            }
            Request::Delete(_) if absent => {
                if not_found {
                    push(Some(slot));
                }
            }
            Request::Delete(_) => push(deleted(slot, out)),
        }
    }
}

#[cfg(test)]
mod tests;
