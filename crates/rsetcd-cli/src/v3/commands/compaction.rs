//! `compaction <revision>`: compacts the event history.

use std::ffi::OsString;

use clap::Args;

use super::parse_int;
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, fail, Exit, OrFail};

/// Flags of `compaction`.
#[derive(Debug, Args)]
pub struct CompactionArgs {
    /// 'true' to wait for compaction to physically remove all old revisions
    #[arg(long)]
    pub physical: bool,
    /// <revision>
    pub args: Vec<OsString>,
}

/// Compacts up to the revision given and says so.
pub async fn run(ctx: &Ctx, args: &CompactionArgs) -> Result<(), CliError> {
    if args.args.len() != 1 {
        return Err(bad_args("compaction command needs 1 argument"));
    }
    let rev = parse_int(&args.args[0].to_string_lossy(), 10).map_err(|e| fail(Exit::Error, e))?;
    let client = ctx.client().await?;
    ctx.bounded(async { client.compact(rev, args.physical).await.or_fail() })
        .await?;
    write_stdout(format!("compacted revision {rev}\n").as_bytes())
}
