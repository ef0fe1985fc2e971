//! `endpoint health|status|hashkv` (each endpoint asked on its own, or every member's with
//! `--cluster`), and what `defrag --cluster` shares with them.

use std::ffi::OsString;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use futures_util::stream::{FuturesUnordered, StreamExt};
use rsetcd::v3::proto::etcdserverpb::{AlarmType, HashKvResponse, StatusResponse};
use rsetcd::v3::Client;
use serde::Serialize;

use crate::error::CliError;
use crate::v3::context::{builder, Ctx};
use crate::v3::error::{bad_args, describe, fail, Exit};
use crate::v3::output::fields::{self, quote};
use crate::v3::output::json::{self as j, empty, zero};
use crate::v3::output::{table, Out, Printable};

/// The endpoint commands.
#[derive(Debug, Args)]
pub struct EndpointArgs {
    /// use all endpoints from the cluster member list
    #[arg(long, global = true)]
    pub cluster: bool,
    /// The endpoint command.
    #[command(subcommand)]
    pub command: EndpointCommand,
}

/// `endpoint health|status|hashkv`.
#[derive(Debug, Subcommand)]
pub enum EndpointCommand {
    /// Checks the healthiness of endpoints specified in `--endpoints` flag
    Health(super::Positional),
    /// Prints out the status of endpoints specified in `--endpoints` flag
    Status(super::Positional),
    /// Prints the KV history hash for each endpoint in --endpoints
    Hashkv(HashKvArgs),
}

/// Flags of `endpoint hashkv`.
#[derive(Debug, Args)]
pub struct HashKvArgs {
    /// maximum revision to hash (default: all revisions)
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub rev: i64,
    /// Ignored arguments.
    pub args: Vec<OsString>,
}

/// A duration as Go's `time.Duration.String` writes it (`1.361527ms`, `2.5s`, `1m0.5s`).
pub fn go_duration(d: Duration) -> String {
    let n = d.as_nanos();
    let frac = |value: u128, unit: u128, suffix: &str| {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            format!("{whole}{suffix}")
        } else {
            let width = unit.ilog10() as usize;
            let digits = format!("{rest:0width$}");
            format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
        }
    };
    match n {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => frac(n, 1_000, "µs"),
        n if n < 1_000_000_000 => frac(n, 1_000_000, "ms"),
        n => {
            let secs = n / 1_000_000_000;
            let (h, m) = (secs / 3600, secs / 60 % 60);
            let mut text = String::new();
            if h > 0 {
                text.push_str(&format!("{h}h"));
            }
            if h > 0 || m > 0 {
                text.push_str(&format!("{m}m"));
            }
            text.push_str(&frac(n % 60_000_000_000, 1_000_000_000, "s"));
            text
        }
    }
}

/// Bytes as go-humanize's `Bytes` writes them (`20 kB`, `1.5 MB`, `999 B`).
pub fn humanize_bytes(size: u64) -> String {
    if size < 10 {
        return format!("{size} B");
    }
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let e = ((size as f64).ln() / 1000f64.ln()).floor();
    let suffix = units[(e as usize).min(units.len() - 1)];
    let val = ((size as f64) / 1000f64.powf(e) * 10.0 + 0.5).floor() / 10.0;
    if val < 10.0 {
        format!("{val:.1} {suffix}")
    } else {
        format!("{val:.0} {suffix}")
    }
}

/// The endpoints a command asks one by one: `--endpoints`, or with `cluster` the client URLs of
/// every member (etcdctl's `endpointsFromCluster`).
pub async fn endpoints(ctx: &Ctx, cluster: bool) -> Result<Vec<String>, CliError> {
    if !cluster {
        return Ok(ctx.global.endpoints.clone());
    }
    let client = ctx.client().await?;
    let list = ctx
        .bounded(async {
            client.member_list().await.map_err(|e| {
                fail(
                    Exit::Error,
                    format!(
                        "failed to fetch endpoints from etcd cluster member list: {}",
                        describe(&e)
                    ),
                )
            })
        })
        .await?;
    Ok(list
        .members
        .iter()
        .flat_map(|m| m.client_ur_ls.iter().cloned())
        .collect())
}

