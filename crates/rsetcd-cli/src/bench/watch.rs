//! The watch workload: W watchers on distinct keys, one writer at a set rate; event latency is
//! measured from the write's acknowledgement to the event's arrival (0 when the event arrives
//! first), and every written event must arrive (missed events are counted).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use rsetcd::v2::{Client, WatchEvent};

use super::report::{Progress, Report};
use super::{current_rss, err, histogram, usage, BenchArgs};
use crate::error::CliError;

pub async fn run(client: Client, args: &BenchArgs) -> Result<Report, CliError> {
    let watchers = args.watchers.max(1);
    let total = args.total.max(1);
    let prefix = format!("/bench-watch/{}", std::process::id());
    let start_index = client
        .write(&format!("{prefix}/start"), "x")
        .await
        .map_err(err)?
        .etcd_index;
    let t0 = Instant::now();
    let nanos = move || t0.elapsed().as_nanos() as u64;
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let received: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let duplicates = Arc::new(AtomicU64::new(0));

    let rss_before = current_rss();
    let (cpu0, _) = usage();
    let mut tasks = Vec::with_capacity(watchers);
    for w in 0..watchers {
        let mut stream = client
            .watch(&format!("{prefix}/w{w}"))
            .after_index(start_index)
            .stream();
        let (received, duplicates) = (received.clone(), duplicates.clone());
        // Watcher w receives the events whose sequence number is w modulo the watcher count.
        let expected = (total as usize).saturating_sub(w).div_ceil(watchers) as u64;
        tasks.push(tokio::spawn(async move {
            let mut got = 0;
            while got < expected {
                match stream.next().await {
                    Some(Ok(WatchEvent::Event(e))) => {
                        let at = nanos();
                        if let Some(slot) = e
                            .node
                            .value
                            .as_deref()
                            .and_then(|v| v.parse::<usize>().ok())
                            .and_then(|s| received.get(s))
                        {
                            if slot.swap(at.max(1), Ordering::Relaxed) != 0 {
                                duplicates.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        got += 1;
                    }
                    Some(Ok(WatchEvent::Resynced { .. })) => {}
                    Some(Err(_)) | None => break,
                }
            }
        }));
    }
    // Let every watcher register its long poll before writing (bounded).
    tokio::time::sleep(Duration::from_millis(200) + Duration::from_micros(200 * watchers as u64))
        .await;
    let rss_watching = current_rss();

    let written = Arc::new(AtomicU64::new(0));
    let progress = Progress::start(written.clone(), total);
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(1) as f64);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let write_start = Instant::now();
    for seq in 0..total {
        tick.tick().await;
        let key = format!("{prefix}/w{}", seq as usize % watchers);
        client.write(&key, seq.to_string()).await.map_err(err)?;
        acked[seq as usize].store(nanos().max(1), Ordering::Relaxed);
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
    for seq in 0..total as usize {
        let (a, r) = (
            acked[seq].load(Ordering::Relaxed),
            received[seq].load(Ordering::Relaxed),
        );
        if r == 0 {
            missed += 1;
        } else {
            let _ = hist.record((r.saturating_sub(a) / 1000).max(1));
        }
    }
    let mut report = Report::requests(args, &hist, 0, write_elapsed, cpu1 - cpu0, peak);
    report.watchers = Some(watchers);
    report.missed_events = Some(missed + duplicates.load(Ordering::Relaxed));
    report.memory_per_watcher_bytes =
        Some(rss_watching.saturating_sub(rss_before) / watchers as u64);
    let _ = client.delete(&prefix).recursive().await;
    Ok(report)
}
