//! `pyetcd._native`: the Rust half of the `pyetcd` Python package (distribution
//! `rsetcd-pyetcd`), pyetcd 1.11.1's API on the rsetcd client.
//!
//! The Python half (`python/pyetcd/`) keeps pyetcd's classes: the exception hierarchy,
//! `EtcdResult`, `pyetcd.client.Client` and its argument handling. Every request is made here:
//! [`Core`] is the client (one per Python client, shared by its threads), [`NativeWatch`] a watch
//! iterator. How calls run (one runtime per thread, the GIL released, Ctrl-C, `fork()`) is in
//! `runtime.rs`.

#![warn(missing_docs)]

mod config;
mod convert;
mod core;
mod errors;
mod runtime;
mod watch;

pub use crate::core::Core;
pub use crate::watch::NativeWatch;

use pyo3::prelude::*;

/// Fork generation, for tests: how many `fork()`s separate this process from the one that
/// imported the module.
#[pyfunction]
fn fork_generation() -> u64 {
    runtime::generation()
}

/// The module `pyetcd._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    runtime::install_fork_hook()?;
    m.add_class::<Core>()?;
    m.add_class::<NativeWatch>()?;
    m.add_function(wrap_pyfunction!(fork_generation, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
