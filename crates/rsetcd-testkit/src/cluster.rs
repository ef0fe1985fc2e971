//! N-node etcd clusters on loopback: start, kill, restart, join and remove members.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::node::{unique_token, FreshData, Settings};
use crate::ports::{alloc_port, reserve_port};
use crate::{Error, Etcd, Result, ServerTls, V2Api};

/// A cluster of real etcd members `n1`…`nN` on loopback.
#[derive(Debug)]
pub struct Cluster {
    nodes: Vec<Option<Etcd>>,
    settings: Settings,
    token: String,
    base_dir: Option<PathBuf>,
    /// Member names `n1`…`n{names_used}` are taken (started or pending).
    names_used: usize,
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

    /// Whether and how every member serves the v2 API (see [`EtcdBuilder::v2`]).
    ///
    /// [`EtcdBuilder::v2`]: crate::EtcdBuilder::v2
    pub fn v2(mut self, v2: V2Api) -> Self {
        self.settings.v2 = v2;
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

    /// Raft timers in milliseconds (defaults 100 and 1000).
    pub fn raft_timers(mut self, heartbeat_ms: u64, election_ms: u64) -> Self {
        self.settings.heartbeat_ms = heartbeat_ms;
        self.settings.election_ms = election_ms;
        self
    }

    /// Starts every member together and waits (up to 20 s) until all are healthy.
    ///
    /// With free ports, a failed start is retried twice on new ports. With a [`base_dir`] that
    /// holds the data of an earlier run and no [`base_port`], the ports recorded in
    /// `<base_dir>/ports` by that run are used again (etcd keeps its members' peer URLs).
    ///
    /// [`base_dir`]: ClusterBuilder::base_dir
    /// [`base_port`]: ClusterBuilder::base_port
    pub fn start(self) -> Result<Cluster> {
        if self.size == 0 {
            return Err(Error::Start("a cluster needs at least one member".into()));
        }
        let recorded = match (&self.base_dir, self.base_port) {
            (Some(dir), None) => recorded_ports(dir, self.size)?,
            _ => None,
        };
        if let Some(ports) = &recorded {
            for (client, peer) in ports {
                reserve_port(*client);
                reserve_port(*peer);
            }
        }
        let fixed = self.base_port.is_some() || recorded.is_some();
        let mut last = None;
        for attempt in 1..=if fixed { 1 } else { 3 } {
            if let Some(e) = &last {
                // Only the last attempt's error is returned: say why the one before failed
                // (a test shows its stderr when it fails).
                eprintln!(
                    "rsetcd-testkit: cluster start attempt {} failed: {e}",
                    attempt - 1
                );
            }
            let fresh: Vec<FreshData> = (1..=self.size)
                .map(|i| {
                    FreshData::new(
                        self.base_dir
                            .as_ref()
                            .map(|d| d.join(format!("n{i}")))
                            .as_deref(),
                    )
                })
                .collect();
            // On failure every member is killed (dropped) before `try_start` returns.
            match self.try_start(recorded.as_deref()) {
                Ok(c) => return Ok(c),
                Err(Error::EtcdMissing) => return Err(Error::EtcdMissing),
                Err(e) => {
                    fresh.into_iter().for_each(FreshData::undo);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Start("no attempt was made".into())))
    }

    fn ports(&self) -> Result<Vec<(u16, u16)>> {
        let mut ports = Vec::with_capacity(self.size);
        for i in 0..self.size {
            ports.push(match self.base_port {
                Some(base) => {
                    let overflow = || {
                        Error::Start(format!(
                            "base port {base} leaves no room for {} members",
                            self.size
                        ))
                    };
                    let client = u16::try_from(2 * i)
                        .ok()
                        .and_then(|offset| base.checked_add(offset))
                        .ok_or_else(overflow)?;
                    (client, client.checked_add(1).ok_or_else(overflow)?)
                }
                None => (alloc_port()?, alloc_port()?),
            });
        }
        Ok(ports)
    }

    fn try_start(&self, recorded: Option<&[(u16, u16)]>) -> Result<Cluster> {
        let ports = match recorded {
            Some(p) => p.to_vec(),
            None => self.ports()?,
        };
        let initial: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, peer))| format!("n{}=http://127.0.0.1:{peer}", i + 1))
            .collect();
        let initial = initial.join(",");
        let token = unique_token();
        let mut nodes = Vec::with_capacity(self.size);
        for (i, (client, peer)) in ports.iter().copied().enumerate() {
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
            names_used: self.size,
        };
        cluster.wait_healthy(self.settings.start_timeout)?;
        if let Some(dir) = &self.base_dir {
            record_ports(dir, &ports)?;
        }
        Ok(cluster)
    }
}

/// The file under a cluster's base directory that records its members' ports.
const PORTS_FILE: &str = "ports";

fn record_ports(dir: &Path, ports: &[(u16, u16)]) -> Result<()> {
    let text: String = ports
        .iter()
        .enumerate()
        .map(|(i, (client, peer))| format!("n{} {client} {peer}\n", i + 1))
        .collect();
    let path = dir.join(PORTS_FILE);
    std::fs::write(&path, text).map_err(|e| Error::io(&format!("write {}", path.display()), e))
}

