//! One error type for every failure, with the etcd error code a caller matches on.
//!
//! etcd's v2 API answers a failed key operation with a JSON body carrying an `errorCode`; such an answer
//! becomes [`Error::Etcd`] and [`Error::code`] returns its [`EtcdCode`]. Everything else that can go wrong
//! (a refused connection, a body that is not JSON, a write whose outcome is unknown, a bad configuration)
//! has a variant of its own. etcd's v3 (gRPC) API refusing a request is [`Error::V3`]; match on
//! [`Error::v3_kind`].

use std::sync::Arc;
use std::time::Duration;

mod code;
mod v3;

pub use code::EtcdCode;
pub use v3::{GrpcCode, V3ErrorKind};

/// A boxed error from a lower layer (I/O, HTTP, TLS).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A lower layer's error as an [`Error`] holds it: shared, so that errors are cheap to clone (a
/// stream ending many watches hands each the same failure).
pub type Source = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What rsetcd returns: `Result<T, rsetcd::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every failure an rsetcd call can report.
///
/// Match on the variant, or on [`Error::code`] for etcd's own error codes:
///
/// ```
/// use rsetcd::{Error, EtcdCode};
///
/// fn describe(err: &Error) -> &'static str {
///     match err.code() {
///         Some(EtcdCode::KeyNotFound) => "no such key",
///         Some(EtcdCode::TestFailed) => "somebody else changed it first",
///         Some(_) => "etcd refused",
///         None if err.is_outcome_unknown() => "the write may or may not have happened",
///         None => "could not talk to etcd",
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// etcd answered with one of its error codes (`{"errorCode":…}`).
    #[error("{code}: {message}{} [index {index}]", cause.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Etcd {
        /// The error code, e.g. [`EtcdCode::KeyNotFound`].
        code: EtcdCode,
        /// etcd's message for the code.
        message: String,
        /// What the error is about, usually the key (etcd's `cause`).
        cause: Option<String>,
        /// The store index when the error happened (0 for validation and auth errors).
        index: u64,
    },
    /// An HTTP error status without an etcd error code (members, auth and stats errors, router errors).
    #[error("HTTP {status} from {endpoint}: {message}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// The `message` field of the body, or its text.
        message: String,
        /// The endpoint that answered.
        endpoint: String,
    },
    /// The server answered with something that is not the JSON etcd sends.
    #[error("invalid response from {endpoint}: {reason}")]
    InvalidResponse {
        /// The endpoint that answered.
        endpoint: String,
        /// What was wrong with the answer.
        reason: String,
    },
    /// The server answered with an empty body where one was expected.
    #[error("empty response from {endpoint}")]
    EmptyResponse {
        /// The endpoint that answered.
        endpoint: String,
    },
    /// The request never reached the server: connection refused, connect timeout, TLS handshake failure.
    /// Always safe to retry.
    #[error("cannot connect to {endpoint}: {}", chain(source.as_ref()))]
    Connect {
        /// The endpoint tried.
        endpoint: String,
        /// The underlying failure.
        #[source]
        source: Source,
    },
    /// A request reached the server but no complete answer came back in time.
    #[error("no answer from {endpoint} within {after:?}")]
    Timeout {
        /// The endpoint tried.
        endpoint: String,
        /// The timeout that ran out.
        after: Duration,
    },
    /// The connection failed after the request was sent (reset, closed, truncated body).
    #[error("connection to {endpoint} failed: {}", chain(source.as_ref()))]
    Transport {
        /// The endpoint tried.
        endpoint: String,
        /// The underlying failure.
        #[source]
        source: Source,
    },
    /// A write was sent but its outcome is unknown: it may or may not have been applied.
    /// rsetcd does not re-send such a write unless the call opted in
    /// (see the `retry_unknown_outcome` option of each write).
    #[error("outcome unknown: the write may or may not have been applied ({source})")]
    OutcomeUnknown {
        /// What happened to the request (a [`Error::Transport`], [`Error::Timeout`] or an etcd
        /// `RaftInternal` error).
        #[source]
        source: Box<Error>,
    },
    /// Every endpoint was tried and each failed; each failure is listed.
    #[error("no more hosts to try: {}", list(failures))]
    NoMoreHosts {
        /// Each endpoint tried, with its own failure, in the order tried.
        failures: Vec<(String, Error)>,
    },
    /// The configuration is invalid (bad host, port, URL, scheme, TLS file…).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An argument of the call is invalid (a malformed key, an empty prevValue…).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The TLS handshake failed: the reason says what to fix (an untrusted CA, a certificate for
    /// another host, an expired certificate, a missing or refused client certificate). Like
    /// [`Error::Connect`], the request never reached etcd.
    #[error("TLS with {endpoint} failed: {reason}")]
    Tls {
        /// The endpoint tried.
        endpoint: String,
        /// What went wrong, in words a user can act on.
        reason: String,
    },
    /// DNS SRV discovery found no usable endpoint.
    #[error("SRV discovery for {domain:?} failed: {reason}")]
    Discovery {
        /// The discovery domain.
        domain: String,
        /// What went wrong: no record, an unreachable name server, targets that do not resolve.
        reason: String,
    },
    /// etcd's v3 (gRPC) API refused the request: match on `kind` (or [`Error::v3_kind`]).
    #[error("{message} ({kind}, gRPC {code:?} from {endpoint})")]
    V3 {
        /// What was refused, e.g. [`V3ErrorKind::Compacted`].
        kind: V3ErrorKind,
        /// The gRPC status code.
        code: GrpcCode,
        /// etcd's message.
        message: String,
        /// The endpoint that answered.
        endpoint: String,
    },
    /// The operation is not available on the backend the client uses: the v2 statistics and
    /// auth APIs on a v2 client whose backend is the v3 API
    /// ([`V2Backend::OverV3`](crate::v2::V2Backend::OverV3)).
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A task the client runs in the background (the v3 watch multiplexer) has stopped, because
    /// the tokio runtime it was started on has shut down: use a client made on a running runtime.
    #[error("the client's background task has stopped: {0}")]
    Stopped(String),
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        next = e.source();
    }
    out
}

