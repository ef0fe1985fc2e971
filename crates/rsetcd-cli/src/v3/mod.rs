//! `ETCDCTL_API=3` (the default): etcdctl 3.5's command line on etcd's v3 API, byte for byte
//! where it can be (see `commands` for the layout of commands and `output` for the formats).

pub mod cli;
pub mod commands;
pub mod context;
mod debug;
pub mod error;
pub mod output;
pub mod progress;

use std::ffi::OsString;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{CommandFactory, FromArgMatches};

use crate::error::CliError;
use cli::{Cli, Command};
use context::Ctx;
use error::{fail, Exit};

/// `rsetcd v3 get …` is `rsetcd get …`: drops a `v3` standing where the command goes.
fn without_v3_word(mut args: Vec<OsString>) -> Vec<OsString> {
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "--" {
            break;
        }
        if a.starts_with('-') {
            if !a.contains('=') && cli::VALUE_FLAGS.contains(&a.as_ref()) {
                i += 1;
            }
            i += 1;
            continue;
        }
        if a == "v3" {
            args.remove(i);
        }
        break;
    }
    args
}

/// A command-line mistake in cobra's words (`Error: unknown flag: --bogus`), exit 1.
fn usage_error(e: &clap::Error) -> CliError {
    let context = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let invalid = || context(ContextKind::InvalidArg);
    let message = match e.kind() {
        ErrorKind::UnknownArgument => {
            let arg = invalid();
            let flag = arg.split('=').next().unwrap_or(&arg).to_string();
            match flag.strip_prefix('-') {
                Some(short) if !short.starts_with('-') => format!(
                    "Error: unknown shorthand flag: '{}' in {flag}",
                    short.chars().next().unwrap_or('-')
                ),
                _ => format!("Error: unknown flag: {flag}"),
            }
        }
        ErrorKind::InvalidSubcommand => format!(
            "Error: unknown command {} for \"rsetcd\"\nRun 'rsetcd --help' for usage.",
            output::fields::quote(context(ContextKind::InvalidSubcommand).as_bytes())
        ),
        _ => {
            let text = e.to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ");
            format!("Error: {first}")
        }
    };
    CliError::new(1, message)
}

/// Parses the v3 command line and runs it.
pub fn main(args: Vec<OsString>) -> Result<(), CliError> {
    let args = without_v3_word(args);
    let matches = match Cli::command().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                return Ok(());
            }
            ErrorKind::MissingSubcommand => {
                // etcdctl without a command prints its help.
                let _ = Cli::command().print_help();
                return Ok(());
            }
            _ => return Err(usage_error(&e)),
        },
    };
    let cli = Cli::from_arg_matches(&matches).map_err(|e| usage_error(&e))?;
    if cli.global.debug {
        debug::print_flags(&cli.global);
        debug::install();
    }
    crate::runtime()?.block_on(run(cli))
}

async fn run(cli: Cli) -> Result<(), CliError> {
    match &cli.command {
        Command::DevCluster(args) => return crate::dev_cluster::run(args).await,
        Command::Completions { shell } => {
            clap_complete::generate(
                *shell,
                &mut Cli::command(),
                "rsetcd",
                &mut std::io::stdout(),
            );
            return Ok(());
        }
        Command::Bench(args) => {
            let target = match args.api {
                crate::bench::Api::V2 => crate::bench::Target::V2(
                    context::builder::<rsetcd::v2::Client>(&cli.global)
                        .await?
                        .build()
                        .map_err(error::lib(Exit::BadArgs))?,
                ),
                crate::bench::Api::V3 => crate::bench::Target::V3(
                    context::builder::<rsetcd::v3::Client>(&cli.global)
                        .await?
                        .build()
                        .map_err(error::lib(Exit::BadArgs))?,
                ),
            };
            return crate::bench::run(target, args.clone()).await;
        }
        _ => {}
    }
    let ctx = Ctx::new(cli.global)?;
    if !ctx.global.insecure_discovery && ctx.global.discovery_srv.is_some() {
        let client = ctx.client().await?;
        if client.endpoints().iter().all(|e| e.starts_with("http://")) {
            return Err(fail(
                Exit::Error,
                "no https endpoint found through SRV discovery",
            ));
        }
    }
    commands::run(&ctx, &cli.command).await
}

#[cfg(test)]
mod tests {
    use super::without_v3_word;

    #[test]
    fn the_v3_word_goes_only_where_the_command_goes() {
        let v = |args: &[&str]| -> Vec<String> {
            without_v3_word(args.iter().map(|a| a.into()).collect())
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(v(&["r", "v3", "get", "k"]), ["r", "get", "k"]);
        assert_eq!(
            v(&["r", "--endpoints", "x", "v3", "get"]),
            ["r", "--endpoints", "x", "get"]
        );
        assert_eq!(v(&["r", "put", "v3", "v3"]), ["r", "put", "v3", "v3"]);
        assert_eq!(
            v(&["r", "--user", "v3", "get"]),
            ["r", "--user", "v3", "get"]
        );
    }
}
