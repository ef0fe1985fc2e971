//! Leases: grant, revoke, time-to-live, list, and a keep-alive that runs by itself.
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
//! let lease = client.lease_grant(10).await?;
//! client.put("/service/me", "10.0.0.7").lease(lease.id).await?;
//! let mut keep = client.lease_keep_alive(lease.id).await?;
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

use super::client::{request, Client, Core, Retry};
use super::error::{from_message, from_status};
use super::proto::etcdserverpb::lease_client::LeaseClient;
use super::proto::etcdserverpb::{
    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveRequest, LeaseLeasesRequest,
    LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse, LeaseTimeToLiveRequest,
    LeaseTimeToLiveResponse,
};
use crate::error::{Error, Result};

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
            Err(_) => Err(Error::InvalidArgument(
                "the keep-alive task stopped (its tokio runtime ended)".into(),
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

async fn keep_alive(core: Arc<Core>, id: i64, state: watch::Sender<LeaseState>, mut first: First) {
    let mut deadline: Option<Instant> = None;
    let mut prefer = 0usize;
    let mut backoff = Duration::from_millis(50);
    let mut last_error = String::new();
    let mut first_failures: Vec<(String, Error)> = Vec::new();
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = state.send(LeaseState::Lost(LeaseLost::Expired { reason: last_error }));
            return;
        }
        let (list, pinned) = core.endpoints.snapshot();
        if list.is_empty() {
            match first.take() {
                Some(f) => {
                    let _ = f.send(Err(super::client::no_endpoint()));
                }
                None => {
                    let reason = "no endpoint".into();
                    let _ = state.send(LeaseState::Lost(LeaseLost::Expired { reason }));
                }
            }
            return;
        }
        let idx = if core.config.allow_reconnect {
            (pinned + prefer) % list.len()
        } else {
            0
        };
        let endpoint = list[idx].clone();
        let err = match refresh_on(&core, &endpoint, id, &state, &mut deadline, &mut first).await {
            Refresh::Lost(why) => {
                match first.take() {
                    Some(f) => {
                        let err =
                            from_message("etcdserver: requested lease not found", endpoint.url());
                        let _ = f.send(Err(err));
                    }
                    None => {
                        let _ = state.send(LeaseState::Lost(why));
                    }
                }
                return;
            }
            Refresh::Failed(err) => err,
        };
        tracing::debug!(lease = id, endpoint = %endpoint, error = %err, "keep-alive failed");
        last_error = err.to_string();
        if first.is_some() {
            // Before the first answer, a refusal or a whole round of failures is the caller's.
            let tries = if core.config.allow_reconnect {
                list.len()
            } else {
                1
            };
            if matches!(err, Error::V3 { .. }) || first_failures.len() + 1 >= tries {
                first_failures.push((endpoint.url().to_string(), err));
                let err = if first_failures.len() == 1 {
                    first_failures.remove(0).1
                } else {
                    Error::NoMoreHosts {
                        failures: first_failures,
                    }
                };
                if let Some(f) = first.take() {
                    let _ = f.send(Err(err));
                }
                return;
            }
            first_failures.push((endpoint.url().to_string(), err));
        }
        prefer += 1;
        if prefer % list.len() == 0 {
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }
}

enum Refresh {
    Lost(LeaseLost),
    Failed(Error),
}

/// Refreshes the lease on one endpoint until that fails or the lease is gone.
async fn refresh_on(
    core: &Core,
    endpoint: &crate::endpoints::Endpoint,
    id: i64,
    state: &watch::Sender<LeaseState>,
    deadline: &mut Option<Instant>,
    first: &mut First,
) -> Refresh {
    let mut refreshed = false;
    loop {
        let token = match core.token().await {
            Ok(t) => t,
            Err(e) => return Refresh::Failed(e),
        };
        let channel = match core.channels.get(endpoint) {
            Ok(c) => c,
            Err(e) => return Refresh::Failed(e),
        };
        // One request at a time: the next is sent only after the answer to the previous one,
        // so a channel of one never holds more (nothing grows while etcd is slow).
        let (sender, rx) = mpsc::channel(1);
        let _ = sender.try_send(LeaseKeepAliveRequest { id });
        let mut client = LeaseClient::new(channel);
        let limit = core.config.request_timeout;
        let timeout = |after| Error::Timeout {
            endpoint: endpoint.url().into(),
            after,
        };
        let opened = tokio::time::timeout(
            limit + core.config.connect_timeout,
            client.lease_keep_alive(request(ReceiverStream::new(rx), &token)),
        )
        .await;
        let mut stream = match opened {
            Ok(Ok(s)) => s.into_inner(),
            Ok(Err(status)) => {
                let err = from_status(&status, endpoint);
                if !refreshed && core.needs_new_token(&err) {
                    refreshed = true;
                    if let Err(e) = core.refresh_token(token.generation).await {
                        return Refresh::Failed(e);
                    }
                    continue;
                }
                return Refresh::Failed(err);
            }
            Err(_) => return Refresh::Failed(timeout(limit)),
        };
        loop {
            let answer = match tokio::time::timeout(limit, stream.message()).await {
                Ok(Ok(Some(answer))) => answer,
                Ok(Ok(None)) => {
                    return Refresh::Failed(Error::Transport {
                        endpoint: endpoint.url().into(),
                        source: "the keep-alive stream ended".into(),
                    })
                }
                Ok(Err(status)) => return Refresh::Failed(from_status(&status, endpoint)),
                Err(_) => return Refresh::Failed(timeout(limit)),
            };
            if answer.ttl <= 0 {
                return Refresh::Lost(LeaseLost::NotFound);
            }
            *deadline = Some(Instant::now() + Duration::from_secs(answer.ttl as u64));
            let _ = state.send(LeaseState::Alive { ttl: answer.ttl });
            if let Some(f) = first.take() {
                let _ = f.send(Ok(()));
            }
            let every = Duration::from_millis((answer.ttl as u64 * 1000 / 3).max(100));
            tokio::time::sleep(every).await;
            match sender.try_send(LeaseKeepAliveRequest { id }) {
                Ok(()) => {}
                Err(TrySendError::Closed(_)) => {
                    return Refresh::Failed(Error::Transport {
                        endpoint: endpoint.url().into(),
                        source: "the keep-alive stream closed".into(),
                    })
                }
                Err(TrySendError::Full(_)) => {
                    return Refresh::Failed(Error::Transport {
                        endpoint: endpoint.url().into(),
                        source: "the keep-alive stream took no request for a whole period".into(),
                    })
                }
            }
        }
    }
}
