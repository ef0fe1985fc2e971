//! `rsetcd bench`: throughput, latency percentiles, client CPU and memory, through the public
//! library API (as users would use it).

mod report;
mod target;
mod watch;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;

pub use report::Report;
pub use target::Target;

use crate::error::{CliError, Exit};

/// A duration: `10s`, `500ms`, `1m30s`, or a bare number of seconds (`4`), as wrk's `-d` takes it.
fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.trim().parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!("invalid duration {s:?}: not a number of seconds"));
    }
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Reads of existing keys.
    Get,
    /// Plain writes.
    Set,
    /// Compare-and-swap on the key's last change (v2: prevIndex; v3: a transaction comparing
    /// the mod revision), each client on its own key.
    Cas,
    /// Many watchers on distinct keys and one writer at a set rate.
    Watch,
}

/// Which etcd API to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// The v2 HTTP API.
    V2,
    /// The v3 gRPC API (set is a put; cas a transaction).
    V3,
}

/// Options of `bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The workload.
    #[arg(value_enum)]
    pub workload: Workload,
    /// The API to measure.
    #[arg(long, value_enum, default_value = "v2")]
    pub api: Api,
    /// Requests in flight at once (one task each, sharing one client).
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// Operations in all (get, set, cas) or events written (watch).
    #[arg(long, default_value_t = 10_000)]
    pub total: u64,
    /// Run for this long instead of --total (10s, 1m30s; a bare number is seconds, as wrk's -d).
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Key length in bytes.
    #[arg(long, default_value_t = 8)]
    pub key_size: usize,
    /// Value length in bytes.
    #[arg(long, default_value_t = 16)]
    pub value_size: usize,
    /// How many distinct keys (get, set).
    #[arg(long, default_value_t = 1000)]
    pub keys: usize,
    /// Watchers on distinct keys (watch).
    #[arg(long, default_value_t = 1000)]
    pub watchers: usize,
    /// Events written per second (watch).
    #[arg(long, default_value_t = 500)]
    pub rate: u64,
    /// Threads, each running its own single-threaded runtime (thread per core, as wrk's -t does);
    /// the clients are shared out among them, all using one library client.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// CPU seconds (user + system) and peak RSS (bytes) of this process so far.
pub(crate) fn usage() -> (f64, u64) {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0.0, 0);
    }
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (
        secs(ru.ru_utime) + secs(ru.ru_stime),
        (ru.ru_maxrss as u64) * 1024,
    )
}

/// The current RSS in bytes (from /proc), for memory per watcher.
pub(crate) fn current_rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

fn key_name(i: usize, size: usize) -> String {
    let base = format!("/bench/k{i}");
    if base.len() >= size {
        base
    } else {
        format!("{base}{}", "x".repeat(size - base.len()))
    }
}

pub(crate) fn histogram() -> Histogram<u64> {
    // 1 µs .. 60 s, 3 significant digits.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("constant, valid histogram bounds")
}

fn err(e: impl std::fmt::Display) -> CliError {
    CliError::new(Exit::ServerError, format!("Error:  bench: {e}"))
}

/// Runs the benchmark and prints the report.
pub async fn run(client: Target, args: BenchArgs) -> Result<(), CliError> {
    if args.clients == 0 || args.threads == 0 {
        return Err(CliError::args("--clients and --threads must be at least 1"));
    }
    if args.threads > args.clients {
        return Err(CliError::args("--threads must not exceed --clients"));
    }
    let report = match args.workload {
        Workload::Watch => watch::run(client, &args).await?,
        _ => run_requests(client, &args).await?,
    };
    report.print(args.json);
    Ok(())
}

/// What every request task shares.
struct Plan {
    workload: Workload,
    keys: Vec<String>,
    value: String,
    issued: Arc<AtomicU64>,
    total: u64,
    deadline: Option<Instant>,
}

