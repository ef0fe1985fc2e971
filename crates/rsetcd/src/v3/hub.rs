//! The watch multiplexer: one background task per client owns one bidirectional Watch stream,
//! creates every watch on it (one creation at a time, as etcd answers a refused creation
//! without its ID), routes answers to each watch's channel, and when the stream breaks opens a
//! new one on the next endpoint and re-creates every watch from its last revision + 1.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::Streaming;

use super::client::{request, Core};
use super::error::{from_message, from_status};
use super::proto::etcdserverpb::watch_client::WatchClient;
use super::proto::etcdserverpb::watch_request::RequestUnion;
use super::proto::etcdserverpb::{
    WatchCancelRequest, WatchCreateRequest, WatchProgressRequest, WatchRequest, WatchResponse,
};
use super::watch::WatchItem;
use crate::error::{Error, Result};

const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

type Items = mpsc::UnboundedSender<Result<WatchItem>>;

/// What a [`Watch`](super::Watch) asks of the hub.
#[derive(Debug)]
pub(crate) enum Command {
    Create {
        id: i64,
        req: WatchCreateRequest,
        items: Items,
        created: oneshot::Sender<Result<i64>>,
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
}

impl Watcher {
    fn create_request(&self, id: i64) -> WatchRequest {
        let mut req = self.req.clone();
        req.watch_id = id;
        if self.next_rev > 0 {
            req.start_revision = self.next_rev;
        }
        WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(req)),
        }
    }

    fn fail(mut self, err: Error) {
        match self.created.take() {
            Some(created) => {
                let _ = created.send(Err(err));
            }
            None => {
                let _ = self.items.send(Err(err));
            }
        }
    }
}

struct State {
    core: Arc<Core>,
    watchers: BTreeMap<i64, Watcher>,
    /// Creations not yet answered on the current stream; the front one has been sent.
    queue: VecDeque<i64>,
    /// Where to look for an endpoint first (after the one whose stream broke).
    prefer: usize,
    /// The endpoint of the current stream.
    endpoint: String,
}

/// Why serving a stream stopped.
enum Stop {
    /// Every handle is gone.
    Exit,
    /// The stream broke (or must be re-opened with a new token).
    Broken,
    /// Go on.
    Continue,
}

async fn run(core: Arc<Core>, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut st = State {
        core,
        watchers: BTreeMap::new(),
        queue: VecDeque::new(),
        prefer: 0,
        endpoint: String::new(),
    };
    let mut backoff = BACKOFF_MIN;
    loop {
        while st.watchers.is_empty() {
            match commands.recv().await {
                None => return,
                Some(cmd) => st.offline(cmd),
            }
        }
        match st.open().await {
            Some((sender, stream)) => {
                backoff = BACKOFF_MIN;
                if let Stop::Exit = st.serve(sender, stream, &mut commands).await {
                    return;
                }
            }
            None => {
                // Every endpoint failed: wait a little, still taking commands.
                let sleep = tokio::time::sleep(backoff);
                tokio::pin!(sleep);
                backoff = (backoff * 2).min(BACKOFF_MAX);
                loop {
                    tokio::select! {
                        _ = &mut sleep => break,
                        cmd = commands.recv() => match cmd {
                            None => return,
                            Some(cmd) => st.offline(cmd),
                        },
                    }
                }
            }
        }
    }
}

type Sender = mpsc::UnboundedSender<WatchRequest>;

