//! Configuration shared by the v2 and v3 clients: endpoints, timeouts, credentials, TLS.
//!
//! [`ClientBuilder`] collects the settings; `build()` checks them all and names any bad value.

use std::fmt;
use std::marker::PhantomData;
#[cfg(feature = "dns")]
use std::net::SocketAddr;
#[cfg(feature = "tls")]
use std::path::PathBuf;
use std::time::Duration;

#[cfg(feature = "dns")]
use crate::discovery::SrvQuery;
use crate::endpoints::{Endpoint, Scheme};
use crate::error::{Error, Result};
#[cfg(feature = "tls")]
use crate::tls::Pem;
use crate::tls::TlsOptions;
#[cfg(all(feature = "v2", feature = "v3"))]
use crate::v2::V2Backend;

/// The port used for hosts given without one.
pub const DEFAULT_PORT: u16 = 2379;
/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The default timeout of one request (connect, send and the whole answer).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// A user name and password for HTTP Basic authentication. The password never appears in `Debug`.
#[derive(Clone)]
pub struct Credentials {
    pub(crate) username: String,
    pub(crate) password: String,
}

impl Credentials {
    /// Credentials for `username` with `password`.
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The user name.
    pub fn username(&self) -> &str {
        &self.username
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Checked settings, as the clients use them (opaque: made by [`ClientBuilder::build`]).
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) endpoints: Vec<Endpoint>,
    #[cfg(feature = "v2")]
    pub(crate) api_prefix: String,
    pub(crate) allow_reconnect: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) request_timeout: Duration,
    pub(crate) total_timeout: Option<Duration>,
    #[cfg(feature = "v3")]
    pub(crate) keep_alive: KeepAlive,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) sync_interval: Option<Duration>,
    pub(crate) tls: TlsOptions,
    /// Which road a v2 client's key operations take (the v3 client ignores it).
    #[cfg(all(feature = "v2", feature = "v3"))]
    pub(crate) v2_backend: V2Backend,
}

impl Config {
    /// The deadline of a call with the client's timeouts.
    pub(crate) fn deadline(&self) -> crate::retry::Deadline {
        crate::retry::Deadline::new(Some(self.request_timeout), self.total_timeout)
    }
}

/// The v3 connection keep-alive: ping interval and answer timeout.
#[cfg(feature = "v3")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeepAlive {
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
}

