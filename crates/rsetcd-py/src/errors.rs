//! rsetcd's [`Error`] as pyetcd's exceptions.
//!
//! The classes live in Python (`pyetcd/__init__.py`, pyetcd's hierarchy plus a few subclasses);
//! Rust sorts an error into a kind and calls `pyetcd._native_error(kind, code, message, cause,
//! index, status)`, which picks the class and builds the exception.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use rsetcd::Error;

/// What Python needs to build the exception.
struct Described {
    kind: &'static str,
    code: Option<u16>,
    message: String,
    cause: Option<String>,
    index: Option<u64>,
    status: Option<u16>,
}

impl Described {
    fn new(kind: &'static str, err: &Error) -> Described {
        Described {
            kind,
            code: None,
            message: err.to_string(),
            cause: None,
            index: None,
            status: None,
        }
    }
}

/// The kind of a failure that never got an answer from etcd: a timeout, a TLS failure or (any
/// other, or a mix) a connection failure.
fn unreachable_kind(err: &Error) -> &'static str {
    match err {
        Error::Timeout { .. } => "timeout",
        Error::Tls { .. } => "tls",
        Error::NoMoreHosts { failures } if !failures.is_empty() => {
            let first = unreachable_kind(&failures[0].1);
            if failures.iter().all(|(_, e)| unreachable_kind(e) == first) {
                first
            } else {
                "connect"
            }
        }
        _ => "connect",
    }
}

fn describe(err: &Error) -> Described {
    match err {
        Error::Etcd {
            code,
            message,
            cause,
            index,
        } => Described {
            kind: "etcd",
            code: Some(code.as_u16()),
            message: message.clone(),
            cause: cause.clone(),
            index: Some(*index),
            status: None,
        },
        Error::OutcomeUnknown { .. } => Described {
            code: err.code().map(|c| c.as_u16()),
            index: err.index(),
            ..Described::new("outcome_unknown", err)
        },
        Error::Http { status, .. } => Described {
            status: Some(*status),
            ..Described::new("http", err)
        },
        Error::InvalidResponse { .. } => Described::new("invalid", err),
        Error::EmptyResponse { .. } => Described::new("empty", err),
        Error::Connect { .. }
        | Error::Transport { .. }
        | Error::Timeout { .. }
        | Error::Tls { .. }
        | Error::NoMoreHosts { .. } => Described::new(unreachable_kind(err), err),
        Error::Config(_) => Described::new("config", err),
        Error::Discovery { .. } => Described::new("discovery", err),
        Error::InvalidArgument(_) => Described::new("argument", err),
        _ => Described::new("other", err),
    }
}

static FACTORY: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The Python exception for an rsetcd error.
pub(crate) fn to_py(py: Python<'_>, err: &Error) -> PyErr {
    let d = describe(err);
    let built = FACTORY
        .get_or_try_init(py, || {
            py.import("pyetcd")?
                .getattr("_native_error")
                .map(Bound::unbind)
        })
        .and_then(|factory| {
            factory
                .bind(py)
                .call1((d.kind, d.code, &d.message, d.cause, d.index, d.status))
        });
    match built {
        Ok(exc) => PyErr::from_value(exc),
        // pyetcd's Python half is missing or broken: still an exception, never a panic.
        Err(e) => {
            let fallback = PyRuntimeError::new_err(d.message);
            fallback.set_cause(py, Some(e));
            fallback
        }
    }
}

/// Extension trait: `result.py_err(py)?`.
pub(crate) trait IntoPy<T> {
    /// Converts the rsetcd error, if any, into its Python exception.
    fn py_err(self, py: Python<'_>) -> PyResult<T>;
}

impl<T> IntoPy<T> for Result<T, Error> {
    fn py_err(self, py: Python<'_>) -> PyResult<T> {
        self.map_err(|e| to_py(py, &e))
    }
}
