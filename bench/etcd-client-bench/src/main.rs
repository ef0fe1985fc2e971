//! `etcd-client-bench WORKLOAD ENDPOINT CLIENTS SECONDS [VALUE_SIZE]`: the get / set / cas workloads
//! of `rsetcd bench --api v3`, run with the `etcd-client` crate on a single-threaded tokio runtime,
//! printing the same JSON as `rsetcd bench --json`. etcd-client's calls take `&mut self`, so each
//! task works on its own clone of one connected client, as its documentation suggests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, Compare, CompareOp, Txn, TxnOp};
use hdrhistogram::Histogram;

fn usage() -> (f64, u64) {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return (0.0, 0);
    }
    let secs = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    (
        secs(ru.ru_utime) + secs(ru.ru_stime),
        ru.ru_maxrss as u64 * 1024,
    )
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

async fn one_client(
    mut client: Client,
    workload: String,
    key: String,
    value: String,
    stop: Arc<AtomicBool>,
) -> (Histogram<u64>, u64) {
    let mut hist = histogram();
    let mut errors = 0;
    let mut revision = match workload.as_str() {
        "cas" => client
            .put(key.as_str(), "0", None)
            .await
            .ok()
            .and_then(|r| r.header().map(|h| h.revision()))
            .unwrap_or(0),
        _ => 0,
    };
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let ok = match workload.as_str() {
            "get" => client.get(key.as_str(), None).await.is_ok(),
            "set" => client.put(key.as_str(), value.as_str(), None).await.is_ok(),
            _ => {
                let txn = Txn::new()
                    .when([Compare::mod_revision(
                        key.as_str(),
                        CompareOp::Equal,
                        revision,
                    )])
                    .and_then([TxnOp::put(key.as_str(), value.as_str(), None)]);
                match client.txn(txn).await {
                    Ok(r) if r.succeeded() => {
                        revision = r.header().map_or(0, |h| h.revision());
                        true
                    }
                    _ => false,
                }
            }
        };
        if ok {
            let _ = hist.record((t0.elapsed().as_micros() as u64).max(1));
        } else {
            errors += 1;
        }
    }
    (hist, errors)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: etcd-client-bench get|set|cas ENDPOINT CLIENTS SECONDS [VALUE_SIZE]");
        std::process::exit(2);
    }
    let workload = args[1].clone();
    let endpoint = args[2].clone();
    let clients: usize = args[3].parse().expect("CLIENTS is a number");
    let seconds: f64 = args[4].parse().expect("SECONDS is a number");
    let value = "v".repeat(args.get(5).map_or(16, |v| v.parse().expect("VALUE_SIZE")));
    let client = Client::connect([endpoint.as_str()], None)
        .await
        .expect("connect to etcd");
    // As rsetcd bench: get and set at 1 client use one key; set at N clients N keys; cas a key each.
    let key = |i: usize| match workload.as_str() {
        "get" => "/bench/k0".to_string(),
        "set" if clients == 1 => "/bench/k0".to_string(),
        "set" => format!("/bench/k{}", i % 64),
        _ => format!("/bench/k{}", 1_000_000 + i),
    };
    if workload == "get" {
        let mut c = client.clone();
        c.put("/bench/k0", value.as_str(), None)
            .await
            .expect("set-up put");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (cpu0, _) = usage();
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            tokio::spawn(one_client(
                client.clone(),
                workload.clone(),
                key(i),
                value.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut hist = histogram();
    let mut errors = 0;
    for t in tasks {
        let (h, e) = t.await.expect("bench task");
        hist.add(&h).expect("same bounds");
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let (cpu1, peak) = usage();
    let ops = hist.len();
    let report = serde_json::json!({
        "workload": workload,
        "clients": clients,
        "ops": ops,
        "errors": errors,
        "seconds": elapsed,
        "ops_per_sec": ops as f64 / elapsed,
        "latency": {
            "p50_us": hist.value_at_quantile(0.50),
            "p90_us": hist.value_at_quantile(0.90),
            "p99_us": hist.value_at_quantile(0.99),
            "p999_us": hist.value_at_quantile(0.999),
            "max_us": hist.max(),
        },
        "cpu_secs_per_1k_ops": if ops > 0 { (cpu1 - cpu0) / ops as f64 * 1000.0 } else { 0.0 },
        "peak_rss_bytes": peak,
    });
    println!("{report}");
}
