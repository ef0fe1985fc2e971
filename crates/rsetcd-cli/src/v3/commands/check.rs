//! `check perf|datascale`: not implemented. Both write large loads to the cluster for a minute
//! or more and read etcd's Prometheus metrics; they are benchmarks rather than client commands,
//! and `rsetcd bench` measures throughput and latency instead. They say so and exit 4, as
//! etcdctl does for a feature it lacks.

use clap::Subcommand;

use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::{fail, Exit};

/// The check commands.
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check the performance of the etcd cluster
    #[command(disable_help_flag = false)]
    Perf(Rest),
    /// Check the memory usage of holding data for different workloads on a given server endpoint.
    Datascale(Rest),
}

/// Any flags (refused with the command).
#[derive(Debug, clap::Args)]
pub struct Rest {
    /// Ignored.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<std::ffi::OsString>,
}

/// Says that the command is not implemented (exit 4).
pub async fn run(_ctx: &Ctx, command: &CheckCommand) -> Result<(), CliError> {
    let name = match command {
        CheckCommand::Perf(_) => "perf",
        CheckCommand::Datascale(_) => "datascale",
    };
    Err(fail(
        Exit::BadFeature,
        format!(
            "check {name} is not implemented by rsetcd: use `rsetcd bench` to measure the cluster"
        ),
    ))
}
