//! TLS for `https` endpoints: rustls (ring) with a CA bundle, the system roots, a client certificate
//! for mutual TLS, and — for development only — a switch that turns verification off.
//!
//! ```no_run
//! let client = rsetcd::v2::Client::builder()
//!     .endpoints(["https://10.0.1.10:2379", "https://10.0.1.11:2379"])
//!     .ca_file("/etc/etcd/ca.crt")
//!     .client_cert_files("/etc/etcd/client.crt", "/etc/etcd/client.key")
//!     .build()?;
//! # Ok::<(), rsetcd::Error>(())
//! ```
//!
//! - **Trust.** Server certificates are always verified (chain and host name) unless
//!   [`ClientBuilder::danger_accept_invalid_certs`] says otherwise, which logs a warning when the
//!   client is built. The trusted roots are the CAs given ([`ClientBuilder::ca_file`],
//!   [`ClientBuilder::ca_pem`]); without any, the system's roots. Both together:
//!   [`ClientBuilder::use_system_roots`]`(true)`.
//! - **Client certificates** ([`ClientBuilder::client_cert_files`],
//!   [`ClientBuilder::client_cert_pem`]): a PEM chain and a PEM key in PKCS#8
//!   (`BEGIN PRIVATE KEY`), PKCS#1 (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`) form.
//!   Key bytes never appear in `Debug` output or errors.
//! - **Files are read when the client is built**: a missing or unparsable file is an
//!   [`Error::Config`] naming the file, never quoting it.
//! - **A failed handshake** is an [`Error::Tls`] whose reason says what to fix: an untrusted CA, a
//!   certificate for another host, an expired certificate, a client certificate the server demands
//!   but none is configured, or one it does not accept. The request never reached etcd, so it is
//!   safe to send elsewhere, also when (as with etcd 3.4's TLS 1.3) the server's refusal arrives
//!   only after the request was on its way.
//!
//! [`ClientBuilder::danger_accept_invalid_certs`]: crate::ClientBuilder::danger_accept_invalid_certs
//! [`ClientBuilder::ca_file`]: crate::ClientBuilder::ca_file
//! [`ClientBuilder::ca_pem`]: crate::ClientBuilder::ca_pem
//! [`ClientBuilder::use_system_roots`]: crate::ClientBuilder::use_system_roots
//! [`ClientBuilder::client_cert_files`]: crate::ClientBuilder::client_cert_files
//! [`ClientBuilder::client_cert_pem`]: crate::ClientBuilder::client_cert_pem
//! [`Error::Config`]: crate::Error::Config
//! [`Error::Tls`]: crate::Error::Tls

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// PEM data, from a file or from memory. Key material is never shown by `Debug`.
#[derive(Clone)]
pub(crate) enum Pem {
    File(PathBuf),
    Bytes(Vec<u8>),
}

impl Pem {
    fn describe(&self) -> String {
        match self {
            Pem::File(p) => format!("{}", p.display()),
            Pem::Bytes(_) => "the PEM bytes given".into(),
        }
    }

    fn read(&self) -> Result<Vec<u8>> {
        match self {
            Pem::File(p) => std::fs::read(p)
                .map_err(|e| Error::Config(format!("cannot read {}: {e}", p.display()))),
            Pem::Bytes(b) => Ok(b.clone()),
        }
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(p) => write!(f, "File({})", p.display()),
            Pem::Bytes(b) => write!(f, "Bytes(<{} bytes>)", b.len()),
        }
    }
}

/// The TLS settings of a client.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    pub(crate) cas: Vec<Pem>,
    pub(crate) system_roots: Option<bool>,
    pub(crate) identity: Option<(Pem, Pem)>,
    pub(crate) accept_invalid_certs: bool,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsOptions {
    /// Builds the rustls configuration; every file is read and checked here, so mistakes surface
    /// when the client is built.
    pub(crate) fn client_config(&self) -> Result<ClientConfig> {
        let builder = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS setup: {e}")))?;
        let builder = if self.accept_invalid_certs {
            tracing::warn!(
                "TLS certificate verification is OFF (danger_accept_invalid_certs): \
                 for development only, never in production"
            );
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnything))
        } else {
            builder.with_root_certificates(self.roots()?)
        };
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some((cert, key)) => {
                let chain = certificates(cert)?;
                let key_bytes = key.read()?;
                let key_der = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|_| {
                    Error::Config(format!(
                        "no usable private key (PKCS#8, PKCS#1 or SEC1 PEM) in {}",
                        key.describe()
                    ))
                })?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                    Error::Config(format!(
                        "the client certificate {} and key {} do not fit together: {e}",
                        cert.describe(),
                        key.describe()
                    ))
                })
            }
        }
    }

    fn roots(&self) -> Result<RootCertStore> {
        let mut roots = RootCertStore::empty();
        for ca in &self.cas {
            for cert in certificates(ca)? {
                roots.add(cert).map_err(|e| {
                    Error::Config(format!(
                        "a CA certificate in {} is invalid: {e}",
                        ca.describe()
                    ))
                })?;
            }
        }
        if self.system_roots.unwrap_or(self.cas.is_empty()) {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 && self.cas.is_empty() {
                tracing::warn!("no system root certificates found: https endpoints will fail");
            }
        }
        Ok(roots)
    }
}

