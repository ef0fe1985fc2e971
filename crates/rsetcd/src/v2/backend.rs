//! Which API a v2 client's operations travel: etcd's v2 HTTP API, or the v2 data model over
//! the v3 API ([`over_v3::Engine`](super::over_v3::Engine)), or whichever the cluster serves.
//!
//! ```no_run
//! # async fn demo() -> rsetcd::Result<()> {
//! use rsetcd::v2::{Client, V2Backend};
//!
//! // etcd 3.6 (no v2 API): the same client, methods and answers, over v3 under "/v2c".
//! let client = Client::builder()
//!     .endpoints(["http://127.0.0.1:2379"])
//!     .v2_backend(V2Backend::over_v3("/v2c"))
//!     .build()?;
//! client.write("/message", "Hello world").await?;
//!
//! // v2 HTTP where it is served, v3 elsewhere (probed once, on the first call).
//! let auto = Client::builder().v2_backend(V2Backend::auto("/v2c")).build()?;
//! auto.read("/message").await?;
//! # Ok(()) }
//! ```
//!
//! # What [`V2Backend::Auto`] probes
//!
//! Once per client (clones share the answer), lazily, before its first call that needs a
//! backend: `GET /<api_prefix>/keys/` over HTTP, with the client's endpoints, TLS, credentials
//! and timeouts (failing over as a read does).
//!
//! - An answer of the v2 API — a v2 JSON node (200) or a v2 error body with an `errorCode`
//!   (such as 110 Unauthorized) — means the v2 API is served (by the v2 store, or by etcd's own
//!   emulation): the client uses HTTP from then on.
//! - `404` with the body `404 page not found` (etcd 3.6, and 3.4 / 3.5 without
//!   `--enable-v2`) means it is not: the client uses the v3 backend from then on.
//! - Anything else — no endpoint reachable, a timeout, a 5xx, an answer that is neither —
//!   decides nothing: that call fails with the error, and the next call probes again.
//!
//! # What is not over v3
//!
//! Over v3, the key API (reads, writes, deletes, waits, watches) is the engine's (see
//! `docs/v2-over-v3.md` for its differences from the v2 store). The member API maps onto the
//! v3 cluster API (`members`, `add_member`, `update_member`, `remove_member`, `leader`,
//! `sync_members`); `health` and `version` stay HTTP (etcd 3.6 serves both); the v2 statistics
//! and auth APIs have no v3 counterpart and fail with [`Error::Unsupported`].

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::OnceCell;

use super::client::Client;
use super::over_v3::{Engine, KeyOp, WaitOp};
use super::response::{self, Response};
use super::transport::{Method, Raw, Request, Retry};
use crate::config::Config;
use crate::error::{Error, Result};

/// The prefix [`V2Backend::OverV3`] and [`V2Backend::Auto`] use when none is given (in text,
/// `v3` or `auto` without `:<prefix>`).
pub const DEFAULT_V3_PREFIX: &str = "/v2c";

/// Which API a [`v2::Client`](super::Client) uses for its key operations; set with
/// [`ClientBuilder::v2_backend`](crate::ClientBuilder::v2_backend). In text (the CLI's
/// `--v2-backend`, `RSETCD_V2_BACKEND`): `http`, `v3`, `v3:<prefix>`, `auto`, `auto:<prefix>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum V2Backend {
    /// etcd's v2 HTTP API (`/v2/keys`), the default.
    #[default]
    Http,
    /// The v2 data model over the v3 API, under `prefix` (the key layout of etcd's emulation,
    /// `--experimental-enable-v2v3=<prefix>`): for etcd 3.6, and 3.4 / 3.5 without v2.
    OverV3 {
        /// The v3 key prefix the v2 nodes live under.
        prefix: String,
    },
    /// HTTP where the v2 API is served, the v3 backend under `prefix` where it is not: probed
    /// once (see the [module documentation](self)).
    Auto {
        /// The v3 key prefix, when the v3 backend is chosen.
        prefix: String,
    },
}

impl V2Backend {
    /// [`V2Backend::OverV3`] under `prefix`.
    pub fn over_v3(prefix: impl Into<String>) -> V2Backend {
        V2Backend::OverV3 {
            prefix: prefix.into(),
        }
    }

    /// [`V2Backend::Auto`] with `prefix` for the v3 side.
    pub fn auto(prefix: impl Into<String>) -> V2Backend {
        V2Backend::Auto {
            prefix: prefix.into(),
        }
    }

