//! user, role and auth commands.

use std::io::{BufRead, Write};

use rsetcd::v2::auth::Access;

use crate::error::{CliError, Exit};
use crate::v2::cli::{AuthCommand, Command, RoleCommand, RolePermission, UserCommand};
use crate::v2::context::{out, Ctx};

fn name<'a>(s: &'a Option<String>, what: &str) -> Result<&'a str, CliError> {
    s.as_deref()
        .ok_or_else(|| CliError::args(format!("{what} name required")))
}

fn io(e: std::io::Error) -> CliError {
    CliError::new(Exit::BadArgs, format!("Error:  {e}"))
}

/// `user:password`, a password from stdin, or a prompt.
fn password(user: &str, stdin: bool, prompt: &str) -> Result<(String, String), CliError> {
    if let Some((u, p)) = user.split_once(':') {
        return Ok((u.to_string(), p.to_string()));
    }
    let password = if stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map_err(io)?;
        line.trim_end_matches(['\n', '\r']).to_string()
    } else {
        rpassword::prompt_password(prompt)
            .map_err(|e| CliError::args(format!("cannot read the password: {e}")))?
    };
    Ok((user.to_string(), password))
}

fn access(p: &RolePermission) -> Result<Access, CliError> {
    match (p.read, p.write, p.readwrite) {
        (true, false, false) => Ok(Access::Read),
        (false, true, false) => Ok(Access::Write),
        (false, false, true) | (true, true, false) => Ok(Access::ReadWrite),
        _ => Err(CliError::args("give one of --read, --write or --readwrite")),
    }
}

/// Runs a user, role or auth command; `false` when `cmd` is not one.
pub async fn run(ctx: &Ctx, cmd: &Command) -> Result<bool, CliError> {
    let auth = ctx.client.auth();
    let mut o = out();
    match cmd {
        Command::User { command } => match command {
            UserCommand::Add { user, stdin } => {
                let (u, p) = password(name(user, "user")?, *stdin, "New password: ")?;
                ctx.bounded(async { Ok(auth.add_user(&u, &p).await?) })
                    .await?;
                writeln!(o, "User {u} created").map_err(io)?;
            }
            UserCommand::Get { user } => {
                let u = ctx
                    .bounded(async { Ok(auth.user(name(user, "user")?).await?) })
                    .await?;
                writeln!(o, "User: {}", u.user).map_err(io)?;
                writeln!(o, "Roles: {}", u.role_names().join(" ")).map_err(io)?;
            }
            UserCommand::List => {
                for u in ctx.bounded(async { Ok(auth.users().await?) }).await? {
                    writeln!(o, "{u}").map_err(io)?;
                }
            }
            UserCommand::Remove { user } => {
                let u = name(user, "user")?;
                ctx.bounded(async { Ok(auth.delete_user(u).await?) })
                    .await?;
                writeln!(o, "User {u} removed").map_err(io)?;
            }
            UserCommand::Passwd { user, stdin } => {
                let (u, p) = password(name(user, "user")?, *stdin, "New password: ")?;
                ctx.bounded(async { Ok(auth.change_password(&u, &p).await?) })
                    .await?;
                writeln!(o, "Password updated").map_err(io)?;
            }
            UserCommand::Grant { user, roles } | UserCommand::Revoke { user, roles } => {
                let u = name(user, "user")?;
                if roles.is_empty() {
                    return Err(CliError::args("no roles given (--roles)"));
                }
                let grant = matches!(command, UserCommand::Grant { .. });
                ctx.bounded(async {
                    Ok(if grant {
                        auth.grant_roles(u, roles.clone()).await?
                    } else {
                        auth.revoke_roles(u, roles.clone()).await?
                    })
                })
                .await?;
                writeln!(o, "User {u} updated").map_err(io)?;
            }
        },
        Command::Role { command } => match command {
            RoleCommand::Add { role } => {
                let r = name(role, "role")?;
                ctx.bounded(async { Ok(auth.add_role(r).await?) }).await?;
                writeln!(o, "Role {r} created").map_err(io)?;
            }
            RoleCommand::Get { role } => {
                let r = ctx
                    .bounded(async { Ok(auth.role(name(role, "role")?).await?) })
                    .await?;
                writeln!(o, "Role: {}", r.role).map_err(io)?;
                writeln!(o, "KV Read:").map_err(io)?;
                for p in &r.permissions.kv.read {
                    writeln!(o, "\t{p}").map_err(io)?;
                }
                writeln!(o, "KV Write:").map_err(io)?;
                for p in &r.permissions.kv.write {
                    writeln!(o, "\t{p}").map_err(io)?;
                }
            }
            RoleCommand::List => {
                for r in ctx.bounded(async { Ok(auth.roles().await?) }).await? {
                    writeln!(o, "{}", r.role).map_err(io)?;
                }
            }
            RoleCommand::Remove { role } => {
                let r = name(role, "role")?;
                ctx.bounded(async { Ok(auth.delete_role(r).await?) })
                    .await?;
                writeln!(o, "Role {r} removed").map_err(io)?;
            }
            RoleCommand::Grant(p) | RoleCommand::Revoke(p) => {
                let r = name(&p.role, "role")?;
                let path = p
                    .path
                    .as_deref()
                    .ok_or_else(|| CliError::args("no path given (--path)"))?;
                let a = access(p)?;
                let grant = matches!(command, RoleCommand::Grant(_));
                ctx.bounded(async {
                    Ok(if grant {
                        auth.grant_permissions(r, a, [path]).await?
                    } else {
                        auth.revoke_permissions(r, a, [path]).await?
                    })
                })
                .await?;
                writeln!(o, "Role {r} updated").map_err(io)?;
            }
        },
        Command::Auth { command } => match command {
            AuthCommand::Enable => {
                ctx.bounded(async { auth.enable().await.map_err(auth_message) })
                    .await?;
                writeln!(o, "Authentication Enabled").map_err(io)?;
            }
            AuthCommand::Disable => {
                ctx.bounded(async { auth.disable().await.map_err(auth_message) })
                    .await?;
                writeln!(o, "Authentication Disabled").map_err(io)?;
            }
        },
        _ => return Ok(false),
    }
    Ok(true)
}

/// etcdctl prints auth API refusals bare (`auth: No root user available, please create one`).
fn auth_message(e: rsetcd::Error) -> CliError {
    match e {
        rsetcd::Error::Http { message, .. } => CliError::plain(Exit::BadArgs, message),
        other => other.into(),
    }
}
