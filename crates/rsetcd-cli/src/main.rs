//! `rsetcd`: an etcdctl-v2 compatible command line, a local dev cluster, and benchmarks.

mod bench;
mod cli;
mod commands;
mod context;
mod debug;
mod error;
mod output;

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command};
use context::Ctx;
use error::{CliError, Exit};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::BadArgs as u8
            } else {
                0
            });
        }
    };
    // One thread does it all for a command-line client (bench starts its own for --threads).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error:  cannot start the runtime: {e}");
            return ExitCode::from(Exit::BadArgs as u8);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => {
            context::flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            context::flush();
            if !e.message.is_empty() {
                let mut err = std::io::stderr().lock();
                let _ = err.write_all(e.message.as_bytes());
                if !e.message.ends_with('\n') {
                    let _ = writeln!(err);
                }
            }
            ExitCode::from(e.exit as u8)
        }
    }
}

async fn run(cli: Cli) -> Result<(), CliError> {
    if cli.global.debug {
        debug::install(cli.global.username.as_deref());
    }
    match &cli.command {
        Command::Version => {
            println!("rsetcd version: {}", env!("CARGO_PKG_VERSION"));
            println!("API version: 2");
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
        Command::DevCluster(args) => return commands::dev_cluster::run(args).await,
        _ => {}
    }
    let command = cli.command;
    if let Command::V3 { command } = &command {
        return commands::v3::run(&cli.global, command).await;
    }
    if let Command::Bench(args) = command {
        let target = match args.api {
            bench::Api::V2 => bench::Target::V2(Ctx::new(cli.global).await?.client),
            bench::Api::V3 => bench::Target::V3(
                context::builder::<rsetcd::v3::Client>(&cli.global)
                    .await?
                    .build()
                    .map_err(CliError::from)?,
            ),
        };
        return bench::run(target, args).await;
    }
    let ctx = Ctx::new(cli.global).await?;
    if commands::keys::run(&ctx, &command).await?
        || commands::watch::run(&ctx, &command).await?
        || commands::member::run(&ctx, &command).await?
        || commands::auth::run(&ctx, &command).await?
    {
        return Ok(());
    }
    Err(CliError::new(Exit::BadArgs, "Error:  unknown command"))
}
