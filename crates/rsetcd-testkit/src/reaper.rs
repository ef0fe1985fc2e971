//! Keeps the pids of running etcd processes so that none outlives the process that started it, even
//! when a node is never dropped (a `static`, or a panic that aborts).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Mutex, Once};

static PIDS: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

extern "C" fn kill_all() {
    let pids = PIDS.lock().map(|p| p.clone()).unwrap_or_default();
    let unique: HashSet<u32> = pids.into_iter().collect();
    for pid in unique {
        signal(pid, libc::SIGKILL);
        // Wait (bounded) for it to go before its directory is removed.
        for _ in 0..200 {
            if !alive(pid) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
    for dir in DIRS.lock().map(|d| d.clone()).unwrap_or_default() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: registering a plain extern "C" fn with no arguments is what atexit expects.
        unsafe {
            libc::atexit(kill_all);
        }
    });
}

pub(crate) fn register(pid: u32) {
    install_hook();
    if let Ok(mut pids) = PIDS.lock() {
        pids.push(pid);
    }
}

/// Removes `dir` when the process exits (for nodes that are never dropped).
pub(crate) fn remove_at_exit(dir: PathBuf) {
    install_hook();
    if let Ok(mut dirs) = DIRS.lock() {
        dirs.push(dir);
    }
}

pub(crate) fn unregister(pid: u32) {
    if let Ok(mut pids) = PIDS.lock() {
        pids.retain(|p| *p != pid);
    }
}

pub(crate) fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a pid we started; at worst it fails with ESRCH.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Whether `pid` is a live process (an exited, unreaped child — a zombie — is not).
pub(crate) fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}
