//! Leader election (etcd's server-side election service): campaign, proclaim, leader, observe,
//! resign, with candidacies tied to a lease-backed [`Session`].
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
//! let session = client.session(10).await?;
//! let leadership = client.campaign("/election/app", "me:8080", &session).await?;
//! client.proclaim(&leadership, "me:8081").await?;
//! client.resign(&leadership).await?;
//! # Ok(()) }
//! ```
//!
//! Watching who leads, on any client:
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
//! let mut leaders = client.observe("/election/app").await?;
//! while let Some(leader) = leaders.next().await {
//!     println!("now led by {:?}", leader?.value); // resumes elsewhere if its member dies
//! }
//! # Ok(()) }
//! ```

use std::future::IntoFuture;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use tokio::time::Instant;
use tonic::Streaming;

use super::client::{request, Client, Core, Retry};
use super::error::from_status;
use super::kv::{bytes, BoxFuture};
use super::lock::Session;
use super::proto::mvccpb::KeyValue;
use super::proto::v3electionpb::election_client::ElectionClient;
use super::proto::v3electionpb::{
    CampaignRequest, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest, ProclaimResponse,
    ResignRequest, ResignResponse,
};
use crate::endpoints::Endpoint;
use crate::error::{Error, Result};
use crate::retry::outage::{
    round_error, transient, BACKOFF_MAX, BACKOFF_MIN, DEFAULT_GIVE_UP, SHORT_LIVED,
};

impl Client {
    /// Waits until we lead election `name`, announcing `value`; the answer identifies our
    /// leadership for [`proclaim`](Client::proclaim) and [`resign`](Client::resign). No timeout
    /// applies.
    pub async fn campaign(
        &self,
        name: impl AsRef<[u8]>,
        value: impl AsRef<[u8]>,
        session: &Session,
    ) -> Result<LeaderKey> {
        let req = CampaignRequest {
            name: bytes(name),
            lease: session.lease_id(),
            value: bytes(value),
        };
        let answer = self.core.unary_with(Retry::Write, None, req).await?;
        answer.leader.ok_or_else(|| Error::InvalidResponse {
            endpoint: String::new(),
            reason: "a campaign answer without its leader key".into(),
        })
    }

    /// Announces a new value as the leader (fails if `leader` no longer leads).
    pub async fn proclaim(
        &self,
        leader: &LeaderKey,
        value: impl AsRef<[u8]>,
    ) -> Result<ProclaimResponse> {
        let req = ProclaimRequest {
            leader: Some(leader.clone()),
            value: bytes(value),
        };
        self.core.unary(Retry::Read, req).await
    }

    /// The current leader's key and value in election `name` (`None`: nobody leads).
    pub async fn leader(&self, name: impl AsRef<[u8]>) -> Result<Option<KeyValue>> {
        let req = LeaderRequest { name: bytes(name) };
        let answer = self.core.unary(Retry::Read, req).await;
        match answer {
            Ok(a) => Ok(a.kv),
            Err(e) if e.v3_kind() == Some(super::V3ErrorKind::ElectionNoLeader) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Gives up leadership, so that the next candidate leads.
    pub async fn resign(&self, leader: &LeaderKey) -> Result<ResignResponse> {
        let req = ResignRequest {
            leader: Some(leader.clone()),
        };
        self.core.unary(Retry::Read, req).await
    }

    /// Streams the leader of election `name` as it changes: `.await` it (after options such
    /// as [`give_up_after`](ObserveBuilder::give_up_after)) to get an [`Observe`]. It resumes
    /// on another endpoint by itself when its connection breaks.
    pub fn observe(&self, name: impl AsRef<[u8]>) -> ObserveBuilder<'_> {
        ObserveBuilder {
            client: self,
            name: bytes(name),
            give_up: DEFAULT_GIVE_UP,
        }
    }
}

/// `client.observe(name)`: chain options, then `.await` to get an [`Observe`].
#[derive(Debug)]
#[must_use = "an observer does nothing until awaited"]
pub struct ObserveBuilder<'a> {
    client: &'a Client,
    name: Bytes,
    give_up: Duration,
}

