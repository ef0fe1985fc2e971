//! etcd's v2 error codes.

use std::fmt;

macro_rules! etcd_codes {
    ($($(#[$doc:meta])* $name:ident = $num:literal,)*) => {
        /// Every error code of etcd's v2 API (100–500), plus [`EtcdCode::Unknown`] for codes this
        /// version of rsetcd does not know.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EtcdCode {
            $($(#[$doc])* $name,)*
            /// A code not in etcd 3.4's list.
            Unknown(u16),
        }

        impl EtcdCode {
            /// Every known code, in numeric order.
            pub const ALL: &'static [EtcdCode] = &[$(EtcdCode::$name,)*];

            /// The numeric code etcd sends.
            pub fn as_u16(self) -> u16 {
                match self {
                    $(EtcdCode::$name => $num,)*
                    EtcdCode::Unknown(n) => n,
                }
            }
        }

        impl From<u16> for EtcdCode {
            fn from(n: u16) -> Self {
                match n {
                    $($num => EtcdCode::$name,)*
                    other => EtcdCode::Unknown(other),
                }
            }
        }
    };
}

etcd_codes! {
    /// 100: the key does not exist.
    KeyNotFound = 100,
    /// 101: a `prevValue` / `prevIndex` condition did not hold.
    TestFailed = 101,
    /// 102: the operation needs a file but found a directory.
    NotFile = 102,
    /// 103: the cluster has reached its maximum number of peers.
    NoMorePeer = 103,
    /// 104: the operation needs a directory but found a file.
    NotDir = 104,
    /// 105: the key already exists (`prevExist=false`, `mkdir`).
    NodeExist = 105,
    /// 106: the key's prefix is an etcd keyword.
    KeyIsPreserved = 106,
    /// 107: the root is read only.
    RootReadOnly = 107,
    /// 108: the directory is not empty (use `recursive`).
    DirNotEmpty = 108,
    /// 109: the peer address already exists.
    ExistingPeerAddr = 109,
    /// 110: the request needs (other) credentials.
    Unauthorized = 110,
    /// 200: a value is required.
    ValueRequired = 200,
    /// 201: `prevValue` must not be empty.
    PrevValueRequired = 201,
    /// 202: the TTL is not a number.
    TtlNaN = 202,
    /// 203: the index is not a number.
    IndexNaN = 203,
    /// 204: a value or TTL is required.
    ValueOrTtlRequired = 204,
    /// 205: the timeout is not a number.
    TimeoutNaN = 205,
    /// 206: a name is required.
    NameRequired = 206,
    /// 207: an index or a value is required.
    IndexOrValueRequired = 207,
    /// 208: index and value cannot both be given.
    IndexValueMutex = 208,
    /// 209: a field is invalid.
    InvalidField = 209,
    /// 210: the form body is invalid.
    InvalidForm = 210,
    /// 211: a value was given on a TTL refresh.
    RefreshValue = 211,
    /// 212: a TTL refresh needs a TTL.
    RefreshTtlRequired = 212,
    /// 300: raft internal error (often: no quorum; a write's outcome is then unknown).
    RaftInternal = 300,
    /// 301: a leader election is in progress.
    LeaderElect = 301,
    /// 400: the watcher was cleared by an etcd recovery.
    WatcherCleared = 400,
    /// 401: the requested index is older than etcd's 1,000-event history.
    EventIndexCleared = 401,
    /// 402: standby internal error.
    StandbyInternal = 402,
    /// 403: invalid active size.
    InvalidActiveSize = 403,
    /// 404: invalid remove delay.
    InvalidRemoveDelay = 404,
    /// 500: client internal error.
    ClientInternal = 500,
}

impl fmt::Display for EtcdCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtcdCode::Unknown(n) => write!(f, "{n} (unknown code)"),
            other => write!(f, "{} {:?}", other.as_u16(), other),
        }
    }
}
