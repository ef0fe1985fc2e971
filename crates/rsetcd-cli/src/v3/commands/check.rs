//! `check perf|datascale`: etcdctl's checks of a cluster under load, with its workloads, flags,
//! output lines and exit codes.
//!
//! - `perf` writes 1 KiB values under random 256-byte keys at the workload's rate for a minute,
//!   then judges throughput (above 90% of the rate), the slowest put (at most 0.5 s) and the
//!   latencies' standard deviation (at most 0.1 s): `PASS`, or `FAIL` with exit 1.
//! - `datascale` writes the workload's number of 512 + 512-byte pairs as fast as it can and
//!   reports how much the first endpoint's resident memory grew (its `/metrics`).
//!
//! Both refuse to start when the prefix holds keys (exit 3), delete what they wrote, and compact
//! (`--auto-compact`) and defragment (`--auto-defrag`) after. Progress shows on stderr when it is
//! a terminal (etcdctl draws its bar on stdout, even into a pipe); stdout gets the result lines.
//! Unlike etcdctl, the load shares one client (one HTTP/2 connection per endpoint) among its
//! workers instead of opening one client per worker.

mod load;

use std::time::Duration;

use clap::{Args, Subcommand};
use rsetcd::v3::Client;

use self::load::{Outcome, Pace, Spec, Stats};
use super::endpoint::client_for;
use crate::error::CliError;
use crate::v3::context::{builder, write_stdout, Ctx};
use crate::v3::error::{describe, fail, Exit};
use crate::v3::output::fields::quote;
use crate::v3::progress::Progress;

/// The check commands.
#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// Check the performance of the etcd cluster
    Perf(CheckArgs<PerfDefaults>),
    /// Check the memory usage of holding data for different workloads on a given server endpoint.
    Datascale(CheckArgs<DatascaleDefaults>),
}

/// The default prefix of a check.
pub trait DefaultPrefix: Clone + Send + Sync + 'static {
    /// The prefix.
    const PREFIX: &'static str;
}

/// `check perf`'s default prefix.
#[derive(Debug, Clone)]
pub struct PerfDefaults;
impl DefaultPrefix for PerfDefaults {
    const PREFIX: &'static str = "/etcdctl-check-perf/";
}

/// `check datascale`'s default prefix.
#[derive(Debug, Clone)]
pub struct DatascaleDefaults;
impl DefaultPrefix for DatascaleDefaults {
    const PREFIX: &'static str = "/etcdctl-check-datascale/";
}

/// Flags of `check perf` and `check datascale`.
#[derive(Debug, Args)]
pub struct CheckArgs<D: DefaultPrefix> {
    /// The check's workload model. Accepted workloads: s(small), m(medium), l(large), xl(xLarge)
    #[arg(long, default_value = "s")]
    pub load: String,
    /// The prefix for writing the check's keys.
    #[arg(long, default_value = D::PREFIX)]
    pub prefix: String,
    /// Compact storage with last revision after test is finished.
    #[arg(long)]
    pub auto_compact: bool,
    /// Defragment storage after test is finished.
    #[arg(long)]
    pub auto_defrag: bool,
    #[arg(skip)]
    _defaults: std::marker::PhantomData<D>,
}

/// A workload's size: `s`, `m`, `l` or `xl` (or its long name), as etcdctl accepts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `s`, `small`.
    Small,
    /// `m`, `medium`.
    Medium,
    /// `l`, `large`.
    Large,
    /// `xl`, `xLarge`.
    XLarge,
}

impl Workload {
    /// The workload named `name`, if etcdctl knows it.
    pub fn parse(name: &str) -> Option<Workload> {
        match name {
            "s" | "small" => Some(Workload::Small),
            "m" | "medium" => Some(Workload::Medium),
            "l" | "large" => Some(Workload::Large),
            "xl" | "xLarge" => Some(Workload::XLarge),
            _ => None,
        }
    }

    /// `check perf`'s rate (puts a second) and workers.
    pub fn perf(self) -> (u32, usize) {
        match self {
            Workload::Small => (150, 50),
            Workload::Medium => (1000, 200),
            Workload::Large => (8000, 500),
            Workload::XLarge => (15000, 1000),
        }
    }

    /// `check datascale`'s number of pairs and workers.
    pub fn datascale(self) -> (u64, usize) {
        match self {
            Workload::Small => (10_000, 50),
            Workload::Medium => (100_000, 200),
            Workload::Large => (1_000_000, 500),
            Workload::XLarge => (3_000_000, 1000),
        }
    }
}

