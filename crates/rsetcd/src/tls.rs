//! TLS for `https` endpoints: rustls (ring, plus ECDSA P-521 verification from RustCrypto's `p521`)
//! with a CA bundle, the system roots, a client certificate for mutual TLS, and — for development
//! only — a switch that turns verification off.
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
//! - **P-521** certificates (those etcd's `--auto-tls` makes) are verified like the others: ring
//!   has no P-521, so its verification comes from RustCrypto's `p521`.
//! - **A self-signed server certificate given as the CA** is trusted as etcdctl and curl trust
//!   it, also when it is marked as a CA (`CA:TRUE`, what `openssl req -x509` makes): that very
//!   certificate (byte for byte) is accepted for the host names it names, while it is valid.
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
use std::sync::{Arc, OnceLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{
    alg_id, AlgorithmIdentifier, CertificateDer, InvalidSignature, PrivateKeyDer, ServerName,
    SignatureVerificationAlgorithm, UnixTime,
};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

/// The rustls configuration, as the connection layers hold it (the same name without the `tls`
/// feature).
pub(crate) type ClientConfig = rustls::ClientConfig;

/// A rustls failure, as the connection layers keep it (the same name without the `tls` feature).
#[cfg(feature = "v3")]
pub(crate) type TlsError = rustls::Error;

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

/// ECDSA on P-521 with SHA-512, which ring does not have (RustCrypto's `p521` verifies it).
#[derive(Debug)]
struct EcdsaP521Sha512;

impl SignatureVerificationAlgorithm for EcdsaP521Sha512 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> std::result::Result<(), InvalidSignature> {
        use p521::ecdsa::signature::Verifier;
        let key =
            p521::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature =
            p521::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P521
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA512
    }
}

static P521: [&dyn SignatureVerificationAlgorithm; 1] = [&EcdsaP521Sha512];

/// ring's signature verification algorithms, and P-521 with SHA-512.
fn algorithms() -> WebPkiSupportedAlgorithms {
    static ALGORITHMS: OnceLock<WebPkiSupportedAlgorithms> = OnceLock::new();
    *ALGORITHMS.get_or_init(|| {
        let ring = rustls::crypto::ring::default_provider().signature_verification_algorithms;
        let mut all = ring.all.to_vec();
        all.push(P521[0]);
        let mut mapping = ring.mapping.to_vec();
        mapping.push((SignatureScheme::ECDSA_NISTP521_SHA512, &P521));
        // Made once per process and kept for its life, as rustls wants them.
        WebPkiSupportedAlgorithms {
            all: Box::leak(all.into_boxed_slice()),
            mapping: Box::leak(mapping.into_boxed_slice()),
        }
    })
}

fn provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider.signature_verification_algorithms = algorithms();
    Arc::new(provider)
}

impl TlsOptions {
    /// Whether any TLS setting was given (a CA or a client certificate).
    pub(crate) fn is_configured(&self) -> bool {
        !self.cas.is_empty() || self.identity.is_some()
    }

    /// Whether a client certificate was given.
    #[cfg(feature = "v2")]
    pub(crate) fn has_identity(&self) -> bool {
        self.identity.is_some()
    }

