//! `pyetcd._native.Core`: the rsetcd client behind `pyetcd.client.Client`, one per Python client,
//! shared by every thread that uses it.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rsetcd::v2::{Client, Member, MemberId, Response};
use rsetcd::{ClientBuilder, Error, EtcdCode};

use crate::config::{seconds, Settings};
use crate::convert;
use crate::errors::IntoPy;
use crate::runtime::{self, block_on};
use crate::watch::NativeWatch;

/// The rsetcd client of one fork generation.
struct State {
    generation: u64,
    client: ManuallyDrop<Client>,
}

impl Drop for State {
    fn drop(&mut self) {
        if self.generation == runtime::generation() {
            // SAFETY: `client` is not used again; this is the only place it is dropped.
            unsafe { ManuallyDrop::drop(&mut self.client) };
        }
        // Else the parent's client, inherited by fork(): its pooled sockets are the parent's
        // too, and dropping them would deregister them from the epoll set the parent still uses.
    }
}

/// A key answer as Python gets it: the payload dict and `X-Etcd-Index`.
type Answer<'py> = (Bound<'py, PyDict>, Option<u64>);

/// The native half of `pyetcd.client.Client`. Thread-safe: calls from many threads share its
/// connections' pool, each thread on its own runtime, the GIL released while they wait.
#[pyclass(frozen, module = "pyetcd._native")]
pub struct Core {
    /// The settings, SRV discovery done: a child process after `fork()` builds a fresh client
    /// from them.
    builder: ClientBuilder<Client>,
    /// Locked only with the GIL held and never across a wait, so no other thread holds it when
    /// a thread (holding the GIL) forks.
    state: Mutex<State>,
    username: Option<String>,
}

impl Core {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The client for this process (a fresh one in a child after `fork()`).
    fn client(&self, py: Python<'_>) -> PyResult<Client> {
        let mut state = self.lock();
        let now = runtime::generation();
        if state.generation != now {
            let fresh = self.builder.clone().build().py_err(py)?;
            // The parent's client is left as it is (see `State`'s drop).
            let _stale = std::mem::replace(&mut state.client, ManuallyDrop::new(fresh));
            state.generation = now;
        }
        Ok(Client::clone(&state.client))
    }

    /// Runs a call and converts its answer or error.
    fn run<T: Send>(
        py: Python<'_>,
        fut: impl Future<Output = Result<T, Error>> + Send,
    ) -> PyResult<T> {
        block_on(py, fut)?.py_err(py)
    }

    fn key_answer<'py>(
        py: Python<'py>,
        fut: impl Future<Output = Result<Response, Error>> + Send,
    ) -> PyResult<Answer<'py>> {
        let r = Self::run(py, fut)?;
        convert::response(py, &r)
    }
}

fn ttl_of(ttl: Option<u64>) -> Option<Duration> {
    ttl.map(Duration::from_secs)
}

fn member<'py>(py: Python<'py>, m: &Member) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("id", m.id.to_string())?;
    d.set_item("name", &m.name)?;
    d.set_item("peerURLs", PyList::new(py, &m.peer_urls)?)?;
    d.set_item("clientURLs", PyList::new(py, &m.client_urls)?)?;
    Ok(d)
}

