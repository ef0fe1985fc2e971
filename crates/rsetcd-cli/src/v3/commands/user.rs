//! `user add|delete|get|list|passwd|grant-role|revoke-role`. Passwords come from the argument
//! (`name:password`), `--new-user-password`, the terminal (asked twice) or, with
//! `--interactive=false`, the first word of stdin; they are never printed.

use std::ffi::OsString;
use std::io::BufRead;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args, Subcommand};
use rsetcd::v3::proto::etcdserverpb::{AuthUserGetResponse, AuthUserListResponse};
use serde::Serialize;

use super::role::{Done, RoleGet};
use super::Positional;
use crate::error::CliError;
use crate::secret::Secret;
use crate::v3::context::{write_stdout, Ctx};
use crate::v3::error::{bad_args, fail, Exit, OrFail};
use crate::v3::output::json::{self as j, empty};
use crate::v3::output::{protobuf, Out, Printable};

/// The user commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Adds a new user
    Add(AddArgs),
    /// Deletes a user
    Delete(Positional),
    /// Gets detailed information of a user
    Get(GetArgs),
    /// Lists all users
    List(Positional),
    /// Changes password of user
    Passwd(PasswdArgs),
    /// Grants a role to a user
    GrantRole(Positional),
    /// Revokes a role from a user
    RevokeRole(Positional),
}

/// Flags of `user add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Read password from stdin instead of interactive terminal
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub interactive: bool,
    /// Supply password from the command line flag
    #[arg(long, value_parser = Secret::parse)]
    pub new_user_password: Option<Secret>,
    /// Create a user without password (CN based auth only)
    #[arg(long)]
    pub no_password: bool,
    /// <user name or user:password>
    pub args: Vec<OsString>,
}

/// Flags of `user get`.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// Show permissions of roles granted to the user
    #[arg(long)]
    pub detail: bool,
    /// <user name>
    pub args: Vec<OsString>,
}

/// Flags of `user passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// If true, read password from stdin instead of interactive terminal
    #[arg(long, default_value_t = true, num_args = 0..=1, require_equals = true,
          default_missing_value = "true", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub interactive: bool,
    /// <user name>
    pub args: Vec<OsString>,
}

fn one(args: &[OsString], message: &str) -> Result<String, CliError> {
    match args {
        [only] => Ok(only.to_string_lossy().into_owned()),
        _ => Err(bad_args(message)),
    }
}

fn two(args: &[OsString], message: &str) -> Result<(String, String), CliError> {
    match args {
        [a, b] => Ok((
            a.to_string_lossy().into_owned(),
            b.to_string_lossy().into_owned(),
        )),
        _ => Err(bad_args(message)),
    }
}

/// The password from the terminal (twice) or from stdin's first word.
fn read_password(name: &str, interactive: bool) -> Result<String, CliError> {
    if !interactive {
        // Go's fmt.Scanf("%s"): the first word of the first line.
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| fail(Exit::Error, e))?;
        return Ok(line.split_whitespace().next().unwrap_or("").to_string());
    }
    let ask =
        |prompt: String| rpassword::prompt_password(prompt).map_err(|e| fail(Exit::BadArgs, e));
    let first = ask(format!("Password of {name}: "))?;
    if first.is_empty() {
        return Err(bad_args("empty password"));
    }
    let second = ask(format!("Type password of {name} again for confirmation: "))?;
    if first != second {
        return Err(bad_args("given passwords are different"));
    }
    Ok(first)
}

