//! The bench report (text or JSON) and a progress line on a terminal.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::BenchArgs;

/// Latency percentiles in microseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Latency {
        Latency {
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        }
    }
}

/// What a run measured.
#[derive(Debug, Serialize)]
pub struct Report {
    pub workload: String,
    pub clients: usize,
    pub ops: u64,
    pub errors: u64,
    pub seconds: f64,
    pub ops_per_sec: f64,
    pub latency: Latency,
    pub cpu_secs_per_1k_ops: f64,
    pub peak_rss_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watchers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missed_events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_per_watcher_bytes: Option<u64>,
}

impl Report {
    pub fn requests(
        args: &BenchArgs,
        h: &Histogram<u64>,
        errors: u64,
        elapsed: Duration,
        cpu: f64,
        peak: u64,
    ) -> Report {
        let ops = h.len();
        let seconds = elapsed.as_secs_f64();
        Report {
            workload: format!("{:?}", args.workload).to_lowercase(),
            clients: args.clients,
            ops,
            errors,
            seconds,
            ops_per_sec: if seconds > 0.0 {
                ops as f64 / seconds
            } else {
                0.0
            },
            latency: Latency::of(h),
            cpu_secs_per_1k_ops: if ops > 0 {
                cpu * 1000.0 / ops as f64
            } else {
                0.0
            },
            peak_rss_bytes: peak,
            watchers: None,
            missed_events: None,
            memory_per_watcher_bytes: None,
        }
    }

    pub fn print(&self, json: bool) {
        if json {
            println!("{}", serde_json::to_string(self).unwrap_or_default());
            return;
        }
        println!("workload      {} ({} clients)", self.workload, self.clients);
        println!(
            "operations    {} in {:.2} s, {} errors",
            self.ops, self.seconds, self.errors
        );
        println!("throughput    {:.0} ops/s", self.ops_per_sec);
        let l = &self.latency;
        println!(
            "latency (µs)  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
            l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us
        );
        println!(
            "client CPU    {:.4} s per 1,000 ops",
            self.cpu_secs_per_1k_ops
        );
        println!(
            "peak RSS      {:.1} MiB",
            self.peak_rss_bytes as f64 / 1048576.0
        );
        if let Some(w) = self.watchers {
            println!("watchers      {w}");
        }
        if let Some(m) = self.missed_events {
            println!("missed events {m}");
        }
        if let Some(b) = self.memory_per_watcher_bytes {
            println!("memory/watch  {:.1} KiB", b as f64 / 1024.0);
        }
    }
}

/// A progress line on stderr, once a second, only when stderr is a terminal.
pub struct Progress {
    stop: Arc<AtomicBool>,
    /// Whether a progress line was drawn (and so must be ended before the report).
    drawn: Arc<AtomicBool>,
}

impl Progress {
    pub fn start(done: Arc<AtomicU64>, total: u64) -> Progress {
        let stop = Arc::new(AtomicBool::new(false));
        let drawn = Arc::new(AtomicBool::new(false));
        if std::io::stderr().is_terminal() {
            let (stop, drawn) = (stop.clone(), drawn.clone());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    drawn.store(true, Ordering::Relaxed);
                    let n =
                        done.load(Ordering::Relaxed)
                            .min(if total == 0 { u64::MAX } else { total });
                    if total > 0 {
                        eprint!("\r{n}/{total} ({:.0}%)   ", n as f64 * 100.0 / total as f64);
                    } else {
                        eprint!("\r{n} operations   ");
                    }
                }
            });
        }
        Progress { stop, drawn }
    }

    /// Stops the line and ends it (a newline) if one was drawn, so the report starts on a line
    /// of its own.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if self.drawn.load(Ordering::Relaxed) {
            eprintln!();
        }
    }
}
