//! The Wing–Gong–Lowe linearizability search (as porcupine does it): a depth-first search over
//! the history's call and return events for an order of the operations that (1) respects real
//! time — an operation that completed before another was invoked comes first — and (2) the
//! sequential [`Model`] accepts. States already reached with the same set of linearized
//! operations are cached, which is what makes the search practical.
//!
//! An operation whose outcome is unknown has no return event: it may be linearized at any point
//! after its invocation, or not at all (the search succeeds once every *known* operation is
//! linearized). A model may have several successor states for one operation (a compare against
//! a revision that is not known yet); each is tried.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;

use crate::history::Time;

/// A sequential specification.
pub trait Model {
    /// The state of the sequential object.
    type State: Clone + Eq + Hash + Debug;
    /// An operation's arguments.
    type Input: Debug;
    /// An operation's answer.
    type Output: Debug;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Pushes onto `next` every state the object may be in after `input` was applied in
    /// `state` and answered `output` (`None`: the answer is unknown, any is fine). Pushing
    /// nothing means the answer is impossible in `state`.
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
        next: &mut Vec<Self::State>,
    );
}

/// One operation as the search sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a, I, O> {
    /// Invocation time.
    pub call: Time,
    /// Completion time; ignored when `output` is `None` (an unknown outcome never completes).
    /// [`NEVER`] for an operation whose answer is known but whose effect may come at any time
    /// after its invocation (a lost answer pinned down by what watches saw).
    pub ret: Time,
    /// Arguments.
    pub input: &'a I,
    /// Answer, or `None` when unknown.
    pub output: Option<&'a O>,
    /// For an unknown outcome: the time by which the operation had taken effect if it ever did
    /// ([`NEVER`]: no bound). At its deadline an operation not linearized yet is dropped for
    /// good, so it stops being a candidate at every later point. Ignored for a known answer.
    pub deadline: Time,
}

/// What the search found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A linearization exists.
    Linearizable,
    /// None exists. `op` (an index into the calls given) is the operation the deepest attempt
    /// could not place before its completion, with `linearized` operations placed before it.
    Illegal {
        /// The operation that could not be linearized.
        op: usize,
        /// How many operations the deepest attempt had linearized.
        linearized: usize,
    },
    /// The search ran out of its step budget before deciding.
    GaveUp {
        /// Steps taken.
        steps: u64,
        /// How many operations the deepest attempt had linearized.
        linearized: usize,
        /// The operation the deepest attempt could not place (an index into the calls given).
        op: usize,
    },
}

/// The completion time of an operation that never completes.
pub const NEVER: Time = Time::MAX;

impl<I, O> Call<'_, I, O> {
    /// Whether the operation must be linearized before its completion (and at all).
    fn returns(&self) -> bool {
        self.output.is_some() && self.ret != NEVER
    }

    /// Whether the operation has an unknown outcome and a deadline.
    fn expires(&self) -> bool {
        self.output.is_none() && self.deadline != NEVER
    }
}

const HEAD: usize = 0;
const NONE: usize = usize::MAX;

/// The call and return events in time order, as a doubly linked list that operations are
/// lifted out of and put back into.
struct Events {
    op: Vec<usize>,
    is_call: Vec<bool>,
    /// For a call event, its return event (or `NONE` for an unknown outcome).
    ret_of: Vec<usize>,
    /// For each operation, its call event.
    call_of: Vec<usize>,
    prev: Vec<usize>,
    next: Vec<usize>,
}

