//! Free loopback ports, never handed out twice by one process.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::Mutex;

use crate::{Error, Result};

static TAKEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A TCP port on 127.0.0.1 that is free now and that this process has not handed out before.
pub fn free_port() -> Result<u16> {
    alloc_port()
}

pub(crate) fn alloc_port() -> Result<u16> {
    for _ in 0..64 {
        let listener =
            TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("bind a free port", e))?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::io("read a bound port", e))?
            .port();
        let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
        if taken.insert(port) {
            return Ok(port);
        }
    }
    Err(Error::Start("no free port found".into()))
}

/// Marks a port chosen elsewhere (a recorded one) as handed out.
pub(crate) fn reserve_port(port: u16) {
    TAKEN.lock().unwrap_or_else(|p| p.into_inner()).insert(port);
}

pub(crate) fn release_port(_port: u16) {
    // Ports stay reserved for the life of the process: a restarted or late client must never meet
    // another node on an old port.
}

/// An `http://127.0.0.1:PORT` URL where nothing listens.
pub fn dead_endpoint() -> Result<String> {
    Ok(format!("http://127.0.0.1:{}", alloc_port()?))
}
