//! One robustness run: a 3-node cluster, each member behind a route of proxies (a fault proxy
//! per API in front of a freezable proxy), recording clients of both APIs running mixed traffic
//! while faults are injected on a schedule, watches on both prefixes, a final write each watch
//! must reach, then the whole check.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rsetcd_testkit::Cluster;

use crate::faults::{Env, Fired, Kind, Pinned};
use crate::proxy_faults::Route;
use crate::record::v2::{self as rv2, V2Client};
use crate::record::v3::{self as rv3, V3Client};
use crate::record::Recorder;
use crate::rng::Rng;
use crate::traffic;
use crate::verdict::{self, Bases, Report};

/// The v2 directory the traffic uses.
pub const V2_DIR: &str = "/rc2";
/// The v3 prefix the traffic uses.
pub const V3_PREFIX: &str = "/rc3/";
/// The request timeout of the clients under test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

/// What a run does.
#[derive(Debug, Clone)]
pub struct Config {
    /// How long traffic runs.
    pub duration: Duration,
    /// The fault kinds, injected in this order, round and round.
    pub faults: Vec<Kind>,
    /// Time from one fault to the next.
    pub fault_every: Duration,
    /// How long a fault is held before it is healed.
    pub hold: Duration,
    /// Seeds the traffic and the choice of members.
    pub seed: u64,
    /// Clients of the v2 API.
    pub v2_clients: usize,
    /// Clients of the v3 API (one more runs the lease traffic).
    pub v3_clients: usize,
    /// Keys per API.
    pub keys: usize,
    /// Break the v2 clients on purpose (tests of the checker).
    pub broken_v2: Option<rv2::Broken>,
    /// Break the v3 clients on purpose.
    pub broken_v3: Option<rv3::Broken>,
    /// Drop this event of the first v2 watcher.
    pub drop_v2_event: Option<usize>,
    /// Drop this event of the first v3 watcher.
    pub drop_v3_event: Option<usize>,
    /// Print the fault log as it happens.
    pub verbose: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            duration: Duration::from_secs(60),
            faults: Kind::ALL.to_vec(),
            fault_every: Duration::from_secs(10),
            hold: Duration::from_secs(3),
            seed: 1,
            v2_clients: 4,
            v3_clients: 6,
            keys: 6,
            broken_v2: None,
            broken_v3: None,
            drop_v2_event: None,
            drop_v3_event: None,
            verbose: false,
        }
    }
}

/// What a run found.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The check.
    pub report: Report,
    /// What each fault did, with its time (and for a proxy fault, how often it fired).
    pub faults: Vec<String>,
    /// Each proxy fault injected, and how often it fired.
    pub fired: Vec<(Kind, Fired)>,
    /// The longest time one operation took.
    pub longest_op: Duration,
    /// The longest time from a write's answer to its event at a watch (v3 and v2).
    pub longest_watch_delay: Duration,
    /// How long the traffic ran.
    pub traffic: Duration,
    /// With `RSETCD_CHECK_COMPARE` set: the same log checked again under the former settling
    /// rule ([`verdict::Settle::WatchOnly`]), to compare checker times.
    pub former: Option<Report>,
}

