//! `watch [options] [key or prefix] [range_end] [--] [exec-command arg1 arg2 ...]`, and
//! `watch -i` (watch and progress requests read from stdin).

use std::ffi::OsString;

use clap::{Args, Parser};
use rsetcd::v3::proto::etcdserverpb::WatchResponse;
use rsetcd::v3::{Client, Event, ResponseHeader, WatchItem};
use serde::Serialize;
use tokio::sync::mpsc;

use super::bytes;
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, fail, Exit, OrFail};
use crate::v3::output::json::{EventJson, Header};
use crate::v3::output::{fields, json, protobuf, simple, Format, Out, Printable};

/// Flags of `watch`.
#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Interactive mode
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// Watch on a prefix if prefix is set
    #[arg(long)]
    pub prefix: bool,
    /// Revision to start watching
    #[arg(long, default_value_t = 0)]
    pub rev: i64,
    /// get the previous key-value pair before the event happens
    #[arg(long)]
    pub prev_kv: bool,
    /// get periodic watch progress notification from server
    #[arg(long)]
    pub progress_notify: bool,
    /// [key or prefix] [range_end]
    pub args: Vec<OsString>,
    /// [exec-command arg1 arg2 ...], after `--`
    #[arg(last = true)]
    pub exec: Vec<OsString>,
}

/// A watch request line of `watch -i`.
#[derive(Debug, Parser)]
#[command(no_binary_name = true, disable_help_flag = true)]
struct Line {
    #[command(flatten)]
    args: WatchArgs,
}

const BAD_NUM: &str = "bad number of arguments";
const CONFLICT: &str = "bad number of arguments (found conflicting environment key)";
const SEPARATOR: &str = "bad number of arguments (found separator --, but no commands)";

/// What one watch needs: its range, options, and the command to run per event.
#[derive(Debug, Clone)]
struct Spec {
    key: Vec<u8>,
    range_end: Option<Vec<u8>>,
    prefix: bool,
    rev: i64,
    prev_kv: bool,
    progress_notify: bool,
    exec: Vec<OsString>,
}

fn env_key() -> Result<(Option<OsString>, Option<OsString>), CliError> {
    let get = |name| std::env::var_os(name).filter(|v: &OsString| !v.is_empty());
    let (key, range) = (get("ETCDCTL_WATCH_KEY"), get("ETCDCTL_WATCH_RANGE_END"));
    if key.is_none() {
        if let Some(r) = &range {
            return Err(bad_args(format!(
                "ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END={}",
                fields::quote(&bytes(r))
            )));
        }
    }
    Ok((key, range))
}

/// Checks the arguments as etcdctl's `parseWatchArgs` and `getWatchChan` do.
fn spec(
    a: &WatchArgs,
    separator: bool,
    env: &(Option<OsString>, Option<OsString>),
) -> Result<Spec, CliError> {
    if separator && a.exec.is_empty() {
        return Err(bad_args(SEPARATOR));
    }
    if !separator && a.args.is_empty() && env.0.is_none() {
        return Err(bad_args(BAD_NUM));
    }
    if env.0.is_some() && !a.args.is_empty() {
        return Err(bad_args(CONFLICT));
    }
    let mut args: Vec<Vec<u8>> = Vec::new();
    if let Some(k) = &env.0 {
        args.push(bytes(k));
        if let Some(r) = &env.1 {
            args.push(bytes(r));
        }
    }
    args.extend(a.args.iter().map(|a| bytes(a)));
    let Some(key) = args.first().cloned() else {
        return Err(bad_args(BAD_NUM));
    };
    let range_end = args.get(1).cloned();
    if range_end.is_some() && a.prefix {
        return Err(bad_args(
            "`range_end` and `--prefix` are mutually exclusive",
        ));
    }
    Ok(Spec {
        key,
        range_end,
        prefix: a.prefix,
        rev: a.rev,
        prev_kv: a.prev_kv,
        progress_notify: a.progress_notify,
        exec: a.exec.clone(),
    })
}

/// Whether `--` follows `watch` among the process's arguments (etcdctl looks there too).
fn separator_given() -> bool {
    std::env::args_os()
        .skip_while(|a| a != "watch")
        .skip(1)
        .any(|a| a == "--")
}

