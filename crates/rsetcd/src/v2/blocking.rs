//! The blocking face: the same operations as [`super::Client`], without async.
//!
//! Options are chained as with the async client; `.send()` runs the call and waits for it.
//!
//! ```no_run
//! let client = rsetcd::v2::blocking::Client::new()?;
//! client.write("/message", "Hello world").send()?;
//! let answer = client.read("/message").send()?;
//! println!("{}", answer.node.value_str());
//! # Ok::<(), rsetcd::Error>(())
//! ```
//!
//! The builder's [`v2_backend`](crate::ClientBuilder::v2_backend) applies here too: the same calls
//! over the v3 API.
//!
//! Cluster operations (`members`, `health`, …) and the auth API ([`Client::auth`]) have blocking
//! twins too; any other async call runs with [`Client::block_on`]:
//! `client.block_on(client.as_async().self_stats())`.
//!
//! The blocking client owns a small tokio runtime (one worker thread) that drives its connections.
//! Called from a plain thread, a call runs on that runtime and blocks the thread. Called from
//! *inside* an async runtime (where blocking would stall other tasks and where tokio forbids nested
//! `block_on`), it does not panic: the call runs on a short-lived helper thread and still blocks the
//! caller. Prefer the async [`super::Client`] in async code.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use super::auth::{Access, Role, User};
use super::keys;
use super::response::Response;
use crate::config::{sealed, ClientBuilder, Config, FromConfig};
use crate::error::{Error, Result};

/// Owns the runtime and shuts it down without blocking, so a client can be dropped anywhere
/// (also inside an async context, where dropping a runtime the usual way panics).
#[derive(Debug)]
struct OwnedRuntime(Option<Runtime>);

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

impl OwnedRuntime {
    fn run<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        let Some(rt) = self.0.as_ref() else {
            unreachable!("the runtime lives as long as the client")
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| match s.spawn(|| rt.block_on(fut)).join() {
                Ok(out) => out,
                Err(panic) => std::panic::resume_unwind(panic),
            })
        } else {
            rt.block_on(fut)
        }
    }
}

/// A blocking etcd v2 client. Cheap to clone; clones share the connections.
#[derive(Clone, Debug)]
pub struct Client {
    inner: super::Client,
    rt: Arc<OwnedRuntime>,
}

impl sealed::Sealed for Client {}

impl FromConfig for Client {
    fn from_config(config: Config) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("rsetcd-blocking")
            .enable_all()
            .build()
            .map_err(|e| {
                Error::Config(format!("cannot start the blocking client's runtime: {e}"))
            })?;
        let inner = super::Client::with_runtime(config, Some(rt.handle()))?;
        Ok(Client {
            inner,
            rt: Arc::new(OwnedRuntime(Some(rt))),
        })
    }
}

