//! `alarm list|disarm`.

use clap::Subcommand;
use rsetcd::v3::proto::etcdserverpb::{AlarmMember, AlarmResponse, AlarmType};
use serde::Serialize;

use super::Positional;
use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::OrFail;
use crate::v3::output::fields;
use crate::v3::output::json::{self as j, empty, zero};
use crate::v3::output::{protobuf, Out, Printable};

/// The alarm commands.
#[derive(Debug, Subcommand)]
pub enum AlarmCommand {
    /// Disarms all alarms
    Disarm(Positional),
    /// Lists all alarms
    List(Positional),
}

/// Runs an alarm command.
pub async fn run(ctx: &Ctx, command: &AlarmCommand) -> Result<(), CliError> {
    let client = ctx.client().await?;
    let answer = match command {
        AlarmCommand::List(_) => {
            ctx.bounded(async {
                // The list itself, header and all (the library's `alarm_list` keeps the alarms).
                let alarms = client.alarm_list().await.or_fail()?;
                Ok(Alarms {
                    header: None,
                    alarms,
                    listed: true,
                })
            })
            .await?
        }
        AlarmCommand::Disarm(_) => {
            ctx.bounded(async {
                // clientv3's AlarmDisarm of every alarm: the list, then each one disarmed; the
                // answer has the disarmed alarms and no header.
                let mut disarmed = Vec::new();
                for a in client.alarm_list().await.or_fail()? {
                    let kind = AlarmType::try_from(a.alarm).unwrap_or(AlarmType::None);
                    let r: AlarmResponse =
                        client.alarm_disarm(a.member_id, kind).await.or_fail()?;
                    disarmed.extend(r.alarms);
                }
                Ok(Alarms {
                    header: None,
                    alarms: disarmed,
                    listed: false,
                })
            })
            .await?
        }
    };
    ctx.print(&answer)
}

/// An alarm answer (`AlarmResponse`).
struct Alarms {
    header: Option<rsetcd::v3::ResponseHeader>,
    alarms: Vec<AlarmMember>,
    #[allow(dead_code)]
    listed: bool,
}

fn name(alarm: i32) -> &'static str {
    match AlarmType::try_from(alarm) {
        Ok(AlarmType::None) => "NONE",
        Ok(AlarmType::Nospace) => "NOSPACE",
        Ok(AlarmType::Corrupt) => "CORRUPT",
        Err(_) => "UNKNOWN",
    }
}

#[derive(Serialize)]
struct AlarmJson {
    #[serde(rename = "memberID", skip_serializing_if = "zero")]
    member_id: u64,
    #[serde(skip_serializing_if = "zero")]
    alarm: i32,
}

#[derive(Serialize)]
struct AlarmsJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    header: Option<j::Header>,
    #[serde(skip_serializing_if = "empty")]
    alarms: Vec<AlarmJson>,
}

impl Printable for Alarms {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        for a in &self.alarms {
            // Go's `%+v` of the message: its compact text form.
            let mut text = String::new();
            if a.member_id != 0 {
                text.push_str(&format!("memberID:{} ", a.member_id));
            }
            if a.alarm != 0 {
                text.push_str(&format!("alarm:{} ", name(a.alarm)));
            }
            out.line(&text);
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &AlarmsJson {
                header: self.header.as_ref().map(|h| j::Header::of(Some(h))),
                alarms: self
                    .alarms
                    .iter()
                    .map(|a| AlarmJson {
                        member_id: a.member_id,
                        alarm: a.alarm,
                    })
                    .collect(),
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        // etcdctl dereferences the missing header and panics; rsetcd prints zeros.
        fields::header(out, self.header.as_ref());
        for a in &self.alarms {
            fields::field(out, "MemberID", a.member_id);
            fields::field(out, "AlarmType", name(a.alarm));
            out.line("");
        }
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(
            out,
            &AlarmResponse {
                header: self.header,
                alarms: self.alarms.clone(),
            },
        );
        Ok(())
    }
}
