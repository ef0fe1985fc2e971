//! The bounded robustness run (about two minutes): every fault kind once — kill -9 of the leader
//! and of a follower, SIGSTOP of each, a member cut off from the clients, a leader move, a
//! compaction, a member replaced — while 4 v2 and 6 v3 clients (and one running leases) write,
//! read, compare-and-swap and transact on 6 keys per API, and six watches follow both prefixes.
//! The whole history must be linearizable and every watch must keep its guarantees.
//!
//! Ignored by default (it takes two minutes and finds issue 15's bugs on today's library):
//! `cargo test -p rsetcd-check --test bounded_run -- --ignored --nocapture`.

use std::time::Duration;

use rsetcd_check::faults::Kind;
use rsetcd_check::run::{run, Config};

#[test]
#[ignore = "a two-minute run against a real cluster; the test command runs it with --ignored"]
fn bounded_robustness_run() {
    let cfg = Config {
        duration: Duration::from_secs(110),
        faults: Kind::ALL.to_vec(),
        fault_every: Duration::from_secs(12),
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
    println!("{r}");
    // Every kind was injected.
    assert_eq!(
        o.faults
            .iter()
            .filter(|f| !f.contains("not injected"))
            .count(),
        Kind::ALL.len(),
        "{:?}",
        o.faults
    );
    assert!(r.v2.ops > 1000 && r.v3.ops > 1000, "{r}");
    assert!(r.ok(), "{r}");
}