/// Watches (or reads watch requests from stdin with `-i`) until the server ends the watch.
pub async fn run(ctx: &Ctx, a: &WatchArgs) -> Result<(), CliError> {
    let env = env_key()?;
    if a.interactive {
        return interactive(ctx, a, &env).await;
    }
    let spec = spec(a, separator_given(), &env)?;
    let client = ctx.client().await?;
    let header = base_header(ctx, client).await?;
    let (_progress, requests) = mpsc::unbounded_channel();
    watch_one(ctx, client, spec, header, requests).await?;
    Err(fail(Exit::Interrupted, "watch is canceled by the server"))
}

/// The cluster, member and term for the header lines of the json, fields and protobuf formats
/// (watch answers here carry only their revision).
async fn base_header(ctx: &Ctx, client: &Client) -> Result<Option<ResponseHeader>, CliError> {
    if ctx.format == Format::Simple {
        return Ok(None);
    }
    let answer = ctx
        .bounded(async {
            client
                .get(b"\0")
                .count_only()
                .serializable()
                .await
                .or_fail()
        })
        .await?;
    Ok(answer.header)
}

async fn watch_one(
    ctx: &Ctx,
    client: &Client,
    spec: Spec,
    base: Option<ResponseHeader>,
    mut progress: mpsc::UnboundedReceiver<()>,
) -> Result<(), CliError> {
    let mut builder = client.watch(&spec.key).start_revision(spec.rev);
    if let Some(end) = &spec.range_end {
        builder = builder.range_end(end);
    }
    if spec.prefix {
        builder = builder.prefix();
    }
    if spec.prev_kv {
        builder = builder.prev_kv();
    }
    if spec.progress_notify {
        builder = builder.progress_notify();
    }
    let mut watch = builder
        .await
        .map_err(crate::v3::error::lib(Exit::BadArgs))?;
    let header = |revision| {
        let mut h = base.unwrap_or_default();
        h.revision = revision;
        Some(h)
    };
    loop {
        let item = tokio::select! {
            item = watch.next() => item,
            Some(()) = progress.recv() => {
                watch.request_progress();
                continue;
            }
        };
        let response = match item {
            Some(Ok(WatchItem::Events { revision, events })) => WatchResponse {
                header: header(revision),
                events,
                ..Default::default()
            },
            Some(Ok(WatchItem::Progress { revision })) => {
                write_stdout(format!("progress notify: {revision}\n").as_bytes())?;
                WatchResponse {
                    header: header(revision),
                    ..Default::default()
                }
            }
            Some(Ok(WatchItem::Compacted { compact_revision })) => {
                eprintln!(
                    "watch was canceled (etcdserver: mvcc: required revision has been compacted)"
                );
                let response = WatchResponse {
                    header: header(0),
                    compact_revision,
                    canceled: true,
                    ..Default::default()
                };
                ctx.print(&Response(&response))?;
                return Ok(());
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                eprintln!("watch was canceled ({})", crate::v3::error::describe(&e));
                return Ok(());
            }
            None => return Ok(()),
        };
        ctx.print(&Response(&response))?;
        if !spec.exec.is_empty() {
            for event in &response.events {
                exec(&spec.exec, revision_of(&response), event)?;
            }
        }
    }
}

fn revision_of(r: &WatchResponse) -> i64 {
    r.header.as_ref().map_or(0, |h| h.revision)
}

fn event_type(e: &Event) -> &'static str {
    if e.r#type == 1 {
        "DELETE"
    } else {
        "PUT"
    }
}

/// Runs the command of `watch … -- command` for one event, as etcdctl does (`ETCD_WATCH_*`).
fn exec(command: &[OsString], revision: i64, event: &Event) -> Result<(), CliError> {
    let kv = event.kv.clone().unwrap_or_default();
    let status = std::process::Command::new(&command[0])
        .args(&command[1..])
        .env("ETCD_WATCH_REVISION", revision.to_string())
        .env(
            "ETCD_WATCH_EVENT_TYPE",
            format!("\"{}\"", event_type(event)),
        )
        .env("ETCD_WATCH_KEY", fields::quote(&kv.key))
        .env("ETCD_WATCH_VALUE", fields::quote(&kv.value))
        .status();
    let error = match status {
        Ok(s) if s.success() => return Ok(()),
        Ok(s) => match s.code() {
            Some(code) => format!("exit status {code}"),
            None => format!("{s}"),
        },
        Err(e) => format!("exec: {}: {e}", fields::quote(&bytes(&command[0]))),
    };
    let quoted: Vec<String> = command.iter().map(|c| fields::quote(&bytes(c))).collect();
    Err(CliError::new(
        1,
        format!("command [{}] error ({error})", quoted.join(" ")),
    ))
}

