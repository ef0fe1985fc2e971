//! The fault test that matters: compare-and-swap increments through a client holding all three
//! endpoints while members are killed with SIGKILL and restarted. No increment is lost or applied
//! twice, and no request stalls much longer than the request timeout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsetcd::v2::Client;
use rsetcd::{Error, EtcdCode};
use rsetcd_testkit::Cluster;

const INCREMENTS: u64 = 2_000;
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1500);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

#[derive(Debug, Default)]
struct Figures {
    applied: u64,
    unknown: u64,
    unknown_applied: u64,
    test_failed: u64,
    unavailable: u64,
    longest_stall: Duration,
}

/// Reads the counter until some endpoint answers (bounded).
async fn read_counter(c: &Client) -> (u64, u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match c.read("/counter").quorum().await {
            Ok(r) => return (r.value().unwrap().parse().unwrap(), r.node.modified_index),
            Err(e) if Instant::now() < deadline => {
                eprintln!("read failed, retrying: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("the counter stayed unreadable: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_increments_survive_kill_9_without_loss_or_doubling() {
    let cluster = tokio::task::spawn_blocking(|| Cluster::start(3))
        .await
        .unwrap()
        .unwrap();
    let c = Client::builder()
        .endpoints(cluster.endpoints())
        .request_timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .unwrap();
    c.write("/counter", "0").await.unwrap();

    let progress = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let killer = {
        let (progress, done) = (progress.clone(), done.clone());
        std::thread::spawn(move || {
            let mut cluster = cluster;
            let mut kills = 0;
            for round in 0..6usize {
                // Wait (bounded) for the writer to make progress before the next kill.
                let target = (round as u64 + 1) * INCREMENTS / 8;
                let deadline = Instant::now() + Duration::from_secs(60);
                while progress.load(Ordering::SeqCst) < target && !done.load(Ordering::SeqCst) {
                    assert!(Instant::now() < deadline, "the writer made no progress");
                    std::thread::sleep(Duration::from_millis(10));
                }
                if done.load(Ordering::SeqCst) {
                    break;
                }
                let victim = round % 3;
                cluster.kill(victim).unwrap();
                kills += 1;
                std::thread::sleep(Duration::from_millis(300));
                cluster.restart(victim).unwrap();
                cluster.wait_healthy(Duration::from_secs(20)).unwrap();
            }
            (cluster, kills)
        })
    };

    let mut f = Figures::default();
    let (mut value, mut index) = read_counter(&c).await;
    let mut attempts = 0u64;
    while f.applied + f.unknown_applied < INCREMENTS {
        attempts += 1;
        assert!(attempts < INCREMENTS * 10, "too many attempts: {f:?}");
        let start = Instant::now();
        let result = c
            .compare_and_swap("/counter", (value + 1).to_string())
            .prev_index(index)
            .await;
        f.longest_stall = f.longest_stall.max(start.elapsed());
        match result {
            Ok(r) => {
                assert_eq!(
                    r.prev_node.unwrap().value.as_deref(),
                    Some(value.to_string().as_str())
                );
                f.applied += 1;
                value += 1;
                index = r.node.modified_index;
            }
            Err(e) if e.is_outcome_unknown() => {
                f.unknown += 1;
                let (now, now_index) = read_counter(&c).await;
                assert!(
                    now == value || now == value + 1,
                    "counter jumped from {value} to {now}"
                );
                if now == value + 1 {
                    f.unknown_applied += 1;
                }
                (value, index) = (now, now_index);
            }
            Err(e) if e.code() == Some(EtcdCode::TestFailed) => {
                f.test_failed += 1;
                (value, index) = read_counter(&c).await;
            }
            Err(e @ (Error::NoMoreHosts { .. } | Error::Connect { .. } | Error::Etcd { .. })) => {
                f.unavailable += 1;
                eprintln!("unavailable: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                (value, index) = read_counter(&c).await;
            }
            Err(e) => panic!("unexpected error: {e}"),
        }
        progress.store(f.applied + f.unknown_applied, Ordering::SeqCst);
    }
    done.store(true, Ordering::SeqCst);
    let (cluster, kills) = tokio::task::spawn_blocking(move || killer.join().unwrap())
        .await
        .unwrap();

    let (final_value, _) = read_counter(&c).await;
    println!(
        "failover figures: increments={} applied={} unknown_outcomes={} (of which applied {}) \
         cas_retries={} unavailable={} kills={kills} longest_stall={:?}",
        INCREMENTS,
        f.applied,
        f.unknown,
        f.unknown_applied,
        f.test_failed,
        f.unavailable,
        f.longest_stall
    );
    assert_eq!(
        final_value,
        f.applied + f.unknown_applied,
        "every increment counted exactly once"
    );
    assert_eq!(final_value, INCREMENTS);
    assert!(kills >= 3, "the faults really happened ({kills} kills)");
    // A write is never re-sent, so one CAS costs at most one request timeout plus refused connects.
    let bound = REQUEST_TIMEOUT + CONNECT_TIMEOUT * 2 + Duration::from_millis(500);
    assert!(
        f.longest_stall < bound,
        "a request stalled {:?} (bound {bound:?})",
        f.longest_stall
    );
    drop(cluster);
}

/// A first endpoint that accepts connections and never answers costs at most the request timeout:
/// a read then succeeds on the next endpoint; a write reports an unknown outcome instead of being
/// re-sent.
#[tokio::test]
async fn black_holed_first_endpoint() {
    use rsetcd_testkit::fault::{Fault, FaultServer};
    let hole = FaultServer::start(Fault::BlackHole).unwrap();
    let live = rsetcd_testkit::shared().unwrap().client_url();
    let timeout = Duration::from_millis(800);
    let c = Client::builder()
        .endpoints([hole.url(), live.clone()])
        .request_timeout(timeout)
        .build()
        .unwrap();
    let setup = Client::builder().host(&live).build().unwrap();
    setup.write("/bh", "v").await.unwrap();

    let start = Instant::now();
    assert_eq!(c.read("/bh").await.unwrap().value(), Some("v"));
    let took = start.elapsed();
    assert!(
        took >= timeout && took < timeout + Duration::from_millis(700),
        "read took {took:?}"
    );
    assert_eq!(
        c.endpoints()[0],
        live,
        "the live endpoint is now tried first"
    );

    let w = Client::builder()
        .endpoints([hole.url(), live])
        .request_timeout(timeout)
        .build()
        .unwrap();
    let start = Instant::now();
    let err = w.write("/bh", "w").await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert!(start.elapsed() < timeout + Duration::from_millis(700));
    assert_eq!(
        setup.read("/bh").await.unwrap().value(),
        Some("v"),
        "the write was not re-sent"
    );
}

#[test]
fn five_node_cluster_tolerates_two_failures() {
    let mut cluster = Cluster::start(5).unwrap();
    cluster.kill(0).unwrap();
    cluster.kill(1).unwrap();
    let c = rsetcd::v2::blocking::Client::builder()
        .endpoints(cluster.endpoints())
        .connect_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    c.write("/five", "3 of 5")
        .retry_unknown_outcome()
        .send()
        .unwrap();
    assert_eq!(
        c.read("/five").quorum().send().unwrap().value(),
        Some("3 of 5")
    );
}
