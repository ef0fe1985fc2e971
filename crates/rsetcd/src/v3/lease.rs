//! Leases: grant, revoke, time-to-live, list, and a keep-alive that runs by itself.
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
//! let lease = client.lease_grant(10).await?;
//! client.put("/service/me", "10.0.0.7").lease(lease.id()).await?;
//! let mut keep = client.lease_keep_alive(lease.id()).await?;
//! // … the key lives while `keep` lives; if the lease is lost anyway:
//! let lost = keep.lost().await;
//! eprintln!("lease {} lost: {lost:?}", keep.id());
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::client::Client;
use super::core::{request, Core};
use super::error::{from_message, from_status};
use super::proto::etcdserverpb::lease_client::LeaseClient;
use super::proto::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseKeepAliveResponse,
    LeaseLeasesRequest, LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};
use crate::endpoints::Endpoint;
use crate::error::{Error, Result};
use crate::retry::outage::{transient, Outage};
use crate::retry::Retry;

impl Client {
    /// Grants a lease of `ttl` seconds; the answer's `id` is the lease ID.
    pub async fn lease_grant(&self, ttl: i64) -> Result<LeaseGrantResponse> {
        self.lease_grant_with_id(ttl, 0).await
    }

    /// Grants a lease with a chosen ID (0: etcd chooses). With an ID, an attempt whose outcome
    /// is unknown is retried: a second grant fails with
    /// [`V3ErrorKind::LeaseExists`](super::V3ErrorKind::LeaseExists).
    pub async fn lease_grant_with_id(&self, ttl: i64, id: i64) -> Result<LeaseGrantResponse> {
        let req = LeaseGrantRequest { ttl, id };
        self.core.unary(Retry::write(id != 0), req).await
    }

    /// Revokes lease `id`: its keys are deleted at once.
    pub async fn lease_revoke(&self, id: i64) -> Result<LeaseRevokeResponse> {
        let req = LeaseRevokeRequest { id };
        self.core.unary(Retry::Write, req).await
    }

    /// The remaining and granted TTL of lease `id`, and with `keys` its keys. A lease that does
    /// not exist has a `ttl` of -1.
    pub async fn lease_time_to_live(&self, id: i64, keys: bool) -> Result<LeaseTimeToLiveResponse> {
        let req = LeaseTimeToLiveRequest { id, keys };
        self.core.unary(Retry::Read, req).await
    }

    /// Every lease.
    pub async fn leases(&self) -> Result<LeaseLeasesResponse> {
        self.core.unary(Retry::Read, LeaseLeasesRequest {}).await
    }

    /// Keeps lease `id` alive in the background (a refresh every third of its TTL, failing over
    /// to other endpoints) until the returned handle is dropped or the lease is lost. Returns
    /// after the first refresh, so a lease that does not exist is an error here
    /// ([`V3ErrorKind::LeaseNotFound`](super::V3ErrorKind::LeaseNotFound)).
    pub async fn lease_keep_alive(&self, id: i64) -> Result<KeepAlive> {
        let (state_tx, state) = watch::channel(LeaseState::Starting);
        let (first_tx, first) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(keep_alive(
            Arc::clone(&self.core),
            id,
            state_tx,
            Some(first_tx),
        ));
        let keep = KeepAlive { id, state, task };
        match first.await {
            Ok(Ok(())) => Ok(keep),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Stopped(
                "the keep-alive task ended (its tokio runtime shut down)".into(),
            )),
        }
    }
}

/// Why a kept-alive lease was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseLost {
    /// etcd says the lease is gone: it expired or was revoked.
    NotFound,
    /// No endpoint answered before the lease's TTL ran out: it must be taken as expired.
    Expired {
        /// The last failure.
        reason: String,
    },
}

/// The state of a kept-alive lease.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LeaseState {
    /// Before the first refresh.
    Starting,
    /// Refreshed; `ttl` seconds left after the last refresh.
    Alive {
        /// The TTL etcd granted on the last refresh.
        ttl: i64,
    },
    /// Lost: the keep-alive has stopped.
    Lost(LeaseLost),
}

