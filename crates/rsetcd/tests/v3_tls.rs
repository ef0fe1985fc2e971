//! v3 over TLS (rustls, ALPN h2) against real etcd with mutual TLS, using the shared TLS settings
//! of the builder; a refused handshake is a TLS error that never reached etcd.

use std::time::Duration;

use rsetcd::v3::{Client, WatchItem};
use rsetcd::Error;
use rsetcd_testkit::certs::TestPki;
use rsetcd_testkit::Etcd;

#[tokio::test]
async fn kv_watch_and_lease_over_mutual_tls_and_untrusted_server_refused() {
    let pki = TestPki::generate().unwrap();
    let tls = pki.server_tls();
    let etcd = tokio::task::spawn_blocking(move || Etcd::builder().tls(tls).start())
        .await
        .unwrap()
        .unwrap();
    assert!(etcd.client_url().starts_with("https://"));
    let c = Client::builder()
        .host(etcd.client_url())
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .build()
        .unwrap();
    let mut w = c.watch("/tls/").prefix().await.unwrap();
    c.put("/tls/k", "secure").await.unwrap();
    assert_eq!(c.get("/tls/k").await.unwrap().kvs[0].value, "secure");
    match tokio::time::timeout(Duration::from_secs(5), w.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap()
    {
        WatchItem::Events { events, .. } => {
            assert_eq!(events[0].kv.as_ref().unwrap().value, "secure")
        }
        other => panic!("unexpected {other:?}"),
    }
    let lease = c.lease_grant(5).await.unwrap();
    let keep = c.lease_keep_alive(lease.id).await.unwrap();
    assert!(keep.is_alive());

    // A client that does not trust the server's CA never reaches etcd.
    let untrusting = Client::builder()
        .host(etcd.client_url())
        .ca_file(&pki.other_ca)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .build()
        .unwrap();
    match untrusting.get("/tls/k").await.unwrap_err() {
        Error::Tls { reason, .. } => assert!(reason.contains("trusted CA"), "{reason}"),
        other => panic!("expected a TLS error, got {other}"),
    }
    let err = untrusting.put("/tls/k", "x").await.unwrap_err();
    assert!(
        err.is_connect(),
        "a refused handshake is not an unknown outcome: {err}"
    );
}
