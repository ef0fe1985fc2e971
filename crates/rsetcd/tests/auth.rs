//! The v2 auth API against real etcd: root, enable, a role limited to /app/*, a user with it,
//! Unauthorized elsewhere, wrong passwords, and no password in any Debug output or error.

use rsetcd::v2::auth::Access;
use rsetcd::v2::Client;
use rsetcd::{Error, EtcdCode};
use rsetcd_testkit::certs::TestPki;
use rsetcd_testkit::Etcd;

/// etcd's v2 auth checks the password with bcrypt on every request (and hashes it on every
/// user change): on a loaded machine a request can take seconds.
const AUTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

fn as_user(url: &str, user: &str, password: &str) -> Client {
    Client::builder()
        .host(url)
        .request_timeout(AUTH_TIMEOUT)
        .basic_auth(user, password)
        .build()
        .unwrap()
}

fn http_status(err: &Error) -> Option<u16> {
    match err {
        Error::Http { status, .. } => Some(*status),
        _ => None,
    }
}

#[tokio::test]
async fn users_roles_permissions_and_enable_disable() {
    let node = tokio::task::spawn_blocking(Etcd::start)
        .await
        .unwrap()
        .unwrap();
    let url = node.client_url();
    let anon = Client::builder().host(&url).build().unwrap();
    let root = as_user(&url, "root", "rootpw");

    assert!(!anon.auth().status().await.unwrap());
    let err = anon.auth().enable().await.unwrap_err();
    assert_eq!(http_status(&err), Some(409), "no root user yet: {err}");
    let created = anon.auth().add_user("root", "rootpw").await.unwrap();
    assert_eq!(created.user, "root");
    assert_eq!(created.role_names(), ["root"]);
    anon.auth().enable().await.unwrap();
    assert!(root.auth().status().await.unwrap());

    // A role limited to /app/*, and alice with it.
    let role = root.auth().add_role("app").await.unwrap();
    assert_eq!(role.role, "app");
    let role = root
        .auth()
        .grant_permissions("app", Access::ReadWrite, ["/app/*"])
        .await
        .unwrap();
    assert_eq!(role.permissions.kv.read, ["/app/*"]);
    assert_eq!(role.permissions.kv.write, ["/app/*"]);
    root.auth().add_user("alice", "alicepw").await.unwrap();
    let alice_user = root.auth().grant_roles("alice", ["app"]).await.unwrap();
    assert_eq!(alice_user.role_names(), ["app"]);
    // Created with roles in one request: a second creation is refused, not a password change.
    let bob = root
        .auth()
        .add_user_with_roles("bob", "bobpw", ["app"])
        .await
        .unwrap();
    assert_eq!(bob.role_names(), ["app"]);
    let err = root
        .auth()
        .add_user_with_roles("bob", "other", ["app"])
        .await
        .unwrap_err();
    assert_eq!(http_status(&err), Some(409), "{err}");
    as_user(&url, "bob", "bobpw")
        .write("/app/bob", "b")
        .await
        .unwrap();
    root.auth().delete_user("bob").await.unwrap();

    // Lock anonymous users out: guest keeps full access until revoked.
    root.auth()
        .revoke_permissions("guest", Access::ReadWrite, ["/*"])
        .await
        .unwrap();
    let err = anon.write("/other", "x").await.unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::Unauthorized));

    let alice = as_user(&url, "alice", "alicepw");
    alice.write("/app/x", "mine").await.unwrap();
    assert_eq!(alice.read("/app/x").await.unwrap().value(), Some("mine"));
    let err = alice.write("/other", "x").await.unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::Unauthorized));
    let err = alice.read("/other").await.unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::Unauthorized));

    let wrong = as_user(&url, "alice", "not-her-password");
    let err = wrong.read("/app/x").await.unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::Unauthorized));
    assert!(
        err.to_string().contains("Insufficient credentials"),
        "{err}"
    );
    let builder = Client::builder()
        .host(&url)
        .basic_auth("alice", "not-her-password");
    for shown in [
        err.to_string(),
        format!("{err:?}"),
        format!("{wrong:?}"),
        format!("{builder:?}"),
    ] {
        assert!(!shown.contains("not-her-password"), "{shown}");
    }
    assert!(
        format!("{wrong:?}").contains("alice"),
        "the user name is shown"
    );

    // Listings and lookups.
    let mut users = root.auth().users().await.unwrap();
    users.sort();
    assert_eq!(users, ["alice", "root"]);
    let detail = root.auth().user("alice").await.unwrap();
    assert_eq!(detail.roles[0].permissions.kv.read, ["/app/*"]);
    let roles: Vec<String> = root
        .auth()
        .roles()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.role)
        .collect();
    assert!(
        roles.contains(&"app".to_string()) && roles.contains(&"root".to_string()),
        "{roles:?}"
    );
    assert_eq!(
        root.auth().role("app").await.unwrap().permissions.kv.write,
        ["/app/*"]
    );
    let err = root.auth().user("bob").await.unwrap_err();
    assert_eq!(http_status(&err), Some(404), "{err}");
    let err = alice.auth().users().await.unwrap_err();
    assert_eq!(
        http_status(&err),
        Some(401),
        "the auth API needs root: {err}"
    );

    // Password change, role revocation, deletes.
    root.auth().change_password("alice", "newpw").await.unwrap();
    assert_eq!(
        alice.read("/app/x").await.unwrap_err().code(),
        Some(EtcdCode::Unauthorized)
    );
    let alice = as_user(&url, "alice", "newpw");
    alice.read("/app/x").await.unwrap();
    root.auth().revoke_roles("alice", ["app"]).await.unwrap();
    assert_eq!(
        alice.read("/app/x").await.unwrap_err().code(),
        Some(EtcdCode::Unauthorized)
    );
    let err = root.auth().delete_role("root").await.unwrap_err();
    assert_eq!(http_status(&err), Some(403), "{err}");
    root.auth().delete_user("alice").await.unwrap();
    root.auth().delete_role("app").await.unwrap();

    root.auth().disable().await.unwrap();
    assert!(!anon.auth().status().await.unwrap());
    anon.write("/other", "open again").await.unwrap();
}

