//! How a gRPC status from etcd becomes an [`Error`]: [`Error::V3`] with a [`V3ErrorKind`] to match
//! on, or a connection-level variant ([`Error::Connect`], [`Error::Transport`], [`Error::Tls`]).

use std::fmt;

use tonic::{Code, Status};

use crate::endpoints::Endpoint;
use crate::error::{Error, GrpcCode, V3ErrorKind};

/// tonic's status codes as ours.
impl From<Code> for GrpcCode {
    fn from(code: Code) -> Self {
        match code {
            Code::Cancelled => GrpcCode::Cancelled,
            Code::InvalidArgument => GrpcCode::InvalidArgument,
            Code::DeadlineExceeded => GrpcCode::DeadlineExceeded,
            Code::NotFound => GrpcCode::NotFound,
            Code::AlreadyExists => GrpcCode::AlreadyExists,
            Code::PermissionDenied => GrpcCode::PermissionDenied,
            Code::ResourceExhausted => GrpcCode::ResourceExhausted,
            Code::FailedPrecondition => GrpcCode::FailedPrecondition,
            Code::Aborted => GrpcCode::Aborted,
            Code::OutOfRange => GrpcCode::OutOfRange,
            Code::Unimplemented => GrpcCode::Unimplemented,
            Code::Internal => GrpcCode::Internal,
            Code::Unavailable => GrpcCode::Unavailable,
            Code::DataLoss => GrpcCode::DataLoss,
            Code::Unauthenticated => GrpcCode::Unauthenticated,
            Code::Ok | Code::Unknown => GrpcCode::Unknown,
        }
    }
}

/// Marks a failure of our connector: the request never reached the server.
#[derive(Debug)]
pub(crate) struct ConnectFailed(pub(crate) Error);

impl fmt::Display for ConnectFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for ConnectFailed {}

/// The error for an etcd message that came without a gRPC status (a watch's cancel reason).
pub(crate) fn from_message(message: &str, endpoint: &str) -> Error {
    Error::V3 {
        kind: V3ErrorKind::from_message(message).unwrap_or(V3ErrorKind::WatchCanceled),
        code: GrpcCode::Cancelled,
        message: message.to_string(),
        endpoint: endpoint.to_string(),
    }
}

/// Maps a status from `endpoint` into an [`Error`].
pub(crate) fn from_status(status: &Status, endpoint: &Endpoint) -> Error {
    let url = endpoint.url().to_string();
    // Our connector's failure, wrapped by tonic: the request never left.
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(e) = next {
        if let Some(ConnectFailed(inner)) = e.downcast_ref::<ConnectFailed>() {
            return match inner {
                Error::Tls { reason, .. } => Error::Tls {
                    endpoint: url,
                    reason: reason.clone(),
                },
                other => Error::connect(url, other.to_string()),
            };
        }
        next = e.source();
    }
    if let Some(reason) = never_sent(status) {
        return Error::connect(url, reason);
    }
    if let Some(reason) = crate::tls::explain(status) {
        return Error::Tls {
            endpoint: url,
            reason,
        };
    }
    let message = status.message().to_string();
    let kind = V3ErrorKind::from_message(&message);
    match (kind, status.code()) {
        (Some(kind), code) => Error::V3 {
            kind,
            code: code.into(),
            message,
            endpoint: url,
        },
        // A status made by the client library for a broken connection, not by etcd.
        (None, _) if std::error::Error::source(status).is_some() => {
            Error::transport(url, status.clone())
        }
        (None, code) => Error::V3 {
            kind: match code {
                Code::Unavailable => V3ErrorKind::Unavailable,
                Code::PermissionDenied => V3ErrorKind::PermissionDenied,
                Code::Unauthenticated => V3ErrorKind::InvalidAuthToken,
                _ => V3ErrorKind::Other,
            },
            code: code.into(),
            message,
            endpoint: url,
        },
    }
}

/// Whether the request provably never left: the connection was found closed when it was to be
/// written (a broken pipe: the member had already gone away) or before it was sent.
fn never_sent(status: &Status) -> Option<&'static str> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::BrokenPipe {
                return Some(
                    "the connection was already closed (broken pipe); the request was not sent",
                );
            }
        }
        if let Some(h) = e.downcast_ref::<h2::Error>() {
            if h.get_io().map(|io| io.kind()) == Some(std::io::ErrorKind::BrokenPipe) {
                return Some(
                    "the connection was already closed (broken pipe); the request was not sent",
                );
            }
            if h.reason() == Some(h2::Reason::REFUSED_STREAM) {
                return Some("the server refused the stream before processing it");
            }
        }
        next = e.source();
    }
    None
}
