//! The v3 API's refusals as values to match on: [`GrpcCode`] and [`V3ErrorKind`].
//!
//! Which of them leave a request's outcome open, or prove it was not applied, is read by the
//! retry rules ([`crate::retry`]).

use std::fmt;

/// The gRPC status code of an [`Error::V3`](crate::Error::V3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrpcCode {
    /// 1: the call was cancelled.
    Cancelled,
    /// 2: unknown error.
    Unknown,
    /// 3: the client sent an invalid argument.
    InvalidArgument,
    /// 4: the deadline ran out.
    DeadlineExceeded,
    /// 5: something was not found (a lease, a member).
    NotFound,
    /// 6: something already exists.
    AlreadyExists,
    /// 7: the caller may not do this.
    PermissionDenied,
    /// 8: a resource (space, request rate) is exhausted.
    ResourceExhausted,
    /// 9: the system is not in a state for this operation.
    FailedPrecondition,
    /// 10: the operation was aborted.
    Aborted,
    /// 11: out of range (compacted or future revisions).
    OutOfRange,
    /// 12: not implemented by this server.
    Unimplemented,
    /// 13: internal server error.
    Internal,
    /// 14: the service is unavailable (no leader, stopping, timed out).
    Unavailable,
    /// 15: data loss (a corrupt cluster).
    DataLoss,
    /// 16: no valid authentication.
    Unauthenticated,
}