fn certificates(pem: &Pem) -> Result<Vec<CertificateDer<'static>>> {
    let bytes = pem.read()?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Config(format!("{} is not valid PEM", pem.describe())))?;
    if certs.is_empty() {
        return Err(Error::Config(format!(
            "no certificate found in {}",
            pem.describe()
        )));
    }
    Ok(certs)
}

/// Turns a TLS failure found in an error's source chain into a message a user can act on.
pub(crate) fn explain(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    find_in_chain(err).map(|tls| describe(tls, None))
}

/// The first rustls error in an error's source chain.
pub(crate) fn find_in_chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(tls) = find_rustls(e) {
            return Some(tls);
        }
        next = e.source();
    }
    None
}

/// Whether the server refused the handshake over certificates: the alerts a server sends when it
/// judges the client's certificate (or finds none), which it never sends once it has accepted it.
pub(crate) fn is_refusal(e: &rustls::Error) -> bool {
    use rustls::AlertDescription as A;
    matches!(
        e,
        rustls::Error::AlertReceived(
            A::CertificateRequired
                | A::BadCertificate
                | A::UnknownCA
                | A::HandshakeFailure
                | A::CertificateUnknown
                | A::CertificateExpired
                | A::CertificateRevoked
                | A::UnsupportedCertificate
                | A::AccessDenied
        )
    )
}

/// A rustls error in `e` itself or wrapped in (possibly nested) `io::Error`s, whose `source()`
/// skips the wrapped error.
pub(crate) fn find_rustls<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    find_rustls(inner)
}

/// What a rustls error means for the user.
pub(crate) fn describe(e: &rustls::Error, has_client_cert: Option<bool>) -> String {
    use rustls::{CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not signed by a trusted CA (give the cluster's CA with ca_file)"
                .into()
        }
        E::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => {
            format!("the server's certificate is not valid for this host name ({e})")
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            format!("the server's certificate has expired ({e})")
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            format!("the server's certificate is not valid yet ({e})")
        }
        E::AlertReceived(alert) if is_refusal(e) => match has_client_cert {
            Some(false) => format!(
                "the server refused the TLS handshake ({alert:?}): the server may require a client \
                 certificate, and none is configured (client_cert_files)"
            ),
            Some(true) => format!(
                "the server refused the TLS handshake ({alert:?}): it does not accept the client \
                 certificate given (signed by a CA the server does not trust? expired? not made \
                 for client authentication?)"
            ),
            None => format!(
                "the server refused the TLS handshake ({alert:?}): the server may require a client \
                 certificate (client_cert_files) or not trust the one given"
            ),
        },
        other => format!("TLS failure: {other}"),
    }
}

/// The verifier behind `danger_accept_invalid_certs`: accepts any certificate, still checks that
/// handshake signatures are well formed.
#[derive(Debug)]
struct AcceptAnything;

impl ServerCertVerifier for AcceptAnything {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A loopback TLS 1.3 server for unit tests that demands a client certificate signed by the test
/// PKI's CA: a client without one completes its side of the handshake, then meets the server's
/// refusal (a `certificate_required` alert) on its first read.
#[cfg(test)]
pub(crate) async fn refusing_server(pki: &rsetcd_testkit::certs::TestPki, alpn: &[u8]) -> String {
    let read = |path: &std::path::Path| std::fs::read(path).unwrap();
    let chain: Vec<_> = CertificateDer::pem_slice_iter(&read(&pki.server.cert))
        .collect::<std::result::Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(&read(&pki.server.key)).unwrap();
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_slice_iter(&read(&pki.ca)) {
        roots.add(ca.unwrap()).unwrap();
    }
    let verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let refused = acceptor.accept(tcp).await;
            assert!(
                refused.is_err(),
                "a client without a certificate was accepted"
            );
        }
    });
    url
}
