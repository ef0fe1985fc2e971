//! Faults injected into a running cluster, each a [`Fault`]: injected, held, healed. Kinds today:
//! kill -9 and restart of the leader or a follower, SIGSTOP / SIGCONT of either, a member cut off
//! from the clients (its freezable proxy), a leader move, a compaction, a member replaced
//! (removed, a new one added), and the exact-point fault proxy's faults on every matching
//! exchange with one member ([`proxy_faults`](crate::proxy_faults): answers dropped, reset, cut
//! after the head or in the body, delayed past the request timeout; GOAWAY and REFUSED_STREAM).
//! A new kind is one more type implementing [`Fault`] on [`Env`].

use std::time::Duration;

use rsetcd_testkit::Cluster;

use crate::proxy_faults::{Answer, ProxyFault, Route};

/// What faults act on.
#[derive(Debug)]
pub struct Env {
    /// The cluster.
    pub cluster: Cluster,
    /// One route per original member: the clients connect through its fault proxies, which
    /// connect through its freezable proxy.
    pub routes: Vec<Route>,
    /// Every client of the traffic (watchers too): a proxy fault goes to the member most of
    /// them use now.
    pub clients: Vec<Pinned>,
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

    /// The members in the cluster that have a route (the original members still in it).
    pub fn routed(&self) -> Vec<usize> {
        self.members
            .iter()
            .copied()
            .filter(|&i| i < self.routes.len())
            .collect()
    }

    /// Waits until every running member is healthy.
    pub fn wait_healthy(&self) -> Result<(), String> {
        self.cluster
            .wait_healthy(Duration::from_secs(30))
            .map_err(|e| e.to_string())
    }
}

/// A client whose current member (the endpoint it tries first) a fault can ask for.
#[derive(Debug, Clone)]
pub enum Pinned {
    /// A v2 client (through the routes' HTTP/1.1 fault proxies).
    V2(rsetcd::v2::Client),
    /// A v3 client (through the routes' HTTP/2 fault proxies).
    V3(rsetcd::v3::Client),
}

impl Pinned {
    /// Whether it is a v3 client.
    pub fn is_v3(&self) -> bool {
        matches!(self, Pinned::V3(_))
    }

    /// The route (index of `routes`) the client tries first now.
    pub fn route(&self, routes: &[Route]) -> Option<usize> {
        let (first, v2) = match self {
            Pinned::V2(c) => (c.endpoints().into_iter().next()?, true),
            Pinned::V3(c) => (c.endpoints().into_iter().next()?, false),
        };
        routes.iter().position(|r| r.url(v2) == first)
    }
}

/// How often a proxy fault fired while it was held, by the kind of exchange it hit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fired {
    /// Every firing.
    pub total: usize,
    /// Per kind of exchange (`v2 watch polls`, `v3 txns`, …), those that fired.
    pub by_class: Vec<(String, usize)>,
}

impl Fired {
    /// Adds `other`'s firings to these (classes in the order first seen).
    pub fn add(&mut self, other: &Fired) {
        self.total += other.total;
        for (class, n) in &other.by_class {
            match self.by_class.iter_mut().find(|(c, _)| c == class) {
                Some((_, m)) => *m += n,
                None => self.by_class.push((class.clone(), *n)),
            }
        }
    }
}

impl std::fmt::Display for Fired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fired {}", self.total)?;
        for (i, (class, n)) in self.by_class.iter().enumerate() {
            let sep = if i == 0 { ": " } else { ", " };
            write!(f, "{sep}{class} {n}")?;
        }
        Ok(())
    }
}

