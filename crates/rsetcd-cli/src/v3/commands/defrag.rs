//! `defrag [--cluster]`: defragments each endpoint's member in turn.

use clap::Args;

use super::endpoint::{client_for, endpoints};
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{describe, fail, Exit};
use crate::v3::progress::Progress;

/// Flags of `defrag`.
#[derive(Debug, Args)]
pub struct DefragArgs {
    /// use all endpoints from the cluster member list
    #[arg(long)]
    pub cluster: bool,
    /// Optional. If present, defragments a data directory not in use by etcd.
    #[arg(long, default_value = "")]
    pub data_dir: String,
    /// Ignored arguments.
    pub args: Vec<std::ffi::OsString>,
}

/// Defragments every endpoint, saying so for each; exit 1 if any failed.
pub async fn run(ctx: &Ctx, args: &DefragArgs) -> Result<(), CliError> {
    if !args.data_dir.is_empty() {
        return Err(fail(
            Exit::BadFeature,
            "defrag --data-dir (offline defragmentation) is not supported: use `etcdutl defrag --data-dir`",
        ));
    }
    let eps = endpoints(ctx, args.cluster).await?;
    let mut progress = Progress::new();
    let mut failures = 0;
    let total = eps.len();
    for (i, ep) in eps.into_iter().enumerate() {
        if total > 1 {
            progress.show(&format!("defragmenting member {}/{total} ({ep})…", i + 1));
        }
        let client = client_for(ctx, &ep).await?;
        let url = client.endpoints().into_iter().next().unwrap_or_default();
        let done = ctx
            .bounded(async {
                client
                    .defragment_at(&url)
                    .await
                    .map_err(|e| fail(Exit::Error, describe(&e)))
            })
            .await;
        progress.clear();
        match done {
            Ok(_) => {
                write_stdout(format!("Finished defragmenting etcd member[{ep}]\n").as_bytes())?
            }
            Err(e) => {
                failures += 1;
                eprintln!(
                    "Failed to defragment etcd member[{ep}] ({})",
                    e.message.trim_start_matches("Error: ")
                );
            }
        }
    }
    if failures > 0 {
        return Err(CliError::new(Exit::Error, ""));
    }
    Ok(())
}
