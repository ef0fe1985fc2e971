//! Known-good and known-bad v3 watch histories.

use super::*;

struct Fixture {
    names: Interner,
    writers: HashMap<Sym, usize>,
}

impl Fixture {
    fn new() -> Fixture {
        let mut names = Interner::default();
        let mut writers = HashMap::new();
        for k in ["/w/a", "/w/b"] {
            names.intern(k);
        }
        for (i, v) in ["v1", "v2", "v3"].iter().enumerate() {
            writers.insert(names.intern(v), i);
        }
        Fixture { names, writers }
    }
    fn s(&self, s: &str) -> Sym {
        self.names.get(s).unwrap_or(Sym(u32::MAX))
    }
    fn put(
        &self,
        key: &str,
        value: &str,
        rev: i64,
        create: i64,
        version: i64,
        prev: Option<Kv>,
    ) -> Event {
        Event {
            put: true,
            kv: Kv {
                key: self.s(key),
                value: self.s(value),
                mod_rev: rev,
                create_rev: create,
                version,
                lease: 0,
            },
            prev,
        }
    }
    fn check(&self, segments: &[Segment], acked: &[Acked]) -> WatchReport {
        self.check_lost(segments, acked, &[])
    }
    fn check_lost(&self, segments: &[Segment], acked: &[Acked], lost: &[Lost]) -> WatchReport {
        validate(
            segments,
            &Context {
                names: &self.names,
                acked,
                writers: &self.writers,
                lost,
                base_rev: 1,
                lenient_progress: false,
                full_prefix: None,
            },
        )
    }
}

fn seg(watcher: usize, start_rev: i64, items: Vec<Item>) -> Segment {
    Segment {
        watcher,
        prefix: "/w/".into(),
        prev_kv: true,
        start_rev,
        snapshot: None,
        items,
    }
}

fn events(revision: i64, events: Vec<Event>) -> Item {
    Item::Events {
        at: 0,
        revision,
        events,
    }
}

/// Three puts: a=v1 @2, b=v2 @3, a=v3 @4.
fn good(f: &Fixture) -> Vec<Event> {
    let a1 = f.put("/w/a", "v1", 2, 2, 1, None);
    let b2 = f.put("/w/b", "v2", 3, 3, 1, None);
    let a3 = f.put("/w/a", "v3", 4, 2, 2, Some(a1.kv));
    vec![a1, b2, a3]
}

#[test]
fn complete_watches_pass() {
    let f = Fixture::new();
    let e = good(&f);
    let r = f.check(
        &[
            seg(
                0,
                2,
                vec![events(2, vec![e[0]]), events(4, vec![e[1], e[2]])],
            ),
            seg(
                1,
                3,
                vec![
                    events(3, vec![e[1]]),
                    Item::Progress { at: 0, revision: 3 },
                    events(4, vec![e[2]]),
                ],
            ),
        ],
        &[Acked {
            op: 0,
            rev: 2,
            key: f.s("/w/a"),
            put: Some((f.s("v1"), 0)),
        }],
    );
    assert_eq!(r.violations, Vec::<String>::new());
    assert_eq!(r.events, 5);
}

#[test]
fn a_dropped_event_is_unreliable() {
    let f = Fixture::new();
    let e = good(&f);
    let r = f.check(
        &[
            seg(0, 2, vec![events(2, vec![e[0]]), events(4, vec![e[2]])]),
            seg(1, 2, vec![events(4, vec![e[0], e[1], e[2]])]),
        ],
        &[],
    );
    assert!(
        r.violations
            .iter()
            .any(|v| v.contains("(reliable) missed /w/b at revision 3")),
        "{:?}",
        r.violations
    );
    // Dropped by every watch, but acknowledged to a client.
    let r = f.check(
        &[seg(
            0,
            2,
            vec![events(2, vec![e[0]]), events(4, vec![e[2]])],
        )],
        &[Acked {
            op: 1,
            rev: 3,
            key: f.s("/w/b"),
            put: Some((f.s("v2"), 0)),
        }],
    );
    assert!(
        r.violations.iter().any(|v| v.contains("(reliable)")),
        "{:?}",
        r.violations
    );
}

