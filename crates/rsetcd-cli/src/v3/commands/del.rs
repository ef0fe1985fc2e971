//! `del [options] <key> [range_end]`: removes a key, a range or a prefix.

use std::ffi::OsString;

use clap::Args;
use rsetcd::v3::{DeleteOp, DeleteRangeResponse};

use super::bytes;
use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::{bad_args, OrFail};
use crate::v3::output::{fields, json, protobuf, simple, Out, Printable};

/// Flags of `del`.
#[derive(Debug, Clone, Args)]
pub struct DelArgs {
    /// delete keys with matching prefix
    #[arg(long)]
    pub prefix: bool,
    /// return deleted key-value pairs
    #[arg(long)]
    pub prev_kv: bool,
    /// delete keys that are greater than or equal to the given key using byte compare
    #[arg(long)]
    pub from_key: bool,
    /// <key> [range_end]
    pub args: Vec<OsString>,
}

/// A checked delete (etcdctl's `getDelOp`).
#[derive(Debug, Clone)]
pub struct Plan {
    key: Vec<u8>,
    range_end: Option<Vec<u8>>,
    prefix: bool,
    from_key: bool,
    prev_kv: bool,
}

/// Applies a plan's options to a `Delete` or a `DeleteOp` (the same methods).
macro_rules! apply {
    ($builder:expr, $plan:expr) => {{
        let p = $plan;
        let mut b = $builder;
        if let Some(end) = &p.range_end {
            b = b.range_end(end);
        }
        if p.prefix {
            b = b.prefix();
        }
        if p.from_key {
            b = b.from_key();
        }
        if p.prev_kv {
            b = b.prev_kv();
        }
        b
    }};
}

impl Plan {
    /// The delete as a transaction operation.
    pub fn op(&self) -> DeleteOp {
        apply!(DeleteOp::new(&self.key), self)
    }
}

/// Checks the arguments in etcdctl's order.
pub fn plan(a: &DelArgs) -> Result<Plan, CliError> {
    if a.args.is_empty() || a.args.len() > 2 {
        return Err(bad_args(
            "del command needs one argument as key and an optional argument as range_end",
        ));
    }
    if a.prefix && a.from_key {
        return Err(bad_args(
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        ));
    }
    let mut key = bytes(&a.args[0]);
    let mut range_end = None;
    if a.args.len() > 1 {
        if a.prefix || a.from_key {
            return Err(bad_args(
                "too many arguments, only accept one argument when `--prefix` or `--from-key` is set",
            ));
        }
        range_end = Some(bytes(&a.args[1]));
    }
    let every = key.is_empty() && (a.prefix || a.from_key);
    if every {
        key = b"\0".to_vec();
    }
    Ok(Plan {
        key,
        range_end,
        prefix: a.prefix && !every,
        from_key: a.from_key || every,
        prev_kv: a.prev_kv,
    })
}

/// Deletes and prints how many went (and, with `--prev-kv`, which).
pub async fn run(ctx: &Ctx, a: &DelArgs) -> Result<(), CliError> {
    let plan = plan(a)?;
    let client = ctx.client().await?;
    let answer = ctx
        .bounded(async { apply!(client.delete(&plan.key), &plan).await.or_fail() })
        .await?;
    ctx.print(&answer)
}

impl Printable for DeleteRangeResponse {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&self.deleted.to_string());
        for kv in &self.prev_kvs {
            simple::kv(out, kv);
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        json::line(out, &json::Delete::of(self))
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.header.as_ref());
        fields::field(out, "Deleted", self.deleted);
        for kv in &self.prev_kvs {
            fields::kv(out, "Prev", kv);
        }
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, self);
        Ok(())
    }
}
