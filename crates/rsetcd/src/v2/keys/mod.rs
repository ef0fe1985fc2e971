//! Key operations and their option builders.
//!
//! Each operation of [`Client`] returns a builder; chain its options, then `.await` it (the builders
//! implement [`IntoFuture`]):
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v2::Client) -> rsetcd::Result<()> {
//! use std::time::Duration;
//! client.write("/lease", "held").ttl(Duration::from_secs(5)).await?;
//! client.compare_and_swap("/counter", "2").prev_value("1").prev_index(7).await?;
//! let listing = client.read("/dir").recursive().sorted().await?;
//! # Ok(()) }
//! ```
//!
//! Over the v3 backend ([`V2Backend`](super::V2Backend)) the same builders map their options
//! once to the engine's typed operation ([`over_v3::KeyOp`](super::over_v3::KeyOp),
//! [`WaitOp`](super::over_v3::WaitOp)), after the same checks; a call's
//! [`timeout`](Write::timeout) then bounds the whole v2 operation.

mod encode;
mod ops;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use super::client::Client;
use super::response::{self, Response};
use super::transport::{Body, Method, Request, Retry, Timeout};
use crate::error::{Error, Result};
use encode::{ttl_secs, Pairs};

pub use encode::encode_key;
pub(crate) use encode::push_key;

/// The boxed future the builders turn into.
pub type ResponseFuture<'a> = Pin<Box<dyn Future<Output = Result<Response>> + Send + 'a>>;

/// Sends a request a builder made and decodes etcd's answer. The builder is not kept in the
/// future: only what the request needs is, which keeps the future small to allocate and move.
fn call(client: &Client, req: Result<Request>) -> ResponseFuture<'_> {
    Box::pin(async move {
        let req = req?;
        response::keys(client.transport().send(&req).await?)
    })
}

/// A write: `write`, `create`, `update`, `compare_and_swap`, `mkdir`, `update_ttl` and
/// `create_in_order` all build one.
#[derive(Debug, Clone)]
#[must_use = "a write does nothing until it is awaited"]
pub struct Write<'a> {
    client: &'a Client,
    key: String,
    value: Option<String>,
    ttl: Option<Duration>,
    dir: bool,
    prev_value: Option<String>,
    prev_index: Option<u64>,
    prev_exist: Option<bool>,
    refresh: bool,
    in_order: bool,
    conditional: bool,
    retry_unknown: bool,
    timeout: Option<Duration>,
}

impl<'a> Write<'a> {
    pub(crate) fn new(client: &'a Client, key: &str, value: Option<String>) -> Write<'a> {
        Write {
            client,
            key: key.to_string(),
            value,
            ttl: None,
            dir: false,
            prev_value: None,
            prev_index: None,
            prev_exist: None,
            refresh: false,
            in_order: false,
            conditional: false,
            retry_unknown: false,
            timeout: None,
        }
    }

    pub(crate) fn conditional(mut self) -> Self {
        self.conditional = true;
        self
    }

    pub(crate) fn directory(mut self) -> Self {
        self.dir = true;
        self
    }

    pub(crate) fn refreshing(mut self) -> Self {
        self.refresh = true;
        self.prev_exist = Some(true);
        self
    }

    pub(crate) fn in_order(mut self) -> Self {
        self.in_order = true;
        self
    }

    /// The node expires after this long (whole seconds, rounded up). A write without a TTL removes
    /// any TTL the node had.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Only if the current value is this (compare-and-swap). Must not be empty: etcd cannot compare
    /// with an empty value.
    pub fn prev_value(mut self, value: impl Into<String>) -> Self {
        self.prev_value = Some(value.into());
        self
    }

    /// Only if the node's `modifiedIndex` is this (compare-and-swap). Must not be 0.
    pub fn prev_index(mut self, index: u64) -> Self {
        self.prev_index = Some(index);
        self
    }

    /// Only if the key exists (`true`) or does not exist yet (`false`).
    pub fn prev_exist(mut self, exists: bool) -> Self {
        self.prev_exist = Some(exists);
        self
    }

    /// If the outcome is unknown (the connection died after sending), send it again to the next
    /// endpoint instead of returning [`Error::OutcomeUnknown`]. Only for writes that are safe to
    /// apply twice.
    pub fn retry_unknown_outcome(mut self) -> Self {
        self.retry_unknown = true;
        self
    }

    /// A timeout for this call on each endpoint, instead of the client's request timeout (over
    /// v3: for the whole v2 operation; see [`V2Backend`](super::V2Backend)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// What the client refuses before sending anything (either backend).
    fn check(&self) -> Result<()> {
        if self.conditional
            && self.prev_value.is_none()
            && self.prev_index.is_none()
            && self.prev_exist.is_none()
        {
            return Err(Error::InvalidArgument(format!(
                "compare_and_swap on {:?} needs prev_value, prev_index or prev_exist",
                self.key
            )));
        }
        if self.prev_value.as_deref() == Some("") {
            return Err(Error::InvalidArgument(
                "prev_value must not be empty: etcd cannot compare with an empty value".into(),
            ));
        }
        if self.prev_index == Some(0) {
            return Err(Error::InvalidArgument(
                "prev_index 0 means \"no condition\" to etcd: give the node's modifiedIndex".into(),
            ));
        }
        if self.refresh && self.ttl.is_none() {
            return Err(Error::InvalidArgument("a TTL refresh needs a ttl".into()));
        }
        Ok(())
    }

    fn request(&self) -> Result<Request> {
        self.check()?;
        let path = self.client.key_path(&self.key)?;
        // Room for the values unescaped and the field names, so the form is built without regrowing.
        let values = [&self.value, &self.prev_value].map(|v| v.as_ref().map_or(0, String::len));
        let mut body = String::with_capacity(values.iter().sum::<usize>() + 64);
        let mut form = Pairs::new(&mut body, "");
        if let Some(v) = &self.value {
            form.text("value", v);
        }
        if let Some(ttl) = self.ttl {
            form.number("ttl", ttl_secs(ttl));
        }
        form.flag("dir", self.dir);
        if let Some(v) = &self.prev_value {
            form.text("prevValue", v);
        }
        if let Some(i) = self.prev_index {
            form.number("prevIndex", i);
        }
        if let Some(e) = self.prev_exist {
            form.text("prevExist", if e { "true" } else { "false" });
        }
        form.flag("refresh", self.refresh);
        let method = if self.in_order {
            Method::Post
        } else {
            Method::Put
        };
        Ok(Request::new(method, path, Retry::write(self.retry_unknown))
            .body(Body::Form(body))
            .timeout(self.timeout.map_or(Timeout::Default, Timeout::After)))
    }

    /// Sends the write.
    pub fn send(self) -> ResponseFuture<'a> {
        ops::dispatch(self)
    }
}

