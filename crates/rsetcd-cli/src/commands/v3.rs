//! `rsetcd v3 get|put|del`: one-shot key commands on etcd's v3 API, printing what
//! `ETCDCTL_API=3 etcdctl` prints (key and value lines; `OK`; the number deleted).

use std::io::Write;

use clap::Subcommand;

use crate::cli::Global;
use crate::context;
use crate::error::CliError;

/// The v3 key commands.
#[derive(Debug, Subcommand)]
pub enum V3Command {
    /// Print a key and its value (or every key of a prefix).
    Get {
        /// The key.
        key: String,
        /// Every key starting with KEY.
        #[arg(long)]
        prefix: bool,
    },
    /// Set a key's value.
    Put {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Delete a key (or every key of a prefix) and print how many went.
    Del {
        /// The key.
        key: String,
        /// Every key starting with KEY.
        #[arg(long)]
        prefix: bool,
    },
}

/// Runs one v3 command.
pub async fn run(global: &Global, command: &V3Command) -> Result<(), CliError> {
    let deadline = tokio::time::Instant::now() + global.total_timeout;
    let builder = context::within(deadline, global, context::builder(global)).await?;
    let client: rsetcd::v3::Client = builder.build().map_err(CliError::from)?;
    let work = async {
        let mut out = Vec::new();
        match command {
            V3Command::Get { key, prefix } => {
                let get = client.get(key);
                let answer = if *prefix {
                    get.prefix().await
                } else {
                    get.await
                }?;
                for kv in answer.kvs {
                    out.extend_from_slice(&kv.key);
                    out.push(b'\n');
                    out.extend_from_slice(&kv.value);
                    out.push(b'\n');
                }
            }
            V3Command::Put { key, value } => {
                client.put(key, value).await?;
                out.extend_from_slice(b"OK\n");
            }
            V3Command::Del { key, prefix } => {
                let delete = client.delete(key);
                let answer = if *prefix {
                    delete.prefix().await
                } else {
                    delete.await
                }?;
                writeln!(out, "{}", answer.deleted).ok();
            }
        }
        Ok::<_, rsetcd::Error>(out)
    };
    let out = tokio::time::timeout_at(deadline, work)
        .await
        .map_err(|_| {
            CliError::from(rsetcd::Error::Timeout {
                endpoint: global.endpoints.join(","),
                after: global.total_timeout,
            })
        })?
        .map_err(CliError::from)?;
    let mut stdout = context::out();
    stdout
        .write_all(&out)
        .map_err(|e| CliError::args(format!("cannot write to stdout: {e}")))
}
