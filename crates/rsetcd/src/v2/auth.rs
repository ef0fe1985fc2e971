//! The v2 auth API: enabling auth, users, roles and their key permissions.
//!
//! ```no_run
//! # async fn demo(root: rsetcd::v2::Client) -> rsetcd::Result<()> {
//! use rsetcd::v2::auth::Access;
//! let auth = root.auth();
//! auth.add_user("root", "rootpw").await?;
//! auth.enable().await?;
//! auth.add_role("app").await?;
//! auth.grant_permissions("app", Access::ReadWrite, ["/app/*"]).await?;
//! auth.add_user("alice", "alicepw").await?;
//! auth.grant_roles("alice", ["app"]).await?;
//! # Ok(()) }
//! ```
//!
//! Requests carry the client's Basic credentials ([`ClientBuilder::basic_auth`]); the auth API
//! needs root. Refusals from the auth API arrive as [`Error::Http`] (401 without root, 404 for an
//! unknown user or role, 409 for a user that exists, 403 for changes to root); key requests without
//! the right permissions arrive as [`EtcdCode::Unauthorized`](crate::EtcdCode::Unauthorized).
//!
//! A client whose backend is the v3 API ([`V2Backend::OverV3`](super::V2Backend::OverV3)) has no
//! v2 auth API: every call here fails with [`Error::Unsupported`] (use
//! the v3 client's users and roles; the builder's credentials become a v3 token).
//!
//! [`ClientBuilder::basic_auth`]: crate::ClientBuilder::basic_auth
//! [`Error::Http`]: crate::Error::Http

use std::fmt;

use super::transport::Method;
use serde::{Deserialize, Deserializer, Serialize};

use super::client::Client;
use super::response::{empty_answer, json_answer, null_as_empty};
use super::transport::{Body, Request, Retry};
use crate::error::{Error, Result};

/// Read and write permissions on key patterns (`/app/*` covers the keys below `/app`; `/app*` is a
/// plain prefix).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KvPermissions {
    /// Patterns readable.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub read: Vec<String>,
    /// Patterns writable.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub write: Vec<String>,
}

/// A role's permissions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permissions {
    /// Key-value permissions.
    #[serde(default)]
    pub kv: KvPermissions,
}

/// A role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Role {
    /// Its name.
    pub role: String,
    /// What it may do (empty when etcd answered with the name only).
    pub permissions: Permissions,
}

/// A user and its roles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user name.
    pub user: String,
    /// Its roles (with their permissions when etcd sends them).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub roles: Vec<Role>,
}

impl User {
    /// The names of the user's roles.
    pub fn role_names(&self) -> Vec<&str> {
        self.roles.iter().map(|r| r.role.as_str()).collect()
    }
}

/// etcd sends a role as an object (`{"role":…,"permissions":…}`) or as its bare name.
impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Full {
            role: String,
            #[serde(default)]
            permissions: Permissions,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Name(String),
            Full(Full),
        }
        Ok(match Either::deserialize(d)? {
            Either::Name(role) => Role {
                role,
                permissions: Permissions::default(),
            },
            Either::Full(f) => Role {
                role: f.role,
                permissions: f.permissions,
            },
        })
    }
}

/// Which access a permission grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only.
    Read,
    /// Write only.
    Write,
    /// Read and write.
    ReadWrite,
}

/// The auth API of a client: `client.auth()`.
#[derive(Clone, Copy)]
pub struct Auth<'a> {
    client: &'a Client,
}

impl fmt::Debug for Auth<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth").finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Enabled {
    enabled: bool,
}

#[derive(Deserialize)]
struct Users {
    #[serde(default, deserialize_with = "null_as_empty")]
    users: Vec<UserEntry>,
}

/// A user in a listing: an object in etcd 3.x, a bare name in older versions.
#[derive(Deserialize)]
#[serde(untagged)]
enum UserEntry {
    Name(String),
    Full(User),
}

#[derive(Deserialize)]
struct Roles {
    #[serde(default, deserialize_with = "null_as_empty")]
    roles: Vec<Role>,
}

#[derive(Serialize)]
struct UserChange<'a> {
    user: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoke: Option<&'a [String]>,
}

impl<'a> UserChange<'a> {
    fn new(user: &'a str) -> Self {
        UserChange {
            user,
            password: None,
            roles: None,
            grant: None,
            revoke: None,
        }
    }
}

#[derive(Serialize)]
struct RoleChange<'a> {
    role: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant: Option<Permissions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoke: Option<Permissions>,
}

impl Client {
    /// The auth API (users, roles, enable / disable).
    pub fn auth(&self) -> Auth<'_> {
        Auth { client: self }
    }
}

fn name_segment(kind: &str, name: &str) -> Result<String> {
    if name.is_empty() || name.contains('/') {
        return Err(Error::InvalidArgument(format!(
            "invalid {kind} name {name:?}"
        )));
    }
    let encoded = super::keys::encode_key(name)?;
    Ok(encoded.trim_start_matches('/').to_string())
}

fn permissions(access: Access, patterns: Vec<String>) -> Permissions {
    let (read, write) = match access {
        Access::Read => (patterns, Vec::new()),
        Access::Write => (Vec::new(), patterns),
        Access::ReadWrite => (patterns.clone(), patterns),
    };
    Permissions {
        kv: KvPermissions { read, write },
    }
}