fn proxied(urls: &[String], first: usize) -> Vec<String> {
    (0..urls.len())
        .map(|i| urls[(first + i) % urls.len()].clone())
        .collect()
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Runs the traffic, the faults and the check.
pub fn run(cfg: &Config) -> Result<Outcome, String> {
    let cluster = Cluster::builder(3)
        .unsafe_no_fsync(true)
        .start()
        .map_err(err)?;
    let routes: Vec<Route> = (0..3)
        .map(|i| Route::start(&cluster.node(i).client_url()))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(err)?;
    let urls2: Vec<String> = routes.iter().map(|r| r.url(true)).collect();
    let urls3: Vec<String> = routes.iter().map(|r| r.url(false)).collect();
    let direct = cluster.endpoints();
    let admin = rsetcd::v3::Client::builder()
        .endpoints(direct.clone())
        .request_timeout(Duration::from_secs(3))
        .build()
        .map_err(err)?;
    let admin2 = rsetcd::v2::Client::builder()
        .endpoints(direct)
        .build()
        .map_err(err)?;
    let v2_client = |first: usize| {
        rsetcd::v2::Client::builder()
            .endpoints(proxied(&urls2, first))
            .request_timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_millis(500))
            .build()
    };
    let v3_client = |first: usize| {
        rsetcd::v3::Client::builder()
            .endpoints(proxied(&urls3, first))
            .request_timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_millis(500))
            .keep_alive(Duration::from_secs(1), Duration::from_secs(1))
            .build()
    };
    let bases = rt.block_on(async {
        let v2 = admin2.write("/rsetcd-check-base", "0").await.map_err(err)?;
        let v3 = admin.put("/rsetcd-check-base", "0").await.map_err(err)?;
        Ok::<Bases, String>(Bases {
            v2_index: v2.node.modified_index,
            v3_rev: v3.header.map_or(0, |h| h.revision),
            ..Bases::default()
        })
    })?;

    let rec = Recorder::new();
    let stop_traffic = Arc::new(AtomicBool::new(false));
    let stop_watch = Arc::new(AtomicBool::new(false));
    let until_v2 = Arc::new(AtomicU64::new(0));
    let until_v3 = Arc::new(AtomicI64::new(0));
    let mut watchers = Vec::new();
    // Every client of the traffic: a proxy fault goes to the member most of them use.
    let mut clients = Vec::new();
    for w in 0..2 {
        let plan = rv2::WatchPlan {
            watcher: w,
            dir: V2_DIR.into(),
            after: bases.v2_index,
            drop_event: if w == 0 { cfg.drop_v2_event } else { None },
        };
        let client = v2_client(w).map_err(err)?;
        clients.push(Pinned::V2(client.clone()));
        watchers.push(rt.spawn(rv2::record_watch(
            client,
            rec.clone(),
            plan,
            stop_watch.clone(),
            until_v2.clone(),
        )));
    }
    for w in 0..4 {
        let plan = rv3::WatchPlan {
            watcher: w,
            prefix: V3_PREFIX.into(),
            start_rev: bases.v3_rev + 1,
            prev_kv: w != 2,
            reopen_every: (w == 1).then_some(Duration::from_secs(7)),
            progress_every: (w == 1).then_some(Duration::from_secs(2)),
            drop_event: if w == 0 { cfg.drop_v3_event } else { None },
            stall: (w == 3).then_some((Duration::from_secs(2), Duration::from_secs(6))),
        };
        let client = v3_client(w).map_err(err)?;
        clients.push(Pinned::V3(client.clone()));
        watchers.push(rt.spawn(rv3::record_watch(
            client,
            rec.clone(),
            plan,
            stop_watch.clone(),
            until_v3.clone(),
        )));
    }

    let mut seeds = Rng::new(cfg.seed);
    let mut traffic_tasks = Vec::new();
    for c in 0..cfg.v2_clients {
        let mut client = V2Client::new(v2_client(c).map_err(err)?, rec.clone(), c);
        if let Some(b) = cfg.broken_v2 {
            client = client.broken(b);
        }
        clients.push(Pinned::V2(client.inner().clone()));
        let keys = traffic::v2_keys(V2_DIR, cfg.keys.max(1));
        let seed = seeds.next_u64();
        traffic_tasks.push(rt.spawn(traffic::v2_mixed(
            client,
            c,
            keys,
            seed,
            stop_traffic.clone(),
        )));
    }
    for c in 0..=cfg.v3_clients {
        let id = 100 + c;
        let mut client = V3Client::new(v3_client(c).map_err(err)?, rec.clone(), id);
        if let Some(b) = cfg.broken_v3 {
            client = client.broken(b);
        }
        clients.push(Pinned::V3(client.inner().clone()));
        let seed = seeds.next_u64();
        let stop = stop_traffic.clone();
        traffic_tasks.push(if c == cfg.v3_clients {
            rt.spawn(traffic::v3_leases(
                client,
                id,
                format!("{V3_PREFIX}lease"),
                stop,
            ))
        } else {
            let keys = traffic::v3_keys(V3_PREFIX, cfg.keys.max(1));
            rt.spawn(traffic::v3_mixed(
                client,
                id,
                V3_PREFIX.into(),
                keys,
                seed,
                stop,
            ))
        });
    }

    // Faults, on this thread, until the traffic's time is up.
    let started = Instant::now();
    let mut env = Env {
        cluster,
        routes,
        clients,
        members: vec![0, 1, 2],
        admin: admin.clone(),
        rt: rt.handle().clone(),
    };
    let mut fault_log = Vec::new();
    let mut fired = Vec::new();
    let mut picks = Rng::new(cfg.seed ^ 0x5eed);
    let mut n = 0usize;
    let gap = cfg.fault_every.saturating_sub(cfg.hold);
    let t = |started: Instant| started.elapsed().as_secs_f64();
    while started.elapsed() + gap + cfg.hold < cfg.duration && !cfg.faults.is_empty() {
        std::thread::sleep(gap);
        let kind = cfg.faults[n % cfg.faults.len()];
        n += 1;
        let mut fault = kind.make(picks.below(8) as usize);
        let line = match fault.inject(&mut env) {
            Ok(what) => format!("{:6.1}s {}: {what}", t(started), kind.name()),
            Err(e) => format!("{:6.1}s {}: not injected: {e}", t(started), kind.name()),
        };
        if cfg.verbose {
            eprintln!("{line}");
        }
        let at = fault_log.len();
        fault_log.push(line);
        std::thread::sleep(cfg.hold);
        let healed = fault.heal(&mut env).and_then(|()| env.wait_healthy());
        let how = match fault.fired() {
            Some(f) => {
                fault_log[at] = format!("{}; {f}", fault_log[at]);
                let how = format!("; {f}");
                fired.push((kind, f));
                how
            }
            None => String::new(),
        };
        if cfg.verbose {
            eprintln!("{:6.1}s {}: healed{how}", t(started), kind.name());
        }
        if let Err(e) = healed {
            let line = format!("{:6.1}s {}: heal failed: {e}", t(started), kind.name());
            if cfg.verbose {
                eprintln!("{line}");
            }
            fault_log.push(line);
        }
    }
    if let Some(left) = cfg.duration.checked_sub(started.elapsed()) {
        std::thread::sleep(left);
    }
    stop_traffic.store(true, Ordering::SeqCst);
    let traffic_time = started.elapsed();
    let say = |what: &str| {
        if cfg.verbose {
            eprintln!("{:6.1}s {what}", t(started));
        }
    };
    say("traffic told to stop");
    // Each operation is bounded by the client's timeouts: a client still busy after 30 s is
    // stuck, which is a finding of its own.
    let mut stuck = Vec::new();
    rt.block_on(async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        for (c, task) in traffic_tasks.into_iter().enumerate() {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
                stuck.push(c);
            }
        }
    });
    say("traffic stopped");

    // A last write on each API: every watch must get there.
    let mut late = Vec::new();
    // Straight to the members there are now: a removed member's proxy resets every request.
    let members = env.cluster.endpoints();
    let end_v2 = rsetcd::v2::Client::builder()
        .endpoints(members.clone())
        .build()
        .map_err(err)?;
    let end_v3 = rsetcd::v3::Client::builder()
        .endpoints(members)
        .build()
        .map_err(err)?;
    let end_v2 = V2Client::new(end_v2, rec.clone(), 99);
    let end_v3 = V3Client::new(end_v3, rec.clone(), 199);
    rt.block_on(async {
        for _ in 0..20 {
            if let Ok(r) = end_v2.set(&format!("{V2_DIR}/end"), "the-end").await {
                until_v2.store(r.node.modified_index, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        for _ in 0..20 {
            if let Ok(crate::model::v3::Response::Put { rev, .. }) =
                end_v3.put(&format!("{V3_PREFIX}end"), "the-end", 0).await
            {
                until_v3.store(rev, Ordering::SeqCst);
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        say("final writes done");
        // A final read of every key, all faults healed: the final state is observed too (it
        // settles lost writes whose events no watch delivered).
        for key in traffic::v2_keys(V2_DIR, cfg.keys.max(1)) {
            for _ in 0..5 {
                if end_v2.get(&key).await.is_ok() {
                    break;
                }
            }
        }
        let mut v3_keys = traffic::v3_keys(V3_PREFIX, cfg.keys.max(1));
        v3_keys.extend(["p0", "p1", "lease"].map(|k| format!("{V3_PREFIX}{k}")));
        for key in v3_keys {
            for _ in 0..5 {
                if end_v3.get(&key).await.is_ok() {
                    break;
                }
            }
        }
        say("final reads done");
        stop_watch.store(true, Ordering::SeqCst);
        // Each watcher stops by itself within its grace; this bounds the lot.
        let grace = crate::record::GRACE + Duration::from_secs(15);
        let deadline = tokio::time::Instant::now() + grace;
        for (w, task) in watchers.into_iter().enumerate() {
            let abort = task.abort_handle();
            if tokio::time::timeout_at(deadline, task).await.is_err() {
                abort.abort();
                late.push(w);
            }
        }
    });
    say("watchers stopped");
    drop(env);

    let log = rec.take();
    if let Ok(path) = std::env::var("RSETCD_CHECK_DUMP") {
        // Every operation and watch item, one per line, names resolved (for post-mortems).
        let _ = std::fs::write(&path, verdict::dump(&log));
    }
    let bases = Bases {
        v2_end: until_v2.load(Ordering::SeqCst),
        v3_end: until_v3.load(Ordering::SeqCst),
        // The test kit runs etcd 3.4 (3.4.23 here), which answers progress requests early.
        lenient_progress: true,
        ..bases
    };
    let mut report = verdict::check(&log, bases);
    let former = std::env::var_os("RSETCD_CHECK_COMPARE")
        .map(|_| verdict::check_with(&log, bases, verdict::Settle::WatchOnly));
    for c in stuck {
        report.v3.violations.push(format!(
            "traffic client {c} was still in an operation 30 s after the traffic stopped"
        ));
    }
    for w in late {
        let (api, n) = if w < 2 { ("v2", w) } else { ("v3", w - 2) };
        let line = format!("{api} watcher {n} did not stop (its task was aborted)");
        if w < 2 {
            report.v2_watch.violations.push(line);
        } else {
            report.v3_watch.violations.push(line);
        }
    }
    Ok(Outcome {
        longest_watch_delay: watch_delay(&log),
        report,
        faults: fault_log,
        fired,
        longest_op: Duration::from_nanos(rec.longest()),
        traffic: traffic_time,
        former,
    })
}

/// The longest time from a write's answer to the arrival of its event at a watch.
fn watch_delay(log: &crate::record::Log) -> Duration {
    use crate::model::{v2, v3};
    use std::collections::HashMap;
    let mut answered: HashMap<i64, u64> = HashMap::new();
    for op in &log.v3 {
        if let Some(v3::Response::Put { rev, .. }) = op.output {
            answered.insert(rev, op.ret);
        }
    }
    let mut worst = 0u64;
    for seg in &log.v3_watches {
        for item in &seg.items {
            if let crate::watch::v3::Item::Events { at, events, .. } = item {
                for e in events {
                    if let Some(ret) = answered.get(&e.kv.mod_rev) {
                        worst = worst.max(at.saturating_sub(*ret));
                    }
                }
            }
        }
    }
    let mut answered2: HashMap<u64, u64> = HashMap::new();
    for op in &log.v2 {
        if let Some(v2::Response::Node { node, .. }) = op.output {
            if op.input.is_write() {
                answered2.insert(node.modified, op.ret);
            }
        }
    }
    for seg in &log.v2_watches {
        for item in &seg.items {
            if let crate::watch::v2::Item::Event { at, event } = item {
                if let Some(ret) = answered2.get(&event.index) {
                    worst = worst.max(at.saturating_sub(*ret));
                }
            }
        }
    }
    Duration::from_nanos(worst)
}
