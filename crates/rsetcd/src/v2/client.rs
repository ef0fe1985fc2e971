//! [`Client`]: the v2 API's entry point.

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "v3")]
use super::backend::{self, OverV3};
use super::keys::{self, Delete, Read, Write};
use super::transport::Transport;
use crate::config::{sealed, ClientBuilder, Config, FromConfig};
use crate::error::{Error, Result};

/// An etcd v2 client: cheap to clone, safe to share between tasks.
///
/// Every operation returns a builder: chain its options, then `.await` it.
///
/// ```no_run
/// # async fn demo() -> rsetcd::Result<()> {
/// use std::time::Duration;
/// let client = rsetcd::v2::Client::new()?; // http://127.0.0.1:2379
/// client.write("/message", "Hello world").await?;
/// let answer = client.read("/message").await?;
/// assert_eq!(answer.node.value.as_deref(), Some("Hello world"));
/// client.write("/lease", "x").ttl(Duration::from_secs(5)).await?;
/// # Ok(()) }
/// ```
///
/// Its key operations go over etcd's v2 HTTP API by default, or over the v3 API (etcd 3.6 has
/// no v2 API) with [`ClientBuilder::v2_backend`]: the same methods, answers and errors (see
/// [`V2Backend`](super::V2Backend)).
#[derive(Clone, Debug)]
pub struct Client {
    transport: Arc<Transport>,
    /// The v3 side, unless the backend is HTTP.
    #[cfg(feature = "v3")]
    over_v3: Option<Arc<OverV3>>,
}

impl sealed::Sealed for Client {}

impl FromConfig for Client {
    fn from_config(config: Config) -> Result<Self> {
        let handle = match config.sync_interval {
            Some(_) => Some(tokio::runtime::Handle::try_current().map_err(|_| {
                Error::Config(
                    "sync_interval needs a tokio runtime when the client is built \
                     (or call sync_members yourself)"
                        .into(),
                )
            })?),
            None => None,
        };
        Client::with_runtime(config, handle.as_ref())
    }
}