async fn run_requests(client: Target, args: &BenchArgs) -> Result<Report, CliError> {
    let value: String = "v".repeat(args.value_size);
    let keys: Vec<String> = (0..args.keys.max(1))
        .map(|i| key_name(i, args.key_size))
        .collect();
    // Set-up, not measured.
    if args.workload == Workload::Get {
        for k in &keys {
            client.write(k, &value).await.map_err(err)?;
        }
    }
    let deadline = args.duration.map(|d| Instant::now() + d);
    let plan = Arc::new(Plan {
        workload: args.workload,
        keys,
        value,
        issued: Arc::new(AtomicU64::new(0)),
        total: if deadline.is_some() {
            u64::MAX
        } else {
            args.total
        },
        deadline,
    });
    // Task i works on cas key i; thread t runs tasks t, t + threads, ...
    let shares: Vec<Vec<String>> = (0..args.threads)
        .map(|t| {
            (t..args.clients)
                .step_by(args.threads)
                .map(|i| key_name(1_000_000 + i, args.key_size))
                .collect()
        })
        .collect();
    let (cpu0, _) = usage();
    let start = Instant::now();
    let progress =
        report::Progress::start(plan.issued.clone(), args.duration.map_or(args.total, |_| 0));
    let mut shares = shares.into_iter();
    let first = shares.next().unwrap_or_default();
    let others: Vec<_> = shares
        .map(|cas_keys| {
            let (client, plan) = (client.clone(), plan.clone());
            std::thread::spawn(move || -> Result<(Histogram<u64>, u64), CliError> {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(err)?;
                runtime.block_on(run_tasks(client, cas_keys, plan))
            })
        })
        .collect();
    let (mut hist, mut errors) = run_tasks(client, first, plan.clone()).await?;
    let joined = tokio::task::spawn_blocking(move || {
        others
            .into_iter()
            .map(|t| {
                t.join()
                    .unwrap_or_else(|_| Err(err("a bench thread panicked")))
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(err)?;
    for result in joined {
        let (h, e) = result?;
        hist.add(&h).map_err(err)?;
        errors += e;
    }
    let elapsed = start.elapsed();
    progress.stop();
    let (cpu1, peak) = usage();
    Ok(Report::requests(
        args,
        &hist,
        errors,
        elapsed,
        cpu1 - cpu0,
        peak,
    ))
}

/// One task per cas key (one per client), on the current runtime.
async fn run_tasks(
    client: Target,
    cas_keys: Vec<String>,
    plan: Arc<Plan>,
) -> Result<(Histogram<u64>, u64), CliError> {
    let tasks: Vec<_> = cas_keys
        .into_iter()
        .map(|cas_key| tokio::spawn(one_client(client.clone(), cas_key, plan.clone())))
        .collect();
    let mut hist = histogram();
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await.map_err(err)?;
        hist.add(&h).map_err(err)?;
        errors += e;
    }
    Ok((hist, errors))
}

/// One client: requests one after the other until the plan is done.
async fn one_client(client: Target, cas_key: String, plan: Arc<Plan>) -> (Histogram<u64>, u64) {
    let mut hist = histogram();
    let mut errors = 0u64;
    let mut cas_index = match plan.workload {
        Workload::Cas => client.write(&cas_key, "0").await.unwrap_or(0),
        _ => 0,
    };
    let value = plan.value.as_str();
    loop {
        let n = plan.issued.fetch_add(1, Ordering::Relaxed);
        if n >= plan.total || plan.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        let key = &plan.keys[(n as usize) % plan.keys.len()];
        let t0 = Instant::now();
        let ok = match plan.workload {
            Workload::Get => client.read(key).await.is_ok(),
            Workload::Set => client.write(key, value).await.is_ok(),
            Workload::Cas => match client.compare_and_swap(&cas_key, value, cas_index).await {
                Ok(Some(index)) => {
                    cas_index = index;
                    true
                }
                _ => {
                    cas_index = client.read(&cas_key).await.unwrap_or(cas_index);
                    false
                }
            },
            Workload::Watch => false,
        };
        let micros = t0.elapsed().as_micros().max(1) as u64;
        if ok {
            let _ = hist.record(micros);
        } else {
            errors += 1;
        }
    }
    (hist, errors)
}
