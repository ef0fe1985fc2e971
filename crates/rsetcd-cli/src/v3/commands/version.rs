//! `version`: this tool's version and the etcdctl API version it speaks.

use crate::error::CliError;

/// Prints `rsetcd version: …` and `API version: 3.5` (etcdctl prints its own version first).
pub fn run() -> Result<(), CliError> {
    super::super::context::write_stdout(
        format!(
            "rsetcd version: {}\nAPI version: 3.5\n",
            env!("CARGO_PKG_VERSION")
        )
        .as_bytes(),
    )
}
