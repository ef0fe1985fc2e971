//! The store-wide order of revisions (v3) or indexes (v2), across keys: an operation invoked
//! after another completed sees at least its revision, a write gets a revision above every
//! revision seen before it was invoked, and no two writes share one. Per-key partitions cannot
//! see this; one sweep in time order can.

use std::collections::HashMap;

use crate::history::Time;

/// What an answered operation says of the store's revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// It wrote at this revision.
    Write(i64),
    /// It saw the store at this revision (a read, a transaction that changed nothing).
    Read(i64),
}

impl Seen {
    fn rev(self) -> i64 {
        match self {
            Seen::Write(r) | Seen::Read(r) => r,
        }
    }
}

/// One answered operation.
#[derive(Debug, Clone, Copy)]
pub struct Stamp {
    /// Invocation.
    pub call: Time,
    /// Completion.
    pub ret: Time,
    /// The revision it reports.
    pub seen: Seen,
}

/// A breach of the order: operation `later` against `earlier` (indexes into the stamps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The operation with the wrong revision.
    pub later: usize,
    /// The operation it contradicts.
    pub earlier: usize,
    /// What is wrong.
    pub what: String,
}

/// Checks the stamps; returns every breach found.
pub fn check(stamps: &[Stamp]) -> Vec<Breach> {
    let mut out = Vec::new();
    let mut writes: HashMap<i64, usize> = HashMap::new();
    for (i, s) in stamps.iter().enumerate() {
        if let Seen::Write(r) = s.seen {
            if let Some(&j) = writes.get(&r) {
                out.push(Breach {
                    later: i,
                    earlier: j,
                    what: format!("two writes at revision {r}"),
                });
            } else {
                writes.insert(r, i);
            }
        }
    }
    let mut by_call: Vec<usize> = (0..stamps.len()).collect();
    by_call.sort_by_key(|&i| stamps[i].call);
    let mut by_ret: Vec<usize> = (0..stamps.len()).collect();
    by_ret.sort_by_key(|&i| stamps[i].ret);
    let mut done = 0;
    let mut max: Option<(i64, usize)> = None;
    for &b in &by_call {
        while done < by_ret.len() && stamps[by_ret[done]].ret < stamps[b].call {
            let a = by_ret[done];
            let r = stamps[a].seen.rev();
            if max.is_none_or(|(m, _)| r > m) {
                max = Some((r, a));
            }
            done += 1;
        }
        let Some((m, a)) = max else { continue };
        match stamps[b].seen {
            Seen::Write(r) if r <= m => out.push(Breach {
                later: b,
                earlier: a,
                what: format!("wrote at revision {r}, not above {m} seen before it began"),
            }),
            Seen::Read(r) if r < m => out.push(Breach {
                later: b,
                earlier: a,
                what: format!("saw revision {r}, below {m} seen before it began"),
            }),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(call: Time, ret: Time, seen: Seen) -> Stamp {
        Stamp { call, ret, seen }
    }

    #[test]
    fn ordered_histories_pass() {
        let ok = [
            s(0, 10, Seen::Write(5)),
            s(5, 20, Seen::Write(6)),
            s(11, 12, Seen::Read(5)),
            s(21, 22, Seen::Read(6)),
            s(30, 31, Seen::Write(7)),
        ];
        assert_eq!(check(&ok), vec![]);
    }

    #[test]
    fn stale_reads_old_writes_and_shared_revisions_fail() {
        let stale = [s(0, 10, Seen::Write(5)), s(11, 12, Seen::Read(4))];
        assert_eq!(check(&stale)[0].later, 1);
        let old = [s(0, 10, Seen::Read(5)), s(11, 12, Seen::Write(5))];
        assert_eq!(check(&old).len(), 1);
        let twice = [s(0, 10, Seen::Write(5)), s(2, 12, Seen::Write(5))];
        assert!(check(&twice)[0].what.contains("two writes"));
    }
}