macro_rules! blocking_builder {
    ($(#[$doc:meta])* $name:ident wraps $inner:ident { $( fn $opt:ident($($arg:ident : $ty:ty),*); )* }) => {
        $(#[$doc])*
        #[derive(Debug)]
        #[must_use = "nothing happens until .send() is called"]
        pub struct $name<'a> {
            op: keys::$inner<'a>,
            rt: &'a OwnedRuntime,
        }

        impl<'a> $name<'a> {
            $(
                #[doc = concat!("See [`", stringify!($inner), "::", stringify!($opt), "`](keys::", stringify!($inner), "::", stringify!($opt), ").")]
                pub fn $opt(self, $($arg: $ty),*) -> Self {
                    $name { op: self.op.$opt($($arg),*), rt: self.rt }
                }
            )*

            /// Runs the call and waits for its answer.
            pub fn send(self) -> Result<Response> {
                self.rt.run(self.op.send())
            }
        }
    };
}

blocking_builder! {
    /// A blocking write; see [`keys::Write`].
    Write wraps Write {
        fn ttl(ttl: Duration);
        fn prev_value(value: impl Into<String>);
        fn prev_index(index: u64);
        fn prev_exist(exists: bool);
        fn retry_unknown_outcome();
        fn timeout(timeout: Duration);
    }
}

blocking_builder! {
    /// A blocking read; see [`keys::Read`].
    Read wraps Read {
        fn recursive();
        fn sorted();
        fn quorum();
        fn wait();
        fn wait_index(index: u64);
        fn timeout(timeout: Duration);
    }
}

blocking_builder! {
    /// A blocking delete; see [`keys::Delete`].
    Delete wraps Delete {
        fn dir();
        fn recursive();
        fn prev_value(value: impl Into<String>);
        fn prev_index(index: u64);
        fn retry_unknown_outcome();
        fn timeout(timeout: Duration);
    }
}

impl Client {
    /// A client for `http://127.0.0.1:2379` with the default settings.
    pub fn new() -> Result<Client> {
        Client::builder().build()
    }

    /// A builder for every setting, as for the async client.
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::new()
    }

    /// The async client inside, sharing the same connections.
    pub fn as_async(&self) -> &super::Client {
        &self.inner
    }

    /// Runs any future of the async client on this client's runtime and waits for it (for the
    /// operations that have no blocking wrapper of their own).
    pub fn block_on<F>(&self, fut: F) -> F::Output
    where
        F: Future + Send,
        F::Output: Send,
    {
        self.rt.run(fut)
    }

    /// See [`super::Client::write`].
    pub fn write(&self, key: &str, value: impl Into<String>) -> Write<'_> {
        Write {
            op: self.inner.write(key, value),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::create`].
    pub fn create(&self, key: &str, value: impl Into<String>) -> Write<'_> {
        Write {
            op: self.inner.create(key, value),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::update`].
    pub fn update(&self, key: &str, value: impl Into<String>) -> Write<'_> {
        Write {
            op: self.inner.update(key, value),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::compare_and_swap`].
    pub fn compare_and_swap(&self, key: &str, value: impl Into<String>) -> Write<'_> {
        Write {
            op: self.inner.compare_and_swap(key, value),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::update_ttl`].
    pub fn update_ttl(&self, key: &str, ttl: Duration) -> Write<'_> {
        Write {
            op: self.inner.update_ttl(key, ttl),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::mkdir`].
    pub fn mkdir(&self, key: &str) -> Write<'_> {
        Write {
            op: self.inner.mkdir(key),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::set_dir`].
    pub fn set_dir(&self, key: &str) -> Write<'_> {
        Write {
            op: self.inner.set_dir(key),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::update_dir`].
    pub fn update_dir(&self, key: &str) -> Write<'_> {
        Write {
            op: self.inner.update_dir(key),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::create_in_order`].
    pub fn create_in_order(&self, dir: &str, value: impl Into<String>) -> Write<'_> {
        Write {
            op: self.inner.create_in_order(dir, value),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::read`].
    pub fn read(&self, key: &str) -> Read<'_> {
        Read {
            op: self.inner.read(key),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::delete`].
    pub fn delete(&self, key: &str) -> Delete<'_> {
        Delete {
            op: self.inner.delete(key),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::rmdir`].
    pub fn rmdir(&self, key: &str) -> Delete<'_> {
        Delete {
            op: self.inner.rmdir(key),
            rt: &self.rt,
        }
    }

    /// See [`super::Client::compare_and_delete`].
    pub fn compare_and_delete(&self, key: &str) -> Delete<'_> {
        Delete {
            op: self.inner.compare_and_delete(key),
            rt: &self.rt,
        }
    }
}

/// A blocking watch being configured: `client.watch(key)…iter()`.
#[derive(Debug)]
#[must_use = "a watch does nothing until .iter() is consumed"]
pub struct Watch<'a> {
    watch: super::Watch,
    rt: &'a OwnedRuntime,
}

impl<'a> Watch<'a> {
    /// See [`super::Watch::recursive`].
    pub fn recursive(self) -> Self {
        Watch {
            watch: self.watch.recursive(),
            rt: self.rt,
        }
    }

    /// See [`super::Watch::after_index`].
    pub fn after_index(self, index: u64) -> Self {
        Watch {
            watch: self.watch.after_index(index),
            rt: self.rt,
        }
    }

    /// See [`super::Watch::idle_timeout`].
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        Watch {
            watch: self.watch.idle_timeout(timeout),
            rt: self.rt,
        }
    }

    /// See [`super::Watch::give_up_after`].
    pub fn give_up_after(self, bound: Duration) -> Self {
        Watch {
            watch: self.watch.give_up_after(bound),
            rt: self.rt,
        }
    }

    /// The events, one blocking `next()` at a time; the iterator ends after a final error.
    pub fn iter(self) -> WatchIter<'a> {
        WatchIter {
            stream: self.watch.stream(),
            rt: self.rt,
        }
    }
}

/// The blocking iterator over a watch's events (see [`super::watch`] for the guarantees).
#[derive(Debug)]
pub struct WatchIter<'a> {
    stream: super::WatchStream,
    rt: &'a OwnedRuntime,
}

impl Iterator for WatchIter<'_> {
    type Item = Result<super::WatchEvent>;
    fn next(&mut self) -> Option<Self::Item> {
        use futures_util::StreamExt;
        let stream = &mut self.stream;
        self.rt.run(stream.next())
    }
}

impl Client {
    /// See [`super::Client::watch`]; `.iter()` gives a blocking iterator of events.
    pub fn watch(&self, key: &str) -> Watch<'_> {
        Watch {
            watch: self.inner.watch(key),
            rt: &self.rt,
        }
    }
}

macro_rules! blocking_calls {
    ($( fn $name:ident($($arg:ident : $ty:ty),*) -> $out:ty; )*) => {
        impl Client {
            $(
                #[doc = concat!("See [`", stringify!($name), "`](super::Client::", stringify!($name), ").")]
                pub fn $name(&self, $($arg: $ty),*) -> Result<$out> {
                    self.rt.run(self.inner.$name($($arg),*))
                }
            )*
        }
    };
}

blocking_calls! {
    fn members() -> Vec<super::Member>;
    fn add_member(peer_urls: Vec<String>) -> super::Member;
    fn update_member(id: super::MemberId, peer_urls: Vec<String>) -> ();
    fn remove_member(id: super::MemberId) -> ();
    fn leader() -> super::Member;
    fn health() -> bool;
    fn version() -> super::Version;
    fn version_server() -> String;
    fn version_cluster() -> String;
    fn metrics() -> String;
    fn self_stats() -> super::stats::SelfStats;
    fn leader_stats() -> super::stats::LeaderStats;
    fn store_stats() -> super::stats::StoreStats;
    fn sync_members() -> Vec<String>;
}

/// The blocking auth API: `client.auth()`; see [`super::auth`].
#[derive(Clone, Copy, Debug)]
pub struct Auth<'a> {
    inner: super::auth::Auth<'a>,
    rt: &'a OwnedRuntime,
}

impl Client {
    /// The auth API (users, roles, enable / disable), blocking.
    pub fn auth(&self) -> Auth<'_> {
        Auth {
            inner: self.inner.auth(),
            rt: &self.rt,
        }
    }
}

macro_rules! blocking_auth {
    ($( fn $name:ident($($arg:ident : $ty:ty),*) -> $out:ty; )*) => {
        impl Auth<'_> {
            $(
                #[doc = concat!("See [`Auth::", stringify!($name), "`](super::auth::Auth::", stringify!($name), ").")]
                pub fn $name(&self, $($arg: $ty),*) -> Result<$out> {
                    self.rt.run(self.inner.$name($($arg),*))
                }
            )*
        }
    };
}

blocking_auth! {
    fn status() -> bool;
    fn enable() -> ();
    fn disable() -> ();
    fn users() -> Vec<String>;
    fn user(name: &str) -> User;
    fn add_user(name: &str, password: &str) -> User;
    fn change_password(name: &str, password: &str) -> User;
    fn delete_user(name: &str) -> ();
    fn roles() -> Vec<Role>;
    fn role(name: &str) -> Role;
    fn add_role(name: &str) -> Role;
    fn delete_role(name: &str) -> ();
}

fn names<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}

impl Auth<'_> {
    /// See [`Auth::add_user_with_roles`](super::auth::Auth::add_user_with_roles).
    pub fn add_user_with_roles<I, S>(&self, name: &str, password: &str, roles: I) -> Result<User>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let roles = names(roles);
        self.rt
            .run(self.inner.add_user_with_roles(name, password, roles))
    }

    /// See [`Auth::grant_roles`](super::auth::Auth::grant_roles).
    pub fn grant_roles<I, S>(&self, name: &str, roles: I) -> Result<User>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rt.run(self.inner.grant_roles(name, names(roles)))
    }

    /// See [`Auth::revoke_roles`](super::auth::Auth::revoke_roles).
    pub fn revoke_roles<I, S>(&self, name: &str, roles: I) -> Result<User>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.rt.run(self.inner.revoke_roles(name, names(roles)))
    }

    /// See [`Auth::grant_permissions`](super::auth::Auth::grant_permissions).
    pub fn grant_permissions<I, S>(&self, role: &str, access: Access, patterns: I) -> Result<Role>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let patterns = names(patterns);
        self.rt
            .run(self.inner.grant_permissions(role, access, patterns))
    }

    /// See [`Auth::revoke_permissions`](super::auth::Auth::revoke_permissions).
    pub fn revoke_permissions<I, S>(&self, role: &str, access: Access, patterns: I) -> Result<Role>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let patterns = names(patterns);
        self.rt
            .run(self.inner.revoke_permissions(role, access, patterns))
    }
}