/// A client of the one endpoint `ep`, with the global flags (TLS, credentials, timeouts).
pub async fn client_for(ctx: &Ctx, ep: &str) -> Result<Client, CliError> {
    let mut global = ctx.global.clone();
    global.endpoints = vec![ep.to_string()];
    global.discovery_srv = None;
    builder::<Client>(&global)
        .await?
        .build()
        .map_err(|e| bad_args(describe(&e)))
}

/// Runs an endpoint command.
pub async fn run(ctx: &Ctx, args: &EndpointArgs) -> Result<(), CliError> {
    let eps = endpoints(ctx, args.cluster).await?;
    match &args.command {
        EndpointCommand::Health(_) => health(ctx, eps).await,
        EndpointCommand::Status(_) => {
            let mut list = Vec::new();
            let mut failed = false;
            for ep in eps {
                let client = client_for(ctx, &ep).await?;
                match ctx
                    .bounded(async {
                        client
                            .status()
                            .await
                            .map_err(|e| fail(Exit::Error, describe(&e)))
                    })
                    .await
                {
                    Ok(status) => list.push((ep, status)),
                    Err(e) => {
                        failed = true;
                        eprintln!(
                            "Failed to get the status of endpoint {ep} ({})",
                            e.message.as_str().trim_start_matches("Error: ")
                        );
                    }
                }
            }
            ctx.print(&Statuses(list))?;
            if failed {
                return Err(CliError::new(Exit::Error, ""));
            }
            Ok(())
        }
        EndpointCommand::Hashkv(a) => {
            let mut list = Vec::new();
            let mut last = None;
            for ep in eps {
                let client = client_for(ctx, &ep).await?;
                let url = client.endpoints().into_iter().next().unwrap_or_default();
                match ctx
                    .bounded(async {
                        client
                            .hash_kv_at(&url, a.rev)
                            .await
                            .map_err(|e| fail(Exit::Error, describe(&e)))
                    })
                    .await
                {
                    Ok(hash) => list.push((ep, hash)),
                    Err(e) => {
                        let why = e.message.as_str().trim_start_matches("Error: ").to_string();
                        eprintln!("Failed to get the hash of endpoint {ep} ({why})");
                        last = Some(e);
                    }
                }
            }
            ctx.print(&Hashes(list))?;
            match last {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }
    }
}

/// One endpoint's health (etcdctl's `epHealth`).
#[derive(Serialize)]
struct Health {
    endpoint: String,
    health: bool,
    took: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    error: String,
}

async fn health_of(ctx: &Ctx, ep: String) -> Health {
    let start = Instant::now();
    let client = match client_for(ctx, &ep).await {
        Ok(c) => c,
        Err(e) => {
            return Health {
                endpoint: ep,
                health: false,
                took: go_duration(start.elapsed()),
                error: e.message.as_str().trim_start_matches("Error: ").to_string(),
            }
        }
    };
    let got = ctx
        .bounded(async {
            client
                .get("health")
                .await
                .map_err(|e| fail(Exit::Error, describe(&e)))
        })
        .await;
    let took = go_duration(start.elapsed());
    let mut h = Health {
        endpoint: ep,
        health: false,
        took,
        error: String::new(),
    };
    match got {
        Ok(_) => h.health = true,
        // Permission denied is fine: the read went through consensus.
        Err(e)
            if e.message
                .as_str()
                .ends_with("etcdserver: permission denied") =>
        {
            h.health = true
        }
        Err(e) => h.error = e.message.as_str().trim_start_matches("Error: ").to_string(),
    }
    if h.health {
        match ctx
            .bounded(async {
                client
                    .alarm_list()
                    .await
                    .map_err(|e| fail(Exit::Error, describe(&e)))
            })
            .await
        {
            Ok(alarms) if !alarms.is_empty() => {
                h.health = false;
                h.error = "Active Alarm(s): ".into();
                for a in alarms {
                    h.error.push_str(match AlarmType::try_from(a.alarm) {
                        Ok(AlarmType::Nospace) => "NOSPACE ",
                        Ok(AlarmType::Corrupt) => "CORRUPT ",
                        _ => "UNKNOWN ",
                    });
                }
            }
            Ok(_) => {}
            Err(_) => {
                h.health = false;
                h.error = "Unable to fetch the alarm list".into();
            }
        }
    }
    h
}

async fn health(ctx: &Ctx, eps: Vec<String>) -> Result<(), CliError> {
    // Asked at once; listed as they answer, as etcdctl does.
    let mut pending: FuturesUnordered<_> = eps.into_iter().map(|ep| health_of(ctx, ep)).collect();
    let mut list = Vec::new();
    while let Some(h) = pending.next().await {
        list.push(h);
    }
    let unhealthy = list.iter().any(|h| !h.error.is_empty());
    ctx.print(&Healths(list))?;
    if unhealthy {
        return Err(fail(Exit::Error, "unhealthy cluster"));
    }
    Ok(())
}

struct Healths(Vec<Health>);

impl Printable for Healths {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        // etcdctl 3.5 writes the healthy to stdout and the unhealthy to stderr (3.4: both to
        // stderr).
        for h in &self.0 {
            if h.error.is_empty() {
                out.line(&format!(
                    "{} is healthy: successfully committed proposal: took = {}",
                    h.endpoint, h.took
                ));
            } else {
                eprintln!(
                    "{} is unhealthy: failed to commit proposal: {}",
                    h.endpoint, h.error
                );
            }
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(out, &self.0)
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        for h in &self.0 {
            fields::field(out, "Endpoint", quote(h.endpoint.as_bytes()));
            fields::field(out, "Health", h.health);
            fields::field(out, "Took", &h.took);
            fields::field(out, "Error", &h.error);
            out.line("");
        }
        Ok(())
    }

    fn table(&self, out: &mut Out) -> Result<(), CliError> {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|h| {
                vec![
                    h.endpoint.clone(),
                    h.health.to_string(),
                    h.took.clone(),
                    h.error.clone(),
                ]
            })
            .collect();
        table::render(out, &["endpoint", "health", "took", "error"], &rows);
        Ok(())
    }
}

