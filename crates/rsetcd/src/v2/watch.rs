//! Watching a key or directory: a stream of changes that never misses or repeats one.
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v2::Client) -> rsetcd::Result<()> {
//! use futures_util::StreamExt;
//! use rsetcd::v2::WatchEvent;
//!
//! let mut events = client.watch("/config").recursive().stream();
//! while let Some(item) = events.next().await {
//!     match item? {
//!         WatchEvent::Event(change) => println!("{} {}", change.action, change.node.key),
//!         WatchEvent::Resynced { snapshot, index } => {
//!             println!("missed history; state at {index}: {snapshot:?}");
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Guarantees
//!
//! - Each long poll asks etcd for the first event at or after `waitIndex`; after an event the next
//!   poll starts at that event's `modifiedIndex + 1`, so no event is delivered twice and none is
//!   skipped, across polls, reconnects and endpoint failover.
//! - Only a completed long poll proves that nothing happened: a poll that etcd ends with a
//!   complete empty body is polled again from `max(waitIndex, X-Etcd-Index + 1)` (etcd answers at
//!   once with any older matching event, so none was there up to that index). A poll whose answer
//!   is cut (after its head, mid-body) or that stays silent for the idle timeout (default 60 s) is
//!   polled again from the **same** index: its lost or delayed body may have held an event. A
//!   quiet watch on a busy store therefore keeps its resume point until an event comes or the
//!   point leaves etcd's history window, which is a resync (below), never a silent gap.
//! - etcd keeps only the last 1,000 events (of all keys). When the next event a watch needs has left
//!   that window (error 401), the stream does not die and does not skip silently: it reads the
//!   current state and yields one [`WatchEvent::Resynced`] carrying it (`snapshot` is `None` if the key
//!   does not exist); events then continue from `index + 1`. Reconcile your state with the snapshot.
//! - When no endpoint answers for longer than the give-up bound (default 30 s, counting from the
//!   first failure in a row; an answer cut before it completes is a failure too), the stream
//!   yields that error and ends. Between failed polls it pauses, longer each time (50 ms to 2 s).
//!   Other errors (e.g. 110 Unauthorized) end it at once.
//! - Dropping the stream cancels its poll and closes its connection immediately.
//!
//! # Over v3
//!
//! With the v3 backend ([`V2Backend`](super::V2Backend)) the stream is one v3 watch
//! ([`Engine::watch`](super::over_v3::Engine::watch)) from the same starting index, with the
//! same items: events in index order, each once; on error 401 (the history was compacted
//! away) one [`WatchEvent::Resynced`] with the state read then, and a new watch from the index
//! after it. The v3 watch resumes on another endpoint by itself and gives up after the same
//! `give_up_after` bound; `idle_timeout` has no meaning there (a v3 watch is not polled).

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::transport::Method;
use futures_core::Stream;

#[cfg(feature = "v3")]
use super::backend::Route;
use super::client::Client;
#[cfg(feature = "v3")]
use super::over_v3::{Engine, Events, WaitOp};
use super::response::{self, Response};
use super::transport::{Raw, Request, Retry, Timeout};
use crate::error::{Error, EtcdCode, Result};
use crate::retry::outage::{transient, Outage};

/// One item of a watch stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)]
pub enum WatchEvent {
    /// A change: action, node and previous node as etcd reports them.
    Event(Response),
    /// The watch fell out of etcd's 1,000-event history: this is the state at `index` (`None` when
    /// the key does not exist). Events continue from `index + 1`.
    Resynced {
        /// A (recursive, for recursive watches) read of the key at `index`.
        snapshot: Option<Response>,
        /// The store index of the snapshot.
        index: u64,
    },
}

/// Where a watch starts.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// From the current state: changes after the index at which the watch starts.
    Current,
    /// The first event with an index greater than this.
    After(u64),
}

/// A watch being configured: [`Client::watch`]`(key)…stream()`.
#[derive(Debug, Clone)]
#[must_use = "a watch does nothing until .stream() is polled"]
pub struct Watch {
    client: Client,
    key: String,
    recursive: bool,
    start: Start,
    idle_timeout: Duration,
    give_up_after: Duration,
}

