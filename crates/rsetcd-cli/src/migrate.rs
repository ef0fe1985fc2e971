//! `rsetcd migrate`: rsetcd's own commands for leaving etcd's v2 API (whatever `ETCDCTL_API`
//! says): `check` (does the v2 keyspace hold data, and what) and `v2-to-v3` (the online copy into
//! the v3 keyspace, in the layout of the v2-over-v3 backend and of etcd's emulation). A thin face
//! over `rsetcd::migrate`; `docs/migrate.md` has the details.
//!
//! Exit codes — `check`: 0 empty, 1 holds data, 2 could not tell (unreachable, refused, bad
//! arguments). `v2-to-v3`: 0 copied (and verified equal, unless `--no-verify`), 1 bad arguments,
//! 2 the cluster could not be reached, 3 the verify pass found differences, 4 etcd refused, 5 the
//! prefix holds other data (refused without `--overwrite`).

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use rsetcd::config::{ClientBuilder, FromConfig};
use rsetcd::migrate::{self as lib, Follow, Migration, Phase, Progress, Summary};

use crate::error::CliError;
use crate::secret::Secret;
use crate::v3::cli::parse_go_duration;

/// The flags that take a value, for finding the command word.
const VALUE_FLAGS: &[&str] = &[
    "--endpoints",
    "--target-endpoints",
    "--cacert",
    "--ca-file",
    "--cert",
    "--cert-file",
    "--key",
    "--key-file",
    "--user",
    "--username",
    "-u",
    "--password",
    "--dial-timeout",
    "--command-timeout",
];

/// Whether the command word is `migrate` (then these commands run, whatever `ETCDCTL_API`).
pub fn wanted(args: &[OsString]) -> bool {
    let mut i = 1;
    while i < args.len() {
        let a = args[i].to_string_lossy();
        if a == "--" {
            return false;
        }
        if a.starts_with('-') {
            if !a.contains('=') && VALUE_FLAGS.contains(&a.as_ref()) {
                i += 1;
            }
            i += 1;
            continue;
        }
        return a == "migrate";
    }
    false
}

#[derive(Debug, Parser)]
#[command(name = "rsetcd", about = "rsetcd's v2 → v3 migration commands")]
struct Cli {
    #[command(flatten)]
    flags: Flags,
    #[command(subcommand)]
    command: Top,
}

#[derive(Debug, Subcommand)]
enum Top {
    /// Leave etcd's v2 API before etcd 3.6 (rsetcd's own; any ETCDCTL_API)
    #[command(subcommand)]
    Migrate(Command),
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Say whether the v2 keyspace holds data, and what (exit 0 empty, 1 holds data, 2 could not tell)
    Check(CheckArgs),
    /// Copy the live v2 keyspace into the v3 keyspace (the v2-over-v3 layout), follow it until cut-over, verify
    #[command(name = "v2-to-v3")]
    V2ToV3(CopyArgs),
}

/// Connection flags, for the v2 source and the v3 target alike.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection")]
struct Flags {
    /// The cluster's endpoints (its v2 API is read; its v3 API written unless --target-endpoints)
    #[arg(
        long,
        global = true,
        env = "ETCDCTL_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:2379"
    )]
    endpoints: Vec<String>,
    /// Write into another cluster's v3 API (default: the same cluster)
    #[arg(long, global = true, value_delimiter = ',')]
    target_endpoints: Vec<String>,
    /// Verify servers with this CA bundle
    #[arg(long, global = true, env = "ETCDCTL_CACERT", visible_alias = "ca-file")]
    cacert: Option<PathBuf>,
    /// Identify with this TLS certificate
    #[arg(long, global = true, env = "ETCDCTL_CERT", visible_alias = "cert-file")]
    cert: Option<PathBuf>,
    /// The key of --cert
    #[arg(long, global = true, env = "ETCDCTL_KEY", visible_alias = "key-file")]
    key: Option<PathBuf>,
    /// username[:password] (the password is prompted for when absent)
    #[arg(long, short = 'u', global = true, env = "ETCDCTL_USER", visible_alias = "username",
          hide_env_values = true, value_parser = Secret::parse)]
    user: Option<Secret>,
    /// The password (when --user has none)
    #[arg(long, global = true, env = "ETCDCTL_PASSWORD", hide_env_values = true, value_parser = Secret::parse)]
    password: Option<Secret>,
    /// Skip server certificate verification (testing only)
    #[arg(long, global = true)]
    insecure_skip_tls_verify: bool,
    /// Connection timeout
    #[arg(long, global = true, default_value = "2s", value_parser = parse_go_duration)]
    dial_timeout: Duration,
    /// Timeout of each request (the whole keyspace is read in one)
    #[arg(long, global = true, default_value = "60s", value_parser = parse_go_duration)]
    command_timeout: Duration,
}

