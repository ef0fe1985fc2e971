//! Known-good and known-bad v3 histories.

use super::*;
use crate::history::Time;
use crate::wgl::{check, Call, Verdict, NEVER};

const K: Sym = Sym(0);
const A: Sym = Sym(1);
const B: Sym = Sym(2);
const C: Sym = Sym(3);

fn kv(value: Sym, mod_rev: i64, create_rev: i64, version: i64) -> Kv {
    Kv {
        key: K,
        value,
        mod_rev,
        create_rev,
        version,
        lease: 0,
    }
}

fn put(v: Sym) -> Request {
    Request::Put {
        key: K,
        value: v,
        lease: 0,
        prev_kv: false,
    }
}

fn put_ok(rev: i64) -> Option<Response> {
    Some(Response::Put { rev, prev: None })
}

fn get_ok(rev: i64, kv: Option<Kv>) -> Option<Response> {
    Some(Response::Get { rev, kv })
}

fn cas(expect_mod: i64, v: Sym) -> Request {
    Request::Txn {
        compares: vec![Compare {
            key: K,
            target: Target::Mod(expect_mod),
            op: CmpOp::Equal,
        }],
        success: vec![TxnOp::Put(K, v, 0)],
        failure: vec![TxnOp::Get(K)],
    }
}

fn run(ops: &[(Time, Time, Request, Option<Response>)]) -> Verdict {
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
    check(&V3, &calls, 1_000_000)
}

#[test]
fn puts_and_reads_with_revisions() {
    let v = run(&[
        (0, 10, put(A), put_ok(5)),
        (20, 30, Request::Get(K), get_ok(5, Some(kv(A, 5, 5, 1)))),
        (40, 50, put(B), put_ok(7)),
        (45, 55, Request::Get(K), get_ok(7, Some(kv(B, 7, 5, 2)))),
    ]);
    assert_eq!(v, Verdict::Linearizable);
}

#[test]
fn a_wrong_version_or_revision_is_caught() {
    let version = run(&[
        (0, 10, put(A), put_ok(5)),
        (20, 30, Request::Get(K), get_ok(5, Some(kv(A, 5, 5, 2)))),
    ]);
    assert!(matches!(version, Verdict::Illegal { .. }));
    let revision = run(&[
        (0, 10, put(A), put_ok(5)),
        (20, 30, Request::Get(K), get_ok(6, Some(kv(A, 6, 6, 1)))),
    ]);
    assert!(matches!(revision, Verdict::Illegal { .. }));
    // A later write with a lower revision.
    let order = run(&[(0, 10, put(A), put_ok(5)), (20, 30, put(B), put_ok(4))]);
    assert!(matches!(order, Verdict::Illegal { .. }));
}

#[test]
fn an_unknown_put_is_pinned_by_the_read_that_shows_it() {
    let v = run(&[
        (0, 10, put(A), put_ok(5)),
        (20, 21, put(B), None),
        (30, 40, Request::Get(K), get_ok(9, Some(kv(B, 9, 5, 2)))),
        // CAS on the revision the read showed.
        (
            50,
            60,
            cas(9, C),
            Some(Response::Txn {
                rev: 10,
                succeeded: true,
                results: vec![TxnResult::Put],
            }),
        ),
    ]);
    assert_eq!(v, Verdict::Linearizable);
}

#[test]
fn an_unknown_put_applied_twice_is_caught() {
    // The unknown put of B is seen at revision 6, overwritten by C at 7, then seen again at 8:
    // a re-sent write. No single application explains both reads.
    let v = run(&[
        (0, 10, put(A), put_ok(5)),
        (20, 21, put(B), None),
        (30, 40, Request::Get(K), get_ok(6, Some(kv(B, 6, 5, 2)))),
        (50, 60, put(C), put_ok(7)),
        (70, 80, Request::Get(K), get_ok(8, Some(kv(B, 8, 5, 4)))),
    ]);
    assert!(matches!(v, Verdict::Illegal { op: 4, .. }), "{v:?}");
}

#[test]
fn cas_against_an_unknown_revision_may_go_either_way() {
    let history = |succeeded| {
        run(&[
            (0, 10, put(A), put_ok(5)),
            (20, 21, put(B), None),
            (
                30,
                40,
                cas(8, C),
                Some(Response::Txn {
                    rev: 9,
                    succeeded,
                    results: if succeeded {
                        vec![TxnResult::Put]
                    } else {
                        vec![TxnResult::Get(Some(kv(B, 6, 5, 2)))]
                    },
                }),
            ),
        ])
    };
    assert_eq!(history(true), Verdict::Linearizable);
    assert_eq!(history(false), Verdict::Linearizable);
    // But a CAS on revision 5 (A's) cannot succeed once A is known overwritten before it.
    let v = run(&[
        (0, 10, put(A), put_ok(5)),
        (20, 30, put(B), put_ok(6)),
        (
            40,
            50,
            cas(5, C),
            Some(Response::Txn {
                rev: 7,
                succeeded: true,
                results: vec![TxnResult::Put],
            }),
        ),
    ]);
    assert!(matches!(v, Verdict::Illegal { .. }));
}

#[test]
fn deletes_and_lease_revocation() {
    let lease_put = Request::Put {
        key: K,
        value: A,
        lease: 77,
        prev_kv: true,
    };
    let v = run(&[
        (
            0,
            10,
            lease_put.clone(),
            Some(Response::Put { rev: 5, prev: None }),
        ),
        (
            20,
            30,
            Request::LeaseRevoke {
                lease: 77,
                keys: vec![K],
            },
            Some(Response::LeaseRevoke { rev: 6 }),
        ),
        (40, 50, Request::Get(K), get_ok(6, None)),
        (
            60,
            70,
            Request::Delete {
                key: K,
                prev_kv: false,
            },
            Some(Response::Delete {
                rev: 6,
                deleted: 0,
                prev: None,
            }),
        ),
    ]);
    assert_eq!(v, Verdict::Linearizable);
    // A key still there after its lease was revoked.
    let v = run(&[
        (0, 10, lease_put, Some(Response::Put { rev: 5, prev: None })),
        (
            20,
            30,
            Request::LeaseRevoke {
                lease: 77,
                keys: vec![K],
            },
            Some(Response::LeaseRevoke { rev: 6 }),
        ),
        (
            40,
            50,
            Request::Get(K),
            get_ok(
                6,
                Some(Kv {
                    lease: 77,
                    ..kv(A, 5, 5, 1)
                }),
            ),
        ),
    ]);
    assert!(matches!(v, Verdict::Illegal { .. }));
}

#[test]
fn a_wrong_prev_kv_is_caught() {
    let v = run(&[
        (0, 10, put(A), put_ok(5)),
        (
            20,
            30,
            Request::Put {
                key: K,
                value: B,
                lease: 0,
                prev_kv: true,
            },
            Some(Response::Put {
                rev: 6,
                prev: Some(kv(C, 5, 5, 1)),
            }),
        ),
    ]);
    assert!(matches!(v, Verdict::Illegal { .. }));
}
