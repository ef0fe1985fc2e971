//! `put [options] <key> <value>`: sets a key (the value may come from stdin).

use std::ffi::OsString;
use std::io::Read;

use clap::Args;
use rsetcd::v3::{PutOp, PutResponse};

use super::{bytes, parse_int};
use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::{bad_args, OrFail};
use crate::v3::output::{fields, json, protobuf, simple, Out, Printable};

/// Flags of `put`.
#[derive(Debug, Clone, Args)]
pub struct PutArgs {
    /// lease ID (in hexadecimal) to attach to the key
    #[arg(long, default_value = "0")]
    pub lease: String,
    /// return the previous key-value pair before modification
    #[arg(long)]
    pub prev_kv: bool,
    /// updates the key using its current value
    #[arg(long)]
    pub ignore_value: bool,
    /// updates the key using its current lease
    #[arg(long)]
    pub ignore_lease: bool,
    /// <key> <value> (<value> can also be given from stdin)
    pub args: Vec<OsString>,
}

const NEEDS: &str = "put command needs 1 argument and input from stdin or 2 arguments";

/// A checked put: what etcdctl's `getPutOp` makes of the arguments.
#[derive(Debug, Clone)]
pub struct Plan {
    key: Vec<u8>,
    value: Vec<u8>,
    lease: i64,
    prev_kv: bool,
    ignore_value: bool,
    ignore_lease: bool,
}

/// Applies a plan's options to a `Put` or a `PutOp` (the same methods).
macro_rules! apply {
    ($builder:expr, $plan:expr) => {{
        let p = $plan;
        let mut b = $builder;
        if p.lease != 0 {
            b = b.lease(p.lease);
        }
        if p.prev_kv {
            b = b.prev_kv();
        }
        if p.ignore_value {
            b = b.ignore_value();
        }
        if p.ignore_lease {
            b = b.ignore_lease();
        }
        b
    }};
}

impl Plan {
    /// The put as a transaction operation.
    pub fn op(&self) -> PutOp {
        apply!(PutOp::new(&self.key, &self.value), self)
    }
}

/// Checks the arguments in etcdctl's order; the value comes from stdin when not given.
pub fn plan(a: &PutArgs) -> Result<Plan, CliError> {
    let Some(key) = a.args.first() else {
        return Err(bad_args(NEEDS));
    };
    let key = bytes(key);
    if a.ignore_value && a.args.len() > 1 {
        return Err(bad_args(
            "put command needs only 1 argument when 'ignore-value' is set",
        ));
    }
    let value = if a.ignore_value {
        Vec::new()
    } else if let Some(v) = a.args.get(1) {
        bytes(v)
    } else {
        let mut buf = Vec::new();
        match std::io::stdin().read_to_end(&mut buf) {
            Ok(_) if !buf.is_empty() => buf,
            _ => return Err(bad_args(NEEDS)),
        }
    };
    let lease = parse_int(&a.lease, 16)
        .map_err(|e| bad_args(format!("bad lease ID ({e}), expecting ID in Hex")))?;
    Ok(Plan {
        key,
        value,
        lease,
        prev_kv: a.prev_kv,
        ignore_value: a.ignore_value,
        ignore_lease: a.ignore_lease,
    })
}

/// Puts and prints `OK` (and the previous pair with `--prev-kv`).
pub async fn run(ctx: &Ctx, a: &PutArgs) -> Result<(), CliError> {
    let plan = plan(a)?;
    let client = ctx.client().await?;
    let answer = ctx
        .bounded(async {
            apply!(client.put(&plan.key, &plan.value), &plan)
                .await
                .or_fail()
        })
        .await?;
    ctx.print(&answer)
}

impl Printable for PutResponse {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line("OK");
        if let Some(kv) = &self.prev_kv {
            simple::kv(out, kv);
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        json::line(out, &json::Put::of(self))
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.header.as_ref());
        if let Some(kv) = &self.prev_kv {
            fields::kv(out, "Prev", kv);
        }
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, self);
        Ok(())
    }
}
