//! # rsetcd
//!
//! An etcd client for Rust. [`v2`] speaks etcd's v2 HTTP API (etcd 2.x, and 3.4 / 3.5 started with
//! `--enable-v2=true`) with an async core and a blocking face. [`v3`] speaks the v3 gRPC API (etcd
//! 3.x, the only API of etcd 3.6): KV, transactions, resuming watches, leases with keep-alive,
//! auth with self-renewing tokens, cluster, maintenance, locks and elections. Both are built from
//! the same [`ClientBuilder`] settings and report the same [`Error`] type.
//!
//! ```no_run
//! # async fn demo() -> rsetcd::Result<()> {
//! let client = rsetcd::v3::Client::builder()
//!     .endpoints(["http://10.0.1.10:2379", "http://10.0.1.11:2379"])
//!     .build()?;
//! client.put("/message", "Hello world").await?;
//! let answer = client.get("/message").await?;
//! assert_eq!(answer.kvs[0].value, "Hello world");
//! # Ok(()) }
//! ```
//!
//! The v2 API:
//!
//! ```no_run
//! # async fn demo() -> rsetcd::Result<()> {
//! let client = rsetcd::v2::Client::builder()
//!     .endpoints(["http://10.0.1.10:2379", "http://10.0.1.11:2379", "http://10.0.1.12:2379"])
//!     .build()?;
//! client.write("/message", "Hello world").await?;
//! let answer = client.read("/message").await?;
//! println!("{}", answer.node.value_str());
//! # Ok(()) }
//! ```
//!
//! ## Where things are
//!
//! - [`v2::Client`]: key operations ([`v2::keys`]), one-shot waits and resumable watch streams
//!   ([`v2::watch`]), members, leader, health, versions and statistics, member sync, the auth API
//!   ([`v2::auth`]); [`v2::blocking::Client`] does the same without async.
//! - [`ClientBuilder`] ([`config`]): endpoints as URLs, hosts or `(host, port)` pairs, timeouts,
//!   Basic credentials, TLS ([`tls`]), DNS SRV discovery ([`discovery`]), background member sync.
//! - [`Error`] and [`EtcdCode`]: every failure, typed.
//!
//! ## Errors
//!
//! Every call returns [`Result`]`<T, `[`Error`]`>`. An answer carrying one of etcd's error codes is
//! [`Error::Etcd`]; match on [`Error::code`] to tell a missing key ([`EtcdCode::KeyNotFound`]) from a
//! failed comparison ([`EtcdCode::TestFailed`]) and the rest.
//!
//! ## Failover and retries
//!
//! A client holds a list of endpoints and remembers which one answered last; that one is tried
//! first. On each request:
//!
//! - A request that never reached a server (connection refused, connect timeout, TLS handshake
//!   failure) goes on to the next endpoint. This is always safe.
//! - A read (GET) that reached a server but got no complete answer in time, or got a 5xx answer, is
//!   tried on the next endpoint.
//! - A write (PUT, POST, DELETE) that may have reached a server and got no answer is **never re-sent
//!   behind your back**: it returns [`Error::OutcomeUnknown`], meaning it may or may not have been
//!   applied. So is a write that etcd answered with error 300 (`RaftInternal`, a proposal that timed
//!   out). A call may opt in to re-sending with `.retry_unknown_outcome()`, for writes that are safe to
//!   apply twice (a compare-and-swap on `prev_index` is: the second attempt fails the comparison).
//! - When every endpoint failed, [`Error::NoMoreHosts`] lists each endpoint with its own failure.
//! - With `allow_reconnect(false)` only the first endpoint is used.
//!
//! Each attempt on one endpoint is bounded by the request timeout (default 5 s; connect timeout
//! 2 s), so a node that accepts connections but never answers costs at most that long.

#![warn(missing_docs)]

pub mod config;
pub mod discovery;
pub mod endpoints;
mod error;
mod net;
pub(crate) mod retry;
pub mod tls;
pub mod v2;
pub mod v3;

pub use config::{ClientBuilder, Credentials};
pub use error::{BoxError, Error, EtcdCode, Result};
