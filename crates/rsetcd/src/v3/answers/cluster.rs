//! Lease, member and status answers.

use crate::v3::proto::etcdserverpb::{
    LeaseGrantResponse, LeaseLeasesResponse, LeaseTimeToLiveResponse, Member, MemberAddResponse,
    MemberListResponse, MemberPromoteResponse, MemberRemoveResponse, MemberUpdateResponse,
    StatusResponse,
};

impl LeaseGrantResponse {
    /// The lease's id: give it to [`PutOp::lease`](crate::v3::PutOp::lease) and
    /// [`lease_keep_alive`](crate::v3::Client::lease_keep_alive).
    ///
    /// ```
    /// use rsetcd::v3::LeaseGrantResponse;
    /// let lease = LeaseGrantResponse { id: 42, ttl: 10, ..Default::default() };
    /// assert_eq!((lease.id(), lease.ttl()), (42, 10));
    /// ```
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The time to live etcd granted, in seconds.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }
}

impl LeaseTimeToLiveResponse {
    /// The lease's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The seconds left before the lease expires; `-1` when it has expired or never existed.
    pub fn ttl(&self) -> i64 {
        self.ttl
    }

    /// The time to live the lease was granted (or last refreshed to), in seconds.
    pub fn granted_ttl(&self) -> i64 {
        self.granted_ttl
    }

    /// Whether the lease has expired (or was revoked, or never existed).
    ///
    /// ```
    /// use rsetcd::v3::LeaseTimeToLiveResponse;
    /// assert!(LeaseTimeToLiveResponse { ttl: -1, ..Default::default() }.is_expired());
    /// assert!(!LeaseTimeToLiveResponse { ttl: 4, granted_ttl: 5, ..Default::default() }.is_expired());
    /// ```
    pub fn is_expired(&self) -> bool {
        self.ttl < 0
    }

    /// The keys attached to the lease, when asked for (`keys = true`).
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.keys.iter().map(|k| &k[..])
    }
}

impl LeaseLeasesResponse {
    /// The ids of every lease alive.
    pub fn ids(&self) -> impl ExactSizeIterator<Item = i64> + '_ {
        self.leases.iter().map(|l| l.id)
    }
}

impl Member {
    /// The member's id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The member's name; empty for a member added but not started yet.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the member has started (a member added but not started has no name yet).
    pub fn is_started(&self) -> bool {
        !self.name.is_empty()
    }

    /// The URLs the other members reach it on.
    ///
    /// ```
    /// use rsetcd::v3::Member;
    /// let m = Member {
    ///     id: 1,
    ///     name: "n1".into(),
    ///     peer_ur_ls: vec!["http://127.0.0.1:2380".into()],
    ///     client_ur_ls: vec!["http://127.0.0.1:2379".into()],
    ///     is_learner: false,
    /// };
    /// assert_eq!(m.client_urls(), ["http://127.0.0.1:2379"]);
    /// assert!(m.is_started() && !m.is_learner());
    /// ```
    pub fn peer_urls(&self) -> &[String] {
        &self.peer_ur_ls
    }

    /// The URLs clients reach it on (none before it started).
    pub fn client_urls(&self) -> &[String] {
        &self.client_ur_ls
    }

    /// Whether it is a learner: a member that receives the log but does not vote.
    pub fn is_learner(&self) -> bool {
        self.is_learner
    }
}

/// `members()` and `member_by_id(id)` on every answer listing the cluster's members.
macro_rules! with_members {
    ($($ty:ty),* $(,)?) => {
        $(
            impl $ty {
                /// The cluster's members (after the change, for a change).
                pub fn members(&self) -> &[Member] {
                    &self.members
                }

                /// The member with id `id`, if it is one.
                pub fn member_by_id(&self, id: u64) -> Option<&Member> {
                    self.members.iter().find(|m| m.id == id)
                }
            }
        )*
    };
}

with_members!(
    MemberListResponse,
    MemberAddResponse,
    MemberRemoveResponse,
    MemberUpdateResponse,
    MemberPromoteResponse,
);

impl MemberAddResponse {
    /// The member added.
    pub fn member(&self) -> Option<&Member> {
        self.member.as_ref()
    }
}

impl StatusResponse {
    /// The member's etcd version, say `3.5.1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The id of the cluster's leader, as this member knows it (0: none).
    pub fn leader(&self) -> u64 {
        self.leader
    }

    /// Whether the member that answered is the leader.
    pub fn is_leader(&self) -> bool {
        self.leader != 0 && self.leader == self.header().member_id
    }

    /// Whether the member that answered is a learner.
    pub fn is_learner(&self) -> bool {
        self.is_learner
    }

    /// The size of the member's database file, in bytes.
    pub fn db_size(&self) -> i64 {
        self.db_size
    }

    /// The raft index the member has committed.
    pub fn raft_index(&self) -> u64 {
        self.raft_index
    }

    /// The member's errors (alarms), as text.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }
}