fn list(failures: &[(String, Error)]) -> String {
    failures
        .iter()
        .map(|(endpoint, err)| format!("[{endpoint}: {err}]"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// [`Error::Connect`] to `endpoint`: the request never reached it.
    pub(crate) fn connect(endpoint: impl Into<String>, source: impl Into<BoxError>) -> Error {
        Error::Connect {
            endpoint: endpoint.into(),
            source: Arc::from(source.into()),
        }
    }

    /// [`Error::Transport`] with `endpoint`: the connection failed after the request left.
    pub(crate) fn transport(endpoint: impl Into<String>, source: impl Into<BoxError>) -> Error {
        Error::Transport {
            endpoint: endpoint.into(),
            source: Arc::from(source.into()),
        }
    }

    /// [`Error::OutcomeUnknown`] around `self`.
    pub(crate) fn outcome_unknown(self) -> Error {
        Error::OutcomeUnknown {
            source: Box::new(self),
        }
    }

    /// The error a call ends with when every endpoint it tried failed: the one failure, or
    /// [`Error::NoMoreHosts`] listing each (none: no endpoint was configured).
    pub(crate) fn from_failures(mut failures: Vec<(String, Error)>) -> Error {
        match failures.len() {
            0 => Error::Config("no endpoint to send the request to".into()),
            1 => failures.swap_remove(0).1,
            _ => Error::NoMoreHosts { failures },
        }
    }

    /// The etcd error code, when etcd answered with one (also through [`Error::OutcomeUnknown`]).
    pub fn code(&self) -> Option<EtcdCode> {
        match self {
            Error::Etcd { code, .. } => Some(*code),
            Error::OutcomeUnknown { source } => source.code(),
            _ => None,
        }
    }

    /// True when a write may or may not have been applied.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(self, Error::OutcomeUnknown { .. })
    }

    /// True when the request provably did not reach any server (safe to send again).
    pub fn is_connect(&self) -> bool {
        match self {
            Error::Connect { .. } | Error::Tls { .. } => true,
            Error::NoMoreHosts { failures } => failures.iter().all(|(_, e)| e.is_connect()),
            _ => false,
        }
    }

    /// What etcd's v3 API refused, when it did (also through [`Error::OutcomeUnknown`]).
    pub fn v3_kind(&self) -> Option<V3ErrorKind> {
        match self {
            Error::V3 { kind, .. } => Some(*kind),
            Error::OutcomeUnknown { source } => source.v3_kind(),
            _ => None,
        }
    }

    /// The store index etcd reported with an etcd error.
    pub fn index(&self) -> Option<u64> {
        match self {
            Error::Etcd { index, .. } => Some(*index),
            Error::OutcomeUnknown { source } => source.index(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for code in EtcdCode::ALL {
            assert_eq!(EtcdCode::from(code.as_u16()), *code);
        }
        assert_eq!(EtcdCode::ALL.len(), 32);
        assert_eq!(EtcdCode::from(999), EtcdCode::Unknown(999));
        assert_eq!(EtcdCode::Unknown(999).as_u16(), 999);
    }

    #[test]
    fn errors_clone_with_shared_sources() {
        let err = Error::transport("http://a:1", "reset by peer").outcome_unknown();
        let copy = err.clone();
        assert!(copy.is_outcome_unknown());
        assert_eq!(err.to_string(), copy.to_string());
        let Error::OutcomeUnknown { source } = copy else {
            panic!("variant kept");
        };
        assert!(matches!(*source, Error::Transport { .. }));
        assert!(matches!(Error::from_failures(Vec::new()), Error::Config(_)));
        let one = Error::from_failures(vec![("a".into(), Error::Config("x".into()))]);
        assert!(matches!(one, Error::Config(_)));
    }

    #[test]
    fn display_names_every_endpoint() {
        let err = Error::NoMoreHosts {
            failures: vec![
                ("http://a:1".into(), Error::Config("x".into())),
                (
                    "http://b:2".into(),
                    Error::EmptyResponse {
                        endpoint: "http://b:2".into(),
                    },
                ),
            ],
        };
        let s = err.to_string();
        assert!(s.contains("http://a:1") && s.contains("http://b:2"), "{s}");
    }
}
