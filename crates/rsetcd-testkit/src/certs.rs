//! Certificates for TLS tests, generated on the spot (rcgen): a CA, server and client certificates
//! signed by it, and the bad cases (another CA, an expired and a wrong-host server certificate).
//! Client keys come in the three PEM forms clients meet: PKCS#8, SEC1 (`EC PRIVATE KEY`) and, with
//! [`TestPki::rsa_client`], PKCS#1 (`RSA PRIVATE KEY`).

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
    /// The key of `client` as a SEC1 PEM file (`BEGIN EC PRIVATE KEY`, curve named).
    pub client_sec1_key: PathBuf,
    /// An unrelated CA.
    pub other_ca: PathBuf,
    /// A client certificate (CN `mallory`) signed by the unrelated CA.
    pub other_client: CertFiles,
    /// A server certificate that expired in 2021.
    pub expired_server: CertFiles,
    /// A server certificate for `example.invalid` only.
    pub wrong_host_server: CertFiles,
    issuer: Issuer<'static, KeyPair>,
    dir: PathBuf,
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
    leaf_for_key(
        &ca.issuer,
        KeyPair::generate().map_err(fail)?,
        dir,
        name,
        cn,
        sans,
        purpose,
        expired,
    )
}

#[allow(clippy::too_many_arguments)]
fn leaf_for_key(
    issuer: &Issuer<'static, KeyPair>,
    key: KeyPair,
    dir: &Path,
    name: &str,
    cn: &str,
    sans: &[&str],
    purpose: ExtendedKeyUsagePurpose,
    expired: bool,
) -> Result<CertFiles> {
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .map_err(fail)?;
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![purpose];
    if expired {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2021, 1, 1);
    }
    let cert = params.signed_by(&key, issuer).map_err(fail)?;
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
        let client = leaf(&main, &path, "client", "alice", &[], ClientAuth, false)?;
        let client_sec1_key = path.join("client-sec1.key");
        write(&client_sec1_key, &sec1_pem(&client.key)?)?;
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
            client,
            client_sec1_key,
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
            issuer: main.issuer,
            dir: path,
            _dir: dir,
        })
    }

    /// A client certificate (CN `alice`) for a new 2048-bit RSA key, whose key file is PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`). ring cannot generate RSA keys: this runs `openssl genpkey`.
    pub fn rsa_client(&self) -> Result<CertFiles> {
        let pkcs8 = self.dir.join("rsa-pkcs8.key");
        let out = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
            ])
            .arg(&pkcs8)
            .output()
            .map_err(|e| Error::io("run openssl genpkey (is openssl installed?)", e))?;
        if !out.status.success() {
            return Err(fail(String::from_utf8_lossy(&out.stderr)));
        }
        let pem = std::fs::read_to_string(&pkcs8).map_err(|e| Error::io("read the RSA key", e))?;
        let key = KeyPair::from_pem(&pem).map_err(fail)?;
        let pkcs1 = pkcs8_private_key(key.serialized_der())
            .ok_or_else(|| fail("the RSA key is not PKCS#8"))?
            .to_vec();
        let files = leaf_for_key(
            &self.issuer,
            key,
            &self.dir,
            "rsa-client",
            "alice",
            &[],
            ExtendedKeyUsagePurpose::ClientAuth,
            false,
        )?;
        write(&files.key, &pem_encode("RSA PRIVATE KEY", &pkcs1))?;
        Ok(files)
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

/// The SEC1 form of a PKCS#8 P-256 key file, with the curve named as RFC 5915 asks.
fn sec1_pem(pkcs8_file: &Path) -> Result<String> {
    let pem = std::fs::read_to_string(pkcs8_file).map_err(|e| Error::io("read a test key", e))?;
    let key = KeyPair::from_pem(&pem).map_err(fail)?;
    let bad = || fail("unexpected PKCS#8 layout");
    // ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, [0] parameters, [1] publicKey }
    let (tag, ec, _) =
        tlv(pkcs8_private_key(key.serialized_der()).ok_or_else(bad)?).ok_or_else(bad)?;
    let (_, _, after_version) = tlv(ec).ok_or_else(bad)?;
    let (_, _, public_key) = tlv(after_version).ok_or_else(bad)?;
    let head = &ec[..ec.len() - public_key.len()];
    const P256: [u8; 12] = [
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let body = [head, &P256, public_key].concat();
    Ok(pem_encode("EC PRIVATE KEY", &der(tag, &body)))
}

/// The `privateKey` of a PKCS#8 `PrivateKeyInfo`: PKCS#1 for RSA, SEC1 for EC keys.
fn pkcs8_private_key(pkcs8: &[u8]) -> Option<&[u8]> {
    let (_, info, _) = tlv(pkcs8)?;
    let (_, _, rest) = tlv(info)?; // version
    let (_, _, rest) = tlv(rest)?; // algorithm
    let (tag, key, _) = tlv(rest)?;
    (tag == 0x04).then_some(key)
}

/// One DER element: (tag, content, what follows).
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        let len = rest
            .get(..n)?
            .iter()
            .fold(0, |l, &b| l << 8 | usize::from(b));
        (len, &rest[n..])
    };
    Some((tag, rest.get(..len)?, &rest[len..]))
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in text.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