/// A running keep-alive (see [`Client::lease_keep_alive`]). Dropping it stops the refreshes;
/// the lease then expires after its TTL unless revoked first.
#[derive(Debug)]
pub struct KeepAlive {
    id: i64,
    state: watch::Receiver<LeaseState>,
    task: tokio::task::JoinHandle<()>,
}

impl KeepAlive {
    /// The lease ID.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The current state.
    pub fn state(&self) -> LeaseState {
        self.state.borrow().clone()
    }

    /// Whether the lease is still alive as far as the keep-alive knows.
    pub fn is_alive(&self) -> bool {
        !matches!(*self.state.borrow(), LeaseState::Lost(_))
    }

    /// Waits for the next refresh (each one, also when the TTL is the same) or the loss of the
    /// lease, and returns the new state. The first call returns at once with the refresh that
    /// [`Client::lease_keep_alive`] waited for; once the lease is lost, every call returns
    /// [`LeaseState::Lost`] at once.
    ///
    /// ```no_run
    /// # async fn demo(client: rsetcd::v3::Client, id: i64) -> rsetcd::Result<()> {
    /// use rsetcd::v3::LeaseState;
    /// let mut keep = client.lease_keep_alive(id).await?;
    /// while let LeaseState::Alive { ttl } = keep.changed().await {
    ///     println!("lease {id:016x} refreshed, TTL {ttl} s");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn changed(&mut self) -> LeaseState {
        if let LeaseState::Lost(why) = &*self.state.borrow() {
            return LeaseState::Lost(why.clone());
        }
        if self.state.changed().await.is_err() {
            if let LeaseState::Lost(why) = &*self.state.borrow() {
                return LeaseState::Lost(why.clone());
            }
            return LeaseState::Lost(LeaseLost::Expired {
                reason: "the keep-alive task stopped".into(),
            });
        }
        self.state.borrow_and_update().clone()
    }

    /// Waits until the lease is lost, and says why.
    pub async fn lost(&mut self) -> LeaseLost {
        loop {
            if let LeaseState::Lost(why) = &*self.state.borrow_and_update() {
                return why.clone();
            }
            if self.state.changed().await.is_err() {
                return match &*self.state.borrow() {
                    LeaseState::Lost(why) => why.clone(),
                    _ => LeaseLost::Expired {
                        reason: "the keep-alive task stopped".into(),
                    },
                };
            }
        }
    }

    /// Stops the keep-alive (the same as dropping it).
    pub fn stop(self) {}
}