impl Auth<'_> {
    async fn get<T: serde::de::DeserializeOwned>(&self, rest: &str) -> Result<T> {
        self.client.v2_only("the v2 auth API").await?;
        let req = Request::new(Method::Get, self.client.api_path(rest), Retry::Read);
        json_answer(self.client.transport().send(&req).await?)
    }

    async fn put<T: serde::de::DeserializeOwned>(&self, rest: &str, body: Body) -> Result<T> {
        self.client.v2_only("the v2 auth API").await?;
        let req = Request::new(Method::Put, self.client.api_path(rest), Retry::Write).body(body);
        json_answer(self.client.transport().send(&req).await?)
    }

    async fn bodyless(&self, method: Method, rest: &str) -> Result<()> {
        self.client.v2_only("the v2 auth API").await?;
        let req = Request::new(method, self.client.api_path(rest), Retry::Write);
        empty_answer(self.client.transport().send(&req).await?)
    }

    /// Whether auth is enabled.
    pub async fn status(&self) -> Result<bool> {
        Ok(self.get::<Enabled>("auth/enable").await?.enabled)
    }

    /// Enables auth (needs a root user: etcd answers 409 otherwise).
    pub async fn enable(&self) -> Result<()> {
        self.bodyless(Method::Put, "auth/enable").await
    }

    /// Disables auth (as root).
    pub async fn disable(&self) -> Result<()> {
        self.bodyless(Method::Delete, "auth/enable").await
    }

    /// The names of all users.
    pub async fn users(&self) -> Result<Vec<String>> {
        let users: Users = self.get("auth/users").await?;
        Ok(users
            .users
            .into_iter()
            .map(|u| match u {
                UserEntry::Name(n) => n,
                UserEntry::Full(u) => u.user,
            })
            .collect())
    }

    /// One user with its roles and their permissions.
    pub async fn user(&self, name: &str) -> Result<User> {
        self.get(&format!("auth/users/{}", name_segment("user", name)?))
            .await
    }

    async fn put_user(&self, name: &str, change: UserChange<'_>) -> Result<User> {
        self.put(
            &format!("auth/users/{}", name_segment("user", name)?),
            Body::json(&change)?,
        )
        .await
    }

    /// Creates a user. As etcd does it, this is the same request as a password change: for an
    /// existing user it sets the password (use [`add_user_with_roles`](Auth::add_user_with_roles)
    /// to fail on an existing user instead).
    pub async fn add_user(&self, name: &str, password: &str) -> Result<User> {
        let change = UserChange {
            password: Some(password),
            ..UserChange::new(name)
        };
        self.put_user(name, change).await
    }

    /// Creates a user with these roles (role names are not checked by etcd). Fails with
    /// [`Error::Http`] 409 if the user exists. The answer lists the role names only.
    ///
    /// [`Error::Http`]: crate::Error::Http
    pub async fn add_user_with_roles<I, S>(
        &self,
        name: &str,
        password: &str,
        roles: I,
    ) -> Result<User>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        let change = UserChange {
            password: Some(password),
            roles: Some(&roles),
            ..UserChange::new(name)
        };
        self.put_user(name, change).await
    }

    /// Changes a user's password.
    pub async fn change_password(&self, name: &str, password: &str) -> Result<User> {
        let change = UserChange {
            password: Some(password),
            ..UserChange::new(name)
        };
        self.put_user(name, change).await
    }

    /// Deletes a user.
    pub async fn delete_user(&self, name: &str) -> Result<()> {
        self.bodyless(
            Method::Delete,
            &format!("auth/users/{}", name_segment("user", name)?),
        )
        .await
    }

    /// Gives a user these roles.
    pub async fn grant_roles<I, S>(&self, name: &str, roles: I) -> Result<User>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        let change = UserChange {
            grant: Some(&roles),
            ..UserChange::new(name)
        };
        self.put_user(name, change).await
    }

    /// Takes these roles from a user.
    pub async fn revoke_roles<I, S>(&self, name: &str, roles: I) -> Result<User>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles: Vec<String> = roles.into_iter().map(Into::into).collect();
        let change = UserChange {
            revoke: Some(&roles),
            ..UserChange::new(name)
        };
        self.put_user(name, change).await
    }

    /// All roles with their permissions.
    pub async fn roles(&self) -> Result<Vec<Role>> {
        Ok(self.get::<Roles>("auth/roles").await?.roles)
    }

    /// One role.
    pub async fn role(&self, name: &str) -> Result<Role> {
        self.get(&format!("auth/roles/{}", name_segment("role", name)?))
            .await
    }

    /// Creates a role without permissions.
    pub async fn add_role(&self, name: &str) -> Result<Role> {
        let body = Body::json(&RoleChange {
            role: name,
            grant: None,
            revoke: None,
        })?;
        self.put(&format!("auth/roles/{}", name_segment("role", name)?), body)
            .await
    }

    /// Deletes a role.
    pub async fn delete_role(&self, name: &str) -> Result<()> {
        self.bodyless(
            Method::Delete,
            &format!("auth/roles/{}", name_segment("role", name)?),
        )
        .await
    }

    async fn change_permissions(&self, change: RoleChange<'_>) -> Result<Role> {
        let path = format!("auth/roles/{}", name_segment("role", change.role)?);
        self.put(&path, Body::json(&change)?).await
    }

    /// Grants a role access to key patterns.
    pub async fn grant_permissions<I, S>(
        &self,
        role: &str,
        access: Access,
        patterns: I,
    ) -> Result<Role>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let grant = permissions(access, patterns.into_iter().map(Into::into).collect());
        self.change_permissions(RoleChange {
            role,
            grant: Some(grant),
            revoke: None,
        })
        .await
    }

    /// Revokes a role's access to key patterns.
    pub async fn revoke_permissions<I, S>(
        &self,
        role: &str,
        access: Access,
        patterns: I,
    ) -> Result<Role>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let revoke = permissions(access, patterns.into_iter().map(Into::into).collect());
        self.change_permissions(RoleChange {
            role,
            grant: None,
            revoke: Some(revoke),
        })
        .await
    }
}
