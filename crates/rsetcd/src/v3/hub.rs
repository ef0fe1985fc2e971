//! The watch multiplexer: one background task per client owns one bidirectional Watch stream,
//! creates every watch on it (one creation at a time, as etcd answers a refused creation
//! without its ID), routes answers to each watch's channel, and when the stream breaks opens a
//! new one on the next endpoint and re-creates every watch from its last revision + 1.
//!
//! Outages: while no endpoint takes the stream, the task retries with a growing pause; a watch
//! whose give-up bound has passed since the first failure in a row gets the round's error as its
//! last item and ends (see [`outage`](super::outage)).
//!
//! Slow consumers: each watch has a bounded channel, and the task never waits on one. When an
//! answer does not fit, the task cancels that watch on the server and drops the answer (it was
//! not delivered, so where the watch resumes does not move). A small task waits until half of
//! the channel is free again; the watch is then created anew, under a fresh ID on the stream (so
//! that late answers to the cancelled one are ignored), from its next revision: no gap, no
//! duplicate, and the other watches of the stream never wait. Every watch is created under a
//! fresh ID, and answers are routed by a map from IDs to watches.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::Streaming;

use super::core::{request, Core};
use super::proto::etcdserverpb::watch_client::WatchClient;
use super::proto::etcdserverpb::watch_request::RequestUnion;
use super::proto::etcdserverpb::{WatchCreateRequest, WatchRequest, WatchResponse};
use super::watch::WatchItem;
use crate::error::{Error, Result};
use crate::retry::outage::{transient, Outage};

mod route;

/// A watch's channel: bounded, filled by the hub without ever waiting.
pub(crate) type Items = mpsc::Sender<Result<WatchItem>>;

/// What a [`Watch`](super::Watch) asks of the hub.
#[derive(Debug)]
pub(crate) enum Command {
    Create {
        id: i64,
        req: WatchCreateRequest,
        items: Items,
        created: oneshot::Sender<Result<i64>>,
        give_up: Duration,
    },
    Cancel {
        id: i64,
    },
    Progress,
}

/// The client's handle on its watch task.
#[derive(Debug)]
pub(crate) struct Hub {
    commands: mpsc::UnboundedSender<Command>,
    ids: AtomicI64,
}

impl Hub {
    /// Spawns the task on the current tokio runtime.
    pub(crate) fn start(core: Arc<Core>) -> Hub {
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(core, rx));
        Hub {
            commands,
            ids: AtomicI64::new(1),
        }
    }

    pub(crate) fn next_id(&self) -> i64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn commands(&self) -> mpsc::UnboundedSender<Command> {
        self.commands.clone()
    }
}

struct Watcher {
    req: WatchCreateRequest,
    /// The first revision not delivered yet (0: "now", not known before etcd's answer).
    next_rev: i64,
    items: Items,
    created: Option<oneshot::Sender<Result<i64>>>,
    auth_retried: bool,
    give_up: Duration,
    /// Its ID on the current stream (0: not created there).
    wire: i64,
    /// Cancelled on the server because its consumer fell behind; created again once half of
    /// its channel is free.
    paused: bool,
}

impl Watcher {
    fn create_request(&self, wire: i64) -> WatchRequest {
        let mut req = self.req.clone();
        req.watch_id = wire;
        if self.next_rev > 0 {
            req.start_revision = self.next_rev;
        }
        WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(req)),
        }
    }

    /// Ends the watch with `err`: the answer to its creation, or its last item.
    fn fail(mut self, err: Error) {
        match self.created.take() {
            Some(created) => {
                let _ = created.send(Err(err));
            }
            None => deliver_last(self.items, Err(err)),
        }
    }
}

/// Puts a watch's last item in its channel; when the channel is full, a small task waits for
/// room (one item per ended watch, until read or the watch is dropped).
fn deliver_last(items: Items, item: Result<WatchItem>) {
    match items.try_send(item) {
        Ok(()) | Err(TrySendError::Closed(_)) => {}
        Err(TrySendError::Full(item)) => {
            tokio::spawn(async move {
                let _ = items.send(item).await;
            });
        }
    }
}

