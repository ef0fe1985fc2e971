//! Authentication: the token exchange, enabling, disabling and reading the state of auth, users
//! and roles.

use super::client::Client;
use super::proto::authpb::{self, permission::Type as PermissionType};
use super::proto::etcdserverpb::*;
use super::range::{bytes, range_options, KeyRange};
use crate::error::Result;
use crate::retry::Retry;

/// A permission of a role on a key, a prefix or a range.
#[derive(Debug, Clone)]
pub struct Permission(pub(crate) authpb::Permission);

impl KeyRange for Permission {
    fn key_range(&mut self) -> (&mut bytes::Bytes, &mut bytes::Bytes) {
        (&mut self.0.key, &mut self.0.range_end)
    }
}

impl Permission {
    fn new(kind: PermissionType, key: impl AsRef<[u8]>) -> Permission {
        Permission(authpb::Permission {
            perm_type: kind as i32,
            key: bytes(key),
            range_end: Default::default(),
        })
    }

    /// Reading `key`.
    pub fn read(key: impl AsRef<[u8]>) -> Permission {
        Permission::new(PermissionType::Read, key)
    }

    /// Writing `key`.
    pub fn write(key: impl AsRef<[u8]>) -> Permission {
        Permission::new(PermissionType::Write, key)
    }

    /// Reading and writing `key`.
    pub fn read_write(key: impl AsRef<[u8]>) -> Permission {
        Permission::new(PermissionType::Readwrite, key)
    }

    range_options!("On every key");
}

/// Auth management. Enabling auth needs a `root` user with the `root` role; once enabled, a
/// client built with `basic_auth(user, password)` authenticates by itself and renews its token
/// when etcd says it expired or is stale.
impl Client {
    /// Turns authentication on.
    pub async fn auth_enable(&self) -> Result<AuthEnableResponse> {
        self.core.unary(Retry::Read, AuthEnableRequest {}).await
    }

    /// Turns authentication off (root only).
    pub async fn auth_disable(&self) -> Result<AuthDisableResponse> {
        self.core.unary(Retry::Read, AuthDisableRequest {}).await
    }

    /// Whether authentication is on, and the auth store's revision (which every change to users,
    /// roles or permissions raises): read with [`enabled`](AuthStatusResponse::enabled) and
    /// [`auth_revision`](AuthStatusResponse::auth_revision).
    ///
    /// etcd 3.5 and later: etcd 3.4 has no such method and refuses it with gRPC `Unimplemented`
    /// ([`GrpcCode::Unimplemented`](crate::v3::GrpcCode::Unimplemented)).
    ///
    /// ```no_run
    /// # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
    /// let status = client.auth_status().await?;
    /// println!("auth on: {}, auth revision {}", status.enabled(), status.auth_revision());
    /// # Ok(()) }
    /// ```
    pub async fn auth_status(&self) -> Result<AuthStatusResponse> {
        self.core.unary(Retry::Read, AuthStatusRequest {}).await
    }

    /// Adds a user with a password.
    pub async fn user_add(&self, name: &str, password: &str) -> Result<AuthUserAddResponse> {
        let req = AuthUserAddRequest {
            name: name.into(),
            password: password.into(),
            options: None,
        };
        self.core.unary(Retry::Write, req).await
    }

    /// Adds a user that has no password (it can only authenticate with a TLS client certificate
    /// whose common name is the user's name; etcd 3.4 and later).
    pub async fn user_add_no_password(&self, name: &str) -> Result<AuthUserAddResponse> {
        let req = AuthUserAddRequest {
            name: name.into(),
            password: String::new(),
            options: Some(authpb::UserAddOptions { no_password: true }),
        };
        self.core.unary(Retry::Write, req).await
    }

    /// A user and its roles.
    pub async fn user_get(&self, name: &str) -> Result<AuthUserGetResponse> {
        let req = AuthUserGetRequest { name: name.into() };
        self.core.unary(Retry::Read, req).await
    }

    /// Every user name.
    pub async fn user_list(&self) -> Result<AuthUserListResponse> {
        self.core.unary(Retry::Read, AuthUserListRequest {}).await
    }

    /// Deletes a user.
    pub async fn user_delete(&self, name: &str) -> Result<AuthUserDeleteResponse> {
        let req = AuthUserDeleteRequest { name: name.into() };
        self.core.unary(Retry::Write, req).await
    }

    /// Changes a user's password.
    pub async fn user_change_password(
        &self,
        name: &str,
        password: &str,
    ) -> Result<AuthUserChangePasswordResponse> {
        let req = AuthUserChangePasswordRequest {
            name: name.into(),
            password: password.into(),
        };
        self.core.unary(Retry::Read, req).await
    }

    /// Grants `role` to `user`.
    pub async fn user_grant_role(
        &self,
        user: &str,
        role: &str,
    ) -> Result<AuthUserGrantRoleResponse> {
        let req = AuthUserGrantRoleRequest {
            user: user.into(),
            role: role.into(),
        };
        self.core.unary(Retry::Read, req).await
    }

    /// Revokes `role` from `user`.
    pub async fn user_revoke_role(
        &self,
        user: &str,
        role: &str,
    ) -> Result<AuthUserRevokeRoleResponse> {
        let req = AuthUserRevokeRoleRequest {
            name: user.into(),
            role: role.into(),
        };
        self.core.unary(Retry::Write, req).await
    }

    /// Adds a role.
    pub async fn role_add(&self, name: &str) -> Result<AuthRoleAddResponse> {
        let req = AuthRoleAddRequest { name: name.into() };
        self.core.unary(Retry::Write, req).await
    }

    /// A role's permissions.
    pub async fn role_get(&self, name: &str) -> Result<AuthRoleGetResponse> {
        let req = AuthRoleGetRequest { role: name.into() };
        self.core.unary(Retry::Read, req).await
    }

    /// Every role name.
    pub async fn role_list(&self) -> Result<AuthRoleListResponse> {
        self.core.unary(Retry::Read, AuthRoleListRequest {}).await
    }

    /// Deletes a role.
    pub async fn role_delete(&self, name: &str) -> Result<AuthRoleDeleteResponse> {
        let req = AuthRoleDeleteRequest { role: name.into() };
        self.core.unary(Retry::Write, req).await
    }

    /// Grants a permission to a role.
    ///
    /// ```no_run
    /// # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
    /// use rsetcd::v3::Permission;
    /// client.role_add("reader").await?;
    /// client.role_grant_permission("reader", Permission::read("/config/").prefix()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn role_grant_permission(
        &self,
        role: &str,
        permission: Permission,
    ) -> Result<AuthRoleGrantPermissionResponse> {
        let req = AuthRoleGrantPermissionRequest {
            name: role.into(),
            perm: Some(permission.0),
        };
        self.core.unary(Retry::Read, req).await
    }

    /// Revokes a role's permission on `key` (with `range_end`, on that range; both as granted).
    pub async fn role_revoke_permission(
        &self,
        role: &str,
        key: impl AsRef<[u8]>,
        range_end: impl AsRef<[u8]>,
    ) -> Result<AuthRoleRevokePermissionResponse> {
        let req = AuthRoleRevokePermissionRequest {
            role: role.into(),
            key: bytes(key),
            range_end: bytes(range_end),
        };
        self.core.unary(Retry::Write, req).await
    }
}
