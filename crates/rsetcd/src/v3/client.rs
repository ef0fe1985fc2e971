//! [`Client`]: the v3 API's entry point (the request plumbing is in [`core`](super::core)).

use std::sync::{Arc, OnceLock};

use super::core::Core;
use super::hub::Hub;
use crate::config::{sealed, ClientBuilder, Config, FromConfig};
use crate::error::{Error, Result};

/// An etcd v3 client: cheap to clone (clones share connections), safe to share between tasks,
/// every method takes `&self`.
///
/// ```no_run
/// # async fn demo() -> rsetcd::Result<()> {
/// let client = rsetcd::v3::Client::builder()
///     .endpoints(["http://10.0.1.10:2379", "http://10.0.1.11:2379"])
///     .build()?;
/// client.put("/message", "Hello world").await?;
/// let answer = client.get("/message").await?;
/// assert_eq!(answer.first().map(|kv| kv.value_str()).as_deref(), Some("Hello world"));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) core: Arc<Core>,
    hub: Arc<OnceLock<Hub>>,
}

impl sealed::Sealed for Client {}

impl FromConfig for Client {
    fn from_config(config: Config) -> Result<Self> {
        let interval = config.sync_interval;
        let client = Client {
            core: Arc::new(Core::new(config)?),
            hub: Arc::new(OnceLock::new()),
        };
        if let Some(interval) = interval {
            let handle = tokio::runtime::Handle::try_current().map_err(|_| {
                Error::Config("sync_interval needs a tokio runtime when the client is built".into())
            })?;
            let weak = Arc::downgrade(&client.core);
            handle.spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let Some(core) = weak.upgrade() else { break };
                    if let Err(e) = core.sync_members().await {
                        tracing::debug!(error = %e, "v3 member sync failed; keeping the endpoints");
                    }
                }
            });
        }
        Ok(client)
    }
}

impl Client {
    /// A client without the member sync task `sync_interval` would start (whoever builds it
    /// syncs it: the v2 client over v3).
    #[cfg(feature = "v2")]
    pub(crate) fn unsynced(config: Config) -> Result<Client> {
        Ok(Client {
            core: Arc::new(Core::new(config)?),
            hub: Arc::new(OnceLock::new()),
        })
    }

    /// A client for `http://127.0.0.1:2379` with the default settings.
    pub fn new() -> Result<Client> {
        Client::builder().build()
    }

    /// A builder for every setting: endpoints (or SRV discovery), timeouts, TLS, credentials
    /// (`basic_auth` user and password, exchanged for a v3 token that is renewed by itself).
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::new()
    }

    /// The endpoints this client uses now, the one tried first leading.
    pub fn endpoints(&self) -> Vec<String> {
        let (list, start) = self.core.endpoints.snapshot();
        (0..list.len())
            .map(|i| list[(start + i) % list.len()].url().to_string())
            .collect()
    }

    /// The watch multiplexer, started on first use.
    pub(crate) fn hub(&self) -> &Hub {
        self.hub.get_or_init(|| Hub::start(Arc::clone(&self.core)))
    }
}
