//! `member add|remove|update|list|promote`.

use std::ffi::OsString;

use clap::{Args, Subcommand};
use rsetcd::v3::proto::etcdserverpb::{
    Member, MemberAddResponse, MemberListResponse, MemberPromoteResponse, MemberRemoveResponse,
    MemberUpdateResponse,
};
use serde::Serialize;

use super::{parse_uint, Positional};
use crate::error::CliError;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, OrFail};
use crate::v3::output::fields::{self, quote};
use crate::v3::output::json::{self as j, empty, zero};
use crate::v3::output::{protobuf, table, Out, Printable};

/// The member commands.
#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Adds a member into the cluster
    Add(AddArgs),
    /// Removes a member from the cluster
    Remove(Positional),
    /// Updates a member in the cluster
    Update(UpdateArgs),
    /// Lists all members in the cluster
    List(Positional),
    /// Promotes a non-voting member in the cluster
    Promote(Positional),
}

/// Flags of `member add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// comma separated peer URLs for the new member.
    #[arg(long, default_value = "")]
    pub peer_urls: String,
    /// indicates if the new member is raft learner
    #[arg(long)]
    pub learner: bool,
    /// <memberName>
    pub args: Vec<OsString>,
}

/// Flags of `member update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// comma separated peer URLs for the updated member.
    #[arg(long, default_value = "")]
    pub peer_urls: String,
    /// <memberID>
    pub args: Vec<OsString>,
}

fn member_id(args: &[OsString]) -> Result<u64, CliError> {
    let [arg] = args else {
        return Err(bad_args("member ID is not provided"));
    };
    parse_uint(&arg.to_string_lossy(), 16)
        .map_err(|e| bad_args(format!("bad member ID arg ({e}), expecting ID in Hex")))
}

/// Runs a member command.
pub async fn run(ctx: &Ctx, command: &MemberCommand) -> Result<(), CliError> {
    match command {
        MemberCommand::Add(a) => add(ctx, a).await,
        MemberCommand::Remove(a) => {
            let id = member_id(&a.args)?;
            let client = ctx.client().await?;
            let answer = ctx
                .bounded(async { client.member_remove(id).await.or_fail() })
                .await?;
            ctx.print(&Changed::Removed(id, answer))
        }
        MemberCommand::Update(a) => {
            let id = member_id(&a.args)?;
            if a.peer_urls.is_empty() {
                return Err(bad_args("member peer urls not provided"));
            }
            let urls: Vec<&str> = a.peer_urls.split(',').collect();
            let client = ctx.client().await?;
            let answer = ctx
                .bounded(async { client.member_update(id, urls).await.or_fail() })
                .await?;
            ctx.print(&Changed::Updated(id, answer))
        }
        MemberCommand::Promote(a) => {
            let id = member_id(&a.args)?;
            let client = ctx.client().await?;
            let answer = ctx
                .bounded(async { client.member_promote(id).await.or_fail() })
                .await?;
            ctx.print(&Changed::Promoted(id, answer))
        }
        MemberCommand::List(_) => {
            let client = ctx.client().await?;
            let answer = ctx
                .bounded(async { client.member_list().await.or_fail() })
                .await?;
            ctx.print(&List(answer))
        }
    }
}

async fn add(ctx: &Ctx, a: &AddArgs) -> Result<(), CliError> {
    let name = match a.args.as_slice() {
        [] => return Err(bad_args("member name not provided")),
        [name] => name.to_string_lossy().into_owned(),
        many => {
            let mut why = String::from("too many arguments");
            for s in many {
                let s = s.to_string_lossy();
                if s.to_lowercase().starts_with("http") {
                    why.push_str(&format!(", did you mean --peer-urls={s}"));
                }
            }
            return Err(bad_args(why));
        }
    };
    if a.peer_urls.is_empty() {
        return Err(bad_args("member peer urls not provided"));
    }
    let urls: Vec<&str> = a.peer_urls.split(',').collect();
    let client = ctx.client().await?;
    let answer = ctx
        .bounded(async { client.member_add(urls, a.learner).await.or_fail() })
        .await?;
    ctx.print(&Added(&answer))?;
    if ctx.format != crate::v3::output::Format::Simple {
        return Ok(());
    }
    // The member list as the member that added it sees it (etcdctl asks again after a quorum
    // read when another member answered the list).
    let added_by = answer.header.as_ref().map_or(0, |h| h.member_id);
    let list = ctx
        .bounded(async {
            let mut list = client.member_list().await.or_fail()?;
            for _ in 0..10 {
                if list.header.as_ref().map_or(0, |h| h.member_id) == added_by {
                    break;
                }
                client.get("_").await.or_fail()?;
                list = client.member_list().await.or_fail()?;
            }
            Ok(list)
        })
        .await?;
    let new_id = answer.member.as_ref().map_or(0, |m| m.id);
    let mut conf = Vec::new();
    for m in &list.members {
        for u in &m.peer_ur_ls {
            let n = if m.id == new_id { &name } else { &m.name };
            conf.push(format!("{n}={u}"));
        }
    }
    let text = format!(
        "\nETCD_NAME={}\nETCD_INITIAL_CLUSTER={}\nETCD_INITIAL_ADVERTISE_PEER_URLS={}\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n",
        quote(name.as_bytes()),
        quote(conf.join(",").as_bytes()),
        quote(a.peer_urls.as_bytes()),
    );
    write_stdout(text.as_bytes())
}

