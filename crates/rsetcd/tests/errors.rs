//! Every error code etcd 3.4 can produce, triggered on a real etcd and checked to arrive as the right
//! `EtcdCode` — on both v2 backends (`http::`, `over_v3::`) where the error is the key API's;
//! the tests whose subject is the v2 HTTP server itself (its raw validation answers, its
//! `RaftInternal` 500) are HTTP only.

mod common;

use std::time::Duration;

use common::{etcd, raw_http, raw_json, unique, Backend};
use rsetcd::v2::Client;
use rsetcd::{Error, EtcdCode};
use rsetcd_testkit::fault::{Fault, FaultServer};
use rsetcd_testkit::Cluster;

fn code_of(result: rsetcd::Result<rsetcd::v2::Response>) -> EtcdCode {
    match result {
        Ok(r) => panic!("expected an etcd error, got {r:?}"),
        Err(e) => e
            .code()
            .unwrap_or_else(|| panic!("expected an etcd error, got {e}")),
    }
}

async fn key_errors_reachable_through_the_client(b: Backend) {
    let c = b.client();
    let d = unique("errs");
    let file = format!("{d}/file");
    c.write(&file, "f").await.unwrap();
    c.write(&format!("{d}/dir/child"), "x").await.unwrap();

    assert_eq!(
        code_of(c.read(&format!("{d}/nope")).await),
        EtcdCode::KeyNotFound
    );
    assert_eq!(
        code_of(c.compare_and_swap(&file, "g").prev_value("z").await),
        EtcdCode::TestFailed
    );
    assert_eq!(
        code_of(c.write(&format!("{d}/dir"), "v").await),
        EtcdCode::NotFile
    );
    assert_eq!(
        code_of(c.write(&format!("{file}/below"), "v").await),
        EtcdCode::NotDir
    );
    assert_eq!(code_of(c.create(&file, "v").await), EtcdCode::NodeExist);
    assert_eq!(code_of(c.write("/", "v").await), EtcdCode::RootReadOnly);
    assert_eq!(
        code_of(c.delete("/").recursive().await),
        EtcdCode::RootReadOnly
    );
    assert_eq!(
        code_of(c.rmdir(&format!("{d}/dir")).await),
        EtcdCode::DirNotEmpty
    );

    // The whole error carries etcd's message, cause and index.
    match c.read(&format!("{d}/nope")).await.unwrap_err() {
        Error::Etcd {
            code,
            message,
            cause,
            index,
        } => {
            assert_eq!(code, EtcdCode::KeyNotFound);
            assert_eq!(message, "Key not found");
            assert_eq!(cause.as_deref(), Some(format!("{d}/nope").as_str()));
            assert!(index > 0);
        }
        other => panic!("{other}"),
    }
}

