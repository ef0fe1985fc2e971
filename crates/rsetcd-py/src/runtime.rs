//! Running rsetcd's futures for Python callers.
//!
//! - Each Python thread drives its calls on a single-threaded tokio runtime of its own (kept in a
//!   thread-local), so a call's network wake-ups land on the calling thread: no hop to a worker
//!   thread and back. One `rsetcd::v2::Client` is shared by every thread; its pool keeps each
//!   runtime's connections apart.
//! - The GIL is released while a call waits, so other Python threads run meanwhile.
//! - On the main thread the wait wakes every [`TICK`] to run Python's signal handlers: Ctrl-C
//!   during a long wait raises `KeyboardInterrupt` at once and cancels the request.
//! - `fork()` bumps a generation counter (a `pthread_atfork` child handler). State made before the
//!   fork (runtimes, pooled connections, whose sockets and epoll set the parent still uses) is left
//!   untouched in the child, never dropped, and fresh state is made instead.

use std::cell::RefCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a wait on the main thread stops to run Python's signal handlers.
pub(crate) const TICK: Duration = Duration::from_millis(50);

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Registers the fork handler (once, at import).
pub(crate) fn install_fork_hook() -> PyResult<()> {
    // SAFETY: the handler only increments an atomic, which is async-signal-safe, as a handler
    // running in the child of a multi-threaded process must be.
    let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    if rc != 0 {
        return Err(PyOSError::new_err(format!(
            "pthread_atfork failed with error {rc}"
        )));
    }
    Ok(())
}

/// How many times this process's ancestors and itself forked since the module was loaded: state
/// made under another generation belongs to a parent process.
pub(crate) fn generation() -> u64 {
    FORK_GENERATION.load(Ordering::SeqCst)
}

/// A single-threaded runtime with I/O and timers.
pub(crate) fn new_runtime() -> std::io::Result<Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// One thread's runtime, and whether that thread is the one Python delivers signals to.
struct Local {
    generation: u64,
    main_thread: bool,
    rt: ManuallyDrop<Runtime>,
}

impl Drop for Local {
    fn drop(&mut self) {
        if self.generation == generation() {
            // SAFETY: `rt` is not used again; this is the only place it is dropped.
            unsafe { ManuallyDrop::drop(&mut self.rt) };
        }
        // Else made before a fork (a thread-local destructor in the child): left as it is.
    }
}

thread_local! {
    static LOCAL: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
}

/// This thread's runtime for the current fork generation, made on first use.
fn local() -> std::io::Result<Rc<Local>> {
    LOCAL.with(|cell| {
        let mut slot = cell.borrow_mut();
        let now = generation();
        if let Some(local) = slot.as_ref() {
            if local.generation == now {
                return Ok(Rc::clone(local));
            }
        }
        if let Some(stale) = slot.take() {
            // Made before a fork: its epoll set is shared with the parent, which may still use
            // it. Dropping it would deregister the parent's sockets; leave it be.
            std::mem::forget(stale);
        }
        let local = Rc::new(Local {
            generation: now,
            // SAFETY: both calls only read the calling thread's and process's ids.
            main_thread: unsafe { libc::gettid() == libc::getpid() },
            rt: ManuallyDrop::new(new_runtime()?),
        });
        *slot = Some(Rc::clone(&local));
        Ok(local)
    })
}

fn runtime_error(e: std::io::Error) -> PyErr {
    PyOSError::new_err(format!("cannot start the client's I/O runtime: {e}"))
}

/// Runs `fut` to completion on this thread's runtime with the GIL released; on the main thread,
/// runs signal handlers every [`TICK`] and gives up (dropping, so cancelling, `fut`) when one
/// raises, as Ctrl-C's does.
pub(crate) fn block_on<F>(py: Python<'_>, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        let step = py.detach(|| {
            // Inside `detach`, on this same thread: the thread-local is this thread's.
            let local = local()?;
            if local.main_thread {
                Ok(local
                    .rt
                    .block_on(async { tokio::time::timeout(TICK, fut.as_mut()).await })
                    .ok())
            } else {
                Ok(Some(local.rt.block_on(fut.as_mut())))
            }
        });
        match step.map_err(runtime_error)? {
            Some(out) => return Ok(out),
            // Outside the runtime, so a handler may itself use a client on this thread.
            None => py.check_signals()?,
        }
    }
}

/// [`block_on`] on a runtime of the caller's (a watch's own), checking signals on every thread
/// that Python delivers them to.
pub(crate) fn block_on_with<F>(py: Python<'_>, rt: &Runtime, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        let step = py.detach(|| {
            rt.block_on(async { tokio::time::timeout(TICK, fut.as_mut()).await })
                .ok()
        });
        match step {
            Some(out) => return Ok(out),
            None => py.check_signals()?,
        }
    }
}