/// The ports an earlier run recorded under `dir`, if every one of the `size` members has data
/// there and the record covers them all.
fn recorded_ports(dir: &Path, size: usize) -> Result<Option<Vec<(u16, u16)>>> {
    let all_have_data = (1..=size).all(|i| dir.join(format!("n{i}/data/member")).is_dir());
    let path = dir.join(PORTS_FILE);
    if !all_have_data || !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::io(&format!("read {}", path.display()), e))?;
    let bad = || Error::Start(format!("{} is not a ports record", path.display()));
    let mut ports = Vec::with_capacity(size);
    for (i, line) in text.lines().take(size).enumerate() {
        let mut words = line.split_whitespace();
        if words.next() != Some(format!("n{}", i + 1).as_str()) {
            return Err(bad());
        }
        let mut port = || {
            words
                .next()
                .and_then(|w| w.parse::<u16>().ok())
                .ok_or_else(bad)
        };
        ports.push((port()?, port()?));
    }
    Ok((ports.len() == size).then_some(ports))
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
            .ok_or(Error::NoMember { index: i })
    }

    /// `kill -9` member `i` (and reap it).
    pub fn kill(&mut self, i: usize) -> Result<()> {
        self.member(i)?.kill()
    }

    /// Freezes member `i` with SIGSTOP (see [`Etcd::pause`]).
    pub fn pause(&mut self, i: usize) -> Result<()> {
        self.member(i)?.pause()
    }

    /// Lets member `i` go on after [`Cluster::pause`] (SIGCONT).
    pub fn resume(&mut self, i: usize) -> Result<()> {
        self.member(i)?.resume()
    }

    /// Stops member `i` with SIGTERM (SIGKILL after 10 s).
    pub fn stop(&mut self, i: usize) -> Result<()> {
        self.member(i)?.stop()
    }

    /// Restarts member `i` on its ports with its data. If, with it, a majority of the members
    /// runs, waits until it serves clients again; otherwise (no quorum to come back to) only
    /// until its process listens.
    pub fn restart(&mut self, i: usize) -> Result<()> {
        self.member(i)?;
        let members = self.nodes.iter().flatten().count();
        let others_running = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, n)| *j != i && n.as_ref().is_some_and(Etcd::spawned))
            .count();
        let quorum = others_running + 1 > members / 2;
        self.member(i)?.restart_waiting(quorum)
    }

    /// Waits until every running member (killed and stopped ones are skipped) reports healthy,
    /// within `timeout` in all.
    pub fn wait_healthy(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        for node in self.nodes.iter().flatten().filter(|n| n.pid().is_some()) {
            node.wait_healthy(deadline.saturating_duration_since(Instant::now()))?;
        }
        Ok(())
    }

    /// Allocates a new member's name (`n{len+1}`, or later if several are pending) and ports; the
    /// member is not started. Add its `peer_url` through the members API, then call
    /// [`Cluster::start_member`].
    pub fn prepare_member(&mut self) -> Result<PendingMember> {
        let (client_port, peer_port) = (alloc_port()?, alloc_port()?);
        self.names_used += 1;
        Ok(PendingMember {
            name: format!("n{}", self.names_used),
            peer_url: format!("http://127.0.0.1:{peer_port}"),
            client_url: format!(
                "{}://127.0.0.1:{client_port}",
                if self.settings.secure() {
                    "https"
                } else {
                    "http"
                }
            ),
            client_port,
            peer_port,
        })
    }

    /// Starts a member already added through the members API, with `--initial-cluster` listing
    /// the current (not forgotten) members and it, and `--initial-cluster-state=existing`; waits
    /// until it is healthy and returns its index.
    pub fn start_member(&mut self, m: PendingMember) -> Result<usize> {
        let mut initial: Vec<String> = self
            .nodes
            .iter()
            .flatten()
            .map(|n| format!("{}={}", n.name(), n.peer_url()))
            .collect();
        initial.push(format!("{}={}", m.name, m.peer_url));
        let dir = self.base_dir.as_ref().map(|d| d.join(&m.name));
        let fresh = FreshData::new(dir.as_deref());
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
        if let Err(e) = node
            .spawn()
            .and_then(|()| node.wait_healthy(self.settings.start_timeout))
        {
            drop(node);
            fresh.undo();
            return Err(e);
        }
        self.nodes.push(Some(node));
        Ok(self.nodes.len() - 1)
    }

    /// Kills and drops member `i` once it was removed from the cluster; the other indexes stay
    /// as they are (`node(i)` then panics, and `endpoints()` leaves it out). Forgetting a member
    /// twice is not an error.
    pub fn forget(&mut self, i: usize) -> Result<()> {
        let slot = self.nodes.get_mut(i).ok_or(Error::NoMember { index: i })?;
        if let Some(node) = slot.as_mut() {
            node.kill()?;
        }
        *slot = None;
        Ok(())
    }
}
