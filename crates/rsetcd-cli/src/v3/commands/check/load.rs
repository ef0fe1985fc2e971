//! The put load of `check perf` and `check datascale`: a pool of workers writing random keys under
//! a prefix, paced (perf: a rate for a while) or counted (datascale: so many puts), and the
//! statistics etcdctl judges it by.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rsetcd::v3::Client;
use tokio::sync::Semaphore;
use tokio::time::{interval, sleep, sleep_until, MissedTickBehavior};

use crate::v3::error::describe;

/// How the puts are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// At most `per_second` puts a second (no burst: a late put does not make room for two),
    /// for `seconds`.
    Rate {
        /// Puts per second.
        per_second: u32,
        /// For how long.
        seconds: u32,
    },
    /// This many puts, as fast as the workers go.
    Count(u64),
}

/// One load: where, how big, how many at once, how fast.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The prefix every key starts with.
    pub prefix: Vec<u8>,
    /// The key's length after the prefix.
    pub key_size: usize,
    /// The value's length.
    pub value_size: usize,
    /// Puts in flight at most.
    pub workers: usize,
    /// Pacing.
    pub pace: Pace,
}

/// What a load measured.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The latency of each put that succeeded.
    pub latencies: Vec<Duration>,
    /// Failed puts, counted by what the error said.
    pub errors: BTreeMap<String, u64>,
    /// From the first put sent to the last answer.
    pub total: Duration,
}

/// What a load is judged by (etcd's `report.Stats`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Successful puts per second over the whole load.
    pub rps: f64,
    /// The slowest put, in seconds.
    pub slowest: f64,
    /// The standard deviation of the latencies (of the population), in seconds.
    pub stddev: f64,
}

impl Stats {
    /// The statistics of an outcome (zeros for a load without a successful put).
    pub fn of(outcome: &Outcome) -> Stats {
        let secs: Vec<f64> = outcome
            .latencies
            .iter()
            .map(Duration::as_secs_f64)
            .collect();
        if secs.is_empty() {
            return Stats {
                rps: 0.0,
                slowest: 0.0,
                stddev: 0.0,
            };
        }
        let n = secs.len() as f64;
        let mean = secs.iter().sum::<f64>() / n;
        let variance = secs.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n;
        let total = outcome.total.as_secs_f64();
        Stats {
            rps: if total > 0.0 { n / total } else { 0.0 },
            slowest: secs.iter().copied().fold(0.0, f64::max),
            stddev: variance.sqrt(),
        }
    }
}

/// Random keys: the prefix, then `size` bytes whose first eight are random (zeros after).
#[derive(Debug)]
pub struct Keys {
    prefix: Vec<u8>,
    size: usize,
    state: u64,
}

impl Keys {
    /// Keys under `prefix`, seeded with `seed`.
    pub fn new(prefix: &[u8], size: usize, seed: u64) -> Keys {
        Keys {
            prefix: prefix.to_vec(),
            size,
            state: seed,
        }
    }

    /// The next key.
    pub fn next_key(&mut self) -> Vec<u8> {
        // splitmix64: enough to keep 2^64 keys apart; nothing here needs a cryptographic source.
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let mut key = Vec::with_capacity(self.prefix.len() + self.size);
        key.extend_from_slice(&self.prefix);
        let random = z.to_be_bytes();
        let take = self.size.min(random.len());
        key.extend_from_slice(&random[..take]);
        key.resize(self.prefix.len() + self.size, 0);
        key
    }
}

/// A seed that differs from run to run.
pub fn seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

#[derive(Debug, Default)]
struct Tally {
    latencies: Vec<Duration>,
    errors: BTreeMap<String, u64>,
}

