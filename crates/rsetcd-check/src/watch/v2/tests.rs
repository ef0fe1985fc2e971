//! Known-good and known-bad v2 watch histories.

use super::*;

struct Fixture {
    names: Interner,
    writers: HashMap<Sym, usize>,
    lost: Vec<Lost>,
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
        Fixture {
            names,
            writers,
            lost: Vec::new(),
        }
    }
    fn s(&self, s: &str) -> Sym {
        self.names.get(s).unwrap_or(Sym(u32::MAX))
    }
    fn set(&self, key: &str, value: &str, index: u64, prev: Option<NodeSeen>) -> Item {
        Item::Event {
            at: 0,
            event: Event {
                key: self.s(key),
                value: Some(self.s(value)),
                keeps_created: false,
                index,
                created: index,
                prev,
            },
        }
    }
    fn check(&self, segments: &[Segment], acked: &[Acked]) -> WatchReport {
        validate(
            segments,
            &Context {
                names: &self.names,
                acked,
                writers: &self.writers,
                lost: &self.lost,
                base_index: 10,
                full_prefix: None,
            },
        )
    }
}

fn seg(watcher: usize, after: u64, items: Vec<Item>) -> Segment {
    Segment {
        watcher,
        prefix: "/w/".into(),
        after,
        items,
    }
}

#[test]
fn exact_indexes_pass_and_a_skip_fails() {
    let f = Fixture::new();
    let a = NodeSeen {
        value: f.s("v1"),
        modified: 11,
        created: 11,
    };
    let items = vec![
        f.set("/w/a", "v1", 11, None),
        f.set("/w/b", "v2", 12, None),
        f.set("/w/a", "v3", 13, Some(a)),
    ];
    let r = f.check(&[seg(0, 10, items.clone())], &[]);
    assert_eq!(r.violations, Vec::<String>::new());
    let skipped = vec![items[0].clone(), items[2].clone()];
    let r = f.check(
        &[seg(0, 10, skipped)],
        &[Acked {
            op: 1,
            index: 12,
            key: f.s("/w/b"),
            value: Some(f.s("v2")),
            keeps_created: false,
        }],
    );
    assert!(
        r.violations.iter().any(|v| v.contains("skipped index 12")),
        "{:?}",
        r.violations
    );
}

#[test]
fn a_resync_must_account_for_what_it_skipped() {
    let f = Fixture::new();
    let a = NodeSeen {
        value: f.s("v1"),
        modified: 11,
        created: 11,
    };
    let b = NodeSeen {
        value: f.s("v2"),
        modified: 12,
        created: 12,
    };
    let full = seg(
        1,
        10,
        vec![f.set("/w/a", "v1", 11, None), f.set("/w/b", "v2", 12, None)],
    );
    let good = seg(
        0,
        10,
        vec![Item::Resynced {
            at: 0,
            index: 12,
            snapshot: vec![(f.s("/w/a"), a), (f.s("/w/b"), b)],
        }],
    );
    assert_eq!(
        f.check(&[full.clone(), good], &[]).violations,
        Vec::<String>::new()
    );
    let bad = seg(
        0,
        10,
        vec![Item::Resynced {
            at: 0,
            index: 12,
            snapshot: vec![(f.s("/w/a"), a)],
        }],
    );
    let r = f.check(&[full, bad], &[]);
    assert!(
        r.violations.iter().any(|v| v.contains("resync at 12")),
        "{:?}",
        r.violations
    );
}

#[test]
fn duplicates_and_reopening() {
    let f = Fixture::new();
    let r = f.check(
        &[seg(
            0,
            10,
            vec![f.set("/w/a", "v1", 11, None), f.set("/w/a", "v1", 11, None)],
        )],
        &[],
    );
    assert!(r.violations.iter().any(|v| v.contains("twice")));
    let r = f.check(
        &[
            seg(0, 10, vec![f.set("/w/a", "v1", 11, None)]),
            seg(0, 12, vec![]),
        ],
        &[],
    );
    assert!(r
        .violations
        .iter()
        .any(|v| v.contains("reopened after index 12")));
    let twice = f.check(
        &[seg(
            0,
            10,
            vec![f.set("/w/a", "v1", 11, None), f.set("/w/b", "v1", 12, None)],
        )],
        &[],
    );
    assert!(twice.violations.iter().any(|v| v.contains("written twice")));
}

