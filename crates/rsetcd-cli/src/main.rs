//! `rsetcd`: an etcdctl-compatible command line (etcd's v3 API by default, `ETCDCTL_API=2` for
//! the v2 commands), a local dev cluster, and benchmarks.

mod bench;
mod dev_cluster;
mod error;
mod secret;
mod v2;
mod v3;

use std::io::Write;
use std::process::ExitCode;

use error::CliError;

/// Which etcdctl the command line speaks, read from `ETCDCTL_API` as etcdctl reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    V2,
    V3,
}

fn selected_api() -> Result<Api, String> {
    // etcdctl unsets the variable after reading it, so that it is not taken for a flag.
    let api = std::env::var_os("ETCDCTL_API");
    match api.as_ref().map(|v| v.to_string_lossy()) {
        None => Ok(Api::V3),
        Some(v) if v.is_empty() || v == "3" => Ok(Api::V3),
        Some(v) if v == "2" => Ok(Api::V2),
        Some(v) => Err(format!("unsupported API version: {v}")),
    }
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let result = match selected_api() {
        Ok(Api::V2) => v2::main(args),
        Ok(Api::V3) => v3::main(args),
        Err(message) => Err(CliError::new(1, message)),
    };
    v2::context::flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if !e.message.is_empty() {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(e.message.as_bytes());
                if !e.message.ends_with('\n') {
                    let _ = writeln!(err);
                }
            }
            ExitCode::from(e.exit)
        }
    }
}

/// A single-threaded runtime: one thread does it all for a command-line client (bench starts its
/// own for --threads).
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::new(1, format!("Error: cannot start the runtime: {e}")))
}
