//! HTTP: one pooled connection set, and each exchange on it sorted for the retry layer.
//!
//! Every v2 request goes through [`Transport::send`] (whole answers) or [`Transport::open`] (answers
//! whose body is read later, for watches), both run by [`Call::run`] (the rules live there).
//! This file only says what each attempt proves: a request not written in full never reached
//! etcd; one written and then met by a broken connection was sent; a 5xx answer is judged by
//! [`classify::v2_answer`].

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;

use super::conn::{Body as AnswerBody, Conn, Failure as ConnFailure, Pool, RuntimeId};
pub(crate) use super::wire::Method;
use super::wire::{self, Headers};
use crate::config::Config;
use crate::endpoints::{Endpoint, EndpointSet, Scheme};
use crate::error::{Error, Result};
use crate::net::{self, Target};
pub(crate) use crate::retry::Retry;
use crate::retry::{classify, verdict, Call, Deadline, Failure, Fate, Progress, Verdict};

/// How long an idle connection is kept (etcd closes idle ones after 5 minutes).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The body of a request (`Debug` masks passwords, as [`Body::as_text`] does).
#[derive(Clone)]
pub(crate) enum Body {
    Empty,
    /// `application/x-www-form-urlencoded`.
    Form(String),
    /// `application/json`.
    Json(Vec<u8>),
}

impl Body {
    /// A JSON body (members and auth APIs).
    pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<Body> {
        serde_json::to_vec(value)
            .map(Body::Json)
            .map_err(|e| Error::InvalidArgument(format!("cannot encode the request: {e}")))
    }

    /// The body as text for debug output ("" when empty or not UTF-8), with the value of any
    /// JSON `password` field (the auth API's) replaced by `***`: secrets never reach a log.
    fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Body::Empty => "".into(),
            Body::Form(b) => b.as_str().into(),
            Body::Json(b) => match serde_json::from_slice::<serde_json::Value>(b) {
                Ok(mut v) => {
                    if let Some(p) = v.get_mut("password") {
                        *p = "***".into();
                    }
                    v.to_string().into()
                }
                Err(_) => "".into(),
            },
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Empty => f.write_str("Empty"),
            Body::Form(_) => write!(f, "Form({:?})", self.as_text()),
            Body::Json(_) => write!(f, "Json({:?})", self.as_text()),
        }
    }
}

/// How long a call may take.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timeout {
    /// The client's request timeout for each attempt, and its total timeout for the call.
    Default,
    /// This long on each endpoint (the call's own timeout).
    After(Duration),
    /// No limit (a one-shot wait without a caller's timeout).
    Never,
}

/// A request: method, path (under the endpoint, with its encoded query) and body.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: Method,
    pub(crate) path_and_query: String,
    pub(crate) body: Body,
    pub(crate) retry: Retry,
    pub(crate) timeout: Timeout,
}

impl Request {
    pub(crate) fn new(method: Method, path_and_query: String, retry: Retry) -> Request {
        Request {
            method,
            path_and_query,
            body: Body::Empty,
            retry,
            timeout: Timeout::Default,
        }
    }

    pub(crate) fn body(mut self, body: Body) -> Request {
        self.body = body;
        self
    }

    pub(crate) fn timeout(mut self, timeout: Timeout) -> Request {
        self.timeout = timeout;
        self
    }
}

/// A whole answer.
#[derive(Debug)]
pub(crate) struct Raw {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    pub(crate) body: Bytes,
    pub(crate) endpoint: Arc<str>,
}

/// An answer whose body has not been read yet.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) status: u16,
    pub(crate) headers: Headers,
    pub(crate) body: AnswerBody,
    pub(crate) endpoint: Arc<str>,
}