impl Events {
    fn new<I, O>(calls: &[Call<'_, I, O>]) -> Events {
        // (time, is_return, op): at equal times calls come first, so touching operations count
        // as concurrent (the lenient reading, as porcupine's).
        let mut order: Vec<(Time, bool, usize)> = Vec::with_capacity(2 * calls.len());
        for (i, c) in calls.iter().enumerate() {
            order.push((c.call, false, i));
            if c.returns() {
                order.push((c.ret.max(c.call), true, i));
            } else if c.expires() {
                order.push((c.deadline.max(c.call), true, i));
            }
        }
        order.sort_unstable();
        let n = order.len() + 1;
        let mut ev = Events {
            op: vec![NONE; n],
            is_call: vec![false; n],
            ret_of: vec![NONE; n],
            call_of: Vec::new(),
            prev: vec![NONE; n],
            next: vec![NONE; n],
        };
        let mut call_event = vec![NONE; calls.len()];
        for (pos, &(_, is_ret, op)) in order.iter().enumerate() {
            let e = pos + 1;
            ev.op[e] = op;
            ev.is_call[e] = !is_ret;
            if is_ret {
                ev.ret_of[call_event[op]] = e;
            } else {
                call_event[op] = e;
            }
        }
        ev.call_of = call_event;
        for e in 0..n {
            ev.prev[e] = if e == 0 { NONE } else { e - 1 };
            ev.next[e] = if e + 1 < n { e + 1 } else { NONE };
        }
        ev
    }

    fn unlink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = n;
        if n != NONE {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, e: usize) {
        let (p, n) = (self.prev[e], self.next[e]);
        self.next[p] = e;
        if n != NONE {
            self.prev[n] = e;
        }
    }

    /// Takes a call event and its return event out of the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        if self.ret_of[call] != NONE {
            self.unlink(self.ret_of[call]);
        }
    }

    /// Undoes the last [`Events::lift`] of `call` (lifts are undone in reverse order).
    fn unlift(&mut self, call: usize) {
        if self.ret_of[call] != NONE {
            self.relink(self.ret_of[call]);
        }
        self.relink(call);
    }
}

/// A set of operation indexes, kept as its Zobrist hash: 128 random bits per operation, XORed in
/// and out as the operation is linearized and undone. The cache holds (set, state) pairs, so a
/// set costs 16 bytes and O(1) per step instead of a copy of a bitset; two different sets
/// collide with probability about 2^-128 per pair.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Bits(u128);

impl Bits {
    fn new() -> Bits {
        Bits(0)
    }
    /// Adds or removes `i` (the same XOR both ways).
    fn flip(&mut self, i: usize) {
        self.0 ^= zobrist(i);
    }
}

