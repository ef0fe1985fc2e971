//! member list / add / remove / update, and cluster-health.

use std::io::Write;
use std::time::Duration;

use rsetcd::v2::{Client, MemberId};

use crate::error::{CliError, Exit};
use crate::v2::cli::{Command, MemberCommand};
use crate::v2::context::{out, Ctx};

fn id(s: &Option<String>) -> Result<MemberId, CliError> {
    let s = s
        .as_deref()
        .ok_or_else(|| CliError::args("member ID required"))?;
    s.parse()
        .map_err(|_| CliError::args(format!("invalid member ID {s:?}")))
}

fn urls(s: &Option<String>) -> Result<Vec<String>, CliError> {
    let s = s
        .as_deref()
        .ok_or_else(|| CliError::args("peer URLs required"))?;
    Ok(s.split(',').map(str::to_string).collect())
}

fn io(e: std::io::Error) -> CliError {
    CliError::new(Exit::BadArgs, format!("Error:  {e}"))
}

/// Runs a member or cluster-health command; `false` when `cmd` is not one.
pub async fn run(ctx: &Ctx, cmd: &Command) -> Result<bool, CliError> {
    let c = &ctx.client;
    match cmd {
        Command::Member { command } => match command {
            MemberCommand::List => {
                let (members, leader) = ctx
                    .bounded(async {
                        Ok((c.members().await?, c.leader().await.ok().map(|l| l.id)))
                    })
                    .await?;
                let mut o = out();
                for m in members {
                    if m.name.is_empty() && m.client_urls.is_empty() {
                        writeln!(o, "{}[unstarted]: peerURLs={}", m.id, m.peer_urls.join(","))
                            .map_err(io)?;
                    } else {
                        writeln!(
                            o,
                            "{}: name={} peerURLs={} clientURLs={} isLeader={}",
                            m.id,
                            m.name,
                            m.peer_urls.join(","),
                            m.client_urls.join(","),
                            Some(m.id) == leader
                        )
                        .map_err(io)?;
                    }
                }
            }
            MemberCommand::Add { name, peer_urls } => {
                let name = name
                    .as_deref()
                    .ok_or_else(|| CliError::args("member name required"))?;
                let peer_urls = urls(peer_urls)?;
                let (added, members) = ctx
                    .bounded(async {
                        let added = c.add_member(peer_urls.clone()).await?;
                        Ok((added, c.members().await?))
                    })
                    .await?;
                let mut conf = Vec::new();
                for m in &members {
                    let n = if m.id == added.id {
                        name
                    } else {
                        m.name.as_str()
                    };
                    for u in &m.peer_urls {
                        conf.push(format!("{n}={u}"));
                    }
                }
                let mut o = out();
                writeln!(
                    o,
                    "Added member named {name} with ID {} to cluster\n",
                    added.id
                )
                .map_err(io)?;
                writeln!(o, "ETCD_NAME={name:?}").map_err(io)?;
                writeln!(o, "ETCD_INITIAL_CLUSTER={:?}", conf.join(",")).map_err(io)?;
                writeln!(o, "ETCD_INITIAL_CLUSTER_STATE=\"existing\"").map_err(io)?;
            }
            MemberCommand::Remove { id: i } => {
                let i = id(i)?;
                ctx.bounded(async { Ok(c.remove_member(i).await?) }).await?;
                writeln!(out(), "Removed member {i} from cluster").map_err(io)?;
            }
            MemberCommand::Update { id: i, peer_urls } => {
                let i = id(i)?;
                let peer_urls = urls(peer_urls)?;
                ctx.bounded(async { Ok(c.update_member(i, peer_urls).await?) })
                    .await?;
                writeln!(out(), "Updated member with ID {i} in cluster").map_err(io)?;
            }
        },
        Command::ClusterHealth { forever } => loop {
            let healthy = cluster_health(ctx).await?;
            if !forever {
                if !healthy {
                    return Err(CliError::plain(Exit::ServerError, String::new()));
                }
                break;
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        },
        _ => return Ok(false),
    }
    Ok(true)
}

/// Asks every member's `/health`; prints etcdctl's lines; true when every member is healthy.
async fn cluster_health(ctx: &Ctx) -> Result<bool, CliError> {
    let members = ctx
        .bounded(async { Ok(ctx.client.members().await?) })
        .await?;
    let mut all = true;
    let mut any = false;
    let mut o = out();
    for m in &members {
        if m.client_urls.is_empty() {
            writeln!(
                o,
                "member {} is unreachable: no available published client urls",
                m.id
            )
            .map_err(io)?;
            all = false;
            continue;
        }
        let mut checked = false;
        for url in &m.client_urls {
            let probe = Client::builder()
                .host(url)
                .connect_timeout(ctx.global.timeout)
                .request_timeout(ctx.global.timeout)
                .build()?;
            match probe.health().await {
                Ok(true) => {
                    writeln!(
                        o,
                        "member {} is healthy: got healthy result from {url}",
                        m.id
                    )
                    .map_err(io)?;
                    any = true;
                }
                Ok(false) => {
                    writeln!(
                        o,
                        "member {} is unhealthy: got unhealthy result from {url}",
                        m.id
                    )
                    .map_err(io)?;
                    all = false;
                }
                Err(e) => {
                    writeln!(
                        o,
                        "failed to check the health of member {} on {url}: {e}",
                        m.id
                    )
                    .map_err(io)?;
                    continue;
                }
            }
            checked = true;
            break;
        }
        if !checked {
            writeln!(
                o,
                "member {} is unreachable: [{}] are all unreachable",
                m.id,
                m.client_urls.join(" ")
            )
            .map_err(io)?;
            all = false;
        }
    }
    let verdict = if all {
        "cluster is healthy"
    } else if any {
        "cluster is degraded"
    } else {
        "cluster is unavailable"
    };
    writeln!(o, "{verdict}").map_err(io)?;
    Ok(all)
}
