//! Real etcd nodes and clusters on loopback, for tests, demos, benchmarks and `rsetcd dev-cluster`.
//!
//! Every node runs the `etcd` found on `PATH` (or at `$RSETCD_ETCD_BIN`, see [`etcd_bin`]) with the
//! v2 API enabled (`--enable-v2=true`; [`EtcdBuilder::v2`] starts it without any v2 flag, as etcd
//! 3.6 needs, or with etcd's v2-over-v3 emulation; `$RSETCD_ETCD_V2=off` makes "without" the
//! default), quick raft timers (100 ms heartbeat, 1 s election timeout; see
//! [`EtcdBuilder::raft_timers`]), on free 127.0.0.1 ports that one process never hands out twice,
//! with a temporary directory holding its data (`<dir>/data`) and its log (`<dir>/etcd.log`): on
//! tmpfs (`/dev/shm`) when it has 2 GiB free, else under the system's temporary directory.
//! Starting waits (bounded) until the node is healthy; failures say what failed and quote the
//! node's log.
//!
//! Clean-up: a node is killed (SIGKILL, then reaped) and its temporary directory removed when it
//! is dropped; nodes still running when the process exits are killed then; and on Linux etcd gets
//! SIGKILL by itself if the process that started it dies without any of that (a killed test).
//!
//! [`fault::FaultServer`] fakes the failures real etcd cannot produce (garbage, silence, resets),
//! [`Proxy`] puts a freezable proxy in front of a node (a network partition on loopback),
//! [`FaultProxy`] places a fault at an exact point of one HTTP/1.1 or HTTP/2 exchange with a
//! real node (a dropped answer, a reset after the request was forwarded, a GOAWAY, …), and
//! [`certs::TestPki`] makes certificates for TLS nodes ([`EtcdBuilder::tls`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use rsetcd_testkit::{Cluster, Etcd};
//!
//! let node = Etcd::start()?;
//! println!("etcd at {}", node.client_url());
//!
//! let mut cluster = Cluster::start(3)?;
//! println!("endpoints {:?}", cluster.endpoints());
//! cluster.kill(0)?;           // kill -9 the first member
//! cluster.restart(0)?;        // and bring it back with its data
//! cluster.wait_healthy(Duration::from_secs(10))?;
//! # Ok::<(), rsetcd_testkit::Error>(())
//! ```

#![deny(missing_docs)]

mod bin;
pub mod certs;
mod cluster;
pub mod fault;
mod fault_proxy;
mod node;
mod ports;
mod probe;
mod proxy;
mod reaper;
mod relay;
mod spawner;
mod v2api;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub use bin::{etcd_bin, etcd_version, etcdctl_bin, etcdctl_version, Version};
pub use cluster::{Cluster, ClusterBuilder, PendingMember};
pub use fault_proxy::{Armed, Fault, FaultProxy, Trigger, Wire};
pub use node::{Etcd, EtcdBuilder, ServerTls};
pub use ports::{dead_endpoint, free_port};
pub use proxy::Proxy;
pub use v2api::V2Api;

/// The program of the crate's README (its crates.io page), compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// What can go wrong starting or stopping etcd.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `etcd` binary on `PATH` (or at `$RSETCD_ETCD_BIN`).
    #[error("etcd binary not found (looked for `etcd` on PATH or $RSETCD_ETCD_BIN): run scripts/install-etcd.sh or `apt-get install etcd-server`")]
    EtcdMissing,
    /// An I/O operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// A node did not become healthy (or serving, or listening) in time.
    #[error("etcd member {name} did not become {what} within {timeout:?}; log tail:\n{log}")]
    NotHealthy {
        /// The member name.
        name: String,
        /// What was awaited.
        what: String,
        /// How long we waited.
        timeout: Duration,
        /// The last lines of its log.
        log: String,
    },
    /// A node's process exited while it was being waited for.
    #[error("etcd member {name} exited while starting; log tail:\n{log}")]
    Exited {
        /// The member name.
        name: String,
        /// The last lines of its log.
        log: String,
    },
    /// A node was waited for while no process of it runs (killed or stopped).
    #[error("etcd member {name} is not running")]
    NotRunning {
        /// The member name.
        name: String,
    },
    /// A cluster member index that is out of range or was forgotten.
    #[error("no cluster member with index {index} (out of range or forgotten)")]
    NoMember {
        /// The index asked for.
        index: usize,
    },
    /// Starting failed for another reason.
    #[error("cannot start etcd: {0}")]
    Start(String),
}

impl Error {
    pub(crate) fn io(what: &str, source: std::io::Error) -> Error {
        Error::Io {
            what: what.to_string(),
            source,
        }
    }
}

/// What the test kit returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One node shared by a whole test binary: started on first use, killed when the process exits.
pub fn shared() -> Result<&'static Etcd> {
    static NODE: OnceLock<std::result::Result<Etcd, String>> = OnceLock::new();
    NODE.get_or_init(|| {
        let node = Etcd::start().map_err(|e| e.to_string())?;
        reaper::remove_at_exit(node.data_dir().to_path_buf());
        Ok(node)
    })
    .as_ref()
    .map_err(|e| Error::Start(e.clone()))
}

/// One node per v2 mode ([`V2Api`]) shared by a whole test binary, like [`shared`]: started on
/// first use with that mode, killed when the process exits.
pub fn shared_with(v2: V2Api) -> Result<&'static Etcd> {
    type Nodes = Mutex<HashMap<V2Api, std::result::Result<&'static Etcd, String>>>;
    static NODES: OnceLock<Nodes> = OnceLock::new();
    let mut nodes = NODES
        .get_or_init(Nodes::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let node = nodes.entry(v2.clone()).or_insert_with(|| {
        let node = Etcd::builder().v2(v2).start().map_err(|e| e.to_string())?;
        reaper::remove_at_exit(node.data_dir().to_path_buf());
        let node: &'static Etcd = Box::leak(Box::new(node));
        Ok(node)
    });
    node.clone().map_err(Error::Start)
}

/// One 3-member cluster shared by a whole test binary: started on first use, killed (and its
/// data removed) when the process exits. Tests that share it must not stop or pause its
/// members; put a [`FaultProxy`] in front of one instead.
pub fn shared_cluster() -> Result<&'static Cluster> {
    static CLUSTER: OnceLock<std::result::Result<Cluster, String>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let cluster = Cluster::start(3).map_err(|e| e.to_string())?;
            for i in 0..cluster.len() {
                reaper::remove_at_exit(cluster.node(i).data_dir().to_path_buf());
            }
            Ok(cluster)
        })
        .as_ref()
        .map_err(|e| Error::Start(e.clone()))
}

impl Etcd {
    /// See [`shared`]: one node for the whole process.
    pub fn shared() -> Result<&'static Etcd> {
        shared()
    }
}
