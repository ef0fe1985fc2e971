//! Splitting a history into independent parts, one per group of keys that operations tie
//! together (union–find over the keys each operation touches), and checking each part for
//! linearizability on its own: a history is linearizable if and only if each key's is, for
//! operations on one key each (P-compositionality); operations on several keys merge groups.

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use crate::history::{Op, Sym, Time};
use crate::wgl::{self, Call, Model, Verdict, NEVER};

/// Groups of operation indexes whose keys never meet another group's.
pub fn partition(keys: &[Vec<Sym>]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = Vec::new();
    let mut slot: HashMap<Sym, usize> = HashMap::new();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for ks in keys {
        let mut first = None;
        for k in ks {
            let id = *slot.entry(*k).or_insert_with(|| {
                parent.push(parent.len());
                parent.len() - 1
            });
            match first {
                None => first = Some(id),
                Some(f) => {
                    let (a, b) = (find(&mut parent, f), find(&mut parent, id));
                    parent[a] = b;
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, ks) in keys.iter().enumerate() {
        // An operation on no key (never recorded so) is a group of its own.
        let root = match ks.first() {
            Some(k) => find(&mut parent, slot[k]),
            None => usize::MAX - i,
        };
        groups.entry(root).or_default().push(i);
    }
    let mut out: Vec<Vec<usize>> = groups.into_values().collect();
    out.sort_by_key(|g| g[0]);
    out
}

/// The outcome of checking a history's partitions.
#[derive(Debug, Clone, Default)]
pub struct Linearizability {
    /// Operations checked.
    pub ops: usize,
    /// Of which with an unknown outcome.
    pub unknown: usize,
    /// Partitions.
    pub partitions: usize,
    /// Partitions whose search ran out of budget (no verdict).
    pub gave_up: usize,
    /// One line per partition that is not linearizable.
    pub violations: Vec<String>,
    /// Time the search took.
    pub elapsed: Duration,
}

/// Checks every partition of `ops` (grouped by `keys`) under `model`; `describe` words an
/// operation for a violation report.
pub fn check<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    keys: impl Fn(&M::Input) -> Vec<Sym>,
    budget: u64,
    describe: impl Fn(&Op<M::Input, M::Output>) -> String,
) -> Linearizability
where
    M::Input: Debug,
{
    check_with_deadlines(model, ops, keys, budget, describe, |_| NEVER)
}

/// [`check`], with `deadline` giving each operation of unknown outcome the time by which it
/// had taken effect if it ever did ([`NEVER`]: none; see [`Call::deadline`]).
pub fn check_with_deadlines<M: Model>(
    model: &M,
    ops: &[Op<M::Input, M::Output>],
    keys: impl Fn(&M::Input) -> Vec<Sym>,
    budget: u64,
    describe: impl Fn(&Op<M::Input, M::Output>) -> String,
    deadline: impl Fn(&Op<M::Input, M::Output>) -> Time,
) -> Linearizability
where
    M::Input: Debug,
{
    let start = Instant::now();
    let key_sets: Vec<Vec<Sym>> = ops.iter().map(|o| keys(&o.input)).collect();
    let groups = partition(&key_sets);
    let mut out = Linearizability {
        ops: ops.len(),
        unknown: ops.iter().filter(|o| o.is_unknown()).count(),
        partitions: groups.len(),
        ..Linearizability::default()
    };
    for group in &groups {
        let calls: Vec<Call<'_, M::Input, M::Output>> = group
            .iter()
            .map(|&i| Call {
                call: ops[i].call,
                ret: ops[i].ret,
                input: &ops[i].input,
                output: ops[i].output.as_ref(),
                deadline: if ops[i].output.is_none() {
                    deadline(&ops[i])
                } else {
                    NEVER
                },
            })
            .collect();
        match wgl::check(model, &calls, budget) {
            Verdict::Linearizable => {}
            Verdict::Illegal { op, linearized } => {
                let bad = &ops[group[op]];
                out.violations.push(format!(
                    "not linearizable ({} ops on these keys, {linearized} placed): cannot place {}",
                    group.len(),
                    describe(bad)
                ));
            }
            Verdict::GaveUp {
                steps,
                linearized,
                op,
            } => {
                out.gave_up += 1;
                let unknown = calls.iter().filter(|c| c.output.is_none()).count();
                let bounded = calls
                    .iter()
                    .filter(|c| c.output.is_none() && c.deadline != NEVER)
                    .count();
                out.violations.push(format!(
                    "no verdict: the search gave up after {steps} steps on {} ops ({unknown} \
                     unknown, {bounded} of them with a deadline; deepest attempt: {linearized} \
                     placed, then stuck at {})",
                    group.len(),
                    describe(&ops[group[op]])
                ));
            }
        }
    }
    out.elapsed = start.elapsed();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_tied_by_an_operation_share_a_group() {
        let k = |i| Sym(i);
        let groups = partition(&[
            vec![k(1)],
            vec![k(2)],
            vec![k(3)],
            vec![k(2), k(3)],
            vec![k(1)],
            vec![],
        ]);
        assert_eq!(groups, vec![vec![0, 4], vec![1, 2, 3], vec![5]]);
    }
}