/// How long `check perf` writes.
const PERF_SECONDS: u32 = 60;

/// Runs a check command.
pub async fn run(ctx: &Ctx, command: &CheckCommand) -> Result<(), CliError> {
    match command {
        CheckCommand::Perf(args) => perf(ctx, args).await,
        CheckCommand::Datascale(args) => datascale(ctx, args).await,
    }
}

async fn perf(ctx: &Ctx, args: &CheckArgs<PerfDefaults>) -> Result<(), CliError> {
    let workload = workload(&args.load)?;
    let (rate, workers) = workload.perf();
    let client = ctx.client().await?;
    refuse_if_used(ctx, client, &args.prefix, true).await?;
    let spec = Spec {
        prefix: args.prefix.as_bytes().to_vec(),
        key_size: 256,
        value_size: 1024,
        workers,
        pace: Pace::Rate {
            per_second: rate,
            seconds: PERF_SECONDS,
        },
    };
    let mut progress = Progress::new();
    let outcome = load::run(client, &spec, |_, elapsed| {
        let secs = elapsed.as_secs().min(u64::from(PERF_SECONDS));
        progress.show(&bar(secs, u64::from(PERF_SECONDS)));
    })
    .await;
    progress.clear();
    clean_up(ctx, client, args).await?;
    let (text, pass) = perf_verdict(&outcome, rate);
    report(&text, pass)
}

async fn datascale(ctx: &Ctx, args: &CheckArgs<DatascaleDefaults>) -> Result<(), CliError> {
    let workload = workload(&args.load)?;
    let (pairs, workers) = workload.datascale();
    let client = ctx.client().await?;
    refuse_if_used(ctx, client, &args.prefix, false).await?;
    let Some(before) = resident_memory(ctx).await else {
        return report(
            "FAIL: Could not read process_resident_memory_bytes before the put operations.\n",
            false,
        );
    };
    write_stdout(
        format!(
            "Start data scale check for work load [{pairs} key-value pairs, 1024 bytes per key-value, {workers} concurrent clients].\n"
        )
        .as_bytes(),
    )?;
    let spec = Spec {
        prefix: args.prefix.as_bytes().to_vec(),
        key_size: 512,
        value_size: 512,
        workers,
        pace: Pace::Count(pairs),
    };
    let mut progress = Progress::new();
    let outcome = load::run(client, &spec, |done, _| progress.show(&bar(done, pairs))).await;
    progress.clear();
    let Some(after) = resident_memory(ctx).await else {
        return report(
            "FAIL: Could not read process_resident_memory_bytes after the put operations.\n",
            false,
        );
    };
    clean_up(ctx, client, args).await?;
    let (text, pass) = datascale_verdict(&outcome, before, after);
    report(&text, pass)
}

fn workload(name: &str) -> Result<Workload, CliError> {
    Workload::parse(name)
        .ok_or_else(|| fail(Exit::BadFeature, format!("unknown load option {name}")))
}

/// Prints the verdict lines; a failed check exits 1 with nothing more said.
fn report(text: &str, pass: bool) -> Result<(), CliError> {
    write_stdout(text.as_bytes())?;
    if pass {
        Ok(())
    } else {
        Err(CliError::new(Exit::Error, ""))
    }
}

/// etcdctl's progress figures: ` done / total  percent%`.
fn bar(done: u64, total: u64) -> String {
    let pct = if total == 0 {
        100.0
    } else {
        done as f64 * 100.0 / total as f64
    };
    format!(" {done} / {total} {pct:>7.2}%")
}

/// Exit 3 when the prefix already holds a key: the check deletes everything under it after.
/// etcdctl 3.5's `check perf` puts the command it names in quotes (3.4's does not, nor does
/// either's `check datascale`); rsetcd follows 3.5.
async fn refuse_if_used(
    ctx: &Ctx,
    client: &Client,
    prefix: &str,
    quoted: bool,
) -> Result<(), CliError> {
    let held = ctx
        .bounded(async {
            client
                .get(prefix)
                .prefix()
                .limit(1)
                .await
                .map_err(|e| fail(Exit::Error, describe(&e)))
        })
        .await?;
    if held.kvs().is_empty() {
        return Ok(());
    }
    let command = format!("etcdctl del --prefix {prefix}");
    let command = if quoted {
        format!("'{command}'")
    } else {
        command
    };
    Err(fail(
        Exit::InvalidInput,
        format!(
            "prefix {} has keys. Delete with {command} first",
            quote(prefix.as_bytes())
        ),
    ))
}

