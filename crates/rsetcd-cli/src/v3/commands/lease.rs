//! `lease grant|revoke|timetolive|list|keep-alive`.

use std::ffi::OsString;

use clap::{Args, Subcommand};
use rsetcd::v3::proto::etcdserverpb::{LeaseKeepAliveResponse, LeaseStatus};
use rsetcd::v3::{
    LeaseGrantResponse, LeaseLeasesResponse, LeaseRevokeResponse, LeaseState,
    LeaseTimeToLiveResponse,
};
use serde::Serialize;

use super::parse_int;
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, fail, lib, Exit, OrFail};
use crate::v3::output::json::{self as j, Embedded};
use crate::v3::output::{fields, protobuf, Out, Printable};

/// The lease commands.
#[derive(Debug, Subcommand)]
pub enum LeaseCommand {
    /// Creates leases
    Grant(Positional),
    /// Revokes leases
    Revoke(Positional),
    /// Get lease information
    Timetolive(TimeToLiveArgs),
    /// List all active leases
    List(Positional),
    /// Keeps leases alive (renew)
    KeepAlive(KeepAliveArgs),
}

pub use super::Positional;

/// Flags of `lease timetolive`.
#[derive(Debug, Args)]
pub struct TimeToLiveArgs {
    /// Get keys attached to this lease
    #[arg(long)]
    pub keys: bool,
    /// <leaseID>
    pub args: Vec<OsString>,
}

/// Flags of `lease keep-alive`.
#[derive(Debug, Args)]
pub struct KeepAliveArgs {
    /// Resets the keep-alive time to its original value and exits immediately
    #[arg(long)]
    pub once: bool,
    /// <leaseID>
    pub args: Vec<OsString>,
}

fn lease_id(arg: &OsString) -> Result<i64, CliError> {
    parse_int(&arg.to_string_lossy(), 16)
        .map_err(|e| bad_args(format!("bad lease ID arg ({e}), expecting ID in Hex")))
}

fn one<'a>(args: &'a [OsString], message: &str) -> Result<&'a OsString, CliError> {
    match args {
        [only] => Ok(only),
        _ => Err(bad_args(message)),
    }
}

/// Runs a lease command.
pub async fn run(ctx: &Ctx, command: &LeaseCommand) -> Result<(), CliError> {
    match command {
        LeaseCommand::Grant(a) => {
            let arg = one(&a.args, "lease grant command needs TTL argument")?;
            let ttl = parse_int(&arg.to_string_lossy(), 10)
                .map_err(|e| bad_args(format!("bad TTL ({e})")))?;
            let client = ctx.client().await?;
            let answer = ctx
                .bounded(async {
                    client.lease_grant(ttl).await.map_err(|e| {
                        fail(
                            Exit::Error,
                            format!(
                                "failed to grant lease ({})\n",
                                crate::v3::error::describe(&e)
                            ),
                        )
                    })
                })
                .await?;
            ctx.print(&Grant(answer))
        }
        LeaseCommand::Revoke(a) => {
            let id = lease_id(one(&a.args, "lease revoke command needs 1 argument")?)?;
            let client = ctx.client().await?;
            let answer = ctx
                .bounded(async {
                    client.lease_revoke(id).await.map_err(|e| {
                        fail(
                            Exit::Error,
                            format!(
                                "failed to revoke lease ({})\n",
                                crate::v3::error::describe(&e)
                            ),
                        )
                    })
                })
                .await?;
            ctx.print(&Revoke(id, answer))
        }
        LeaseCommand::Timetolive(a) => {
            let id = lease_id(one(
                &a.args,
                "lease timetolive command needs lease ID as argument",
            )?)?;
            let client = ctx.client().await?;
            let answer = ctx
                .bounded(async {
                    client
                        .lease_time_to_live(id, a.keys)
                        .await
                        .map_err(lib(Exit::BadConnection))
                })
                .await?;
            ctx.print(&TimeToLive(answer, a.keys))
        }
        LeaseCommand::List(_) => {
            let client = ctx.client().await?;
            let answer = ctx
                .bounded(async {
                    client.leases().await.map_err(|e| {
                        fail(
                            Exit::Error,
                            format!("failed to list leases ({})", crate::v3::error::describe(&e)),
                        )
                    })
                })
                .await?;
            ctx.print(&Leases(answer))
        }
        LeaseCommand::KeepAlive(a) => keep_alive(ctx, a).await,
    }
}

async fn keep_alive(ctx: &Ctx, a: &KeepAliveArgs) -> Result<(), CliError> {
    let id = lease_id(one(
        &a.args,
        "lease keep-alive command needs lease ID as argument",
    )?)?;
    let client = ctx.client().await?;
    // The keep-alive answers carry no header here: the json and fields formats take the
    // cluster's from a time-to-live read first (its revision is the one at the start).
    let header = ctx
        .bounded(async { client.lease_time_to_live(id, false).await.or_fail() })
        .await?
        .header;
    let expired = || write_stdout(format!("lease {id:016x} expired or revoked.\n").as_bytes());
    let mut keep = match client.lease_keep_alive(id).await {
        Ok(k) => k,
        Err(e) if e.v3_kind() == Some(rsetcd::v3::V3ErrorKind::LeaseNotFound) => {
            if a.once {
                return Err(fail(
                    Exit::BadConnection,
                    "etcdserver: requested lease not found",
                ));
            }
            return expired();
        }
        Err(e) => return Err(lib(Exit::BadConnection)(e)),
    };
    loop {
        match keep.changed().await {
            LeaseState::Alive { ttl } => {
                let answer = LeaseKeepAliveResponse { header, id, ttl };
                ctx.print(&KeepAlive(answer))?;
                if a.once {
                    return Ok(());
                }
            }
            LeaseState::Starting => {}
            LeaseState::Lost(_) => return expired(),
            _ => return expired(),
        }
    }
}

