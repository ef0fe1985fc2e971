//! Connections: one lazily connected HTTP/2 channel per endpoint, over TCP or rustls (ALPN `h2`),
//! made by our own connector so that a failure to connect is known for what it is (the request
//! never left) and TLS uses the shared [`crate::tls`] settings.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper_util::rt::TokioIo;
use tonic::transport::{Channel, Endpoint as TonicEndpoint};

use super::error::ConnectFailed;
use crate::config::Config;
use crate::endpoints::{Endpoint, Scheme};
use crate::error::{Error, Result};
use crate::net;

/// How often an idle-but-busy connection is pinged (etcd refuses pings more often than every 5 s).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
/// How long a ping may go unanswered before the connection is considered dead.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

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
        let target = net::Target::of(endpoint)?;
        // tonic refuses https URIs with a custom connector; TLS is the connector's job.
        let uri = format!("http://{}", target.authority);
        let tonic = TonicEndpoint::from_shared(uri.clone())
            .map_err(|e| Error::Config(format!("endpoint {endpoint}: {e}")))?
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(false);
        let tls = self.tls.clone();
        let connect_timeout = self.connect_timeout;
        let endpoint = endpoint.clone();
        let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
            let target = target.clone();
            let tls = tls.clone();
            let endpoint = endpoint.clone();
            async move {
                net::connect(&endpoint, &target, tls.as_ref(), connect_timeout)
                    .await
                    .map(TokioIo::new)
                    .map_err(ConnectFailed)
            }
        });
        Ok(tonic.connect_with_connector_lazy(connector))
    }
}
