//! Which gRPC method serves each unary request, and what it answers: one table, so a request
//! can only ever go to its own method and come back as its own answer type.

use super::proto::{etcdserverpb, v3electionpb, v3lockpb};

/// A request of a unary method: the method's path and the type of its answer.
pub(crate) trait Unary: prost::Message + Send + Sync + 'static {
    /// The answer's message.
    type Response: prost::Message + Default + Send + 'static;
    /// The method, as `/package.Service/Method`.
    const PATH: &'static str;
}

macro_rules! unary {
    ($($req:ty => $resp:ty, $path:literal;)*) => {
        $(impl Unary for $req {
            type Response = $resp;
            const PATH: &'static str = $path;
        })*

        /// Every path of the table, for the test that checks them against the generated stubs.
        #[cfg(test)]
        const PATHS: &[&str] = &[$($path),*];
    };
}

unary! {
    etcdserverpb::RangeRequest => etcdserverpb::RangeResponse, "/etcdserverpb.KV/Range";
    etcdserverpb::PutRequest => etcdserverpb::PutResponse, "/etcdserverpb.KV/Put";
    etcdserverpb::DeleteRangeRequest => etcdserverpb::DeleteRangeResponse, "/etcdserverpb.KV/DeleteRange";
    etcdserverpb::TxnRequest => etcdserverpb::TxnResponse, "/etcdserverpb.KV/Txn";
    etcdserverpb::CompactionRequest => etcdserverpb::CompactionResponse, "/etcdserverpb.KV/Compact";
    etcdserverpb::LeaseGrantRequest => etcdserverpb::LeaseGrantResponse, "/etcdserverpb.Lease/LeaseGrant";
    etcdserverpb::LeaseRevokeRequest => etcdserverpb::LeaseRevokeResponse, "/etcdserverpb.Lease/LeaseRevoke";
    etcdserverpb::LeaseTimeToLiveRequest => etcdserverpb::LeaseTimeToLiveResponse, "/etcdserverpb.Lease/LeaseTimeToLive";
    etcdserverpb::LeaseLeasesRequest => etcdserverpb::LeaseLeasesResponse, "/etcdserverpb.Lease/LeaseLeases";
    etcdserverpb::MemberAddRequest => etcdserverpb::MemberAddResponse, "/etcdserverpb.Cluster/MemberAdd";
    etcdserverpb::MemberRemoveRequest => etcdserverpb::MemberRemoveResponse, "/etcdserverpb.Cluster/MemberRemove";
    etcdserverpb::MemberUpdateRequest => etcdserverpb::MemberUpdateResponse, "/etcdserverpb.Cluster/MemberUpdate";
    etcdserverpb::MemberListRequest => etcdserverpb::MemberListResponse, "/etcdserverpb.Cluster/MemberList";
    etcdserverpb::MemberPromoteRequest => etcdserverpb::MemberPromoteResponse, "/etcdserverpb.Cluster/MemberPromote";
    etcdserverpb::AlarmRequest => etcdserverpb::AlarmResponse, "/etcdserverpb.Maintenance/Alarm";
    etcdserverpb::StatusRequest => etcdserverpb::StatusResponse, "/etcdserverpb.Maintenance/Status";
    etcdserverpb::DefragmentRequest => etcdserverpb::DefragmentResponse, "/etcdserverpb.Maintenance/Defragment";
    etcdserverpb::HashKvRequest => etcdserverpb::HashKvResponse, "/etcdserverpb.Maintenance/HashKV";
    etcdserverpb::MoveLeaderRequest => etcdserverpb::MoveLeaderResponse, "/etcdserverpb.Maintenance/MoveLeader";
    etcdserverpb::AuthEnableRequest => etcdserverpb::AuthEnableResponse, "/etcdserverpb.Auth/AuthEnable";
    etcdserverpb::AuthDisableRequest => etcdserverpb::AuthDisableResponse, "/etcdserverpb.Auth/AuthDisable";
    etcdserverpb::AuthStatusRequest => etcdserverpb::AuthStatusResponse, "/etcdserverpb.Auth/AuthStatus";
    etcdserverpb::AuthenticateRequest => etcdserverpb::AuthenticateResponse, "/etcdserverpb.Auth/Authenticate";
    etcdserverpb::AuthUserAddRequest => etcdserverpb::AuthUserAddResponse, "/etcdserverpb.Auth/UserAdd";
    etcdserverpb::AuthUserGetRequest => etcdserverpb::AuthUserGetResponse, "/etcdserverpb.Auth/UserGet";
    etcdserverpb::AuthUserListRequest => etcdserverpb::AuthUserListResponse, "/etcdserverpb.Auth/UserList";
    etcdserverpb::AuthUserDeleteRequest => etcdserverpb::AuthUserDeleteResponse, "/etcdserverpb.Auth/UserDelete";
    etcdserverpb::AuthUserChangePasswordRequest => etcdserverpb::AuthUserChangePasswordResponse, "/etcdserverpb.Auth/UserChangePassword";
    etcdserverpb::AuthUserGrantRoleRequest => etcdserverpb::AuthUserGrantRoleResponse, "/etcdserverpb.Auth/UserGrantRole";
    etcdserverpb::AuthUserRevokeRoleRequest => etcdserverpb::AuthUserRevokeRoleResponse, "/etcdserverpb.Auth/UserRevokeRole";
    etcdserverpb::AuthRoleAddRequest => etcdserverpb::AuthRoleAddResponse, "/etcdserverpb.Auth/RoleAdd";
    etcdserverpb::AuthRoleGetRequest => etcdserverpb::AuthRoleGetResponse, "/etcdserverpb.Auth/RoleGet";
    etcdserverpb::AuthRoleListRequest => etcdserverpb::AuthRoleListResponse, "/etcdserverpb.Auth/RoleList";
    etcdserverpb::AuthRoleDeleteRequest => etcdserverpb::AuthRoleDeleteResponse, "/etcdserverpb.Auth/RoleDelete";
    etcdserverpb::AuthRoleGrantPermissionRequest => etcdserverpb::AuthRoleGrantPermissionResponse, "/etcdserverpb.Auth/RoleGrantPermission";
    etcdserverpb::AuthRoleRevokePermissionRequest => etcdserverpb::AuthRoleRevokePermissionResponse, "/etcdserverpb.Auth/RoleRevokePermission";
    v3lockpb::LockRequest => v3lockpb::LockResponse, "/v3lockpb.Lock/Lock";
    v3lockpb::UnlockRequest => v3lockpb::UnlockResponse, "/v3lockpb.Lock/Unlock";
    v3electionpb::CampaignRequest => v3electionpb::CampaignResponse, "/v3electionpb.Election/Campaign";
    v3electionpb::ProclaimRequest => v3electionpb::ProclaimResponse, "/v3electionpb.Election/Proclaim";
    v3electionpb::LeaderRequest => v3electionpb::LeaderResponse, "/v3electionpb.Election/Leader";
    v3electionpb::ResignRequest => v3electionpb::ResignResponse, "/v3electionpb.Election/Resign";
}

#[cfg(test)]
mod tests {
    use super::PATHS;

    /// Each path is one the generated client stubs use (so a typo cannot send a request to a
    /// method that does not exist).
    #[test]
    fn paths_match_the_generated_stubs() {
        let generated = [
            include_str!("generated/etcdserverpb.rs"),
            include_str!("generated/v3lockpb.rs"),
            include_str!("generated/v3electionpb.rs"),
        ]
        .concat();
        for path in PATHS {
            let quoted = format!("\"{path}\"");
            assert!(
                generated.contains(&quoted),
                "{path} is not a method of the stubs"
            );
        }
    }
}
