//! N-node etcd clusters on loopback: start, kill, restart, join and remove members.

use std::path::PathBuf;
use std::time::Duration;

use crate::node::{unique_token, Settings};
use crate::ports::alloc_port;
use crate::{Error, Etcd, Result, ServerTls};

/// A cluster of real etcd members `n1`…`nN` on loopback.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<Option<Etcd>>,
    settings: Settings,
    token: String,
    base_dir: Option<PathBuf>,
}

/// A member that has been allocated (name, ports) but not started; add it to the cluster through
/// the members API, then [`Cluster::start_member`].
#[derive(Debug, Clone)]
pub struct PendingMember {
    /// The member name.
    pub name: String,
    /// Its peer URL (give this to `add_member`).
    pub peer_url: String,
    /// Its client URL.
    pub client_url: String,
    client_port: u16,
    peer_port: u16,
}

/// Builds a cluster: `Cluster::builder(3)…start()`.
#[derive(Debug)]
pub struct ClusterBuilder {
    size: usize,
    settings: Settings,
    base_dir: Option<PathBuf>,
    base_port: Option<u16>,
}

impl ClusterBuilder {
    /// An extra etcd flag for every member.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.settings.args.push(arg.into());
        self
    }

    /// Make fsync nearly free on every member (see [`EtcdBuilder::unsafe_no_fsync`]).
    ///
    /// [`EtcdBuilder::unsafe_no_fsync`]: crate::EtcdBuilder::unsafe_no_fsync
    pub fn unsafe_no_fsync(mut self, on: bool) -> Self {
        self.settings.unsafe_no_fsync = on;
        self
    }

    /// Serve clients over TLS on every member.
    pub fn tls(mut self, tls: ServerTls) -> Self {
        self.settings.tls = Some(tls);
        self
    }

    /// Keep member data under this directory (`<dir>/n1`, …) instead of temporary directories.
    pub fn base_dir(mut self, dir: PathBuf) -> Self {
        self.base_dir = Some(dir);
        self
    }

    /// Use fixed ports: member i gets client port `base + 2i` and peer port `base + 2i + 1`.
    pub fn base_port(mut self, port: u16) -> Self {
        self.base_port = Some(port);
        self
    }

    /// Raft timers in milliseconds (defaults 50 and 500).
    pub fn raft_timers(mut self, heartbeat_ms: u64, election_ms: u64) -> Self {
        self.settings.heartbeat_ms = heartbeat_ms;
        self.settings.election_ms = election_ms;
        self
    }

    /// Starts every member together and waits until all are healthy.
    pub fn start(self) -> Result<Cluster> {
        if self.size == 0 {
            return Err(Error::Start("a cluster needs at least one member".into()));
        }
        let attempts = if self.base_port.is_some() { 1 } else { 3 };
        let mut last = None;
        for _ in 0..attempts {
            match self.try_start() {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Start("no attempt was made".into())))
    }

    fn try_start(&self) -> Result<Cluster> {
        let mut ports = Vec::with_capacity(self.size);
        for i in 0..self.size {
            ports.push(match self.base_port {
                Some(base) => {
                    let offset = u16::try_from(2 * i)
                        .map_err(|_| Error::Start("too many members".into()))?;
                    let client = base
                        .checked_add(offset)
                        .ok_or_else(|| Error::Start("port overflow".into()))?;
                    (
                        client,
                        client
                            .checked_add(1)
                            .ok_or_else(|| Error::Start("port overflow".into()))?,
                    )
                }
                None => (alloc_port()?, alloc_port()?),
            });
        }
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("n{}=http://127.0.0.1:{peer}", i + 1))
            .collect();
        let initial = initial.join(",");
        let token = unique_token();
        let mut nodes = Vec::with_capacity(self.size);
        for (i, (client, peer)) in ports.into_iter().enumerate() {
            let name = format!("n{}", i + 1);
            let dir = self.base_dir.as_ref().map(|d| d.join(&name));
            let mut node = Etcd::new_member(
                name,
                client,
                peer,
                dir,
                self.settings.clone(),
                initial.clone(),
                token.clone(),
                true,
            )?;
            node.spawn()?;
            nodes.push(Some(node));
        }
        let cluster = Cluster {
            nodes,
            settings: self.settings.clone(),
            token,
            base_dir: self.base_dir.clone(),
        };
        cluster.wait_healthy(self.settings.start_timeout)?;
        Ok(cluster)
    }
}

