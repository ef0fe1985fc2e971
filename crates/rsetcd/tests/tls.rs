//! https endpoints with mutual TLS against real etcd, and each TLS failure with its own message.

use std::sync::{Arc, Mutex};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_client_certificate_is_always_a_tls_error() {
    // Under TLS 1.3 the server judges the client's certificate after the client's handshake is
    // over, so its refusal races with the request; whichever wins, the request never reached etcd.
    let pki = TestPki::generate().unwrap();
    let etcd = node(pki.server_tls()).await;
    let no_cert = Client::builder()
        .host(etcd.client_url())
        .ca_file(&pki.ca)
        .request_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    // Rarely (about once in 20,000 refused handshakes, with or without rsetcd's handling) etcd
    // neither answers nor closes: that is a timeout, whose outcome is honestly unknown.
    let mut silent = 0;
    // Reads, small writes, and writes big enough to meet the reset that follows the refusal.
    for i in 0..200 {
        let err = match i % 4 {
            0 => no_cert.read("/x").await.unwrap_err(),
            1 => no_cert.write("/x", "v").await.unwrap_err(),
            _ => no_cert.write("/x", "v".repeat(200_000)).await.unwrap_err(),
        };
        let err = match err {
            Error::Timeout { .. } => {
                silent += 1;
                continue;
            }
            Error::OutcomeUnknown { source } if matches!(*source, Error::Timeout { .. }) => {
                silent += 1;
                continue;
            }
            other => other,
        };
        assert!(!err.is_outcome_unknown(), "attempt {i}: {err}");
        let reason = tls_reason(err);
        assert!(
            reason.contains("may require a client certificate, and none is configured"),
            "attempt {i}: {reason}"
        );
    }
    assert!(silent <= 2, "{silent} of 200 attempts timed out");
    let untrusted = Client::builder()
        .host(etcd.client_url())
        .ca_file(&pki.ca)
        .client_cert_files(&pki.other_client.cert, &pki.other_client.key)
        .build()
        .unwrap();
    for i in 0..20 {
        let reason = tls_reason(untrusted.write("/x", "v").await.unwrap_err());
        assert!(
            reason.contains("does not accept the client certificate"),
            "attempt {i}: {reason}"
        );
    }
}

#[tokio::test]
async fn client_keys_in_pkcs8_sec1_and_pkcs1_and_pem_bytes() {
    let pki = TestPki::generate().unwrap();
    let etcd = node(pki.server_tls()).await;
    let rsa = pki.rsa_client().unwrap();
    let pkcs1 = std::fs::read_to_string(&rsa.key).unwrap();
    assert!(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let sec1 = std::fs::read_to_string(&pki.client_sec1_key).unwrap();
    assert!(sec1.starts_with("-----BEGIN EC PRIVATE KEY-----"));
    let pkcs8 = std::fs::read_to_string(&pki.client.key).unwrap();
    assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));

    let url = etcd.client_url();
    let clients = [
        ("pkcs8", mtls(&pki, &url).build().unwrap()),
        (
            "sec1",
            mtls(&pki, &url)
                .client_cert_files(&pki.client.cert, &pki.client_sec1_key)
                .build()
                .unwrap(),
        ),
        (
            "pkcs1",
            mtls(&pki, &url)
                .client_cert_files(&rsa.cert, &rsa.key)
                .build()
                .unwrap(),
        ),
        (
            "pem bytes",
            Client::builder()
                .host(&url)
                .ca_pem(std::fs::read(&pki.ca).unwrap())
                .client_cert_pem(std::fs::read(&pki.client.cert).unwrap(), sec1.clone())
                .build()
                .unwrap(),
        ),
    ];
    for (form, c) in &clients {
        let key = format!("/keys/{}", form.replace(' ', "-"));
        c.write(&key, *form).await.unwrap();
        assert_eq!(c.read(&key).await.unwrap().value(), Some(*form));
    }
}

#[tokio::test]
async fn without_a_ca_the_system_roots_decide() {
    let pki = TestPki::generate().unwrap();
    let etcd = node(pki.server_tls()).await;
    let url = etcd.client_url();
    // No CA given: the system's roots, which do not know the test CA.
    let system = Client::builder()
        .host(&url)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .build()
        .unwrap();
    let reason = tls_reason(system.read("/x").await.unwrap_err());
    assert!(reason.contains("not signed by a trusted CA"), "{reason}");
    // No roots at all.
    let none = Client::builder()
        .host(&url)
        .use_system_roots(false)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .build()
        .unwrap();
    let reason = tls_reason(none.read("/x").await.unwrap_err());
    assert!(reason.contains("not signed by a trusted CA"), "{reason}");
    // The test CA and the system roots together.
    let both = mtls(&pki, &url).use_system_roots(true).build().unwrap();
    both.write("/both", "ok").await.unwrap();
}

/// Collects the messages of WARN and ERROR events on this thread.
struct Warnings(Arc<Mutex<Vec<String>>>);

struct Message<'a>(&'a mut String);

impl tracing::field::Visit for Message<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Warnings {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        *meta.level() <= tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut text = String::new();
        event.record(&mut Message(&mut text));
        self.0.lock().unwrap().push(text);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn warnings_while<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = tracing::subscriber::with_default(Warnings(seen.clone()), f);
    let seen = seen.lock().unwrap().clone();
    (out, seen)
}

#[test]
fn turning_verification_off_warns_once_when_built() {
    let pki = TestPki::generate().unwrap();
    let (client, seen) = warnings_while(|| {
        Client::builder()
            .host("https://127.0.0.1:2379")
            .danger_accept_invalid_certs(true)
            .build()
            .unwrap()
    });
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("verification is OFF"), "{seen:?}");
    assert!(format!("{client:?}").contains("accept_invalid_certs: true"));

    let (_, seen) = warnings_while(|| mtls(&pki, "https://127.0.0.1:2379").build().unwrap());
    assert!(seen.is_empty(), "verification on: no warning, got {seen:?}");
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

    // Broken base64 inside a PEM frame; a key that is not the certificate's; a "certificate"
    // file that holds a key.
    let garbled = dir.path().join("garbled.key");
    std::fs::write(
        &garbled,
        "-----BEGIN PRIVATE KEY-----\nSECRET-KEY-MATERIAL!!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let cases = [
        (&pki.client.cert, &garbled, "garbled.key"),
        (
            &pki.client.cert,
            &pki.other_client.key,
            "do not fit together",
        ),
        (&pki.client.key, &pki.client.key, "no certificate found in"),
    ];
    for (cert, key, expected) in cases {
        let err = Client::builder()
            .host("https://h:1")
            .ca_file(&pki.ca)
            .client_cert_files(cert, key)
            .build()
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Config(_)), "{text}");
        assert!(
            text.contains(expected) && !text.contains("SECRET") && !text.contains("MII"),
            "{text}"
        );
    }

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