    /// The v3 prefix, unless the backend is [`V2Backend::Http`].
    pub fn prefix(&self) -> Option<&str> {
        match self {
            V2Backend::Http => None,
            V2Backend::OverV3 { prefix } | V2Backend::Auto { prefix } => Some(prefix),
        }
    }
}

impl FromStr for V2Backend {
    type Err = Error;

    /// `http` (or `v2`), `v3`, `v3:<prefix>`, `auto`, `auto:<prefix>` (case-insensitive names;
    /// the prefix as given, [`DEFAULT_V3_PREFIX`] when left out).
    fn from_str(text: &str) -> Result<V2Backend> {
        let text = text.trim();
        let (name, prefix) = match text.split_once(':') {
            Some((name, prefix)) => (name, Some(prefix)),
            None => (text, None),
        };
        let given = || prefix.unwrap_or(DEFAULT_V3_PREFIX).to_string();
        let backend = match name.to_ascii_lowercase().as_str() {
            "http" | "v2" if prefix.is_none() => V2Backend::Http,
            "v3" => V2Backend::OverV3 { prefix: given() },
            "auto" => V2Backend::Auto { prefix: given() },
            _ => {
                return Err(Error::Config(format!(
                    "unknown v2 backend {text:?}: http, v3, v3:<prefix>, auto or auto:<prefix>"
                )))
            }
        };
        if backend.prefix() == Some("") {
            return Err(Error::Config(format!("{text:?}: the v3 prefix is empty")));
        }
        Ok(backend)
    }
}

impl fmt::Display for V2Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            V2Backend::Http => f.write_str("http"),
            V2Backend::OverV3 { prefix } => write!(f, "v3:{prefix}"),
            V2Backend::Auto { prefix } => write!(f, "auto:{prefix}"),
        }
    }
}

/// What a client found (or was told) to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Http,
    V3,
}

/// The v3 side of a client whose backend is not plain HTTP.
#[derive(Debug)]
pub(crate) struct OverV3 {
    engine: Engine,
    /// Set from the start for `OverV3`; by the probe for `Auto`.
    decided: OnceCell<Decision>,
}

/// Builds the v3 side for `config`'s backend (`None` for HTTP): a v3 client from the same
/// settings, without a member sync task of its own (the v2 client's sync updates it).
pub(crate) fn build(config: &Config) -> Result<Option<Arc<OverV3>>> {
    let (prefix, decided) = match &config.v2_backend {
        V2Backend::Http => return Ok(None),
        V2Backend::OverV3 { prefix } => (prefix, OnceCell::new_with(Some(Decision::V3))),
        V2Backend::Auto { prefix } => (prefix, OnceCell::new()),
    };
    if prefix.is_empty() {
        return Err(Error::Config("the v2-over-v3 prefix is empty".into()));
    }
    let client = crate::v3::Client::unsynced(config.clone())?;
    Ok(Some(Arc::new(OverV3 {
        engine: Engine::new(client, prefix),
        decided,
    })))
}

/// Where a call goes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Route<'a> {
    Http,
    V3(&'a Engine),
    /// `Auto` before its probe has decided.
    Probe,
}

impl Client {
    /// Where a call goes now, without waiting (the hot path: one branch for HTTP clients).
    #[inline]
    pub(crate) fn route(&self) -> Route<'_> {
        let Some(v3) = self.over_v3() else {
            return Route::Http;
        };
        match v3.decided.get() {
            None => Route::Probe,
            Some(Decision::Http) => Route::Http,
            Some(Decision::V3) => Route::V3(&v3.engine),
        }
    }

    /// Where a call goes, probing first if no probe has decided yet (`Auto`).
    pub(crate) async fn decide(&self) -> Result<Route<'_>> {
        let Some(v3) = self.over_v3() else {
            return Ok(Route::Http);
        };
        let decision = v3.decided.get_or_try_init(|| probe(self)).await?;
        Ok(match decision {
            Decision::Http => Route::Http,
            Decision::V3 => Route::V3(&v3.engine),
        })
    }

    /// The engine, when calls go over v3 (after the probe, for `Auto`).
    pub(crate) async fn engine(&self) -> Result<Option<&Engine>> {
        Ok(match self.decide().await? {
            Route::V3(engine) => Some(engine),
            _ => None,
        })
    }

    /// An [`Error::Unsupported`] for `what` when calls go over v3.
    pub(crate) async fn v2_only(&self, what: &str) -> Result<()> {
        match self.engine().await? {
            None => Ok(()),
            Some(_) => Err(Error::Unsupported(format!(
                "{what} has no v3 counterpart: this client's v2 backend is the v3 API"
            ))),
        }
    }
}

