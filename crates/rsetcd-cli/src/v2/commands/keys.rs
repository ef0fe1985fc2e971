//! get, set, mk, mkdir, setdir, update, updatedir, rm, rmdir, ls.

use std::io::{Read, Write};
use std::time::Duration;

use rsetcd::v2::{Node, Response};

use crate::error::{CliError, Exit};
use crate::v2::cli::{Command, Output};
use crate::v2::context::{out, Ctx};
use crate::v2::output::print_response;

fn key(k: &Option<String>) -> Result<&str, CliError> {
    k.as_deref().ok_or_else(|| CliError::args("key required"))
}

/// The value argument, or all of stdin (as etcdctl: trailing newline included).
fn value_or_stdin(v: &Option<String>) -> Result<String, CliError> {
    if let Some(v) = v {
        return Ok(v.clone());
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(CliError::args("value required"));
    }
    let mut buf = String::new();
    std::io::stdin()
        .read_to_string(&mut buf)
        .map_err(|e| CliError::args(format!("reading stdin: {e}")))?;
    if buf.is_empty() {
        return Err(CliError::args("value required"));
    }
    Ok(buf)
}

fn ttl(secs: u64) -> Option<Duration> {
    (secs > 0).then(|| Duration::from_secs(secs))
}

fn print(ctx: &Ctx, r: &Response) -> Result<(), CliError> {
    print_response(&mut out(), r, ctx.output()).map_err(io)
}

fn io(e: std::io::Error) -> CliError {
    CliError::new(Exit::BadArgs, format!("Error:  {e}"))
}

/// Runs a key command; `false` when `cmd` is not one.
pub async fn run(ctx: &Ctx, cmd: &Command) -> Result<bool, CliError> {
    let c = &ctx.client;
    match cmd {
        Command::Get {
            key: k,
            sort,
            quorum,
        } => {
            let k = key(k)?;
            let mut read = c.read(k);
            if *sort {
                read = read.sorted();
            }
            if *quorum {
                read = read.quorum();
            }
            let r = ctx.bounded(async { Ok(read.await?) }).await?;
            if r.node.dir {
                return Err(CliError::plain(
                    Exit::BadArgs,
                    format!("{}: is a directory", r.node.key),
                ));
            }
            print(ctx, &r)?;
        }
        Command::Set {
            key: k,
            value,
            ttl: t,
            swap_with_value,
            swap_with_index,
        } => {
            let k = key(k)?;
            let value = value_or_stdin(value)?;
            let mut w = c.write(k, value);
            if let Some(d) = ttl(t.ttl) {
                w = w.ttl(d);
            }
            if let Some(v) = swap_with_value.as_deref().filter(|v| !v.is_empty()) {
                w = w.prev_value(v);
            }
            if let Some(i) = swap_with_index.filter(|i| *i > 0) {
                w = w.prev_index(i);
            }
            let r = ctx.bounded(async { Ok(w.await?) }).await?;
            print(ctx, &r)?;
        }
        Command::Mk {
            key: k,
            value,
            ttl: t,
            in_order,
        } => {
            let k = key(k)?;
            let value = value_or_stdin(value)?;
            let mut w = if *in_order {
                c.create_in_order(k, value)
            } else {
                c.create(k, value)
            };
            if let Some(d) = ttl(t.ttl) {
                w = w.ttl(d);
            }
            let r = ctx.bounded(async { Ok(w.await?) }).await?;
            print(ctx, &r)?;
        }
        Command::Mkdir { key: k, ttl: t }
        | Command::Setdir { key: k, ttl: t }
        | Command::Updatedir { key: k, ttl: t } => {
            let k = key(k)?;
            let mut w = match cmd {
                Command::Mkdir { .. } => c.mkdir(k),
                Command::Setdir { .. } => c.set_dir(k),
                _ => c.update_dir(k),
            };
            if let Some(d) = ttl(t.ttl) {
                w = w.ttl(d);
            }
            let r = ctx.bounded(async { Ok(w.await?) }).await?;
            if ctx.output() != Output::Simple {
                print(ctx, &r)?;
            }
        }
        Command::Update {
            key: k,
            value,
            ttl: t,
        } => {
            let k = key(k)?;
            let value = value_or_stdin(value)?;
            let mut w = c.update(k, value);
            if let Some(d) = ttl(t.ttl) {
                w = w.ttl(d);
            }
            let r = ctx.bounded(async { Ok(w.await?) }).await?;
            print(ctx, &r)?;
        }
        Command::Rm {
            key: k,
            dir,
            recursive,
            with_value,
            with_index,
        } => {
            let k = key(k)?;
            let mut d = c.delete(k);
            if *dir {
                d = d.dir();
            }
            if *recursive {
                d = d.recursive();
            }
            if let Some(v) = with_value.as_deref().filter(|v| !v.is_empty()) {
                d = d.prev_value(v);
            }
            if let Some(i) = with_index.filter(|i| *i > 0) {
                d = d.prev_index(i);
            }
            let r = ctx.bounded(async { Ok(d.await?) }).await?;
            if !r.node.dir || ctx.output() != Output::Simple {
                print(ctx, &r)?;
            }
        }
        Command::Rmdir { key: k } => {
            let k = key(k)?;
            let r = ctx.bounded(async { Ok(c.rmdir(k).await?) }).await?;
            if !r.node.dir || ctx.output() != Output::Simple {
                print(ctx, &r)?;
            }
        }
        Command::Ls {
            key: k,
            sort,
            quorum,
            recursive,
            p,
        } => {
            let k = k.as_deref().unwrap_or("/");
            let mut read = c.read(k);
            if *sort {
                read = read.sorted();
            }
            if *quorum {
                read = read.quorum();
            }
            if *recursive {
                read = read.recursive();
            }
            let r = ctx.bounded(async { Ok(read.await?) }).await?;
            if ctx.output() == Output::Simple {
                let mut o = out();
                if !r.node.dir {
                    writeln!(o, "{}", r.node.key).map_err(io)?;
                }
                for n in &r.node.nodes {
                    print_tree(&mut o, n, *p).map_err(io)?;
                }
            } else {
                print(ctx, &r)?;
            }
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn print_tree(o: &mut impl Write, n: &Node, slash: bool) -> std::io::Result<()> {
    if n.dir && slash {
        writeln!(o, "{}/", n.key)?;
    } else {
        writeln!(o, "{}", n.key)?;
    }
    for child in &n.nodes {
        print_tree(o, child, slash)?;
    }
    Ok(())
}