impl<'a> IntoFuture for Write<'a> {
    type Output = Result<Response>;
    type IntoFuture = ResponseFuture<'a>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// A read (`read`), optionally a one-shot watch (`.wait()`).
#[derive(Debug, Clone)]
#[must_use = "a read does nothing until it is awaited"]
pub struct Read<'a> {
    client: &'a Client,
    key: String,
    recursive: bool,
    sorted: bool,
    quorum: bool,
    wait: bool,
    wait_index: Option<u64>,
    timeout: Option<Duration>,
}

impl<'a> Read<'a> {
    pub(crate) fn new(client: &'a Client, key: &str) -> Read<'a> {
        Read {
            client,
            key: key.to_string(),
            recursive: false,
            sorted: false,
            quorum: false,
            wait: false,
            wait_index: None,
            timeout: None,
        }
    }

    /// List a directory's whole subtree (or, with `wait`, watch it).
    pub fn recursive(mut self) -> Self {
        self.recursive = true;
        self
    }

    /// Sort the children of a listing by key (etcd's order is random otherwise).
    pub fn sorted(mut self) -> Self {
        self.sorted = true;
        self
    }

    /// A linearizable read through raft (needs a quorum).
    pub fn quorum(mut self) -> Self {
        self.quorum = true;
        self
    }

    /// Wait for the next change instead of reading (pyetcd's `wait=True`). Without a
    /// [`timeout`](Read::timeout) this waits as long as it takes; for a stream of changes use
    /// [`Client::watch`].
    pub fn wait(mut self) -> Self {
        self.wait = true;
        self
    }

    /// With `wait`: the first index to report (an older event still in etcd's history comes back at
    /// once). Implies `wait`.
    pub fn wait_index(mut self, index: u64) -> Self {
        self.wait = true;
        self.wait_index = Some(index);
        self
    }

    /// A timeout for this call on each endpoint (over v3: for the whole read or wait), instead of
    /// the client's request timeout (or, with
    /// `wait`, instead of waiting for ever).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn request(&self) -> Result<Request> {
        let mut path = self.client.key_path(&self.key)?;
        let mut query = Pairs::new(&mut path, "?");
        query.flag("recursive", self.recursive);
        query.flag("sorted", self.sorted);
        query.flag("quorum", self.quorum);
        query.flag("wait", self.wait);
        if let Some(i) = self.wait_index {
            query.number("waitIndex", i);
        }
        let timeout = match (self.timeout, self.wait) {
            (Some(t), _) => Timeout::After(t),
            (None, true) => Timeout::Never,
            (None, false) => Timeout::Default,
        };
        Ok(Request::new(Method::Get, path, Retry::Read).timeout(timeout))
    }