#[derive(Debug, Clone, Args)]
struct Hidden {
    /// A hidden node (a name starting with _, which v2 never lists) to look at by name, with its subtree; repeatable
    #[arg(long = "hidden", value_name = "PATH")]
    hidden: Vec<String>,
    /// Do not search the v2 event history (its last 1,000 events) for hidden nodes
    #[arg(long)]
    no_history: bool,
}

#[derive(Debug, Clone, Args)]
struct CheckArgs {
    #[command(flatten)]
    hidden: Hidden,
}

#[derive(Debug, Clone, Args)]
struct CopyArgs {
    /// The v3 prefix (the v2-over-v3 backend's, and etcd's --experimental-enable-v2v3)
    #[arg(long, default_value = lib::DEFAULT_PREFIX)]
    prefix: String,
    /// Say what would be written; write nothing
    #[arg(long)]
    dry_run: bool,
    /// Replace nodes under the prefix not written by a migration from this cluster (else refused)
    #[arg(long)]
    overwrite: bool,
    #[command(flatten)]
    hidden: Hidden,
    /// After the copy, follow the v2 keyspace until Ctrl-C / SIGTERM (the cut-over), then sync once more and verify
    #[arg(long)]
    follow: bool,
    /// Follow for this long, then cut over (implies --follow)
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_go_duration)]
    for_duration: Option<Duration>,
    /// Follow until the v2 index reaches this, then cut over (implies --follow)
    #[arg(long, value_name = "INDEX")]
    until_index: Option<u64>,
    /// Skip the verify pass
    #[arg(long)]
    no_verify: bool,
    /// Nodes per transaction (1 to 120)
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Transactions in flight
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// How far a copied TTL may be from the source's and count as equal
    #[arg(long, default_value = "2s", value_parser = parse_go_duration)]
    ttl_tolerance: Duration,
    /// The checkpoint key (default /rsetcd-migrate<prefix>)
    #[arg(long)]
    checkpoint_key: Option<String>,
}

/// Runs `rsetcd … migrate …`.
pub fn main(args: Vec<OsString>) -> Result<(), CliError> {
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return Err(CliError::new(if e.use_stderr() { 1 } else { 0 }, ""));
        }
    };
    let Top::Migrate(command) = cli.command;
    let runtime = crate::runtime()?;
    runtime.block_on(async move {
        match command {
            Command::Check(a) => check(&cli.flags, a).await,
            Command::V2ToV3(a) => copy(&cli.flags, a).await,
        }
    })
}

async fn builder<C: FromConfig>(
    f: &Flags,
    endpoints: &[String],
) -> Result<ClientBuilder<C>, CliError> {
    let mut b = ClientBuilder::<C>::new()
        .connect_timeout(f.dial_timeout)
        .request_timeout(f.command_timeout)
        .endpoints(endpoints.iter().map(|e| e.trim()).filter(|e| !e.is_empty()));
    if let Some(ca) = &f.cacert {
        b = b.ca_file(ca);
    }
    match (&f.cert, &f.key) {
        (Some(c), Some(k)) => b = b.client_cert_files(c, k),
        (None, None) => {}
        _ => return Err(CliError::new(1, "Error: --cert and --key go together")),
    }
    if f.insecure_skip_tls_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(user) = f.user.as_deref().filter(|u| !u.is_empty()) {
        let (name, password) = match (&f.password, user.split_once(':')) {
            (Some(p), _) => (user.to_string(), p.to_string()),
            (None, Some((n, p))) => (n.to_string(), p.to_string()),
            (None, None) => {
                let p = rpassword::prompt_password("Password: ").map_err(|e| {
                    CliError::new(1, format!("Error: cannot read the password: {e}"))
                })?;
                (user.to_string(), p)
            }
        };
        b = b.basic_auth(name, password);
    }
    Ok(b)
}