impl Drop for KeepAlive {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type First = Option<tokio::sync::oneshot::Sender<Result<()>>>;

/// An open keep-alive stream: where to send refresh requests (one at a time: the next goes only
/// after the answer to the previous, so a channel of one never holds more and nothing grows while
/// etcd is slow) and the answers.
type Opened = (
    mpsc::Sender<LeaseKeepAliveRequest>,
    tonic::Streaming<LeaseKeepAliveResponse>,
);

/// Refreshes lease `id` until it is lost: a stream opened by the retry rules (starting after the
/// endpoint that failed last), refreshed a third of the TTL apart, opened again elsewhere when it
/// fails, until the lease's TTL has run out with no endpoint answering. Before the first answer,
/// a failure is the caller's (`first`).
async fn keep_alive(core: Arc<Core>, id: i64, state: watch::Sender<LeaseState>, mut first: First) {
    // When the lease runs out unless a refresh lands (unknown before the first answer).
    let mut expires: Option<Instant> = None;
    let mut next: Option<usize> = None;
    let mut outage = Outage::default();
    // Before the first answer: the endpoints whose stream broke, with their failures.
    let mut before_first: Vec<(String, Error)> = Vec::new();
    loop {
        let limit = core.config.request_timeout;
        let opened = core
            .open(Some(limit), next, |channel, token| async move {
                let (sender, rx) = mpsc::channel(1);
                let _ = sender.try_send(LeaseKeepAliveRequest { id });
                let req = request(ReceiverStream::new(rx), &token);
                let stream = LeaseClient::new(channel).lease_keep_alive(req).await?;
                Ok((sender, stream.into_inner()))
            })
            .await;
        let (err, pause) = match opened {
            Ok((opened, endpoint)) => {
                next = core.endpoints.position(&endpoint);
                let since = Instant::now();
                match refresh(
                    &core,
                    &endpoint,
                    id,
                    opened,
                    &state,
                    &mut expires,
                    &mut first,
                )
                .await
                {
                    Refresh::Lost(why) => {
                        match first.take() {
                            Some(f) => {
                                let err = from_message(
                                    "etcdserver: requested lease not found",
                                    endpoint.url(),
                                );
                                let _ = f.send(Err(err));
                            }
                            None => {
                                let _ = state.send(LeaseState::Lost(why));
                            }
                        }
                        return;
                    }
                    Refresh::Failed(err) => {
                        next = next.map(|n| n + 1);
                        let tries = if core.config.allow_reconnect {
                            core.endpoints.snapshot().0.len()
                        } else {
                            1
                        };
                        if first.is_some() && transient(&err) && before_first.len() + 1 < tries {
                            // Opened, then broke before its first answer: as for any read, the
                            // next endpoint is asked before the caller hears of it.
                            tracing::debug!(lease = id, %endpoint, error = %err, "keep-alive broke; next endpoint");
                            before_first.push((endpoint.url().to_string(), err));
                            continue;
                        }
                        let err = if first.is_some() && !before_first.is_empty() {
                            let mut failures = std::mem::take(&mut before_first);
                            failures.push((endpoint.url().to_string(), err));
                            Error::from_failures(failures)
                        } else {
                            err
                        };
                        (err, outage.broke(since.elapsed()))
                    }
                }
            }
            Err(err) => {
                next = Some(next.map_or(1, |n| n + 1));
                outage.failed();
                (err, outage.pause(None))
            }
        };
        tracing::debug!(lease = id, error = %err, "keep-alive failed");
        if let Some(f) = first.take() {
            // Before the first answer, a whole round's failure (or a refusal) is the caller's.
            let _ = f.send(Err(err));
            return;
        }
        let now = Instant::now();
        if expires.is_some_and(|at| now >= at) || !(transient(&err) || core.needs_new_token(&err)) {
            let reason = err.to_string();
            let _ = state.send(LeaseState::Lost(LeaseLost::Expired { reason }));
            return;
        }
        let left = expires.map_or(pause, |at| at.saturating_duration_since(now));
        tokio::time::sleep(pause.min(left)).await;
    }
}

enum Refresh {
    Lost(LeaseLost),
    Failed(Error),
}

/// Refreshes the lease on one open stream until that fails or the lease is gone.
async fn refresh(
    core: &Core,
    endpoint: &Endpoint,
    id: i64,
    (sender, mut stream): Opened,
    state: &watch::Sender<LeaseState>,
    expires: &mut Option<Instant>,
    first: &mut First,
) -> Refresh {
    let limit = core.config.request_timeout;
    let broke = |why: &str| Refresh::Failed(Error::transport(endpoint.url(), why.to_string()));
    loop {
        let answer = match tokio::time::timeout(limit, stream.message()).await {
            Ok(Ok(Some(answer))) => answer,
            Ok(Ok(None)) => return broke("the keep-alive stream ended"),
            Ok(Err(status)) => return Refresh::Failed(from_status(&status, endpoint)),
            Err(_) => {
                return Refresh::Failed(Error::Timeout {
                    endpoint: endpoint.url().into(),
                    after: limit,
                })
            }
        };
        if answer.ttl <= 0 {
            return Refresh::Lost(LeaseLost::NotFound);
        }
        *expires = Some(Instant::now() + Duration::from_secs(answer.ttl as u64));
        let _ = state.send(LeaseState::Alive { ttl: answer.ttl });
        if let Some(f) = first.take() {
            let _ = f.send(Ok(()));
        }
        let every = Duration::from_millis((answer.ttl as u64 * 1000 / 3).max(100));
        tokio::time::sleep(every).await;
        match sender.try_send(LeaseKeepAliveRequest { id }) {
            Ok(()) => {}
            Err(TrySendError::Closed(_)) => return broke("the keep-alive stream closed"),
            Err(TrySendError::Full(_)) => {
                return broke("the keep-alive stream took no request for a whole period")
            }
        }
    }
}
