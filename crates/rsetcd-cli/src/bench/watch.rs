//! The watch workload: W watchers on distinct keys, one writer at a set rate; event latency is
//! measured from the write's acknowledgement to the event's arrival (0 when the event arrives
//! first), and every written event must arrive (missed and duplicate events are counted).
//!
//! v2: one long-poll stream per watcher. v3: every watch multiplexed on the client's one stream.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rsetcd::v2::WatchEvent;
use rsetcd::v3::WatchItem;
use tokio::task::JoinHandle;

use super::report::{Progress, Report};
use super::{current_rss, err, histogram, usage, BenchArgs, Target};
use crate::error::CliError;

/// When each written value was acknowledged and received, by sequence number.
struct Tally {
    t0: Instant,
    acked: Vec<AtomicU64>,
    received: Vec<AtomicU64>,
    duplicates: AtomicU64,
}

impl Tally {
    fn new(total: u64) -> Tally {
        Tally {
            t0: Instant::now(),
            acked: (0..total).map(|_| AtomicU64::new(0)).collect(),
            received: (0..total).map(|_| AtomicU64::new(0)).collect(),
            duplicates: AtomicU64::new(0),
        }
    }

    fn nanos(&self) -> u64 {
        (self.t0.elapsed().as_nanos() as u64).max(1)
    }

    /// An event carrying `value` (the sequence number) arrived.
    fn receive(&self, value: &[u8]) {
        let at = self.nanos();
        let slot = std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .and_then(|s| self.received.get(s));
        if let Some(slot) = slot {
            if slot.swap(at, Ordering::Relaxed) != 0 {
                self.duplicates.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The write of sequence number `seq` was acknowledged.
    fn ack(&self, seq: u64) {
        if let Some(slot) = self.acked.get(seq as usize) {
            slot.store(self.nanos(), Ordering::Relaxed);
        }
    }
}

/// How many of `total` events watcher `w` of `watchers` gets (event `seq` goes to `seq % W`).
fn expected(total: u64, watchers: usize, w: usize) -> u64 {
    (total as usize).saturating_sub(w).div_ceil(watchers) as u64
}

pub async fn run(target: Target, args: &BenchArgs) -> Result<Report, CliError> {
    let watchers = args.watchers.max(1);
    let total = args.total.max(1);
    let prefix = format!("/bench-watch/{}", std::process::id());
    let start = target
        .write(&format!("{prefix}/start"), "x")
        .await
        .map_err(err)?;
    let tally = Arc::new(Tally::new(total));
    let rss_before = current_rss();
    let (cpu0, _) = usage();
    let mut tasks: Vec<JoinHandle<()>> = Vec::with_capacity(watchers);
    for w in 0..watchers {
        let key = format!("{prefix}/w{w}");
        let (tally, expected) = (tally.clone(), expected(total, watchers, w));
        tasks.push(match &target {
            Target::V2(client) => {
                let mut stream = client.watch(&key).after_index(start as u64).stream();
                tokio::spawn(async move {
                    let mut got = 0;
                    while got < expected {
                        match stream.next().await {
                            Some(Ok(WatchEvent::Event(e))) => {
                                tally.receive(e.node.value_str().as_bytes());
                                got += 1;
                            }
                            Some(Ok(WatchEvent::Resynced { .. })) => {}
                            Some(Err(_)) | None => break,
                        }
                    }
                })
            }
            Target::V3(client) => {
                // Created once this returns: no event can be missed after.
                let mut watch = client
                    .watch(&key)
                    .start_revision(start + 1)
                    .await
                    .map_err(err)?;
                tokio::spawn(async move {
                    let mut got = 0;
                    while got < expected {
                        match watch.next().await {
                            Some(Ok(WatchItem::Events { events, .. })) => {
                                for kv in events.iter().filter_map(|e| e.kv.as_ref()) {
                                    tally.receive(&kv.value);
                                    got += 1;
                                }
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => break,
                        }
                    }
                })
            }
        });
    }
    if matches!(target, Target::V2(_)) {
        // v2 watches register with their first long poll: give them time (bounded).
        tokio::time::sleep(
            Duration::from_millis(200) + Duration::from_micros(200 * watchers as u64),
        )
        .await;
    }
    let rss_watching = current_rss();

    let written = Arc::new(AtomicU64::new(0));
    let progress = Progress::start(written.clone(), total);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate.max(1) as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let write_start = Instant::now();
    for seq in 0..total {
        tick.tick().await;
        let key = format!("{prefix}/w{}", seq as usize % watchers);
        target.write(&key, &seq.to_string()).await.map_err(err)?;
        tally.ack(seq);
        written.fetch_add(1, Ordering::Relaxed);
    }
    let write_elapsed = write_start.elapsed();
    // Wait (bounded) for the last events.
    let deadline = Instant::now() + Duration::from_secs(10);
    for t in tasks {
        let left = deadline.saturating_duration_since(Instant::now());
        if tokio::time::timeout(left, t).await.is_err() {
            break;
        }
    }
    progress.stop();
    let (cpu1, peak) = usage();

    let mut hist = histogram();
    let mut missed = 0;
    for (acked, received) in tally.acked.iter().zip(&tally.received) {
        match (
            acked.load(Ordering::Relaxed),
            received.load(Ordering::Relaxed),
        ) {
            (_, 0) => missed += 1,
            (a, r) => {
                let _ = hist.record((r.saturating_sub(a) / 1000).max(1));
            }
        }
    }
    let mut report = Report::requests(args, &hist, 0, write_elapsed, cpu1 - cpu0, peak);
    report.watchers = Some(watchers);
    report.missed_events = Some(missed + tally.duplicates.load(Ordering::Relaxed));
    report.memory_per_watcher_bytes =
        Some(rss_watching.saturating_sub(rss_before) / watchers as u64);
    let _ = match &target {
        Target::V2(c) => c.delete(&prefix).recursive().await.map(drop),
        Target::V3(c) => c.delete(&prefix).prefix().await.map(drop),
    };
    Ok(report)
}