/// A library error as an exit code and message (`exit_for_cluster`: the code for failures to
/// reach the cluster).
fn failed(e: &lib::Error, cluster: u8, refused: u8) -> CliError {
    use rsetcd::Error as E;
    let code = match e {
        lib::Error::Etcd(
            E::Connect { .. }
            | E::Tls { .. }
            | E::Timeout { .. }
            | E::Transport { .. }
            | E::NoMoreHosts { .. },
        ) => cluster,
        lib::Error::TargetNotEmpty { .. }
        | lib::Error::OtherSource { .. }
        | lib::Error::BadCheckpoint { .. } => refused,
        _ => 4,
    };
    CliError::new(code, format!("Error: {e}"))
}

fn out(text: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{text}");
    let _ = o.flush();
}

async fn check(f: &Flags, a: CheckArgs) -> Result<(), CliError> {
    let fail = |e: CliError| CliError::new(2, e.message);
    let v2 = builder::<rsetcd::v2::Client>(f, &f.endpoints)
        .await
        .map_err(fail)?
        .build()
        .map_err(|e| CliError::new(2, format!("Error: {e}")))?;
    let inv = lib::check(&v2, &a.hidden.hidden, !a.hidden.no_history)
        .await
        .map_err(|e| failed(&e, 2, 2))?;
    let state = if inv.is_empty() {
        "empty"
    } else {
        "holds data"
    };
    out(&format!(
        "v2 keyspace of {} at index {} (cluster {}): {state}",
        f.endpoints.join(","),
        inv.index,
        if inv.cluster_id.is_empty() {
            "?"
        } else {
            &inv.cluster_id
        }
    ));
    out(&format!(
        "  files: {} ({} bytes of values), directories: {}, with a TTL: {}",
        inv.files, inv.value_bytes, inv.dirs, inv.ttl_nodes
    ));
    let found = if inv.hidden_paths.is_empty() {
        String::new()
    } else {
        format!(" ({})", inv.hidden_paths.join(", "))
    };
    out(&format!(
        "  hidden nodes found: {}{found}; v2 never lists them: only those named with --hidden{} are seen",
        inv.hidden,
        if inv.history_scanned { " and those in the last 1,000 events" } else { "" }
    ));
    if let Some((k, n)) = &inv.largest {
        out(&format!("  largest value: {k} ({n} bytes)"));
    }
    if let Some((k, n)) = &inv.deepest {
        out(&format!("  deepest path: {k} ({n} segments)"));
    }
    for (k, why) in &inv.unsupported {
        out(&format!("  cannot be migrated: {k}: {why}"));
    }
    let auth = match inv.auth_enabled {
        Some(true) => {
            "enabled (v2 users and roles are not migrated: create them again as v3 users and roles)"
        }
        Some(false) => "disabled",
        None => "unknown (the auth API did not answer)",
    };
    out(&format!("  v2 auth: {auth}"));
    if inv.is_empty() {
        out("next: nothing to migrate; the v2 API can be dropped (etcd 3.6 has none)");
        Ok(())
    } else {
        out("next: rsetcd migrate v2-to-v3 --dry-run, then rsetcd migrate v2-to-v3 --follow (Ctrl-C to cut over) before upgrading to 3.6");
        Err(CliError::new(1, ""))
    }
}

/// Progress on a terminal only: one line rewritten, at most ten times a second.
fn progress_printer(tty: bool) -> impl Fn(&Progress) + Send + Sync + 'static {
    let last: Mutex<Option<Instant>> = Mutex::new(None);
    let told = AtomicBool::new(false);
    move |p: &Progress| {
        if p.phase == Phase::Follow && !told.swap(true, Ordering::Relaxed) {
            let mut e = std::io::stderr().lock();
            let _ = writeln!(
                e,
                "{}following the v2 keyspace from index {}: Ctrl-C or SIGTERM cuts over (a last sync, then verify)",
                if tty { "\r\x1b[2K" } else { "" },
                p.index
            );
        }
        if p.phase == Phase::Resnapshot {
            let mut e = std::io::stderr().lock();
            let _ = writeln!(e, "{}{p}", if tty { "\r\x1b[2K" } else { "" });
            return;
        }
        if !tty {
            return;
        }
        let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) && p.done != p.total {
            return;
        }
        *last = Some(Instant::now());
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r\x1b[2K{p}");
        let _ = e.flush();
    }
}

