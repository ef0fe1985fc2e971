//! The v3 command line: etcdctl 3.5's global flags (each also read from its `ETCDCTL_*` variable,
//! as etcdctl reads them) and the command list. Each command's own flags live in its file under
//! `commands/`.

use std::ffi::OsString;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Parser, Subcommand};

use super::commands;
use crate::secret::Secret;

/// The etcd command line, compatible with `ETCDCTL_API=3 etcdctl` (etcdctl 3.5).
#[derive(Debug, Parser)]
#[command(
    name = "rsetcd",
    about = "A command line client for etcd's v3 API, compatible with etcdctl 3.5 (ETCDCTL_API=2 for the v2 commands)",
    long_about = None,
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// A Go duration (`2s`, `500ms`, `1m30s`, `1.5s`), as etcdctl's duration flags take.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {s:?}"))?;
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            unit => return Err(format!("unknown unit {unit:?} in duration {s:?}")),
        };
        total += value * scale;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

/// A duration as Go prints one (`2s`, `500ms`, `1m30s`), for `--debug`.
pub fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        return match nanos {
            n if n % 1_000_000 == 0 => format!("{}ms", n / 1_000_000),
            n if n % 1_000 == 0 => format!("{}µs", n / 1_000),
            n => format!("{n}ns"),
        };
    }
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let frac = d.subsec_nanos();
    let mut text = String::new();
    if h > 0 {
        text.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        text.push_str(&format!("{m}m"));
    }
    if frac == 0 {
        text.push_str(&format!("{s}s"));
    } else {
        let f = format!("{frac:09}");
        text.push_str(&format!("{s}.{}s", f.trim_end_matches('0')));
    }
    text
}

/// etcdctl 3.5's global flags; each can also be set by its `ETCDCTL_<NAME>` variable
/// (`ETCDCTL_ENDPOINTS`, `ETCDCTL_CACERT`, `ETCDCTL_WRITE_OUT`…), a flag given winning.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// gRPC endpoints
    #[arg(
        long,
        global = true,
        env = "ETCDCTL_ENDPOINTS",
        value_delimiter = ',',
        default_value = "127.0.0.1:2379"
    )]
    pub endpoints: Vec<String>,
    /// dial timeout for client connections
    #[arg(long, global = true, env = "ETCDCTL_DIAL_TIMEOUT", default_value = "2s", value_parser = parse_go_duration)]
    pub dial_timeout: Duration,
    /// timeout for short running command (excluding dial timeout)
    #[arg(long, global = true, env = "ETCDCTL_COMMAND_TIMEOUT", default_value = "5s", value_parser = parse_go_duration)]
    pub command_timeout: Duration,
    /// keepalive time for client connections (at least 10s, as gRPC has it)
    #[arg(long, global = true, env = "ETCDCTL_KEEPALIVE_TIME", default_value = "2s", value_parser = parse_go_duration)]
    pub keepalive_time: Duration,
    /// keepalive timeout for client connections
    #[arg(long, global = true, env = "ETCDCTL_KEEPALIVE_TIMEOUT", default_value = "6s", value_parser = parse_go_duration)]
    pub keepalive_timeout: Duration,
    /// disable transport security for client connections
    #[arg(long, global = true, env = "ETCDCTL_INSECURE_TRANSPORT", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub insecure_transport: bool,
    /// skip server certificate verification (CAUTION: this option should be enabled only for testing purposes)
    #[arg(long, global = true, env = "ETCDCTL_INSECURE_SKIP_TLS_VERIFY", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub insecure_skip_tls_verify: bool,
    /// accept insecure SRV records describing cluster endpoints
    #[arg(long, global = true, env = "ETCDCTL_INSECURE_DISCOVERY", default_value_t = true, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub insecure_discovery: bool,
    /// verify certificates of TLS-enabled secure servers using this CA bundle
    #[arg(long, global = true, env = "ETCDCTL_CACERT")]
    pub cacert: Option<OsString>,
    /// identify secure client using this TLS certificate file
    #[arg(long, global = true, env = "ETCDCTL_CERT")]
    pub cert: Option<OsString>,
    /// identify secure client using this TLS key file
    #[arg(long, global = true, env = "ETCDCTL_KEY")]
    pub key: Option<OsString>,
    /// username[:password] for authentication (prompt if password is not supplied)
    #[arg(long, global = true, env = "ETCDCTL_USER", hide_env_values = true, value_parser = Secret::parse)]
    pub user: Option<Secret>,
    /// password for authentication (if this option is used, --user option shouldn't include password)
    #[arg(long, global = true, env = "ETCDCTL_PASSWORD", hide_env_values = true, value_parser = Secret::parse)]
    pub password: Option<Secret>,
    /// domain name to query for SRV records describing cluster endpoints
    #[arg(long, short = 'd', global = true, env = "ETCDCTL_DISCOVERY_SRV")]
    pub discovery_srv: Option<String>,
    /// service name to query when using DNS discovery
    #[arg(long, global = true, env = "ETCDCTL_DISCOVERY_SRV_NAME")]
    pub discovery_srv_name: Option<String>,
    /// set the output format (fields, json, protobuf, simple, table)
    #[arg(
        long,
        short = 'w',
        global = true,
        env = "ETCDCTL_WRITE_OUT",
        default_value = "simple"
    )]
    pub write_out: String,
    /// print byte strings as hex encoded strings
    #[arg(long, global = true, env = "ETCDCTL_HEX", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub hex: bool,
    /// enable client-side debug logging (never shows a password)
    #[arg(long, global = true, env = "ETCDCTL_DEBUG", default_value_t = false, num_args = 0..=1,
          require_equals = true, default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub debug: bool,
}

