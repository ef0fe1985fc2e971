//! Certificates for TLS tests, generated on the spot (rcgen): a CA, server and client certificates
//! signed by it, and the bad cases (another CA, an expired and a wrong-host server certificate).

use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair,
};

use crate::{node::temp_dir, Error, Result, ServerTls};

/// A certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// The certificate (PEM).
    pub cert: PathBuf,
    /// The private key (PEM, PKCS#8).
    pub key: PathBuf,
}

/// A throwaway PKI in a temporary directory (removed on drop).
#[derive(Debug)]
pub struct TestPki {
    _dir: tempfile::TempDir,
    /// The CA that signs everything below except `other_*`.
    pub ca: PathBuf,
    /// A server certificate for `localhost` and `127.0.0.1`.
    pub server: CertFiles,
    /// A client certificate with CN `alice`.
    pub client: CertFiles,
    /// An unrelated CA.
    pub other_ca: PathBuf,
    /// A client certificate (CN `mallory`) signed by the unrelated CA.
    pub other_client: CertFiles,
    /// A server certificate that expired in 2021.
    pub expired_server: CertFiles,
    /// A server certificate for `example.invalid` only.
    pub wrong_host_server: CertFiles,
}

fn fail(e: impl std::fmt::Display) -> Error {
    Error::Start(format!("generating test certificates: {e}"))
}

struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: String,
}

fn ca(name: &str) -> Result<Ca> {
    let key = KeyPair::generate().map_err(fail)?;
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok(Ca {
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    })
}

fn leaf(
    ca: &Ca,
    dir: &Path,
    name: &str,
    cn: &str,
    sans: &[&str],
    purpose: ExtendedKeyUsagePurpose,
    expired: bool,
) -> Result<CertFiles> {
    let key = KeyPair::generate().map_err(fail)?;
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .map_err(fail)?;
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![purpose];
    if expired {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    }
    let cert = params.signed_by(&key, &ca.issuer).map_err(fail)?;
    let files = CertFiles {
        cert: dir.join(format!("{name}.crt")),
        key: dir.join(format!("{name}.key")),
    };
    write(&files.cert, &cert.pem())?;
    write(&files.key, &key.serialize_pem())?;
    Ok(files)
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io("write a test certificate", e))
}

impl TestPki {
    /// Generates every certificate.
    pub fn generate() -> Result<TestPki> {
        let dir = temp_dir()?;
        let path = dir.path().to_path_buf();
        let main = ca("rsetcd test CA")?;
        let other = ca("unrelated CA")?;
        let (ca_file, other_ca) = (path.join("ca.crt"), path.join("other-ca.crt"));
        write(&ca_file, &main.pem)?;
        write(&other_ca, &other.pem)?;
        let server_sans = ["localhost", "127.0.0.1"];
        use ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
        Ok(TestPki {
            server: leaf(
                &main,
                &path,
                "server",
                "localhost",
                &server_sans,
                ServerAuth,
                false,
            )?,
            client: leaf(&main, &path, "client", "alice", &[], ClientAuth, false)?,
            other_client: leaf(
                &other,
                &path,
                "other-client",
                "mallory",
                &[],
                ClientAuth,
                false,
            )?,
            expired_server: leaf(
                &main,
                &path,
                "expired",
                "localhost",
                &server_sans,
                ServerAuth,
                true,
            )?,
            wrong_host_server: leaf(
                &main,
                &path,
                "wrong-host",
                "example.invalid",
                &["example.invalid"],
                ServerAuth,
                false,
            )?,
            ca: ca_file,
            other_ca,
            _dir: dir,
        })
    }

    /// Server TLS settings with this PKI's server certificate, demanding client certificates.
    pub fn server_tls(&self) -> ServerTls {
        self.server_tls_with(&self.server, true)
    }

    /// Server TLS settings with the given server certificate.
    pub fn server_tls_with(&self, cert: &CertFiles, client_cert_auth: bool) -> ServerTls {
        ServerTls {
            cert_file: cert.cert.clone(),
            key_file: cert.key.clone(),
            trusted_ca_file: Some(self.ca.clone()),
            client_cert_auth,
        }
    }
}
