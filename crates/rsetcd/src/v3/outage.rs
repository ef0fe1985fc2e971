//! How long-lived streams (watches, election observers) ride out an outage: while no endpoint
//! serves them they retry with a growing pause, and they give up after a bound counted from the
//! first failure in a row — the same rule, and the same default, as the v2 watch's
//! [`give_up_after`](crate::v2::Watch::give_up_after).

use std::time::Duration;

use crate::error::Error;

/// How long a stream keeps retrying while no endpoint serves it (as the v2 watch).
pub(crate) const DEFAULT_GIVE_UP: Duration = Duration::from_secs(30);
/// The first pause after a round in which every endpoint failed.
pub(crate) const BACKOFF_MIN: Duration = Duration::from_millis(50);
/// The longest pause between rounds.
pub(crate) const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A stream that breaks sooner than this after it opened is followed by the growing pause, as
/// a failed round is (a server that ends every stream at once must not be asked in a loop).
pub(crate) const SHORT_LIVED: Duration = Duration::from_secs(1);

/// The error a stream ends with after a failed round: the one failure, or every endpoint's.
pub(crate) fn round_error(failures: &[(String, Error)]) -> Error {
    match failures {
        [] => Error::Config("no endpoint to send the request to".into()),
        [(_, only)] => copy(only),
        many => Error::NoMoreHosts {
            failures: many.iter().map(|(e, err)| (e.clone(), copy(err))).collect(),
        },
    }
}

/// A copy of `err` with the same variant (lower-layer sources become their text), so that
/// each stream ending on one failure gets an error of its own.
pub(crate) fn copy(err: &Error) -> Error {
    match err {
        Error::Connect { endpoint, source } => Error::Connect {
            endpoint: endpoint.clone(),
            source: source.to_string().into(),
        },
        Error::Transport { endpoint, source } => Error::Transport {
            endpoint: endpoint.clone(),
            source: source.to_string().into(),
        },
        Error::Timeout { endpoint, after } => Error::Timeout {
            endpoint: endpoint.clone(),
            after: *after,
        },
        Error::Tls { endpoint, reason } => Error::Tls {
            endpoint: endpoint.clone(),
            reason: reason.clone(),
        },
        Error::V3 {
            kind,
            code,
            message,
            endpoint,
        } => Error::V3 {
            kind: *kind,
            code: *code,
            message: message.clone(),
            endpoint: endpoint.clone(),
        },
        Error::OutcomeUnknown { source } => Error::OutcomeUnknown {
            source: Box::new(copy(source)),
        },
        Error::NoMoreHosts { failures } => Error::NoMoreHosts {
            failures: failures
                .iter()
                .map(|(e, err)| (e.clone(), copy(err)))
                .collect(),
        },
        Error::Config(m) => Error::Config(m.clone()),
        Error::InvalidArgument(m) => Error::InvalidArgument(m.clone()),
        Error::InvalidResponse { endpoint, reason } => Error::InvalidResponse {
            endpoint: endpoint.clone(),
            reason: reason.clone(),
        },
        other => Error::Transport {
            endpoint: String::new(),
            source: other.to_string().into(),
        },
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
        Error::NoMoreHosts { failures } => failures.iter().any(|(_, e)| transient(e)),
        Error::V3 { kind, .. } => kind.not_applied_elsewhere_ok() || kind.outcome_unknown(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_error_keeps_the_variant_of_each_failure() {
        let one = vec![(
            "http://a".to_string(),
            Error::Connect {
                endpoint: "http://a".into(),
                source: "refused".into(),
            },
        )];
        assert!(
            matches!(round_error(&one), Error::Connect { endpoint, .. } if endpoint == "http://a")
        );
        let two = vec![one[0].0.clone(), "http://b".to_string()]
            .into_iter()
            .map(|e| {
                (
                    e.clone(),
                    Error::Timeout {
                        endpoint: e,
                        after: Duration::from_secs(1),
                    },
                )
            })
            .collect::<Vec<_>>();
        match round_error(&two) {
            Error::NoMoreHosts { failures } => {
                assert_eq!(failures.len(), 2);
                assert!(matches!(failures[1].1, Error::Timeout { .. }));
            }
            other => panic!("expected NoMoreHosts, got {other:?}"),
        }
        assert!(matches!(round_error(&[]), Error::Config(_)));
    }

    #[test]
    fn connection_failures_are_transient_refusals_are_not() {
        let refused = Error::Connect {
            endpoint: "http://a".into(),
            source: "refused".into(),
        };
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