async fn cut_over_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

async fn copy(f: &Flags, a: CopyArgs) -> Result<(), CliError> {
    let v2 = builder::<rsetcd::v2::Client>(f, &f.endpoints)
        .await?
        .build()
        .map_err(|e| CliError::new(1, format!("Error: {e}")))?;
    let target = if f.target_endpoints.is_empty() {
        &f.endpoints
    } else {
        &f.target_endpoints
    };
    let v3 = builder::<rsetcd::v3::Client>(f, target)
        .await?
        .build()
        .map_err(|e| CliError::new(1, format!("Error: {e}")))?;
    let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut m = Migration::new(v2, v3)
        .prefix(&a.prefix)
        .dry_run(a.dry_run)
        .overwrite(a.overwrite)
        .verify(!a.no_verify)
        .hidden(a.hidden.hidden.clone())
        .scan_history(!a.hidden.no_history)
        .batch_size(a.batch_size)
        .concurrency(a.concurrency)
        .ttl_tolerance(a.ttl_tolerance)
        .on_progress(progress_printer(tty));
    if let Some(key) = &a.checkpoint_key {
        m = m.checkpoint_key(key);
    }
    let following = a.follow || a.for_duration.is_some() || a.until_index.is_some();
    if following {
        let mut follow = Follow::new().until(cut_over_signal());
        if let Some(d) = a.for_duration {
            follow = follow.for_duration(d);
        }
        if let Some(i) = a.until_index {
            follow = follow.until_index(i);
        }
        m = m.follow(follow);
    }
    let result = m.run().await;
    if tty {
        eprintln!();
    }
    let summary = result.map_err(|e| failed(&e, 2, 5))?;
    report(f, &a, &summary);
    match &summary.verified {
        Some(r) if !r.is_equal() => Err(CliError::new(
            3,
            "Error: the copy differs from the v2 keyspace (see above): run it again (it resumes), with --follow if v2 writers are still running",
        )),
        _ => Ok(()),
    }
}

fn report(f: &Flags, a: &CopyArgs, s: &Summary) {
    let verb = if s.dry_run { "would copy" } else { "copied" };
    out(&format!(
        "{verb} the v2 keyspace of {} into the v3 prefix {:?}{}",
        f.endpoints.join(","),
        s.prefix,
        if s.resumed {
            " (resuming an earlier run)"
        } else {
            ""
        }
    ));
    out(&format!(
        "  snapshot at v2 index {} (last sync at {})",
        s.snapshot_index, s.final_index
    ));
    out(&format!(
        "  {} nodes in v2: {} written, {} deleted, {} already equal; {} leases; {} expired before they could be written",
        s.source_nodes, s.written, s.deleted, s.unchanged, s.leases, s.expired
    ));
    if s.events > 0 || s.resnapshots > 0 {
        out(&format!(
            "  followed: {} changes applied, {} re-snapshots",
            s.events, s.resnapshots
        ));
    }
    if s.dry_run {
        for d in s.changes.iter().take(20) {
            out(&format!("  would fix: {d}"));
        }
        if s.changes.len() > 20 {
            out(&format!("  … and {} more", s.changes.len() - 20));
        }
    }
    for (k, why) in &s.unsupported {
        out(&format!("  cannot be migrated: {k}: {why}"));
    }
    for w in &s.warnings {
        out(&format!("  warning: {w}"));
    }
    if let Some(r) = &s.verified {
        out(&r.to_string());
    }
    if s.dry_run {
        out("next: run it without --dry-run (add --follow to keep copying until the cut-over)");
    } else if s.verified.as_ref().is_none_or(|r| r.is_equal()) {
        out(&format!(
            "next: point v2 clients at the v3 API (rsetcd --v2-backend v3:{p}, or etcd 3.4/3.5 with \
             --experimental-enable-v2v3={p}), stop v2 writes, then upgrade to etcd 3.6",
            p = a.prefix
        ));
    }
}