    /// [`client_config`](TlsOptions::client_config) offering `alpn` (`h2`, `http/1.1`), shared.
    pub(crate) fn connector(&self, alpn: &[u8]) -> Result<Arc<ClientConfig>> {
        let mut config = self.client_config()?;
        config.alpn_protocols = vec![alpn.to_vec()];
        Ok(Arc::new(config))
    }

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
            let roots = self.roots()?;
            let pinned = self.ca_certificates()?;
            if roots.is_empty() {
                // No CA at all (none given, no system roots): every server certificate fails
                // as untrusted, which rustls's own verifier says.
                return finish(builder.with_root_certificates(roots), &self.identity);
            }
            let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
                .build()
                .map_err(|e| Error::Config(format!("TLS setup: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier { inner, pinned }))
        };
        finish(builder, &self.identity)
    }

    /// The CA certificates given (not the system's), each as a server certificate may present it.
    fn ca_certificates(&self) -> Result<Vec<CertificateDer<'static>>> {
        let mut all = Vec::new();
        for ca in &self.cas {
            all.extend(certificates(ca)?);
        }
        Ok(all)
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

/// The client certificate part of the configuration.
fn finish(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    identity: &Option<(Pem, Pem)>,
) -> Result<ClientConfig> {
    match identity {
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

/// The verifier of server certificates: webpki's, which also accepts a self-signed certificate
/// marked as a CA (`CA:TRUE`) when that very certificate was given as a CA, as Go's and
/// OpenSSL's verification do (webpki refuses a CA certificate as a server's own).
#[derive(Debug)]
struct Verifier {
    inner: Arc<WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

fn ca_used_as_end_entity(e: &rustls::Error) -> bool {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            other.0.downcast_ref::<webpki::Error>() == Some(&webpki::Error::CaUsedAsEndEntity)
        }
        _ => false,
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(e)
                if ca_used_as_end_entity(&e)
                    && self
                        .pinned
                        .iter()
                        .any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                // The certificate is trusted as given; its host names and dates still count. The
                // handshake signature (proof of its key) is checked as for any other.
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                let (not_before, not_after) = validity(end_entity).ok_or(
                    rustls::Error::InvalidCertificate(CertificateError::BadEncoding),
                )?;
                let now = now.as_secs();
                if now < not_before {
                    return Err(rustls::Error::InvalidCertificate(
                        CertificateError::NotValidYet,
                    ));
                }
                if now > not_after {
                    return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
                }
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A certificate's validity period (`notBefore`, `notAfter`) in Unix seconds, read from its DER.
fn validity(cert: &[u8]) -> Option<(u64, u64)> {
    use der::asn1::{AnyRef, GeneralizedTime, UtcTime};
    use der::{Decode, Reader, SliceReader, Tag, Tagged};
    fn inside(any: AnyRef<'_>) -> Option<SliceReader<'_>> {
        SliceReader::new(any.value()).ok()
    }
    fn time(any: AnyRef<'_>) -> Option<u64> {
        let at = match any.tag() {
            Tag::UtcTime => any.decode_as::<UtcTime>().ok()?.to_unix_duration(),
            Tag::GeneralizedTime => any.decode_as::<GeneralizedTime>().ok()?.to_unix_duration(),
            _ => return None,
        };
        Some(at.as_secs())
    }
    let mut certificate = SliceReader::new(cert).ok()?;
    let mut certificate = inside(AnyRef::decode(&mut certificate).ok()?)?;
    let mut tbs = inside(AnyRef::decode(&mut certificate).ok()?)?;
    let mut field = AnyRef::decode(&mut tbs).ok()?;
    if field.tag().is_context_specific() {
        field = AnyRef::decode(&mut tbs).ok()?; // the version came first; this is the serial
    }
    let _serial = field;
    let _signature = AnyRef::decode(&mut tbs).ok()?;
    let _issuer = AnyRef::decode(&mut tbs).ok()?;
    let mut validity = inside(AnyRef::decode(&mut tbs).ok()?)?;
    let not_before = time(AnyRef::decode(&mut validity).ok()?)?;
    let not_after = time(AnyRef::decode(&mut validity).ok()?)?;
    let _ = validity.is_finished();
    Some((not_before, not_after))
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

/// A name as rustls lists a certificate's names (`DnsName("a")`, `IpAddress(127.0.0.1)`), plain.
fn plain_name(presented: &str) -> String {
    let inner = presented
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(presented);
    inner.trim_matches('"').to_string()
}

/// A TLS alert's name in words (`HandshakeFailure` → `handshake failure`).
fn alert_words(alert: &rustls::AlertDescription) -> String {
    let name = format!("{alert:?}");
    let mut words = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            words.push(' ');
        }
        words.push(c.to_ascii_lowercase());
    }
    words
}

/// What a rustls error means for the user: a sentence that says what to fix.
pub(crate) fn describe(e: &rustls::Error, has_client_cert: Option<bool>) -> String {
    use rustls::{CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "the server's certificate is not signed by a trusted CA (give the cluster's CA with ca_file)"
                .into()
        }
        E::InvalidCertificate(C::NotValidForNameContext { expected, presented }) => {
            let expected = match expected {
                ServerName::DnsName(name) => name.as_ref().to_string(),
                ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
                _ => "this host".into(),
            };
            let names: Vec<String> = presented.iter().map(|p| plain_name(p)).collect();
            format!(
                "the server's certificate is not valid for this host name: {expected} is not among \
                 the names it is for ({}); connect by one of those names, or give the server a \
                 certificate for {expected}",
                names.join(", ")
            )
        }
        E::InvalidCertificate(C::NotValidForName) => {
            "the server's certificate is not valid for this host name".into()
        }
        E::InvalidCertificate(C::Expired | C::ExpiredContext { .. }) => {
            format!("the server's certificate has expired ({e})")
        }
        E::InvalidCertificate(C::NotValidYet | C::NotValidYetContext { .. }) => {
            format!("the server's certificate is not valid yet ({e})")
        }
        E::InvalidCertificate(C::BadEncoding) => {
            "the server's certificate is malformed (not valid DER)".into()
        }
        E::InvalidCertificate(C::BadSignature) => {
            "the server's certificate has a signature that does not verify (a damaged or forged certificate)".into()
        }
        #[allow(deprecated)]
        E::InvalidCertificate(C::UnsupportedSignatureAlgorithm | C::UnsupportedSignatureAlgorithmContext { .. }) => {
            "the server's certificate is signed with an algorithm this client does not support (RSA, ECDSA P-256/P-384/P-521 and Ed25519 are)".into()
        }
        E::InvalidCertificate(C::Revoked) => "the server's certificate has been revoked".into(),
        E::InvalidCertificate(C::InvalidPurpose | C::InvalidPurposeContext { .. }) => {
            "the server's certificate is not made for server authentication (its extended key usage lacks serverAuth)".into()
        }
        E::InvalidCertificate(C::UnhandledCriticalExtension) => {
            "the server's certificate has a critical extension this client does not understand".into()
        }
        e if ca_used_as_end_entity(e) => {
            "the server presents a CA certificate (CA:TRUE) as its own: give that very certificate as the CA file to trust it, or give the server a certificate signed by that CA".into()
        }
        E::InvalidCertificate(_) => {
            "the server's certificate was refused: it does not chain to a trusted CA in a way this client accepts (check the CA file and the server's certificate chain)".into()
        }
        E::AlertReceived(alert) if is_refusal(e) => {
            let alert = alert_words(alert);
            match has_client_cert {
                Some(false) => format!(
                    "the server refused the TLS handshake ({alert}): the server may require a client \
                     certificate, and none is configured (client_cert_files)"
                ),
                Some(true) => format!(
                    "the server refused the TLS handshake ({alert}): it does not accept the client \
                     certificate given (signed by a CA the server does not trust? expired? not made \
                     for client authentication?)"
                ),
                None => format!(
                    "the server refused the TLS handshake ({alert}): the server may require a client \
                     certificate (client_cert_files) or not trust the one given"
                ),
            }
        }
        E::AlertReceived(alert) => format!(
            "the server ended the TLS handshake with the alert \"{}\"",
            alert_words(alert)
        ),
        E::NoCertificatesPresented => "the server presented no certificate".into(),
        E::PeerIncompatible(_) => format!(
            "the server's TLS settings and this client's have nothing in common ({e}): the server needs TLS 1.2 or 1.3 with modern ciphers"
        ),
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the server did not answer in TLS (is it an http:// endpoint? then use http:// or --insecure-transport)".into()
        }
        other => format!("the TLS handshake failed: {other}"),
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