#[cfg(feature = "v3")]
impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A client type that can be built from the shared configuration (implemented by the clients of
/// this crate; not meant to be implemented elsewhere).
pub trait FromConfig: Sized + sealed::Sealed {
    #[doc(hidden)]
    fn from_config(config: Config) -> Result<Self>;
}

pub(crate) mod sealed {
    pub trait Sealed {}
}

#[derive(Debug, Clone)]
enum Spec {
    Url(String),
    HostPort(String, u16),
    #[cfg(feature = "dns")]
    Found(Endpoint),
}

/// Builds a client: `rsetcd::v2::Client::builder()…build()`.
///
/// Endpoints can be given as full URLs (`http://10.0.1.10:2379`), `host:port`, bare hosts (which get
/// [`port`](ClientBuilder::port), default 2379, and [`protocol`](ClientBuilder::protocol), default
/// `http`) or `(host, port)` pairs. Everything is checked in [`build`](ClientBuilder::build), which
/// names the first bad value. For `https` endpoints see `rsetcd::tls` (feature `tls`: CA bundle,
/// system roots, client certificates).
///
/// ```
/// # #[cfg(feature = "v2")]
/// # fn main() -> rsetcd::Result<()> {
/// use std::time::Duration;
/// let client = rsetcd::v2::Client::builder()
///     .endpoints(["http://10.0.1.10:2379", "10.0.1.11:2379", "10.0.1.12"])
///     .request_timeout(Duration::from_secs(3))
///     .build()?;
/// # Ok(()) }
/// # #[cfg(not(feature = "v2"))]
/// # fn main() {}
/// ```
pub struct ClientBuilder<C> {
    specs: Vec<Spec>,
    port: u16,
    protocol: String,
    #[cfg(feature = "v2")]
    api_prefix: String,
    allow_reconnect: bool,
    connect_timeout: Duration,
    request_timeout: Duration,
    total_timeout: Option<Duration>,
    #[cfg(feature = "v3")]
    keep_alive: KeepAlive,
    credentials: Option<Credentials>,
    sync_interval: Option<Duration>,
    #[cfg(feature = "dns")]
    srv: Option<SrvQuery>,
    tls: TlsOptions,
    #[cfg(all(feature = "v2", feature = "v3"))]
    v2_backend: V2Backend,
    _client: PhantomData<fn() -> C>,
}

// By hand: a derive would ask for `C: Clone`.
impl<C> Clone for ClientBuilder<C> {
    fn clone(&self) -> Self {
        ClientBuilder {
            specs: self.specs.clone(),
            port: self.port,
            protocol: self.protocol.clone(),
            #[cfg(feature = "v2")]
            api_prefix: self.api_prefix.clone(),
            allow_reconnect: self.allow_reconnect,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            total_timeout: self.total_timeout,
            #[cfg(feature = "v3")]
            keep_alive: self.keep_alive,
            credentials: self.credentials.clone(),
            sync_interval: self.sync_interval,
            #[cfg(feature = "dns")]
            srv: self.srv.clone(),
            tls: self.tls.clone(),
            #[cfg(all(feature = "v2", feature = "v3"))]
            v2_backend: self.v2_backend.clone(),
            _client: PhantomData,
        }
    }
}

impl<C> fmt::Debug for ClientBuilder<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut f = f.debug_struct("ClientBuilder");
        f.field("endpoints", &self.specs)
            .field("port", &self.port)
            .field("protocol", &self.protocol)
            .field("allow_reconnect", &self.allow_reconnect)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("credentials", &self.credentials)
            .field("sync_interval", &self.sync_interval);
        #[cfg(feature = "v2")]
        f.field("api_prefix", &self.api_prefix);
        #[cfg(feature = "v3")]
        f.field("keep_alive", &self.keep_alive);
        #[cfg(feature = "dns")]
        f.field("srv", &self.srv);
        f.field("tls", &self.tls);
        #[cfg(all(feature = "v2", feature = "v3"))]
        f.field("v2_backend", &self.v2_backend);
        f.finish()
    }
}

impl<C> Default for ClientBuilder<C> {
    fn default() -> Self {
        ClientBuilder {
            specs: Vec::new(),
            port: DEFAULT_PORT,
            protocol: "http".into(),
            #[cfg(feature = "v2")]
            api_prefix: "v2".into(),
            allow_reconnect: true,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            total_timeout: None,
            #[cfg(feature = "v3")]
            keep_alive: KeepAlive::default(),
            credentials: None,
            sync_interval: None,
            #[cfg(feature = "dns")]
            srv: None,
            tls: TlsOptions::default(),
            #[cfg(all(feature = "v2", feature = "v3"))]
            v2_backend: V2Backend::default(),
            _client: PhantomData,
        }
    }
}

