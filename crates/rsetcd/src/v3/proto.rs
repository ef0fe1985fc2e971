//! etcd's v3 messages and gRPC stubs as etcd 3.4 defines them, generated from the `.proto` files in
//! `crates/rsetcd/proto` (regenerate with `scripts/gen-v3-protos.sh`; no `protoc` needed).
//!
//! The friendly API of [`crate::v3`] returns these messages as answers (for example
//! [`etcdserverpb::RangeResponse`] with its [`mvccpb::KeyValue`]s). Fields are documented with
//! etcd's own comments where etcd has them.

#![allow(missing_docs, clippy::all, clippy::pedantic, rustdoc::all)]

/// Keys, values and events (`mvccpb`).
pub mod mvccpb {
    include!("generated/mvccpb.rs");
}

/// Users, roles and permissions (`authpb`).
pub mod authpb {
    include!("generated/authpb.rs");
}

/// The KV, Watch, Lease, Cluster, Maintenance and Auth services (`etcdserverpb`).
pub mod etcdserverpb {
    include!("generated/etcdserverpb.rs");
}

/// The lock service (`v3lockpb`).
pub mod v3lockpb {
    include!("generated/v3lockpb.rs");
}

/// The election service (`v3electionpb`).
pub mod v3electionpb {
    include!("generated/v3electionpb.rs");
}
