//! `snapshot save <filename>` (with progress on a terminal) and `snapshot status <filename>`
//! (read from the file itself, as etcdutl does).

use std::ffi::OsString;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use rsetcd::v3::snapshot::{self, Status};
use serde::Serialize;

use super::endpoint::humanize_bytes;
use super::Positional;
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, describe, fail, Exit};
use crate::v3::output::{fields, json as j, table, Out, Printable};
use crate::v3::progress::Progress;

/// The snapshot commands.
#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Stores an etcd node backend snapshot to a given file
    Save(Positional),
    /// Gets backend snapshot status of a given file
    Status(Positional),
}

/// Go's words for an I/O error (`no such file or directory`).
fn go_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::AlreadyExists => "file exists".into(),
        _ => {
            let text = e.to_string();
            text.split(" (os error")
                .next()
                .unwrap_or(&text)
                .to_lowercase()
        }
    }
}

/// One of etcdctl's zap log lines (`{"level":"info","ts":…,…}`) on stderr.
fn log(caller: &str, logger: bool, msg: &str, extra: &[(&str, &str)]) {
    let ts = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let mut line = format!("{{\"level\":\"info\",\"ts\":{ts:.7}");
    if logger {
        line.push_str(",\"logger\":\"client\"");
    }
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    line.push_str(&format!(",\"caller\":{},\"msg\":{}", q(caller), q(msg)));
    for (k, v) in extra {
        line.push_str(&format!(",{}:{}", q(k), q(v)));
    }
    line.push('}');
    eprintln!("{line}");
}

/// go-humanize's `Time` of a past instant (`now`, `3 seconds ago`).
fn ago(start: Instant) -> String {
    let s = start.elapsed().as_secs();
    match s {
        0 => "now".into(),
        1 => "1 second ago".into(),
        2..=59 => format!("{s} seconds ago"),
        60..=119 => "1 minute ago".into(),
        120..=3599 => format!("{} minutes ago", s / 60),
        3600..=7199 => "1 hour ago".into(),
        _ => format!("{} hours ago", s / 3600),
    }
}

/// Runs a snapshot command.
pub async fn run(ctx: &Ctx, command: &SnapshotCommand) -> Result<(), CliError> {
    match command {
        SnapshotCommand::Save(a) => save(ctx, &a.args).await,
        SnapshotCommand::Status(a) => {
            eprint!("Deprecated: Use `etcdutl snapshot status` instead.\n\n");
            let [path] = a.args.as_slice() else {
                return Err(bad_args("snapshot status requires exactly one argument"));
            };
            let shown = path.to_string_lossy();
            if let Err(e) = std::fs::metadata(path) {
                return Err(fail(Exit::Error, format!("stat {shown}: {}", go_io(&e))));
            }
            let status = snapshot::status(path).map_err(|e| fail(Exit::Error, e))?;
            ctx.print(&DbStatus(status))
        }
    }
}

async fn save(ctx: &Ctx, args: &[OsString]) -> Result<(), CliError> {
    let [path] = args else {
        return Err(bad_args("snapshot save expects one argument"));
    };
    let interrupted = |what: String| fail(Exit::Interrupted, what);
    let eps = &ctx.global.endpoints;
    if eps.len() != 1 {
        return Err(interrupted(format!(
            "snapshot must be requested to one selected node, not multiple [{}]",
            eps.join(" ")
        )));
    }
    let shown = path.to_string_lossy().into_owned();
    let part = format!("{shown}.part");
    // etcdctl opens `<path>.part` first: the same check, with its words.
    std::fs::File::create(&part).map_err(|e| {
        interrupted(format!(
            "could not open {part} (open {part}: {})",
            go_io(&e)
        ))
    })?;
    log(
        "snapshot/v3_snapshot.go:68",
        false,
        "created temporary db file",
        &[("path", &part)],
    );
    let client = ctx.client().await?;
    let start = Instant::now();
    let mut progress = Progress::new();
    let mut opened = false;
    let target = std::path::PathBuf::from(path);
    let saved = client
        .snapshot_to_file(&target, |received, remaining| {
            if !opened {
                opened = true;
            }
            progress.show(&format!(
                "Downloading snapshot: {} of {}",
                humanize_bytes(received),
                humanize_bytes(received + remaining)
            ));
        })
        .await;
    progress.clear();
    let _ = std::fs::remove_file(&part);
    let size = saved.map_err(|e| interrupted(describe(&e)))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A snapshot holds every key and the users' password hashes: owner only, as etcdctl.
        let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600));
    }
    let ep = eps[0].as_str();
    log(
        "v3/maintenance.go:211",
        true,
        "opened snapshot stream; downloading",
        &[],
    );
    log(
        "snapshot/v3_snapshot.go:76",
        false,
        "fetching snapshot",
        &[("endpoint", ep)],
    );
    log(
        "v3/maintenance.go:219",
        true,
        "completed snapshot read; closing",
        &[],
    );
    log(
        "snapshot/v3_snapshot.go:91",
        false,
        "fetched snapshot",
        &[
            ("endpoint", ep),
            ("size", &humanize_bytes(size)),
            ("took", &ago(start)),
        ],
    );
    log(
        "snapshot/v3_snapshot.go:100",
        false,
        "saved",
        &[("path", &shown)],
    );
    write_stdout(format!("Snapshot saved at {shown}\n").as_bytes())
}

/// A snapshot file's status.
struct DbStatus(Status);

#[derive(Serialize)]
struct StatusJson {
    hash: u32,
    revision: i64,
    #[serde(rename = "totalKey")]
    total_key: u64,
    #[serde(rename = "totalSize")]
    total_size: u64,
}

impl DbStatus {
    fn row(&self) -> Vec<String> {
        vec![
            format!("{:x}", self.0.hash),
            self.0.revision.to_string(),
            self.0.total_keys.to_string(),
            humanize_bytes(self.0.total_size),
        ]
    }
}

impl Printable for DbStatus {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&self.row().join(", "));
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &StatusJson {
                hash: self.0.hash,
                revision: self.0.revision,
                total_key: self.0.total_keys,
                total_size: self.0.total_size,
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::field(out, "Hash", self.0.hash);
        fields::field(out, "Revision", self.0.revision);
        fields::field(out, "Keys", self.0.total_keys);
        fields::field(out, "Size", self.0.total_size);
        Ok(())
    }

    fn table(&self, out: &mut Out) -> Result<(), CliError> {
        table::render(
            out,
            &["hash", "revision", "total keys", "total size"],
            &[self.row()],
        );
        Ok(())
    }
}
