//! Errors as `ETCDCTL_API=3 etcdctl` prints them (`Error: <what>` on one line) and its exit codes.

use std::fmt::Display;

use crate::error::CliError;

/// etcdctl v3's exit codes (`cobrautl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// A request failed.
    Error = 1,
    /// The cluster could not be reached, or a stream broke.
    BadConnection = 2,
    /// Input read from stdin is invalid.
    InvalidInput = 3,
    /// An option or output format this command does not support.
    BadFeature = 4,
    /// Interrupted (a watch the server canceled).
    Interrupted = 5,
    /// A local file could not be read or written.
    Io = 6,
    /// Bad arguments.
    BadArgs = 128,
}

impl From<Exit> for u8 {
    fn from(exit: Exit) -> u8 {
        exit as u8
    }
}

/// `Error: {what}` with `exit`, as etcdctl's `ExitWithError`.
pub fn fail(exit: Exit, what: impl Display) -> CliError {
    CliError::new(exit, format!("Error: {what}"))
}

/// A bad argument (exit 128).
pub fn bad_args(what: impl Display) -> CliError {
    fail(Exit::BadArgs, what)
}

/// What a library error reads as on etcdctl's `Error:` line: etcd's own message for a refusal
/// (`etcdserver: mvcc: required revision has been compacted`), Go's words for a refused
/// connection, `context deadline exceeded` for a timeout, otherwise the library's sentence.
pub fn describe(err: &rsetcd::Error) -> String {
    use rsetcd::Error as E;
    match err {
        E::V3 {
            message,
            kind,
            code,
            ..
        } => {
            let desc = message
                .split_once(" desc = ")
                .map_or(message.as_str(), |(_, m)| m);
            // clientv3 turns the errors etcd names into their message alone; any other gRPC
            // status prints as Go's status text.
            let named = *kind != rsetcd::v3::V3ErrorKind::Other
                || ["etcdserver: ", "mvcc: ", "auth: ", "election: ", "lease: "]
                    .iter()
                    .any(|p| desc.starts_with(p));
            if named {
                desc.to_string()
            } else {
                format!("rpc error: code = {code:?} desc = {desc}")
            }
        }
        E::Connect { .. } => crate::error::describe(err),
        E::Timeout { .. } => "context deadline exceeded".into(),
        E::NoMoreHosts { failures } => {
            let all: Vec<String> = failures.iter().map(|(_, e)| describe(e)).collect();
            all.join("; ")
        }
        E::OutcomeUnknown { source } => format!(
            "{} (the request may or may not have been applied)",
            describe(source)
        ),
        other => other.to_string(),
    }
}

/// A library error as `Error: …` with `exit`.
pub fn lib(exit: Exit) -> impl Fn(rsetcd::Error) -> CliError {
    move |err| fail(exit, describe(&err))
}

/// `?` on library results in the commands: `Error: …`, exit 1 (etcdctl's `ExitError`).
pub trait OrFail<T> {
    /// Maps the error with exit code 1.
    fn or_fail(self) -> Result<T, CliError>;
}

impl<T> OrFail<T> for Result<T, rsetcd::Error> {
    fn or_fail(self) -> Result<T, CliError> {
        self.map_err(|e| {
            // etcdctl authenticates while it builds its client, and a refusal there is a
            // connection failure (exit 2).
            let exit = if e.v3_kind() == Some(rsetcd::v3::V3ErrorKind::AuthFailed) {
                Exit::BadConnection
            } else {
                Exit::Error
            };
            lib(exit)(e)
        })
    }
}
