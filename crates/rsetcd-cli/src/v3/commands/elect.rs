//! `elect <election-name> [proposal]`: campaigns and leads until a signal; with `-l`, prints
//! each leader as it changes.

use std::ffi::OsString;

use clap::Args;
use rsetcd::v3::RangeResponse;

use super::bytes;
use super::lock::signalled;
use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::{bad_args, fail, Exit, OrFail};

/// Flags of `elect`.
#[derive(Debug, Args)]
pub struct ElectArgs {
    /// observation mode
    #[arg(long, short = 'l')]
    pub listen: bool,
    /// <election-name> [proposal]
    pub args: Vec<OsString>,
}

/// Observes or campaigns.
pub async fn run(ctx: &Ctx, args: &ElectArgs) -> Result<(), CliError> {
    let (name, proposal) = match args.args.as_slice() {
        [name] => (name, None),
        [name, proposal] => (name, Some(proposal)),
        _ => {
            return Err(bad_args(
                "elect takes one election name argument and an optional proposal argument",
            ))
        }
    };
    let client = ctx.client().await?;
    let Some(proposal) = proposal else {
        if !args.listen {
            return Err(bad_args("no proposal argument but -l not set"));
        }
        let mut observe = client.observe(bytes(name)).await.or_fail()?;
        loop {
            tokio::select! {
                next = observe.next() => match next {
                    Some(Ok(kv)) => {
                        let answer = RangeResponse { kvs: vec![kv], count: 1, ..Default::default() };
                        ctx.print(&answer)?;
                    }
                    Some(Err(e)) => return Err(e).or_fail(),
                    None => return Err(fail(Exit::Error, "elect: observer lost")),
                },
                _ = signalled() => return Ok(()),
            }
        }
    };
    let mut session = client.session(60).await.or_fail()?;
    let leader = tokio::select! {
        l = client.campaign(bytes(name), bytes(proposal), &session) => l.or_fail()?,
        _ = signalled() => return Err(fail(Exit::Error, "context canceled")),
    };
    let got = client.get(&leader.key).await.or_fail()?;
    ctx.print(&got)?;
    tokio::select! {
        _ = signalled() => {
            client.resign(&leader).await.or_fail()?;
            Ok(())
        }
        _ = session.keep_alive().lost() => Err(fail(Exit::Error, "elect: session expired")),
    }
}
