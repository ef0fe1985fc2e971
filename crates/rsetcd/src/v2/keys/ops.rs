//! The two roads of a key builder: the v2 HTTP request, or the engine's typed operation (each
//! builder's options mapped to it once, after the same checks), and the choice between them.

#[cfg(feature = "v3")]
use std::time::Duration;

use super::{call, Delete, Read, ResponseFuture, Write};
use crate::error::Result;
#[cfg(feature = "v3")]
use crate::v2::backend::{self, Route, V3Call};
use crate::v2::client::Client;
#[cfg(feature = "v3")]
use crate::v2::over_v3::{DeleteOp, KeyOp, ReadOp, WaitOp, WriteOp};
use crate::v2::transport::Request;

/// A builder that can take either road.
pub(super) trait Dispatch<'a>: Send + 'a {
    /// The client it was made by.
    fn owner(&self) -> &'a Client;
    /// The v2 HTTP request.
    fn http_request(&self) -> Result<Request>;
    /// The engine's operation, and the call's own timeout.
    #[cfg(feature = "v3")]
    fn into_v3(self) -> (Result<V3Call>, Option<Duration>);
}

/// Sends `builder` the way its client goes. The HTTP road's future is the one it always was:
/// the v3 road and the probe are futures of their own.
pub(super) fn dispatch<'a, B: Dispatch<'a>>(builder: B) -> ResponseFuture<'a> {
    let client = builder.owner();
    #[cfg(not(feature = "v3"))]
    return call(client, builder.http_request());
    #[cfg(feature = "v3")]
    match client.route() {
        Route::Http => call(client, builder.http_request()),
        Route::V3(engine) => {
            let (op, timeout) = builder.into_v3();
            Box::pin(async move { backend::run(engine, op?, timeout).await })
        }
        Route::Probe => Box::pin(async move {
            match client.decide().await? {
                Route::V3(engine) => {
                    let (op, timeout) = builder.into_v3();
                    backend::run(engine, op?, timeout).await
                }
                _ => call(client, builder.http_request()).await,
            }
        }),
    }
}

impl<'a> Dispatch<'a> for Write<'a> {
    fn owner(&self) -> &'a Client {
        self.client
    }

    fn http_request(&self) -> Result<Request> {
        self.request()
    }

    #[cfg(feature = "v3")]
    fn into_v3(self) -> (Result<V3Call>, Option<Duration>) {
        if let Err(e) = self.check() {
            return (Err(e), self.timeout);
        }
        let op = WriteOp {
            key: self.key,
            value: self.value,
            ttl: self.ttl,
            dir: self.dir,
            prev_value: self.prev_value,
            prev_index: self.prev_index,
            prev_exist: self.prev_exist,
            refresh: self.refresh,
            in_order: self.in_order,
            retry_unknown_outcome: self.retry_unknown,
        };
        (Ok(V3Call::Key(KeyOp::Write(op))), self.timeout)
    }
}

impl<'a> Dispatch<'a> for Read<'a> {
    fn owner(&self) -> &'a Client {
        self.client
    }

    fn http_request(&self) -> Result<Request> {
        self.request()
    }

    /// `quorum` has no v3 counterpart: v3 reads are linearizable already.
    #[cfg(feature = "v3")]
    fn into_v3(self) -> (Result<V3Call>, Option<Duration>) {
        let call = if self.wait {
            V3Call::Wait(WaitOp {
                key: self.key,
                recursive: self.recursive,
                wait_index: self.wait_index,
            })
        } else {
            V3Call::Key(KeyOp::Read(ReadOp {
                key: self.key,
                recursive: self.recursive,
                sorted: self.sorted,
            }))
        };
        (Ok(call), self.timeout)
    }
}

impl<'a> Dispatch<'a> for Delete<'a> {
    fn owner(&self) -> &'a Client {
        self.client
    }

    fn http_request(&self) -> Result<Request> {
        self.request()
    }

    #[cfg(feature = "v3")]
    fn into_v3(self) -> (Result<V3Call>, Option<Duration>) {
        if let Err(e) = self.check() {
            return (Err(e), self.timeout);
        }
        let op = DeleteOp {
            key: self.key,
            dir: self.dir,
            recursive: self.recursive,
            prev_value: self.prev_value,
            prev_index: self.prev_index,
            retry_unknown_outcome: self.retry_unknown,
        };
        (Ok(V3Call::Key(KeyOp::Delete(op))), self.timeout)
    }
}
