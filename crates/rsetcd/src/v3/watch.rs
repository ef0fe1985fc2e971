//! Watches (in progress).

use std::sync::Arc;

use super::client::Core;

/// The watch multiplexer.
#[derive(Debug)]
pub(crate) struct Hub {
    _core: Arc<Core>,
}

impl Hub {
    pub(crate) fn start(core: Arc<Core>) -> Hub {
        Hub { _core: core }
    }
}