impl State {
    /// A command while no stream is open.
    fn offline(&mut self, cmd: Command) {
        match cmd {
            Command::Create {
                id,
                req,
                items,
                created,
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
                    },
                );
            }
            Command::Cancel { id } => {
                self.watchers.remove(&id);
            }
            Command::Progress => {}
        }
    }

    /// Opens a stream on the first endpoint that takes it, with the first creation sent.
    async fn open(&mut self) -> Option<(Sender, Streaming<WatchResponse>)> {
        let (list, _) = self.core.endpoints.snapshot();
        if list.is_empty() {
            let ids: Vec<i64> = self.watchers.keys().copied().collect();
            for id in ids {
                if let Some(w) = self.watchers.remove(&id) {
                    w.fail(super::client::no_endpoint());
                }
            }
            return None;
        }
        let start = if self.core.config.allow_reconnect {
            self.prefer % list.len()
        } else {
            0
        };
        let tries = if self.core.config.allow_reconnect {
            list.len()
        } else {
            1
        };
        let mut failures = Vec::new();
        let mut refreshed = false;
        let mut i = 0;
        while i < tries {
            let idx = (start + i) % list.len();
            let endpoint = &list[idx];
            let token = match self.core.token().await {
                Ok(t) => t,
                Err(e) => {
                    failures.push(e);
                    break;
                }
            };
            let channel = match self.core.channels.get(endpoint) {
                Ok(c) => c,
                Err(e) => {
                    failures.push(e);
                    i += 1;
                    continue;
                }
            };
            let (sender, rx) = mpsc::unbounded_channel();
            self.queue = self.watchers.keys().copied().collect();
            if let Some(w) = self.queue.front().and_then(|id| self.watchers.get(id)) {
                let _ = sender.send(w.create_request(self.queue[0]));
            }
            let mut client = WatchClient::new(channel).max_decoding_message_size(usize::MAX);
            let call = client.watch(request(UnboundedReceiverStream::new(rx), &token));
            let limit = self.core.config.request_timeout + self.core.config.connect_timeout;
            let err = match tokio::time::timeout(limit, call).await {
                Ok(Ok(answer)) => {
                    tracing::debug!(endpoint = %endpoint, "watch stream open");
                    self.prefer = idx;
                    self.endpoint = endpoint.url().to_string();
                    return Some((sender, answer.into_inner()));
                }
                Ok(Err(status)) => from_status(&status, endpoint),
                Err(_) => Error::Timeout {
                    endpoint: endpoint.url().into(),
                    after: limit,
                },
            };
            if !refreshed && self.core.needs_new_token(&err) {
                refreshed = true;
                if let Err(e) = self.core.refresh_token(token_generation(&token)).await {
                    failures.push(e);
                }
                continue;
            }
            tracing::debug!(endpoint = %endpoint, error = %err, "cannot open a watch stream");
            failures.push(err);
            i += 1;
        }
        // Refusals that will not change by waiting go to the watches waiting for creation.
        if let Some(err) = failures.pop() {
            if matches!(err, Error::V3 { .. } | Error::Config(_)) {
                let ids: Vec<i64> = self.watchers.keys().copied().collect();
                for id in ids {
                    if self.watchers.get(&id).is_some_and(|w| w.created.is_some()) {
                        if let Some(w) = self.watchers.remove(&id) {
                            w.fail(clone_error(&err));
                        }
                    }
                }
            }
        }
        self.prefer = start + 1;
        None
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
                        self.prefer += 1;
                        return Stop::Broken;
                    }
                    Err(status) => {
                        tracing::debug!(%status, "watch stream broke; resuming elsewhere");
                        self.prefer += 1;
                        return Stop::Broken;
                    }
                },
            }
            if self.watchers.is_empty() && self.queue.is_empty() {
                // Nothing left to watch: close the stream until a new watch comes.
                return Stop::Broken;
            }
        }
    }

    fn command(&mut self, cmd: Command, sender: &Sender) {
        match cmd {
            Command::Create { id, .. } => {
                self.offline(cmd);
                self.queue.push_back(id);
                if self.queue.len() == 1 {
                    self.send_next_create(sender);
                }
            }
            Command::Cancel { id } => {
                if self.watchers.remove(&id).is_none() {
                    return;
                }
                match self.queue.iter().position(|q| *q == id) {
                    // Sent, not answered: cancelled when the answer comes.
                    Some(0) => {}
                    Some(pos) => {
                        self.queue.remove(pos);
                    }
                    None => cancel(sender, id),
                }
            }
            Command::Progress => {
                let _ = sender.send(WatchRequest {
                    request_union: Some(RequestUnion::ProgressRequest(WatchProgressRequest {})),
                });
            }
        }
    }

    fn send_next_create(&mut self, sender: &Sender) {
        while let Some(&id) = self.queue.front() {
            match self.watchers.get(&id) {
                Some(w) => {
                    let _ = sender.send(w.create_request(id));
                    return;
                }
                None => {
                    self.queue.pop_front();
                }
            }
        }
    }

    async fn answer(&mut self, resp: WatchResponse, sender: &Sender) -> Stop {
        let revision = resp.header.as_ref().map_or(0, |h| h.revision);
        if resp.created {
            let Some(id) = self.queue.pop_front() else {
                return Stop::Continue;
            };
            let stop = self.created(id, resp, revision, sender).await;
            self.send_next_create(sender);
            return stop;
        }
        if resp.canceled {
            if let Some(w) = self.watchers.remove(&resp.watch_id) {
                if resp.compact_revision > 0 {
                    let _ = w.items.send(Ok(WatchItem::Compacted {
                        compact_revision: resp.compact_revision,
                    }));
                } else {
                    let reason = if resp.cancel_reason.is_empty() {
                        "etcdserver: watch canceled"
                    } else {
                        &resp.cancel_reason
                    };
                    w.fail(from_message(reason, &self.endpoint));
                }
            }
            return Stop::Continue;
        }
        if resp.watch_id == -1 {
            // An answer to a progress request, for every watch; it may overtake events still
            // on their way, so it does not move where a watch resumes.
            for w in self.watchers.values().filter(|w| w.created.is_none()) {
                let _ = w.items.send(Ok(WatchItem::Progress { revision }));
            }
            return Stop::Continue;
        }
        let Some(w) = self.watchers.get_mut(&resp.watch_id) else {
            return Stop::Continue;
        };
        let item = if resp.events.is_empty() {
            w.next_rev = w.next_rev.max(revision + 1);
            WatchItem::Progress { revision }
        } else {
            let next = w.next_rev;
            let events: Vec<_> = resp
                .events
                .into_iter()
                .filter(|e| e.kv.as_ref().is_some_and(|kv| kv.mod_revision >= next))
                .collect();
            let Some(last) = events.last().and_then(|e| e.kv.as_ref()) else {
                return Stop::Continue;
            };
            w.next_rev = last.mod_revision + 1;
            WatchItem::Events { revision, events }
        };
        if w.items.send(Ok(item)).is_err() {
            self.watchers.remove(&resp.watch_id);
            cancel(sender, resp.watch_id);
        }
        Stop::Continue
    }

    async fn created(
        &mut self,
        id: i64,
        resp: WatchResponse,
        revision: i64,
        sender: &Sender,
    ) -> Stop {
        let Some(w) = self.watchers.get_mut(&id) else {
            // Cancelled while its creation was on the way.
            if !resp.canceled {
                cancel(sender, id);
            }
            return Stop::Continue;
        };
        if resp.canceled {
            let err = from_message(&resp.cancel_reason, &self.endpoint);
            if !w.auth_retried && self.core.needs_new_token(&err) {
                // An expired token: renew it and re-open the stream.
                w.auth_retried = true;
                let stale = self.core.token().await.map(|t| token_generation(&t));
                if let Ok(stale) = stale {
                    let _ = self.core.refresh_token(stale).await;
                }
                return Stop::Broken;
            }
            if let Some(w) = self.watchers.remove(&id) {
                w.fail(err);
            }
            return Stop::Continue;
        }
        w.auth_retried = false;
        if w.next_rev == 0 {
            w.next_rev = revision + 1;
        }
        if let Some(created) = w.created.take() {
            let _ = created.send(Ok(revision));
        }
        Stop::Continue
    }
}

fn cancel(sender: &Sender, id: i64) {
    let _ = sender.send(WatchRequest {
        request_union: Some(RequestUnion::CancelRequest(WatchCancelRequest {
            watch_id: id,
        })),
    });
}

fn token_generation(token: &super::client::Token) -> u64 {
    token.generation
}

fn clone_error(err: &Error) -> Error {
    match err {
        Error::V3 {
            kind,
            code,
            message,
            endpoint,
        } => Error::V3 {
            kind: *kind,
            code: *code,
            message: message.clone(),
            endpoint: endpoint.clone(),
        },
        other => Error::Config(other.to_string()),
    }
}
