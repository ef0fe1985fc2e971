//! watch and exec-watch.

use futures_util::StreamExt;
use rsetcd::v2::{Response, WatchEvent};

use crate::error::{CliError, Exit};
use crate::v2::cli::Command;
use crate::v2::context::{flush, out, Ctx};
use crate::v2::output::print_response;

fn stream(ctx: &Ctx, key: &str, after_index: u64, recursive: bool) -> rsetcd::v2::WatchStream {
    let mut w = ctx.client.watch(key);
    if recursive {
        w = w.recursive();
    }
    if after_index > 0 {
        w = w.after_index(after_index);
    }
    w.stream()
}

/// The next change (resyncs are reported on stderr and skipped: etcdctl has no such notion).
async fn next(s: &mut rsetcd::v2::WatchStream) -> Result<Option<Response>, CliError> {
    loop {
        match s.next().await {
            None => return Ok(None),
            Some(Err(e)) => return Err(e.into()),
            Some(Ok(WatchEvent::Event(r))) => return Ok(Some(r)),
            Some(Ok(WatchEvent::Resynced { index, .. })) => {
                eprintln!("watch: events before index {index} were cleared from etcd's history; resuming at {}", index + 1);
            }
        }
    }
}

/// Runs a watch command; `false` when `cmd` is not one.
pub async fn run(ctx: &Ctx, cmd: &Command) -> Result<bool, CliError> {
    match cmd {
        Command::Watch {
            key,
            forever,
            after_index,
            recursive,
        } => {
            let key = key
                .as_deref()
                .ok_or_else(|| CliError::args("key required"))?;
            let mut s = stream(ctx, key, *after_index, *recursive);
            while let Some(r) = next(&mut s).await? {
                if r.node.dir {
                    continue;
                }
                {
                    let mut o = out();
                    if *recursive {
                        use std::io::Write;
                        let _ = writeln!(o, "[{}] {}", r.action, r.node.key);
                    }
                    let _ = print_response(&mut o, &r, ctx.output());
                }
                flush();
                if !forever {
                    break;
                }
            }
        }
        Command::ExecWatch {
            key,
            command,
            after_index,
            recursive,
        } => {
            let key = key
                .as_deref()
                .ok_or_else(|| CliError::args("key and command to exec required"))?;
            let (program, program_args) = command
                .split_first()
                .ok_or_else(|| CliError::args("key and command to exec required"))?;
            let mut s = stream(ctx, key, *after_index, *recursive);
            while let Some(r) = next(&mut s).await? {
                if r.node.dir {
                    eprintln!("Ignored dir {} change", r.node.key);
                    continue;
                }
                // One command at a time, in event order.
                let status = tokio::process::Command::new(program)
                    .args(program_args)
                    .env("ETCD_WATCH_ACTION", r.action.as_str())
                    .env(
                        "ETCD_WATCH_MODIFIED_INDEX",
                        r.node.modified_index.to_string(),
                    )
                    .env("ETCD_WATCH_KEY", &r.node.key)
                    .env("ETCD_WATCH_VALUE", r.node.value_str())
                    .status()
                    .await;
                if let Err(e) = status {
                    return Err(CliError::new(
                        Exit::BadArgs,
                        format!("Error:  cannot run {program}: {e}"),
                    ));
                }
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}
