use std::sync::Mutex;
use std::time::Duration;

use super::*;
use crate::endpoints::Scheme;

const KINDS: [Retry; 4] = [
    Retry::Read,
    Retry::Probe,
    Retry::Write,
    Retry::WriteRetryUnknown,
];

#[test]
fn the_rules_as_a_table() {
    use Fate::*;
    use Verdict::*;
    // Rows: fate; columns: Read, Probe, Write, WriteRetryUnknown.
    let table = [
        (NeverSent, [Next, Next, Next, Next]),
        (Declined, [Next, Next, Next, Next]),
        (Sent, [Next, Next, Unknown, Next]),
        (Undecided, [Next, Stop, Unknown, Next]),
        (ServerFailure, [Next, Stop, Stop, Stop]),
        (Final, [Stop, Stop, Stop, Stop]),
    ];
    for (fate, row) in table {
        for (retry, want) in KINDS.into_iter().zip(row) {
            assert_eq!(verdict(retry, fate), want, "{retry:?} after {fate:?}");
        }
    }
    assert_eq!(Retry::write(false), Retry::Write);
    assert_eq!(Retry::write(true), Retry::WriteRetryUnknown);
}

fn set(names: &[&str]) -> EndpointSet {
    EndpointSet::new(
        names
            .iter()
            .map(|n| Endpoint::parse(n, Scheme::Http, 1).unwrap())
            .collect(),
    )
}

fn fail(fate: Fate, what: &str) -> Failure {
    Failure::new(fate, Error::transport("x", what.to_string()))
}

/// Runs a call whose attempt on each endpoint (by host name) gives what `script` says, and
/// returns the outcome and the hosts tried in order.
async fn script(
    endpoints: &EndpointSet,
    retry: Retry,
    reconnect: bool,
    script: impl Fn(&str) -> Result<&'static str, Failure>,
) -> (Result<&'static str>, Vec<String>) {
    let tried = Mutex::new(Vec::new());
    let call = Call::new(
        endpoints,
        reconnect,
        retry,
        Deadline::new(Some(Duration::from_secs(5)), None),
    );
    let outcome = call
        .run(|e| {
            let host = e
                .url()
                .trim_start_matches("http://")
                .trim_end_matches(":1")
                .to_string();
            tried.lock().unwrap().push(host.clone());
            let answer = script(&host);
            async move { answer }
        })
        .await;
    (outcome, tried.into_inner().unwrap())
}

#[tokio::test]
async fn never_sent_goes_on_and_the_one_that_answered_is_tried_first_next_time() {
    let eps = set(&["a", "b", "c"]);
    let (out, tried) = script(&eps, Retry::Write, true, |h| match h {
        "a" => Err(fail(Fate::NeverSent, "refused")),
        _ => Ok("done"),
    })
    .await;
    assert_eq!(out.unwrap(), "done");
    assert_eq!(tried, ["a", "b"]);
    let (_, tried) = script(&eps, Retry::Read, true, |_| Ok("again")).await;
    assert_eq!(tried, ["b"], "b answered last");
}

#[tokio::test]
async fn a_sent_write_is_never_sent_again() {
    let eps = set(&["a", "b"]);
    let (out, tried) = script(&eps, Retry::Write, true, |_| Err(fail(Fate::Sent, "reset"))).await;
    let err = out.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(tried, ["a"]);
    // Opted in, or a read: sent again.
    for retry in [Retry::WriteRetryUnknown, Retry::Read] {
        let eps = set(&["a", "b"]);
        let (out, tried) = script(&eps, retry, true, |h| match h {
            "a" => Err(fail(Fate::Sent, "reset")),
            _ => Ok("done"),
        })
        .await;
        assert_eq!(out.unwrap(), "done");
        assert_eq!(tried, ["a", "b"]);
    }
}

#[tokio::test]
async fn every_failure_is_listed_and_a_final_answer_stops() {
    let eps = set(&["a", "b", "c"]);
    let (out, tried) = script(&eps, Retry::Read, true, |_| {
        Err(fail(Fate::NeverSent, "down"))
    })
    .await;
    assert_eq!(tried.len(), 3);
    match out.unwrap_err() {
        Error::NoMoreHosts { failures } => {
            let hosts: Vec<_> = failures.iter().map(|(e, _)| e.as_str()).collect();
            assert_eq!(hosts, ["http://a:1", "http://b:1", "http://c:1"]);
        }
        other => panic!("{other}"),
    }
    let (out, tried) = script(&eps, Retry::Read, true, |_| Err(fail(Fate::Final, "no"))).await;
    assert!(matches!(out.unwrap_err(), Error::Transport { .. }));
    assert_eq!(tried.len(), 1);
    let (out, tried) = script(&eps, Retry::Read, false, |_| {
        Err(fail(Fate::NeverSent, "x"))
    })
    .await;
    assert!(
        matches!(out.unwrap_err(), Error::Transport { .. }),
        "one endpoint: its own error"
    );
    assert_eq!(tried, ["a"], "without reconnect only the first endpoint");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_before_the_request_left_proves_it_was_not_sent() {
    let eps = set(&["a", "b"]);
    for (marks_sent, want_unknown) in [(false, false), (true, true)] {
        let call = Call::new(
            &eps,
            true,
            Retry::Write,
            Deadline::new(Some(Duration::from_secs(1)), None),
        );
        let mut first = true;
        let out = call
            .run(|_| {
                let slow = std::mem::take(&mut first);
                let progress = &call.progress;
                async move {
                    if slow {
                        if marks_sent {
                            progress.sent();
                        }
                        std::future::pending::<()>().await;
                    }
                    Ok::<_, Failure>("done")
                }
            })
            .await;
        match out {
            Ok(v) => {
                assert!(!want_unknown);
                assert_eq!(v, "done");
            }
            Err(e) => assert!(want_unknown && e.is_outcome_unknown(), "{e}"),
        }
    }
    // Untracked attempts (streams): a timeout is a timeout, and a read goes on.
    let call = Call::new(
        &eps,
        true,
        Retry::Read,
        Deadline::new(Some(Duration::from_secs(1)), None),
    )
    .untracked();
    let out: Result<()> = call.run(|_| std::future::pending()).await;
    match out.unwrap_err() {
        Error::NoMoreHosts { failures } => {
            assert!(failures
                .iter()
                .all(|(_, e)| matches!(e, Error::Timeout { .. })))
        }
        other => panic!("{other}"),
    }
}

#[tokio::test(start_paused = true)]
async fn the_total_bounds_every_attempt_together() {
    let eps = set(&["a", "b", "c"]);
    let call = Call::new(
        &eps,
        true,
        Retry::Read,
        Deadline::new(Some(Duration::from_secs(2)), Some(Duration::from_secs(3))),
    )
    .untracked();
    let started = tokio::time::Instant::now();
    let tried = Mutex::new(0);
    let out: Result<()> = call
        .run(|_| {
            *tried.lock().unwrap() += 1;
            std::future::pending()
        })
        .await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(3),
        "2 s, then the 1 s left"
    );
    assert_eq!(*tried.lock().unwrap(), 2);
    match out.unwrap_err() {
        Error::NoMoreHosts { failures } => match &failures[1].1 {
            Error::Timeout { after, .. } => assert_eq!(*after, Duration::from_secs(1)),
            other => panic!("{other}"),
        },
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn no_endpoint_is_a_configuration_error() {
    let eps = set(&[]);
    let (out, tried) = script(&eps, Retry::Read, true, |_| Ok("x")).await;
    assert!(matches!(out.unwrap_err(), Error::Config(_)));
    assert!(tried.is_empty());
}