    /// Sends the read.
    pub fn send(self) -> ResponseFuture<'a> {
        ops::dispatch(self)
    }
}

impl<'a> IntoFuture for Read<'a> {
    type Output = Result<Response>;
    type IntoFuture = ResponseFuture<'a>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

/// A delete: `delete`, `rmdir` and `compare_and_delete` build one.
#[derive(Debug, Clone)]
#[must_use = "a delete does nothing until it is awaited"]
pub struct Delete<'a> {
    client: &'a Client,
    key: String,
    dir: bool,
    recursive: bool,
    prev_value: Option<String>,
    prev_index: Option<u64>,
    conditional: bool,
    retry_unknown: bool,
    timeout: Option<Duration>,
}

impl<'a> Delete<'a> {
    pub(crate) fn new(client: &'a Client, key: &str) -> Delete<'a> {
        Delete {
            client,
            key: key.to_string(),
            dir: false,
            recursive: false,
            prev_value: None,
            prev_index: None,
            conditional: false,
            retry_unknown: false,
            timeout: None,
        }
    }

    pub(crate) fn conditional(mut self) -> Self {
        self.conditional = true;
        self
    }

    /// Delete an (empty) directory too.
    pub fn dir(mut self) -> Self {
        self.dir = true;
        self
    }

    /// Delete a directory with everything below it.
    pub fn recursive(mut self) -> Self {
        self.recursive = true;
        self
    }

    /// Only if the current value is this (compare-and-delete). Must not be empty.
    pub fn prev_value(mut self, value: impl Into<String>) -> Self {
        self.prev_value = Some(value.into());
        self
    }

    /// Only if the node's `modifiedIndex` is this (compare-and-delete). Must not be 0.
    pub fn prev_index(mut self, index: u64) -> Self {
        self.prev_index = Some(index);
        self
    }

    /// If the outcome is unknown, send it again to the next endpoint instead of returning
    /// [`Error::OutcomeUnknown`].
    pub fn retry_unknown_outcome(mut self) -> Self {
        self.retry_unknown = true;
        self
    }

    /// A timeout for this call on each endpoint, instead of the client's request timeout (over
    /// v3: for the whole v2 operation; see [`V2Backend`](super::V2Backend)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// What the client refuses before sending anything (either backend).
    fn check(&self) -> Result<()> {
        if self.conditional && self.prev_value.is_none() && self.prev_index.is_none() {
            return Err(Error::InvalidArgument(format!(
                "compare_and_delete on {:?} needs prev_value or prev_index",
                self.key
            )));
        }
        if self.prev_value.as_deref() == Some("") {
            return Err(Error::InvalidArgument(
                "prev_value must not be empty: etcd cannot compare with an empty value".into(),
            ));
        }
        if self.prev_index == Some(0) {
            return Err(Error::InvalidArgument(
                "prev_index 0 means \"no condition\" to etcd: give the node's modifiedIndex".into(),
            ));
        }
        Ok(())
    }

    fn request(&self) -> Result<Request> {
        self.check()?;
        let mut path = self.client.key_path(&self.key)?;
        let mut query = Pairs::new(&mut path, "?");
        query.flag("dir", self.dir);
        query.flag("recursive", self.recursive);
        if let Some(v) = &self.prev_value {
            query.text("prevValue", v);
        }
        if let Some(i) = self.prev_index {
            query.number("prevIndex", i);
        }
        Ok(
            Request::new(Method::Delete, path, Retry::write(self.retry_unknown))
                .timeout(self.timeout.map_or(Timeout::Default, Timeout::After)),
        )
    }

    /// Sends the delete.
    pub fn send(self) -> ResponseFuture<'a> {
        ops::dispatch(self)
    }
}

impl<'a> IntoFuture for Delete<'a> {
    type Output = Result<Response>;
    type IntoFuture = ResponseFuture<'a>;
    fn into_future(self) -> Self::IntoFuture {
        self.send()
    }
}

#[cfg(test)]
mod future_size {
    /// Every call allocates its future and moves it: rare paths left inline (connecting with
    /// TLS, reading a TLS alert) once made a read's future 4.4 KiB.
    #[test]
    fn request_futures_stay_small() {
        let client = crate::v2::Client::builder()
            .endpoints(["http://127.0.0.1:1"])
            .build()
            .unwrap();
        let read = std::mem::size_of_val(&*client.read("/k").send());
        let write = std::mem::size_of_val(&*client.write("/k", "v").send());
        // Under 1 KiB also keeps them in glibc's per-thread cache of freed blocks (up to 1032
        // bytes): a larger block takes malloc's slow path on every call.
        assert!(
            read <= 1024 && write <= 1024,
            "read {read} B, write {write} B"
        );
    }
}
