//! `get [options] <key> [range_end]`: one key, a range or a prefix.

use std::ffi::OsString;

use clap::Args;
use rsetcd::v3::{GetOp, RangeResponse, SortOrder, SortTarget};

use super::bytes;
use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::{bad_args, fail, Exit, OrFail};
use crate::v3::output::{fields, json, protobuf, simple, Format, Out, Printable};

/// Flags of `get`.
#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    /// Linearizable(l) or Serializable(s)
    #[arg(long, default_value = "l")]
    pub consistency: String,
    /// Order of results; ASCEND or DESCEND (ASCEND by default)
    #[arg(long, default_value = "")]
    pub order: String,
    /// Sort target; CREATE, KEY, MODIFY, VALUE, or VERSION
    #[arg(long, default_value = "")]
    pub sort_by: String,
    /// Maximum number of results
    #[arg(long, default_value_t = 0)]
    pub limit: i64,
    /// Get keys with matching prefix
    #[arg(long)]
    pub prefix: bool,
    /// Get keys that are greater than or equal to the given key using byte compare
    #[arg(long)]
    pub from_key: bool,
    /// Specify the kv revision
    #[arg(long, default_value_t = 0)]
    pub rev: i64,
    /// Get only the keys
    #[arg(long)]
    pub keys_only: bool,
    /// Get only the count
    #[arg(long)]
    pub count_only: bool,
    /// Only write values when using the "simple" output format
    #[arg(long)]
    pub print_value_only: bool,
    /// <key> [range_end]
    pub args: Vec<OsString>,
}

/// A get as etcdctl's `getGetOp` builds it, checked in its order.
pub fn plan(a: &GetArgs) -> Result<Plan, CliError> {
    if a.args.is_empty() {
        return Err(bad_args(
            "get command needs one argument as key and an optional argument as range_end",
        ));
    }
    if a.prefix && a.from_key {
        return Err(bad_args(
            "`--prefix` and `--from-key` cannot be set at the same time, choose one",
        ));
    }
    if a.keys_only && a.count_only {
        return Err(bad_args(
            "`--keys-only` and `--count-only` cannot be set at the same time, choose one",
        ));
    }
    let serializable = match a.consistency.as_str() {
        "s" => true,
        "l" => false,
        other => {
            return Err(fail(
                Exit::BadFeature,
                format!(
                    "unknown consistency flag {}",
                    fields::quote(other.as_bytes())
                ),
            ))
        }
    };
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
    let order = match a.order.to_uppercase().as_str() {
        "ASCEND" => SortOrder::Ascend,
        "DESCEND" => SortOrder::Descend,
        "" => SortOrder::None,
        _ => {
            return Err(fail(
                Exit::BadFeature,
                format!("bad sort order {}", a.order),
            ))
        }
    };
    let target = match a.sort_by.to_uppercase().as_str() {
        "CREATE" => SortTarget::Create,
        "KEY" | "" => SortTarget::Key,
        "MODIFY" => SortTarget::Mod,
        "VALUE" => SortTarget::Value,
        "VERSION" => SortTarget::Version,
        _ => {
            return Err(fail(
                Exit::BadFeature,
                format!("bad sort target {}", a.sort_by),
            ))
        }
    };
    // clientv3's WithSort: keys come sorted ascending anyway.
    let order = if target == SortTarget::Key && order == SortOrder::Ascend {
        SortOrder::None
    } else {
        order
    };
    if (a.prefix || a.from_key) && key.is_empty() {
        key = b"\0".to_vec();
    }
    Ok(Plan {
        prefix: a.prefix && key != b"\0",
        from_key: a.from_key || (a.prefix && key == b"\0"),
        key,
        range_end,
        limit: a.limit,
        rev: a.rev,
        target,
        order,
        serializable,
        keys_only: a.keys_only,
        count_only: a.count_only,
    })
}

/// A checked get: what etcdctl's options turn into.
#[derive(Debug, Clone)]
pub struct Plan {
    key: Vec<u8>,
    range_end: Option<Vec<u8>>,
    prefix: bool,
    from_key: bool,
    limit: i64,
    rev: i64,
    target: SortTarget,
    order: SortOrder,
    serializable: bool,
    keys_only: bool,
    count_only: bool,
}

/// Applies a plan's options to a `Get` or a `GetOp` (the same methods).
macro_rules! apply {
    ($builder:expr, $plan:expr) => {{
        let p = $plan;
        let mut b = $builder.limit(p.limit).sort(p.target, p.order);
        if let Some(end) = &p.range_end {
            b = b.range_end(end);
        }
        if p.rev > 0 {
            b = b.revision(p.rev);
        }
        if p.serializable {
            b = b.serializable();
        }
        if p.prefix {
            b = b.prefix();
        }
        if p.from_key {
            b = b.from_key();
        }
        if p.keys_only {
            b = b.keys_only();
        }
        if p.count_only {
            b = b.count_only();
        }
        b
    }};
}

impl Plan {
    /// The get as a transaction operation.
    pub fn op(&self) -> GetOp {
        apply!(GetOp::new(&self.key), self)
    }
}

/// Gets and prints.
pub async fn run(ctx: &Ctx, a: &GetArgs) -> Result<(), CliError> {
    let plan = plan(a)?;
    let client = ctx.client().await?;
    let answer = ctx
        .bounded(async { apply!(client.get(&plan.key), &plan).await.or_fail() })
        .await?;
    if a.count_only && ctx.format != Format::Fields {
        return Err(bad_args("--count-only is only for `--write-out=fields`"));
    }
    if a.print_value_only && ctx.format != Format::Simple {
        return Err(bad_args(
            "print-value-only is only for `--write-out=simple`",
        ));
    }
    let mut out = ctx.out();
    out.value_only = a.print_value_only;
    ctx.format.print(&answer, &mut out)?;
    crate::v3::context::write_stdout(out.bytes())
}

impl Printable for RangeResponse {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        for kv in &self.kvs {
            simple::kv(out, kv);
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        json::line(out, &json::Range::of(self))
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.header.as_ref());
        for kv in &self.kvs {
            fields::kv(out, "", kv);
        }
        fields::field(out, "More", self.more);
        fields::field(out, "Count", self.count);
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, self);
        Ok(())
    }
}