#[test]
fn order_duplicates_prev_kv_and_create_are_checked() {
    let f = Fixture::new();
    let e = good(&f);
    let unordered = f.check(&[seg(0, 2, vec![events(4, vec![e[0], e[2], e[1]])])], &[]);
    assert!(unordered.violations.iter().any(|v| v.contains("(ordered)")));
    let twice = f.check(
        &[seg(
            0,
            2,
            vec![
                events(2, vec![e[0]]),
                events(2, vec![e[0]]),
                events(4, vec![e[1], e[2]]),
            ],
        )],
        &[],
    );
    assert!(twice.violations.iter().any(|v| v.contains("(unique)")));
    let mut bad_prev = e.clone();
    bad_prev[2].prev = None;
    let r = f.check(
        &[seg(
            0,
            2,
            vec![events(2, vec![e[0]]), events(4, bad_prev[1..].to_vec())],
        )],
        &[],
    );
    assert!(
        r.violations.iter().any(|v| v.contains("(prevKV)")),
        "{:?}",
        r.violations
    );
    let mut bad_create = e.clone();
    bad_create[2].kv.create_rev = 4;
    bad_create[2].kv.version = 1;
    let r = f.check(&[seg(0, 2, vec![events(4, bad_create)])], &[]);
    assert!(
        r.violations.iter().any(|v| v.contains("(isCreate)")),
        "{:?}",
        r.violations
    );
    let bookmark = f.check(
        &[seg(
            0,
            2,
            vec![
                events(2, vec![e[0]]),
                Item::Progress { at: 0, revision: 4 },
                events(4, vec![e[1], e[2]]),
            ],
        )],
        &[],
    );
    assert!(bookmark
        .violations
        .iter()
        .any(|v| v.contains("(bookmarkable)")));
}

#[test]
fn a_write_applied_twice_shows_as_one_value_at_two_revisions() {
    let f = Fixture::new();
    let a1 = f.put("/w/a", "v1", 2, 2, 1, None);
    let again = f.put("/w/a", "v1", 3, 2, 2, Some(a1.kv));
    let r = f.check(
        &[seg(0, 2, vec![events(3, vec![a1, again])])],
        &[Acked {
            op: 0,
            rev: 3,
            key: f.s("/w/a"),
            put: Some((f.s("v1"), 0)),
        }],
    );
    assert!(
        r.violations.iter().any(|v| v.contains("written twice")),
        "{:?}",
        r.violations
    );
}

#[test]
fn resuming_must_continue_where_it_stopped() {
    let f = Fixture::new();
    let e = good(&f);
    let r = f.check(
        &[
            seg(0, 2, vec![events(2, vec![e[0]])]),
            seg(0, 4, vec![events(4, vec![e[2]])]),
        ],
        &[],
    );
    assert!(
        r.violations.iter().any(|v| v.contains("reopened at 4")),
        "{:?}",
        r.violations
    );
    // From a snapshot that matches the reference: fine.
    let mut resumed = seg(0, 4, vec![events(4, vec![e[2]])]);
    resumed.snapshot = Some(Snapshot {
        rev: 3,
        at: 0,
        kvs: vec![e[0].kv, e[1].kv],
    });
    let r = f.check(
        &[
            seg(
                0,
                2,
                vec![
                    events(2, vec![e[0]]),
                    Item::Compacted {
                        at: 0,
                        compact_revision: 3,
                    },
                ],
            ),
            resumed,
            seg(1, 2, vec![events(4, e.clone())]),
        ],
        &[],
    );
    assert_eq!(r.violations, Vec::<String>::new());
}

#[test]
fn a_watch_that_saw_nothing_is_fine() {
    let f = Fixture::new();
    let e = good(&f);
    let r = f.check(
        &[
            seg(0, 2, vec![events(4, e.clone())]),
            seg(1, 9, vec![]),
            seg(
                2,
                5,
                vec![Item::Ended {
                    at: 0,
                    error: "x".into(),
                }],
            ),
        ],
        &[],
    );
    assert_eq!(r.violations, Vec::<String>::new());
}

#[test]
fn a_snapshot_observes_the_puts_behind_its_pairs() {
    // One watcher, compacted after a=v1 @2, resumes from a snapshot at 3 showing b=v2 @3: a put
    // no watch saw and no answer gave (its answer was lost). The snapshot puts it in the
    // reference.
    let f = Fixture::new();
    let e = good(&f);
    let compacted = seg(
        0,
        2,
        vec![
            events(2, vec![e[0]]),
            Item::Compacted {
                at: 0,
                compact_revision: 3,
            },
        ],
    );
    let mut resumed = seg(0, 4, vec![events(4, vec![e[2]])]);
    resumed.snapshot = Some(Snapshot {
        rev: 3,
        at: 0,
        kvs: vec![e[0].kv, e[1].kv],
    });
    let r = f.check(&[compacted.clone(), resumed.clone()], &[]);
    assert_eq!(r.violations, Vec::<String>::new());
    // An answer that says another value was put at 3 contradicts it.
    let r = f.check(
        &[compacted, resumed],
        &[Acked {
            op: 0,
            rev: 3,
            key: f.s("/w/b"),
            put: Some((f.s("v3"), 0)),
        }],
    );
    assert!(
        r.violations
            .iter()
            .any(|v| v.contains("at revision 3 key /w/b")),
        "{:?}",
        r.violations
    );
}