impl Client {
    /// Builds the client; with a sync interval, starts the member sync task on `handle`.
    pub(crate) fn with_runtime(
        config: Config,
        handle: Option<&tokio::runtime::Handle>,
    ) -> Result<Client> {
        let interval = config.sync_interval;
        let client = Client {
            #[cfg(feature = "v3")]
            over_v3: backend::build(&config)?,
            transport: Arc::new(Transport::new(config)?),
        };
        if let (Some(interval), Some(handle)) = (interval, handle) {
            let weak = Arc::downgrade(&client.transport);
            #[cfg(feature = "v3")]
            let over_v3 = client.over_v3.as_ref().map(Arc::downgrade);
            handle.spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let Some(transport) = weak.upgrade() else {
                        break;
                    };
                    let client = Client {
                        transport,
                        #[cfg(feature = "v3")]
                        over_v3: over_v3.as_ref().and_then(std::sync::Weak::upgrade),
                    };
                    if let Err(e) = client.sync_members().await {
                        tracing::debug!(error = %e, "member sync failed; keeping the endpoints");
                    }
                }
            });
        }
        Ok(client)
    }

    /// A client for `http://127.0.0.1:2379` with the default settings.
    pub fn new() -> Result<Client> {
        Client::builder().build()
    }

    /// A builder for every setting: endpoints, timeouts, credentials…
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::new()
    }

    /// The endpoints this client uses now, the one tried first leading (over v3: the v3
    /// client's).
    pub fn endpoints(&self) -> Vec<String> {
        #[cfg(feature = "v3")]
        if let super::backend::Route::V3(engine) = self.route() {
            return engine.client().endpoints();
        }
        let (list, start) = self.transport.endpoints.snapshot();
        (0..list.len())
            .map(|i| list[(start + i) % list.len()].url().to_string())
            .collect()
    }

    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }

    #[cfg(feature = "v3")]
    pub(crate) fn over_v3(&self) -> Option<&OverV3> {
        self.over_v3.as_deref()
    }

    /// Without the `v3` feature every call is HTTP: nothing is refused as v2-only.
    #[cfg(not(feature = "v3"))]
    pub(crate) async fn v2_only(&self, _what: &str) -> Result<()> {
        Ok(())
    }

    /// `/<prefix>/keys/<encoded key>`.
    pub(crate) fn key_path(&self, key: &str) -> Result<String> {
        let prefix = &self.transport.config.api_prefix;
        let mut path = String::with_capacity(prefix.len() + key.len() + 16);
        path.push('/');
        path.push_str(prefix);
        path.push_str("/keys");
        keys::push_key(&mut path, key)?;
        Ok(path)
    }

    /// `/<prefix>/<rest>` for the members, stats and auth APIs.
    pub(crate) fn api_path(&self, rest: &str) -> String {
        format!(
            "/{}/{}",
            self.transport.config.api_prefix,
            rest.trim_start_matches('/')
        )
    }

    /// Sets `key` to `value` (creating parent directories as needed).
    pub fn write(&self, key: &str, value: impl Into<String>) -> Write<'_> {
        Write::new(self, key, Some(value.into()))
    }

    /// Creates `key` only if it does not exist yet (etcd error 105 `NodeExist` otherwise).
    pub fn create(&self, key: &str, value: impl Into<String>) -> Write<'_> {
        Write::new(self, key, Some(value.into())).prev_exist(false)
    }

    /// Changes `key` only if it exists (etcd error 100 `KeyNotFound` otherwise).
    pub fn update(&self, key: &str, value: impl Into<String>) -> Write<'_> {
        Write::new(self, key, Some(value.into())).prev_exist(true)
    }

    /// Sets `key` to `value` if every condition given holds (`prev_value`, `prev_index`,
    /// `prev_exist`; at least one is required, all are sent).
    pub fn compare_and_swap(&self, key: &str, value: impl Into<String>) -> Write<'_> {
        Write::new(self, key, Some(value.into())).conditional()
    }

    /// Resets the TTL of an existing key without changing its value and without a watch event.
    pub fn update_ttl(&self, key: &str, ttl: Duration) -> Write<'_> {
        Write::new(self, key, None).refreshing().ttl(ttl)
    }

    /// Creates a directory; an existing key or directory is etcd error 105 `NodeExist`.
    pub fn mkdir(&self, key: &str) -> Write<'_> {
        Write::new(self, key, None).directory().prev_exist(false)
    }

    /// Creates a directory, or (on an existing directory) sets its TTL — etcdctl's `setdir`.
    pub fn set_dir(&self, key: &str) -> Write<'_> {
        Write::new(self, key, None).directory()
    }

    /// Changes an existing directory (its TTL; without a TTL, removes it) — etcdctl's `updatedir`.
    pub fn update_dir(&self, key: &str) -> Write<'_> {
        Write::new(self, key, None).directory().prev_exist(true)
    }

    /// Creates a key with a unique, increasing name inside directory `dir` (a queue): the new key is
    /// in the answer's `node.key`.
    pub fn create_in_order(&self, dir: &str, value: impl Into<String>) -> Write<'_> {
        Write::new(self, dir, Some(value.into())).in_order()
    }

    /// Reads a key or lists a directory; `.wait()` waits for the next change instead.
    pub fn read(&self, key: &str) -> Read<'_> {
        Read::new(self, key)
    }

    /// Deletes a key (`.dir()` / `.recursive()` for directories).
    pub fn delete(&self, key: &str) -> Delete<'_> {
        Delete::new(self, key)
    }

    /// Deletes a directory: empty ones only, unless `.recursive()`.
    pub fn rmdir(&self, key: &str) -> Delete<'_> {
        Delete::new(self, key).dir()
    }

    /// Deletes `key` if every condition given holds (`prev_value`, `prev_index`; one is required).
    pub fn compare_and_delete(&self, key: &str) -> Delete<'_> {
        Delete::new(self, key).conditional()
    }
}
