//! How long-lived streams (v2 and v3 watches, election observers, lease keep-alives) ride out an
//! outage: while no endpoint
//! serves them they retry with a growing pause, and they give up after a bound counted from the
//! first failure in a row — the same rule, and the same default, as the v2 watch's
//! [`give_up_after`](crate::v2::Watch::give_up_after).

use std::time::Duration;

use tokio::time::Instant;

use crate::error::Error;

/// How long a stream keeps retrying while no endpoint serves it (as the v2 watch).
#[cfg(feature = "v3")]
pub(crate) const DEFAULT_GIVE_UP: Duration = Duration::from_secs(30);
/// The first pause after a round in which every endpoint failed.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// The longest pause between rounds.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A stream that breaks sooner than this after it opened is followed by the growing pause, as
/// a failed round is (a server that ends every stream at once must not be asked in a loop).
#[cfg(feature = "v3")]
pub(crate) const SHORT_LIVED: Duration = Duration::from_secs(1);

/// The outage clock of a long-lived stream: since when it has been failing in a row, and the
/// growing pause between rounds.
#[derive(Debug)]
pub(crate) struct Outage {
    since: Option<Instant>,
    backoff: Duration,
}

impl Default for Outage {
    fn default() -> Self {
        Outage {
            since: None,
            backoff: BACKOFF_MIN,
        }
    }
}

impl Outage {
    /// Records a failure; returns since when the stream has been failing.
    pub(crate) fn failed(&mut self) -> Instant {
        *self.since.get_or_insert_with(Instant::now)
    }

    /// Whether `bound` has passed since the first failure in a row.
    pub(crate) fn past(&self, bound: Duration) -> bool {
        self.since.is_some_and(|s| s.elapsed() >= bound)
    }

    /// The stream works again: something arrived that only a working stream delivers.
    pub(crate) fn recovered(&mut self) {
        self.since = None;
    }

    /// The pause before the next round (growing after each), never past `bound` counted from
    /// the first failure.
    pub(crate) fn pause(&mut self, bound: Option<Duration>) -> Duration {
        let pause = match (self.since, bound) {
            (Some(since), Some(bound)) => self
                .backoff
                .min((since + bound).saturating_duration_since(Instant::now())),
            _ => self.backoff,
        };
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
        pause
    }

    /// A stream that was open for `open_for` broke: no pause if it had lived long enough (the
    /// pause starts again from the smallest), else the growing pause, as after a failed round.
    #[cfg(feature = "v3")]
    pub(crate) fn broke(&mut self, open_for: Duration) -> Duration {
        self.failed();
        if open_for >= SHORT_LIVED {
            self.backoff = BACKOFF_MIN;
            Duration::ZERO
        } else {
            self.pause(None)
        }
    }
}

/// Whether waiting (or another endpoint) may cure `err`: the connection failed or etcd was
/// unavailable for a while (no leader, stopping, timed out). Refusals (permissions, bad
/// requests, configuration) are final.
pub(crate) fn transient(err: &Error) -> bool {
    match err {
        Error::Connect { .. }
        | Error::Timeout { .. }
        | Error::Transport { .. }
        | Error::OutcomeUnknown { .. } => true,
        Error::Http { status, .. } => *status >= 500,
        Error::NoMoreHosts { failures } => failures.iter().any(|(_, e)| transient(e)),
        Error::V3 { kind, .. } => kind.not_applied() || kind.outcome_unknown(),
        Error::Etcd { code, .. } => *code == crate::EtcdCode::RaftInternal,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_outage_clock() {
        let mut o = Outage::default();
        assert!(!o.past(Duration::ZERO));
        let since = o.failed();
        assert_eq!(o.pause(None), BACKOFF_MIN);
        assert_eq!(o.pause(None), BACKOFF_MIN * 2);
        tokio::time::advance(Duration::from_secs(3)).await;
        assert_eq!(o.failed(), since, "counted from the first failure in a row");
        assert!(o.past(Duration::from_secs(3)) && !o.past(Duration::from_secs(4)));
        // Never past the give-up bound.
        assert_eq!(
            o.pause(Some(Duration::from_millis(3100))),
            Duration::from_millis(100)
        );
        for _ in 0..10 {
            o.pause(None);
        }
        assert_eq!(o.pause(None), BACKOFF_MAX);
        #[cfg(feature = "v3")]
        {
            assert_eq!(
                o.broke(SHORT_LIVED),
                Duration::ZERO,
                "a long-lived stream resumes at once"
            );
            assert_eq!(o.broke(Duration::ZERO), BACKOFF_MIN);
        }
        o.recovered();
        assert!(!o.past(Duration::ZERO));
    }

    #[test]
    fn connection_failures_are_transient_refusals_are_not() {
        let refused = Error::connect("http://a", "refused");
        assert!(transient(&refused));
        assert!(transient(&Error::NoMoreHosts {
            failures: vec![("http://a".into(), refused)]
        }));
        assert!(!transient(&Error::Config("bad".into())));
        assert!(!transient(&Error::Tls {
            endpoint: "https://a".into(),
            reason: "untrusted".into()
        }));
    }
}
