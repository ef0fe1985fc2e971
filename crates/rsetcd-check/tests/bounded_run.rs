//! The bounded robustness run (about two and a half minutes): every fault kind once — kill -9 of
//! the leader and of a follower, SIGSTOP of each, a member cut off from the clients, a leader
//! move, a compaction, a member replaced, and the fault proxy's faults on every exchange with one
//! member (answers dropped, reset, cut after the head, cut in the body, delayed past the request
//! timeout; GOAWAY and REFUSED_STREAM for v3) — while 4 v2 and 6 v3 clients (and one running
//! leases) write, read, compare-and-swap and transact on 6 keys per API, and six watches follow
//! both prefixes. The whole history must be linearizable, every watch must keep its guarantees,
//! and every proxy fault must have fired; every key partition must get a verdict (a search that
//! gave up fails the run).
//!
//! Ignored by default (it takes minutes): the test command runs it with
//! `cargo test -p rsetcd-check --test bounded_run -- --ignored --nocapture`.

use std::time::Duration;

use rsetcd_check::faults::{Fired, Kind};
use rsetcd_check::run::{run, Config};

#[test]
#[ignore = "a run of minutes against a real cluster; the test command runs it with --ignored"]
fn bounded_robustness_run() {
    let cfg = Config {
        duration: Duration::from_secs(122),
        faults: Kind::ALL.to_vec(),
        fault_every: Duration::from_secs(7),
        hold: Duration::from_secs(3),
        seed: 19,
        verbose: true,
        ..Config::default()
    };
    let o = match run(&cfg) {
        Ok(o) => o,
        Err(e) => panic!("the run could not be made: {e}"),
    };
    let r = &o.report;
    println!("faults:");
    for f in &o.faults {
        println!("  {f}");
    }
    println!(
        "longest stall: {:.2} s (operation), {:.2} s (watch)",
        o.longest_op.as_secs_f64(),
        o.longest_watch_delay.as_secs_f64()
    );
    let mut reached = Fired::default();
    for (_, f) in &o.fired {
        reached.add(f);
    }
    println!("proxy faults: {reached}");
    println!("{r}");
    // Every kind was injected (when the faults ran slow, the schedule may wrap round to a
    // second of the first kind before the traffic ends).
    for kind in Kind::ALL {
        let name = format!("{}: ", kind.name());
        assert!(
            o.faults.iter().any(
                |f| f.trim_start().split_once("s ").is_some_and(|(_, rest)| {
                    rest.starts_with(&name) && !rest.contains("not injected")
                })
            ),
            "{} was not injected: {:?}",
            kind.name(),
            o.faults
        );
    }
    // Every proxy fault fired.
    for kind in Kind::PROXY {
        assert!(
            o.fired.iter().any(|(k, f)| *k == kind && f.total > 0),
            "{} never fired: {:?}",
            kind.name(),
            o.fired
        );
    }
    assert!(r.v2.ops > 1000 && r.v3.ops > 1000, "{r}");
    // A verdict on every partition: a search that gave up is a failure, not a pass.
    assert_eq!(
        r.v2.gave_up + r.v3.gave_up,
        0,
        "no verdict on some partitions: {r}"
    );
    assert!(r.ok(), "{r}");
}
