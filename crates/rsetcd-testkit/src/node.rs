//! One etcd process: start, wait until it serves, kill, stop, restart.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::ports::{alloc_port, release_port};
use crate::{Error, Result, V2Api};

mod ready;

/// TLS settings for an etcd node's client URLs.
#[derive(Debug, Clone)]
pub struct ServerTls {
    /// The server certificate (PEM).
    pub cert_file: PathBuf,
    /// The server key (PEM).
    pub key_file: PathBuf,
    /// The CA that client certificates must chain to.
    pub trusted_ca_file: Option<PathBuf>,
    /// Demand a client certificate (`--client-cert-auth`).
    pub client_cert_auth: bool,
}

/// Settings shared by single nodes and cluster members.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) args: Vec<String>,
    pub(crate) v2: V2Api,
    pub(crate) unsafe_no_fsync: bool,
    pub(crate) tls: Option<ServerTls>,
    /// `--auto-tls`: etcd makes its own (P-521, self-signed) client certificate.
    pub(crate) auto_tls: bool,
    pub(crate) heartbeat_ms: u64,
    pub(crate) election_ms: u64,
    pub(crate) start_timeout: Duration,
}

impl Settings {
    /// Whether clients are served over TLS.
    pub(crate) fn secure(&self) -> bool {
        self.tls.is_some() || self.auto_tls
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            args: Vec::new(),
            v2: V2Api::from_env(),
            unsafe_no_fsync: false,
            tls: None,
            auto_tls: false,
            heartbeat_ms: 100,
            election_ms: 1000,
            start_timeout: Duration::from_secs(20),
        }
    }
}

/// Where a node's data lives: a temporary directory removed on drop, or the caller's.
#[derive(Debug)]
enum Dir {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Dir {
    fn kept(dir: &Path) -> Result<Dir> {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(&format!("create the data dir {}", dir.display()), e))?;
        Ok(Dir::Kept(dir.to_path_buf()))
    }

    fn path(&self) -> &Path {
        match self {
            Dir::Temp(t) => t.path(),
            Dir::Kept(p) => p,
        }
    }
}

/// One real etcd process on loopback. Killed (SIGKILL, then reaped) on drop; its temporary data
/// directory is removed then.
#[derive(Debug)]
pub struct Etcd {
    name: String,
    client_port: u16,
    peer_port: u16,
    dir: Dir,
    log: PathBuf,
    /// Length of the log file when the current process was spawned: readiness lines are looked
    /// for after it, so an earlier run's lines do not count.
    log_start: u64,
    child: Option<Child>,
    settings: Settings,
    initial_cluster: String,
    cluster_token: String,
    state_new: bool,
}

/// Builds a single etcd node: `Etcd::builder()…start()`.
#[derive(Debug, Default)]
pub struct EtcdBuilder {
    name: Option<String>,
    settings: Settings,
    data_dir: Option<PathBuf>,
    client_port: Option<u16>,
    peer_port: Option<u16>,
}

