//! Every v3 RPC carries the auth token when auth is on — unary calls, per-member calls and
//! streams alike, lease keep-alive, lease list, compact, alarm and member list included (etcd
//! 3.5.28 / 3.6.9 refuse them without one: CVE-2026-33413). Proved on the wire: an HTTP/2
//! man-in-the-middle (`h2::server` towards the client, `h2::client` towards a real etcd with auth
//! on) records each request's method and `token` header and forwards it, body, answer and
//! trailers both ways.

mod v3common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use h2::{RecvStream, SendStream};
use http::{Request, Response};
use rsetcd::v3::{AlarmType, Client, Compare, CompareOp, Op, WatchItem};
use tokio::net::{TcpListener, TcpStream};
use v3common::own_node;

/// What the recorder saw: each request's method, and the `token` header it carried.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Serves HTTP/2 on 127.0.0.1 and forwards every request to `upstream` (`host:port`), one
/// upstream connection per client connection. The task ends with the test's runtime.
async fn recorder(upstream: String, seen: Seen) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(connection(socket, upstream.clone(), seen.clone()));
        }
    });
    url
}

async fn connection(socket: TcpStream, upstream: String, seen: Seen) -> Result<(), h2::Error> {
    let mut down = h2::server::handshake(socket).await?;
    let Ok(up) = TcpStream::connect(&upstream).await else {
        return Ok(());
    };
    let (send, up_conn) = h2::client::handshake(up).await?;
    tokio::spawn(up_conn);
    while let Some(accepted) = down.accept().await {
        let (req, respond) = accepted?;
        let token = req
            .headers()
            .get("token")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        seen.lock()
            .unwrap()
            .push((req.uri().path().to_string(), token));
        tokio::spawn(exchange(req, respond, send.clone()));
    }
    Ok(())
}

/// One request forwarded and its answer brought back (headers, data, trailers).
async fn exchange(
    req: Request<RecvStream>,
    mut respond: h2::server::SendResponse<Bytes>,
    send: h2::client::SendRequest<Bytes>,
) -> Result<(), h2::Error> {
    let (parts, body) = req.into_parts();
    let mut send = send.ready().await?;
    let (answer, up_body) = send.send_request(Request::from_parts(parts, ()), false)?;
    tokio::spawn(pump(body, up_body));
    let (parts, body) = answer.await?.into_parts();
    let down_body = respond.send_response(Response::from_parts(parts, ()), false)?;
    pump(body, down_body).await
}