/// Runs a user command.
pub async fn run(ctx: &Ctx, command: &UserCommand) -> Result<(), CliError> {
    match command {
        UserCommand::Add(a) => {
            let arg = one(
                &a.args,
                "user add command requires user name as its argument",
            )?;
            let (user, password) = match arg.split_once(':') {
                Some((user, password)) => {
                    if user.is_empty() {
                        return Err(bad_args("empty user name is not allowed"));
                    }
                    (user.to_string(), password.to_string())
                }
                None if a.no_password => (arg, String::new()),
                None => match a.new_user_password.as_deref().filter(|p| !p.is_empty()) {
                    Some(p) => (arg, p.to_string()),
                    None => {
                        let p = read_password(&arg, a.interactive)?;
                        (arg, p)
                    }
                },
            };
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async {
                    if a.no_password {
                        client.user_add_no_password(&user).await.or_fail()
                    } else {
                        client.user_add(&user, &password).await.or_fail()
                    }
                })
                .await?;
            ctx.print(&Done(format!("User {user} created"), r, true))
        }
        UserCommand::Delete(a) => {
            let user = one(
                &a.args,
                "user delete command requires user name as its argument",
            )?;
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.user_delete(&user).await.or_fail() })
                .await?;
            ctx.print(&Done(format!("User {user} deleted"), r, true))
        }
        UserCommand::Get(a) => {
            let user = one(
                &a.args,
                "user get command requires user name as its argument",
            )?;
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.user_get(&user).await.or_fail() })
                .await?;
            if !a.detail {
                return ctx.print(&UserGet(user, r));
            }
            write_stdout(format!("User: {user}\n").as_bytes())?;
            for role in &r.roles {
                write_stdout(b"\n")?;
                let got = ctx
                    .bounded(async { client.role_get(role).await.or_fail() })
                    .await?;
                ctx.print(&RoleGet(role.clone(), got))?;
            }
            Ok(())
        }
        UserCommand::List(_) => {
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.user_list().await.or_fail() })
                .await?;
            ctx.print(&UserList(r))
        }
        UserCommand::Passwd(a) => {
            let user = one(
                &a.args,
                "user passwd command requires user name as its argument",
            )?;
            let password = read_password(&user, a.interactive)?;
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async {
                    client
                        .user_change_password(&user, &password)
                        .await
                        .or_fail()
                })
                .await?;
            ctx.print(&Done("Password updated".into(), r, true))
        }
        UserCommand::GrantRole(a) => {
            let (user, role) = two(
                &a.args,
                "user grant command requires user name and role name as its argument",
            )?;
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.user_grant_role(&user, &role).await.or_fail() })
                .await?;
            ctx.print(&Done(
                format!("Role {role} is granted to user {user}"),
                r,
                true,
            ))
        }
        UserCommand::RevokeRole(a) => {
            let (user, role) = two(
                &a.args,
                "user revoke-role requires user name and role name as its argument",
            )?;
            let client = ctx.client().await?;
            let r = ctx
                .bounded(async { client.user_revoke_role(&user, &role).await.or_fail() })
                .await?;
            ctx.print(&Done(
                format!("Role {role} is revoked from user {user}"),
                r,
                true,
            ))
        }
    }
}

#[derive(Serialize)]
struct NamesJson<'a> {
    header: j::Header,
    #[serde(skip_serializing_if = "empty")]
    roles: &'a [String],
    #[serde(skip_serializing_if = "empty")]
    users: &'a [String],
}

/// `user get`'s answer.
struct UserGet(String, AuthUserGetResponse);

impl Printable for UserGet {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        out.line(&format!("User: {}", self.0));
        out.text("Roles:");
        for r in &self.1.roles {
            out.text(&format!(" {r}"));
        }
        out.line("");
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &NamesJson {
                header: j::Header::of(self.1.header.as_ref()),
                roles: &self.1.roles,
                users: &[],
            },
        )
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.1);
        Ok(())
    }
}

/// `user list`'s answer.
struct UserList(AuthUserListResponse);

impl Printable for UserList {
    fn simple(&self, out: &mut Out) -> Result<(), CliError> {
        for u in &self.0.users {
            out.line(u);
        }
        Ok(())
    }

    fn json(&self, out: &mut Out) -> Result<(), CliError> {
        j::line(
            out,
            &NamesJson {
                header: j::Header::of(self.0.header.as_ref()),
                roles: &[],
                users: &self.0.users,
            },
        )
    }

    fn protobuf(&self, out: &mut Out) -> Result<(), CliError> {
        protobuf::message(out, &self.0);
        Ok(())
    }
}
