//! The checker must fail on broken clients and pass on the honest one, against a real 3-node
//! cluster without faults (so the verdict depends on the client alone):
//! - a client that re-sends every 40th write after it was applied (issue 15's re-send, applied
//!   twice and reported once) fails the check, on v2 and on v3;
//! - a watch that drops one event fails the watch validators, on v2 and on v3.

use std::sync::Mutex;
use std::time::Duration;

use rsetcd_check::record::v2::Broken;
use rsetcd_check::run::{run, Config, Outcome};

/// One cluster at a time: the runs would otherwise share the two cores.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn quiet_run(cfg: Config) -> Outcome {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let cfg = Config {
        duration: Duration::from_secs(8),
        faults: Vec::new(),
        ..cfg
    };
    match run(&cfg) {
        Ok(o) => o,
        Err(e) => panic!("the run could not be made: {e}"),
    }
}

#[test]
fn the_honest_client_passes() {
    let o = quiet_run(Config::default());
    let r = &o.report;
    assert!(r.ok(), "{r}");
    assert!(r.v2.ops > 500 && r.v3.ops > 500, "{r}");
    assert!(r.v2_watch.events > 100 && r.v3_watch.events > 100, "{r}");
}

#[test]
fn a_client_that_resends_sent_writes_fails() {
    let o = quiet_run(Config {
        broken_v2: Some(Broken::ResendWrites(40)),
        broken_v3: Some(Broken::ResendWrites(40)),
        ..Config::default()
    });
    let r = &o.report;
    assert!(!r.ok());
    // Both APIs' re-sends are caught: a value seen at two revisions (or indexes), or answers no
    // single application explains.
    let caught = |api: &str| {
        r.violations()
            .iter()
            .any(|v| v.starts_with(&format!("[{api} ")))
    };
    assert!(caught("v2"), "{r}");
    assert!(caught("v3"), "{r}");
    assert!(
        r.violations().iter().any(|v| v.contains("written twice")),
        "{r}"
    );
}

#[test]
fn a_watch_that_drops_an_event_fails() {
    let o = quiet_run(Config {
        drop_v2_event: Some(50),
        drop_v3_event: Some(50),
        ..Config::default()
    });
    let r = &o.report;
    assert!(
        r.v3_watch
            .violations
            .iter()
            .any(|v| v.contains("watcher 0 (reliable) missed")),
        "{r}"
    );
    assert!(
        r.v2_watch
            .violations
            .iter()
            .any(|v| v.contains("watcher 0 skipped index")),
        "{r}"
    );
    // Only the broken watcher is blamed.
    assert!(
        r.v2.violations.is_empty() && r.v3.violations.is_empty(),
        "{r}"
    );
}
