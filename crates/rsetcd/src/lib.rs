//! # rsetcd
//!
//! An etcd client for Rust. [`v2`] speaks etcd's v2 HTTP API (etcd 2.x, and 3.4 / 3.5 started with
//! `--enable-v2=true`) with an async core and a blocking face. [`v3`] speaks the v3 gRPC API (etcd
//! 3.x, the only API of etcd 3.6): KV, transactions, resuming watches, leases with keep-alive,
//! auth with self-renewing tokens, cluster, maintenance, locks and elections. Both are built from
//! the same [`ClientBuilder`] settings and report the same [`Error`] type.
//!
//! ```no_run
//! # #[cfg(feature = "v3")]
//! # async fn demo() -> rsetcd::Result<()> {
//! let client = rsetcd::v3::Client::builder()
//!     .endpoints(["http://10.0.1.10:2379", "http://10.0.1.11:2379"])
//!     .build()?;
//! client.put("/message", "Hello world").await?;
//! let answer = client.get("/message").await?;
//! if let Some(kv) = answer.first() {
//!     println!("{} = {} (revision {})", kv.key_str(), kv.value_str(), kv.mod_revision());
//! }
//! # Ok(()) }
//! ```
//!
//! The v2 API:
//!
//! ```no_run
//! # #[cfg(feature = "v2")]
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
//! - [`v3::Client`]: KV, transactions ([`v3::Txn`]), watches ([`v3::Watch`]), leases, locks,
//!   elections, auth, cluster and maintenance. Answers are etcd's messages with methods that read
//!   them without knowing protobuf: [`v3::KeyValue::key_str`] / [`value_str`](v3::KeyValue::value_str),
//!   [`v3::RangeResponse::first`] / [`kvs`](v3::RangeResponse::kvs), every answer's
//!   `revision()` and `header()`, [`v3::Event::is_put`], typed transaction answers
//!   ([`v3::OpResponse`]).
//! - [`v2::Client`]: key operations ([`v2::keys`]), one-shot waits and resumable watch streams
//!   ([`v2::watch`]), members, leader, health, versions and statistics, member sync, the auth API
//!   ([`v2::auth`]); [`v2::blocking::Client`] does the same without async.
//! - [`ClientBuilder`] ([`config`]): endpoints as URLs, hosts or `(host, port)` pairs, timeouts,
//!   Basic credentials, TLS ([`tls`]), DNS SRV discovery ([`discovery`]), background member sync.
//! - [`Error`] and [`EtcdCode`]: every failure, typed.
//! - [`migrate`]: the online v2 → v3 migration (a live v2 keyspace copied into the layout of
//!   [`v2::over_v3`], followed until cut-over, verified), and [`migrate::check`].
//!
//! ## Cargo features
//!
//! | feature | what it adds | dependencies it brings |
//! |---|---|---|
//! | `v2` | [`v2`]: the v2 HTTP/1.1 client | httparse, serde, serde_json, percent-encoding, base64, humantime |
//! | `v3` | [`v3`]: the v3 gRPC client; with `v2` also the v2-over-v3 backend (`v2::V2Backend`, `v2::over_v3`) and [`migrate`] | h2, http, http-body, tonic, prost, tokio-stream, socket2 |
//! | `tls` | `https` endpoints; the builder's `ca_file`, `ca_pem`, `use_system_roots`, `client_cert_files`, `client_cert_pem`, `danger_accept_invalid_certs`; [`tls`] | rustls (ring), tokio-rustls, rustls-native-certs, rustls-webpki, p521, der |
//! | `dns` | DNS SRV discovery: the builder's `srv_domain`, `srv_service_name`, `srv_name_server`, `discover`; [`discovery`] | hickory-resolver |
//! | `blocking` | `v2::blocking::Client` (implies `v2`) | none |
//!
//! **All of them are on by default**, because that is what a newcomer to "an etcd client" expects
//! to find: both APIs, `https`, SRV discovery and the blocking client, as every example, doctest
//! and README program here uses them (reqwest and kube keep TLS and their main client in the
//! defaults for the same reason). A program that needs less turns the defaults off and names what
//! it uses:
//!
//! ```toml
//! [dependencies]
//! # Only the v2 HTTP API, plain http: 61 crates instead of 149.
//! rsetcd = { version = "0.1", default-features = false, features = ["v2"] }
//! ```
//!
//! At least one of `v2` and `v3` is needed. Without `tls`, an `https` endpoint is refused when the
//! client is built (an [`Error::Config`] naming the feature), and one learnt later (member sync,
//! SRV records) fails to connect the same way; the TLS builder options do not exist, so code that
//! sets them does not compile. Without `v3`, a v2 client only speaks HTTP: there is no
//! `V2Backend` and no `v2_backend` builder option. [`Error`] keeps all its variants whatever the
//! features, so that matches on it compile the same everywhere (a variant a build cannot produce,
//! such as [`Error::V3`] without `v3` or [`Error::Tls`] without `tls`, is simply never returned).
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
//! first. Every request — v2 and v3, reads, writes and the opening of every v3 stream — goes
//! through one retry layer, which sorts each failure by what it proves about the request:
//!
//! - **Never sent** (connection refused or timed out, TLS handshake or certificate refused, an
//!   HTTP/2 stream the server refused or left unprocessed by its GOAWAY, a v2 request not written
//!   in full): it goes on to the next endpoint. This is always safe.
//! - **Declined** by etcd before acting (v3: no leader, not capable, a learner): next endpoint too.
//! - **Sent without an answer** (a reset, EOF or broken pipe after the request left, a cut answer,
//!   a timeout after it left), or answered "I do not know" (v2 error 300 `RaftInternal`, v3
//!   "request timed out"): a read goes to the next endpoint; a write is **never re-sent behind
//!   your back**: it returns [`Error::OutcomeUnknown`], meaning it may or may not have been
//!   applied. A call may opt in to re-sending with `.retry_unknown_outcome()`, for writes that are
//!   safe to apply twice (a compare-and-swap on `prev_index` is: the second attempt fails the
//!   comparison).
//! - A v2 server failure (5xx) sends a read to the next endpoint; any other answer is final.
//! - When every endpoint failed, [`Error::NoMoreHosts`] lists each endpoint with its own failure.
//! - With `allow_reconnect(false)` only the first endpoint is used.
//!
//! Each attempt on one endpoint is bounded by the request timeout (default 5 s; connect timeout
//! 2 s), so a node that accepts connections but never answers costs at most that long; with
//! [`ClientBuilder::total_timeout`] the whole call (every attempt, connecting, an auth token
//! refresh) is bounded too, and each attempt's bound is cut to what is left of it.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod config;
#[cfg(feature = "dns")]
#[cfg_attr(docsrs, doc(cfg(feature = "dns")))]
pub mod discovery;
pub mod endpoints;
mod error;
#[cfg(all(feature = "v2", feature = "v3"))]
#[cfg_attr(docsrs, doc(cfg(all(feature = "v2", feature = "v3"))))]
pub mod migrate;
mod net;
mod retry;
#[cfg(feature = "tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "tls")))]
pub mod tls;
/// Without the `tls` feature: no TLS configuration can exist, and `https` endpoints are refused.
#[cfg(not(feature = "tls"))]
#[path = "tls_off.rs"]
mod tls;
#[cfg(feature = "v2")]
#[cfg_attr(docsrs, doc(cfg(feature = "v2")))]
pub mod v2;
#[cfg(feature = "v3")]
#[cfg_attr(docsrs, doc(cfg(feature = "v3")))]
pub mod v3;