impl ObserveBuilder<'_> {
    /// How long the observer keeps trying to resume while no endpoint serves it, counted from
    /// the first failure in a row, before it yields that failure and ends (default 30 s, as
    /// [watches](super::WatchBuilder::give_up_after)).
    pub fn give_up_after(mut self, bound: Duration) -> Self {
        self.give_up = bound;
        self
    }
}

impl<'a> IntoFuture for ObserveBuilder<'a> {
    type Output = Result<Observe>;
    type IntoFuture = BoxFuture<'a, Observe>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            // Asking for the leader first finds an endpoint that answers (or fails at once,
            // as any request would) and gives the first item without waiting for the stream.
            let first = self.client.leader(&self.name).await?;
            let (_, pinned) = self.client.core.endpoints.snapshot();
            let mut observer = Observer {
                core: Arc::clone(&self.client.core),
                req: LeaderRequest { name: self.name },
                give_up: self.give_up,
                last: None,
                first,
                stream: None,
                opened: Instant::now(),
                next: pinned,
                failing_since: None,
                backoff: BACKOFF_MIN,
                done: false,
            };
            if observer.first.is_some() {
                // With a leader, etcd answers at once: open now, so that later changes are
                // all seen. Failing that (or no leader), the first `next` opens it.
                let limit = self.client.core.config.request_timeout;
                let _ = tokio::time::timeout(limit, observer.open()).await;
            }
            Ok(Observe {
                inner: Box::pin(futures_util::stream::unfold(observer, step)),
            })
        })
    }
}

/// The leaders of an election, as they change (see [`Client::observe`]): the current one first
/// (once there is one), then each new leader and each value a leader proclaims.
///
/// When its connection breaks, the observer asks another endpoint (by the client's failover
/// rules) to observe again, and leaves out that endpoint's first answer when it is the leader
/// value already yielded (same key, no newer modification): a value is never yielded twice. A
/// value replaced while no endpoint served the observer is not seen, only its successor (etcd's
/// observe reports the current leader, not a history). When no endpoint has served it for its
/// [give-up bound](ObserveBuilder::give_up_after), or etcd refuses it (permissions), the
/// observer yields the failure ([`Error::Connect`] for one endpoint, [`Error::NoMoreHosts`]
/// listing each) and ends.
pub struct Observe {
    inner: Pin<Box<dyn Stream<Item = Result<KeyValue>> + Send>>,
}

impl std::fmt::Debug for Observe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observe").finish_non_exhaustive()
    }
}

impl Observe {
    /// The next leader; `None` once the observer has ended.
    pub async fn next(&mut self) -> Option<Result<KeyValue>> {
        futures_util::StreamExt::next(&mut self.inner).await
    }
}

impl Stream for Observe {
    type Item = Result<KeyValue>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct Observer {
    core: Arc<Core>,
    req: LeaderRequest,
    give_up: Duration,
    /// The key and mod revision of the last leader yielded.
    last: Option<(Bytes, i64)>,
    /// The leader found when the observer was made, to yield first.
    first: Option<KeyValue>,
    stream: Option<(Streaming<LeaderResponse>, Endpoint)>,
    /// When the stream opened.
    opened: Instant,
    /// The index of the endpoint to try first.
    next: usize,
    /// Since when no stream has been working (`None`: one is).
    failing_since: Option<Instant>,
    backoff: Duration,
    done: bool,
}

impl Observer {
    /// Whether `kv` is news: another key, or a newer change of the key yielded last.
    fn is_new(&self, kv: &KeyValue) -> bool {
        match &self.last {
            Some((key, rev)) => kv.key != *key || kv.mod_revision > *rev,
            None => true,
        }
    }

    /// Yields `kv` unless it was yielded already.
    fn take(&mut self, kv: KeyValue) -> Option<KeyValue> {
        if !self.is_new(&kv) {
            tracing::debug!(revision = kv.mod_revision, "observe: leader already seen");
            return None;
        }
        self.last = Some((kv.key.clone(), kv.mod_revision));
        Some(kv)
    }

