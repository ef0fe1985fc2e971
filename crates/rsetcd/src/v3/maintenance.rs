//! Maintenance: status, alarms, defragmentation, hashes, snapshots and moving the leader.
//! Per-member operations take the endpoint of the member (`*_at`), as etcd answers them for
//! the member asked.

use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use super::client::Client;
use super::core::request;
use super::error::from_status;
use super::proto::etcdserverpb::alarm_request::AlarmAction;
use super::proto::etcdserverpb::maintenance_client::MaintenanceClient;
use super::proto::etcdserverpb::{
    AlarmMember, AlarmRequest, AlarmResponse, AlarmType, DefragmentRequest, DefragmentResponse,
    HashKvRequest, HashKvResponse, MoveLeaderRequest, MoveLeaderResponse, SnapshotRequest,
    StatusRequest, StatusResponse,
};
use crate::endpoints::{Endpoint, Scheme};
use crate::error::{Error, Result};
use crate::retry::Retry;

fn endpoint(url: &str) -> Result<Endpoint> {
    Endpoint::parse(url, Scheme::Http, crate::config::DEFAULT_PORT)
}

impl Client {
    /// The status of the member the client talks to (version, database size, leader, raft index).
    pub async fn status(&self) -> Result<StatusResponse> {
        self.core.unary(Retry::Read, StatusRequest {}).await
    }

    /// The status of the member at `endpoint` (a client URL such as `http://10.0.1.10:2379`).
    pub async fn status_at(&self, endpoint_url: &str) -> Result<StatusResponse> {
        let timeout = Some(self.core.config.request_timeout);
        self.core
            .unary_at(&endpoint(endpoint_url)?, timeout, StatusRequest {})
            .await
    }

    /// Every raised alarm (NOSPACE, CORRUPT) of every member.
    pub async fn alarm_list(&self) -> Result<Vec<AlarmMember>> {
        let req = AlarmRequest {
            action: AlarmAction::Get as i32,
            member_id: 0,
            alarm: AlarmType::None as i32,
        };
        Ok(self.alarm(req).await?.alarms)
    }

    /// Clears one alarm of one member.
    pub async fn alarm_disarm(&self, member_id: u64, alarm: AlarmType) -> Result<AlarmResponse> {
        let req = AlarmRequest {
            action: AlarmAction::Deactivate as i32,
            member_id,
            alarm: alarm as i32,
        };
        self.alarm(req).await
    }

    /// Clears every raised alarm; returns those that were cleared.
    pub async fn alarm_disarm_all(&self) -> Result<Vec<AlarmMember>> {
        let alarms = self.alarm_list().await?;
        for a in &alarms {
            let kind = AlarmType::try_from(a.alarm).unwrap_or(AlarmType::None);
            self.alarm_disarm(a.member_id, kind).await?;
        }
        Ok(alarms)
    }

    async fn alarm(&self, req: AlarmRequest) -> Result<AlarmResponse> {
        self.core.unary(Retry::Read, req).await
    }

    /// Defragments the database of the member at `endpoint_url`, giving back the space freed by
    /// compaction (the member stops serving while it runs; no timeout applies).
    pub async fn defragment_at(&self, endpoint_url: &str) -> Result<DefragmentResponse> {
        self.core
            .unary_at(&endpoint(endpoint_url)?, None, DefragmentRequest {})
            .await
    }

    /// The hash of the key-value history of the member at `endpoint_url` up to `revision` (0:
    /// the newest); equal on every member that is in sync.
    pub async fn hash_kv_at(&self, endpoint_url: &str, revision: i64) -> Result<HashKvResponse> {
        let timeout = Some(self.core.config.request_timeout);
        let req = HashKvRequest { revision };
        self.core
            .unary_at(&endpoint(endpoint_url)?, timeout, req)
            .await
    }

    /// Streams a snapshot of the database into the file at `path` (written to `path.part`, then
    /// renamed), calling `progress(bytes_received, bytes_remaining)` after each chunk. Returns
    /// the size. Each chunk must arrive within the request timeout.
    pub async fn snapshot_to_file(
        &self,
        path: impl AsRef<Path>,
        mut progress: impl FnMut(u64, u64) + Send,
    ) -> Result<u64> {
        let path = path.as_ref();
        let part = path.with_extension("part");
        let io = |what: &str, e: std::io::Error| {
            Error::InvalidArgument(format!("{what} {}: {e}", part.display()))
        };
        let limit = self.core.config.request_timeout;
        let (mut stream, endpoint) = self
            .core
            .open(Some(limit), None, |ch, token| async move {
                let req = request(SnapshotRequest {}, &token);
                let mut client = MaintenanceClient::new(ch).max_decoding_message_size(usize::MAX);
                Ok(client.snapshot(req).await?.into_inner())
            })
            .await?;
        let mut file = tokio::fs::File::create(&part)
            .await
            .map_err(|e| io("cannot create", e))?;
        let copied = async {
            let mut received = 0u64;
            loop {
                let chunk = match tokio::time::timeout(limit, stream.message()).await {
                    Ok(Ok(Some(chunk))) => chunk,
                    Ok(Ok(None)) => {
                        return Err(Error::transport(
                            endpoint.url(),
                            "the snapshot stream ended before its last chunk",
                        ))
                    }
                    Ok(Err(status)) => return Err(from_status(&status, &endpoint)),
                    Err(_) => {
                        return Err(Error::Timeout {
                            endpoint: endpoint.url().into(),
                            after: limit,
                        })
                    }
                };
                file.write_all(&chunk.blob)
                    .await
                    .map_err(|e| io("cannot write", e))?;
                received += chunk.blob.len() as u64;
                progress(received, chunk.remaining_bytes);
                if chunk.remaining_bytes == 0 {
                    file.sync_all().await.map_err(|e| io("cannot sync", e))?;
                    return Ok(received);
                }
            }
        }
        .await;
        drop(file);
        // Nothing half-written is left behind: the file appears whole, or not at all.
        let received = match copied {
            Ok(received) => received,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e);
            }
        };
        tokio::fs::rename(&part, path)
            .await
            .map_err(|e| io("cannot rename", e))?;
        Ok(received)
    }

    /// Hands leadership to member `target_id`: asks every endpoint's status to find the leader,
    /// then asks the leader.
    pub async fn move_leader(&self, target_id: u64) -> Result<MoveLeaderResponse> {
        let mut failures = Vec::new();
        for url in self.endpoints() {
            match self.status_at(&url).await {
                Ok(s) if s.header.as_ref().is_some_and(|h| h.member_id == s.leader) => {
                    let req = MoveLeaderRequest { target_id };
                    let timeout = Some(self.core.config.request_timeout + Duration::from_secs(5));
                    return self.core.unary_at(&endpoint(&url)?, timeout, req).await;
                }
                Ok(_) => {}
                Err(e) => failures.push((url, e)),
            }
        }
        failures.push((
            "leader".into(),
            Error::InvalidArgument("no endpoint of this client is the leader".into()),
        ));
        Err(Error::NoMoreHosts { failures })
    }
}