/// The global flags that take a value (for finding the command word among the arguments).
pub const VALUE_FLAGS: &[&str] = &[
    "--endpoints",
    "--dial-timeout",
    "--command-timeout",
    "--keepalive-time",
    "--keepalive-timeout",
    "--cacert",
    "--cert",
    "--key",
    "--user",
    "--password",
    "--discovery-srv",
    "-d",
    "--discovery-srv-name",
    "--write-out",
    "-w",
];

/// The commands: etcdctl 3.5's, then rsetcd's own.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Gets the key or a range of keys
    Get(commands::get::GetArgs),
    /// Puts the given key into the store
    Put(commands::put::PutArgs),
    /// Removes the specified key or range of keys [key, range_end)
    Del(commands::del::DelArgs),
    /// Txn processes all the requests in one transaction
    Txn(commands::txn::TxnArgs),
    /// Compacts the event history in etcd
    Compaction(commands::compaction::CompactionArgs),
    /// Watches events stream on keys or prefixes
    Watch(commands::watch::WatchArgs),
    /// Lease related commands
    #[command(subcommand)]
    Lease(commands::lease::LeaseCommand),
    /// Membership related commands
    #[command(subcommand)]
    Member(commands::member::MemberCommand),
    /// Endpoint related commands
    Endpoint(commands::endpoint::EndpointArgs),
    /// Alarm related commands
    #[command(subcommand)]
    Alarm(commands::alarm::AlarmCommand),
    /// Defragments the storage of the etcd members with given endpoints
    Defrag(commands::defrag::DefragArgs),
    /// Manages etcd node snapshots
    #[command(subcommand)]
    Snapshot(commands::snapshot::SnapshotCommand),
    /// Transfers leadership to another etcd cluster member.
    MoveLeader(commands::Positional),
    /// Enable or disable authentication
    #[command(subcommand)]
    Auth(commands::auth::AuthCommand),
    /// User related commands
    #[command(subcommand)]
    User(commands::user::UserCommand),
    /// Role related commands
    #[command(subcommand)]
    Role(commands::role::RoleCommand),
    /// Acquires a named lock
    Lock(commands::lock::LockArgs),
    /// Observes and participates in leader election
    Elect(commands::elect::ElectArgs),
    /// Makes a mirror at the destination etcd cluster
    MakeMirror(commands::mirror::MirrorArgs),
    /// commands for checking properties of the etcd cluster
    #[command(subcommand)]
    Check(commands::check::CheckCommand),
    /// Prints the version of etcdctl
    Version,
    /// Start a local etcd cluster on loopback until Ctrl-C or SIGTERM (rsetcd's own)
    DevCluster(crate::dev_cluster::DevClusterArgs),
    /// Measure throughput and latency against an etcd cluster (rsetcd's own)
    Bench(crate::bench::BenchArgs),
    /// Print a shell completion script (rsetcd's own)
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}
