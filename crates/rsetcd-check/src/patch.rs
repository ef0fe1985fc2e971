//! Lost answers settled by what the watches saw, as etcd's robustness suite does: values are
//! unique per write, so an unknown write whose value is in the watches' reference happened, at
//! that revision (its answer is filled in, with no completion time: it may have taken effect
//! late); one whose value no watch saw did not happen (it is dropped). Without this every
//! unknown write stays a candidate at every later point of the search, which multiplies its
//! states.
//!
//! Sound only when the reference is complete: the caller patches an API's history only when its
//! watches passed every validator and reached the final write.

use std::collections::HashMap;

use crate::history::{Op, Sym};
use crate::model::v2::{self, NodeSeen};
use crate::model::v3::{self, TxnOp, TxnResult};
use crate::wgl::NEVER;

/// How many lost answers were settled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Found applied, at a known revision.
    pub applied: usize,
    /// Found not applied, dropped.
    pub dropped: usize,
}

/// The v3 history with its unknown puts (and transactions whose success branch only puts)
/// settled by `seen` (value → (revision, created revision)).
pub fn v3(
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

/// The v2 history with its unknown set, create and compare-and-swap settled by `seen`
/// (value → (index, created index)).
pub fn v2(
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
mod tests {
    use super::*;

    fn unknown<I, O>(input: I) -> Op<I, O> {
        Op {
            client: 0,
            call: 5,
            ret: 6,
            input,
            output: None,
            error: Some("lost".into()),
        }
    }

    #[test]
    fn seen_writes_are_pinned_and_unseen_ones_dropped() {
        let (k, a, b) = (Sym(0), Sym(1), Sym(2));
        let seen = HashMap::from([(a, (7, 7))]);
        let put = |v| v3::Request::Put {
            key: k,
            value: v,
            lease: 0,
            prev_kv: true,
        };
        let (ops, n) = v3(&[unknown(put(a)), unknown(put(b))], &seen);
        assert_eq!(
            n,
            Settled {
                applied: 1,
                dropped: 1
            }
        );
        assert_eq!(ops.len(), 1);
        assert_eq!(
            ops[0].output,
            Some(v3::Response::Put { rev: 7, prev: None })
        );
        assert_eq!(ops[0].ret, NEVER);

        let (ops, n) = v2(
            &[
                unknown(v2::Request::Set(k, a)),
                unknown(v2::Request::Delete(k)),
            ],
            &seen,
        );
        assert_eq!(
            n,
            Settled {
                applied: 1,
                dropped: 0
            }
        );
        assert_eq!(ops.len(), 2);
        assert!(matches!(ops[0].output, Some(v2::Response::Applied { .. })));
        assert_eq!(ops[1].output, None);
    }
}