/// `watch -i`: one watch per `watch …` line of stdin, `progress` requests progress.
async fn interactive(
    ctx: &Ctx,
    a: &WatchArgs,
    env: &(Option<OsString>, Option<OsString>),
) -> Result<(), CliError> {
    let client = ctx.client().await?;
    let header = base_header(ctx, client).await?;
    let (lines_tx, mut lines) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        loop {
            let mut line = Vec::new();
            let read = std::io::BufRead::read_until(&mut stdin.lock(), b'\n', &mut line);
            let ended = !(read.is_ok() && line.ends_with(b"\n"));
            if lines_tx.send((line, ended)).is_err() || ended {
                return;
            }
        }
    });
    let mut progress: Vec<mpsc::UnboundedSender<()>> = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let (line, ended) = tokio::select! {
            Some(line) = lines.recv() => line,
            Some(done) = tasks.join_next() => {
                if let Ok(Err(e)) = done { return Err(e); }
                continue;
            }
        };
        if ended {
            return Err(fail(
                Exit::InvalidInput,
                "error reading watch request line: EOF",
            ));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
        let words = super::txn::parse::argify(&text).map_err(|e| fail(Exit::InvalidInput, e))?;
        let Some(first) = words.first() else {
            eprintln!("Invalid command: {text} (watch and progress supported)");
            continue;
        };
        match first.as_slice() {
            b"watch" => {
                if words.len() < 2 && env.0.is_none() {
                    eprintln!("Invalid command {text} (command type or key is not provided)");
                    continue;
                }
                let words: Vec<OsString> = words[1..].iter().cloned().map(super::txn::os).collect();
                let separator = words.iter().any(|w| w == "--");
                let parsed = Line::try_parse_from(&words).map_err(|e| bad_args(e.kind()))?;
                let mut line_args = parsed.args;
                line_args.progress_notify = a.progress_notify;
                let spec = match spec(&line_args, separator, env) {
                    Ok(s) => s,
                    Err(e) => return Err(e),
                };
                let (tx, rx) = mpsc::unbounded_channel();
                progress.push(tx);
                let (ctx2, client2, header2) = (ctx.clone(), client.clone(), header);
                tasks.spawn(async move { watch_one(&ctx2, &client2, spec, header2, rx).await });
            }
            b"progress" => {
                progress.retain(|p| !p.is_closed());
                if let Some(p) = progress.first() {
                    let _ = p.send(());
                }
            }
            _ => eprintln!("Invalid command {text} (only support watch)"),
        }
    }
}

/// A watch answer as etcdctl prints it (clientv3's `WatchResponse`).
pub struct Response<'a>(pub &'a WatchResponse);

#[derive(Serialize)]
struct WatchJson<'a> {
    #[serde(rename = "Header")]
    header: Header,
    #[serde(rename = "Events")]
    events: Vec<EventJson<'a>>,
    #[serde(rename = "CompactRevision")]
    compact_revision: i64,
    #[serde(rename = "Canceled")]
    canceled: bool,
    #[serde(rename = "Created")]
    created: bool,
}

impl Printable for Response<'_> {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        for e in &self.0.events {
            out.line(event_type(e));
            if let Some(prev) = &e.prev_kv {
                simple::kv(out, prev);
            }
            simple::kv(out, &e.kv.clone().unwrap_or_default());
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        let r = self.0;
        // clientv3 hands every answer on with an events slice, empty ones included: `[]`.
        let events = r.events.iter().map(EventJson::of).collect();
        json::line(
            out,
            &WatchJson {
                header: Header::of(r.header.as_ref()),
                events,
                compact_revision: r.compact_revision,
                canceled: r.canceled,
                created: r.created,
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.0.header.as_ref());
        for e in &self.0.events {
            fields::field(out, "Type", event_type(e));
            if let Some(prev) = &e.prev_kv {
                fields::kv(out, "Prev", prev);
            }
            fields::kv(out, "", &e.kv.clone().unwrap_or_default());
        }
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, self.0);
        Ok(())
    }
}