impl EtcdBuilder {
    /// The member name (default `node1`).
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// An extra etcd flag, e.g. `--auth-token=simple`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.settings.args.push(arg.into());
        self
    }

    /// Whether and how the node serves the v2 API (default: [`V2Api::from_env`], which is
    /// [`V2Api::Enabled`] unless `$RSETCD_ETCD_V2` says otherwise).
    pub fn v2(mut self, v2: V2Api) -> Self {
        self.settings.v2 = v2;
        self
    }

    /// Serve the v2 API through etcd's emulation on the v3 keyspace under `prefix`
    /// (`--experimental-enable-v2v3`): the same as `.v2(V2Api::Emulated(prefix))`.
    pub fn v2v3_prefix(self, prefix: &str) -> Self {
        self.v2(V2Api::Emulated(prefix.to_string()))
    }

    /// Make fsync nearly free, for benchmarks that measure the client rather than the disk: passes
    /// `--unsafe-no-fsync` where etcd has it (3.5+). A temporary data directory is on tmpfs
    /// anyway when `/dev/shm` has room, so on etcd 3.4 this changes nothing more.
    pub fn unsafe_no_fsync(mut self, on: bool) -> Self {
        self.settings.unsafe_no_fsync = on;
        self
    }

    /// Keep the data in this directory instead of a temporary one (not removed on drop).
    pub fn data_dir(mut self, dir: PathBuf) -> Self {
        self.data_dir = Some(dir);
        self
    }

    /// Use this client port instead of a free one.
    pub fn client_port(mut self, port: u16) -> Self {
        self.client_port = Some(port);
        self
    }

    /// Use this peer port instead of a free one.
    pub fn peer_port(mut self, port: u16) -> Self {
        self.peer_port = Some(port);
        self
    }

    /// Serve clients over TLS.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.settings.tls = Some(tls);
        self
    }

    /// Raft timers in milliseconds (defaults 100 and 1000: quick failover, yet no spurious elections
    /// when a loaded 2-core machine runs several clusters at once).
    pub fn raft_timers(mut self, heartbeat_ms: u64, election_ms: u64) -> Self {
        self.settings.heartbeat_ms = heartbeat_ms;
        self.settings.election_ms = election_ms;
        self
    }

    /// Serve clients over TLS with the certificate etcd makes itself (`--auto-tls`: self-signed,
    /// P-521, in `<data dir>/fixtures/client/cert.pem`).
    pub fn auto_tls(mut self) -> Self {
        self.settings.auto_tls = true;
        self
    }

    /// Spawns etcd and waits (up to 20 s) until it is healthy.
    ///
    /// With free ports (the default), a start that fails (say, another process took a port in the
    /// meantime) is retried twice on new ports.
    pub fn start(self) -> Result<Etcd> {
        let name = self.name.unwrap_or_else(|| "node1".into());
        let fixed = self.client_port.is_some() || self.peer_port.is_some();
        let mut last = None;
        for _ in 0..if fixed { 1 } else { 3 } {
            let client_port = self.client_port.map_or_else(alloc_port, Ok)?;
            let peer_port = self.peer_port.map_or_else(alloc_port, Ok)?;
            let fresh = FreshData::new(self.data_dir.as_deref());
            let dir = match &self.data_dir {
                Some(d) => Dir::kept(d)?,
                None => Dir::Temp(data_temp_dir()?),
            };
            let peer = format!("http://127.0.0.1:{peer_port}");
            let mut node = Etcd::new(
                name.clone(),
                client_port,
                peer_port,
                dir,
                self.settings.clone(),
                format!("{name}={peer}"),
                unique_token(),
                true,
            );
            match node
                .spawn()
                .and_then(|()| node.wait_healthy(node.settings.start_timeout))
            {
                Ok(()) => return Ok(node),
                Err(Error::EtcdMissing) => return Err(Error::EtcdMissing),
                Err(e) => {
                    drop(node);
                    fresh.undo();
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Start("no attempt was made".into())))
    }
}

/// The etcd data directory (`<dir>/data`) a start attempt may create in a caller's directory:
/// removed again if the attempt fails, so that a retry on other ports starts afresh.
pub(crate) struct FreshData(Option<PathBuf>);

impl FreshData {
    pub(crate) fn new(dir: Option<&Path>) -> FreshData {
        FreshData(dir.map(|d| d.join("data")).filter(|data| !data.exists()))
    }

    /// Removes the data directory if this attempt created it (best effort).
    pub(crate) fn undo(self) {
        if let Some(data) = self.0 {
            let _ = std::fs::remove_dir_all(data);
        }
    }
}

pub(crate) fn temp_dir() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("rsetcd-etcd-")
        .tempdir()
        .map_err(|e| Error::io("create temp dir", e))
}

/// Whether this etcd knows `--unsafe-no-fsync` (3.5+; etcd 3.4.23 does not).
fn supports_no_fsync() -> bool {
    static KNOWN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *KNOWN.get_or_init(|| {
        Command::new(crate::etcd_bin())
            .arg("--help")
            .output()
            .is_ok_and(|o| {
                String::from_utf8_lossy(&o.stdout).contains("unsafe-no-fsync")
                    || String::from_utf8_lossy(&o.stderr).contains("unsafe-no-fsync")
            })
    })
}

/// A temporary data directory: on tmpfs (`/dev/shm`) when it has room, where fsync costs next to
/// nothing. On a disk, etcd's fsyncs wait behind whatever else the machine is writing back (a cold
/// build leaves gigabytes), and a member can then sit silent for longer than any start timeout.
/// A node killed with SIGKILL keeps its data there as on a disk; only the machine's restart
/// loses it, which no test survives anyway.
fn data_temp_dir() -> Result<tempfile::TempDir> {
    const SHM: &str = "/dev/shm";
    if tmpfs_room(SHM).is_some_and(|free| free >= SHM_ROOM) {
        if let Ok(dir) = tempfile::Builder::new()
            .prefix("rsetcd-etcd-")
            .tempdir_in(SHM)
        {
            return Ok(dir);
        }
    }
    temp_dir()
}