/// Watcher 0 saw a=v1 @2 and b=v2 @3, then was compacted at 10 (ns); it reopens at 5 from a
/// snapshot at 4 that arrived at 30 and lacks a: deleted at 4, unseen.
fn lacking_a(f: &Fixture) -> Vec<Segment> {
    let e = good(f);
    let stopped = seg(
        0,
        2,
        vec![
            events(2, vec![e[0]]),
            events(3, vec![e[1]]),
            Item::Compacted {
                at: 10,
                compact_revision: 3,
            },
        ],
    );
    let mut resumed = seg(0, 5, vec![]);
    resumed.snapshot = Some(Snapshot {
        rev: 4,
        at: 30,
        kvs: vec![e[1].kv],
    });
    vec![stopped, resumed]
}

fn lost(f: &Fixture, key: &str, value: Option<&str>, call: Time) -> Lost {
    Lost {
        key: f.s(key),
        value: value.map(|v| f.s(v)),
        call,
    }
}

const LACKS_A: &str = "watcher 0's snapshot at 4 shows /w/a as None, the reference as";

#[test]
fn a_lost_delete_invoked_before_the_snapshot_explains_a_missing_key() {
    let f = Fixture::new();
    let r = f.check_lost(&lacking_a(&f), &[], &[lost(&f, "/w/a", None, 20)]);
    assert_eq!(r.violations, Vec::<String>::new());
    assert!(!r.gaps);
    assert_eq!(r.resyncs, 1);
    assert_eq!(
        r.notes,
        vec![
            "watcher 0's snapshot at 4 differs from the reference on /w/a (writes whose answers \
             were lost, in (3, 4] where no watch saw every revision)"
                .to_string()
        ]
    );
}

#[test]
fn a_lost_delete_invoked_after_the_snapshot_explains_nothing() {
    let f = Fixture::new();
    let r = f.check_lost(&lacking_a(&f), &[], &[lost(&f, "/w/a", None, 40)]);
    assert!(r.gaps);
    assert!(
        r.violations.iter().any(|v| v.starts_with(LACKS_A)),
        "{:?}",
        r.violations
    );
    assert_eq!(r.notes, Vec::<String>::new());
}

#[test]
fn a_missing_key_without_a_lost_delete_is_a_gap() {
    let f = Fixture::new();
    // No lost write, a lost put of the key, a lost delete of another key: none deleted a.
    for lost in [
        vec![],
        vec![lost(&f, "/w/a", Some("v3"), 20)],
        vec![lost(&f, "/w/b", None, 20)],
    ] {
        let r = f.check_lost(&lacking_a(&f), &[], &lost);
        assert!(r.gaps, "{lost:?}");
        assert_eq!(
            r.violations
                .iter()
                .filter(|v| v.starts_with(LACKS_A))
                .count(),
            1,
            "{lost:?}: {:?}",
            r.violations
        );
        assert_eq!(r.notes, Vec::<String>::new());
    }
}

#[test]
fn a_lost_delete_explains_nothing_where_another_watch_saw_the_hole() {
    // Watcher 1 vouches (by a progress notification) that it saw every event up to 4: a delete
    // of a by then would have reached it.
    let f = Fixture::new();
    let e = good(&f);
    let mut segs = lacking_a(&f);
    segs.push(seg(
        1,
        2,
        vec![
            events(3, vec![e[0], e[1]]),
            Item::Progress {
                at: 25,
                revision: 4,
            },
        ],
    ));
    let r = f.check_lost(&segs, &[], &[lost(&f, "/w/a", None, 20)]);
    assert!(r.gaps);
    assert!(
        r.violations.iter().any(|v| v.starts_with(LACKS_A)),
        "{:?}",
        r.violations
    );
}