/// Copies a body and its trailers from one stream to the other.
async fn pump(mut from: RecvStream, mut to: SendStream<Bytes>) -> Result<(), h2::Error> {
    while let Some(chunk) = from.data().await {
        let chunk = chunk?;
        let _ = from.flow_control().release_capacity(chunk.len());
        to.send_data(chunk, false)?;
    }
    match from.trailers().await? {
        Some(trailers) => to.send_trailers(trailers),
        None => to.send_data(Bytes::new(), true),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_carries_the_token_on_the_wire() {
    let (node, open) = own_node().await;
    let seen: Seen = Arc::default();
    let upstream = node.client_url().trim_start_matches("http://").to_string();
    let url = recorder(upstream, seen.clone()).await;
    // The recorder tells a request without a token: one made before auth is on, without
    // credentials.
    let anonymous = Client::builder().host(&url).build().unwrap();
    anonymous.put("/tok/before", "auth").await.unwrap();
    assert_eq!(
        std::mem::take(&mut *seen.lock().unwrap()),
        [("/etcdserverpb.KV/Put".to_string(), None)]
    );
    open.user_add("root", "rootpw").await.unwrap();
    open.user_grant_role("root", "root").await.unwrap();
    open.auth_enable().await.unwrap();
    let c = Client::builder()
        .host(&url)
        .basic_auth("root", "rootpw")
        .build()
        .unwrap();

    // KV.
    let put = c.put("/tok/a", "1").await.unwrap();
    c.get("/tok/").prefix().await.unwrap();
    c.txn()
        .when(Compare::value("/tok/a", CompareOp::Equal, "1"))
        .and_then(Op::put("/tok/b", "2"))
        .await
        .unwrap();
    c.delete("/tok/b").await.unwrap();
    let revision = put.header.unwrap().revision;
    c.compact(revision, false).await.unwrap();
    // Lease: grant, time to live, list, keep-alive (a stream), revoke.
    let lease = c.lease_grant(10).await.unwrap().id;
    c.lease_time_to_live(lease, true).await.unwrap();
    assert!(c
        .leases()
        .await
        .unwrap()
        .leases
        .iter()
        .any(|l| l.id == lease));
    let keep = c.lease_keep_alive(lease).await.unwrap();
    drop(keep);
    c.lease_revoke(lease).await.unwrap();
    // Watch (a stream).
    let mut watch = c.watch("/tok/w").await.unwrap();
    c.put("/tok/w", "x").await.unwrap();
    let item = tokio::time::timeout(Duration::from_secs(10), watch.next()).await;
    assert!(
        matches!(item, Ok(Some(Ok(WatchItem::Events { .. })))),
        "{item:?}"
    );
    // Cluster and maintenance: member list, update (same URLs), status (also per member),
    // alarms, hash, defragment, snapshot (a stream).
    let members = c.member_list().await.unwrap().members;
    let me = &members[0];
    c.member_update(me.id, me.peer_ur_ls.clone()).await.unwrap();
    c.status().await.unwrap();
    c.status_at(&url).await.unwrap();
    c.alarm_list().await.unwrap();
    c.alarm_disarm(me.id, AlarmType::Nospace).await.unwrap();
    c.hash_kv_at(&url, 0).await.unwrap();
    c.defragment_at(&url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    c.snapshot_to_file(dir.path().join("s.db"), |_, _| {})
        .await
        .unwrap();
    // Auth administration.
    c.user_list().await.unwrap();
    c.role_list().await.unwrap();
    c.user_get("root").await.unwrap();
    // Lock and election (their sessions keep a lease alive).
    let session = c.session(10).await.unwrap();
    let lock = c.lock("/tok/lock", &session).await.unwrap();
    c.unlock(lock.key).await.unwrap();
    let leader = c.campaign("/tok/elect", "me", &session).await.unwrap();
    c.proclaim(&leader, "still me").await.unwrap();
    c.leader("/tok/elect").await.unwrap();
    let mut observe = c.observe("/tok/elect").await.unwrap();
    let led = tokio::time::timeout(Duration::from_secs(10), observe.next()).await;
    assert!(matches!(led, Ok(Some(Ok(_)))), "{led:?}");
    c.resign(&leader).await.unwrap();
    session.close().await.unwrap();
    // The v2 client over v3 goes through the same v3 client: its credentials become a token.
    let v2 = rsetcd::v2::Client::builder()
        .host(&url)
        .basic_auth("root", "rootpw")
        .v2_backend(rsetcd::v2::V2Backend::over_v3("/v2tok"))
        .build()
        .unwrap();
    let w = v2
        .write("/k", "v")
        .ttl(Duration::from_secs(30))
        .await
        .unwrap();
    let next = v2
        .read("/k")
        .wait_index(w.node.modified_index)
        .await
        .unwrap();
    assert!(next.node.ttl.is_some_and(|t| t > 0 && t <= 30), "{next:?}");

    let seen = seen.lock().unwrap().clone();
    let mut by_method: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (method, token) in &seen {
        let entry = by_method.entry(method).or_default();
        entry.0 += 1;
        if token.as_deref().is_some_and(|t| !t.is_empty()) {
            entry.1 += 1;
        }
    }
    for (method, (calls, with_token)) in &by_method {
        if *method == "/etcdserverpb.Auth/Authenticate" {
            assert_eq!(*with_token, 0, "authenticating needs no token");
        } else {
            assert_eq!(
                calls, with_token,
                "{method}: {with_token} of {calls} with a token"
            );
        }
    }
    for method in [
        "Auth/Authenticate",
        "KV/Put",
        "KV/Range",
        "KV/Txn",
        "KV/DeleteRange",
        "KV/Compact",
        "Lease/LeaseGrant",
        "Lease/LeaseTimeToLive",
        "Lease/LeaseLeases",
        "Lease/LeaseKeepAlive",
        "Lease/LeaseRevoke",
        "Watch/Watch",
        "Cluster/MemberList",
        "Cluster/MemberUpdate",
        "Maintenance/Status",
        "Maintenance/Alarm",
        "Maintenance/HashKV",
        "Maintenance/Defragment",
        "Maintenance/Snapshot",
        "Auth/UserList",
        "Auth/RoleList",
        "Auth/UserGet",
    ] {
        let path = format!("/etcdserverpb.{method}");
        assert!(
            by_method.contains_key(path.as_str()),
            "{path} never seen: {by_method:?}"
        );
    }
    for path in [
        "/v3lockpb.Lock/Lock",
        "/v3lockpb.Lock/Unlock",
        "/v3electionpb.Election/Campaign",
        "/v3electionpb.Election/Proclaim",
        "/v3electionpb.Election/Leader",
        "/v3electionpb.Election/Observe",
        "/v3electionpb.Election/Resign",
    ] {
        assert!(
            by_method.contains_key(path),
            "{path} never seen: {by_method:?}"
        );
    }
    drop(node);
}
