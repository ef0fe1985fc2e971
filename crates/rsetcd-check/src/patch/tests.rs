use super::*;
use crate::partition;
use crate::watch::RefDelete;

fn op<I, O>(client: usize, call: Time, ret: Time, input: I, output: Option<O>) -> Op<I, O> {
    Op {
        client,
        call,
        ret,
        error: output.is_none().then(|| "lost".into()),
        input,
        output,
    }
}

fn unknown<I, O>(input: I) -> Op<I, O> {
    op(0, 5, 6, input, None)
}

fn put(k: Sym, v: Sym) -> v3::Request {
    v3::Request::Put {
        key: k,
        value: v,
        lease: 0,
        prev_kv: false,
    }
}

fn pair(k: Sym, v: Sym, rev: i64) -> Pair {
    Pair {
        key: k,
        value: v,
        rev,
        created: rev,
        version: 1,
        lease: 0,
    }
}

/// A watch report whose reference wrote `writes` (value, revision, first arrival) on `k`, one
/// after another from an empty key, covering `covered`.
fn watched(k: Sym, writes: &[(Sym, i64, Time)], covered: (i64, i64)) -> WatchReport {
    let mut w = WatchReport::default();
    let mut prev: Option<Pair> = None;
    for &(v, rev, at) in writes {
        let created = prev.map_or(rev, |p| p.created);
        w.seen.insert(v, (rev, created));
        w.seen_at.insert(v, at);
        w.before.insert(v, prev);
        prev = Some(Pair {
            key: k,
            value: v,
            rev,
            created,
            version: prev.map_or(1, |p| p.version + 1),
            lease: 0,
        });
    }
    w.cover(covered.0, covered.1);
    w.merge_covered();
    w
}

#[test]
fn seen_writes_are_pinned_with_a_bound_and_unseen_ones_dropped_where_watched() {
    let (k, a, b) = (Sym(0), Sym(1), Sym(2));
    let w = watched(k, &[(a, 7, 40)], (2, 20));
    let obs = Observed {
        watch: &w,
        base: 1,
        end: 20,
    };
    let (ops, n, _) = v3(&[unknown(put(k, a)), unknown(put(k, b))], &obs);
    assert_eq!(
        n,
        Settled {
            applied: 1,
            dropped: 1,
            kept: 0
        }
    );
    assert_eq!(ops.len(), 1);
    assert_eq!(
        ops[0].output,
        Some(v3::Response::Put { rev: 7, prev: None })
    );
    // It had taken effect when its event reached a watch; the key was empty before it.
    assert_eq!(ops[0].ret, 40);
    assert!(matches!(
        ops[0].input,
        v3::Request::Put { prev_kv: true, .. }
    ));

    // A hole in the watches' coverage after its invocation: the unseen write stays unknown,
    // and the seen one gets no previous pair (the reference may miss a write before it).
    let w = watched(k, &[(a, 7, 40)], (8, 20));
    let obs = Observed {
        watch: &w,
        base: 1,
        end: 20,
    };
    let (ops, n, _) = v3(&[unknown(put(k, a)), unknown(put(k, b))], &obs);
    assert_eq!(
        n,
        Settled {
            applied: 1,
            dropped: 0,
            kept: 1
        }
    );
    assert!(matches!(
        ops[0].input,
        v3::Request::Put { prev_kv: false, .. }
    ));
    assert_eq!(ops[1].output, None);
    // ... unless it was invoked after an answer at a revision past the hole.
    let later = [
        op(
            1,
            0,
            3,
            put(k, Sym(9)),
            Some(v3::Response::Put { rev: 9, prev: None }),
        ),
        op(0, 5, 6, put(k, b), None),
    ];
    let (ops, n, _) = v3(&later, &obs);
    assert_eq!(n.dropped, 1, "{ops:?}");

    // v2: the same, with the previous node filled in.
    let (ops, n, _) = v2(
        &[
            unknown(v2::Request::Set(k, a)),
            unknown(v2::Request::Set(k, b)),
        ],
        &Observed {
            watch: &watched(k, &[(a, 7, 40)], (2, 20)),
            base: 1,
            end: 20,
        },
    );
    assert_eq!(n.applied + n.dropped, 2);
    assert_eq!(ops.len(), 1);
    assert!(
        matches!(ops[0].output, Some(v2::Response::Node { prev: None, node }) if node.modified == 7)
    );
    assert_eq!(ops[0].ret, 40);
}

