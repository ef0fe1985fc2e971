//! The v3 commands: one file per command family, each as etcdctl 3.5 has it.
//!
//! # Adding a command family
//!
//! A family (say `member`) is one file, `commands/member.rs`, holding:
//!
//! 1. its arguments: a clap `Args` struct per command (a `Subcommand` enum for a family of
//!    subcommands, as [`lease::LeaseCommand`]), each flag documented with etcdctl's own help
//!    text. Keys and values are `OsString`s turned into bytes with [`bytes`], never `String`s;
//! 2. `pub async fn run(ctx: &Ctx, args: &…) -> Result<(), CliError>`: it checks the arguments
//!    as etcdctl does, in etcdctl's order and words ([`bad_args`](super::error::bad_args) and
//!    [`fail`](super::error::fail) with etcdctl's exit codes), gets the client with
//!    [`Ctx::client`], runs the requests within [`Ctx::bounded`] (`--command-timeout`) and
//!    prints with [`Ctx::print`];
//! 3. what it prints: a type implementing [`Printable`](super::output::Printable) — `simple`
//!    always, `json` / `fields` / `protobuf` / `table` where etcdctl has them (the defaults refuse
//!    as etcdctl does). Go's JSON shapes of etcd's messages go in `output/json.rs` when other
//!    families print them too; boxed tables use `output/table.rs`.
//!
//! Then one variant in [`Command`](super::cli::Command) (its doc comment is etcdctl's one-line
//! summary), one arm in [`run`] below, and a comparison with etcdctl: a `tests/compat_v3_*.rs`
//! file whose steps run through the harness in `tests/v3/mod.rs` (`Trio::same`: etcdctl 3.4,
//! etcdctl 3.5 and rsetcd, each on a server with the same history; stdout, stderr and exit code
//! compared with IDs masked; `stream` for commands that run until stopped).

pub mod alarm;
pub mod auth;
pub mod check;
pub mod compaction;
pub mod defrag;
pub mod del;
pub mod elect;
pub mod endpoint;
pub mod get;
pub mod lease;
pub mod lock;
pub mod member;
pub mod mirror;
pub mod move_leader;
pub mod put;
pub mod role;
pub mod snapshot;
pub mod txn;
pub mod user;
pub mod version;
pub mod watch;

use std::ffi::OsStr;

use super::cli::Command;
use super::context::Ctx;
use crate::error::CliError;

/// An argument as the bytes the OS gave (a key need not be UTF-8).
pub fn bytes(arg: &OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        std::os::unix::ffi::OsStrExt::as_bytes(arg).to_vec()
    }
    #[cfg(not(unix))]
    {
        arg.to_string_lossy().into_owned().into_bytes()
    }
}

/// A command's positional arguments (checked by the command, in etcdctl's words).
#[derive(Debug, clap::Args)]
pub struct Positional {
    /// The arguments.
    pub args: Vec<std::ffi::OsString>,
}

/// Go's `strconv.ParseUint(s, base, 64)` error text, as etcdctl quotes it.
pub fn parse_uint(s: &str, base: u32) -> Result<u64, String> {
    let quoted = super::output::fields::quote(s.as_bytes());
    if s.starts_with('+') {
        return Err(format!(
            "strconv.ParseUint: parsing {quoted}: invalid syntax"
        ));
    }
    u64::from_str_radix(s, base).map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow => "value out of range",
            _ => "invalid syntax",
        };
        format!("strconv.ParseUint: parsing {quoted}: {why}")
    })
}

/// Go's `strconv.ParseInt(s, base, 64)` error text, as etcdctl quotes it.
pub fn parse_int(s: &str, base: u32) -> Result<i64, String> {
    i64::from_str_radix(s, base).map_err(|e| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!(
            "strconv.ParseInt: parsing {}: {why}",
            super::output::fields::quote(s.as_bytes())
        )
    })
}

/// Runs one etcdctl command (rsetcd's own are run by the caller).
pub async fn run(ctx: &Ctx, command: &Command) -> Result<(), CliError> {
    match command {
        Command::Get(args) => get::run(ctx, args).await,
        Command::Put(args) => put::run(ctx, args).await,
        Command::Del(args) => del::run(ctx, args).await,
        Command::Txn(args) => txn::run(ctx, args).await,
        Command::Compaction(args) => compaction::run(ctx, args).await,
        Command::Watch(args) => watch::run(ctx, args).await,
        Command::Lease(command) => lease::run(ctx, command).await,
        Command::Member(command) => member::run(ctx, command).await,
        Command::Endpoint(args) => endpoint::run(ctx, args).await,
        Command::Alarm(command) => alarm::run(ctx, command).await,
        Command::Defrag(args) => defrag::run(ctx, args).await,
        Command::Snapshot(command) => snapshot::run(ctx, command).await,
        Command::MoveLeader(args) => move_leader::run(ctx, args).await,
        Command::Auth(command) => auth::run(ctx, command).await,
        Command::User(command) => user::run(ctx, command).await,
        Command::Role(command) => role::run(ctx, command).await,
        Command::Lock(args) => lock::run(ctx, args).await,
        Command::Elect(args) => elect::run(ctx, args).await,
        Command::MakeMirror(args) => mirror::run(ctx, args).await,
        Command::Check(command) => check::run(ctx, command).await,
        Command::Version => version::run(),
        Command::DevCluster(_) | Command::Bench(_) | Command::Completions { .. } => Ok(()),
    }
}
