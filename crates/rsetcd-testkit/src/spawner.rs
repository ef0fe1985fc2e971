//! Spawns etcd so that it dies with the process that started it, even when that process is killed
//! outright (SIGKILL, a test timeout) and no exit handler runs.
//!
//! On Linux each child asks for `PR_SET_PDEATHSIG = SIGKILL`. That signal fires when the *thread*
//! that forked the child ends, so children are forked by one thread that lives as long as the
//! process, not by a test's thread (which would take a shared node down with it).

use std::io;
use std::process::{Child, Command};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

type Job = (Command, Sender<io::Result<Child>>);

/// Spawns `cmd` (with the parent-death signal on Linux) from the long-lived spawner thread.
pub(crate) fn spawn(mut cmd: Command) -> io::Result<Child> {
    die_with_parent(&mut cmd);
    let Some(jobs) = spawner() else {
        return cmd.spawn();
    };
    let (reply, answer) = channel();
    let sent = jobs
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .send((cmd, reply));
    match sent {
        Ok(()) => answer
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the etcd spawner thread is gone"))),
        // The thread is gone: spawn here, without the guarantee.
        Err(mut back) => (back.0).0.spawn(),
    }
}

fn spawner() -> Option<&'static Mutex<Sender<Job>>> {
    static JOBS: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    JOBS.get_or_init(|| {
        let (jobs, queue) = channel::<Job>();
        std::thread::Builder::new()
            .name("rsetcd-testkit-spawner".into())
            .spawn(move || {
                // Ends only if every sender is gone, which the static never lets happen.
                for (mut cmd, reply) in queue {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .ok()
            .map(|_| Mutex::new(jobs))
    })
    .as_ref()
}

#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe functions
    // (prctl, getppid); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl: then nobody will signal us.
            if u32::try_from(libc::getppid()).ok() != Some(parent) {
                return Err(io::Error::other("the parent process exited"));
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}