#[test]
fn blocking_auth_api() {
    let node = Etcd::start().unwrap();
    let client = |creds: Option<(&str, &str)>| {
        let b = rsetcd::v2::blocking::Client::builder()
            .host(node.client_url())
            .request_timeout(AUTH_TIMEOUT);
        match creds {
            Some((user, password)) => b.basic_auth(user, password),
            None => b,
        }
        .build()
        .unwrap()
    };
    let anon = client(None);
    assert!(!anon.auth().status().unwrap());
    anon.auth().add_user("root", "rootpw").unwrap();
    anon.auth().enable().unwrap();
    let root = client(Some(("root", "rootpw")));
    assert!(!format!("{root:?}").contains("rootpw"));
    let role = root
        .auth()
        .grant_permissions("ops", Access::Read, ["/ops/*"])
        .unwrap_err();
    assert_eq!(http_status(&role), Some(404), "no such role yet: {role}");
    root.auth().add_role("ops").unwrap();
    let role = root
        .auth()
        .grant_permissions("ops", Access::Read, ["/ops/*"])
        .unwrap();
    assert_eq!(role.permissions.kv.read, ["/ops/*"]);
    assert!(role.permissions.kv.write.is_empty());
    root.auth()
        .add_user_with_roles("carol", "carolpw", ["ops"])
        .unwrap();
    assert_eq!(root.auth().user("carol").unwrap().role_names(), ["ops"]);
    root.auth().revoke_roles("carol", ["ops"]).unwrap();
    root.auth()
        .revoke_permissions("ops", Access::Read, ["/ops/*"])
        .unwrap();
    assert_eq!(
        root.auth().role("ops").unwrap().permissions.kv.read.len(),
        0
    );
    let err = anon.auth().users().unwrap_err();
    assert_eq!(http_status(&err), Some(401), "{err}");
    root.auth().disable().unwrap();
    assert!(!anon.auth().status().unwrap());
}

#[tokio::test]
async fn a_client_certificate_names_the_user() {
    // etcd takes the CN of a verified client certificate as the user name (alice here).
    let pki = TestPki::generate().unwrap();
    let tls = pki.server_tls();
    let node = tokio::task::spawn_blocking(move || Etcd::builder().tls(tls).start())
        .await
        .unwrap()
        .unwrap();
    let with_cert = || {
        Client::builder()
            .host(node.client_url())
            .request_timeout(AUTH_TIMEOUT)
            .ca_file(&pki.ca)
            .client_cert_files(&pki.client.cert, &pki.client.key)
    };
    let root = with_cert().basic_auth("root", "rootpw").build().unwrap();
    root.auth().add_user("root", "rootpw").await.unwrap();
    root.auth().enable().await.unwrap();
    root.auth().add_role("app").await.unwrap();
    root.auth()
        .grant_permissions("app", Access::ReadWrite, ["/app/*"])
        .await
        .unwrap();
    root.auth()
        .add_user_with_roles("alice", "alicepw", ["app"])
        .await
        .unwrap();
    root.auth()
        .revoke_permissions("guest", Access::ReadWrite, ["/*"])
        .await
        .unwrap();

    let alice = with_cert().build().unwrap();
    alice.write("/app/k", "by certificate").await.unwrap();
    let err = alice.write("/other", "x").await.unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::Unauthorized), "{err}");
    // Basic credentials on top of the certificate win.
    root.write("/other", "root may").await.unwrap();
}