impl Client {
    /// Watches `key` (a key, or with `.recursive()` a directory's whole subtree) for changes.
    pub fn watch(&self, key: &str) -> Watch {
        Watch {
            client: self.clone(),
            key: key.to_string(),
            recursive: false,
            start: Start::Current,
            idle_timeout: Duration::from_secs(60),
            give_up_after: Duration::from_secs(30),
        }
    }
}

impl Watch {
    /// Watch the whole subtree of a directory.
    pub fn recursive(mut self) -> Self {
        self.recursive = true;
        self
    }

    /// Deliver every event with an index greater than `index` (still in etcd's history), then the
    /// new ones. Use the `etcd_index` of a read to watch exactly what follows it.
    pub fn after_index(mut self, index: u64) -> Self {
        self.start = Start::After(index);
        self
    }

    /// Start from the current state (the default): only changes after the store index at which the
    /// stream is first polled. To watch exactly what follows a read, use
    /// [`after_index`](Watch::after_index) with the read's `etcd_index` instead.
    pub fn from_current(mut self) -> Self {
        self.start = Start::Current;
        self
    }

    /// How long one long poll may stay silent before it is renewed (default 60 s).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long the stream keeps retrying while no endpoint answers before it yields the error
    /// and ends (default 30 s).
    pub fn give_up_after(mut self, bound: Duration) -> Self {
        self.give_up_after = bound;
        self
    }

    /// The stream of events. It is `'static`: keep it in a task, drop it to stop watching.
    pub fn stream(self) -> WatchStream {
        let next = match self.start {
            Start::Current => None,
            Start::After(i) => Some(i.saturating_add(1)),
        };
        let state = State {
            watch: self,
            next,
            outage: Outage::default(),
            #[cfg(feature = "v3")]
            events: None,
            done: false,
        };
        WatchStream {
            inner: Box::pin(futures_util::stream::unfold(state, step)),
        }
    }
}

/// The stream a [`Watch`] yields: [`WatchEvent`]s, or a final error.
#[must_use = "streams do nothing unless polled"]
pub struct WatchStream {
    inner: Pin<Box<dyn Stream<Item = Result<WatchEvent>> + Send>>,
}

impl std::fmt::Debug for WatchStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchStream").finish_non_exhaustive()
    }
}

impl Stream for WatchStream {
    type Item = Result<WatchEvent>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct State {
    watch: Watch,
    /// The next `waitIndex`; `None` until the starting index is known.
    next: Option<u64>,
    outage: Outage,
    /// Over v3: the engine's watch, from `next` on.
    #[cfg(feature = "v3")]
    events: Option<Events>,
    done: bool,
}

/// Why a poll failed: `Final` ends the stream at once (a v3 watch that already retried for
/// the give-up bound), `Retry` goes by the outage rules.
enum Failed {
    Retry(Error),
    #[cfg_attr(not(feature = "v3"), allow(dead_code))]
    Final(Error),
}

impl From<Error> for Failed {
    fn from(e: Error) -> Failed {
        Failed::Retry(e)
    }
}

async fn step(mut s: State) -> Option<(Result<WatchEvent>, State)> {
    if s.done {
        return None;
    }
    loop {
        let result = match s.next {
            None => s.start_index().await.map(|()| None).map_err(Failed::Retry),
            Some(index) => s.poll_either(index).await,
        };
        match result {
            Ok(outcome) => {
                s.outage.recovered();
                if let Some(item) = outcome {
                    return Some((Ok(item), s));
                }
            }
            Err(Failed::Final(e)) => {
                s.done = true;
                return Some((Err(e), s));
            }
            Err(Failed::Retry(e)) if transient(&e) => {
                s.outage.failed();
                if s.outage.past(s.watch.give_up_after) {
                    s.done = true;
                    return Some((Err(e), s));
                }
                tracing::debug!(error = %e, "watch poll failed; retrying");
                tokio::time::sleep(s.outage.pause(Some(s.watch.give_up_after))).await;
            }
            Err(Failed::Retry(e)) => {
                s.done = true;
                return Some((Err(e), s));
            }
        }
    }
}

impl State {
    /// Reads the key; returns the snapshot (if the key exists) and the store index of the read.
    async fn snapshot(&self) -> Result<(Option<Response>, u64)> {
        let mut read = self.watch.client.read(&self.watch.key);
        if self.watch.recursive {
            read = read.recursive();
        }
        match read.await {
            Ok(r) => {
                let index = r.etcd_index;
                Ok((Some(r), index))
            }
            Err(Error::Etcd {
                code: EtcdCode::KeyNotFound,
                index,
                ..
            }) => Ok((None, index)),
            Err(e) => Err(e),
        }
    }