impl<C: FromConfig> ClientBuilder<C> {
    /// A builder with the defaults: `http://127.0.0.1:2379`, API prefix `v2`, reconnect on.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one host: a bare host, `host:port` or a URL.
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.specs.push(Spec::Url(host.into()));
        self
    }

    /// Adds endpoints: each a bare host, `host:port` or a URL.
    pub fn endpoints<I, S>(mut self, endpoints: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.specs
            .extend(endpoints.into_iter().map(|s| Spec::Url(s.into())));
        self
    }

    /// Adds `(host, port)` pairs.
    pub fn host_ports<I, S>(mut self, pairs: I) -> Self
    where
        I: IntoIterator<Item = (S, u16)>,
        S: Into<String>,
    {
        self.specs
            .extend(pairs.into_iter().map(|(h, p)| Spec::HostPort(h.into(), p)));
        self
    }

    /// The port for hosts given without one (default 2379).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The protocol for hosts given without a scheme: `http` (default) or `https`.
    pub fn protocol(mut self, protocol: impl Into<String>) -> Self {
        self.protocol = protocol.into();
        self
    }

    /// The API prefix of the v2 key and member paths (default `v2`).
    #[cfg(feature = "v2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "v2")))]
    pub fn api_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.api_prefix = prefix.into();
        self
    }

    /// On a connection failure, go on to the next endpoint (default `true`). When `false`, only the
    /// first endpoint is ever used.
    pub fn allow_reconnect(mut self, allow: bool) -> Self {
        self.allow_reconnect = allow;
        self
    }

    /// How long to wait for a TCP (and TLS) connection (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one request may take on one endpoint, answer included (default 5 s). Watches use
    /// their own timeouts.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long one call may take in all, every endpoint it tries included (default: no bound
    /// beyond each attempt's [`request_timeout`](ClientBuilder::request_timeout)). It covers
    /// everything the call does — connecting, a v3 auth token refresh, each attempt — and each
    /// attempt's own timeout is cut to what is left of it. Calls with a timeout of their own (a
    /// one-shot wait's `timeout`) use that instead; long-lived streams (watches, keep-alives,
    /// observers) apply it to each (re)opening.
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = Some(timeout);
        self
    }

    /// v3: how often a connection with calls or streams in flight is pinged (default 10 s), and how
    /// long a ping may go unanswered (default 5 s) before the connection is taken for dead: its
    /// calls fail and its watches resume on another endpoint. This is what finds a member that
    /// went silent without closing its connections (a network partition, a frozen host). etcd
    /// closes connections that ping more often than its `--grpc-keepalive-min-time` (5 s by
    /// default). The v2 client does not ping; its watches have their own timeouts.
    #[cfg(feature = "v3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "v3")))]
    pub fn keep_alive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keep_alive = KeepAlive { interval, timeout };
        self
    }

    /// HTTP Basic credentials sent with every request.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::new(username, password));
        self
    }

    /// Refresh the endpoint list from the cluster's member list every `interval`, in the
    /// background, so that a client started with one endpoint learns the others (and forgets
    /// removed members). The async client needs a tokio runtime when it is built; the blocking
    /// client uses its own. The task stops when the last clone of the client is dropped.
    pub fn sync_interval(mut self, interval: Duration) -> Self {
        self.sync_interval = Some(interval);
        self
    }

    /// Trust the CA certificates in this PEM file for `https` endpoints (may be given several
    /// times). Without any CA, the system's roots are used.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls.cas.push(Pem::File(path.into()));
        self
    }

    /// Trust the CA certificates in these PEM bytes.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.cas.push(Pem::Bytes(pem.into()));
        self
    }

    /// Also trust the system's root certificates (the default only when no CA is given).
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn use_system_roots(mut self, on: bool) -> Self {
        self.tls.system_roots = Some(on);
        self
    }

    /// Present this client certificate (PEM chain) and private key (PEM: PKCS#8, PKCS#1 or SEC1)
    /// for mutual TLS.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.tls.identity = Some((Pem::File(cert.into()), Pem::File(key.into())));
        self
    }

    /// [`client_cert_files`](ClientBuilder::client_cert_files) from PEM bytes. The key never
    /// appears in `Debug` output or errors.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn client_cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.tls.identity = Some((Pem::Bytes(cert.into()), Pem::Bytes(key.into())));
        self
    }

    /// **Development only**: accept any server certificate (expired, self-signed, for another
    /// host). This removes the protection TLS gives against impostors; a warning is logged when the
    /// client is built.
    #[cfg(feature = "tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
    pub fn danger_accept_invalid_certs(mut self, on: bool) -> Self {
        self.tls.accept_invalid_certs = on;
        self
    }

    /// Discover endpoints through DNS SRV records of `domain` (see [`crate::discovery`]); they are
    /// added after any endpoints given directly. The lookup happens in
    /// [`discover`](ClientBuilder::discover) or, if that was not called, in
    /// [`build`](ClientBuilder::build) (which then blocks for the lookup).
    #[cfg(feature = "dns")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dns")))]
    pub fn srv_domain(mut self, domain: impl Into<String>) -> Self {
        self.srv.get_or_insert_with(|| SrvQuery::new("")).domain = domain.into();
        self
    }

    /// The service name suffix of the SRV records (etcd's `--discovery-srv-name`).
    #[cfg(feature = "dns")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dns")))]
    pub fn srv_service_name(mut self, name: impl Into<String>) -> Self {
        self.srv
            .get_or_insert_with(|| SrvQuery::new(""))
            .service_name = Some(name.into());
        self
    }

    /// The DNS server to ask for SRV records (default: the system's).
    #[cfg(feature = "dns")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dns")))]
    pub fn srv_name_server(mut self, addr: SocketAddr) -> Self {
        self.srv
            .get_or_insert_with(|| SrvQuery::new(""))
            .name_server = Some(addr);
        self
    }

    /// Runs the SRV lookup now, without blocking, and keeps its endpoints for `build`.
    #[cfg(feature = "dns")]
    #[cfg_attr(docsrs, doc(cfg(feature = "dns")))]
    pub async fn discover(mut self) -> Result<Self> {
        if let Some(query) = self.srv.take() {
            self.specs
                .extend(query.discover().await?.into_iter().map(Spec::Found));
        }
        Ok(self)
    }

    /// Checks the settings and builds the client.
    ///
    /// Errors ([`Error::Config`]) name the bad host, port, URL, scheme or timeout.
    pub fn build(self) -> Result<C> {
        C::from_config(self.into_config()?)
    }

    /// The checked settings without a client, for tests of the layers below the clients.
    #[cfg(test)]
    pub(crate) fn test_config(self) -> Result<Config> {
        self.into_config()
    }

    fn into_config(#[allow(unused_mut)] mut self) -> Result<Config> {
        #[cfg(feature = "dns")]
        if let Some(query) = self.srv.take() {
            self.specs
                .extend(query.discover_blocking()?.into_iter().map(Spec::Found));
        }
        let scheme = Scheme::parse(&self.protocol)?;
        if self.port == 0 {
            return Err(Error::Config("port 0 is invalid".into()));
        }
        let specs = if self.specs.is_empty() {
            vec![Spec::HostPort("127.0.0.1".into(), self.port)]
        } else {
            self.specs
        };
        let mut endpoints = Vec::with_capacity(specs.len());
        for spec in &specs {
            let endpoint = match spec {
                Spec::Url(s) => Endpoint::parse(s, scheme, self.port)?,
                Spec::HostPort(h, p) => Endpoint::from_host_port(h, *p, scheme)?,
                #[cfg(feature = "dns")]
                Spec::Found(e) => e.clone(),
            };
            #[cfg(not(feature = "tls"))]
            if endpoint.scheme() == Scheme::Https {
                return Err(crate::tls::https_refused(endpoint.url()));
            }
            if !endpoints.contains(&endpoint) {
                endpoints.push(endpoint);
            }
        }
        #[cfg(feature = "v2")]
        let prefix = self.api_prefix.trim_matches('/').to_string();
        #[cfg(feature = "v2")]
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_./".contains(&b))
        {
            return Err(Error::Config(format!(
                "invalid API prefix {:?}",
                self.api_prefix
            )));
        }
        for (name, t) in [
            ("connect timeout", self.connect_timeout),
            ("request timeout", self.request_timeout),
            ("total timeout", self.total_timeout.unwrap_or(Duration::MAX)),
            #[cfg(feature = "v3")]
            ("keep-alive interval", self.keep_alive.interval),
            #[cfg(feature = "v3")]
            ("keep-alive timeout", self.keep_alive.timeout),
            ("sync interval", self.sync_interval.unwrap_or(Duration::MAX)),
        ] {
            if t.is_zero() {
                return Err(Error::Config(format!("{name} must be longer than zero")));
            }
        }
        if let Some(c) = &self.credentials {
            if c.username.is_empty() || c.username.contains(':') {
                return Err(Error::Config(format!(
                    "invalid user name {:?}: empty or containing ':'",
                    c.username
                )));
            }
        }
        Ok(Config {
            endpoints,
            #[cfg(feature = "v2")]
            api_prefix: prefix,
            allow_reconnect: self.allow_reconnect,
            connect_timeout: self.connect_timeout,
            request_timeout: self.request_timeout,
            total_timeout: self.total_timeout,
            #[cfg(feature = "v3")]
            keep_alive: self.keep_alive,
            credentials: self.credentials,
            sync_interval: self.sync_interval,
            tls: self.tls,
            #[cfg(all(feature = "v2", feature = "v3"))]
            v2_backend: self.v2_backend,
        })
    }
}