#[cfg(not(any(feature = "v2", feature = "v3")))]
compile_error!("rsetcd needs at least one of its features `v2` and `v3` (the defaults have both)");

pub use config::{ClientBuilder, Credentials};
pub use error::{BoxError, Error, EtcdCode, Result};

/// Entry points for the fuzz targets (`fuzz/`, feature `fuzzing`): not part of the API.
///
/// The v2 HTTP/1.1 reader (`v2/wire.rs`) and answer parser (`v2/response.rs`) are compiled here
/// a second time, from their own source files, so the targets drive exactly their code without
/// making it public. `Raw` mirrors the transport's answer type that `response.rs` reads.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
#[path = "v2"]
#[allow(dead_code, missing_docs, clippy::duplicate_mod)]
pub mod fuzzing {
    #[path = "wire.rs"]
    mod wire;

    #[path = "response.rs"]
    mod response;

    mod transport {
        pub(crate) struct Raw {
            pub(crate) status: u16,
            pub(crate) headers: super::wire::Headers,
            pub(crate) body: bytes::Bytes,
            pub(crate) endpoint: std::sync::Arc<str>,
        }
    }

    use bytes::BytesMut;

    /// Reads one HTTP/1.1 answer from `data`, handed over `step` bytes at a time as a socket
    /// would: the status and the body's length, or why the answer is malformed or incomplete.
    pub fn v2_read_answer(data: &[u8], step: usize) -> Result<(u16, usize), String> {
        let step = step.max(1);
        let mut buf = BytesMut::new();
        let mut fed = 0;
        let mut feed = |buf: &mut BytesMut| {
            if fed >= data.len() {
                return false;
            }
            let end = (fed + step).min(data.len());
            buf.extend_from_slice(&data[fed..end]);
            fed = end;
            true
        };
        let head = loop {
            match wire::parse_head(&mut buf) {
                Ok(Some(head)) => break head,
                Ok(None) if feed(&mut buf) => {}
                Ok(None) => return Err("incomplete head".into()),
                Err(e) => return Err(e.to_string()),
            }
        };
        match head.framing {
            wire::Framing::Length(n) => loop {
                if let Some(body) = wire::take_body(&mut buf, n) {
                    return Ok((head.status, body.len()));
                }
                if !feed(&mut buf) {
                    return Err("incomplete body".into());
                }
            },
            wire::Framing::Chunked => {
                let mut chunked = wire::Chunked::default();
                let mut out = BytesMut::new();
                loop {
                    match chunked.decode(&mut buf, &mut out) {
                        Ok(true) => return Ok((head.status, out.len())),
                        Ok(false) if feed(&mut buf) => {}
                        Ok(false) => return Err("incomplete chunked body".into()),
                        Err(e) => return Err(e.to_string()),
                    }
                }
            }
            wire::Framing::UntilClose => {
                while feed(&mut buf) {}
                Ok((head.status, buf.len()))
            }
        }
    }

    /// Parses a key answer (status, `X-Etcd-Index`, body) as the v2 client does: the answer or
    /// the error, as text.
    pub fn v2_key_answer(status: u16, etcd_index: Option<u64>, body: &[u8]) -> String {
        let raw = transport::Raw {
            status,
            headers: wire::Headers {
                etcd_index,
                ..wire::Headers::default()
            },
            body: bytes::Bytes::copy_from_slice(body),
            endpoint: std::sync::Arc::from("http://fuzz"),
        };
        match response::keys(raw) {
            Ok(r) => {
                // What callers do with an answer: walk it, read its expiry.
                let nodes = r.node.walk().count() + r.node.leaves().count();
                let expires = r.node.expiration_time().is_some();
                format!("{:?} {nodes} {expires}", r.action)
            }
            Err(e) => format!("{e} {:?}", e.code()),
        }
    }
}

/// The programs of the crate's README (its crates.io page), compiled as doctests (they use both
/// APIs).
#[cfg(all(doctest, feature = "v2", feature = "v3"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
