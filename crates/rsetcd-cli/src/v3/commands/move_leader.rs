//! `move-leader <target member ID>`: finds the leader among the endpoints, then asks it to hand
//! leadership over.

use rsetcd::v3::proto::etcdserverpb::MoveLeaderResponse;
use serde::Serialize;

use super::endpoint::client_for;
use super::{parse_uint, Positional};
use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::{bad_args, OrFail};
use crate::v3::output::json as j;
use crate::v3::output::{fields, protobuf, Out, Printable};

/// Moves the leadership and says so.
pub async fn run(ctx: &Ctx, args: &Positional) -> Result<(), CliError> {
    let [target] = args.args.as_slice() else {
        return Err(bad_args("move-leader command needs 1 argument"));
    };
    let target = parse_uint(&target.to_string_lossy(), 16).map_err(bad_args)?;
    let eps = ctx.global.endpoints.clone();
    ctx.bounded(async {
        let mut leader = None;
        for ep in &eps {
            let client = client_for(ctx, ep).await?;
            let status = client.status().await.or_fail()?;
            let id = status.header.as_ref().map_or(0, |h| h.member_id);
            if id == status.leader {
                leader = Some((id, client));
                break;
            }
        }
        let Some((leader_id, client)) = leader else {
            return Err(bad_args(format!(
                "no leader endpoint given at [{}]",
                eps.join(" ")
            )));
        };
        let answer = client.move_leader(target).await.or_fail()?;
        ctx.print(&Moved(leader_id, target, answer))
    })
    .await
}

struct Moved(u64, u64, MoveLeaderResponse);

impl Printable for Moved {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&format!(
            "Leadership transferred from {:x} to {:x}",
            self.0, self.1
        ));
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        #[derive(Serialize)]
        struct MovedJson {
            // etcd 3.4 answers without a header: Go leaves out the nil pointer.
            #[serde(skip_serializing_if = "Option::is_none")]
            header: Option<j::Header>,
        }
        j::line(
            out,
            &MovedJson {
                header: self.2.header.as_ref().map(|h| j::Header::of(Some(h))),
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.2.header.as_ref());
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.2);
        Ok(())
    }
}