#[test]
fn a_read_bounds_a_seen_write_too() {
    let (k, a) = (Sym(0), Sym(1));
    let w = watched(k, &[(a, 7, 400)], (2, 20));
    let obs = Observed {
        watch: &w,
        base: 1,
        end: 20,
    };
    let read = v3::Response::Get {
        rev: 7,
        kv: Some(Kv {
            key: k,
            value: a,
            mod_rev: 7,
            create_rev: 7,
            version: 1,
            lease: 0,
        }),
    };
    let (ops, _, _) = v3(
        &[
            unknown(put(k, a)),
            op(1, 10, 30, v3::Request::Get(k), Some(read)),
        ],
        &obs,
    );
    assert_eq!(ops[0].ret, 30);
}

#[test]
fn unknown_deletes_are_matched_with_the_deletes_nobody_answered() {
    let (k, a) = (Sym(0), Sym(1));
    let mut w = watched(k, &[(a, 3, 4)], (2, 20));
    let del = |key| v3::Request::Delete {
        key,
        prev_kv: false,
    };
    // A delete at 5 no answer accounts for, seen at 50; another at 8, answered.
    w.deletes = vec![
        RefDelete {
            key: k,
            rev: 5,
            at: Some(50),
            prev: Some(pair(k, a, 3)),
        },
        RefDelete {
            key: k,
            rev: 8,
            at: Some(80),
            prev: Some(pair(k, Sym(7), 6)),
        },
    ];
    let obs = Observed {
        watch: &w,
        base: 1,
        end: 20,
    };
    let answered = v3::Response::Delete {
        rev: 8,
        deleted: 1,
        prev: None,
    };
    let ops = [
        op(0, 10, 11, del(k), None),
        op(1, 70, 75, del(k), Some(answered.clone())),
        // Invoked after the unclaimed delete reached a watch: deleted nothing.
        op(2, 60, 61, del(k), None),
    ];
    let (out, n, _) = v3(&ops, &obs);
    assert_eq!(
        n,
        Settled {
            applied: 1,
            dropped: 1,
            kept: 0
        }
    );
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].ret, 50);
    assert_eq!(
        out[0].output,
        Some(v3::Response::Delete {
            rev: 5,
            deleted: 1,
            prev: Some(kv(pair(k, a, 3)))
        })
    );
    // Two unknown deletes that could each be the one: both stay unknown.
    let ops = [op(0, 10, 11, del(k), None), op(2, 12, 13, del(k), None)];
    let (_, n, _) = v3(&ops, &obs);
    assert_eq!(n.kept, 2);
}

/// The whole check of one key's history, patched by `w`.
fn check_v3(ops: &[Op<v3::Request, v3::Response>], w: &WatchReport) -> partition::Linearizability {
    let (ops, _, _) = v3(
        ops,
        &Observed {
            watch: w,
            base: 1,
            end: 20,
        },
    );
    partition::check(&v3::V3, &ops, v3::Request::keys, 1_000_000, |o| {
        format!("{o:?}")
    })
}

#[test]
fn an_unknown_write_that_happened_and_one_that_did_not() {
    let (k, a, b, c) = (Sym(0), Sym(1), Sym(2), Sym(3));
    let kv_at = |v, rev, version| Kv {
        key: k,
        value: v,
        mod_rev: rev,
        create_rev: 2,
        version,
        lease: 0,
    };
    let get = |call, ret, kv: Option<Kv>, rev| {
        op(
            3,
            call,
            ret,
            v3::Request::Get(k),
            Some(v3::Response::Get { rev, kv }),
        )
    };
    // a answered at 2; b lost, but a watch saw it at 3 (at t = 30); c lost and seen by nobody
    // while the watches saw everything.
    let w = watched(k, &[(a, 2, 5), (b, 3, 30)], (2, 20));
    let base = vec![
        op(
            0,
            0,
            5,
            put(k, a),
            Some(v3::Response::Put { rev: 2, prev: None }),
        ),
        op(1, 10, 12, put(k, b), None),
        op(2, 10, 12, put(k, c), None),
    ];

    // Reading b after it was seen is right.
    let mut good = base.clone();
    good.push(get(40, 41, Some(kv_at(b, 3, 2)), 3));
    let l = check_v3(&good, &w);
    assert!(l.violations.is_empty(), "{:?}", l.violations);

    // Reading a after b reached a watch is stale: b had taken effect by then. Without the
    // completion bound the search would place b after the read and pass.
    let mut stale = base.clone();
    stale.push(get(40, 41, Some(kv_at(a, 2, 1)), 3));
    let l = check_v3(&stale, &w);
    assert_eq!(l.violations.len(), 1, "{:?}", l.violations);
    assert!(l.violations[0].starts_with("not linearizable"));

    // c never happened: the watches saw every revision, none of them c's. A read of c after
    // b is then wrong (the watches or the read); left unknown, c would have explained it.
    let mut phantom = base.clone();
    phantom.push(get(40, 41, Some(kv_at(c, 4, 3)), 4));
    let l = check_v3(&phantom, &w);
    assert_eq!(l.violations.len(), 1, "{:?}", l.violations);
}

