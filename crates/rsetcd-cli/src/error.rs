//! A failed command (the message for stderr and the exit code), and the v2 mapping of library
//! errors as `ETCDCTL_API=2 etcdctl` prints them (`Error:  100: Key not found (/nope) [504]`).
//! The v3 commands map errors in [`crate::v3::error`].

use std::fmt;

/// `ETCDCTL_API=2 etcdctl`'s exit codes.
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
    /// The process exit code.
    pub exit: u8,
    /// What to print on stderr (nothing when empty).
    pub message: String,
}

impl From<Exit> for u8 {
    fn from(exit: Exit) -> u8 {
        exit as u8
    }
}

impl CliError {
    pub fn new(exit: impl Into<u8>, message: impl Into<String>) -> CliError {
        CliError {
            exit: exit.into(),
            message: message.into(),
        }
    }

    /// A missing or invalid argument: `Error:  key required`.
    pub fn args(message: impl fmt::Display) -> CliError {
        CliError::new(Exit::BadArgs, format!("Error:  {message}"))
    }

    /// A message printed as is (no `Error:` prefix), as etcdctl does for some commands.
    pub fn plain(exit: impl Into<u8>, message: impl Into<String>) -> CliError {
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
            E::Http {
                status: 404,
                message,
                endpoint,
            } if message.trim() == "404 page not found" => CliError::new(
                Exit::ServerError,
                format!(
                    "Error:  {endpoint} does not serve etcd's v2 API (etcd 3.4 and 3.5 serve it only with \
                     --enable-v2, 3.6 not at all): use the v3 commands (ETCDCTL_API=3, the default)"
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

/// One endpoint's failure in Go's words where they are well known (`dial tcp 127.0.0.1:2379:
/// connect: connection refused`), else the library's, without the endpoint twice.
pub fn describe(err: &rsetcd::Error) -> String {
    match err {
        rsetcd::Error::Connect { endpoint, source } => {
            let addr = endpoint.split("://").nth(1).unwrap_or(endpoint);
            let addr = addr.trim_end_matches('/');
            let mut innermost: &(dyn std::error::Error + 'static) = source.as_ref();
            let mut refused = false;
            loop {
                if let Some(io) = innermost.downcast_ref::<std::io::Error>() {
                    refused |= io.kind() == std::io::ErrorKind::ConnectionRefused;
                }
                match innermost.source() {
                    Some(next) => innermost = next,
                    None => break,
                }
            }
            let text = innermost.to_string();
            refused |= text.contains("Connection refused") || text.contains("os error 111");
            if refused || format!("{source:?}").contains("ConnectionRefused") {
                format!("dial tcp {addr}: connect: connection refused")
            } else {
                let text = text
                    .strip_prefix(&format!("cannot connect to {endpoint}: "))
                    .unwrap_or(&text);
                format!("dial tcp {addr}: {text}")
            }
        }
        other => other.to_string(),
    }
}
