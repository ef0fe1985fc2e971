//! Why a migration stopped.

/// What can stop a migration (a run stopped by any of these can be run again: it resumes).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A v2 or v3 call failed (unreachable, refused, timed out, an unknown outcome).
    #[error(transparent)]
    Etcd(#[from] crate::Error),
    /// The prefix already holds nodes, and no checkpoint of a migration says they are its own:
    /// choose another prefix, or overwrite them ([`Migration::overwrite`](super::Migration::overwrite)).
    #[error(
        "the v3 prefix {prefix:?} already holds {keys} key(s) not written by a migration: \
         refusing to mix them with the v2 keyspace (choose another --prefix, or --overwrite to \
         replace them)"
    )]
    TargetNotEmpty {
        /// The prefix.
        prefix: String,
        /// How many keys are under it.
        keys: u64,
    },
    /// The prefix holds a migration from another v2 cluster (its checkpoint names another
    /// cluster ID).
    #[error(
        "the v3 prefix {prefix:?} holds a migration from v2 cluster {found}, not from this one \
         ({source_cluster}): refusing (--overwrite to replace it)"
    )]
    OtherSource {
        /// The prefix.
        prefix: String,
        /// The cluster ID in the checkpoint.
        found: String,
        /// This source's cluster ID.
        source_cluster: String,
    },
    /// The copy kept changing under the migration (another writer under the prefix): every
    /// attempt found keys changed since it read them. Nothing half-written; run it again.
    #[error(
        "the v3 keys under {prefix:?} kept changing while the migration wrote them ({attempts} \
         attempts): is another writer using the prefix? Nothing was half-written; run it again"
    )]
    Contention {
        /// The prefix.
        prefix: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The checkpoint key holds something that is not a checkpoint.
    #[error("the checkpoint key {key:?} holds something else: {reason}")]
    BadCheckpoint {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
}