/// Deletes what the check wrote, then compacts and defragments if asked, saying so as etcdctl
/// does.
async fn clean_up<D: DefaultPrefix>(
    ctx: &Ctx,
    client: &Client,
    args: &CheckArgs<D>,
) -> Result<(), CliError> {
    let prefix = args.prefix.as_bytes();
    let deleted = within_30s(async { client.delete(prefix).prefix().await }).await?;
    if args.auto_compact {
        let rev = deleted.revision();
        write_stdout(format!("Compacting with revision {rev}\n").as_bytes())?;
        within_30s(client.compact(rev, true)).await?;
        write_stdout(format!("Compacted with revision {rev}\n").as_bytes())?;
    }
    if args.auto_defrag {
        for ep in &ctx.global.endpoints {
            write_stdout(format!("Defragmenting {}\n", quote(ep.as_bytes())).as_bytes())?;
            let one = client_for(ctx, ep).await?;
            let url = one.endpoints().into_iter().next().unwrap_or_default();
            within_30s(one.defragment_at(&url)).await?;
            write_stdout(format!("Defragmented {}\n", quote(ep.as_bytes())).as_bytes())?;
        }
    }
    Ok(())
}

async fn within_30s<T>(
    fut: impl std::future::Future<Output = rsetcd::Result<T>>,
) -> Result<T, CliError> {
    match tokio::time::timeout(Duration::from_secs(30), fut).await {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(fail(Exit::Error, describe(&e))),
        Err(_) => Err(fail(Exit::Error, "context deadline exceeded")),
    }
}

/// The first endpoint's resident memory in bytes (its `/metrics`), if it can be read.
async fn resident_memory(ctx: &Ctx) -> Option<f64> {
    let mut global = ctx.global.clone();
    global.endpoints.truncate(1);
    // `/metrics` needs no credentials (and a password would be asked for a second time).
    global.user = None;
    global.password = None;
    let client = builder::<rsetcd::v2::Client>(&global)
        .await
        .ok()?
        .build()
        .ok()?;
    let text = tokio::time::timeout(ctx.global.command_timeout, client.metrics())
        .await
        .ok()?
        .ok()?;
    metric(&text, "process_resident_memory_bytes")
}

/// The value of the unlabelled metric `name` in Prometheus's text format.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        if !rest.starts_with(' ') {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The lines of errors, if any: etcdctl's `FAIL: too many errors` and one line per error.
fn error_lines(outcome: &Outcome) -> String {
    let mut text = String::new();
    if !outcome.errors.is_empty() {
        text.push_str("FAIL: too many errors\n");
        for (what, n) in &outcome.errors {
            text.push_str(&format!("FAIL: ERROR({what}) -> {n}\n"));
        }
    }
    text
}

/// `check perf`'s verdict lines for a load at `rate` puts a second, and whether it passed.
fn perf_verdict(outcome: &Outcome, rate: u32) -> (String, bool) {
    let s = Stats::of(outcome);
    let mut text = error_lines(outcome);
    let mut pass = outcome.errors.is_empty();
    // etcdctl prints the truncated rate plus one.
    let writes = s.rps as u64 + 1;
    if s.rps / f64::from(rate) <= 0.9 {
        text.push_str(&format!("FAIL: Throughput too low: {writes} writes/s\n"));
        pass = false;
    } else {
        text.push_str(&format!("PASS: Throughput is {writes} writes/s\n"));
    }
    // etcdctl's failing lines for the slowest put and the deviation carry no "FAIL:".
    if s.slowest > 0.5 {
        text.push_str(&format!(
            "Slowest request took too long: {:.6}s\n",
            s.slowest
        ));
        pass = false;
    } else {
        text.push_str(&format!("PASS: Slowest request took {:.6}s\n", s.slowest));
    }
    if s.stddev > 0.1 {
        text.push_str(&format!("Stddev too high: {:.6}s\n", s.stddev));
        pass = false;
    } else {
        text.push_str(&format!("PASS: Stddev is {:.6}s\n", s.stddev));
    }
    text.push_str(if pass { "PASS\n" } else { "FAIL\n" });
    (text, pass)
}

