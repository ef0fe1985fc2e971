//! The client's settings, from `pyetcd.client.Client`'s arguments to rsetcd's `ClientBuilder`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rsetcd::v2::Client;
use rsetcd::{ClientBuilder, Error};

/// Everything `Client(...)` passes down (hosts already turned into URLs by the Python side).
pub(crate) struct Settings {
    pub(crate) urls: Vec<String>,
    pub(crate) protocol: String,
    pub(crate) version_prefix: String,
    pub(crate) allow_reconnect: bool,
    pub(crate) srv_domain: Option<String>,
    pub(crate) srv_name_server: Option<String>,
    pub(crate) connect_timeout: f64,
    pub(crate) request_timeout: f64,
    pub(crate) ca_cert: Option<PathBuf>,
    pub(crate) cert: Option<PathBuf>,
    pub(crate) key: Option<PathBuf>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
    /// `http`, `v3[:prefix]` or `auto[:prefix]` (rsetcd's `V2Backend` in text).
    pub(crate) backend: String,
}

/// Seconds given by a caller as a duration: positive and finite, or a configuration error that
/// names the setting.
pub(crate) fn seconds(name: &str, secs: f64) -> Result<Duration, Error> {
    if secs > 0.0 {
        if let Ok(d) = Duration::try_from_secs_f64(secs) {
            return Ok(d);
        }
    }
    Err(Error::Config(format!(
        "{name} must be a positive number of seconds, not {secs}"
    )))
}

impl Settings {
    /// The builder these settings describe (SRV discovery not run yet).
    pub(crate) fn builder(&self) -> Result<ClientBuilder<Client>, Error> {
        let mut b = Client::builder()
            .endpoints(self.urls.iter().cloned())
            .protocol(self.protocol.clone())
            .api_prefix(self.version_prefix.clone())
            .allow_reconnect(self.allow_reconnect)
            .connect_timeout(seconds("connect_timeout", self.connect_timeout)?)
            .request_timeout(seconds("timeout", self.request_timeout)?)
            .v2_backend(self.backend.parse()?);
        if let Some(domain) = &self.srv_domain {
            b = b.srv_domain(domain.clone());
            if let Some(server) = &self.srv_name_server {
                let addr: SocketAddr = server.parse().map_err(|_| {
                    Error::Config(format!(
                        "srv_name_server {server:?} is not an address:port such as 127.0.0.1:53"
                    ))
                })?;
                b = b.srv_name_server(addr);
            }
        }
        if let Some(ca) = &self.ca_cert {
            b = b.ca_file(ca.clone());
        }
        match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => b = b.client_cert_files(cert.clone(), key.clone()),
            (None, None) => {}
            _ => {
                return Err(Error::Config(
                    "a client certificate needs both cert and key".into(),
                ))
            }
        }
        match (&self.username, &self.password) {
            (Some(user), Some(password)) => b = b.basic_auth(user.clone(), password.clone()),
            (None, None) => {}
            (Some(_), None) => return Err(Error::Config("username given without password".into())),
            (None, Some(_)) => return Err(Error::Config("password given without username".into())),
        }
        Ok(b)
    }
}