/// The HTTP side of a client: the connection pool, the endpoints and the rules.
pub(crate) struct Transport {
    pool: Pool,
    /// `None` only without the `tls` feature.
    tls: Option<Arc<crate::tls::ClientConfig>>,
    pub(crate) endpoints: EndpointSet,
    pub(crate) config: Config,
    /// The `Authorization` header's value (never printed).
    authorization: Option<String>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("endpoints", &self.endpoints)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(config: Config) -> Result<Transport> {
        // HTTP/1.1 also over TLS: each long poll (watch) holds its own connection, so thousands of
        // watches never queue behind an HTTP/2 server's concurrent-stream limit.
        let uses_tls = config.endpoints.iter().any(|e| e.scheme() == Scheme::Https)
            || config.sync_interval.is_some()
            || config.tls.is_configured();
        #[cfg(feature = "tls")]
        let tls = Some(if uses_tls {
            config.tls.connector(b"http/1.1")?
        } else {
            crate::tls::TlsOptions {
                system_roots: Some(false),
                ..Default::default()
            }
            .connector(b"http/1.1")?
        });
        #[cfg(not(feature = "tls"))]
        let tls = {
            let _ = uses_tls;
            None
        };
        let authorization = config.credentials.as_ref().map(|c| {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            format!("Basic {token}")
        });
        Ok(Transport {
            pool: Pool::new(IDLE_TIMEOUT),
            tls,
            endpoints: EndpointSet::new(config.endpoints.clone()),
            config,
            authorization,
        })
    }

    /// Sends `req` and reads the whole answer, failing over by the retry rules. Each attempt's
    /// bound covers connecting, sending and reading the whole answer.
    pub(crate) async fn send(&self, req: &Request) -> Result<Raw> {
        let call = self.call(req);
        call.run(|endpoint| self.whole(endpoint, req, &call.progress))
            .await
    }

    /// One attempt of [`Transport::send`]: the answer, read whole.
    async fn whole(&self, endpoint: Endpoint, req: &Request, progress: &Progress) -> Attempt<Raw> {
        let runtime = current_runtime().map_err(Failure::never_sent)?;
        let (head, mut conn) = self.exchange(runtime, &endpoint, req, progress).await?;
        let body = conn.read_body(head.framing).await.map_err(|e| {
            // The answer was cut: the request had been read.
            Failure::new(Fate::Sent, Error::transport(endpoint.url(), e))
        })?;
        if head.status >= 500 {
            let err = super::response::error_from(head.status, endpoint.url(), &body);
            if let Some(fate) = classify::v2_answer(head.status, err.code()) {
                return Err(Failure::new(fate, err));
            }
        }
        if head.keep_alive && conn.is_clean() {
            self.pool.put(runtime, &endpoint.shared_url(), conn);
        }
        Ok(Raw {
            status: head.status,
            headers: head.headers,
            body,
            endpoint: endpoint.shared_url(),
        })
    }

    /// Sends `req` and returns once the status and headers are in (within the request's timeout);
    /// the body is the caller's to read, with its own timeout.
    pub(crate) async fn open(&self, req: &Request) -> Result<Opened> {
        let call = self.call(req);
        call.run(|endpoint| self.opening(endpoint, req, &call.progress))
            .await
    }

    /// One attempt of [`Transport::open`].
    async fn opening(
        &self,
        endpoint: Endpoint,
        req: &Request,
        progress: &Progress,
    ) -> Attempt<Opened> {
        let runtime = current_runtime().map_err(Failure::never_sent)?;
        let (head, conn) = self.exchange(runtime, &endpoint, req, progress).await?;
        if head.status >= 500 {
            // The body has not been read: a bare server failure.
            let err = Error::Http {
                status: head.status,
                message: "server error".into(),
                endpoint: endpoint.url().into(),
            };
            return Err(Failure::new(Fate::ServerFailure, err));
        }
        let url = endpoint.shared_url();
        Ok(Opened {
            status: head.status,
            body: AnswerBody::new(conn, &head, self.pool.clone(), runtime, url.clone()),
            headers: head.headers,
            endpoint: url,
        })
    }