/// The v2 backend: [`v2::Client`](crate::v2::Client) and its blocking twin only.
#[cfg(all(feature = "v2", feature = "v3"))]
macro_rules! v2_backend_setter {
    ($($client:ty),*) => {$(
        impl ClientBuilder<$client> {
            /// Which API the v2 key operations use: etcd's v2 HTTP API ([`V2Backend::Http`], the
            /// default), the v2 data model over the v3 API under a key prefix
            /// ([`V2Backend::OverV3`], for etcd 3.6 and for 3.4 / 3.5 without `--enable-v2`), or
            /// whichever the cluster serves ([`V2Backend::Auto`]). The v3 client is built from the
            /// same settings: endpoints, TLS, credentials (exchanged for a v3 token), timeouts.
            ///
            /// ```
            /// use rsetcd::v2::{Client, V2Backend};
            /// let client = Client::builder()
            ///     .endpoints(["http://127.0.0.1:2379"])
            ///     .v2_backend(V2Backend::over_v3("/v2c"))
            ///     .build()?;
            /// # let _ = client;
            /// # Ok::<(), rsetcd::Error>(())
            /// ```
            #[cfg_attr(docsrs, doc(cfg(all(feature = "v2", feature = "v3"))))]
            pub fn v2_backend(mut self, backend: V2Backend) -> Self {
                self.v2_backend = backend;
                self
            }
        }
    )*};
}

