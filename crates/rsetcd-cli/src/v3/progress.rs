//! Progress of long commands (`snapshot save`, `defrag --cluster`, `make-mirror`): one line on
//! stderr, redrawn in place, only when stderr is a terminal, so that a pipe or a file gets exactly
//! what etcdctl writes.

use std::io::Write;

/// Whether stderr is a terminal.
pub fn on_terminal() -> bool {
    // SAFETY: isatty only reads the descriptor's state.
    unsafe { libc::isatty(2) == 1 }
}

/// A progress line, drawn only on a terminal.
#[derive(Debug)]
pub struct Progress {
    shown: bool,
    drawn: bool,
}

impl Progress {
    /// A progress line for this run (silent unless stderr is a terminal).
    pub fn new() -> Progress {
        Progress {
            shown: on_terminal(),
            drawn: false,
        }
    }

    /// Redraws the line with `text`.
    pub fn show(&mut self, text: &str) {
        if self.shown {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K{text}");
            let _ = err.flush();
            self.drawn = true;
        }
    }

    /// Clears the line (before other output is written).
    pub fn clear(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
            self.drawn = false;
        }
    }
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::new()
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}
