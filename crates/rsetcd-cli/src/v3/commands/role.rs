//! `role add|delete|get|list|grant-permission|revoke-permission`.

use std::ffi::OsString;

use clap::{Args, Subcommand};
use rsetcd::v3::proto::authpb::permission::Type as PermType;
use rsetcd::v3::proto::etcdserverpb::{AuthRoleGetResponse, AuthRoleListResponse};
use rsetcd::v3::{prefix_end, Permission};
use serde::Serialize;

use super::{bytes, Positional};
use crate::error::CliError;
use crate::v3::context::Ctx;
use crate::v3::error::{bad_args, OrFail};
use crate::v3::output::fields::{self, quote};
use crate::v3::output::json::{self as j, b64, empty, zero};
use crate::v3::output::{protobuf, Out, Printable};

/// The role commands.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// Adds a new role
    Add(Positional),
    /// Deletes a role
    Delete(Positional),
    /// Gets detailed information of a role
    Get(Positional),
    /// Lists all roles
    List(Positional),
    /// Grants a key to a role
    GrantPermission(PermArgs),
    /// Revokes a key from a role
    RevokePermission(PermArgs),
}

/// Flags of `role grant-permission` and `role revoke-permission`.
#[derive(Debug, Args)]
pub struct PermArgs {
    /// a prefix permission
    #[arg(long)]
    pub prefix: bool,
    /// keys that are greater than or equal to the given key using byte compare
    #[arg(long)]
    pub from_key: bool,
    /// <role name> [permission type] <key> [endkey]
    pub args: Vec<OsString>,
}

fn name(args: &[OsString], what: &str) -> Result<String, CliError> {
    match args {
        [one] => Ok(one.to_string_lossy().into_owned()),
        _ => Err(bad_args(format!(
            "role {what} command requires role name as its argument"
        ))),
    }
}

/// Whether etcdctl's fields printer has `role grant-permission` and `revoke-permission`.
const FIELDS_GRANT: bool = true;
const FIELDS_REVOKE: bool = true;

/// etcdctl's `permRange`: the key and range end from `key [endkey]` and the flags.
fn perm_range(a: &PermArgs, args: &[OsString]) -> Result<(Vec<u8>, Vec<u8>), CliError> {
    let both = || bad_args("--from-key and --prefix flags are mutually exclusive");
    let key = bytes(&args[0]);
    if key.is_empty() {
        if a.prefix && a.from_key {
            return Err(both());
        }
        // The empty prefix is every key: ["\0", "\0").
        let end = if a.prefix || a.from_key {
            b"\0".to_vec()
        } else {
            Vec::new()
        };
        return Ok((b"\0".to_vec(), end));
    }
    let end = match (args.len(), a.prefix, a.from_key) {
        (1, true, true) => return Err(both()),
        (1, true, false) => prefix_end(&key).to_vec(),
        (1, false, true) => b"\0".to_vec(),
        (1, false, false) => Vec::new(),
        (_, true, _) => return Err(bad_args("unexpected endkey argument with --prefix flag")),
        (_, _, true) => return Err(bad_args("unexpected endkey argument with --from-key flag")),
        _ => bytes(&args[1]),
    };
    Ok((key, end))
}

/// Runs a role command.
pub async fn run(ctx: &Ctx, command: &RoleCommand) -> Result<(), CliError> {
    match command {
        RoleCommand::Add(a) => {
            let role = name(&a.args, "add")?;
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.role_add(&role).await.or_fail() })
                .await?;
            ctx.print(&Done(format!("Role {role} created"), r, true))
        }
        RoleCommand::Delete(a) => {
            let role = name(&a.args, "delete")?;
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.role_delete(&role).await.or_fail() })
                .await?;
            ctx.print(&Done(format!("Role {role} deleted"), r, true))
        }
        RoleCommand::Get(a) => {
            let role = name(&a.args, "get")?;
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.role_get(&role).await.or_fail() })
                .await?;
            ctx.print(&RoleGet(role, r))
        }
        RoleCommand::List(_) => {
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.role_list().await.or_fail() })
                .await?;
            ctx.print(&RoleList(r))
        }
        RoleCommand::GrantPermission(a) => {
            if a.args.len() < 3 {
                return Err(bad_args("role grant command requires role name, permission type, and key [endkey] as its argument"));
            }
            let kind = a.args[1].to_string_lossy();
            let perm = match kind.to_uppercase().as_str() {
                "READ" => Permission::read,
                "WRITE" => Permission::write,
                "READWRITE" => Permission::read_write,
                _ => return Err(bad_args(format!("invalid permission type: {kind}"))),
            };
            let (key, end) = perm_range(a, &a.args[2..])?;
            let role = a.args[0].to_string_lossy().into_owned();
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async {
                    client
                        .role_grant_permission(&role, perm(key).range_end(end))
                        .await
                        .or_fail()
                })
                .await?;
            ctx.print(&Done(format!("Role {role} updated"), r, FIELDS_GRANT))
        }
        RoleCommand::RevokePermission(a) => {
            if a.args.len() < 2 {
                return Err(bad_args("role revoke-permission command requires role name and key [endkey] as its argument"));
            }
            let (key, end) = perm_range(a, &a.args[1..])?;
            let role = a.args[0].to_string_lossy().into_owned();
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async {
                    client
                        .role_revoke_permission(&role, &key, &end)
                        .await
                        .or_fail()
                })
                .await?;
            let shown = a.args[1].to_string_lossy();
            let end_text = String::from_utf8_lossy(&end);
            let line = if end.is_empty() {
                format!("Permission of key {shown} is revoked from role {role}")
            } else if end == b"\0" {
                format!("Permission of range [{shown}, <open ended> is revoked from role {role}")
            } else {
                format!("Permission of range [{shown}, {end_text}) is revoked from role {role}")
            };
            ctx.print(&Done(line, r, FIELDS_REVOKE))
        }
    }
}