#[cfg(all(feature = "v2", feature = "v3", not(feature = "blocking")))]
v2_backend_setter!(crate::v2::Client);
#[cfg(all(feature = "v2", feature = "v3", feature = "blocking"))]
v2_backend_setter!(crate::v2::Client, crate::v2::blocking::Client);

#[cfg(all(test, not(feature = "tls")))]
mod tests {
    use super::*;

    /// A stand-in client type: the builder's checks without either client.
    struct Checked;

    impl sealed::Sealed for Checked {}

    impl FromConfig for Checked {
        fn from_config(_: Config) -> Result<Self> {
            Ok(Checked)
        }
    }

    #[test]
    fn without_tls_an_https_endpoint_is_refused_naming_the_feature() {
        for builder in [
            ClientBuilder::<Checked>::new().endpoints(["https://10.0.1.10:2379"]),
            ClientBuilder::<Checked>::new()
                .protocol("https")
                .endpoints(["10.0.1.10"]),
        ] {
            let err = builder.test_config().unwrap_err();
            assert!(
                matches!(&err, Error::Config(m) if m.contains("`tls` feature")),
                "{err}"
            );
        }
        assert!(ClientBuilder::<Checked>::new()
            .endpoints(["http://10.0.1.10:2379"])
            .test_config()
            .is_ok());
    }
}
