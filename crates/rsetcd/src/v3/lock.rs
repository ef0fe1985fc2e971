//! Lease-backed sessions and distributed locks (etcd's server-side lock service).
//!
//! ```no_run
//! # async fn demo(client: rsetcd::v3::Client) -> rsetcd::Result<()> {
//! let session = client.session(10).await?;
//! let held = client.lock("/locks/db", &session).await?;
//! // … only one holder at a time here …
//! client.unlock(&held.key).await?;
//! session.close().await?;
//! # Ok(()) }
//! ```

use super::client::Client;
use super::lease::KeepAlive;
use super::proto::v3lockpb::{LockRequest, LockResponse, UnlockRequest, UnlockResponse};
use super::range::bytes;
use crate::error::Result;
use crate::retry::{Deadline, Retry};

/// A lease kept alive in the background, to which locks and election candidacies are tied: if
/// the process dies, the lease expires and they are released.
#[derive(Debug)]
pub struct Session {
    client: Client,
    keep: KeepAlive,
}

impl Session {
    /// The lease ID.
    pub fn lease_id(&self) -> i64 {
        self.keep.id()
    }

    /// The keep-alive: ask it whether the lease is still alive, or wait for its loss.
    pub fn keep_alive(&mut self) -> &mut KeepAlive {
        &mut self.keep
    }

    /// Ends the session: revokes the lease, which releases its locks and candidacies at once.
    pub async fn close(self) -> Result<()> {
        let id = self.keep.id();
        drop(self.keep);
        self.client.lease_revoke(id).await.map(|_| ())
    }
}

impl Client {
    /// A session: a lease of `ttl` seconds, kept alive until the session is closed or dropped
    /// (dropped, the lease expires after its TTL).
    pub async fn session(&self, ttl: i64) -> Result<Session> {
        let lease = self.lease_grant(ttl).await?;
        let keep = self.lease_keep_alive(lease.id).await?;
        Ok(Session {
            client: self.clone(),
            keep,
        })
    }

    /// Waits until the lock `name` is ours, tied to `session`; the answer's `key` is held while
    /// we own the lock (give it to [`unlock`](Client::unlock), or use it in transaction
    /// compares). No timeout applies: wrap the call in `tokio::time::timeout` to give up.
    pub async fn lock(&self, name: impl AsRef<[u8]>, session: &Session) -> Result<LockResponse> {
        let req = LockRequest {
            name: bytes(name),
            lease: session.lease_id(),
        };
        self.core
            .unary_with(Retry::Write, Deadline::none(), req)
            .await
    }

    /// Releases the lock held under `key` (from [`lock`](Client::lock)).
    pub async fn unlock(&self, key: impl AsRef<[u8]>) -> Result<UnlockResponse> {
        let req = UnlockRequest { key: bytes(key) };
        // Deleting the key twice is harmless.
        self.core.unary(Retry::Read, req).await
    }
}
