//! Errors as etcdctl prints them (`Error:  100: Key not found (/nope) [504]`) and its exit codes.

use std::fmt;

/// etcdctl's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Bad arguments.
    BadArgs = 1,
    /// The cluster could not be reached.
    BadConnection = 2,
    /// The server refused (an etcd error code, an HTTP error).
    ServerError = 4,
}

/// A failed command: what to print on stderr (a trailing newline is added when missing), and the
/// exit code.
#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
}

impl CliError {
    pub fn new(exit: Exit, message: impl Into<String>) -> CliError {
        CliError {
            exit,
            message: message.into(),
        }
    }

    /// A missing or invalid argument: `Error:  key required`.
    pub fn args(message: impl fmt::Display) -> CliError {
        CliError::new(Exit::BadArgs, format!("Error:  {message}"))
    }

    /// A message printed as is (no `Error:` prefix), as etcdctl does for some commands.
    pub fn plain(exit: Exit, message: impl Into<String>) -> CliError {
        CliError::new(exit, message)
    }
}

impl From<rsetcd::Error> for CliError {
    fn from(err: rsetcd::Error) -> CliError {
        use rsetcd::Error as E;
        match &err {
            E::Etcd {
                code,
                message,
                cause,
                index,
            } => CliError::new(
                Exit::ServerError,
                format!(
                    "Error:  {}: {message} ({}) [{index}]",
                    code.as_u16(),
                    cause.as_deref().unwrap_or("")
                ),
            ),
            E::Http { message, .. } => {
                CliError::new(Exit::ServerError, format!("Error:  {message}"))
            }
            E::Connect { .. }
            | E::Tls { .. }
            | E::Timeout { .. }
            | E::Transport { .. }
            | E::NoMoreHosts { .. } => CliError::new(Exit::BadConnection, cluster_error(&err)),
            E::Config(_) | E::InvalidArgument(_) | E::Discovery { .. } => CliError::args(&err),
            _ => CliError::new(Exit::ServerError, format!("Error:  {err}")),
        }
    }
}

/// etcdctl's cluster error: a summary line, a blank line, then one line per endpoint.
fn cluster_error(err: &rsetcd::Error) -> String {
    let failures: Vec<String> = match err {
        rsetcd::Error::NoMoreHosts { failures } => {
            failures.iter().map(|(_, e)| describe(e)).collect()
        }
        other => vec![describe(other)],
    };
    // Go's ClusterError: Error() ends each "; error #i" with a newline, Detail() lists them again.
    let summary: String = failures
        .iter()
        .enumerate()
        .map(|(i, f)| format!("; error #{i}: {f}\n"))
        .collect();
    let detail: String = failures
        .iter()
        .enumerate()
        .map(|(i, f)| format!("error #{i}: {f}\n"))
        .collect();
    format!("Error:  client: etcd cluster is unavailable or misconfigured{summary}\n{detail}\n")
}

/// One endpoint's failure in Go's words where they are well known.
fn describe(err: &rsetcd::Error) -> String {
    match err {
        rsetcd::Error::Connect { endpoint, source }
            if format!("{source:?}").contains("ConnectionRefused") =>
        {
            let addr = endpoint.split("://").nth(1).unwrap_or(endpoint);
            format!("dial tcp {addr}: connect: connection refused")
        }
        other => other.to_string(),
    }
}
