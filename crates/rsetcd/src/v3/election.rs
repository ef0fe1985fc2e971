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

use super::client::Client;
use super::core::{request, Core};
use super::error::from_status;
use super::kv::BoxFuture;
use super::lock::Session;
use super::proto::mvccpb::KeyValue;
use super::proto::v3electionpb::election_client::ElectionClient;
use super::proto::v3electionpb::{
    CampaignRequest, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest, ProclaimResponse,
    ResignRequest, ResignResponse,
};
use super::range::bytes;
use crate::endpoints::Endpoint;
use crate::error::{Error, Result};
use crate::retry::outage::{transient, Outage, DEFAULT_GIVE_UP};
use crate::retry::Deadline;
use crate::retry::Retry;

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
        let answer = self
            .core
            .unary_with(Retry::Write, Deadline::none(), req)
            .await?;
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
            let mut observer = Observer {
                core: Arc::clone(&self.client.core),
                req: LeaderRequest { name: self.name },
                give_up: self.give_up,
                last: None,
                first,
                stream: None,
                opened: Instant::now(),
                next: None,
                outage: Outage::default(),
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
    /// The index of the endpoint to try first (`None`: the client's pinned one).
    next: Option<usize>,
    outage: Outage,
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

    /// Opens an Observe stream on the first endpoint that takes it (by the retry rules, starting
    /// after the one that failed last), or the round's failure. etcd answers (headers included)
    /// only once the election has a leader, so an attempt has no timeout; a dead connection is
    /// found by the connect timeout or HTTP/2 keep-alive.
    async fn open(&mut self) -> Result<()> {
        let opened = self
            .core
            .open(None, self.next, |channel, token| {
                let req = request(self.req.clone(), &token);
                async move {
                    Ok(ElectionClient::new(channel)
                        .observe(req)
                        .await?
                        .into_inner())
                }
            })
            .await;
        match opened {
            Ok((stream, endpoint)) => {
                tracing::debug!(%endpoint, "observe stream open");
                self.next = self.core.endpoints.position(&endpoint);
                self.opened = Instant::now();
                self.stream = Some((stream, endpoint));
                Ok(())
            }
            Err(e) => {
                self.next = Some(self.next.map_or(1, |n| n + 1));
                Err(e)
            }
        }
    }

    /// The next leader value from the stream, or why the stream stopped (`None`: it ended).
    async fn read(&mut self) -> std::result::Result<KeyValue, Option<Error>> {
        let Some((stream, endpoint)) = self.stream.as_mut() else {
            return Err(None);
        };
        loop {
            match stream.message().await {
                Ok(Some(answer)) => {
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
            if let Err(err) = o.open().await {
                o.outage.failed();
                if !transient(&err) || o.outage.past(o.give_up) {
                    o.done = true;
                    return Some((Err(err), o));
                }
                tokio::time::sleep(o.outage.pause(Some(o.give_up))).await;
                continue;
            }
        }
        match o.read().await {
            Ok(kv) => {
                o.outage.recovered();
                if let Some(kv) = o.take(kv) {
                    return Some((Ok(kv), o));
                }
            }
            Err(why) => {
                o.stream = None;
                o.next = o.next.map(|n| n + 1);
                match why {
                    // Opening again renews the token.
                    Some(err) if o.core.needs_new_token(&err) => {}
                    Some(err) if !transient(&err) => {
                        o.done = true;
                        return Some((Err(err), o));
                    }
                    Some(err) => tracing::debug!(error = %err, "observe stream broke; resuming"),
                    None => tracing::debug!("observe stream ended; resuming"),
                }
                tokio::time::sleep(o.outage.broke(o.opened.elapsed())).await;
            }
        }
    }
}