#[test]
fn a_delete_of_a_key_created_in_a_resync_hole_is_etcds() {
    // Both watchers resynced from 10 to 13: /w/a was set at 11 by a write whose answer was lost
    // and deleted at 12 by an answered delete; the snapshot at 13 is right (no /w/a). The
    // reference sees a delete of a key it never saw created: a note, not a violation.
    let f = Fixture::new();
    let resync = |w| {
        seg(
            w,
            10,
            vec![
                Item::Resynced {
                    at: 0,
                    index: 13,
                    snapshot: vec![],
                },
                f.set("/w/b", "v2", 14, None),
            ],
        )
    };
    let delete = Acked {
        op: 0,
        index: 12,
        key: f.s("/w/a"),
        value: None,
        keeps_created: false,
    };
    let r = f.check(&[resync(0), resync(1)], &[delete]);
    assert_eq!(r.violations, Vec::<String>::new());
    assert!(
        r.notes.iter().any(|n| n.contains("resync's hole")),
        "{:?}",
        r.notes
    );
    // Where a watch saw every index, the same delete is a violation.
    let full = seg(1, 10, vec![f.set("/w/b", "v2", 14, None)]);
    let r = f.check(&[full], &[delete]);
    assert!(
        r.violations.iter().any(|v| v.contains("did not exist")),
        "{:?}",
        r.violations
    );
}

#[test]
fn a_resync_differing_by_a_lost_write_in_its_hole_is_a_note() {
    // /w/a = v1 at 11 (answered). A delete of /w/a and a set of /w/b = v2 lost their answers;
    // both watchers resynced from 11 to 14 and saw /w/b = v2 at 13 and no /w/a, then /w/b = v3.
    let mut f = Fixture::new();
    let a = f.s("/w/a");
    let b = NodeSeen {
        value: f.s("v2"),
        modified: 13,
        created: 13,
    };
    let set_a = Acked {
        op: 0,
        index: 11,
        key: a,
        value: Some(f.s("v1")),
        keeps_created: false,
    };
    let resync = |w| {
        seg(
            w,
            10,
            vec![
                f.set("/w/a", "v1", 11, None),
                Item::Resynced {
                    at: 500,
                    index: 14,
                    snapshot: vec![(f.s("/w/b"), b)],
                },
                // The lost set is this event's previous node: the snapshot put it in the
                // reference.
                f.set("/w/b", "v3", 15, Some(b)),
            ],
        )
    };
    let segments = [resync(0), resync(1)];
    // Without the lost writes: the snapshot does not account for the hole.
    let r = f.check(&segments, &[set_a]);
    assert!(
        r.violations.iter().any(|v| v.contains("resync at 14")),
        "{:?}",
        r.violations
    );
    f.lost = vec![
        Lost {
            key: a,
            value: None,
            call: 100,
        },
        Lost {
            key: f.s("/w/b"),
            value: Some(f.s("v2")),
            call: 200,
        },
    ];
    let r = f.check(&segments, &[set_a]);
    assert_eq!(r.violations, Vec::<String>::new());
    assert!(
        r.notes.iter().any(|n| n.contains("resync at 14 differs")),
        "{:?}",
        r.notes
    );
    // A delete sent after the snapshot arrived cannot be what it shows.
    f.lost[0].call = 600;
    let r = f.check(&segments, &[set_a]);
    assert!(
        r.violations.iter().any(|v| v.contains("resync at 14")),
        "{:?}",
        r.violations
    );
}