/// Operation `i`'s random bits (SplitMix64, twice).
fn zobrist(i: usize) -> u128 {
    let mix = |mut z: u64| {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let i = i as u64;
    (u128::from(mix(i.wrapping_mul(2))) << 64) | u128::from(mix(i.wrapping_mul(2) + 1))
}

struct Frame<S> {
    call: usize,
    /// The operation was dropped at its deadline (not linearized): no alternatives.
    dropped: bool,
    /// The pass it was placed in (see `optional` in [`check`]).
    optional: bool,
    before: S,
    alternatives: Vec<S>,
    tried: usize,
}

/// Searches for a linearization of `calls` under `model`, taking at most `budget` steps.
pub fn check<M: Model>(model: &M, calls: &[Call<'_, M::Input, M::Output>], budget: u64) -> Verdict {
    let mut ev = Events::new(calls);
    let mut known_left = calls.iter().filter(|c| c.returns()).count();
    let mut state = model.init();
    let mut linearized = Bits::new();
    let mut depth = 0usize;
    let mut cache: HashSet<(Bits, M::State)> = HashSet::new();
    let mut stack: Vec<Frame<M::State>> = Vec::new();
    let mut scratch = Vec::new();
    let mut deepest = (0usize, NONE);
    let mut steps = 0u64;
    let mut entry = ev.next[HEAD];
    // Each configuration's candidates (the calls before the first return event left) are
    // tried in two passes: the operations that must be linearized first, then — once the first
    // pass reached that return event — the optional ones (unknown outcomes, answers without a
    // completion), then a drop at a deadline. The order changes nothing of what is explored,
    // but an optional operation is only tried where the known ones alone got stuck, instead of
    // first at every point while it lingers.
    let mut optional = false;

    // Tries the alternatives of `frame` from `frame.tried` with `op` added to the set; true
    // when one led somewhere new (`op` stays in the set), else `op` is out of it again.
    fn advance<S: Clone + Eq + Hash>(
        frame: &mut Frame<S>,
        op: usize,
        linearized: &mut Bits,
        cache: &mut HashSet<(Bits, S)>,
        state: &mut S,
    ) -> bool {
        linearized.flip(op);
        while frame.tried < frame.alternatives.len() {
            let alt = &frame.alternatives[frame.tried];
            frame.tried += 1;
            if cache.insert((*linearized, alt.clone())) {
                *state = alt.clone();
                return true;
            }
        }
        linearized.flip(op);
        false
    }

    loop {
        if known_left == 0 {
            return Verdict::Linearizable;
        }
        steps += 1;
        if steps > budget {
            return Verdict::GaveUp {
                steps,
                linearized: deepest.0,
                op: if deepest.1 == NONE { 0 } else { deepest.1 },
            };
        }
        if entry == NONE {
            if !optional {
                optional = true;
                entry = ev.next[HEAD];
                continue;
            }
            // Only unknown calls remain ahead, yet a known operation is still pending: cannot
            // happen (its return event would be ahead), but fail safe.
            return illegal(deepest);
        }
        let op = ev.op[entry];
        if ev.is_call[entry] {
            let c = &calls[op];
            if c.returns() == optional {
                // Not this pass's kind: skipped (not a step).
                steps -= 1;
                entry = ev.next[entry];
                continue;
            }
            scratch.clear();
            model.step(&state, c.input, c.output, &mut scratch);
            if c.output.is_none() {
                // An unknown operation that changes nothing here is better left out: placed, it
                // could not be placed later.
                scratch.retain(|s| *s != state);
            }
            let mut frame = Frame {
                call: entry,
                dropped: false,
                optional,
                before: state.clone(),
                alternatives: std::mem::take(&mut scratch),
                tried: 0,
            };
            if advance(&mut frame, op, &mut linearized, &mut cache, &mut state) {
                ev.lift(entry);
                if c.returns() {
                    known_left -= 1;
                }
                depth += 1;
                stack.push(frame);
                entry = ev.next[HEAD];
                optional = false;
            } else {
                scratch = frame.alternatives;
                entry = ev.next[entry];
            }
            continue;
        }
        if !optional {
            // The known candidates before this return event led nowhere: now the optional ones
            // (unknown outcomes, answers without completion) before it.
            optional = true;
            entry = ev.next[HEAD];
            continue;
        }
        let call = ev.call_of[op];
        if calls[op].expires() {
            // The deadline of an unknown operation not linearized: it never happened (if this
            // configuration was explored before, it led nowhere).
            linearized.flip(op);
            if cache.insert((linearized, state.clone())) {
                ev.lift(call);
                stack.push(Frame {
                    call,
                    dropped: true,
                    optional,
                    before: state.clone(),
                    alternatives: Vec::new(),
                    tried: 0,
                });
                entry = ev.next[entry];
                optional = false;
                continue;
            }
            linearized.flip(op);
        }
        // A return event: its operation was not linearized in time; undo the last choice.
        if depth >= deepest.0 {
            deepest = (depth, op);
        }
        // Drops are forced moves: undo them on the way to the last choice.
        let mut popped = stack.pop();
        while let Some(f) = popped.as_ref().filter(|f| f.dropped) {
            let (fcall, fop) = (f.call, ev.op[f.call]);
            linearized.flip(fop);
            ev.unlift(fcall);
            popped = stack.pop();
        }
        let Some(mut frame) = popped else {
            return illegal(deepest);
        };
        let fop = ev.op[frame.call];
        state = frame.before.clone();
        // Out of the set again; `advance` puts it back with its next alternative, if any.
        linearized.flip(fop);
        if advance(&mut frame, fop, &mut linearized, &mut cache, &mut state) {
            stack.push(frame);
            entry = ev.next[HEAD];
            optional = false;
            continue;
        }
        depth -= 1;
        if calls[fop].returns() {
            known_left += 1;
        }
        ev.unlift(frame.call);
        entry = ev.next[frame.call];
        optional = frame.optional;
    }
}

fn illegal((linearized, op): (usize, usize)) -> Verdict {
    Verdict::Illegal {
        op: if op == NONE { 0 } else { op },
        linearized,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register: write(v) answers `None`, read answers `Some(v)`.
    struct Register;

    #[derive(Debug)]
    enum Reg {
        Write(u32),
        Read,
    }

    impl Model for Register {
        type State = u32;
        type Input = Reg;
        type Output = Option<u32>;
        fn init(&self) -> u32 {
            0
        }
        fn step(&self, s: &u32, i: &Reg, o: Option<&Option<u32>>, next: &mut Vec<u32>) {
            match (i, o) {
                (Reg::Write(v), _) => next.push(*v),
                (Reg::Read, None) => next.push(*s),
                (Reg::Read, Some(Some(v))) if v == s => next.push(*s),
                (Reg::Read, Some(_)) => {}
            }
        }
    }

    fn run(ops: &[(Time, Time, Reg, Option<Option<u32>>)]) -> Verdict {
        let calls: Vec<_> = ops
            .iter()
            .map(|(c, r, i, o)| Call {
                call: *c,
                ret: *r,
                input: i,
                output: o.as_ref(),
                deadline: NEVER,
            })
            .collect();
        check(&Register, &calls, 1_000_000)
    }

    #[test]
    fn concurrent_write_and_reads_are_linearizable() {
        // porcupine's classic: a write of 1 overlapping a read of 1 and a later read of 1.
        let v = run(&[
            (0, 10, Reg::Write(1), Some(None)),
            (5, 15, Reg::Read, Some(Some(1))),
            (20, 30, Reg::Read, Some(Some(1))),
        ]);
        assert_eq!(v, Verdict::Linearizable);
    }

    #[test]
    fn a_stale_read_after_a_newer_one_is_not() {
        // Read 1 completed, then a read began and saw the old 0: not linearizable.
        let v = run(&[
            (0, 100, Reg::Write(1), Some(None)),
            (5, 10, Reg::Read, Some(Some(1))),
            (20, 30, Reg::Read, Some(Some(0))),
        ]);
        assert!(matches!(v, Verdict::Illegal { op: 2, .. }), "{v:?}");
    }

    #[test]
    fn a_value_nobody_wrote_is_not() {
        let v = run(&[
            (0, 10, Reg::Write(1), Some(None)),
            (20, 30, Reg::Read, Some(Some(7))),
        ]);
        assert!(matches!(v, Verdict::Illegal { op: 1, .. }), "{v:?}");
    }

    #[test]
    fn unknown_writes_may_happen_late_or_never() {
        // The unknown write of 2 happened after the read of 1 (late) ...
        let late = run(&[
            (0, 10, Reg::Write(1), Some(None)),
            (5, 6, Reg::Write(2), None),
            (20, 30, Reg::Read, Some(Some(1))),
            (40, 50, Reg::Read, Some(Some(2))),
        ]);
        assert_eq!(late, Verdict::Linearizable);
        // ... or never.
        let never = run(&[
            (0, 10, Reg::Write(1), Some(None)),
            (5, 6, Reg::Write(2), None),
        ]);
        assert_eq!(never, Verdict::Linearizable);
        // But not before its invocation.
        let early = run(&[
            (0, 10, Reg::Read, Some(Some(2))),
            (20, 21, Reg::Write(2), None),
        ]);
        assert!(matches!(early, Verdict::Illegal { .. }), "{early:?}");
    }

    #[test]
    fn an_unknown_write_happens_at_most_once() {
        // Seen, overwritten, then seen again: that is the write applied twice.
        let v = run(&[
            (0, 1, Reg::Write(2), None),
            (10, 11, Reg::Read, Some(Some(2))),
            (20, 21, Reg::Write(3), Some(None)),
            (30, 31, Reg::Read, Some(Some(2))),
        ]);
        assert!(matches!(v, Verdict::Illegal { op: 3, .. }), "{v:?}");
    }

    #[test]
    fn an_answer_without_completion_may_come_late_but_must_fit() {
        // Write(2) answered but with no completion: it may be placed after the read of 1.
        let calls = [
            Call {
                call: 0,
                ret: 10,
                input: &Reg::Write(1),
                output: Some(&None),
                deadline: NEVER,
            },
            Call {
                call: 5,
                ret: NEVER,
                input: &Reg::Write(2),
                output: Some(&None),
                deadline: NEVER,
            },
            Call {
                call: 20,
                ret: 30,
                input: &Reg::Read,
                output: Some(&Some(1)),
                deadline: NEVER,
            },
            Call {
                call: 40,
                ret: 50,
                input: &Reg::Read,
                output: Some(&Some(2)),
                deadline: NEVER,
            },
        ];
        assert_eq!(check(&Register, &calls, 1000), Verdict::Linearizable);
    }

    fn call<'a>(
        c: Time,
        r: Time,
        i: &'a Reg,
        o: Option<&'a Option<u32>>,
        d: Time,
    ) -> Call<'a, Reg, Option<u32>> {
        Call {
            call: c,
            ret: r,
            input: i,
            output: o,
            deadline: d,
        }
    }

    #[test]
    fn an_unknown_operation_with_a_deadline_happened_by_then_or_never() {
        let (w1, w2, read) = (Reg::Write(1), Reg::Write(2), Reg::Read);
        let (none, one, two) = (None, Some(1), Some(2));
        // Unknown write of 2, which had taken effect by 15 if ever: not seen at 20 ...
        let dropped = [
            call(0, 10, &w1, Some(&none), NEVER),
            call(5, 6, &w2, None, 15),
            call(20, 30, &read, Some(&one), NEVER),
        ];
        assert_eq!(check(&Register, &dropped, 1000), Verdict::Linearizable);
        // ... or seen at 20.
        let placed = [
            call(0, 3, &w1, Some(&none), NEVER),
            call(5, 6, &w2, None, 15),
            call(20, 30, &read, Some(&two), NEVER),
        ];
        assert_eq!(check(&Register, &placed, 1000), Verdict::Linearizable);
        // But not first missing at 20 and then seen at 40: that needs it late.
        let late = [
            call(0, 10, &w1, Some(&none), NEVER),
            call(5, 6, &w2, None, 15),
            call(20, 30, &read, Some(&one), NEVER),
            call(40, 50, &read, Some(&two), NEVER),
        ];
        assert!(matches!(
            check(&Register, &late, 1000),
            Verdict::Illegal { .. }
        ));
        let unbounded = [
            call(0, 10, &w1, Some(&none), NEVER),
            call(5, 6, &w2, None, NEVER),
            call(20, 30, &read, Some(&one), NEVER),
            call(40, 50, &read, Some(&two), NEVER),
        ];
        assert_eq!(check(&Register, &unbounded, 1000), Verdict::Linearizable);
    }

    #[test]
    fn deadlines_keep_many_unknown_writes_from_exploding() {
        // Round k: a known write of k, an unknown write nobody saw, a read of k; at the end a
        // read of a value nobody wrote. Proving that wrong means trying every way of placing
        // the unknown writes: 2^n without deadlines, a few per round with them.
        let n = 400u32;
        let bad = (Reg::Read, Some(7_777_777u32));
        let inputs: Vec<(Reg, Reg, Reg)> = (0..n)
            .map(|k| (Reg::Write(k + 1), Reg::Write(100_000 + k), Reg::Read))
            .collect();
        let outs: Vec<(Option<u32>, Option<u32>)> = (0..n).map(|k| (None, Some(k + 1))).collect();
        let calls = |deadlines: bool| -> Vec<Call<'_, Reg, Option<u32>>> {
            let mut v = Vec::new();
            for k in 0..n as usize {
                let t = 10 * k as Time;
                v.push(call(t, t + 1, &inputs[k].0, Some(&outs[k].0), NEVER));
                let d = if deadlines { t + 4 } else { NEVER };
                v.push(call(t + 2, t + 3, &inputs[k].1, None, d));
                v.push(call(t + 5, t + 6, &inputs[k].2, Some(&outs[k].1), NEVER));
            }
            v
        };
        assert_eq!(
            check(&Register, &calls(true), 100_000),
            Verdict::Linearizable
        );
        // Lingering unknown writes are only tried where the known operations got stuck: a
        // linearizable history takes about a step per operation, deadlines or not.
        assert_eq!(
            check(&Register, &calls(false), 5_000),
            Verdict::Linearizable
        );
        let end = 10 * Time::from(n);
        let mut bounded = calls(true);
        bounded.push(call(end, end + 1, &bad.0, Some(&bad.1), NEVER));
        assert!(matches!(
            check(&Register, &bounded, 100_000),
            Verdict::Illegal { .. }
        ));
        let mut unbounded = calls(false);
        unbounded.push(call(end, end + 1, &bad.0, Some(&bad.1), NEVER));
        assert!(matches!(
            check(&Register, &unbounded, 100_000),
            Verdict::GaveUp { .. }
        ));
    }

    #[test]
    fn the_budget_is_honoured() {
        let calls = [Call {
            call: 0,
            ret: 1,
            input: &Reg::Read,
            output: Some(&Some(0)),
            deadline: NEVER,
        }];
        assert!(matches!(
            check(&Register, &calls, 0),
            Verdict::GaveUp { steps: 1, .. }
        ));
    }
}