/// A fault: `inject` starts it (and says what it did), `heal` ends it.
pub trait Fault: Send {
    /// Starts the fault.
    fn inject(&mut self, env: &mut Env) -> Result<String, String>;
    /// Ends it.
    fn heal(&mut self, env: &mut Env) -> Result<(), String>;
    /// For a fault that fires on exchanges: how often it did (asked after `heal`).
    fn fired(&self) -> Option<Fired> {
        None
    }
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
    /// One member's fault proxies forward each request, then drop the answer and close.
    DropAnswers,
    /// … forward each request, then reset the connection (RST) as the answer starts.
    ResetAnswers,
    /// … forward each answer's head only, then close.
    CutAfterHead,
    /// … forward each answer's head and half of its first body part, then close.
    CutMidBody,
    /// … (v3 only) keep each new stream from etcd and send a GOAWAY below it, then close.
    GoAway,
    /// … (v3 only) keep each new stream from etcd and refuse it (RST_STREAM REFUSED_STREAM).
    RefuseStreams,
    /// … hold each answer past the clients' request timeout, then forward it.
    DelayAnswers,
}

impl Kind {
    /// Every kind, in the order `all` injects them (the proxy's faults between the others).
    pub const ALL: [Kind; 15] = [
        Kind::KillLeader,
        Kind::DropAnswers,
        Kind::StopFollower,
        Kind::CutAfterHead,
        Kind::Partition,
        Kind::GoAway,
        Kind::KillFollower,
        Kind::ResetAnswers,
        Kind::MoveLeader,
        Kind::CutMidBody,
        Kind::Compact,
        Kind::RefuseStreams,
        Kind::StopLeader,
        Kind::DelayAnswers,
        Kind::MemberReplace,
    ];

    /// The kinds that act through the fault proxies.
    pub const PROXY: [Kind; 7] = [
        Kind::DropAnswers,
        Kind::ResetAnswers,
        Kind::CutAfterHead,
        Kind::CutMidBody,
        Kind::GoAway,
        Kind::RefuseStreams,
        Kind::DelayAnswers,
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
            Kind::DropAnswers => "drop-answers",
            Kind::ResetAnswers => "reset-answers",
            Kind::CutAfterHead => "cut-after-head",
            Kind::CutMidBody => "cut-mid-body",
            Kind::GoAway => "goaway",
            Kind::RefuseStreams => "refuse-streams",
            Kind::DelayAnswers => "delay-answers",
        }
    }

    /// Parses a name; `kill` and `stop` mean both of their kinds, `cut-answers` both cuts,
    /// `proxy` every fault of the fault proxies.
    pub fn parse(s: &str) -> Option<Vec<Kind>> {
        match s {
            "kill" => Some(vec![Kind::KillLeader, Kind::KillFollower]),
            "stop" => Some(vec![Kind::StopLeader, Kind::StopFollower]),
            "cut-answers" => Some(vec![Kind::CutAfterHead, Kind::CutMidBody]),
            "proxy" => Some(Kind::PROXY.to_vec()),
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
            Kind::DropAnswers => Box::new(ProxyFault::new(Answer::Drop, pick)),
            Kind::ResetAnswers => Box::new(ProxyFault::new(Answer::Reset, pick)),
            Kind::CutAfterHead => Box::new(ProxyFault::new(Answer::CutAfterHead, pick)),
            Kind::CutMidBody => Box::new(ProxyFault::new(Answer::CutMidBody, pick)),
            Kind::GoAway => Box::new(ProxyFault::new(Answer::GoAway, pick)),
            Kind::RefuseStreams => Box::new(ProxyFault::new(Answer::RefusedStream, pick)),
            Kind::DelayAnswers => Box::new(ProxyFault::new(Answer::Delay, pick)),
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
        let with_proxy = env.routed();
        let i = *with_proxy
            .get(self.pick % with_proxy.len().max(1))
            .ok_or("no member behind a proxy")?;
        env.routes[i].freeze.freeze();
        self.member = Some(i);
        Ok(format!(
            "partition {} from the clients",
            env.cluster.node(i).name()
        ))
    }
    fn heal(&mut self, env: &mut Env) -> Result<(), String> {
        if let Some(i) = self.member.take() {
            env.routes[i].freeze.thaw();
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
        // A member added by an earlier replacement goes first, even when it leads (etcd lets a
        // leader remove itself; it steps down once it applies that): clients reach only the
        // original members (through their proxies), so at most one of those is ever replaced
        // and two routes stay live for the whole run.
        let added = env.members.iter().copied().find(|&i| i >= env.routes.len());
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
