//! etcd's v2 API (HTTP and JSON), as served by etcd 2.x and by 3.4 / 3.5 with `--enable-v2=true`.
//!
//! [`Client`] is the async entry point; `blocking::Client` (feature `blocking`) offers the same
//! operations without async. With the `v3` feature too, both can also run the v2 data model over
//! the v3 API (etcd 3.6 has no v2 API): see `V2Backend`. Without `v3`, every call is HTTP and
//! neither `V2Backend` nor [`ClientBuilder::v2_backend`](crate::ClientBuilder) exists.

pub mod auth;
#[cfg(feature = "v3")]
#[cfg_attr(docsrs, doc(cfg(feature = "v3")))]
pub mod backend;
#[cfg(feature = "blocking")]
#[cfg_attr(docsrs, doc(cfg(feature = "blocking")))]
pub mod blocking;
mod client;
mod cluster;
mod conn;
pub mod keys;
#[cfg(feature = "v3")]
#[cfg_attr(docsrs, doc(cfg(feature = "v3")))]
pub mod over_v3;
mod response;
pub mod stats;
mod transport;
pub mod watch;
mod wire;

#[cfg(feature = "v3")]
#[cfg_attr(docsrs, doc(cfg(feature = "v3")))]
pub use backend::{V2Backend, DEFAULT_V3_PREFIX};
pub use client::Client;
pub use cluster::{Member, MemberId, Version};
pub use keys::{Delete, Read, Write};
pub use response::{Action, Node, Response};
pub use watch::{Watch, WatchEvent, WatchStream};