/// `GET /<api_prefix>/keys/`: what it proves (see the module documentation).
async fn probe(client: &Client) -> Result<Decision> {
    let path = client.key_path("/")?;
    let raw = client
        .transport()
        .send(&Request::new(Method::Get, path, Retry::Read))
        .await?;
    let decision = judge(raw);
    tracing::debug!(?decision, "v2 backend probe");
    decision
}

/// The probe's answer judged.
fn judge(raw: Raw) -> Result<Decision> {
    if raw.status == 404 && raw.body.trim_ascii() == b"404 page not found" {
        return Ok(Decision::V3);
    }
    let (status, endpoint) = (raw.status, raw.endpoint.clone());
    let text = String::from_utf8_lossy(&raw.body)
        .chars()
        .take(200)
        .collect::<String>();
    match response::keys(raw) {
        Ok(_) | Err(Error::Etcd { .. }) => Ok(Decision::Http),
        Err(_) => Err(Error::InvalidResponse {
            endpoint: endpoint.to_string(),
            reason: format!(
                "cannot tell whether the v2 API is served: GET /v2/keys/ answered {status} {:?}",
                text.trim()
            ),
        }),
    }
}

/// A v2 call as the engine takes it.
#[derive(Debug)]
pub(crate) enum V3Call {
    Key(KeyOp),
    Wait(WaitOp),
}

/// Runs `call` on the engine. With the call's own `timeout`, the whole v2 operation (each v3
/// call it makes, each also within the client's request timeout) must end within it: when it
/// does not, a read or wait is [`Error::Timeout`], and a write or delete too unless its
/// transaction had been sent, then [`Error::OutcomeUnknown`] around it.
pub(crate) async fn run(
    engine: &Engine,
    call: V3Call,
    timeout: Option<Duration>,
) -> Result<Response> {
    let answer = async {
        match &call {
            V3Call::Key(op) => engine.execute(op).await,
            V3Call::Wait(op) => engine.wait(op).await,
        }
    };
    let Some(limit) = timeout else {
        return answer.await;
    };
    let sent = Arc::new(AtomicBool::new(false));
    match tokio::time::timeout(limit, Engine::tracking(Arc::clone(&sent), answer)).await {
        Ok(answer) => answer,
        Err(_) => {
            let err = Error::Timeout {
                endpoint: engine
                    .client()
                    .endpoints()
                    .first()
                    .cloned()
                    .unwrap_or_default(),
                after: limit,
            };
            Err(if sent.load(Ordering::Relaxed) {
                err.outcome_unknown()
            } else {
                err
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v2::wire::Headers;

    fn raw(status: u16, body: &str) -> Raw {
        Raw {
            status,
            headers: Headers::default(),
            body: body.as_bytes().to_vec().into(),
            endpoint: "http://127.0.0.1:2379".into(),
        }
    }

    #[test]
    fn backends_parse_and_print() {
        let cases = [
            ("http", V2Backend::Http),
            ("HTTP", V2Backend::Http),
            ("v2", V2Backend::Http),
            ("v3", V2Backend::over_v3(DEFAULT_V3_PREFIX)),
            ("v3:/mine", V2Backend::over_v3("/mine")),
            ("auto", V2Backend::auto(DEFAULT_V3_PREFIX)),
            (" auto:/x/y ", V2Backend::auto("/x/y")),
        ];
        for (text, want) in cases {
            let got: V2Backend = text.parse().unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string().parse::<V2Backend>().unwrap(), want);
        }
        for bad in ["", "grpc", "v3:", "http:/p", "auto:"] {
            assert!(bad.parse::<V2Backend>().is_err(), "{bad:?}");
        }
        assert_eq!(V2Backend::default(), V2Backend::Http);
        assert_eq!(V2Backend::Http.prefix(), None);
    }

    #[test]
    fn the_probe_decides_on_v2_answers_and_go_404s_only() {
        let listing = r#"{"action":"get","node":{"dir":true}}"#;
        assert_eq!(judge(raw(200, listing)).unwrap(), Decision::Http);
        let denied =
            r#"{"errorCode":110,"message":"The request requires user authentication","index":0}"#;
        assert_eq!(judge(raw(401, denied)).unwrap(), Decision::Http);
        assert_eq!(
            judge(raw(404, "404 page not found\n")).unwrap(),
            Decision::V3
        );
        for (status, body) in [(404, "not here"), (200, "<html>"), (502, "bad gateway")] {
            let err = judge(raw(status, body)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidResponse { .. }),
                "{status}: {err}"
            );
        }
    }
}
