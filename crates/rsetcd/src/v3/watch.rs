//! Watches: every watch of a client shares one gRPC stream (see `hub`), resumes by itself on
//! another endpoint when a connection or member dies, from its last revision + 1 (no gap, no
//! duplicate), and reports a compacted start as a typed [`WatchItem::Compacted`].
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
//! use rsetcd::v3::WatchItem;
//! let mut watch = client.watch("/config/").prefix().prev_kv().await?;
//! while let Some(item) = watch.next().await {
//!     match item? {
//!         WatchItem::Events { events, .. } => {
//!             for event in events {
//!                 let kind = if event.is_delete() { "DELETE" } else { "PUT" };
//!                 println!("{kind} {} = {}", event.key_str(), event.value_str());
//!             }
//!         }
//!         WatchItem::Progress { revision } => println!("nothing new up to {revision}"),
//!         WatchItem::Compacted { compact_revision } => {
//!             println!("history lost up to {compact_revision}: read the keys again");
//!             break;
//!         }
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use std::time::Duration;

use super::client::Client;
use super::hub::Command;
use super::kv::BoxFuture;
use super::proto::etcdserverpb::watch_create_request::FilterType;
use super::proto::etcdserverpb::WatchCreateRequest;
use super::proto::mvccpb::Event;
use super::range::{bytes, range_options, KeyRange};
use crate::error::{Error, Result};
use crate::retry::outage::DEFAULT_GIVE_UP;

/// What a watch yields.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WatchItem {
    /// Changes, in revision order (several when one transaction changed several keys).
    Events {
        /// The store's revision when etcd sent them.
        revision: i64,
        /// The changes.
        events: Vec<Event>,
    },
    /// Nothing changed in the watched range up to `revision` (asked for with
    /// [`progress_notify`](WatchBuilder::progress_notify) or [`Watch::request_progress`]).
    Progress {
        /// The store's revision.
        revision: i64,
    },
    /// The history the watch needed was compacted away (its start, or where it had to resume):
    /// the watch ends here. Read the keys again, then watch from the revision of that read + 1.
    Compacted {
        /// The revision the history was compacted to.
        compact_revision: i64,
    },
}

/// `client.watch(key)`: chain options, then `.await` to get a [`Watch`] once etcd has created it.
#[derive(Debug)]
#[must_use = "a watch does nothing until awaited"]
pub struct WatchBuilder<'a> {
    client: &'a Client,
    req: WatchCreateRequest,
    give_up: Duration,
    buffer: usize,
}

/// How many unread items a watch holds by default (see [`WatchBuilder::buffer`]).
pub const DEFAULT_WATCH_BUFFER: usize = 256;

impl KeyRange for WatchBuilder<'_> {
    fn key_range(&mut self) -> (&mut bytes::Bytes, &mut bytes::Bytes) {
        (&mut self.req.key, &mut self.req.range_end)
    }
}

impl WatchBuilder<'_> {
    range_options!("Watches every key");

    /// Starts at `revision` (included), replaying the history from there; by default the
    /// watch starts after the current revision.
    pub fn start_revision(mut self, revision: i64) -> Self {
        self.req.start_revision = revision;
        self
    }

    /// Each event also carries the key-value pair before it (`prev_kv`).
    pub fn prev_kv(mut self) -> Self {
        self.req.prev_kv = true;
        self
    }

    /// etcd sends a [`WatchItem::Progress`] now and then (every 10 minutes by default) when
    /// nothing changed.
    pub fn progress_notify(mut self) -> Self {
        self.req.progress_notify = true;
        self
    }

    /// Leaves out put events.
    pub fn no_put(mut self) -> Self {
        self.req.filters.push(FilterType::Noput as i32);
        self
    }

    /// Leaves out delete events.
    pub fn no_delete(mut self) -> Self {
        self.req.filters.push(FilterType::Nodelete as i32);
        self
    }

    /// How long the watch keeps retrying while no endpoint serves it, counted from the first
    /// failure in a row, before it yields that failure and ends (default 30 s, as the v2
    /// watch's [`give_up_after`](crate::v2::Watch::give_up_after)).
    pub fn give_up_after(mut self, bound: Duration) -> Self {
        self.give_up = bound;
        self
    }

    /// How many items may wait unread (default [`DEFAULT_WATCH_BUFFER`], at least 2). When
    /// they are all unread, the watch pauses on the server until half of them have been read,
    /// then resumes where it stopped: nothing is lost or repeated (see [`Watch`]).
    pub fn buffer(mut self, items: usize) -> Self {
        self.buffer = items.max(2);
        self
    }
}

