//! `ETCDCTL_API=2`: the v2 commands, compatible with `ETCDCTL_API=2 etcdctl` (flags, output
//! formats, messages and exit codes).

pub mod cli;
mod commands;
pub mod context;
mod debug;
mod output;

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches};

use crate::error::{CliError, Exit};
use crate::v3::cli::go_duration;
use cli::{Cli, Command};
use context::Ctx;

/// Parses the v2 command line and runs it.
pub fn main(args: Vec<OsString>) -> Result<(), CliError> {
    let matches = match Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() {
                Exit::BadArgs as u8
            } else {
                0
            };
            return Err(CliError::new(code, ""));
        }
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| CliError::args(e.to_string()))?;
    if cli.global.version {
        print_version();
        return Ok(());
    }
    let Some(command) = cli.command else {
        // etcdctl without a command prints its help.
        let _ = Cli::command().print_help();
        return Ok(());
    };
    if let Command::V3 { args: rest } = &command {
        // `rsetcd v3 …` under ETCDCTL_API=2: the v3 command line, with the v2 flags given before
        // `v3` translated to their v3 names.
        let explicit = |id: &str| matches.value_source(id) == Some(ValueSource::CommandLine);
        let g = &cli.global;
        let mut v3_args: Vec<OsString> =
            vec![args.first().cloned().unwrap_or_else(|| "rsetcd".into())];
        if explicit("endpoints") {
            v3_args.push(format!("--endpoints={}", g.endpoints.join(",")).into());
        }
        v3_args.push(format!("--dial-timeout={}", go_duration(g.timeout)).into());
        v3_args.push(format!("--command-timeout={}", go_duration(g.total_timeout)).into());
        for (flag, value) in [
            ("--cacert", &g.ca_file),
            ("--cert", &g.cert_file),
            ("--key", &g.key_file),
        ] {
            if let Some(path) = value {
                let mut arg = OsString::from(format!("{flag}="));
                arg.push(path.as_os_str());
                v3_args.push(arg);
            }
        }
        if let Some(domain) = &g.discovery_srv {
            v3_args.push(format!("--discovery-srv={domain}").into());
        }
        if let Some(user) = &g.username {
            v3_args.push(format!("--user={}", &**user).into());
        }
        if g.debug {
            v3_args.push("--debug".into());
        }
        v3_args.extend(rest.iter().cloned());
        return crate::v3::main(v3_args);
    }
    crate::runtime()?.block_on(run(cli.global, command))
}

fn print_version() {
    println!("rsetcd version: {}", env!("CARGO_PKG_VERSION"));
    println!("API version: 2");
}

async fn run(global: cli::Global, command: Command) -> Result<(), CliError> {
    if global.debug {
        debug::install(global.username.as_deref());
    }
    match &command {
        Command::Version => {
            print_version();
            return Ok(());
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "rsetcd",
                &mut std::io::stdout(),
            );
            return Ok(());
        }
        Command::DevCluster(args) => return crate::dev_cluster::run(args).await,
        _ => {}
    }
    if let Command::Bench(args) = command {
        let target = match args.api {
            crate::bench::Api::V2 => crate::bench::Target::V2(Ctx::new(global).await?.client),
            crate::bench::Api::V3 => crate::bench::Target::V3(
                context::builder::<rsetcd::v3::Client>(&global)
                    .await?
                    .build()
                    .map_err(CliError::from)?,
            ),
        };
        return crate::bench::run(target, args).await;
    }
    let ctx = Ctx::new(global).await?;
    if commands::keys::run(&ctx, &command).await?
        || commands::watch::run(&ctx, &command).await?
        || commands::member::run(&ctx, &command).await?
        || commands::auth::run(&ctx, &command).await?
    {
        return Ok(());
    }
    Err(CliError::new(Exit::BadArgs, "Error:  unknown command"))
}
