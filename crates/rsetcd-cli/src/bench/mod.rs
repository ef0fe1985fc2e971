//! `rsetcd bench`: throughput, latency percentiles, client CPU and memory, through the public
//! library API (as users would use it).

mod report;
mod watch;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use rsetcd::v2::Client;

pub use report::Report;

use crate::error::{CliError, Exit};

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Reads of existing keys.
    Get,
    /// Plain writes.
    Set,
    /// Compare-and-swap on prev_index, each client on its own key.
    Cas,
    /// Many watchers on distinct keys and one writer at a set rate.
    Watch,
}

/// Options of `bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The workload.
    #[arg(value_enum)]
    pub workload: Workload,
    /// Requests in flight at once (one task each, sharing one client).
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// Operations in all (get, set, cas) or events written (watch).
    #[arg(long, default_value_t = 10_000)]
    pub total: u64,
    /// Run for this long instead of --total (e.g. 10s).
    #[arg(long, value_parser = |s: &str| humantime::parse_duration(s).map_err(|e| e.to_string()))]
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
    /// Runtime worker threads (1: a single-threaded runtime, which saves the cross-thread wake-ups
    /// that dominate a client's CPU on a small machine).
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
pub async fn run(client: Client, args: BenchArgs) -> Result<(), CliError> {
    if args.clients == 0 {
        return Err(CliError::args("--clients must be at least 1"));
    }
    let report = match args.workload {
        Workload::Watch => watch::run(client, &args).await?,
        _ => run_requests(client, &args).await?,
    };
    report.print(args.json);
    Ok(())
}

async fn run_requests(client: Client, args: &BenchArgs) -> Result<Report, CliError> {
    let value: String = "v".repeat(args.value_size);
    let keys: Vec<String> = (0..args.keys.max(1))
        .map(|i| key_name(i, args.key_size))
        .collect();
    let cas_keys: Vec<String> = (0..args.clients)
        .map(|i| key_name(1_000_000 + i, args.key_size))
        .collect();
    // Set-up, not measured.
    if args.workload == Workload::Get {
        for k in &keys {
            client.write(k, value.clone()).await.map_err(err)?;
        }
    }
    let keys = Arc::new(keys);
    let issued = Arc::new(AtomicU64::new(0));
    let deadline = args.duration.map(|d| Instant::now() + d);
    let (cpu0, _) = usage();
    let start = Instant::now();
    let progress = report::Progress::start(issued.clone(), args.duration.map_or(args.total, |_| 0));
    let mut tasks = Vec::new();
    for cas_key in cas_keys {
        let (client, keys, issued, value) =
            (client.clone(), keys.clone(), issued.clone(), value.clone());
        let workload = args.workload;
        let total = if deadline.is_some() {
            u64::MAX
        } else {
            args.total
        };
        tasks.push(tokio::spawn(async move {
            let mut hist = histogram();
            let mut errors = 0u64;
            let mut cas_index = match workload {
                Workload::Cas => client
                    .write(&cas_key, "0")
                    .await
                    .map(|r| r.node.modified_index)
                    .unwrap_or(0),
                _ => 0,
            };
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= total || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let key = &keys[(n as usize) % keys.len()];
                let t0 = Instant::now();
                let ok = match workload {
                    Workload::Get => client.read(key).await.is_ok(),
                    Workload::Set => client.write(key, value.as_str()).await.is_ok(),
                    Workload::Cas => match client
                        .compare_and_swap(&cas_key, value.as_str())
                        .prev_index(cas_index)
                        .await
                    {
                        Ok(r) => {
                            cas_index = r.node.modified_index;
                            true
                        }
                        Err(_) => {
                            cas_index = client
                                .read(&cas_key)
                                .await
                                .map(|r| r.node.modified_index)
                                .unwrap_or(cas_index);
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
        }));
    }
    let mut hist = histogram();
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await.map_err(err)?;
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