impl<'a> IntoFuture for WatchBuilder<'a> {
    type Output = Result<Watch>;
    type IntoFuture = BoxFuture<'a, Watch>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let hub = self.client.hub();
            let (items_tx, items) = mpsc::channel(self.buffer);
            let (created_tx, created) = oneshot::channel();
            let id = hub.next_id();
            let commands = hub.commands();
            let mut watch = Watch {
                id,
                revision: 0,
                items,
                commands: commands.clone(),
            };
            commands
                .send(Command::Create {
                    id,
                    req: self.req,
                    items: items_tx,
                    created: created_tx,
                    give_up: self.give_up,
                })
                .map_err(|_| stopped())?;
            // The hub answers once the watch is created, or fails it with the round's error when
            // no endpoint took the stream; this bound only guards against a hub that cannot
            // answer (its stream frozen): a whole round's worth of attempts.
            let config = &self.client.core.config;
            let tries = self.client.endpoints().len().max(1) as u32;
            let limit = config
                .total_timeout
                .unwrap_or(config.request_timeout * tries + config.connect_timeout);
            // On a timeout or an error, dropping `watch` cancels it in the hub.
            let revision = match tokio::time::timeout(limit, created).await {
                Ok(Ok(answer)) => answer?,
                Ok(Err(_)) => return Err(stopped()),
                Err(_) => {
                    return Err(Error::Timeout {
                        endpoint: self.client.endpoints().join(", "),
                        after: limit,
                    })
                }
            };
            watch.revision = revision;
            Ok(watch)
        })
    }
}

fn stopped() -> Error {
    Error::Stopped("the watch task ended (its tokio runtime shut down)".into())
}

/// A watch: a stream of [`WatchItem`]s (use [`next`](Watch::next), or `futures`' `StreamExt`).
/// Dropping it cancels the watch on the server.
///
/// An `Err` item (for example [`V3ErrorKind::PermissionDenied`](super::V3ErrorKind)) ends the
/// watch; so does [`WatchItem::Compacted`]. A broken connection does not: the watch resumes
/// on another endpoint by itself.
///
/// - **Outages.** While no endpoint serves the stream, watches wait and retry; once the
///   give-up bound ([`WatchBuilder::give_up_after`], 30 s by default as for the v2 watch)
///   has passed since the first failure in a row, each watch yields that failure
///   ([`Error::Connect`] for one endpoint, [`Error::NoMoreHosts`] listing each) and ends.
/// - **Slow consumers.** Each watch holds at most [`WatchBuilder::buffer`] unread items (256
///   by default), so a watch nobody reads does not grow memory. A watch whose buffer is full
///   is cancelled on the server while the others go on; once half of its buffer has been read,
///   it is created again from the revision after the last one it delivered, so its consumer
///   still sees every change exactly once, in order. The price: while it lags, etcd replays
///   the missed history from its store, and if that history has been compacted meanwhile the
///   watch ends with [`WatchItem::Compacted`], as after any resume. Progress items that do not
///   fit are dropped (they carry no change).
///
#[derive(Debug)]
pub struct Watch {
    id: i64,
    revision: i64,
    items: mpsc::Receiver<Result<WatchItem>>,
    commands: mpsc::UnboundedSender<Command>,
}

impl Watch {
    /// The next item; `None` once the watch has ended.
    pub async fn next(&mut self) -> Option<Result<WatchItem>> {
        self.items.recv().await
    }

    /// The watch's ID on the stream.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// How many items have arrived and wait to be read (never more than the
    /// [buffer](WatchBuilder::buffer)).
    pub fn buffered(&self) -> usize {
        self.items.len()
    }

    /// The store's revision when etcd created the watch.
    pub fn created_revision(&self) -> i64 {
        self.revision
    }

    /// Asks etcd for a [`WatchItem::Progress`] with the current revision (sent to every watch
    /// of this client).
    pub fn request_progress(&self) {
        let _ = self.commands.send(Command::Progress);
    }

    /// Cancels the watch (the same as dropping it).
    pub fn cancel(self) {}
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Cancel { id: self.id });
    }
}

impl futures_core::Stream for Watch {
    type Item = Result<WatchItem>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.items.poll_recv(cx)
    }
}

impl Client {
    /// Watches `key` (or, with options, a prefix or a range) for changes.
    pub fn watch(&self, key: impl AsRef<[u8]>) -> WatchBuilder<'_> {
        WatchBuilder {
            client: self,
            req: WatchCreateRequest {
                key: bytes(key),
                ..Default::default()
            },
            give_up: DEFAULT_GIVE_UP,
            buffer: DEFAULT_WATCH_BUFFER,
        }
    }
}
