//! Cluster membership: list, add (also as a learner), remove, update, promote; and the member
//! sync behind the builder's `sync_interval`.

use super::client::{Client, Core, Retry};
use super::proto::etcdserverpb::{
    MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse,
};
use crate::endpoints::{Endpoint, Scheme};
use crate::error::Result;

impl Client {
    /// Lists the cluster's members.
    pub async fn member_list(&self) -> Result<MemberListResponse> {
        member_list(&self.core).await
    }

    /// Adds a member with these peer URLs; as a non-voting learner when `learner` (promote it
    /// with [`member_promote`](Client::member_promote) once it has caught up).
    pub async fn member_add<I, S>(&self, peer_urls: I, learner: bool) -> Result<MemberAddResponse>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let req = MemberAddRequest {
            peer_ur_ls: peer_urls.into_iter().map(Into::into).collect(),
            is_learner: learner,
        };
        self.core.unary(Retry::Write, req).await
    }

    /// Removes member `id`.
    pub async fn member_remove(&self, id: u64) -> Result<MemberRemoveResponse> {
        let req = MemberRemoveRequest { id };
        self.core.unary(Retry::Write, req).await
    }

    /// Changes the peer URLs of member `id`.
    pub async fn member_update<I, S>(&self, id: u64, peer_urls: I) -> Result<MemberUpdateResponse>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let req = MemberUpdateRequest {
            id,
            peer_ur_ls: peer_urls.into_iter().map(Into::into).collect(),
        };
        // Setting the same URLs twice changes nothing.
        self.core.unary(Retry::Read, req).await
    }

    /// Promotes learner `id` to a voting member (refused until it has caught up with the
    /// leader: [`V3ErrorKind::LearnerNotReady`](super::V3ErrorKind::LearnerNotReady)).
    pub async fn member_promote(&self, id: u64) -> Result<MemberPromoteResponse> {
        let req = MemberPromoteRequest { id };
        self.core.unary(Retry::Write, req).await
    }

    /// Replaces the client's endpoints with the client URLs of the cluster's members (what the
    /// builder's `sync_interval` does periodically). Learners are left out.
    pub async fn sync_members(&self) -> Result<Vec<String>> {
        sync_members(&self.core).await
    }
}

async fn member_list(core: &Core) -> Result<MemberListResponse> {
    core.unary(Retry::Read, MemberListRequest {}).await
}

pub(crate) async fn sync_members(core: &Core) -> Result<Vec<String>> {
    let answer = member_list(core).await?;
    let mut endpoints = Vec::new();
    for member in answer.members.iter().filter(|m| !m.is_learner) {
        for url in &member.client_ur_ls {
            match Endpoint::parse(url, Scheme::Http, crate::config::DEFAULT_PORT) {
                Ok(e) if !endpoints.contains(&e) => endpoints.push(e),
                Ok(_) => {}
                Err(e) => tracing::debug!(%url, error = %e, "member sync: skipping a client URL"),
            }
        }
    }
    let urls = endpoints.iter().map(|e| e.url().to_string()).collect();
    core.endpoints.replace(endpoints);
    Ok(urls)
}