/// The free space a data directory on tmpfs needs: etcd preallocates 64 MiB per WAL file, and a
/// test process may run a few dozen members at once.
const SHM_ROOM: u64 = 2 << 30;

/// The bytes free to an unprivileged writer under `path`, if it is a directory `statvfs` can read.
// The field types are u64 on 64-bit Linux only.
#[allow(clippy::useless_conversion)]
fn tmpfs_room(path: &str) -> Option<u64> {
    let c = std::ffi::CString::new(path).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `st` is a valid out-pointer for one statvfs.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    u64::try_from(st.f_bavail)
        .ok()?
        .checked_mul(u64::try_from(st.f_frsize).ok()?)
}

pub(crate) fn unique_token() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "rsetcd-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl Etcd {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new_member(
        name: String,
        client_port: u16,
        peer_port: u16,
        dir: Option<PathBuf>,
        settings: Settings,
        initial_cluster: String,
        cluster_token: String,
        state_new: bool,
    ) -> Result<Etcd> {
        let dir = match dir {
            Some(d) => Dir::kept(&d)?,
            None => Dir::Temp(data_temp_dir()?),
        };
        Ok(Etcd::new(
            name,
            client_port,
            peer_port,
            dir,
            settings,
            initial_cluster,
            cluster_token,
            state_new,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        name: String,
        client_port: u16,
        peer_port: u16,
        dir: Dir,
        settings: Settings,
        initial_cluster: String,
        cluster_token: String,
        state_new: bool,
    ) -> Etcd {
        let log = dir.path().join("etcd.log");
        Etcd {
            name,
            client_port,
            peer_port,
            dir,
            log,
            log_start: 0,
            child: None,
            settings,
            initial_cluster,
            cluster_token,
            state_new,
        }
    }

    /// Starts a single node with the defaults.
    pub fn start() -> Result<Etcd> {
        Etcd::builder().start()
    }

    /// A builder for a single node.
    pub fn builder() -> EtcdBuilder {
        EtcdBuilder::default()
    }

    /// The member name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS).
    pub fn client_url(&self) -> String {
        let scheme = if self.settings.secure() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://127.0.0.1:{}", self.client_port)
    }

    /// Whether and how the node serves the v2 API.
    pub fn v2_api(&self) -> &V2Api {
        &self.settings.v2
    }

    /// The client port.
    pub fn client_port(&self) -> u16 {
        self.client_port
    }

    /// `http://127.0.0.1:PEER_PORT`.
    pub fn peer_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.peer_port)
    }

    /// The process id while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still alive. A process that exited by itself (e.g. a member removed
    /// from its cluster) is reaped here, after which [`Etcd::pid`] is `None`.
    pub fn is_running(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) => {
                crate::reaper::unregister(child.id());
                self.child = None;
                false
            }
            // Not ours to wait for any more; report what /proc says.
            Err(_) => crate::reaper::alive(child.id()),
        }
    }

    /// The data directory (the member's data is in `<dir>/data`, its log in `<dir>/etcd.log`).
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The log file of the process (`<data_dir>/etcd.log`; etcd's stdout and stderr, appended to
    /// across restarts).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of the log (empty if it cannot be read).
    pub fn log_tail(&self, lines: usize) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// What errors quote: the last lines the current process logged, without the usage text
    /// etcd prints after a flag error (the error itself is the line before it).
    fn log_for_error(&self) -> String {
        let log = self.log_since_spawn();
        let log = match log.find("\nUsage:") {
            Some(at) => &log[..at],
            None => log.as_str(),
        };
        let all: Vec<&str> = log.lines().collect();
        if all.is_empty() {
            return self.log_tail(LOG_TAIL);
        }
        all[all.len().saturating_sub(LOG_TAIL)..].join("\n")
    }

    /// The log written since the current process was spawned.
    fn log_since_spawn(&self) -> String {
        let bytes = std::fs::read(&self.log).unwrap_or_default();
        let start = usize::try_from(self.log_start)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        String::from_utf8_lossy(&bytes[start..]).into_owned()
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(crate::etcd_bin());
        let client = self.client_url();
        let peer = self.peer_url();
        cmd.args(self.settings.v2.args())
            .arg(format!("--name={}", self.name))
            .arg(format!(
                "--data-dir={}",
                self.dir.path().join("data").display()
            ))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster={}", self.initial_cluster))
            .arg(format!("--initial-cluster-token={}", self.cluster_token))
            .arg(format!(
                "--initial-cluster-state={}",
                if self.state_new { "new" } else { "existing" }
            ))
            .arg(format!(
                "--heartbeat-interval={}",
                self.settings.heartbeat_ms
            ))
            .arg(format!("--election-timeout={}", self.settings.election_ms))
            .arg("--logger=zap")
            .arg("--log-outputs=stderr");
        if self.settings.unsafe_no_fsync && supports_no_fsync() {
            cmd.arg("--unsafe-no-fsync");
        }
        if self.settings.auto_tls {
            cmd.arg("--auto-tls");
        }
        if let Some(tls) = &self.settings.tls {
            cmd.arg(format!("--cert-file={}", tls.cert_file.display()))
                .arg(format!("--key-file={}", tls.key_file.display()));
            if let Some(ca) = &tls.trusted_ca_file {
                cmd.arg(format!("--trusted-ca-file={}", ca.display()));
            }
            if tls.client_cert_auth {
                cmd.arg("--client-cert-auth");
            }
        }
        cmd.args(&self.settings.args);
        cmd
    }

    pub(crate) fn spawn(&mut self) -> Result<()> {
        let what = || format!("open the log file {}", self.log.display());
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| Error::io(&what(), e))?;
        self.log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        let log2 = log.try_clone().map_err(|e| Error::io(&what(), e))?;
        let mut cmd = self.command();
        cmd.stdin(Stdio::null()).stdout(log).stderr(log2);
        let child = crate::spawner::spawn(cmd).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::EtcdMissing,
            _ => Error::io("spawn etcd", e),
        })?;
        crate::reaper::register(child.id());
        self.child = Some(child);
        Ok(())
    }

    /// Kills the process with SIGKILL (`kill -9`) and reaps it. Does nothing if it is not running.
    pub fn kill(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let pid = child.id();
            // Fails only if the process was already reaped, which `wait` reports below.
            let _ = child.kill();
            child
                .wait()
                .map_err(|e| Error::io(&format!("wait for etcd {} (pid {pid})", self.name), e))?;
            crate::reaper::unregister(pid);
        }
        Ok(())
    }

    /// Freezes the process with SIGSTOP (by its PID): it keeps its sockets and answers nothing,
    /// like a hung host. [`Etcd::resume`] lets it go on; killing or dropping a paused node works
    /// as for a running one.
    pub fn pause(&self) -> Result<()> {
        self.signal(libc::SIGSTOP)
    }

    /// Lets a process frozen by [`Etcd::pause`] go on (SIGCONT).
    pub fn resume(&self) -> Result<()> {
        self.signal(libc::SIGCONT)
    }

    fn signal(&self, sig: libc::c_int) -> Result<()> {
        match self.child.as_ref() {
            Some(child) => {
                crate::reaper::signal(child.id(), sig);
                Ok(())
            }
            None => Err(Error::NotRunning {
                name: self.name.clone(),
            }),
        }
    }

    /// Stops the process with SIGTERM, waiting up to 10 s before SIGKILL, and reaps it.
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id();
        crate::reaper::signal(pid, libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = child.kill();
                    child.wait().map_err(|e| {
                        Error::io(&format!("wait for etcd {} (pid {pid})", self.name), e)
                    })?;
                    break;
                }
            }
        }
        crate::reaper::unregister(pid);
        Ok(())
    }

    /// Kills the process if it runs, then starts it again on the same ports with the same data
    /// (`--initial-cluster-state=existing`).
    ///
    /// A single node is waited for until it serves clients. A cluster member may have no quorum
    /// to come back to, so this returns once its process listens; use [`Etcd::wait_healthy`], or
    /// [`Cluster::restart`](crate::Cluster::restart), which waits for service when a quorum runs.
    pub fn restart(&mut self) -> Result<()> {
        let alone = !self.initial_cluster.contains(',');
        self.restart_waiting(alone)
    }

    /// Restarts, then waits until the node serves clients (`serving`) or only listens.
    pub(crate) fn restart_waiting(&mut self, serving: bool) -> Result<()> {
        self.kill()?;
        self.state_new = false;
        self.spawn()?;
        let timeout = self.settings.start_timeout;
        if serving {
            self.wait_serving(timeout)
        } else {
            self.wait_listening(timeout)
        }
    }

    /// Whether the process was spawned and has not been reaped (it may have just exited).
    pub(crate) fn spawned(&self) -> bool {
        self.pid().is_some_and(crate::reaper::alive)
    }
}

/// How many log lines errors quote.
const LOG_TAIL: usize = 20;

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.kill();
        release_port(self.client_port);
        release_port(self.peer_port);
    }
}
