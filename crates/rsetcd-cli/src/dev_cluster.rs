//! `rsetcd dev-cluster`: a local etcd cluster on loopback until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use rsetcd_testkit::Cluster;

use crate::error::{CliError, Exit};

/// Options of `dev-cluster`.
#[derive(Debug, Args)]
pub struct DevClusterArgs {
    /// How many members.
    #[arg(long, default_value_t = 3)]
    pub nodes: usize,
    /// Keep member data (and logs) under this directory instead of temporary ones.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Fixed ports: member i listens for clients on BASE+2i and for peers on BASE+2i+1.
    #[arg(long)]
    pub base_port: Option<u16>,
    /// Pass --unsafe-no-fsync to etcd (faster writes; data may be lost on a crash).
    #[arg(long)]
    pub unsafe_no_fsync: bool,
}

/// Why a member did not start, first (etcd's own `"error"` from its log, such as `listen tcp
/// 127.0.0.1:2380: bind: address already in use`), then the test kit's report with the log tail.
fn start_failure(report: &str) -> String {
    let reason = report
        .lines()
        .filter(|l| l.contains("failed to start") || l.contains("\"level\":\"fatal\""))
        .find_map(|l| {
            let (_, rest) = l.split_once("\"error\":\"")?;
            rest.split_once('"').map(|(reason, _)| reason.to_string())
        });
    match reason {
        Some(reason) => format!("Error:  etcd could not start: {reason}\n{report}"),
        None => format!("Error:  {report}"),
    }
}

/// Starts the cluster, prints how to reach it, waits for Ctrl-C or SIGTERM, stops everything.
pub async fn run(args: &DevClusterArgs) -> Result<(), CliError> {
    if args.nodes == 0 || args.nodes > 9 {
        return Err(CliError::args("--nodes must be between 1 and 9"));
    }
    let mut builder = Cluster::builder(args.nodes).unsafe_no_fsync(args.unsafe_no_fsync);
    if let Some(dir) = &args.data_dir {
        builder = builder.base_dir(dir.clone());
    }
    if let Some(port) = args.base_port {
        builder = builder.base_port(port);
    }
    let cluster = tokio::task::spawn_blocking(move || builder.start())
        .await
        .map_err(|e| CliError::new(Exit::BadArgs, format!("Error:  {e}")))?
        .map_err(|e| CliError::new(Exit::BadConnection, start_failure(&e.to_string())))?;
    {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "etcd dev cluster: {} members", cluster.len());
        for i in 0..cluster.len() {
            let n = cluster.node(i);
            let _ = writeln!(
                o,
                "  {} {} (log: {})",
                n.name(),
                n.client_url(),
                n.log_path().display()
            );
        }
        let _ = writeln!(
            o,
            "export ETCDCTL_ENDPOINTS={}",
            cluster.endpoints().join(",")
        );
        let _ = writeln!(o, "Press Ctrl-C to stop (or send SIGTERM).");
        let _ = o.flush();
    }
    wait_for_signal().await;
    tokio::task::spawn_blocking(move || drop(cluster))
        .await
        .ok();
    eprintln!("dev cluster stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