    /// The call `req` makes: the client's endpoints, the request's rule and its deadline.
    fn call(&self, req: &Request) -> Call<'_> {
        let deadline = match req.timeout {
            Timeout::Default => self.config.deadline(),
            Timeout::After(d) => Deadline::new(Some(d), None),
            Timeout::Never => Deadline::none(),
        };
        Call::new(
            &self.endpoints,
            self.config.allow_reconnect,
            req.retry,
            deadline,
        )
    }

    /// One attempt on one endpoint, up to the response head (the caller applies the timeout). A
    /// pooled connection that fails before any answer came is replaced by a new one, once, when
    /// the rules allow sending the request again (it was not sent, or may be sent again).
    async fn exchange(
        &self,
        runtime: RuntimeId,
        endpoint: &Endpoint,
        req: &Request,
        progress: &Progress,
    ) -> Attempt<(wire::Head, Conn)> {
        let url = endpoint.url();
        tracing::debug!(
            method = %req.method,
            url = %format_args!("{url}{}", req.path_and_query),
            body = %req.body.as_text(),
            json = matches!(req.body, Body::Json(_)),
            "etcd request"
        );
        let host = url
            .split_once("://")
            .map_or(url, |(_, authority)| authority);
        let (content_type, body): (Option<&str>, &[u8]) = match &req.body {
            Body::Empty => (None, b""),
            Body::Form(b) => (Some("application/x-www-form-urlencoded"), b.as_bytes()),
            Body::Json(b) => (Some("application/json"), b),
        };
        // One connection variable for the pooled one and its replacement, so the future holds
        // one `Conn`, not two. Connecting is boxed: it is rare (TLS handshake included) and its
        // future is large; left inline it would make every request's future bigger to move.
        let mut reused = true;
        let mut conn = match self.pool.take(runtime, url) {
            Some(conn) => conn,
            None => {
                reused = false;
                Box::pin(self.connect(endpoint)).await?
            }
        };
        loop {
            conn.out.clear();
            wire::encode_request(
                &mut conn.out,
                req.method,
                host,
                &req.path_and_query,
                content_type,
                self.authorization.as_deref(),
                body,
            );
            let failure = match conn.exchange(progress).await {
                Ok(head) => return Ok((head, conn)),
                Err(failure) => failure,
            };
            // The pooled connection had been closed by the server: once more on a new one, if
            // the request may go again. Only a connection that answered nothing is suspect.
            let silent = !matches!(failure, ConnFailure::Sent { answered: true, .. });
            let failure = self.classify(endpoint, failure);
            if !(reused && silent && verdict(req.retry, failure.fate) == Verdict::Next) {
                return Err(failure);
            }
            reused = false;
            conn = Box::pin(self.connect(endpoint)).await?;
        }
    }

    async fn connect(&self, endpoint: &Endpoint) -> Attempt<Conn> {
        let target = Target::of(endpoint).map_err(Failure::never_sent)?;
        let stream = net::connect(
            endpoint,
            &target,
            self.tls.as_ref(),
            self.config.connect_timeout,
        )
        .await
        .map_err(Failure::never_sent)?;
        Ok(Conn::new(stream))
    }

    /// Sorts a failed exchange: a TLS refusal (under TLS 1.3 it arrives after the handshake, with
    /// the first answer or as the reset a write meets: etcd did not read the request), a request
    /// not written in full (etcd cannot have acted on it), or a failure after it was sent.
    fn classify(&self, endpoint: &Endpoint, failure: ConnFailure) -> Failure {
        let url = endpoint.url();
        let (ConnFailure::Unsent(err) | ConnFailure::Sent { error: err, .. }) = &failure;
        if let Some(tls) = crate::tls::find_rustls(err).filter(|t| crate::tls::is_refusal(t)) {
            let has_client_cert = Some(self.config.tls.has_identity());
            return Failure::never_sent(Error::Tls {
                endpoint: url.into(),
                reason: crate::tls::describe(tls, has_client_cert),
            });
        }
        match failure {
            ConnFailure::Unsent(err) => Failure::never_sent(Error::connect(url, err)),
            ConnFailure::Sent { error, .. } => {
                Failure::new(Fate::Sent, Error::transport(url, error))
            }
        }
    }
}

/// What one attempt gives the retry layer.
type Attempt<T> = std::result::Result<T, Failure>;

/// The tokio runtime this call runs on (its connections are driven by that runtime's reactor).
fn current_runtime() -> Result<RuntimeId> {
    tokio::runtime::Handle::try_current()
        .map(|h| h.id())
        .map_err(|_| {
            Error::Config("rsetcd's clients run on a tokio runtime, and none is running".into())
        })
}

#[cfg(test)]
mod tests;
