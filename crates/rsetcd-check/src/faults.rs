//! Faults injected into a running cluster, each a [`Fault`]: injected, held, healed. Kinds today:
//! kill -9 and restart of the leader or a follower, SIGSTOP / SIGCONT of either, a member cut off
//! from the clients (its freezable proxy), a leader move, a compaction, and a member replaced
//! (removed, a new one added). A new kind — such as the exact-point fault proxy's dropped
//! answers or cuts after the head — is one more type implementing [`Fault`] on [`Env`].

use std::time::Duration;

use rsetcd_testkit::{Cluster, Proxy};

/// What faults act on.
#[derive(Debug)]
pub struct Env {
    /// The cluster.
    pub cluster: Cluster,
    /// One proxy per original member (clients connect through them).
    pub proxies: Vec<Proxy>,
    /// The indexes of the members in the cluster now.
    pub members: Vec<usize>,
    /// A v3 client straight to the members (not through the proxies).
    pub admin: rsetcd::v3::Client,
    /// A runtime handle for the admin client's calls.
    pub rt: tokio::runtime::Handle,
}

impl Env {
    fn status(&self, i: usize) -> Option<rsetcd::v3::StatusResponse> {
        let url = self.cluster.node(i).client_url();
        let call = self.admin.status_at(&url);
        self.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(3), call).await })
            .ok()?
            .ok()
    }

    /// The member id of member `i`.
    pub fn member_id(&self, i: usize) -> Option<u64> {
        self.status(i)?.header.map(|h| h.member_id)
    }

    /// The index of the current leader, if one is known.
    pub fn leader(&self) -> Option<usize> {
        self.members.iter().copied().find(|&i| {
            self.status(i)
                .is_some_and(|s| s.header.is_some_and(|h| h.member_id == s.leader))
        })
    }

    /// A member that is not the leader (the first, `pick`-th of them).
    pub fn follower(&self, pick: usize) -> Option<usize> {
        let leader = self.leader()?;
        let others: Vec<usize> = self
            .members
            .iter()
            .copied()
            .filter(|&i| i != leader)
            .collect();
        others.get(pick % others.len().max(1)).copied()
    }

    /// Waits until every running member is healthy.
    pub fn wait_healthy(&self) -> Result<(), String> {
        self.cluster
            .wait_healthy(Duration::from_secs(30))
            .map_err(|e| e.to_string())
    }
}

/// A fault: `inject` starts it (and says what it did), `heal` ends it.
pub trait Fault: Send {
    /// Starts the fault.
    fn inject(&mut self, env: &mut Env) -> Result<String, String>;
    /// Ends it.
    fn heal(&mut self, env: &mut Env) -> Result<(), String>;
}

/// The fault kinds the command line knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// kill -9 the leader, restart it.
    KillLeader,
    /// kill -9 a follower, restart it.
    KillFollower,
    /// SIGSTOP the leader, SIGCONT it.
    StopLeader,
    /// SIGSTOP a follower, SIGCONT it.
    StopFollower,
    /// Freeze a member's proxy (clients cannot reach it), thaw it.
    Partition,
    /// Move the leadership to a follower.
    MoveLeader,
    /// Compact the history at the current revision.
    Compact,
    /// Remove a follower and add a new member in its place (a member added so before goes
    /// first, so that at most one original member — one the clients know — is replaced).
    MemberReplace,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] = [
        Kind::KillLeader,
        Kind::StopFollower,
        Kind::Partition,
        Kind::KillFollower,
        Kind::MoveLeader,
        Kind::Compact,
        Kind::StopLeader,
        Kind::MemberReplace,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::KillLeader => "kill-leader",
            Kind::KillFollower => "kill-follower",
            Kind::StopLeader => "stop-leader",
            Kind::StopFollower => "stop-follower",
            Kind::Partition => "partition",
            Kind::MoveLeader => "move-leader",
            Kind::Compact => "compact",
            Kind::MemberReplace => "member-replace",
        }
    }

    /// Parses a name; `kill` and `stop` mean both of their kinds.
    pub fn parse(s: &str) -> Option<Vec<Kind>> {
        match s {
            "kill" => Some(vec![Kind::KillLeader, Kind::KillFollower]),
            "stop" => Some(vec![Kind::StopLeader, Kind::StopFollower]),
            "all" => Some(Kind::ALL.to_vec()),
            _ => Kind::ALL.iter().find(|k| k.name() == s).map(|k| vec![*k]),
        }
    }

    /// A fault of this kind; `pick` chooses among followers.
    pub fn make(self, pick: usize) -> Box<dyn Fault> {
        match self {
            Kind::KillLeader => Box::new(Kill {
                leader: true,
                pick,
                member: None,
            }),
            Kind::KillFollower => Box::new(Kill {
                leader: false,
                pick,
                member: None,
            }),
            Kind::StopLeader => Box::new(Stop {
                leader: true,
                pick,
                pid: None,
            }),
            Kind::StopFollower => Box::new(Stop {
                leader: false,
                pick,
                pid: None,
            }),
            Kind::Partition => Box::new(Partition { pick, member: None }),
            Kind::MoveLeader => Box::new(MoveLeader { pick }),
            Kind::Compact => Box::new(Compact),
            Kind::MemberReplace => Box::new(MemberReplace { pick }),
        }
    }
}