    /// Opens an Observe stream on the first endpoint that takes it, or returns each failure.
    /// etcd answers (headers included) only once the election has a leader, so the opening
    /// has no timeout; a dead connection is found by the connect timeout or HTTP/2 keep-alive.
    async fn open(&mut self) -> Result<(), Vec<(String, Error)>> {
        let (list, _) = self.core.endpoints.snapshot();
        if list.is_empty() {
            return Err(vec![(String::new(), super::client::no_endpoint())]);
        }
        let reconnect = self.core.config.allow_reconnect;
        let start = if reconnect { self.next } else { 0 };
        let tries = if reconnect { list.len() } else { 1 };
        let mut failures = Vec::new();
        let mut refreshed = false;
        let mut i = 0;
        while i < tries {
            let idx = (start + i) % list.len();
            let endpoint = &list[idx];
            let failed = |e| (endpoint.url().to_string(), e);
            let token = match self.core.token().await {
                Ok(t) => t,
                Err(e) => {
                    failures.push(failed(e));
                    break;
                }
            };
            let channel = match self.core.channels.get(endpoint) {
                Ok(c) => c,
                Err(e) => {
                    failures.push(failed(e));
                    i += 1;
                    continue;
                }
            };
            let mut client = ElectionClient::new(channel);
            let err = match client.observe(request(self.req.clone(), &token)).await {
                Ok(answer) => {
                    tracing::debug!(endpoint = %endpoint, "observe stream open");
                    self.next = idx;
                    self.opened = Instant::now();
                    self.stream = Some((answer.into_inner(), endpoint.clone()));
                    return Ok(());
                }
                Err(status) => from_status(&status, endpoint),
            };
            if !refreshed && self.core.needs_new_token(&err) {
                refreshed = true;
                if let Err(e) = self.core.refresh_token(token.generation).await {
                    failures.push(failed(e));
                    break;
                }
                continue;
            }
            tracing::debug!(endpoint = %endpoint, error = %err, "cannot observe here");
            failures.push(failed(err));
            i += 1;
        }
        self.next = start + 1;
        Err(failures)
    }

    /// The next leader value from the stream, or why the stream stopped (`None`: it ended).
    async fn read(&mut self) -> std::result::Result<KeyValue, Option<Error>> {
        let Some((stream, endpoint)) = self.stream.as_mut() else {
            return Err(None);
        };
        loop {
            match stream.message().await {
                Ok(Some(answer)) => {
                    self.failing_since = None;
                    if let Some(kv) = answer.kv {
                        return Ok(kv);
                    }
                }
                Ok(None) => return Err(None),
                Err(status) => return Err(Some(from_status(&status, endpoint))),
            }
        }
    }
}

async fn step(mut o: Observer) -> Option<(Result<KeyValue>, Observer)> {
    if o.done {
        return None;
    }
    if let Some(kv) = o.first.take().and_then(|kv| o.take(kv)) {
        return Some((Ok(kv), o));
    }
    loop {
        if o.stream.is_none() {
            if let Err(failures) = o.open().await {
                let since = *o.failing_since.get_or_insert_with(Instant::now);
                let refused = failures.iter().all(|(_, e)| !transient(e));
                if refused || since.elapsed() >= o.give_up {
                    o.done = true;
                    return Some((Err(round_error(&failures)), o));
                }
                let left = (since + o.give_up).saturating_duration_since(Instant::now());
                tokio::time::sleep(o.backoff.min(left)).await;
                o.backoff = (o.backoff * 2).min(BACKOFF_MAX);
                continue;
            }
        }
        match o.read().await {
            Ok(kv) => {
                if let Some(kv) = o.take(kv) {
                    return Some((Ok(kv), o));
                }
            }
            Err(why) => {
                o.stream = None;
                o.next += 1;
                o.failing_since.get_or_insert_with(Instant::now);
                match why {
                    Some(err) if o.core.needs_new_token(&err) => {
                        let stale = o.core.token().await.map(|t| t.generation);
                        if let Ok(stale) = stale {
                            let _ = o.core.refresh_token(stale).await;
                        }
                    }
                    Some(err) if !transient(&err) => {
                        o.done = true;
                        return Some((Err(err), o));
                    }
                    Some(err) => tracing::debug!(error = %err, "observe stream broke; resuming"),
                    None => tracing::debug!("observe stream ended; resuming"),
                }
                if o.opened.elapsed() >= SHORT_LIVED {
                    o.backoff = BACKOFF_MIN;
                } else {
                    tokio::time::sleep(o.backoff).await;
                    o.backoff = (o.backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }
}