#[test]
fn a_write_in_a_hole_of_the_watches_is_settled_by_a_read() {
    // Both v2 watches resynced over indexes 11..=29 (their snapshots right): a lost set at 12
    // is in no event, but a read showed it. Dropping it (as if the watches saw everything)
    // would make that read a false violation.
    let (k, a, b) = (Sym(0), Sym(1), Sym(2));
    let mut w = watched(k, &[(a, 10, 5)], (2, 10));
    w.cover(30, 40);
    w.merge_covered();
    let obs = Observed {
        watch: &w,
        base: 1,
        end: 40,
    };
    let node = |v, i| NodeSeen {
        value: v,
        modified: i,
        created: i,
    };
    let ops = [
        op(
            1,
            0,
            4,
            v2::Request::Set(k, a),
            Some(v2::Response::Node {
                node: node(a, 10),
                prev: None,
            }),
        ),
        op(0, 10, 12, v2::Request::Set(k, b), None),
        op(
            2,
            20,
            22,
            v2::Request::Get(k),
            Some(v2::Response::Node {
                node: node(b, 12),
                prev: None,
            }),
        ),
    ];
    let (patched, n, _) = v2(&ops, &obs);
    assert_eq!(n.applied, 1);
    assert_eq!(patched[1].ret, 22);
    assert!(
        matches!(patched[1].output, Some(v2::Response::Applied { node }) if node.modified == 12)
    );
    let l = partition::check(
        &v2::V2,
        &patched,
        |r| vec![r.key()],
        1_000_000,
        |o| format!("{o:?}"),
    );
    assert!(l.violations.is_empty(), "{:?}", l.violations);
    // Unseen and in the hole: kept unknown, not dropped.
    let (_, n, _) = v2(&ops[..2], &obs);
    assert_eq!(n.kept, 1);
}

#[test]
fn a_write_unseen_in_a_hole_gets_a_deadline() {
    // The watches covered 2..=10 and 30..=40: a lost put nobody saw, invoked after revision 10
    // was answered, happened (if at all) at 11..=29, so before any answer at 29 or above.
    let (k, a, b) = (Sym(0), Sym(1), Sym(2));
    let mut w = watched(k, &[(a, 10, 5)], (2, 10));
    w.cover(30, 40);
    w.merge_covered();
    let obs = Observed {
        watch: &w,
        base: 1,
        end: 40,
    };
    let get = |rev| v3::Response::Get { rev, kv: None };
    let ops = [
        op(
            1,
            0,
            4,
            put(k, a),
            Some(v3::Response::Put {
                rev: 10,
                prev: None,
            }),
        ),
        op(0, 10, 12, put(k, b), None),
        op(2, 20, 45, v3::Request::Get(Sym(5)), Some(get(25))),
        op(3, 20, 60, v3::Request::Get(Sym(5)), Some(get(35))),
        op(4, 20, 50, v3::Request::Get(Sym(5)), Some(get(31))),
    ];
    let (_, n, deadlines) = v3(&ops, &obs);
    assert_eq!(n.kept, 1);
    assert_eq!(deadlines.get(&(0, 10)), Some(&50));
}

#[test]
fn a_delete_with_one_possible_maker_is_given_to_it() {
    // Unclaimed deletes at 5 (seen at 50) and 9 (seen at 90); lost deletes invoked at 10 and at
    // 60. Only the first can have made the one at 5, so the second made the one at 9.
    let (k, a) = (Sym(0), Sym(1));
    let mut w = watched(k, &[(a, 3, 4)], (2, 20));
    w.deletes = vec![
        RefDelete {
            key: k,
            rev: 5,
            at: Some(50),
            prev: Some(pair(k, a, 3)),
        },
        RefDelete {
            key: k,
            rev: 9,
            at: Some(90),
            prev: Some(pair(k, Sym(7), 7)),
        },
    ];
    let obs = Observed {
        watch: &w,
        base: 1,
        end: 20,
    };
    let del = |key| v3::Request::Delete {
        key,
        prev_kv: false,
    };
    let ops = [op(0, 10, 11, del(k), None), op(2, 60, 61, del(k), None)];
    let (out, n, _) = v3(&ops, &obs);
    assert_eq!(n.applied, 2, "{out:?}");
    assert_eq!(out[0].ret, 50);
    assert_eq!(out[1].ret, 90);
    // A v2 compare-and-delete on an index the deleted node never had made neither.
    let ops = [op(
        0,
        10,
        11,
        v2::Request::Cad {
            key: k,
            prev_value: None,
            prev_index: Some(1),
        },
        None,
    )];
    let (_, n, _) = v2(&ops, &obs);
    assert_eq!(n.dropped, 1);
}