/// An answer whose simple form is one line and whose other forms are the message (header only;
/// `fields` too for the commands etcdctl's fields printer has).
pub struct Done<M>(pub String, pub M, pub bool);

/// The header of an answer that has nothing else.
pub trait HasHeader {
    /// The header.
    fn header(&self) -> Option<&rsetcd::v3::ResponseHeader>;
}

macro_rules! has_header {
    ($($t:ty),*) => {
        $(impl HasHeader for $t {
            fn header(&self) -> Option<&rsetcd::v3::ResponseHeader> {
                self.header.as_ref()
            }
        })*
    };
}

use rsetcd::v3::proto::etcdserverpb as pb;
has_header!(
    pb::AuthRoleAddResponse,
    pb::AuthRoleDeleteResponse,
    pb::AuthRoleGrantPermissionResponse,
    pb::AuthRoleRevokePermissionResponse,
    pb::AuthUserAddResponse,
    pb::AuthUserDeleteResponse,
    pb::AuthUserChangePasswordResponse,
    pb::AuthUserGrantRoleResponse,
    pb::AuthUserRevokeRoleResponse
);

#[derive(Serialize)]
struct HeaderOnly {
    header: j::Header,
}

impl<M: HasHeader + prost::Message> Printable for Done<M> {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&self.0);
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &HeaderOnly {
                header: j::Header::of(self.1.header()),
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        if !self.2 {
            return Err(crate::v3::output::unsupported(
                crate::v3::output::Format::Fields,
            ));
        }
        fields::header(out, self.1.header());
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.1);
        Ok(())
    }
}

/// `role get`'s answer.
pub struct RoleGet(pub String, pub AuthRoleGetResponse);

#[derive(Serialize)]
struct PermJson<'a> {
    #[serde(rename = "permType", skip_serializing_if = "zero")]
    perm_type: i32,
    #[serde(skip_serializing_if = "empty", serialize_with = "b64")]
    key: &'a [u8],
    #[serde(skip_serializing_if = "empty", serialize_with = "b64")]
    range_end: &'a [u8],
}

#[derive(Serialize)]
struct RoleGetJson<'a> {
    header: j::Header,
    #[serde(skip_serializing_if = "empty")]
    perm: Vec<PermJson<'a>>,
}

fn perm_name(t: i32) -> &'static str {
    match PermType::try_from(t) {
        Ok(PermType::Read) => "READ",
        Ok(PermType::Write) => "WRITE",
        Ok(PermType::Readwrite) => "READWRITE",
        Err(_) => "UNKNOWN",
    }
}

impl Printable for RoleGet {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&format!("Role {}", self.0));
        let range = |out: &mut Out, key: &[u8], end: &[u8]| {
            out.text("\t");
            if end.is_empty() {
                out.bytes_raw(key);
                out.text("\n");
                return;
            }
            out.text("[");
            out.bytes_raw(key);
            if end != b"\0" {
                out.text(", ");
                out.bytes_raw(end);
                out.text(")");
            } else {
                out.text(", <open ended>");
            }
            if prefix_end(key).as_ref() == end {
                out.text(" (prefix ");
                out.bytes_raw(key);
                out.text(")");
            }
            out.text("\n");
        };
        for (title, kinds) in [
            ("KV Read:", [PermType::Read, PermType::Readwrite]),
            ("KV Write:", [PermType::Write, PermType::Readwrite]),
        ] {
            out.line(title);
            for p in &self.1.perm {
                if kinds.iter().any(|k| *k as i32 == p.perm_type) {
                    range(out, &p.key, &p.range_end);
                }
            }
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &RoleGetJson {
                header: j::Header::of(self.1.header.as_ref()),
                perm: self
                    .1
                    .perm
                    .iter()
                    .map(|p| PermJson {
                        perm_type: p.perm_type,
                        key: &p.key,
                        range_end: &p.range_end,
                    })
                    .collect(),
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.1.header.as_ref());
        for p in &self.1.perm {
            // Go's Println puts a space after the name's own.
            out.line(&format!("\"PermType\" :  {}", perm_name(p.perm_type)));
            fields::field(out, "Key", quote(&p.key));
            fields::field(out, "RangeEnd", quote(&p.range_end));
        }
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.1);
        Ok(())
    }
}

/// `role list`'s answer.
struct RoleList(AuthRoleListResponse);

#[derive(Serialize)]
struct RoleListJson<'a> {
    header: j::Header,
    #[serde(skip_serializing_if = "empty")]
    roles: &'a [String],
}

impl Printable for RoleList {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        for r in &self.0.roles {
            out.line(r);
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &RoleListJson {
                header: j::Header::of(self.0.header.as_ref()),
                roles: &self.0.roles,
            },
        )
    }

    fn fields(&self, out: &mut Out) -> Result<(), CliError> {
        fields::header(out, self.0.header.as_ref());
        out.text("\"Roles\" :");
        for r in &self.0.roles {
            out.text(&format!(" {}", quote(r.as_bytes())));
        }
        out.line("");
        Ok(())
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.0);
        Ok(())
    }
}