#[test]
fn a_lost_put_explains_a_key_created_again_unseen() {
    // Watcher 0 saw a=v1 @2 and was compacted; a was deleted at 3 and a=v3 put at 4, both
    // unseen and unanswered. The snapshot at 4 shows a=v3 created at 4 (version 1), which the
    // reference, missing the delete, has as created at 2 (version 2).
    let f = Fixture::new();
    let a1 = f.put("/w/a", "v1", 2, 2, 1, None);
    let stopped = seg(
        0,
        2,
        vec![
            events(2, vec![a1]),
            Item::Compacted {
                at: 10,
                compact_revision: 3,
            },
        ],
    );
    let mut resumed = seg(0, 5, vec![]);
    resumed.snapshot = Some(Snapshot {
        rev: 4,
        at: 30,
        kvs: vec![f.put("/w/a", "v3", 4, 4, 1, None).kv],
    });
    let segs = [stopped, resumed];
    let delete = lost(&f, "/w/a", None, 15);
    let put = lost(&f, "/w/a", Some("v3"), 20);
    let r = f.check_lost(&segs, &[], &[delete, put]);
    assert_eq!(r.violations, Vec::<String>::new());
    assert!(!r.gaps);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    // Without the lost put (or with it invoked after the snapshot arrived): a gap.
    let late = lost(&f, "/w/a", Some("v3"), 31);
    for lost in [vec![delete], vec![delete, late]] {
        let r = f.check_lost(&segs, &[], &lost);
        assert!(r.gaps, "{lost:?}");
        assert!(
            r.violations
                .iter()
                .any(|v| v.starts_with("watcher 0's snapshot at 4 shows /w/a as Some(")),
            "{lost:?}: {:?}",
            r.violations
        );
    }
}

#[test]
fn a_lost_put_does_not_explain_a_snapshot_missing_a_later_write() {
    // The snapshot at 5 shows a=v2 @3 (put by a lost put), but watcher 1 saw a=v3 put at 4: the
    // read missed it, whatever was lost.
    let f = Fixture::new();
    let a1 = f.put("/w/a", "v1", 2, 2, 1, None);
    let a2 = f.put("/w/a", "v2", 3, 2, 2, Some(a1.kv));
    let a3 = f.put("/w/a", "v3", 4, 2, 3, Some(a2.kv));
    let stopped = seg(
        0,
        2,
        vec![
            events(2, vec![a1]),
            Item::Compacted {
                at: 10,
                compact_revision: 3,
            },
        ],
    );
    let mut resumed = seg(0, 6, vec![]);
    resumed.snapshot = Some(Snapshot {
        rev: 5,
        at: 30,
        kvs: vec![a2.kv],
    });
    let r = f.check_lost(
        &[stopped, resumed, seg(1, 4, vec![events(4, vec![a3])])],
        &[],
        &[lost(&f, "/w/a", Some("v2"), 20)],
    );
    assert!(r.gaps);
    assert!(
        r.violations
            .iter()
            .any(|v| v.starts_with("watcher 0's snapshot at 5 shows /w/a as Some(")),
        "{:?}",
        r.violations
    );
}

#[test]
fn a_previous_pair_missing_from_a_watchs_first_answer_is_etcds_race() {
    let f = Fixture::new();
    let e = good(&f);
    // Watcher 1 opens at 4, after a=v1 (seen by watcher 0): its first answer lacks a's pair.
    let mut first = e[2];
    first.prev = None;
    let whole = seg(
        0,
        2,
        vec![events(2, vec![e[0]]), events(4, vec![e[1], e[2]])],
    );
    let r = f.check(
        &[whole.clone(), seg(1, 4, vec![events(4, vec![first])])],
        &[],
    );
    assert_eq!(r.violations, Vec::<String>::new());
    assert_eq!(
        r.notes
            .iter()
            .filter(|n| n.contains("without its previous pair"))
            .count(),
        1,
        "{:?}",
        r.notes
    );
    // A wrong pair in the first answer is no race.
    let mut wrong = e[2];
    wrong.prev = Some(e[1].kv);
    let r = f.check(
        &[whole.clone(), seg(1, 4, vec![events(4, vec![wrong])])],
        &[],
    );
    assert!(
        r.violations.iter().any(|v| v.contains("(prevKV)")),
        "{:?}",
        r.violations
    );
    // Nor a missing one in a later answer of the same watch.
    let r = f.check(
        &[
            whole,
            seg(1, 3, vec![events(3, vec![e[1]]), events(4, vec![first])]),
        ],
        &[],
    );
    assert!(
        r.violations.iter().any(|v| v.contains("(prevKV)")),
        "{:?}",
        r.violations
    );
}