/// `etcdserverpb.StatusResponse` as Go marshals it.
#[derive(Serialize)]
struct StatusJson<'a> {
    header: j::Header,
    #[serde(skip_serializing_if = "str::is_empty")]
    version: &'a str,
    #[serde(rename = "dbSize", skip_serializing_if = "zero")]
    db_size: i64,
    #[serde(skip_serializing_if = "zero")]
    leader: u64,
    #[serde(rename = "raftIndex", skip_serializing_if = "zero")]
    raft_index: u64,
    #[serde(rename = "raftTerm", skip_serializing_if = "zero")]
    raft_term: u64,
    #[serde(rename = "raftAppliedIndex", skip_serializing_if = "zero")]
    raft_applied_index: u64,
    #[serde(skip_serializing_if = "empty")]
    errors: &'a [String],
    #[serde(rename = "dbSizeInUse", skip_serializing_if = "zero")]
    db_size_in_use: i64,
    #[serde(rename = "isLearner", skip_serializing_if = "zero")]
    is_learner: bool,
}

#[derive(Serialize)]
struct EpStatusJson<'a> {
    #[serde(rename = "Endpoint")]
    endpoint: &'a str,
    #[serde(rename = "Status")]
    status: StatusJson<'a>,
}

struct Statuses(Vec<(String, StatusResponse)>);

impl Statuses {
    fn rows(&self) -> Vec<Vec<String>> {
        self.0
            .iter()
            .map(|(ep, s)| {
                let id = s.header.as_ref().map_or(0, |h| h.member_id);
                vec![
                    ep.clone(),
                    format!("{id:x}"),
                    s.version.clone(),
                    humanize_bytes(s.db_size.max(0) as u64),
                    (s.leader == id).to_string(),
                    s.is_learner.to_string(),
                    s.raft_term.to_string(),
                    s.raft_index.to_string(),
                    s.raft_applied_index.to_string(),
                    s.errors.join(", "),
                ]
            })
            .collect()
    }
}