fn target(env: &Env, leader: bool, pick: usize) -> Result<usize, String> {
    let t = if leader {
        env.leader()
    } else {
        env.follower(pick)
    };
    t.ok_or_else(|| "no leader known".to_string())
}

struct Kill {
    leader: bool,
    pick: usize,
    member: Option<usize>,
}

impl Fault for Kill {
    fn inject(&mut self, env: &mut Env) -> Result<String, String> {
        let i = target(env, self.leader, self.pick)?;
        env.cluster.kill(i).map_err(|e| e.to_string())?;
        self.member = Some(i);
        let role = if self.leader { "leader" } else { "follower" };
        Ok(format!("kill -9 {role} {}", env.cluster.node(i).name()))
    }
    fn heal(&mut self, env: &mut Env) -> Result<(), String> {
        match self.member.take() {
            Some(i) => env.cluster.restart(i).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

struct Stop {
    leader: bool,
    pick: usize,
    pid: Option<u32>,
}

fn signal(pid: u32, sig: libc::c_int) -> Result<(), String> {
    let pid = libc::pid_t::try_from(pid).map_err(|e| e.to_string())?;
    // SAFETY: kill(2) on a pid of a process this test started; no memory is involved.
    let r = unsafe { libc::kill(pid, sig) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().to_string())
    }
}

impl Fault for Stop {
    fn inject(&mut self, env: &mut Env) -> Result<String, String> {
        let i = target(env, self.leader, self.pick)?;
        let pid = env.cluster.node(i).pid().ok_or("member not running")?;
        signal(pid, libc::SIGSTOP)?;
        self.pid = Some(pid);
        let role = if self.leader { "leader" } else { "follower" };
        Ok(format!(
            "SIGSTOP {role} {} (pid {pid})",
            env.cluster.node(i).name()
        ))
    }
    fn heal(&mut self, _env: &mut Env) -> Result<(), String> {
        match self.pid.take() {
            Some(pid) => signal(pid, libc::SIGCONT),
            None => Ok(()),
        }
    }
}

struct Partition {
    pick: usize,
    member: Option<usize>,
}

impl Fault for Partition {
    fn inject(&mut self, env: &mut Env) -> Result<String, String> {
        let with_proxy: Vec<usize> = env
            .members
            .iter()
            .copied()
            .filter(|&i| i < env.proxies.len())
            .collect();
        let i = *with_proxy
            .get(self.pick % with_proxy.len().max(1))
            .ok_or("no member behind a proxy")?;
        env.proxies[i].freeze();
        self.member = Some(i);
        Ok(format!(
            "partition {} from the clients",
            env.cluster.node(i).name()
        ))
    }
    fn heal(&mut self, env: &mut Env) -> Result<(), String> {
        if let Some(i) = self.member.take() {
            env.proxies[i].thaw();
        }
        Ok(())
    }
}

struct MoveLeader {
    pick: usize,
}

impl Fault for MoveLeader {
    fn inject(&mut self, env: &mut Env) -> Result<String, String> {
        let to = env.follower(self.pick).ok_or("no leader known")?;
        let id = env.member_id(to).ok_or("no member id")?;
        let call = env.admin.move_leader(id);
        env.rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(10), call).await })
            .map_err(|_| "move-leader timed out".to_string())?
            .map_err(|e| e.to_string())?;
        Ok(format!("leader moved to {}", env.cluster.node(to).name()))
    }
    fn heal(&mut self, _env: &mut Env) -> Result<(), String> {
        Ok(())
    }
}

