//! v3 auth against real etcd: users, roles, permissions on keys, prefixes and ranges; enabling and
//! disabling auth; and a token that expires or goes stale being renewed without the caller
//! doing anything (unary calls, watches and keep-alives).

mod v3common;

use std::time::Duration;

use rsetcd::v3::{Client, GrpcCode, Permission, V3ErrorKind, WatchItem};
use rsetcd_testkit::Etcd;
use v3common::own_node_with;

fn as_user(node: &Etcd, user: &str, password: &str) -> Client {
    Client::builder()
        .host(node.client_url())
        .basic_auth(user, password)
        .build()
        .unwrap()
}

/// A node with a short token TTL, a root user, auth on; returns the node and a root client.
async fn secured() -> (Etcd, Client) {
    let (node, open) =
        own_node_with(|b| b.arg("--auth-token=simple").arg("--auth-token-ttl=1")).await;
    open.user_add("root", "rootpw").await.unwrap();
    open.user_grant_role("root", "root").await.unwrap();
    open.auth_enable().await.unwrap();
    // Without credentials, nothing goes any more.
    let err = open.get("/x").await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::UserEmpty), "{err}");
    let root = as_user(&node, "root", "rootpw");
    (node, root)
}

#[tokio::test]
async fn users_roles_and_permissions_on_keys_prefixes_and_ranges() {
    let (node, root) = secured().await;
    root.role_add("app").await.unwrap();
    root.role_grant_permission("app", Permission::read_write("/app/").prefix())
        .await
        .unwrap();
    root.role_grant_permission("app", Permission::read("/shared/a").range_end("/shared/m"))
        .await
        .unwrap();
    root.role_grant_permission("app", Permission::write("/inbox"))
        .await
        .unwrap();
    let role = root.role_get("app").await.unwrap();
    assert_eq!(role.perm.len(), 3);
    root.user_add("alice", "alicepw").await.unwrap();
    root.user_grant_role("alice", "app").await.unwrap();
    assert_eq!(root.user_get("alice").await.unwrap().roles, ["app"]);
    assert!(root
        .user_list()
        .await
        .unwrap()
        .users
        .contains(&"alice".to_string()));
    assert!(root
        .role_list()
        .await
        .unwrap()
        .roles
        .contains(&"app".to_string()));
    let err = root.user_add("alice", "again").await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::UserExists), "{err}");

    root.put("/shared/b", "shared").await.unwrap();
    root.put("/shared/z", "hidden").await.unwrap();
    let alice = as_user(&node, "alice", "alicepw");
    alice.put("/app/x", "1").await.unwrap();
    assert_eq!(alice.get("/app/").prefix().await.unwrap().kvs.len(), 1);
    assert_eq!(alice.get("/shared/b").await.unwrap().kvs[0].value, "shared");
    alice.put("/inbox", "msg").await.unwrap();
    for err in [
        alice.get("/shared/z").await.unwrap_err(),
        alice.put("/shared/b", "no").await.map(|_| ()).unwrap_err(),
        alice.get("/inbox").await.map(|_| ()).unwrap_err(),
        alice.put("/other", "no").await.map(|_| ()).unwrap_err(),
    ] {
        assert_eq!(err.v3_kind(), Some(V3ErrorKind::PermissionDenied), "{err}");
    }
    let wrong = as_user(&node, "alice", "wrong");
    let err = wrong.get("/app/x").await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::AuthFailed), "{err}");

    root.role_revoke_permission("app", "/app/", rsetcd::v3::prefix_end(b"/app/"))
        .await
        .unwrap();
    root.user_change_password("alice", "newpw").await.unwrap();
    let alice = as_user(&node, "alice", "newpw");
    let err = alice.get("/app/x").await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::PermissionDenied), "{err}");
    root.user_revoke_role("alice", "app").await.unwrap();
    root.user_delete("alice").await.unwrap();
    root.role_delete("app").await.unwrap();
    let err = root.user_get("alice").await.unwrap_err();
    assert_eq!(err.v3_kind(), Some(V3ErrorKind::UserNotFound), "{err}");

    root.auth_disable().await.unwrap();
    let open = v3common::own_client(&node);
    assert_eq!(open.get("/shared/b").await.unwrap().kvs.len(), 1);
}

