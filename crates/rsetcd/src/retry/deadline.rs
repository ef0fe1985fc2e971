//! Deadlines: the bound of one attempt on one endpoint, and the bound of the whole call, which
//! covers everything the call does (connecting, token refresh, every attempt).

use std::time::Duration;

use tokio::time::Instant;

use crate::endpoints::Endpoint;
use crate::error::Error;

/// The bounds of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    /// The bound of one attempt (`None`: none, a wait without a timeout).
    attempt: Option<Duration>,
    /// The whole call's bound and when the call started (`None`: only the attempts are bounded).
    total: Option<(Duration, Instant)>,
}

impl Deadline {
    /// Each attempt bounded by `attempt`, the whole call by `total`, counted from now.
    pub(crate) fn new(attempt: Option<Duration>, total: Option<Duration>) -> Deadline {
        Deadline {
            attempt,
            total: total.map(|t| (t, Instant::now())),
        }
    }

    /// No bound at all.
    pub(crate) fn none() -> Deadline {
        Deadline::new(None, None)
    }

    /// When the whole call must be over, if it is bounded.
    #[cfg(any(feature = "v3", test))]
    pub(crate) fn until(&self) -> Option<Instant> {
        self.total.map(|(total, start)| start + total)
    }

    /// The next attempt's end and bound (`Some(None)`: unbounded), or `None` when the call's
    /// total has run out. The first attempt of a call with a total counts from the call's start
    /// (`fresh`), which spares a clock reading: a request reads the clock once.
    pub(crate) fn next_attempt(&self, fresh: bool) -> Option<Option<(Instant, Duration)>> {
        match self.total {
            None => Some(self.attempt.map(|a| (Instant::now() + a, a))),
            Some((total, start)) if fresh => {
                let limit = self.attempt.map_or(total, |a| a.min(total));
                Some(Some((start + limit, limit)))
            }
            Some((total, start)) => {
                let now = Instant::now();
                let left = (start + total).saturating_duration_since(now);
                Some(attempt_limit(self.attempt, left)?.map(|l| (now + l, l)))
            }
        }
    }

    /// The error of a call whose total ran out before an attempt could be made.
    pub(crate) fn expired(&self, endpoint: &Endpoint) -> Error {
        Error::Timeout {
            endpoint: endpoint.url().into(),
            after: self.total.map_or(Duration::ZERO, |(t, _)| t),
        }
    }

    /// `fut` within what is left of the whole call (for work around the attempts: token
    /// refresh, member sync); `None` when it ran out.
    #[cfg(feature = "v3")]
    pub(crate) async fn bound<T>(&self, fut: impl std::future::Future<Output = T>) -> Option<T> {
        match self.until() {
            Some(at) => tokio::time::timeout_at(at, fut).await.ok(),
            None => Some(fut.await),
        }
    }
}

/// The bound of an attempt: the per-attempt bound cut to what is `left` of the total; `None`
/// when nothing is left.
pub(crate) fn attempt_limit(attempt: Option<Duration>, left: Duration) -> Option<Option<Duration>> {
    if left.is_zero() {
        return None;
    }
    Some(Some(attempt.map_or(left, |a| a.min(left))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn an_attempt_never_outlives_the_total() {
        assert_eq!(attempt_limit(Some(5 * S), 2 * S), Some(Some(2 * S)));
        assert_eq!(attempt_limit(Some(S), 2 * S), Some(Some(S)));
        assert_eq!(attempt_limit(None, 2 * S), Some(Some(2 * S)));
        assert_eq!(attempt_limit(Some(S), Duration::ZERO), None);
        assert_eq!(attempt_limit(None, Duration::ZERO), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_total_counts_from_the_start_of_the_call() {
        let bound = |d: &Deadline, fresh| d.next_attempt(fresh).map(|a| a.map(|(_, l)| l));
        let start = Instant::now();
        let d = Deadline::new(Some(3 * S), Some(5 * S));
        assert_eq!(d.next_attempt(true), Some(Some((start + 3 * S, 3 * S))));
        tokio::time::advance(4 * S).await;
        assert_eq!(bound(&d, false), Some(Some(S)));
        assert_eq!(
            d.next_attempt(true),
            Some(Some((start + 3 * S, 3 * S))),
            "fresh: counted from the start"
        );
        tokio::time::advance(S).await;
        assert_eq!(bound(&d, false), None);
        let open = Deadline::new(Some(3 * S), None);
        tokio::time::advance(100 * S).await;
        assert_eq!(bound(&open, false), Some(Some(3 * S)));
        assert_eq!(bound(&Deadline::none(), true), Some(None));
    }

    #[cfg(feature = "v3")]
    #[tokio::test(start_paused = true)]
    async fn work_around_the_attempts_is_bounded_too() {
        let d = Deadline::new(None, Some(2 * S));
        assert_eq!(d.bound(async { 7 }).await, Some(7));
        let slow = d.bound(tokio::time::sleep(3 * S));
        assert_eq!(slow.await, None);
        assert_eq!(Deadline::none().bound(async { 1 }).await, Some(1));
    }
}
