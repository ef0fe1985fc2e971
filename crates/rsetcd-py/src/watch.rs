//! `pyetcd._native.NativeWatch`: rsetcd's resumable watch stream as a blocking Python iterator.
//!
//! A watch owns a single-threaded runtime of its own, so any thread may iterate it (one at a
//! time) and its long poll never depends on another thread driving a runtime. `close()` from
//! another thread stops an iteration in progress.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, TryLockError};

use futures_util::StreamExt;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3::IntoPyObjectExt;
use rsetcd::v2::{WatchEvent, WatchStream};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::convert;
use crate::errors::{to_py, IntoPy};
use crate::runtime::{self, block_on_with};

/// The stream and the runtime that drives its connections.
struct Live {
    stream: WatchStream,
    rt: Runtime,
}

/// A watch stream being iterated from Python. Items are tuples:
/// `("event", payload, x_etcd_index)` for a change, `("resync", snapshot, index)` when the watch
/// fell out of etcd's event history (`snapshot` a `(payload, x_etcd_index)` pair, or `None` when
/// the key does not exist). The iterator ends after a final error.
#[pyclass(frozen, module = "pyetcd._native")]
pub struct NativeWatch {
    generation: u64,
    live: Mutex<ManuallyDrop<Option<Live>>>,
    closed: AtomicBool,
    close_signal: Arc<Notify>,
}

impl Drop for NativeWatch {
    fn drop(&mut self) {
        if self.generation == runtime::generation() {
            let live = self.live.get_mut().unwrap_or_else(|e| e.into_inner());
            // SAFETY: `live` is not used again; this is the only place it is dropped.
            unsafe { ManuallyDrop::drop(live) };
        }
        // Else started in the parent before fork(): its sockets and epoll set are the parent's.
    }
}

impl NativeWatch {
    /// Wraps a stream (not polled yet) with a runtime of its own.
    pub(crate) fn start(stream: WatchStream) -> PyResult<NativeWatch> {
        let rt = runtime::new_runtime().map_err(|e| {
            PyRuntimeError::new_err(format!("cannot start the watch's I/O runtime: {e}"))
        })?;
        Ok(NativeWatch {
            generation: runtime::generation(),
            live: Mutex::new(ManuallyDrop::new(Some(Live { stream, rt }))),
            closed: AtomicBool::new(false),
            close_signal: Arc::new(Notify::new()),
        })
    }
}

fn item<'py>(py: Python<'py>, event: WatchEvent) -> PyResult<Bound<'py, PyTuple>> {
    match event {
        WatchEvent::Event(r) => {
            let (payload, index) = convert::response(py, &r)?;
            ("event", payload, index).into_pyobject(py)
        }
        WatchEvent::Resynced { snapshot, index } => {
            let snapshot = match snapshot {
                Some(r) => convert::response(py, &r)?.into_py_any(py)?,
                None => py.None(),
            };
            ("resync", snapshot, index).into_pyobject(py)
        }
    }
}

#[pymethods]
impl NativeWatch {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// The next item, waiting as long as it takes (Ctrl-C interrupts the wait; the watch stays
    /// usable and loses nothing).
    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        if self.generation != runtime::generation() {
            return Err(to_py(
                py,
                &rsetcd::Error::InvalidArgument(
                    "this watch was started before fork(): start a new one in this process".into(),
                ),
            ));
        }
        let mut guard = match self.live.try_lock() {
            Ok(g) => g,
            Err(TryLockError::WouldBlock) => {
                return Err(PyRuntimeError::new_err(
                    "this watch is being iterated by another thread",
                ))
            }
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
        };
        // Made before the flag is read: a close() from now on wakes it, even before it is polled.
        let signal = Arc::clone(&self.close_signal);
        let closed = signal.notified();
        if self.closed.load(Ordering::SeqCst) {
            **guard = None;
        }
        let Some(live) = guard.as_mut() else {
            return Ok(None);
        };
        let stream = &mut live.stream;
        let next = block_on_with(py, &live.rt, async move {
            tokio::select! {
                item = stream.next() => Some(item),
                () = closed => None,
            }
        })?;
        match next {
            Some(Some(Ok(event))) => item(py, event).map(Some),
            Some(Some(Err(e))) => {
                **guard = None;
                Err(e).py_err(py)
            }
            // The stream ended, or close() was called meanwhile.
            Some(None) | None => {
                **guard = None;
                Ok(None)
            }
        }
    }

    /// Stops the watch (also one being iterated by another thread) and closes its connection.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.close_signal.notify_waiters();
        if let Ok(mut guard) = self.live.try_lock() {
            if self.generation == runtime::generation() {
                **guard = None;
            }
        }
    }

    /// Whether the watch has ended (closed, or finished after an error).
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
            || self.live.try_lock().map(|g| g.is_none()).unwrap_or(false)
    }
}
