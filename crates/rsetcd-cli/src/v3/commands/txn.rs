//! `txn [-i]`: compares, success requests and failure requests read from stdin, as etcdctl
//! reads them (one per line, each section ended by an empty line), applied atomically.

use std::ffi::OsString;
use std::io::BufRead;

use clap::{Args, Parser};
use rsetcd::v3::proto::etcdserverpb::response_op::Response;
use rsetcd::v3::{Compare, CompareOp, Op, TxnResponse};

use super::{del, get, parse_int, put};
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, fail, Exit, OrFail};
use crate::v3::output::{fields, json, protobuf, Out, Printable};

pub mod parse;

/// Flags of `txn`.
#[derive(Debug, Args)]
pub struct TxnArgs {
    /// Input transaction in interactive mode
    #[arg(long, short = 'i')]
    pub interactive: bool,
    /// (none: the transaction comes from stdin)
    pub args: Vec<OsString>,
}

/// The request lines a transaction branch takes: etcdctl's get, put and del commands.
#[derive(Debug, Parser)]
#[command(
    no_binary_name = true,
    disable_help_flag = true,
    disable_help_subcommand = true
)]
enum Request {
    Get(get::GetArgs),
    Put(put::PutArgs),
    Del(del::DelArgs),
}

fn invalid(what: impl std::fmt::Display) -> CliError {
    fail(Exit::InvalidInput, what)
}

/// One line of stdin, `Error: EOF` (exit 3) when input ends first, as Go's `ReadString`.
fn read_line(input: &mut impl BufRead) -> Result<String, CliError> {
    let mut line = Vec::new();
    match input.read_until(b'\n', &mut line) {
        Ok(_) if line.ends_with(b"\n") => Ok(String::from_utf8_lossy(&line).trim().to_string()),
        Ok(_) => Err(invalid("EOF")),
        Err(e) => Err(invalid(e)),
    }
}

fn compare(line: &str) -> Result<Compare, CliError> {
    let c = parse::compare(line).map_err(invalid)?;
    let op = match c.op.as_str() {
        "=" => CompareOp::Equal,
        "!=" => CompareOp::NotEqual,
        "<" => CompareOp::Less,
        ">" => CompareOp::Greater,
        other => {
            return Err(invalid(format!(
                "malformed comparison: {line} (unknown operator {other})"
            )))
        }
    };
    let bad = || invalid(format!("invalid txn compare request: {line}"));
    let number = |base| parse_int(&String::from_utf8_lossy(&c.value), base).map_err(|_| bad());
    Ok(match c.target.as_str() {
        "ver" | "version" => Compare::version(&c.key, op, number(10)?),
        "c" | "create" => Compare::create_revision(&c.key, op, number(10)?),
        "m" | "mod" => Compare::mod_revision(&c.key, op, number(10)?),
        "val" | "value" => Compare::value(&c.key, op, &c.value),
        "lease" => Compare::lease(&c.key, op, number(16)?),
        other => {
            return Err(invalid(format!(
                "malformed comparison: {line} (unknown target {other})"
            )))
        }
    })
}

fn request(line: &str) -> Result<Op, CliError> {
    let args = parse::argify(line).map_err(invalid)?;
    if args.len() < 2 {
        return Err(invalid(format!("invalid txn compare request: {line}")));
    }
    let args: Vec<OsString> = args.into_iter().map(os).collect();
    let parsed = Request::try_parse_from(&args)
        .map_err(|_| invalid(format!("invalid txn request: {line}")))?;
    Ok(match parsed {
        Request::Get(a) => get::plan(&a)?.op().into(),
        Request::Put(a) => put::plan(&a)?.op().into(),
        Request::Del(a) => del::plan(&a)?.op().into(),
    })
}

/// Bytes as an argument.
pub fn os(bytes: Vec<u8>) -> OsString {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStringExt::from_vec(bytes)
    }
    #[cfg(not(unix))]
    {
        String::from_utf8_lossy(&bytes).into_owned().into()
    }
}

/// Reads the three sections from stdin (prompting for each with `-i`), commits, prints.
pub async fn run(ctx: &Ctx, a: &TxnArgs) -> Result<(), CliError> {
    if !a.args.is_empty() {
        return Err(bad_args("txn command does not accept argument"));
    }
    let client = ctx.client().await?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let prompt = |s: &str| -> Result<(), CliError> {
        if a.interactive {
            write_stdout(format!("{s}\n").as_bytes())?;
        }
        Ok(())
    };
    let mut txn = client.txn();
    prompt("compares:")?;
    loop {
        let line = read_line(&mut input)?;
        if line.is_empty() {
            break;
        }
        txn = txn.when(compare(&line)?);
    }
    for (i, section) in [
        "success requests (get, put, del):",
        "failure requests (get, put, del):",
    ]
    .into_iter()
    .enumerate()
    {
        prompt(section)?;
        loop {
            let line = read_line(&mut input)?;
            if line.is_empty() {
                break;
            }
            let op = request(&line)?;
            txn = if i == 0 {
                txn.and_then(op)
            } else {
                txn.or_else(op)
            };
        }
    }
    drop(input);
    // Like etcdctl, a transaction is not bound by --command-timeout.
    let answer = txn.await.or_fail()?;
    ctx.print(&answer)
}

fn each(
    r: &TxnResponse,
    out: &mut Out,
    f: impl Fn(&dyn Printable, &mut Out) -> Result<(), CliError>,
) -> Result<(), CliError> {
    for op in &r.responses {
        match &op.response {
            Some(Response::ResponseRange(x)) => f(x, out)?,
            Some(Response::ResponsePut(x)) => f(x, out)?,
            Some(Response::ResponseDeleteRange(x)) => f(x, out)?,
            Some(Response::ResponseTxn(x)) => f(x, out)?,
            None => {}
        }
    }
    Ok(())
}

impl Printable for TxnResponse {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(if self.succeeded { "SUCCESS" } else { "FAILURE" });
        each(self, out, |r, out| {
            out.line("");
            r.simple(out)
        })
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        json::line(out, &json::Txn::of(self))
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.header.as_ref());
        fields::field(out, "Succeeded", self.succeeded);
        each(self, out, |r, out| r.fields(out))
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, self);
        Ok(())
    }
}
