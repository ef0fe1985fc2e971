//! How a failed v3 call becomes a [`Failure`] for the retry layer: [`Error::V3`] with a
//! [`V3ErrorKind`] for etcd's refusals, or a connection-level variant ([`Error::Connect`],
//! [`Error::Tls`]: never sent; [`Error::Transport`]: sent) by [`classify`]'s reading.

use tonic::{Code, Status};

use std::sync::Arc;

use super::channel::CallError;
use crate::endpoints::Endpoint;
use crate::error::{Error, GrpcCode, Source, V3ErrorKind};
use crate::retry::classify::{self, NotSent};
use crate::retry::{Failure, Fate};

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

/// The error for an etcd message that came without a gRPC status (a watch's cancel reason).
pub(crate) fn from_message(message: &str, endpoint: &str) -> Error {
    Error::V3 {
        kind: V3ErrorKind::from_message(message).unwrap_or(V3ErrorKind::WatchCanceled),
        code: GrpcCode::Cancelled,
        message: message.to_string(),
        endpoint: endpoint.to_string(),
    }
}

/// Maps a status from `endpoint` into an [`Error`]: a failure below gRPC (made by the client
/// library, with a source) becomes the connection-level variant its classification says
/// ([`Error::Connect`] or [`Error::Tls`] for a call that never left, else [`Error::Transport`]);
/// etcd's own refusals become [`Error::V3`].
pub(crate) fn from_status(status: &Status, endpoint: &Endpoint) -> Error {
    let url = endpoint.url();
    if let Some(source) = std::error::Error::source(status) {
        return lower(source, url, || Arc::new(status.clone()));
    }
    let message = status.message().to_string();
    let kind = V3ErrorKind::from_message(&message).unwrap_or(match status.code() {
        Code::Unavailable => V3ErrorKind::Unavailable,
        Code::PermissionDenied => V3ErrorKind::PermissionDenied,
        Code::Unauthenticated => V3ErrorKind::InvalidAuthToken,
        _ => V3ErrorKind::Other,
    });
    Error::V3 {
        kind,
        code: status.code().into(),
        message,
        endpoint: url.to_string(),
    }
}

/// The error for a failure below gRPC, by what it proves: the call never left (our connector's
/// own error, or a TLS refusal), or it broke after it left.
fn lower(
    err: &(dyn std::error::Error + 'static),
    url: &str,
    source: impl FnOnce() -> Source,
) -> Error {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(NotSent(inner)) = e.downcast_ref::<NotSent>() {
            return inner.clone();
        }
        next = e.source();
    }
    if let Some(tls) = crate::tls::find_in_chain(err).filter(|t| crate::tls::is_refusal(t)) {
        return Error::Tls {
            endpoint: url.to_string(),
            reason: crate::tls::describe(tls, None),
        };
    }
    match classify::chain(err) {
        Fate::NeverSent => Error::Connect {
            endpoint: url.to_string(),
            source: source(),
        },
        _ => Error::Transport {
            endpoint: url.to_string(),
            source: source(),
        },
    }
}

/// What a failed call proves, and its error: the variant says it (see [`from_status`]).
pub(crate) fn failure(status: &Status, endpoint: &Endpoint) -> Failure {
    sorted(from_status(status, endpoint))
}

fn sorted(error: Error) -> Failure {
    let fate = match &error {
        Error::V3 { kind, .. } => classify::v3_answer(*kind),
        Error::Connect { .. } | Error::Tls { .. } | Error::Config(_) => Fate::NeverSent,
        Error::InvalidArgument(_) | Error::Stopped(_) => Fate::Final,
        _ => Fate::Sent,
    };
    Failure::new(fate, error)
}

impl CallError {
    /// What the failed call proves, and its error.
    pub(crate) fn sort(self, endpoint: &Endpoint) -> Failure {
        match self {
            CallError::NotSent(error) => sorted(error),
            CallError::Broken(err) => {
                let err: Source = Arc::from(err);
                sorted(lower(&*err, endpoint.url(), || err.clone()))
            }
            CallError::Status(status) => failure(&status, endpoint),
        }
    }
}
