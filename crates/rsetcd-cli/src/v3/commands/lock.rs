//! `lock <lockname> [command arg1 arg2 …]`: holds a lock until a signal, or while a command runs
//! (with `ETCD_LOCK_KEY` and `ETCD_LOCK_REV` set).

use std::ffi::OsString;

use clap::Args;

use super::bytes;
use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::{bad_args, fail, Exit, OrFail};

/// Flags of `lock`.
#[derive(Debug, Args)]
pub struct LockArgs {
    /// timeout for session
    #[arg(long, default_value_t = 10)]
    pub ttl: i64,
    /// <lockname> [exec-command arg1 arg2 ...]
    pub args: Vec<OsString>,
}

/// Waits for SIGINT or SIGTERM.
pub async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// How a command run under a lock or an election ended, as Go's `exec` says it.
pub async fn run_command(command: &[OsString], env: &[(&str, String)]) -> Result<(), CliError> {
    let mut cmd = tokio::process::Command::new(&command[0]);
    cmd.args(&command[1..]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    match cmd.status().await {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => match status.code() {
            Some(code) => Err(fail(Exit::Error, format!("exit status {code}"))).map_err(|mut e| {
                e.exit = u8::try_from(code).unwrap_or(1);
                e
            }),
            None => Err(fail(Exit::Error, "signal: killed")),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(fail(
            Exit::Error,
            format!(
                "exec: {}: executable file not found in $PATH",
                crate::v3::output::fields::quote(&bytes(&command[0]))
            ),
        )),
        Err(e) => Err(fail(Exit::Error, e)),
    }
}

/// Takes the lock, then runs the command or waits for a signal; unlocks at the end.
pub async fn run(ctx: &Ctx, args: &LockArgs) -> Result<(), CliError> {
    let Some((name, command)) = args.args.split_first() else {
        return Err(bad_args(
            "lock takes a lock name argument and an optional command to execute",
        ));
    };
    let command: Vec<OsString> = match command.first() {
        Some(first) if first == "--" => command[1..].to_vec(),
        _ => command.to_vec(),
    };
    let client = ctx.client().await?;
    let mut session = client.session(args.ttl).await.or_fail()?;
    let held = tokio::select! {
        held = client.lock(bytes(name), &session) => held.or_fail()?,
        _ = signalled() => return Err(fail(Exit::Error, "context canceled")),
    };
    if !command.is_empty() {
        let env = [
            (
                "ETCD_LOCK_KEY",
                String::from_utf8_lossy(&held.key).into_owned(),
            ),
            (
                "ETCD_LOCK_REV",
                held.header.as_ref().map_or(0, |h| h.revision).to_string(),
            ),
        ];
        let ran = run_command(&command, &env).await;
        let unlocked = client.unlock(&held.key).await.or_fail();
        ran?;
        return unlocked.map(|_| ());
    }
    let got = client.get(&held.key).await.or_fail()?;
    if got.kvs.is_empty() {
        return Err(fail(Exit::Error, "lock lost on init"));
    }
    ctx.print(&got)?;
    tokio::select! {
        _ = signalled() => {
            client.unlock(&held.key).await.or_fail()?;
            Ok(())
        }
        _ = session.keep_alive().lost() => Err(fail(Exit::Error, "session expired")),
    }
}