#[tokio::test]
async fn expired_and_stale_tokens_are_renewed_by_themselves() {
    let (node, root) = secured().await;
    root.role_add("w").await.unwrap();
    root.role_grant_permission("w", Permission::read_write("/t/").prefix())
        .await
        .unwrap();
    root.user_add("bob", "bobpw").await.unwrap();
    root.user_grant_role("bob", "w").await.unwrap();
    let bob = as_user(&node, "bob", "bobpw");
    bob.put("/t/a", "1").await.unwrap();

    // The token's TTL is 1 s (renewed by use): idle 2.5 s, it is gone.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(bob.get("/t/a").await.unwrap().kvs[0].value, "1");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    bob.put("/t/b", "2").await.unwrap();

    // A change to the auth store makes every older token stale for writes.
    root.user_add("carol", "carolpw").await.unwrap();
    bob.put("/t/c", "3").await.unwrap();

    // A watch created with an expired token, and one resumed after that.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut w = bob.watch("/t/").prefix().await.unwrap();
    root.put("/t/d", "4").await.unwrap();
    match tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        WatchItem::Events { events, .. } => {
            assert_eq!(events[0].kv.as_ref().unwrap().value, "4")
        }
        other => panic!("unexpected {other:?}"),
    }

    // A keep-alive whose token expires between refreshes goes on.
    let lease = bob.lease_grant(2).await.unwrap();
    let keep = bob.lease_keep_alive(lease.id).await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(keep.is_alive(), "{:?}", keep.state());
}

#[tokio::test]
async fn a_user_without_password_cannot_log_in_with_one() {
    let (node, root) = secured().await;
    root.user_add_no_password("cn-only").await.unwrap();
    assert!(root
        .user_list()
        .await
        .unwrap()
        .users
        .contains(&"cn-only".to_string()));
    // No password matches it, not even the empty one.
    for password in ["", "guess"] {
        let err = as_user(&node, "cn-only", password)
            .get("/x")
            .await
            .unwrap_err();
        assert_eq!(
            err.v3_kind(),
            Some(V3ErrorKind::AuthFailed),
            "{password:?}: {err}"
        );
    }
}

/// `auth_status` on etcd 3.5 and later: off, raised by user changes, on (as root), raised by
/// disabling. etcd 3.4 has no such method: `Unimplemented`.
#[tokio::test]
async fn auth_status_follows_enabling_and_the_auth_revision() {
    let (node, open) = own_node_with(|b| b).await;
    let before = match open.auth_status().await {
        Ok(s) => s,
        Err(rsetcd::Error::V3 { code, message, .. }) => {
            assert_eq!(code, GrpcCode::Unimplemented, "{message}");
            assert!(message.contains("AuthStatus"), "{message}");
            return;
        }
        Err(e) => panic!("auth status: {e}"),
    };
    assert!(!before.enabled());
    assert!(before.header().cluster_id() != 0);
    open.user_add("root", "rootpw").await.unwrap();
    open.user_grant_role("root", "root").await.unwrap();
    let users = open.auth_status().await.unwrap();
    assert!(!users.enabled());
    assert_eq!(users.auth_revision(), before.auth_revision() + 2);
    open.auth_enable().await.unwrap();
    let root = as_user(&node, "root", "rootpw");
    let on = root.auth_status().await.unwrap();
    assert!(on.enabled());
    assert_eq!(on.auth_revision(), users.auth_revision());
    root.auth_disable().await.unwrap();
    let off = open.auth_status().await.unwrap();
    assert!(!off.enabled());
    assert!(off.auth_revision() > on.auth_revision());
}
