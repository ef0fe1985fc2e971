//! Known-good and known-bad v2 histories.

use super::*;
use crate::history::Time;
use crate::wgl::{check, Call, Verdict, NEVER};

const K: Sym = Sym(0);
const A: Sym = Sym(1);
const B: Sym = Sym(2);
const C: Sym = Sym(3);

fn node(value: Sym, modified: u64, created: u64) -> NodeSeen {
    NodeSeen {
        value,
        modified,
        created,
    }
}

fn ok(n: NodeSeen, prev: Option<NodeSeen>) -> Option<Response> {
    Some(Response::Node { node: n, prev })
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
    check(&V2, &calls, 1_000_000)
}

#[test]
fn create_cas_read_delete() {
    let v = run(&[
        (0, 10, Request::Create(K, A), ok(node(A, 4, 4), None)),
        (20, 30, Request::Create(K, B), Some(Response::NodeExist)),
        (
            40,
            50,
            Request::Cas {
                key: K,
                value: B,
                prev_value: Some(A),
                prev_index: None,
            },
            ok(node(B, 6, 4), Some(node(A, 4, 4))),
        ),
        (
            60,
            70,
            Request::Cas {
                key: K,
                value: C,
                prev_value: None,
                prev_index: Some(4),
            },
            Some(Response::TestFailed),
        ),
        (80, 90, Request::Get(K), ok(node(B, 6, 4), None)),
        (
            100,
            110,
            Request::Delete(K),
            Some(Response::Deleted {
                index: 9,
                prev: Some(node(B, 6, 4)),
            }),
        ),
        (120, 130, Request::Get(K), Some(Response::KeyNotFound)),
        (140, 150, Request::Set(K, C), ok(node(C, 10, 10), None)),
    ]);
    assert_eq!(v, Verdict::Linearizable);
}

#[test]
fn bad_histories() {
    // A CAS that succeeded although the value did not match.
    let v = run(&[
        (0, 10, Request::Set(K, A), ok(node(A, 4, 4), None)),
        (
            20,
            30,
            Request::Cas {
                key: K,
                value: B,
                prev_value: Some(C),
                prev_index: None,
            },
            ok(node(B, 5, 4), Some(node(A, 4, 4))),
        ),
    ]);
    assert!(matches!(v, Verdict::Illegal { .. }));
    // A read of an old index after a newer write completed.
    let v = run(&[
        (0, 10, Request::Set(K, A), ok(node(A, 4, 4), None)),
        (
            20,
            30,
            Request::Set(K, B),
            ok(node(B, 5, 5), Some(node(A, 4, 4))),
        ),
        (40, 50, Request::Get(K), ok(node(A, 4, 4), None)),
    ]);
    assert!(matches!(v, Verdict::Illegal { op: 2, .. }));
    // A prevNode that is not what was there.
    let v = run(&[
        (0, 10, Request::Set(K, A), ok(node(A, 4, 4), None)),
        (
            20,
            30,
            Request::Set(K, B),
            ok(node(B, 5, 5), Some(node(C, 4, 4))),
        ),
    ]);
    assert!(matches!(v, Verdict::Illegal { .. }));
}

#[test]
fn unknown_writes_and_compare_and_delete() {
    let v = run(&[
        (0, 10, Request::Set(K, A), ok(node(A, 4, 4), None)),
        (15, 16, Request::Set(K, B), None),
        (20, 30, Request::Get(K), ok(node(B, 7, 7), None)),
        (
            40,
            50,
            Request::Cad {
                key: K,
                prev_value: None,
                prev_index: Some(7),
            },
            Some(Response::Deleted {
                index: 8,
                prev: Some(node(B, 7, 7)),
            }),
        ),
        (60, 70, Request::Get(K), Some(Response::KeyNotFound)),
    ]);
    assert_eq!(v, Verdict::Linearizable);
}