struct Compact;

impl Fault for Compact {
    fn inject(&mut self, env: &mut Env) -> Result<String, String> {
        let admin = env.admin.clone();
        let rev = env.rt.block_on(async move {
            let r = admin.get("/").await.map_err(|e| e.to_string())?;
            let rev = r.header.map_or(0, |h| h.revision);
            admin.compact(rev, false).await.map_err(|e| e.to_string())?;
            Ok::<i64, String>(rev)
        })?;
        Ok(format!("compacted at revision {rev}"))
    }
    fn heal(&mut self, _env: &mut Env) -> Result<(), String> {
        Ok(())
    }
}

struct MemberReplace {
    pick: usize,
}

impl Fault for MemberReplace {
    fn inject(&mut self, env: &mut Env) -> Result<String, String> {
        // A member added by an earlier replacement goes first: clients reach only the
        // original members (through their proxies), so at most one of those is replaced.
        let leader = env.leader().ok_or("no leader known")?;
        let added = env
            .members
            .iter()
            .copied()
            .find(|&i| i != leader && i >= env.proxies.len());
        let old = match added {
            Some(i) => i,
            None => env.follower(self.pick).ok_or("no leader known")?,
        };
        let id = env.member_id(old).ok_or("no member id")?;
        let name = env.cluster.node(old).name().to_string();
        // Asked of the other members: the one removed stops as it applies its removal.
        let others: Vec<String> = env
            .members
            .iter()
            .filter(|&&i| i != old)
            .map(|&i| env.cluster.node(i).client_url())
            .collect();
        let admin = rsetcd::v3::Client::builder()
            .endpoints(others)
            .request_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        let is_member = |admin: &rsetcd::v3::Client| {
            let list = env.rt.block_on(admin.member_list());
            list.map(|l| l.members.iter().any(|m| m.id == id))
        };
        let removed = env.rt.block_on(admin.member_remove(id));
        // An unknown outcome is settled by the member list (bounded).
        if let Err(e) = removed {
            let mut gone = false;
            for _ in 0..20 {
                if let Ok(still) = is_member(&admin) {
                    gone = !still;
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            if !gone {
                return Err(format!("member remove: {e}"));
            }
        }
        env.cluster.forget(old).map_err(|e| e.to_string())?;
        env.members.retain(|&i| i != old);
        let pending = env.cluster.prepare_member().map_err(|e| e.to_string())?;
        let peer = pending.peer_url.clone();
        // Right after a removal etcd may refuse a change as "unhealthy cluster": retry (bounded).
        let mut added = Err(String::new());
        for _ in 0..20 {
            added = env
                .rt
                .block_on(admin.member_add([peer.clone()], false))
                .map(|_| ())
                .map_err(|e| e.to_string());
            if added.is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        added?;
        let new = env
            .cluster
            .start_member(pending)
            .map_err(|e| e.to_string())?;
        env.members.push(new);
        // The admin client follows the membership (a leader move asks the leader itself).
        if let Ok(admin) = rsetcd::v3::Client::builder()
            .endpoints(env.cluster.endpoints())
            .request_timeout(Duration::from_secs(3))
            .build()
        {
            env.admin = admin;
        }
        Ok(format!(
            "member {name} removed, {} added",
            env.cluster.node(new).name()
        ))
    }
    fn heal(&mut self, _env: &mut Env) -> Result<(), String> {
        Ok(())
    }
}