/// `etcdserverpb.Member` as Go marshals it.
#[derive(Serialize)]
pub struct MemberJson<'a> {
    #[serde(rename = "ID", skip_serializing_if = "zero")]
    id: u64,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(rename = "peerURLs", skip_serializing_if = "empty")]
    peer_urls: &'a [String],
    #[serde(rename = "clientURLs", skip_serializing_if = "empty")]
    client_urls: &'a [String],
    #[serde(rename = "isLearner", skip_serializing_if = "zero")]
    is_learner: bool,
}

impl<'a> MemberJson<'a> {
    /// The member's Go shape.
    pub fn of(m: &'a Member) -> MemberJson<'a> {
        MemberJson {
            id: m.id,
            name: &m.name,
            peer_urls: &m.peer_ur_ls,
            client_urls: &m.client_ur_ls,
            is_learner: m.is_learner,
        }
    }
}

#[derive(Serialize)]
struct MembersJson<'a> {
    header: j::Header,
    #[serde(skip_serializing_if = "Option::is_none")]
    member: Option<MemberJson<'a>>,
    #[serde(skip_serializing_if = "empty")]
    members: Vec<MemberJson<'a>>,
}

fn members_json<'a>(
    header: Option<&rsetcd::v3::ResponseHeader>,
    member: Option<&'a Member>,
    members: &'a [Member],
) -> MembersJson<'a> {
    MembersJson {
        header: j::Header::of(header),
        member: member.map(MemberJson::of),
        members: members.iter().map(MemberJson::of).collect(),
    }
}

/// The member table's rows (etcdctl's `makeMemberListTable`).
fn rows(members: &[Member]) -> Vec<Vec<String>> {
    members
        .iter()
        .map(|m| {
            let status = if m.name.is_empty() {
                "unstarted"
            } else {
                "started"
            };
            vec![
                format!("{:x}", m.id),
                status.to_string(),
                m.name.clone(),
                m.peer_ur_ls.join(","),
                m.client_ur_ls.join(","),
                m.is_learner.to_string(),
            ]
        })
        .collect()
}

/// `member list`'s answer.
pub struct List(pub MemberListResponse);

impl Printable for List {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        for row in rows(&self.0.members) {
            out.line(&row.join(", "));
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &members_json(self.0.header.as_ref(), None, &self.0.members),
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.0.header.as_ref());
        for m in &self.0.members {
            fields::field(out, "ID", m.id);
            fields::field(out, "Name", quote(m.name.as_bytes()));
            for u in &m.peer_ur_ls {
                fields::field(out, "PeerURL", quote(u.as_bytes()));
            }
            for u in &m.client_ur_ls {
                fields::field(out, "ClientURL", quote(u.as_bytes()));
            }
            fields::field(out, "IsLearner", m.is_learner);
            out.line("");
        }
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.0);
        Ok(())
    }

    fn table(&self, out: &mut Out) -> Result<(), CliError> {
        table::render(
            out,
            &[
                "ID",
                "Status",
                "Name",
                "Peer Addrs",
                "Client Addrs",
                "Is Learner",
            ],
            &rows(&self.0.members),
        );
        Ok(())
    }
}

/// `member add`'s answer.
struct Added<'a>(&'a MemberAddResponse);

impl Printable for Added<'_> {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        let id = self.0.member.as_ref().map_or(0, |m| m.id);
        let cluster = self.0.header.as_ref().map_or(0, |h| h.cluster_id);
        out.line(&format!("Member {id:16x} added to cluster {cluster:16x}"));
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &members_json(
                self.0.header.as_ref(),
                self.0.member.as_ref(),
                &self.0.members,
            ),
        )
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, self.0);
        Ok(())
    }
}

/// The answer of `member remove`, `update` or `promote`.
enum Changed {
    Removed(u64, MemberRemoveResponse),
    Updated(u64, MemberUpdateResponse),
    Promoted(u64, MemberPromoteResponse),
}

impl Changed {
    fn parts(&self) -> (u64, Option<&rsetcd::v3::ResponseHeader>, &[Member], &str) {
        match self {
            Changed::Removed(id, r) => (*id, r.header.as_ref(), &r.members, "removed from"),
            Changed::Updated(id, r) => (*id, r.header.as_ref(), &r.members, "updated in"),
            Changed::Promoted(id, r) => (*id, r.header.as_ref(), &r.members, "promoted in"),
        }
    }
}

impl Printable for Changed {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        let (id, header, _, what) = self.parts();
        let cluster = header.map_or(0, |h| h.cluster_id);
        out.line(&format!("Member {id:16x} {what} cluster {cluster:16x}"));
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        let (_, header, members, _) = self.parts();
        j::line(out, &members_json(header, None, members))
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        match self {
            Changed::Removed(_, r) => protobuf::message(out, r),
            Changed::Updated(_, r) => protobuf::message(out, r),
            Changed::Promoted(_, r) => protobuf::message(out, r),
        }
        Ok(())
    }
}