    async fn start_index(&mut self) -> Result<()> {
        let (_, index) = self.snapshot().await?;
        self.next = Some(index + 1);
        Ok(())
    }

    /// The next item by the client's road: a long poll, or the engine's watch.
    async fn poll_either(&mut self, index: u64) -> Result<Option<WatchEvent>, Failed> {
        #[cfg(feature = "v3")]
        {
            let client = self.watch.client.clone();
            if let Route::V3(engine) = client.decide().await? {
                return self.poll_v3(engine, index).await;
            }
        }
        Ok(self.poll(index).await?)
    }

    /// The engine's watch's next event (opening it from `index` first): a failure to open is
    /// retried by the outage rules; one of the open watch ends the stream (the v3 watch has
    /// retried for the give-up bound already), error 401 is a resync.
    #[cfg(feature = "v3")]
    async fn poll_v3(&mut self, engine: &Engine, index: u64) -> Result<Option<WatchEvent>, Failed> {
        let events = match &mut self.events {
            Some(events) => events,
            None => {
                let mut op = WaitOp::wait(&self.watch.key).wait_index(index);
                op.recursive = self.watch.recursive;
                let opened = engine.watch_bounded(&op, self.watch.give_up_after).await?;
                self.events.insert(opened)
            }
        };
        let next = events.next().await;
        match next {
            Some(Ok(event)) => {
                self.next = Some(event.node.modified_index.max(index) + 1);
                Ok(Some(WatchEvent::Event(event)))
            }
            Some(Err(e)) if e.code() == Some(EtcdCode::EventIndexCleared) => {
                self.events = None;
                let (snapshot, index) = self.snapshot().await?;
                self.next = Some(index + 1);
                Ok(Some(WatchEvent::Resynced { snapshot, index }))
            }
            Some(Err(e)) => {
                self.events = None;
                Err(Failed::Final(e))
            }
            None => {
                self.events = None;
                Err(Failed::Final(Error::Stopped("the v3 watch ended".into())))
            }
        }
    }

    /// One long poll: `Some(item)` to yield, `None` to poll again, or why it failed (an answer
    /// cut before it completed is a failure: polled again from the same index).
    async fn poll(&mut self, index: u64) -> Result<Option<WatchEvent>> {
        let client = &self.watch.client;
        let mut path = client.key_path(&self.watch.key)?;
        path.push_str("?wait=true&waitIndex=");
        path.push_str(&index.to_string());
        if self.watch.recursive {
            path.push_str("&recursive=true");
        }
        let req = Request::new(Method::Get, path, Retry::Read).timeout(Timeout::Default);
        let opened = client.transport().open(&req).await?;
        let registered = opened.headers.etcd_index;
        if opened.status != 200 {
            let body = opened.body.collect().await.unwrap_or_default();
            let err = response::error_from(opened.status, &opened.endpoint, &body);
            if err.code() == Some(EtcdCode::EventIndexCleared) {
                let (snapshot, index) = self.snapshot().await?;
                self.next = Some(index + 1);
                return Ok(Some(WatchEvent::Resynced { snapshot, index }));
            }
            return Err(err);
        }
        let body = match tokio::time::timeout(self.watch.idle_timeout, opened.body.collect()).await
        {
            Ok(Ok(body)) => body,
            // The answer was cut (node down, EOF mid-body): its event may be lost with it.
            Ok(Err(e)) => return Err(Error::transport(&*opened.endpoint, e)),
            // Silent: nothing proves that no event was on its way.
            Err(_) => return Ok(None),
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            // etcd completed the poll without an event: none was in its history up to the index
            // at which it registered the watcher.
            self.next = Some(registered.map_or(index, |r| index.max(r + 1)));
            return Ok(None);
        }
        let raw = Raw {
            status: 200,
            headers: opened.headers,
            body,
            endpoint: opened.endpoint,
        };
        let event = response::keys(raw)?;
        self.next = Some(event.node.modified_index.max(index) + 1);
        Ok(Some(WatchEvent::Event(event)))
    }
}
