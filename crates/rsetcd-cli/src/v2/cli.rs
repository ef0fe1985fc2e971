//! The v2 command line: global flags and commands, named as `ETCDCTL_API=2 etcdctl` names them.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A command-line client for etcd's v2 API, compatible with `ETCDCTL_API=2 etcdctl`.
#[derive(Debug, Parser)]
#[command(name = "rsetcd", about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    /// The command (none with `-v`: the version).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags every command understands.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Print the version and exit.
    #[arg(long, short = 'v', global = true)]
    pub version: bool,
    /// Machine addresses of the cluster, comma separated.
    #[arg(
        long,
        global = true,
        env = "ETCDCTL_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:2379,http://127.0.0.1:4001"
    )]
    pub endpoints: Vec<String>,
    /// Domain to query for SRV records describing the cluster's endpoints.
    #[arg(long, short = 'D', global = true)]
    pub discovery_srv: Option<String>,
    /// Accept plain-http endpoints from SRV records (`--insecure-discovery=false` keeps only https).
    #[arg(long, global = true, default_value_t = true, num_args = 0..=1, default_missing_value = "true",
          action = clap::ArgAction::Set)]
    pub insecure_discovery: bool,
    /// Connection timeout per request (e.g. 2s, 500ms).
    #[arg(long, global = true, default_value = "2s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// Timeout of the whole command, watches excepted.
    #[arg(long, global = true, default_value = "5s", value_parser = parse_duration)]
    pub total_timeout: std::time::Duration,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value = "simple")]
    pub output: Output,
    /// Verify https servers with this CA bundle.
    #[arg(long, global = true, env = "ETCDCTL_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Identify to https servers with this certificate.
    #[arg(long, global = true, requires = "key_file", env = "ETCDCTL_CERT_FILE")]
    pub cert_file: Option<PathBuf>,
    /// The key of --cert-file.
    #[arg(long, global = true, requires = "cert_file", env = "ETCDCTL_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// user[:password]; the password is prompted for when absent.
    #[arg(
        long,
        short = 'u',
        global = true,
        env = "ETCDCTL_USERNAME",
        hide_env_values = true,
        value_parser = crate::secret::Secret::parse
    )]
    pub username: Option<crate::secret::Secret>,
    /// Do not synchronise the endpoint list with the cluster's members first.
    #[arg(long, global = true)]
    pub no_sync: bool,
    /// Print an equivalent curl command for each request (to stderr, without passwords).
    #[arg(long, global = true)]
    pub debug: bool,
    /// The API of the v2 commands: http (etcd's v2 API), v3[:prefix] (the v2 data model over
    /// the v3 API, for etcd 3.6; prefix /v2c by default) or auto[:prefix] (whichever is served).
    #[arg(long, global = true, env = "RSETCD_V2_BACKEND", default_value = "http",
          value_parser = parse_v2_backend)]
    pub v2_backend: rsetcd::v2::V2Backend,
}

fn parse_v2_backend(s: &str) -> Result<rsetcd::v2::V2Backend, String> {
    s.parse().map_err(|e: rsetcd::Error| e.to_string())
}

fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("invalid duration {s:?}: {e}"))
}

