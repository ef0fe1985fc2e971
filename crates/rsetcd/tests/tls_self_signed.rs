//! Certificates etcd users meet outside a proper PKI: the P-521 certificate etcd's `--auto-tls`
//! makes, and a self-signed certificate marked as a CA (`openssl req -x509`) given as the CA file,
//! as etcdctl and curl accept them; and TLS failures told in sentences, never in Debug text.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rsetcd::config::FromConfig;
use rsetcd::{ClientBuilder, Error};
use rsetcd_testkit::{Etcd, ServerTls};

fn start(builder: rsetcd_testkit::EtcdBuilder) -> Etcd {
    builder.start().expect("etcd starts")
}

fn client<C: FromConfig>(url: &str) -> ClientBuilder<C> {
    ClientBuilder::<C>::new()
        .host(url)
        .request_timeout(Duration::from_secs(3))
}

/// A self-signed certificate and key made by openssl (`CA:TRUE`, as `req -x509` makes them), for
/// the names given; `None` (and a loud note) without openssl.
fn openssl_self_signed(dir: &Path, curve: &str, san: &str) -> Option<(PathBuf, PathBuf)> {
    let (cert, key) = (
        dir.join(format!("{curve}.crt")),
        dir.join(format!("{curve}.key")),
    );
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .arg(format!("ec_paramgen_curve:{curve}"))
        .args(["-nodes", "-days", "2", "-subj", "/CN=etcd", "-addext"])
        .arg(format!("subjectAltName={san}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match made {
        Ok(out) if out.status.success() => Some((cert, key)),
        _ => {
            eprintln!(
                "\n!!!!! openssl is missing or failed: SKIPPING the self-signed CA test !!!!!\n"
            );
            None
        }
    }
}

fn self_signed_node(cert: &Path, key: &Path) -> Etcd {
    start(Etcd::builder().tls(ServerTls {
        cert_file: cert.to_path_buf(),
        key_file: key.to_path_buf(),
        trusted_ca_file: None,
        client_cert_auth: false,
    }))
}

fn tls_reason(err: Error) -> String {
    match err {
        Error::Tls { reason, .. } => reason,
        Error::NoMoreHosts { mut failures } if failures.len() == 1 => {
            tls_reason(failures.remove(0).1)
        }
        other => panic!("expected a TLS error, got {other}"),
    }
}

fn no_debug_text(reason: &str) {
    for debug in [
        "Other(",
        "OtherError",
        "IpAddress(",
        "DnsName(",
        "Context {",
    ] {
        assert!(!reason.contains(debug), "Debug text in {reason:?}");
    }
}

#[tokio::test]
async fn auto_tls_p521_certificates_are_accepted() {
    let node = tokio::task::spawn_blocking(|| start(Etcd::builder().auto_tls()))
        .await
        .unwrap();
    let url = node.client_url();
    let cert = node.data_dir().join("data/fixtures/client/cert.pem");
    assert!(
        cert.exists(),
        "etcd made no certificate at {}",
        cert.display()
    );

    // Trusted as the CA (as `etcdctl --cacert` trusts it), on v3 and v2.
    let v3 = client::<rsetcd::v3::Client>(&url)
        .ca_file(&cert)
        .build()
        .unwrap();
    v3.put("/p521", "ok").await.unwrap();
    assert_eq!(v3.get("/p521").await.unwrap().kvs[0].value, "ok");
    let v2 = client::<rsetcd::v2::Client>(&url)
        .ca_file(&cert)
        .build()
        .unwrap();
    v2.write("/p521", "v2").await.unwrap();

    // Verification off (`--insecure-skip-tls-verify`): the P-521 handshake signature still checks.
    let loose = client::<rsetcd::v3::Client>(&url)
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    assert_eq!(loose.get("/p521").await.unwrap().kvs.len(), 1);

    // Without that CA: a sentence.
    let strict = client::<rsetcd::v3::Client>(&url).build().unwrap();
    let reason = tls_reason(strict.get("/p521").await.unwrap_err());
    assert!(reason.contains("not signed by a trusted CA"), "{reason}");
    no_debug_text(&reason);
}

#[tokio::test]
async fn a_self_signed_ca_certificate_given_as_the_ca_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    for curve in ["P-521", "P-256"] {
        let Some((cert, key)) = openssl_self_signed(dir.path(), curve, "IP:127.0.0.1") else {
            return;
        };
        let (c, k) = (cert.clone(), key.clone());
        let node = tokio::task::spawn_blocking(move || self_signed_node(&c, &k))
            .await
            .unwrap();
        let url = node.client_url();
        let v3 = client::<rsetcd::v3::Client>(&url)
            .ca_file(&cert)
            .build()
            .unwrap();
        v3.put("/self", curve).await.unwrap();
        let v2 = client::<rsetcd::v2::Client>(&url)
            .ca_file(&cert)
            .build()
            .unwrap();
        assert_eq!(
            v2.write("/self", curve).await.unwrap().node.value_str(),
            curve
        );

        // Its host names still count: `localhost` is not among them.
        let port = node.client_port();
        let other = client::<rsetcd::v3::Client>(&format!("https://localhost:{port}"))
            .ca_file(&cert)
            .build()
            .unwrap();
        let reason = tls_reason(other.get("/self").await.unwrap_err());
        assert!(
            reason.contains("not valid for this host name: localhost is not among the names it is for (127.0.0.1)"),
            "{reason}"
        );
        no_debug_text(&reason);

        // Another certificate as the CA: refused, in words.
        let (wrong, _) = openssl_self_signed(dir.path(), "prime256v1", "IP:127.0.0.1").unwrap();
        let stranger = client::<rsetcd::v3::Client>(&url)
            .ca_file(&wrong)
            .build()
            .unwrap();
        let reason = tls_reason(stranger.get("/self").await.unwrap_err());
        no_debug_text(&reason);
        assert!(reason.contains("CA"), "{reason}");
    }
}
