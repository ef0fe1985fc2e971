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
        validate(
            segments,
            &Context {
                names: &self.names,
                acked,
                writers: &self.writers,
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
    let r = f.check(&[seg(0, 2, vec![events(4, bad_prev)])], &[]);
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
