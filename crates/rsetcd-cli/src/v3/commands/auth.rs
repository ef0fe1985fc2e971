//! `auth enable|disable|status`.

use clap::Subcommand;

use super::Positional;
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, OrFail};

/// The auth commands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Enables authentication
    Enable(Positional),
    /// Disables authentication
    Disable(Positional),
}

/// Runs an auth command.
pub async fn run(ctx: &Ctx, command: &AuthCommand) -> Result<(), CliError> {
    match command {
        AuthCommand::Enable(a) => {
            if !a.args.is_empty() {
                return Err(bad_args(
                    "auth enable command does not accept any arguments",
                ));
            }
            let client = ctx.client().await?;
            ctx.bounded(async {
                // As etcdctl: a root user without the root role gets it, then enabling is retried.
                for _ in 0..3 {
                    match client.auth_enable().await {
                        Ok(_) => return Ok(()),
                        Err(e)
                            if crate::v3::error::describe(&e)
                                == "etcdserver: root user does not have root role" =>
                        {
                            client.role_add("root").await.or_fail()?;
                            client.user_grant_role("root", "root").await.or_fail()?;
                        }
                        Err(e) => return Err(e).or_fail(),
                    }
                }
                client.auth_enable().await.or_fail().map(|_| ())
            })
            .await?;
            write_stdout(b"Authentication Enabled\n")
        }
        AuthCommand::Disable(a) => {
            if !a.args.is_empty() {
                return Err(bad_args(
                    "auth disable command does not accept any arguments",
                ));
            }
            let client = ctx.client().await?;
            ctx.bounded(async { client.auth_disable().await.or_fail() })
                .await?;
            write_stdout(b"Authentication Disabled\n")
        }
    }
}
