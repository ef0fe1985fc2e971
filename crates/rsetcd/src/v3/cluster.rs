//! Cluster membership: list, add (also as a learner), remove, update, promote; and the member
//! sync behind the builder's `sync_interval`.

use super::client::Client;
use super::proto::etcdserverpb::{
    MemberAddRequest, MemberAddResponse, MemberListRequest, MemberListResponse,
    MemberPromoteRequest, MemberPromoteResponse, MemberRemoveRequest, MemberRemoveResponse,
    MemberUpdateRequest, MemberUpdateResponse,
};
use crate::error::Result;
use crate::retry::Retry;

impl Client {
    /// Lists the cluster's members.
    pub async fn member_list(&self) -> Result<MemberListResponse> {
        self.core.unary(Retry::Read, MemberListRequest {}).await
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
        self.core.sync_members().await
    }
}
