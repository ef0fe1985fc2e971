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

use std::pin::Pin;
use std::task::{Context, Poll};

use super::client::{Client, Retry};
use super::error::from_status;
use super::kv::bytes;
use super::lock::Session;
use super::proto::mvccpb::KeyValue;
use super::proto::v3electionpb::election_client::ElectionClient;
use super::proto::v3electionpb::{
    CampaignRequest, LeaderKey, LeaderRequest, LeaderResponse, ProclaimRequest, ProclaimResponse,
    ResignRequest, ResignResponse,
};
use crate::endpoints::Endpoint;
use crate::error::{Error, Result};

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
            .unary_with(Retry::Write, None, req, |ch, req| async move {
                ElectionClient::new(ch).campaign(req).await
            })
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
        self.core
            .unary(Retry::Read, req, |ch, req| async move {
                ElectionClient::new(ch).proclaim(req).await
            })
            .await
    }

    /// The current leader's key and value in election `name` (`None`: nobody leads).
    pub async fn leader(&self, name: impl AsRef<[u8]>) -> Result<Option<KeyValue>> {
        let req = LeaderRequest { name: bytes(name) };
        let answer = self
            .core
            .unary(Retry::Read, req, |ch, req| async move {
                ElectionClient::new(ch).leader(req).await
            })
            .await;
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
        self.core
            .unary(Retry::Read, req, |ch, req| async move {
                ElectionClient::new(ch).resign(req).await
            })
            .await
    }

    /// Streams the leader of election `name` as it changes (the current one first, once there
    /// is one). The stream ends if its connection breaks; observe again to go on.
    pub async fn observe(&self, name: impl AsRef<[u8]>) -> Result<Observe> {
        let req = LeaderRequest { name: bytes(name) };
        let (list, start) = self.core.endpoints.snapshot();
        let endpoint = list
            .get(start)
            .cloned()
            .ok_or_else(super::client::no_endpoint)?;
        let stream = self
            .core
            .unary(Retry::Read, req, |ch, req| async move {
                ElectionClient::new(ch).observe(req).await
            })
            .await?;
        Ok(Observe { stream, endpoint })
    }
}

/// The leaders of an election, as they change (see [`Client::observe`]).
#[derive(Debug)]
pub struct Observe {
    stream: tonic::Streaming<LeaderResponse>,
    endpoint: Endpoint,
}

impl Observe {
    /// The next leader; `None` when the stream has ended.
    pub async fn next(&mut self) -> Option<Result<KeyValue>> {
        loop {
            match self.stream.message().await {
                Ok(Some(answer)) => match answer.kv {
                    Some(kv) => return Some(Ok(kv)),
                    None => continue,
                },
                Ok(None) => return None,
                Err(status) => return Some(Err(from_status(&status, &self.endpoint))),
            }
        }
    }
}

impl futures_core::Stream for Observe {
    type Item = Result<KeyValue>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let polled = futures_core::Stream::poll_next(Pin::new(&mut self.stream), cx);
            return match polled {
                Poll::Ready(Some(Ok(answer))) => match answer.kv {
                    Some(kv) => Poll::Ready(Some(Ok(kv))),
                    None => continue,
                },
                Poll::Ready(Some(Err(status))) => {
                    Poll::Ready(Some(Err(from_status(&status, &self.endpoint))))
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}