/// The output formats of etcdctl v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// The value only.
    Simple,
    /// RFC 2822-style fields, then the value.
    Extended,
    /// The whole answer as JSON.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Retrieve the value of a key.
    Get {
        /// The key.
        key: Option<String>,
        /// Sort the result.
        #[arg(long)]
        sort: bool,
        /// Require quorum for the read (linearizable).
        #[arg(long)]
        quorum: bool,
    },
    /// Set the value of a key (the value may come from stdin).
    Set {
        /// The key.
        key: Option<String>,
        /// The value (read from stdin when absent).
        value: Option<String>,
        #[command(flatten)]
        ttl: Ttl,
        /// Only if the current value is this.
        #[arg(long)]
        swap_with_value: Option<String>,
        /// Only if the current modifiedIndex is this.
        #[arg(long)]
        swap_with_index: Option<u64>,
    },
    /// Make a new key with a given value (fails if it exists).
    Mk {
        /// The key (the directory, with --in-order).
        key: Option<String>,
        /// The value (read from stdin when absent).
        value: Option<String>,
        #[command(flatten)]
        ttl: Ttl,
        /// Create an in-order key under the directory given.
        #[arg(long)]
        in_order: bool,
    },
    /// Make a new directory.
    Mkdir {
        /// The directory.
        key: Option<String>,
        #[command(flatten)]
        ttl: Ttl,
    },
    /// Create a new directory or update an existing directory's TTL.
    Setdir {
        /// The directory.
        key: Option<String>,
        #[command(flatten)]
        ttl: Ttl,
    },
    /// Update an existing key with a given value.
    Update {
        /// The key.
        key: Option<String>,
        /// The value (read from stdin when absent).
        value: Option<String>,
        #[command(flatten)]
        ttl: Ttl,
    },
    /// Update an existing directory.
    Updatedir {
        /// The directory.
        key: Option<String>,
        #[command(flatten)]
        ttl: Ttl,
    },
    /// Remove a key or a directory.
    Rm {
        /// The key.
        key: Option<String>,
        /// Remove an empty directory or a key.
        #[arg(long)]
        dir: bool,
        /// Remove a directory and everything below it.
        #[arg(long, short = 'r')]
        recursive: bool,
        /// Only if the current value is this.
        #[arg(long)]
        with_value: Option<String>,
        /// Only if the current modifiedIndex is this.
        #[arg(long)]
        with_index: Option<u64>,
    },
    /// Remove a key if it is an empty directory or a key-value pair.
    Rmdir {
        /// The directory.
        key: Option<String>,
    },
    /// Retrieve a directory.
    Ls {
        /// The directory (default /).
        key: Option<String>,
        /// Sort the output.
        #[arg(long)]
        sort: bool,
        /// Require quorum for the read.
        #[arg(long)]
        quorum: bool,
        /// List the whole subtree.
        #[arg(long, short = 'r')]
        recursive: bool,
        /// Append a slash (/) to directories.
        #[arg(short = 'p')]
        p: bool,
    },
    /// Watch a key for changes.
    Watch {
        /// The key.
        key: Option<String>,
        /// Keep watching after the first change.
        #[arg(long, short = 'f')]
        forever: bool,
        /// Watch changes after this index.
        #[arg(long, default_value_t = 0)]
        after_index: u64,
        /// Watch the whole subtree.
        #[arg(long, short = 'r')]
        recursive: bool,
    },
    /// Watch a key for changes and run a command for each (ETCD_WATCH_* variables describe it).
    ExecWatch {
        /// The key.
        key: Option<String>,
        /// The command and its arguments, after `--`.
        #[arg(last = true)]
        command: Vec<String>,
        /// Watch changes after this index.
        #[arg(long, default_value_t = 0)]
        after_index: u64,
        /// Watch the whole subtree.
        #[arg(long, short = 'r')]
        recursive: bool,
    },
    /// Member list, add, remove and update.
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
    /// Check the health of the etcd cluster.
    ClusterHealth {
        /// Keep checking every 10 s.
        #[arg(long, short = 'f')]
        forever: bool,
    },
    /// User add, get, list, remove, passwd, grant and revoke.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Role add, get, list, remove, grant and revoke.
    Role {
        #[command(subcommand)]
        command: RoleCommand,
    },
    /// Overall auth controls.
    Auth {
        #[command(subcommand)]
        command: AuthCommand,
    },
    /// Print the versions of this tool and of the API.
    Version,
    /// Start a local etcd cluster on loopback until Ctrl-C or SIGTERM.
    DevCluster(crate::dev_cluster::DevClusterArgs),
    /// Measure throughput and latency against an etcd cluster.
    Bench(crate::bench::BenchArgs),
    /// A command of etcd's v3 API, as under `ETCDCTL_API=3` (`rsetcd v3 get /k`).
    V3 {
        /// The v3 command and its arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// A TTL flag.
#[derive(Debug, Args)]
pub struct Ttl {
    /// Time to live in seconds (0: none).
    #[arg(long, default_value_t = 0)]
    pub ttl: u64,
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// List the members.
    List,
    /// Add a member: NAME PEER-URLS (comma separated).
    Add {
        name: Option<String>,
        peer_urls: Option<String>,
    },
    /// Remove a member by ID.
    Remove { id: Option<String> },
    /// Update a member's peer URLs: ID PEER-URLS.
    Update {
        id: Option<String>,
        peer_urls: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user (the password is prompted for).
    Add {
        user: Option<String>,
        /// Read the password from stdin instead of prompting.
        #[arg(long)]
        stdin: bool,
    },
    /// Show a user.
    Get { user: Option<String> },
    /// List the users.
    List,
    /// Remove a user.
    Remove { user: Option<String> },
    /// Change a user's password.
    Passwd {
        user: Option<String>,
        /// Read the password from stdin instead of prompting.
        #[arg(long)]
        stdin: bool,
    },
    /// Grant roles to a user.
    Grant {
        user: Option<String>,
        /// The roles.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
    /// Revoke roles from a user.
    Revoke {
        user: Option<String>,
        /// The roles.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Add a role.
    Add { role: Option<String> },
    /// Show a role.
    Get { role: Option<String> },
    /// List the roles.
    List,
    /// Remove a role.
    Remove { role: Option<String> },
    /// Grant key permissions to a role.
    Grant(RolePermission),
    /// Revoke key permissions from a role.
    Revoke(RolePermission),
}

/// A role and the permission to grant or revoke.
#[derive(Debug, Args)]
pub struct RolePermission {
    pub role: Option<String>,
    /// The key path pattern (e.g. /app/*).
    #[arg(long)]
    pub path: Option<String>,
    /// Read access.
    #[arg(long)]
    pub read: bool,
    /// Write access.
    #[arg(long)]
    pub write: bool,
    /// Read and write access.
    #[arg(long)]
    pub readwrite: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Enable auth.
    Enable,
    /// Disable auth.
    Disable,
}