macro_rules! kinds {
    ($($(#[$doc:meta])* $name:ident $(= $msg:literal)?,)*) => {
        /// What etcd's v3 API refused, for matching: `err.v3_kind() == Some(V3ErrorKind::Compacted)`.
        ///
        /// Key not found is not an error in v3 (a get simply returns no key).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum V3ErrorKind {
            $($(#[$doc])* $name,)*
        }

        impl V3ErrorKind {
            #[cfg(feature = "v3")]
            pub(crate) fn from_message(message: &str) -> Option<V3ErrorKind> {
                // A Go status printed as text: "rpc error: code = … desc = etcdserver: …".
                let message = message.split_once(" desc = ").map_or(message, |(_, m)| m);
                match message {
                    "election: no leader" => return Some(V3ErrorKind::ElectionNoLeader),
                    "election: not leader" => return Some(V3ErrorKind::ElectionNotLeader),
                    // etcd 3.5 answers a password for a user without one with this internal
                    // error (gRPC Unknown) rather than its usual authentication failure.
                    "auth: authentication failed, password was given for no password user" => {
                        return Some(V3ErrorKind::AuthFailed)
                    }
                    _ => {}
                }
                $($(if message == concat!("etcdserver: ", $msg) { return Some(V3ErrorKind::$name); })?)*
                None
            }
        }
    };
}

kinds! {
    /// The revision asked for has been compacted away.
    Compacted = "mvcc: required revision has been compacted",
    /// The revision asked for is in the future.
    FutureRevision = "mvcc: required revision is a future revision",
    /// The database has reached its space quota (a NOSPACE alarm is raised).
    NoSpace = "mvcc: database space exceeded",
    /// The lease does not exist (expired or revoked).
    LeaseNotFound = "requested lease not found",
    /// A lease with this ID already exists.
    LeaseExists = "lease already exists",
    /// The lease TTL is too large.
    LeaseTtlTooLarge = "too large lease TTL",
    /// The key is empty.
    EmptyKey = "key is not provided",
    /// A value was given with `ignore_value`.
    ValueProvided = "value is provided",
    /// A lease was given with `ignore_lease`.
    LeaseProvided = "lease is provided",
    /// The transaction has too many operations.
    TooManyOps = "too many operations in txn request",
    /// The transaction writes one key twice.
    DuplicateKey = "duplicate key given in txn request",
    /// The request is too large.
    RequestTooLarge = "request is too large",
    /// The server has too many requests pending.
    TooManyRequests = "too many requests",
    /// The user name or password is wrong.
    AuthFailed = "authentication failed, invalid user ID or password",
    /// The auth token is invalid or expired (rsetcd re-authenticates by itself).
    InvalidAuthToken = "invalid auth token",
    /// The auth store changed since the token was issued (rsetcd re-authenticates by itself).
    AuthOldRevision = "revision of auth store is old",
    /// The user may not do this.
    PermissionDenied = "permission denied",
    /// Authentication is not enabled.
    AuthNotEnabled = "authentication is not enabled",
    /// The request carries no user name while auth is enabled.
    UserEmpty = "user name is empty",
    /// The user does not exist.
    UserNotFound = "user name not found",
    /// The user already exists.
    UserExists = "user name already exists",
    /// The role name is empty.
    RoleEmpty = "role name is empty",
    /// The role does not exist.
    RoleNotFound = "role name not found",
    /// The role already exists.
    RoleExists = "role name already exists",
    /// The role is not granted to the user.
    RoleNotGranted = "role is not granted to the user",
    /// The permission is not granted to the role.
    PermissionNotGranted = "permission is not granted to the role",
    /// Auth cannot be enabled: there is no `root` user.
    RootUserMissing = "root user does not exist",
    /// Auth cannot be enabled: the `root` user lacks the `root` role.
    RootRoleMissing = "root user does not have root role",
    /// An invalid auth management operation (such as revoking root's root role).
    InvalidAuthManagement = "invalid auth management",
    /// The member has no leader.
    NoLeader = "no leader",
    /// The member is not the leader.
    NotLeader = "not leader",
    /// The leader changed during the request.
    LeaderChanged = "leader changed",
    /// The cluster version does not support this.
    NotCapable = "not capable",
    /// The server is stopping.
    Stopped = "server stopped",
    /// The request timed out inside etcd (a write may still be applied).
    RequestTimedOut = "request timed out",
    /// The request timed out inside etcd after a leader failure.
    TimedOutLeaderFail = "request timed out, possibly due to previous leader failure",
    /// The request timed out inside etcd after a lost connection.
    TimedOutConnectionLost = "request timed out, possibly due to connection lost",
    /// The request timed out waiting for the applied index.
    TimedOutWaitAppliedIndex = "request timed out, waiting for the applied index took too long",
    /// A membership change was refused because not every member has been connected long
    /// enough (for example just after a leader change): try again a few seconds later.
    Unhealthy = "unhealthy cluster",
    /// The cluster is corrupt.
    Corrupt = "corrupt cluster",
    /// A learner member does not serve this request.
    NotSupportedForLearner = "rpc not supported for learner",
    /// The leader cannot be moved to that member.
    BadLeaderTransferee = "bad leader transferee",
    /// The member ID already exists.
    MemberExists = "member ID already exist",
    /// The peer URLs already exist.
    PeerUrlExists = "Peer URLs already exists",
    /// Reconfiguration refused: not enough started members.
    MemberNotEnoughStarted = "re-configuration failed due to not enough started members",
    /// The member URLs are invalid.
    MemberBadUrls = "given member URLs are invalid",
    /// The member does not exist.
    MemberNotFound = "member not found",
    /// Only a learner can be promoted.
    MemberNotLearner = "can only promote a learner member",
    /// The learner is not yet in sync with the leader.
    LearnerNotReady = "can only promote a learner member which is in sync with leader",
    /// The cluster has too many learners.
    TooManyLearners = "too many learner members in cluster",
    /// The watch was cancelled by the server.
    WatchCanceled = "watch canceled",
    /// An election has no leader (a proclaim or resign by a candidate that does not lead).
    ElectionNoLeader,
    /// The candidate is not (or no longer) the leader of the election.
    ElectionNotLeader,
    /// The server is unavailable for another reason.
    Unavailable,
    /// Another error; see the message and the gRPC code.
    Other,
}

impl V3ErrorKind {
    /// Whether etcd rejected the request before acting on it (no leader, a learner, a cluster
    /// version without the feature), so sending it to another member is safe even for a write.
    /// An `Unavailable` status without one of etcd's messages is not among them: nothing proves
    /// that whoever sent it (etcd stopping, a proxy) had not passed the request on.
    pub(crate) fn not_applied(self) -> bool {
        matches!(
            self,
            V3ErrorKind::NoLeader | V3ErrorKind::NotCapable | V3ErrorKind::NotSupportedForLearner
        )
    }

    /// Whether a write with this answer may or may not have been applied.
    pub(crate) fn outcome_unknown(self) -> bool {
        matches!(
            self,
            V3ErrorKind::RequestTimedOut
                | V3ErrorKind::TimedOutLeaderFail
                | V3ErrorKind::TimedOutConnectionLost
                | V3ErrorKind::TimedOutWaitAppliedIndex
                | V3ErrorKind::Stopped
                | V3ErrorKind::LeaderChanged
                | V3ErrorKind::Unavailable
        )
    }

    /// Whether a fresh auth token may fix it.
    #[cfg(feature = "v3")]
    pub(crate) fn token_problem(self) -> bool {
        matches!(
            self,
            V3ErrorKind::InvalidAuthToken | V3ErrorKind::AuthOldRevision | V3ErrorKind::UserEmpty
        )
    }
}

impl fmt::Display for V3ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(all(test, feature = "v3"))]
mod tests {
    use super::V3ErrorKind;

    #[cfg(feature = "v3")]
    #[test]
    fn messages_name_their_kind_with_or_without_the_grpc_prefix() {
        let cases = [
            (
                "etcdserver: permission denied",
                Some(V3ErrorKind::PermissionDenied),
            ),
            (
                "rpc error: code = Unavailable desc = etcdserver: no leader",
                Some(V3ErrorKind::NoLeader),
            ),
            ("election: not leader", Some(V3ErrorKind::ElectionNotLeader)),
            (
                "auth: authentication failed, password was given for no password user",
                Some(V3ErrorKind::AuthFailed),
            ),
            ("etcdserver: something new", None),
            ("", None),
        ];
        for (message, kind) in cases {
            assert_eq!(V3ErrorKind::from_message(message), kind, "{message:?}");
        }
    }
}
