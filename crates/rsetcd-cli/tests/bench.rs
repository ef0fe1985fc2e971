//! The bench command on tiny runs: it completes and its numbers are present and sane (no timing
//! assertions).

use std::process::Command;

use rsetcd_testkit::Etcd;

const RSETCD: &str = env!("CARGO_BIN_EXE_rsetcd");

fn bench(url: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new(RSETCD)
        .env("ETCDCTL_API", "2")
        .args(["--endpoints", url, "--no-sync", "bench"])
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn get_set_cas_and_watch_report_sane_numbers() {
    let node = Etcd::start().unwrap();
    let url = node.client_url();
    for (api, workload, threads) in [
        ("v2", "get", "1"),
        ("v2", "set", "2"),
        ("v2", "cas", "1"),
        ("v3", "get", "1"),
        ("v3", "set", "2"),
        ("v3", "cas", "1"),
    ] {
        let r = bench(
            &url,
            &[
                workload,
                "--api",
                api,
                "--clients",
                "4",
                "--threads",
                threads,
                "--total",
                "400",
                "--keys",
                "20",
            ],
        );
        assert_eq!(r["workload"], workload);
        assert_eq!(r["ops"], 400, "{r}");
        assert_eq!(r["errors"], 0, "{r}");
        assert!(r["ops_per_sec"].as_f64().unwrap() > 0.0);
        let l = &r["latency"];
        assert!(l["p50_us"].as_u64().unwrap() <= l["p99_us"].as_u64().unwrap());
        assert!(l["p99_us"].as_u64().unwrap() <= l["max_us"].as_u64().unwrap());
        assert!(r["cpu_secs_per_1k_ops"].as_f64().unwrap() > 0.0);
        assert!(r["peak_rss_bytes"].as_u64().unwrap() > 1_000_000);
    }
    for api in ["v2", "v3"] {
        let r = bench(
            &url,
            &[
                "watch",
                "--api",
                api,
                "--watchers",
                "50",
                "--total",
                "200",
                "--rate",
                "400",
            ],
        );
        assert_eq!(r["missed_events"], 0, "{api}: {r}");
        assert_eq!(r["watchers"], 50);
        assert_eq!(r["ops"], 200, "{api}: {r}");
        assert!(r["memory_per_watcher_bytes"].as_u64().is_some());
    }
    // Text output for people.
    let out = Command::new(RSETCD)
        .env("ETCDCTL_API", "2")
        .args(["--endpoints", &url, "bench", "get", "--total", "50"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("throughput") && text.contains("p99.9"),
        "{text}"
    );
}

/// On a terminal the progress line is ended before the report, and `--duration 2` (no unit) is
/// seconds. `script` gives the command a terminal.
#[test]
fn progress_on_a_terminal_ends_before_the_report() {
    let node = Etcd::shared().unwrap();
    let url = node.client_url();
    let command = format!("{RSETCD} --endpoints {url} bench get --api v3 --duration 2 --keys 10");
    let Ok(out) = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("ETCDCTL_API", "3")
        .output()
    else {
        eprintln!("\n!!!!! `script` is missing: SKIPPING the terminal test !!!!!\n");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("operations"),
        "no progress line drawn: {text}"
    );
    let first = text
        .lines()
        .find(|l| l.contains("workload"))
        .unwrap_or_else(|| panic!("no report: {text}"));
    assert!(
        first.starts_with("workload"),
        "glued to the progress line: {first:?}"
    );
    assert!(!first.contains("operations"), "{first:?}");
}
