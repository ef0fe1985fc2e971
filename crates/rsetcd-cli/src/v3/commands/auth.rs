//! `auth enable|disable|status`.

use clap::Subcommand;
use rsetcd::v3::AuthStatusResponse;
use serde::Serialize;

use super::Positional;
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, OrFail};
use crate::v3::output::json::{self as j, zero};
use crate::v3::output::{protobuf, Out, Printable};

/// The auth commands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Enables authentication
    Enable(Positional),
    /// Disables authentication
    Disable(Positional),
    /// Returns authentication status
    Status(Positional),
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
        AuthCommand::Status(a) => {
            if !a.args.is_empty() {
                return Err(bad_args(
                    "auth status command does not accept any arguments",
                ));
            }
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.auth_status().await.or_fail() })
                .await?;
            ctx.print(&AuthStatus(r))
        }
    }
}

/// `auth status`'s answer: simple, json and protobuf (etcdctl 3.5 has no fields or table
/// printer for it, and refuses them after the call, exit 4).
struct AuthStatus(AuthStatusResponse);

/// `etcdserverpb.AuthStatusResponse` as Go marshals it (gogoproto's json names).
#[derive(Serialize)]
struct AuthStatusJson {
    header: j::Header,
    #[serde(skip_serializing_if = "zero")]
    enabled: bool,
    #[serde(rename = "authRevision", skip_serializing_if = "zero")]
    auth_revision: u64,
}

impl Printable for AuthStatus {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&format!("Authentication Status: {}", self.0.enabled()));
        out.line(&format!("AuthRevision: {}", self.0.auth_revision()));
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &AuthStatusJson {
                header: j::Header::of(self.0.header.as_ref()),
                enabled: self.0.enabled(),
                auth_revision: self.0.auth_revision(),
            },
        )
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.0);
        Ok(())
    }
}