/// Runs the load on `client`, calling `progress(done, elapsed)` about four times a second while
/// it runs (`done`: puts answered).
pub async fn run(client: &Client, spec: &Spec, mut progress: impl FnMut(u64, Duration)) -> Outcome {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let done = Arc::new(AtomicU64::new(0));
    let workers = spec.workers.max(1);
    let slots = Arc::new(Semaphore::new(workers));
    let value: Arc<[u8]> = vec![0u8; spec.value_size].into();
    let mut keys = Keys::new(&spec.prefix, spec.key_size, seed());
    let start = Instant::now();

    let send = async {
        let mut sent = 0u64;
        let (mut ticker, deadline) = match spec.pace {
            Pace::Rate {
                per_second,
                seconds,
            } => {
                let mut t = interval(Duration::from_secs_f64(1.0 / f64::from(per_second.max(1))));
                // A late tick keeps the schedule (no drift below the rate); a missed one is skipped, not
                // made up for by a burst (etcdctl's limiter holds one token at most).
                t.set_missed_tick_behavior(MissedTickBehavior::Skip);
                let end =
                    tokio::time::Instant::from_std(start) + Duration::from_secs(u64::from(seconds));
                (Some(t), Some(end))
            }
            Pace::Count(_) => (None, None),
        };
        loop {
            match (spec.pace, ticker.as_mut(), deadline) {
                (Pace::Count(n), _, _) if sent >= n => break,
                (Pace::Rate { .. }, Some(t), Some(end)) => {
                    tokio::select! {
                        _ = t.tick() => {}
                        _ = sleep_until(end) => break,
                    }
                    if tokio::time::Instant::now() >= end {
                        break;
                    }
                }
                _ => {}
            }
            let Ok(slot) = slots.clone().acquire_owned().await else {
                break;
            };
            let (client, key, value) = (client.clone(), keys.next_key(), value.clone());
            let (tally, done) = (tally.clone(), done.clone());
            tokio::spawn(async move {
                let began = Instant::now();
                let answer = client.put(key, value).await;
                let took = began.elapsed();
                if let Ok(mut t) = tally.lock() {
                    match answer {
                        Ok(_) => t.latencies.push(took),
                        Err(e) => *t.errors.entry(describe(&e)).or_default() += 1,
                    }
                }
                done.fetch_add(1, Ordering::Relaxed);
                drop(slot);
            });
            sent += 1;
        }
        // Every put answered: all the slots are free again.
        let _ = slots.acquire_many(workers as u32).await;
    };
    tokio::pin!(send);
    loop {
        tokio::select! {
            () = &mut send => break,
            () = sleep(Duration::from_millis(250)) => progress(done.load(Ordering::Relaxed), start.elapsed()),
        }
    }
    let total = start.elapsed();
    // Every task has ended (all slots were free again): the tally is complete.
    let tally = tally
        .lock()
        .map(|mut t| std::mem::take(&mut *t))
        .unwrap_or_default();
    Outcome {
        latencies: tally.latencies,
        errors: tally.errors,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Duration> {
        v.iter().map(|&m| Duration::from_millis(m)).collect()
    }

    #[test]
    fn stats_are_rate_slowest_and_population_stddev() {
        let outcome = Outcome {
            latencies: ms(&[10, 20, 30, 40]),
            errors: BTreeMap::new(),
            total: Duration::from_secs(2),
        };
        let s = Stats::of(&outcome);
        assert_eq!(s.rps, 2.0);
        assert!((s.slowest - 0.04).abs() < 1e-12, "{s:?}");
        // Mean 25 ms; deviations ±5, ±15 ms: sqrt((25 + 225) * 2 / 4) = sqrt(125) ms.
        assert!((s.stddev - 125f64.sqrt() / 1000.0).abs() < 1e-12, "{s:?}");
    }

    #[test]
    fn stats_of_a_load_without_a_success_are_zeros() {
        let outcome = Outcome {
            latencies: Vec::new(),
            errors: BTreeMap::from([("boom".to_string(), 3)]),
            total: Duration::from_secs(1),
        };
        let s = Stats::of(&outcome);
        assert_eq!((s.rps, s.slowest, s.stddev), (0.0, 0.0, 0.0));
    }

    #[test]
    fn keys_have_the_prefix_the_size_and_differ() {
        let mut keys = Keys::new(b"/p/", 256, 7);
        let (a, b) = (keys.next_key(), keys.next_key());
        assert_eq!(a.len(), 3 + 256);
        assert!(a.starts_with(b"/p/") && b.starts_with(b"/p/"));
        assert_ne!(a, b);
        assert!(a[3 + 8..].iter().all(|&x| x == 0));
        // A key shorter than the random part is cut, not lengthened.
        assert_eq!(Keys::new(b"", 3, 1).next_key().len(), 3);
    }
}
