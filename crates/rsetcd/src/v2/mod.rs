//! etcd's v2 API (HTTP and JSON), as served by etcd 2.x and by 3.4 / 3.5 with `--enable-v2=true`.
//!
//! [`Client`] is the async entry point; [`blocking::Client`] offers the same operations without
//! async. Both can also run the v2 data model over the v3 API (etcd 3.6 has no v2 API): see
//! [`V2Backend`].

pub mod auth;
pub mod backend;
pub mod blocking;
mod client;
mod cluster;
mod conn;
pub mod keys;
pub mod over_v3;
mod response;
pub mod stats;
mod transport;
pub mod watch;
mod wire;

pub use backend::{V2Backend, DEFAULT_V3_PREFIX};
pub use client::Client;
pub use cluster::{Member, MemberId, Version};
pub use keys::{Delete, Read, Write};
pub use response::{Action, Node, Response};
pub use watch::{Watch, WatchEvent, WatchStream};