impl Printable for Statuses {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        for row in self.rows() {
            out.line(&row.join(", "));
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        let list: Vec<EpStatusJson> = self
            .0
            .iter()
            .map(|(ep, s)| EpStatusJson {
                endpoint: ep,
                status: StatusJson {
                    header: j::Header::of(s.header.as_ref()),
                    version: &s.version,
                    db_size: s.db_size,
                    leader: s.leader,
                    raft_index: s.raft_index,
                    raft_term: s.raft_term,
                    raft_applied_index: s.raft_applied_index,
                    errors: &s.errors,
                    db_size_in_use: s.db_size_in_use,
                    is_learner: s.is_learner,
                },
            })
            .collect();
        j::line(out, &list)
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        for (ep, s) in &self.0 {
            fields::header(out, s.header.as_ref());
            fields::field(out, "Version", quote(s.version.as_bytes()));
            fields::field(out, "DBSize", s.db_size);
            fields::field(out, "Leader", s.leader);
            fields::field(out, "IsLearner", s.is_learner);
            fields::field(out, "RaftIndex", s.raft_index);
            fields::field(out, "RaftTerm", s.raft_term);
            fields::field(out, "RaftAppliedIndex", s.raft_applied_index);
            fields::field(out, "Errors", format!("[{}]", s.errors.join(" ")));
            fields::field(out, "Endpoint", quote(ep.as_bytes()));
            out.line("");
        }
        Ok(())
    }

    fn table(&self, out: &mut Out) -> Result<(), CliError> {
        table::render(
            out,
            &[
                "Endpoint",
                "ID",
                "Version",
                "DB Size",
                "Is Leader",
                "Is Learner",
                "Raft Term",
                "Raft Index",
                "Raft Applied Index",
                "Errors",
            ],
            &self.rows(),
        );
        Ok(())
    }
}

#[derive(Serialize)]
struct HashJson {
    header: j::Header,
    #[serde(skip_serializing_if = "zero")]
    hash: u32,
    #[serde(skip_serializing_if = "zero")]
    compact_revision: i64,
}

#[derive(Serialize)]
struct EpHashJson<'a> {
    #[serde(rename = "Endpoint")]
    endpoint: &'a str,
    #[serde(rename = "HashKV")]
    hash: HashJson,
}

struct Hashes(Vec<(String, HashKvResponse)>);

impl Printable for Hashes {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        for (ep, h) in &self.0 {
            out.line(&format!("{ep}, {}", h.hash));
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        let list: Vec<EpHashJson> = self
            .0
            .iter()
            .map(|(ep, h)| EpHashJson {
                endpoint: ep,
                hash: HashJson {
                    header: j::Header::of(h.header.as_ref()),
                    hash: h.hash,
                    compact_revision: h.compact_revision,
                },
            })
            .collect();
        j::line(out, &list)
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        for (ep, h) in &self.0 {
            fields::header(out, h.header.as_ref());
            fields::field(out, "Endpoint", quote(ep.as_bytes()));
            fields::field(out, "Hash", h.hash);
            out.line("");
        }
        Ok(())
    }

    fn table(&self, out: &mut Out) -> Result<(), CliError> {
        let rows: Vec<Vec<String>> = self
            .0
            .iter()
            .map(|(ep, h)| vec![ep.clone(), h.hash.to_string()])
            .collect();
        table::render(out, &["endpoint", "hash"], &rows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{go_duration, humanize_bytes};
    use std::time::Duration;

    #[test]
    fn durations_and_sizes_as_go_writes_them() {
        assert_eq!(go_duration(Duration::from_nanos(1_361_527)), "1.361527ms");
        assert_eq!(go_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(go_duration(Duration::from_micros(15)), "15µs");
        assert_eq!(go_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(go_duration(Duration::from_millis(60_500)), "1m0.5s");
        assert_eq!(humanize_bytes(20480), "20 kB");
        assert_eq!(humanize_bytes(1500), "1.5 kB");
        assert_eq!(humanize_bytes(999), "999 B");
        assert_eq!(humanize_bytes(5), "5 B");
        assert_eq!(humanize_bytes(2_100_000), "2.1 MB");
    }
}