struct State {
    core: Arc<Core>,
    watchers: BTreeMap<i64, Watcher>,
    /// Watches to create on the current stream, one at a time.
    queue: VecDeque<i64>,
    /// The creation sent on the current stream and not answered yet: (watch, wire ID).
    sending: Option<(i64, i64)>,
    /// Wire IDs of the current stream → watches.
    routes: HashMap<i64, i64>,
    /// The next wire ID (never 0: etcd chooses the ID itself for 0).
    next_wire: i64,
    /// Paused watches waiting for room in their channel: each task ends with the watch's ID.
    catching_up: JoinSet<i64>,
    /// Where to look for an endpoint first (after the one whose stream broke; `None`: the
    /// client's pinned one).
    prefer: Option<usize>,
    /// The endpoint of the current stream.
    endpoint: String,
    outage: Outage,
}

/// Why serving a stream stopped.
enum Stop {
    /// Every handle is gone.
    Exit,
    /// The stream broke (or must be re-opened with a new token).
    Broken,
    /// No watch needs the stream now.
    Idle,
    /// Go on.
    Continue,
}

async fn run(core: Arc<Core>, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut st = State {
        core,
        watchers: BTreeMap::new(),
        queue: VecDeque::new(),
        sending: None,
        routes: HashMap::new(),
        next_wire: 1,
        catching_up: JoinSet::new(),
        prefer: None,
        endpoint: String::new(),
        outage: Outage::default(),
    };
    loop {
        while !st.has_active() {
            st.outage.recovered();
            if !st.wait_offline(&mut commands, None).await {
                return;
            }
        }
        let pause = match st.open().await {
            Ok((sender, stream)) => {
                st.outage.recovered();
                let opened = Instant::now();
                match st.serve(sender, stream, &mut commands).await {
                    Stop::Exit => return,
                    Stop::Broken => st.outage.broke(opened.elapsed()),
                    Stop::Idle | Stop::Continue => Duration::ZERO,
                }
            }
            Err(err) => {
                st.outage.failed();
                st.give_up(&err);
                // Wait a little, still taking commands, but not past the next give-up.
                let first = st.watchers.values().map(|w| w.give_up).min();
                st.outage.pause(first)
            }
        };
        if !pause.is_zero()
            && !st
                .wait_offline(&mut commands, Some(Instant::now() + pause))
                .await
        {
            return;
        }
    }
}

type Sender = mpsc::UnboundedSender<WatchRequest>;

impl State {
    /// Whether some watch needs a stream (one not paused).
    fn has_active(&self) -> bool {
        self.watchers.values().any(|w| !w.paused)
    }