/// A granted lease (clientv3's `LeaseGrantResponse`).
pub struct Grant(pub LeaseGrantResponse);

#[derive(Serialize)]
struct GrantJson {
    #[serde(flatten)]
    header: Embedded,
    #[serde(rename = "ID")]
    id: i64,
    #[serde(rename = "TTL")]
    ttl: i64,
    #[serde(rename = "Error")]
    error: String,
}

impl Printable for Grant {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&format!(
            "lease {:016x} granted with TTL({}s)",
            self.0.id, self.0.ttl
        ));
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &GrantJson {
                header: Embedded::of(self.0.header.as_ref()),
                id: self.0.id,
                ttl: self.0.ttl,
                error: self.0.error.clone(),
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.0.header.as_ref());
        fields::field(out, "ID", self.0.id);
        fields::field(out, "TTL", self.0.ttl);
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::embedded_header(out, self.0.header.as_ref());
        Ok(())
    }
}

/// A revoked lease.
pub struct Revoke(pub i64, pub LeaseRevokeResponse);

impl Printable for Revoke {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&format!("lease {:016x} revoked", self.0));
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        #[derive(Serialize)]
        struct RevokeJson {
            header: j::Header,
        }
        j::line(
            out,
            &RevokeJson {
                header: j::Header::of(self.1.header.as_ref()),
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.1.header.as_ref());
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.1);
        Ok(())
    }
}

/// A lease's time to live (clientv3's `LeaseTimeToLiveResponse`), with or without its keys.
pub struct TimeToLive(pub LeaseTimeToLiveResponse, pub bool);

#[derive(Serialize)]
struct Key<'a>(#[serde(serialize_with = "j::b64")] &'a [u8]);

#[derive(Serialize)]
struct TimeToLiveJson<'a> {
    #[serde(flatten)]
    header: Embedded,
    id: i64,
    ttl: i64,
    #[serde(rename = "granted-ttl")]
    granted_ttl: i64,
    keys: Option<Vec<Key<'a>>>,
}

impl Printable for TimeToLive {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        let r = &self.0;
        if r.granted_ttl == 0 && r.ttl == -1 {
            out.line(&format!("lease {:016x} already expired", r.id));
            return Ok(());
        }
        let mut text = format!(
            "lease {:016x} granted with TTL({}s), remaining({}s)",
            r.id, r.granted_ttl, r.ttl
        );
        if self.1 {
            let keys: Vec<String> = r
                .keys
                .iter()
                .map(|k| String::from_utf8_lossy(k).into_owned())
                .collect();
            text.push_str(&format!(", attached keys([{}])", keys.join(" ")));
        }
        out.line(&text);
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        let r = &self.0;
        j::line(
            out,
            &TimeToLiveJson {
                header: Embedded::of(r.header.as_ref()),
                id: r.id,
                ttl: r.ttl,
                granted_ttl: r.granted_ttl,
                keys: (!r.keys.is_empty()).then(|| r.keys.iter().map(|k| Key(k)).collect()),
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        let r = &self.0;
        fields::header(out, r.header.as_ref());
        fields::field(out, "ID", r.id);
        fields::field(out, "TTL", r.ttl);
        fields::field(out, "GrantedTTL", r.granted_ttl);
        for k in &r.keys {
            fields::field(out, "Key", fields::quote(k));
        }
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::embedded_header(out, self.0.header.as_ref());
        Ok(())
    }
}

/// The active leases.
pub struct Leases(pub LeaseLeasesResponse);

#[derive(Serialize)]
struct LeaseJson {
    id: i64,
}

#[derive(Serialize)]
struct LeasesJson {
    #[serde(flatten)]
    header: Embedded,
    leases: Vec<LeaseJson>,
}

impl Printable for Leases {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&format!("found {} leases", self.0.leases.len()));
        for LeaseStatus { id } in &self.0.leases {
            out.line(&format!("{id:016x}"));
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &LeasesJson {
                header: Embedded::of(self.0.header.as_ref()),
                leases: self
                    .0
                    .leases
                    .iter()
                    .map(|l| LeaseJson { id: l.id })
                    .collect(),
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.0.header.as_ref());
        for l in &self.0.leases {
            fields::field(out, "ID", l.id);
        }
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::embedded_header(out, self.0.header.as_ref());
        Ok(())
    }
}

/// One keep-alive answer.
pub struct KeepAlive(pub LeaseKeepAliveResponse);

#[derive(Serialize)]
struct KeepAliveJson {
    #[serde(flatten)]
    header: Embedded,
    #[serde(rename = "ID")]
    id: i64,
    #[serde(rename = "TTL")]
    ttl: i64,
}

impl Printable for KeepAlive {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&format!(
            "lease {:016x} keepalived with TTL({})",
            self.0.id, self.0.ttl
        ));
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &KeepAliveJson {
                header: Embedded::of(self.0.header.as_ref()),
                id: self.0.id,
                ttl: self.0.ttl,
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.0.header.as_ref());
        fields::field(out, "ID", self.0.id);
        fields::field(out, "TTL", self.0.ttl);
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::embedded_header(out, self.0.header.as_ref());
        Ok(())
    }
}
