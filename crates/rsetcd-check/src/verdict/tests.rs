use super::*;

#[test]
fn symbols_are_named() {
    let mut names = Interner::default();
    let a = names.intern("/a");
    let text = format!("{a:?} and Sym(x) and {:?}", Sym(9));
    assert_eq!(named(&text, &names), "\"/a\" and Sym(x) and \"?\"");
}

#[test]
fn a_lost_v3_delete_explains_a_snapshot_lacking_its_key() {
    use crate::model::v3::Kv;
    use crate::watch::v3::{Event, Item, Segment, Snapshot};
    let mut log = Log::default();
    let (a, b) = (log.names.intern("/p/a"), log.names.intern("/p/b"));
    let (v1, v2) = (log.names.intern("v1"), log.names.intern("v2"));
    let kv = |key, value, rev| Kv {
        key,
        value,
        mod_rev: rev,
        create_rev: rev,
        version: 1,
        lease: 0,
    };
    let op = |call, input, output| Op {
        client: 0,
        call,
        ret: call + 1,
        input,
        output,
        error: None,
    };
    let put = |key, value| v3::Request::Put {
        key,
        value,
        lease: 0,
        prev_kv: false,
    };
    let put_at = |rev| Some(v3::Response::Put { rev, prev: None });
    let delete = v3::Request::Delete {
        key: a,
        prev_kv: false,
    };
    // a=v1 @2 and b=v2 @3 answered; the delete of a, invoked at 20, unanswered.
    log.v3 = vec![
        op(1, put(a, v1), put_at(2)),
        op(3, put(b, v2), put_at(3)),
        op(20, delete, None),
    ];
    let ev = |kv| Item::Events {
        at: 5,
        revision: 3,
        events: vec![Event {
            put: true,
            kv,
            prev: None,
        }],
    };
    let seg = |start_rev, snapshot, items| Segment {
        watcher: 0,
        prefix: "/p/".into(),
        prev_kv: false,
        start_rev,
        snapshot,
        items,
    };
    // Compacted after 3, it reopens from a snapshot at 4 (arrived at 30) that lacks a.
    let snap = Snapshot {
        rev: 4,
        at: 30,
        kvs: vec![kv(b, v2, 3)],
    };
    log.v3_watches = vec![
        seg(
            2,
            None,
            vec![
                ev(kv(a, v1, 2)),
                ev(kv(b, v2, 3)),
                Item::Compacted {
                    at: 10,
                    compact_revision: 3,
                },
            ],
        ),
        seg(5, Some(snap), vec![]),
    ];
    let bases = Bases {
        v3_rev: 1,
        v3_end: 3,
        ..Bases::default()
    };
    let report = check(&log, bases);
    assert_eq!(report.v3_watch.violations, Vec::<String>::new());
    assert_eq!(
        report.v3_watch.notes.len(),
        1,
        "{:?}",
        report.v3_watch.notes
    );
}

#[test]
fn a_watcher_short_of_the_final_write_says_how_its_recording_ended() {
    use crate::watch::v3::{Item, Segment};
    let mut log = Log::default();
    log.v3_watches.push(Segment {
        watcher: 3,
        prefix: "/p/".into(),
        prev_kv: true,
        start_rev: 10,
        snapshot: None,
        items: vec![
            Item::Progress {
                at: 2_000_000_000,
                revision: 12,
            },
            Item::Ended {
                at: 3_500_000_000,
                error: "watch ended".into(),
            },
        ],
    });
    let bases = Bases {
        v3_rev: 9,
        v3_end: 20,
        ..Bases::default()
    };
    let report = check(&log, bases);
    let want = "v3 watcher 3 stopped at revision 12, short of the final write at 20; 1 \
                segment(s); the last, from revision 10, has 2 item(s) and ends with \
                \"watch ended\" (3.500 s)";
    assert!(
        report.v3_watch.violations.iter().any(|v| v == want),
        "{:?}",
        report.v3_watch.violations
    );
}