/// v2 keeps the last 1,000 events; over v3 the history is etcd's until it is compacted, so
/// there 401 comes from a compaction (docs/v2-over-v3.md §8.7).
async fn event_index_cleared_after_the_history_window(b: Backend) {
    let c = b.client();
    let d = unique("flood");
    let start = c
        .write(&format!("{d}/first"), "x")
        .await
        .unwrap()
        .node
        .modified_index;
    match b {
        Backend::Http => {
            let mut tasks = Vec::new();
            for t in 0..8 {
                let c = c.clone();
                let d = d.clone();
                tasks.push(tokio::spawn(async move {
                    for i in 0..135 {
                        c.write(&format!("{d}/k{t}-{i}"), "v").await.unwrap();
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        }
        Backend::OverV3 => {
            let last = c.write(&format!("{d}/last"), "y").await.unwrap();
            let v3 = rsetcd::v3::Client::builder()
                .host(b.node().client_url())
                .build()
                .unwrap();
            v3.compact(rsetcd::v2::over_v3::revision_of(last.etcd_index), false)
                .await
                .unwrap();
        }
    }
    let err = c
        .read(&format!("{d}/first"))
        .wait_index(start)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::EventIndexCleared));
}

/// Request-validation errors cannot be sent through the typed API (it refuses them first), so each
/// is sent raw to the real etcd and its exact answer replayed to the client by a one-shot server.
/// HTTP only: its subject is the v2 server's answers on the wire (the engine refuses the same
/// forms itself, with the same codes: its unit tests in `over_v3::op`).
#[tokio::test]
async fn validation_errors_from_real_answers() {
    let url = etcd().client_url();
    let k = unique("valid");
    let cases: [(&str, &str, Option<&str>, EtcdCode); 7] = [
        (
            "PUT",
            "",
            Some("value=x&prevValue="),
            EtcdCode::PrevValueRequired,
        ),
        ("PUT", "", Some("value=x&ttl=-1"), EtcdCode::TtlNaN),
        ("GET", "?wait=true&waitIndex=abc", None, EtcdCode::IndexNaN),
        ("PUT", "", Some("value=x&wait=true"), EtcdCode::InvalidField),
        ("PUT", "", Some("value=%zz"), EtcdCode::InvalidForm),
        (
            "PUT",
            "",
            Some("refresh=true&ttl=5&value=x"),
            EtcdCode::RefreshValue,
        ),
        (
            "PUT",
            "",
            Some("refresh=true"),
            EtcdCode::RefreshTtlRequired,
        ),
    ];
    for (method, query, form, expected) in cases {
        let answer = raw_http(&url, method, &format!("/v2/keys{k}{query}"), form);
        let server = FaultServer::start(Fault::Respond(answer)).unwrap();
        let c = Client::builder().host(server.url()).build().unwrap();
        let err = c.read(&k).await.unwrap_err();
        assert_eq!(
            err.code(),
            Some(expected),
            "{method} {query} {form:?}: {err}"
        );
        assert_eq!(err.index(), Some(0), "validation errors carry index 0");
    }
}

/// v2 auth through the v2 API, v3 auth through the v3 API: over v3 the credentials become a v3
/// token, and wrong ones are v3's `AuthFailed`, not v2's 110 (docs/v2-over-v3.md §8.11).
async fn unauthorized_with_wrong_credentials(b: Backend) {
    let node = b.own_node().await;
    let url = node.client_url();
    if b == Backend::OverV3 {
        let v3 = rsetcd::v3::Client::builder().host(&url).build().unwrap();
        v3.user_add("root", "rootpw").await.unwrap();
        v3.user_grant_role("root", "root").await.unwrap();
        v3.auth_enable().await.unwrap();
    } else {
        enable_v2_auth(&url);
    }
    let bad = b
        .builder()
        .host(&url)
        .basic_auth("root", "wrong-pw")
        .build()
        .unwrap();
    let err = bad.read("/anything").await.unwrap_err();
    match b {
        Backend::Http => assert_eq!(err.code(), Some(EtcdCode::Unauthorized)),
        Backend::OverV3 => assert_eq!(
            err.v3_kind(),
            Some(rsetcd::v3::V3ErrorKind::AuthFailed),
            "{err}"
        ),
    }
    assert!(!err.to_string().contains("wrong-pw"));
    assert!(
        !format!("{bad:?}").contains("wrong-pw"),
        "Debug shows no password"
    );
    let good = b
        .builder()
        .host(&url)
        .basic_auth("root", "rootpw")
        .build()
        .unwrap();
    good.write("/authed", "yes").await.unwrap();
}

fn enable_v2_auth(url: &str) {
    let created = raw_json(
        url,
        "PUT",
        "/v2/auth/users/root",
        r#"{"user":"root","password":"rootpw"}"#,
    );
    assert!(
        created.starts_with(b"HTTP/1.0 201"),
        "{}",
        String::from_utf8_lossy(&created)
    );
    let enabled = raw_http(url, "PUT", "/v2/auth/enable", None);
    assert!(
        enabled.starts_with(b"HTTP/1.0 200"),
        "{}",
        String::from_utf8_lossy(&enabled)
    );
}

/// HTTP only: its subject is the v2 server's `RaftInternal` 500 without a quorum, and v2's
/// plain reads served from an isolated member's store (v3 answers without a quorum with errors
/// of its own, which the retry layer sorts in `retry::classify`; v3 reads are linearizable).
#[tokio::test]
async fn raft_internal_error_without_quorum_is_an_unknown_outcome() {
    let mut cluster = tokio::task::spawn_blocking(|| Cluster::start(3))
        .await
        .unwrap()
        .unwrap();
    let first = cluster.endpoints()[0].clone();
    let c = Client::builder()
        .host(&first)
        .request_timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    c.write("/q", "before").await.unwrap();
    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.stop(1).unwrap();
        cluster.stop(2).unwrap();
        cluster
    })
    .await
    .unwrap();
    let err = c.write("/q", "no-quorum").await.unwrap_err();
    assert!(err.is_outcome_unknown(), "{err}");
    assert_eq!(err.code(), Some(EtcdCode::RaftInternal));
    // A plain read is still served from the isolated member's store.
    assert_eq!(c.read("/q").await.unwrap().value(), Some("before"));
    cluster.kill(0).unwrap();
}

both_backends! {
    tokio key_errors_reachable_through_the_client,
    tokio event_index_cleared_after_the_history_window,
    tokio unauthorized_with_wrong_credentials,
}
