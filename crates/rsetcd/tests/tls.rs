//! https endpoints with mutual TLS against real etcd, and each TLS failure with its own message.

use std::time::Duration;

use rsetcd::v2::{Action, Client};
use rsetcd::{ClientBuilder, Error, EtcdCode};
use rsetcd_testkit::certs::TestPki;
use rsetcd_testkit::{Cluster, Etcd, ServerTls};

async fn node(tls: ServerTls) -> Etcd {
    tokio::task::spawn_blocking(move || Etcd::builder().tls(tls).start())
        .await
        .unwrap()
        .unwrap()
}

fn mtls(pki: &TestPki, url: &str) -> ClientBuilder<Client> {
    Client::builder()
        .host(url)
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .request_timeout(Duration::from_secs(3))
}

fn tls_reason(err: Error) -> String {
    match err {
        Error::Tls { reason, .. } => reason,
        other => panic!("expected a TLS error, got {other}"),
    }
}

#[tokio::test]
async fn every_key_operation_over_mutual_tls() {
    let pki = TestPki::generate().unwrap();
    let etcd = node(pki.server_tls()).await;
    assert!(etcd.client_url().starts_with("https://127.0.0.1:"));
    let c = mtls(&pki, &etcd.client_url()).build().unwrap();

    let w = c
        .write("/tls/k", "secure")
        .ttl(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(w.action, Action::Set);
    assert_eq!(c.read("/tls/k").await.unwrap().value(), Some("secure"));
    c.compare_and_swap("/tls/k", "swapped")
        .prev_value("secure")
        .await
        .unwrap();
    c.update_ttl("/tls/k", Duration::from_secs(30))
        .await
        .unwrap();
    c.compare_and_delete("/tls/k")
        .prev_value("swapped")
        .await
        .unwrap();
    c.mkdir("/tls/dir").await.unwrap();
    c.create_in_order("/tls/dir", "job").await.unwrap();
    assert_eq!(c.read("/tls/dir").await.unwrap().node.nodes.len(), 1);
    c.rmdir("/tls/dir").recursive().await.unwrap();
    c.write("/tls/gone", "x").await.unwrap();
    c.delete("/tls/gone").await.unwrap();
    let err = c.read("/tls/gone").await.unwrap_err();
    assert_eq!(err.code(), Some(EtcdCode::KeyNotFound));
    // Watches work over TLS too.
    let now = c.read("/").await.unwrap().etcd_index;
    c.write("/tls/w", "1").await.unwrap();
    assert_eq!(
        c.read("/tls/w").wait_index(now + 1).await.unwrap().value(),
        Some("1")
    );
    assert!(c.health().await.unwrap());
}

#[tokio::test]
async fn each_tls_failure_says_what_is_wrong() {
    let pki = TestPki::generate().unwrap();
    let etcd = node(pki.server_tls()).await;
    let url = etcd.client_url();

    // The server's CA is not trusted.
    let wrong_ca = Client::builder()
        .host(&url)
        .ca_file(&pki.other_ca)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .build()
        .unwrap();
    let reason = tls_reason(wrong_ca.read("/x").await.unwrap_err());
    assert!(reason.contains("not signed by a trusted CA"), "{reason}");

    // No client certificate, but the server demands one.
    let no_cert = Client::builder()
        .host(&url)
        .ca_file(&pki.ca)
        .build()
        .unwrap();
    let err = no_cert.read("/x").await.unwrap_err();
    assert!(err.is_connect(), "never reached etcd: {err}");
    let reason = tls_reason(err);
    assert!(reason.contains("client certificate"), "{reason}");

    // A client certificate from another CA.
    let other = Client::builder()
        .host(&url)
        .ca_file(&pki.ca)
        .client_cert_files(&pki.other_client.cert, &pki.other_client.key)
        .build()
        .unwrap();
    let reason = tls_reason(other.write("/x", "v").await.unwrap_err());
    assert!(reason.contains("client certificate"), "{reason}");

    // Plain http to a TLS port is not mistaken for an etcd answer.
    let plain = Client::builder()
        .host(url.replace("https", "http"))
        .build()
        .unwrap();
    assert!(plain.read("/x").await.is_err());

    // Development-only escape hatch: an untrusted CA is accepted, loudly.
    let dev = Client::builder()
        .host(&url)
        .danger_accept_invalid_certs(true)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .build()
        .unwrap();
    dev.write("/dev", "ok").await.unwrap();
}

#[tokio::test]
async fn expired_and_wrong_host_server_certificates() {
    let pki = TestPki::generate().unwrap();
    let expired = node(pki.server_tls_with(&pki.expired_server, false)).await;
    let c = Client::builder()
        .host(expired.client_url())
        .ca_file(&pki.ca)
        .build()
        .unwrap();
    let reason = tls_reason(c.read("/x").await.unwrap_err());
    assert!(reason.contains("expired"), "{reason}");

    let wrong_host = node(pki.server_tls_with(&pki.wrong_host_server, false)).await;
    let c = Client::builder()
        .host(wrong_host.client_url())
        .ca_file(&pki.ca)
        .build()
        .unwrap();
    let reason = tls_reason(c.read("/x").await.unwrap_err());
    assert!(reason.contains("not valid for this host name"), "{reason}");
}

#[test]
fn unusable_files_are_refused_at_build_time_without_their_content() {
    let pki = TestPki::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bad_key = dir.path().join("bad.key");
    std::fs::write(&bad_key, "SECRET-KEY-MATERIAL not a pem").unwrap();
    let err = Client::builder()
        .host("https://127.0.0.1:2379")
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client.cert, &bad_key)
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Config(_)), "{text}");
    assert!(
        text.contains("bad.key") && !text.contains("SECRET"),
        "{text}"
    );

    let err = Client::builder()
        .host("https://h:1")
        .ca_file(dir.path().join("missing.crt"))
        .build();
    assert!(err.unwrap_err().to_string().contains("missing.crt"));
    let err = Client::builder()
        .host("https://h:1")
        .ca_file(&bad_key)
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("bad.key") && !err.to_string().contains("SECRET"),
        "{err}"
    );

    let key = std::fs::read(&pki.client.key).unwrap();
    let builder = Client::builder()
        .host("https://h:1")
        .client_cert_pem(std::fs::read(&pki.client.cert).unwrap(), key.clone())
        .basic_auth("alice", "hunter2-password");
    let shown = format!("{builder:?}");
    let key_text = String::from_utf8(key).unwrap();
    let key_line = key_text.lines().nth(1).unwrap();
    assert!(
        !shown.contains(key_line) && !shown.contains("hunter2"),
        "{shown}"
    );
    let client = builder.build().unwrap();
    assert!(!format!("{client:?}").contains("hunter2"));
}

#[tokio::test]
async fn three_node_tls_cluster() {
    let pki = TestPki::generate().unwrap();
    let tls = pki.server_tls();
    let cluster = tokio::task::spawn_blocking(move || Cluster::builder(3).tls(tls).start())
        .await
        .unwrap()
        .unwrap();
    let c = Client::builder()
        .endpoints(cluster.endpoints())
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .build()
        .unwrap();
    c.write("/cluster/tls", "yes").await.unwrap();
    assert_eq!(
        c.read("/cluster/tls").quorum().await.unwrap().value(),
        Some("yes")
    );
    assert_eq!(c.members().await.unwrap().len(), 3);
    assert!(c.endpoints().iter().all(|e| e.starts_with("https://")));
}
