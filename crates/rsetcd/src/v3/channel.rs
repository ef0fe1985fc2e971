//! Connections: one lazily connected HTTP/2 channel per endpoint, over TCP or rustls (ALPN `h2`),
//! made by our own connector so that a failure to connect is known for what it is (the request
//! never left) and TLS uses the shared [`crate::tls`] settings.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::transport::{Channel, Endpoint as TonicEndpoint};

use super::error::ConnectFailed;
use crate::config::Config;
use crate::endpoints::{Endpoint, Scheme};
use crate::error::{Error, Result};

/// How often an idle-but-busy connection is pinged (etcd refuses pings more often than every 5 s).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a ping may go unanswered before the connection is considered dead.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// The channels of one client, by endpoint URL.
pub(crate) struct Channels {
    map: Mutex<HashMap<Arc<str>, Channel>>,
    tls: Option<Arc<rustls::ClientConfig>>,
    connect_timeout: Duration,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("tls", &self.tls.is_some())
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl Channels {
    pub(crate) fn new(config: &Config) -> Result<Channels> {
        let uses_tls = config.endpoints.iter().any(|e| e.scheme() == Scheme::Https)
            || !config.tls.cas.is_empty()
            || config.tls.identity.is_some()
            || config.sync_interval.is_some();
        let tls = if uses_tls {
            let mut tls = config.tls.client_config()?;
            tls.alpn_protocols = vec![b"h2".to_vec()];
            Some(Arc::new(tls))
        } else {
            None
        };
        Ok(Channels {
            map: Mutex::new(HashMap::new()),
            tls,
            connect_timeout: config.connect_timeout,
        })
    }

    /// The channel to `endpoint`, made on first use (connecting lazily, on the first request).
    pub(crate) fn get(&self, endpoint: &Endpoint) -> Result<Channel> {
        let mut map = match self.map.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(channel) = map.get(endpoint.url()) {
            return Ok(channel.clone());
        }
        let channel = self.make(endpoint)?;
        map.insert(endpoint.url().into(), channel.clone());
        Ok(channel)
    }

    fn make(&self, endpoint: &Endpoint) -> Result<Channel> {
        let target = Target::of(endpoint)?;
        // tonic refuses https URIs with a custom connector; TLS is the connector's job.
        let uri = format!("http://{}", target.authority);
        let tonic = TonicEndpoint::from_shared(uri.clone())
            .map_err(|e| Error::Config(format!("endpoint {endpoint}: {e}")))?
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(false);
        let tls = match endpoint.scheme() {
            Scheme::Https => Some(self.tls.clone().ok_or_else(|| {
                Error::Config(format!("endpoint {endpoint}: TLS is not configured"))
            })?),
            Scheme::Http => None,
        };
        let connect_timeout = self.connect_timeout;
        let endpoint = endpoint.clone();
        let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
            let target = target.clone();
            let tls = tls.clone();
            let endpoint = endpoint.clone();
            async move {
                connect(&endpoint, &target, tls, connect_timeout)
                    .await
                    .map(TokioIo::new)
                    .map_err(ConnectFailed)
            }
        });
        Ok(tonic.connect_with_connector_lazy(connector))
    }
}

/// Where to connect: the host (an address or a name) and port of an endpoint.
#[derive(Debug, Clone)]
struct Target {
    host: Host,
    port: u16,
    authority: String,
}

#[derive(Debug, Clone)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Target {
    fn of(endpoint: &Endpoint) -> Result<Target> {
        let url = url::Url::parse(endpoint.url())
            .map_err(|e| Error::Config(format!("endpoint {endpoint}: {e}")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Error::Config(format!("endpoint {endpoint} has no port")))?;
        let host = match url.host() {
            Some(url::Host::Ipv4(ip)) => Host::Ip(ip.into()),
            Some(url::Host::Ipv6(ip)) => Host::Ip(ip.into()),
            Some(url::Host::Domain(d)) => Host::Name(d.to_string()),
            None => return Err(Error::Config(format!("endpoint {endpoint} has no host"))),
        };
        let authority = match &host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            Host::Ip(ip) => format!("{ip}:{port}"),
            Host::Name(name) => format!("{name}:{port}"),
        };
        Ok(Target {
            host,
            port,
            authority,
        })
    }
}

async fn connect(
    endpoint: &Endpoint,
    target: &Target,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<Box<dyn Io>> {
    let url = endpoint.url().to_string();
    let fail = |source: std::io::Error| Error::Connect {
        endpoint: url.clone(),
        source: Box::new(source),
    };
    let timed_out = || Error::Connect {
        endpoint: url.clone(),
        source: format!("connect timeout after {timeout:?}").into(),
    };
    let tcp = match &target.host {
        Host::Ip(ip) => tokio::time::timeout(timeout, TcpStream::connect((*ip, target.port))).await,
        Host::Name(name) => {
            tokio::time::timeout(timeout, TcpStream::connect((name.as_str(), target.port))).await
        }
    }
    .map_err(|_| timed_out())?
    .map_err(fail)?;
    // Small requests must not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else {
        return Ok(Box::new(tcp));
    };
    let name = match &target.host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Name(name) => ServerName::try_from(name.clone())
            .map_err(|e| Error::Config(format!("endpoint {endpoint}: invalid host name: {e}")))?,
    };
    let stream = tokio::time::timeout(
        timeout,
        tokio_rustls::TlsConnector::from(tls).connect(name, tcp),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| match crate::tls::explain(&e) {
        Some(reason) => Error::Tls {
            endpoint: url.clone(),
            reason,
        },
        None => fail(e),
    })?;
    Ok(Box::new(stream))
}