    /// Takes commands and caught-up watches while no stream is open, until `until` (or, without
    /// it, until one of them arrives). `false`: every handle is gone.
    async fn wait_offline(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        until: Option<Instant>,
    ) -> bool {
        let sleep = tokio::time::sleep_until(until.unwrap_or_else(Instant::now));
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep, if until.is_some() => return true,
                cmd = commands.recv() => match cmd {
                    None => return false,
                    Some(cmd) => self.offline(cmd),
                },
                Some(done) = self.catching_up.join_next(), if !self.catching_up.is_empty() => {
                    if let Ok(id) = done {
                        self.caught_up(id);
                    }
                }
            }
            if until.is_none() {
                return true;
            }
        }
    }

    /// A command while no stream is open.
    fn offline(&mut self, cmd: Command) {
        match cmd {
            Command::Create {
                id,
                req,
                items,
                created,
                give_up,
            } => {
                let next_rev = req.start_revision;
                self.watchers.insert(
                    id,
                    Watcher {
                        req,
                        next_rev,
                        items,
                        created: Some(created),
                        auth_retried: false,
                        give_up,
                        wire: 0,
                        paused: false,
                    },
                );
            }
            Command::Cancel { id } => {
                self.watchers.remove(&id);
            }
            Command::Progress => {}
        }
    }

    /// A paused watch has room again: it is to be created anew (`true`), or is gone.
    fn caught_up(&mut self, id: i64) -> bool {
        let Some(w) = self.watchers.get_mut(&id) else {
            return false;
        };
        if w.items.is_closed() {
            self.watchers.remove(&id);
            return false;
        }
        let was = w.paused;
        w.paused = false;
        was
    }

    /// After a failed round: ends every watch whose give-up bound has passed since the first
    /// failure in a row with the round's error, or every watch when waiting cannot cure it.
    fn give_up(&mut self, err: &Error) {
        let final_ = !transient(err);
        let ids: Vec<i64> = self
            .watchers
            .iter()
            .filter(|(_, w)| final_ || self.outage.past(w.give_up))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            if let Some(w) = self.watchers.remove(&id) {
                tracing::debug!(watch = id, error = %err, "no endpoint serves the watch; giving up");
                w.fail(err.clone());
            }
        }
    }

    /// Opens a stream by the retry rules (each endpoint bounded by the request timeout, so a
    /// silent one leaves time for the next), starting after the endpoint whose stream broke,
    /// with the first creation sent (etcd sends the stream's headers with its first answer).
    /// A watch that was waiting for its creation when the round began fails with the round's
    /// error, as a call would.
    async fn open(&mut self) -> Result<(Sender, Streaming<WatchResponse>)> {
        let waiting: Vec<i64> = self
            .watchers
            .iter()
            .filter(|(_, w)| w.created.is_some())
            .map(|(id, _)| *id)
            .collect();
        self.reset_stream();
        let first = self.next_create();
        let core = Arc::clone(&self.core);
        let limit = core.config.request_timeout;
        let opened = core
            .open(Some(limit), self.prefer, |channel, token| {
                let first = first.clone();
                async move {
                    let (sender, rx) = mpsc::unbounded_channel();
                    if let Some(first) = first {
                        let _ = sender.send(first);
                    }
                    let mut client =
                        WatchClient::new(channel).max_decoding_message_size(usize::MAX);
                    let req = request(UnboundedReceiverStream::new(rx), &token);
                    Ok((sender, client.watch(req).await?.into_inner()))
                }
            })
            .await;
        match opened {
            Ok((opened, endpoint)) => {
                tracing::debug!(%endpoint, "watch stream open");
                self.prefer = core.endpoints.position(&endpoint);
                self.endpoint = endpoint.url().to_string();
                Ok(opened)
            }
            Err(err) => {
                tracing::debug!(error = %err, "cannot open a watch stream");
                self.reset_stream();
                for id in waiting {
                    if self.watchers.get(&id).is_some_and(|w| w.created.is_some()) {
                        if let Some(w) = self.watchers.remove(&id) {
                            w.fail(err.clone());
                        }
                    }
                }
                self.prefer = Some(self.prefer.map_or(1, |p| p + 1));
                Err(err)
            }
        }
    }

    /// Forgets the previous stream: every watch not paused is to be created on the next one.
    fn reset_stream(&mut self) {
        self.routes.clear();
        self.sending = None;
        self.queue.clear();
        for (id, w) in self.watchers.iter_mut() {
            w.wire = 0;
            if !w.paused {
                self.queue.push_back(*id);
            }
        }
    }

    async fn serve(
        &mut self,
        sender: Sender,
        mut stream: Streaming<WatchResponse>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Stop {
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None => return Stop::Exit,
                    Some(cmd) => self.command(cmd, &sender),
                },
                msg = stream.message() => match msg {
                    Ok(Some(resp)) => {
                        if let Stop::Broken = self.answer(resp, &sender).await {
                            return Stop::Broken;
                        }
                    }
                    Ok(None) => {
                        tracing::debug!("watch stream ended; resuming elsewhere");
                        self.prefer = self.prefer.map(|p| p + 1);
                        return Stop::Broken;
                    }
                    Err(status) => {
                        tracing::debug!(%status, "watch stream broke; resuming elsewhere");
                        self.prefer = self.prefer.map(|p| p + 1);
                        return Stop::Broken;
                    }
                },
                Some(done) = self.catching_up.join_next(), if !self.catching_up.is_empty() => {
                    if let Ok(id) = done {
                        if self.caught_up(id) {
                            tracing::debug!(watch = id, "watch consumer caught up; resuming it");
                            self.queue.push_back(id);
                            self.send_next_create(&sender);
                        }
                    }
                }
            }
            if !self.has_active() && self.sending.is_none() {
                // Nothing to watch now: close the stream until a watch needs one.
                return Stop::Idle;
            }
        }
    }
}

#[cfg(test)]
mod tests;