impl Cluster {
    /// Starts `n` members with the defaults.
    pub fn start(n: usize) -> Result<Cluster> {
        Cluster::builder(n).start()
    }

    /// A builder for `n` members.
    pub fn builder(n: usize) -> ClusterBuilder {
        ClusterBuilder {
            size: n,
            settings: Settings::default(),
            base_dir: None,
            base_port: None,
        }
    }

    /// How many members were ever started (removed ones keep their index).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the cluster has no members.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The client URLs of the current members, in member order.
    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().flatten().map(Etcd::client_url).collect()
    }

    /// Member `i` (0-based).
    ///
    /// # Panics
    /// If `i` is out of range or the member was removed with [`Cluster::forget`] (a test bug).
    pub fn node(&self, i: usize) -> &Etcd {
        self.nodes[i].as_ref().expect("member was forgotten")
    }

    /// Member `i`, mutably. Panics as [`Cluster::node`] does.
    pub fn node_mut(&mut self, i: usize) -> &mut Etcd {
        self.nodes[i].as_mut().expect("member was forgotten")
    }

    fn member(&mut self, i: usize) -> Result<&mut Etcd> {
        self.nodes
            .get_mut(i)
            .and_then(Option::as_mut)
            .ok_or_else(|| Error::Start(format!("no member with index {i}")))
    }

    /// `kill -9` member `i`.
    pub fn kill(&mut self, i: usize) -> Result<()> {
        self.member(i)?.kill()
    }

    /// Stops member `i` with SIGTERM.
    pub fn stop(&mut self, i: usize) -> Result<()> {
        self.member(i)?.stop()
    }

    /// Restarts member `i` with its data and waits until it serves clients.
    pub fn restart(&mut self, i: usize) -> Result<()> {
        self.member(i)?.restart()
    }

    /// Waits until every running member reports healthy.
    pub fn wait_healthy(&self, timeout: Duration) -> Result<()> {
        for node in self.nodes.iter().flatten() {
            node.wait_healthy(timeout)?;
        }
        Ok(())
    }

    /// Allocates a new member's name and ports (not started).
    pub fn prepare_member(&mut self) -> Result<PendingMember> {
        let (client_port, peer_port) = (alloc_port()?, alloc_port()?);
        Ok(PendingMember {
            name: format!("n{}", self.nodes.len() + 1),
            peer_url: format!("http://127.0.0.1:{peer_port}"),
            client_url: format!(
                "{}://127.0.0.1:{client_port}",
                if self.settings.tls.is_some() {
                    "https"
                } else {
                    "http"
                }
            ),
            client_port,
            peer_port,
        })
    }

    /// Starts a member already added through the members API; returns its index.
    pub fn start_member(&mut self, m: PendingMember) -> Result<usize> {
        let mut initial: Vec<String> = self
            .nodes
            .iter()
            .flatten()
            .map(|n| format!("{}={}", n.name(), n.peer_url()))
            .collect();
        initial.push(format!("{}={}", m.name, m.peer_url));
        let dir = self.base_dir.as_ref().map(|d| d.join(&m.name));
        let mut node = Etcd::new_member(
            m.name,
            m.client_port,
            m.peer_port,
            dir,
            self.settings.clone(),
            initial.join(","),
            self.token.clone(),
            false,
        )?;
        node.spawn()?;
        node.wait_healthy(self.settings.start_timeout)?;
        self.nodes.push(Some(node));
        Ok(self.nodes.len() - 1)
    }

    /// Stops and drops member `i` (after it was removed from the cluster); indexes stay stable.
    pub fn forget(&mut self, i: usize) -> Result<()> {
        if let Some(slot) = self.nodes.get_mut(i) {
            if let Some(mut node) = slot.take() {
                node.kill()?;
            }
        }
        Ok(())
    }
}
