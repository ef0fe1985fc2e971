//! `rsetcd-robustness`: a long robustness run of rsetcd against a local 3-node etcd cluster,
//! faults injected while many clients of both APIs run mixed traffic; prints the figures and
//! exits 1 when the check found a violation.
//!
//! ```text
//! rsetcd-robustness --duration 10m --faults kill,stop,partition,move-leader,compact,member-replace
//! rsetcd-robustness --duration 5m --faults drop-answers,cut-answers,goaway,delay-answers
//! ```

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use rsetcd_check::faults::{Fired, Kind};
use rsetcd_check::run::{self, Config};

/// Robustness run: faults, recorded traffic, linearizability and watch checks.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// How long traffic runs (`90s`, `10m`, `1h`).
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    duration: Duration,
    /// Fault kinds, comma-separated: kill, stop, kill-leader, kill-follower, stop-leader,
    /// stop-follower, partition, move-leader, compact, member-replace; the fault proxy's (on
    /// every exchange with one member while held) drop-answers, reset-answers, cut-after-head,
    /// cut-mid-body, cut-answers (both cuts), goaway, refuse-streams (v3 only), delay-answers,
    /// proxy (all seven); all; `none` for none.
    #[arg(long, default_value = "all")]
    faults: String,
    /// Time from one fault to the next.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    fault_every: Duration,
    /// How long each fault is held.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    hold: Duration,
    /// Seeds the traffic and the choice of members.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// v2 clients.
    #[arg(long, default_value_t = 4)]
    v2_clients: usize,
    /// v3 clients (plus one running leases).
    #[arg(long, default_value_t = 6)]
    v3_clients: usize,
    /// Keys per API.
    #[arg(long, default_value_t = 6)]
    keys: usize,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("not a duration: {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("unknown unit in {s:?} (s, m or h)")),
    };
    Ok(Duration::from_secs(secs))
}

fn faults(s: &str) -> Result<Vec<Kind>, String> {
    if s == "none" {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        out.extend(Kind::parse(name).ok_or_else(|| format!("unknown fault kind {name:?}"))?);
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let kinds = match faults(&args.faults) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("rsetcd-robustness: {e}");
            return ExitCode::from(2);
        }
    };
    let names: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
    println!(
        "rsetcd robustness: {:?} of traffic, faults [{}] every {:?} (held {:?}), seed {}",
        args.duration,
        names.join(", "),
        args.fault_every,
        args.hold,
        args.seed
    );
    let cfg = Config {
        duration: args.duration,
        faults: kinds,
        fault_every: args.fault_every,
        hold: args.hold,
        seed: args.seed,
        v2_clients: args.v2_clients,
        v3_clients: args.v3_clients,
        keys: args.keys,
        verbose: true,
        ..Config::default()
    };
    let outcome = match run::run(&cfg) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("rsetcd-robustness: the run failed: {e}");
            return ExitCode::from(2);
        }
    };
    let r = &outcome.report;
    println!("faults injected: {}", outcome.faults.len());
    if !outcome.fired.is_empty() {
        let mut fired = Fired::default();
        for (_, f) in &outcome.fired {
            fired.add(f);
        }
        println!("proxy faults ({}): {fired}", outcome.fired.len());
    }
    println!(
        "operations: {} (v2 {}, v3 {}), unknown outcomes: {} (v2 {}, v3 {})",
        r.v2.ops + r.v3.ops,
        r.v2.ops,
        r.v3.ops,
        r.v2.unknown + r.v3.unknown,
        r.v2.unknown,
        r.v3.unknown
    );
    println!(
        "longest stall: {:.2} s (one operation), {:.2} s (a write's event at a watch)",
        outcome.longest_op.as_secs_f64(),
        outcome.longest_watch_delay.as_secs_f64()
    );
    print!("{r}");
    println!("check took {:.2} s", r.elapsed.as_secs_f64());
    if let Some(f) = &outcome.former {
        // RSETCD_CHECK_COMPARE: the same history under the former settling rule.
        println!(
            "former rule (watch-only settling) on the same history: v2 {:.2} s, v3 {:.2} s, whole check {:.2} s, no verdict on {} partitions, {} violations",
            f.v2.elapsed.as_secs_f64(),
            f.v3.elapsed.as_secs_f64(),
            f.elapsed.as_secs_f64(),
            f.v2.gave_up + f.v3.gave_up,
            f.violations().len()
        );
        for v in f.violations().iter().take(5) {
            println!("  {v}");
        }
    }
    if r.ok() {
        println!("verdict: PASS");
        ExitCode::SUCCESS
    } else {
        println!("verdict: FAIL");
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_fault_lists_parse() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("5d").is_err());
        assert_eq!(faults("kill,compact").map(|k| k.len()), Ok(3));
        assert_eq!(faults("cut-answers,goaway").map(|k| k.len()), Ok(3));
        assert_eq!(faults("proxy").map(|k| k.len()), Ok(Kind::PROXY.len()));
        assert_eq!(faults("all").map(|k| k.len()), Ok(Kind::ALL.len()));
        assert!(faults("nonsense").is_err());
        assert_eq!(faults("none"), Ok(vec![]));
    }
}