#[pymethods]
impl Core {
    /// Checks the settings, runs SRV discovery if asked, and makes the client.
    #[new]
    #[pyo3(signature = (urls, protocol="http", version_prefix="v2", allow_reconnect=true,
        srv_domain=None, srv_name_server=None, connect_timeout=2.0, timeout=5.0, ca_cert=None,
        cert=None, key=None, username=None, password=None, backend="http"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        urls: Vec<String>,
        protocol: &str,
        version_prefix: &str,
        allow_reconnect: bool,
        srv_domain: Option<String>,
        srv_name_server: Option<String>,
        connect_timeout: f64,
        timeout: f64,
        ca_cert: Option<std::path::PathBuf>,
        cert: Option<std::path::PathBuf>,
        key: Option<std::path::PathBuf>,
        username: Option<String>,
        password: Option<String>,
        backend: &str,
    ) -> PyResult<Core> {
        let settings = Settings {
            urls,
            protocol: protocol.to_string(),
            version_prefix: version_prefix.to_string(),
            allow_reconnect,
            srv_domain,
            srv_name_server,
            connect_timeout,
            request_timeout: timeout,
            ca_cert,
            cert,
            key,
            username: username.clone(),
            password,
            backend: backend.to_string(),
        };
        let mut builder = settings.builder().py_err(py)?;
        if settings.srv_domain.is_some() {
            builder = Self::run(py, builder.discover())?;
        }
        let client = builder.clone().build().py_err(py)?;
        Ok(Core {
            builder,
            state: Mutex::new(State {
                generation: runtime::generation(),
                client: ManuallyDrop::new(client),
            }),
            username,
        })
    }

    /// The endpoint URLs in use, the one tried first leading.
    fn endpoints(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        Ok(self.client(py)?.endpoints())
    }

    /// Sets a key (`ttl` in whole seconds).
    #[pyo3(signature = (key, value, ttl=None))]
    fn write<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> PyResult<Answer<'py>> {
        let client = self.client(py)?;
        Self::key_answer(py, async move {
            let mut op = client.write(key, value);
            if let Some(t) = ttl_of(ttl) {
                op = op.ttl(t);
            }
            op.await
        })
    }

    /// Reads a key; with `wait`, waits for the next change (at or after `wait_index`), for at
    /// most `timeout` seconds in all when given.
    #[pyo3(signature = (key, recursive=false, sorted=false, quorum=false, wait=false,
        wait_index=None, timeout=None))]
    #[allow(clippy::too_many_arguments)]
    fn read<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        recursive: bool,
        sorted: bool,
        quorum: bool,
        wait: bool,
        wait_index: Option<u64>,
        timeout: Option<f64>,
    ) -> PyResult<Answer<'py>> {
        let limit = timeout
            .map(|t| seconds("timeout", t))
            .transpose()
            .py_err(py)?;
        let client = self.client(py)?;
        Self::key_answer(py, async move {
            let mut op = client.read(key);
            if recursive {
                op = op.recursive();
            }
            if sorted {
                op = op.sorted();
            }
            if quorum {
                op = op.quorum();
            }
            if wait {
                op = op.wait();
                // etcd ignores waitIndex without wait; rsetcd's wait_index implies wait.
                if let Some(i) = wait_index {
                    op = op.wait_index(i);
                }
            }
            let Some(limit) = limit else {
                return op.await;
            };
            // The bound covers every endpoint tried, not each one.
            let first = client.endpoints().first().cloned().unwrap_or_default();
            match tokio::time::timeout(limit, op.timeout(limit)).await {
                Ok(answer) => answer,
                Err(_) => Err(Error::Timeout {
                    endpoint: first,
                    after: limit,
                }),
            }
        })
    }

    /// Deletes a key (`dir` and `recursive` as etcd's DELETE takes them).
    #[pyo3(signature = (key, dir=false, recursive=false))]
    fn delete<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        dir: bool,
        recursive: bool,
    ) -> PyResult<Answer<'py>> {
        let client = self.client(py)?;
        Self::key_answer(py, async move {
            let mut op = client.delete(key);
            if dir {
                op = op.dir();
            }
            if recursive {
                op = op.recursive();
            }
            op.await
        })
    }

    /// Creates a directory (an existing one is etcd error 105).
    fn mkdir<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Answer<'py>> {
        let client = self.client(py)?;
        Self::key_answer(py, async move { client.mkdir(key).await })
    }

    /// Sets `key` if every condition given holds; without a condition, a plain write.
    #[pyo3(signature = (key, value, prev_value=None, prev_index=None, prev_exist=None, ttl=None))]
    #[allow(clippy::too_many_arguments)]
    fn compare_and_swap<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        value: &str,
        prev_value: Option<&str>,
        prev_index: Option<u64>,
        prev_exist: Option<bool>,
        ttl: Option<u64>,
    ) -> PyResult<Answer<'py>> {
        let client = self.client(py)?;
        Self::key_answer(py, async move {
            let conditional = prev_value.is_some() || prev_index.is_some() || prev_exist.is_some();
            let mut op = if conditional {
                client.compare_and_swap(key, value)
            } else {
                client.write(key, value)
            };
            if let Some(v) = prev_value {
                op = op.prev_value(v);
            }
            if let Some(i) = prev_index {
                op = op.prev_index(i);
            }
            if let Some(e) = prev_exist {
                op = op.prev_exist(e);
            }
            if let Some(t) = ttl_of(ttl) {
                op = op.ttl(t);
            }
            op.await
        })
    }

    /// Deletes `key` if every condition given holds; without a condition, a plain delete.
    #[pyo3(signature = (key, prev_value=None, prev_index=None))]
    fn compare_and_delete<'py>(
        &self,
        py: Python<'py>,
        key: &str,
        prev_value: Option<&str>,
        prev_index: Option<u64>,
    ) -> PyResult<Answer<'py>> {
        let client = self.client(py)?;
        Self::key_answer(py, async move {
            if prev_value.is_none() && prev_index.is_none() {
                return client.delete(key).await;
            }
            let mut op = client.compare_and_delete(key);
            if let Some(v) = prev_value {
                op = op.prev_value(v);
            }
            if let Some(i) = prev_index {
                op = op.prev_index(i);
            }
            op.await
        })
    }

    /// Resets an existing key's TTL without changing its value.
    fn update_ttl<'py>(&self, py: Python<'py>, key: &str, ttl: u64) -> PyResult<Answer<'py>> {
        let client = self.client(py)?;
        Self::key_answer(py, async move {
            client.update_ttl(key, Duration::from_secs(ttl)).await
        })
    }

    /// Adds a member; returns it as etcd describes it.
    fn add_member<'py>(
        &self,
        py: Python<'py>,
        peer_urls: Vec<String>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let client = self.client(py)?;
        let m = Self::run(py, async move { client.add_member(peer_urls).await })?;
        member(py, &m)
    }

    /// Removes the member with this (hex) id.
    fn remove_member(&self, py: Python<'_>, member_id: &str) -> PyResult<()> {
        let id: MemberId = member_id.parse().py_err(py)?;
        let client = self.client(py)?;
        Self::run(py, async move { client.remove_member(id).await })
    }

    /// The members, as etcd lists them.
    fn members<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let client = self.client(py)?;
        let list = Self::run(py, async move { client.members().await })?;
        list.iter().map(|m| member(py, m)).collect()
    }

    /// Whether the member answering is healthy.
    fn health(&self, py: Python<'_>) -> PyResult<bool> {
        let client = self.client(py)?;
        Self::run(py, async move { client.health().await })
    }

    /// `(etcdserver, etcdcluster)` versions.
    fn version(&self, py: Python<'_>) -> PyResult<(String, String)> {
        let client = self.client(py)?;
        let v = Self::run(py, async move { client.version().await })?;
        Ok((v.server, v.cluster))
    }

    /// `/v2/stats/self`, `/v2/stats/leader` or `/v2/stats/store` as JSON text.
    fn stats(&self, py: Python<'_>, which: &str) -> PyResult<String> {
        let client = self.client(py)?;
        let json = |r: Result<String, serde_json::Error>| {
            r.map_err(|e| Error::InvalidArgument(format!("cannot encode the statistics: {e}")))
        };
        Self::run(py, async move {
            match which {
                "self" => json(serde_json::to_string(&client.self_stats().await?)),
                "leader" => json(serde_json::to_string(&client.leader_stats().await?)),
                "store" => json(serde_json::to_string(&client.store_stats().await?)),
                other => Err(Error::InvalidArgument(format!(
                    "no statistics named {other:?} (self, leader or store)"
                ))),
            }
        })
    }

    /// A watch of `key` (see `NativeWatch`).
    #[pyo3(signature = (key, recursive=false, after_index=None, idle_timeout=None,
        give_up_after=None))]
    fn watch(
        &self,
        py: Python<'_>,
        key: &str,
        recursive: bool,
        after_index: Option<u64>,
        idle_timeout: Option<f64>,
        give_up_after: Option<f64>,
    ) -> PyResult<NativeWatch> {
        let client = self.client(py)?;
        let mut w = client.watch(key);
        if recursive {
            w = w.recursive();
        }
        // Without an index: changes after now, the moment `watch()` returns (rsetcd would
        // start at the first poll, missing what a caller writes in between).
        let start = match after_index {
            Some(i) => i,
            None => {
                let client = client.clone();
                Self::run(py, async move {
                    match client.read(key).await {
                        Ok(r) => Ok(r.etcd_index),
                        Err(Error::Etcd {
                            code: EtcdCode::KeyNotFound,
                            index,
                            ..
                        }) => Ok(index),
                        Err(e) => Err(e),
                    }
                })?
            }
        };
        w = w.after_index(start);
        if let Some(t) = idle_timeout {
            w = w.idle_timeout(seconds("idle_timeout", t).py_err(py)?);
        }
        if let Some(t) = give_up_after {
            w = w.give_up_after(seconds("give_up_after", t).py_err(py)?);
        }
        NativeWatch::start(w.stream())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let endpoints = self.client(py)?.endpoints();
        Ok(match &self.username {
            Some(user) => format!("Core(endpoints={endpoints:?}, username={user:?})"),
            None => format!("Core(endpoints={endpoints:?})"),
        })
    }
}