/// `check datascale`'s verdict lines for a load that took the memory from `before` to `after`
/// bytes, and whether it passed.
fn datascale_verdict(outcome: &Outcome, before: f64, after: f64) -> (String, bool) {
    if !outcome.errors.is_empty() {
        return (error_lines(outcome), false);
    }
    let mb = (after - before) / (1024.0 * 1024.0);
    (
        format!("PASS: Approximate system memory used : {mb:.2} MB.\n"),
        true,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn outcome(latencies_ms: &[u64], total_s: u64, errors: &[(&str, u64)]) -> Outcome {
        Outcome {
            latencies: latencies_ms
                .iter()
                .map(|&m| Duration::from_millis(m))
                .collect(),
            errors: errors
                .iter()
                .map(|&(e, n)| (e.to_string(), n))
                .collect::<BTreeMap<_, _>>(),
            total: Duration::from_secs(total_s),
        }
    }

    #[test]
    fn workloads_are_etcdctls() {
        assert_eq!(Workload::parse("s"), Some(Workload::Small));
        assert_eq!(Workload::parse("xLarge"), Some(Workload::XLarge));
        assert_eq!(Workload::parse("xlarge"), None);
        assert_eq!(
            Workload::parse("medium").map(Workload::perf),
            Some((1000, 200))
        );
        assert_eq!(
            Workload::parse("l").map(Workload::datascale),
            Some((1_000_000, 500))
        );
    }

    #[test]
    fn a_steady_load_passes() {
        // 150 puts in one second, 2 ms each.
        let (text, pass) = perf_verdict(&outcome(&[2; 150], 1, &[]), 150);
        assert!(pass);
        assert_eq!(
            text,
            "PASS: Throughput is 151 writes/s\nPASS: Slowest request took 0.002000s\n\
             PASS: Stddev is 0.000000s\nPASS\n"
        );
    }

    #[test]
    fn a_slow_or_uneven_load_fails_with_etcdctls_lines() {
        let mut lat = vec![1; 99];
        lat.push(900);
        // 100 puts in 1 s against a rate of 150: too few; one took 0.9 s; deviation ~0.09 s.
        let (text, pass) = perf_verdict(&outcome(&lat, 1, &[]), 150);
        assert!(!pass);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "FAIL: Throughput too low: 101 writes/s");
        assert_eq!(lines[1], "Slowest request took too long: 0.900000s");
        assert!(lines[2].starts_with("PASS: Stddev is 0.08"), "{text}");
        assert_eq!(lines[3], "FAIL");
        // Exactly at 90% of the rate is too low.
        assert!(!perf_verdict(&outcome(&[1; 135], 1, &[]), 150).1);
        let (text, _) = perf_verdict(&outcome(&[1, 1, 1, 400], 1, &[]), 1);
        assert!(text.contains("Stddev too high: 0.17"), "{text}");
    }

    #[test]
    fn errors_fail_the_check_and_are_counted() {
        let (text, pass) = perf_verdict(&outcome(&[1; 200], 1, &[("boom", 2), ("bang", 1)]), 150);
        assert!(!pass);
        assert!(text.starts_with(
            "FAIL: too many errors\nFAIL: ERROR(bang) -> 1\nFAIL: ERROR(boom) -> 2\nPASS: Throughput"
        ));
        assert!(text.ends_with("\nFAIL\n"));
        let (text, pass) = datascale_verdict(&outcome(&[1], 1, &[("boom", 1)]), 0.0, 1.0);
        assert!(!pass);
        assert_eq!(text, "FAIL: too many errors\nFAIL: ERROR(boom) -> 1\n");
    }

    #[test]
    fn datascale_reports_the_growth_in_mebibytes() {
        let (text, pass) =
            datascale_verdict(&outcome(&[1], 1, &[]), 1.0e8, 1.0e8 + 2.5 * 1048576.0);
        assert!(pass);
        assert_eq!(text, "PASS: Approximate system memory used : 2.50 MB.\n");
    }

    #[test]
    fn metrics_are_read_by_exact_name() {
        let text = "# HELP process_resident_memory_bytes Resident memory size in bytes.\n\
                    process_resident_memory_bytes_total 1\n\
                    process_resident_memory_bytes 1.48434944e+08\n";
        assert_eq!(
            metric(text, "process_resident_memory_bytes"),
            Some(1.48434944e8)
        );
        assert_eq!(metric(text, "process_virtual_memory_bytes"), None);
        assert_eq!(
            metric(
                "process_resident_memory_bytes x\n",
                "process_resident_memory_bytes"
            ),
            None
        );
    }

    #[test]
    fn the_bar_reads_like_etcdctls() {
        assert_eq!(bar(12, 60), " 12 / 60   20.00%");
        assert_eq!(bar(10000, 10000), " 10000 / 10000  100.00%");
    }
}
