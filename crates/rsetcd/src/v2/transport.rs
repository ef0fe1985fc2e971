//! HTTP: one pooled connection set, timeouts, and failover by the retry rules.
//!
//! Every v2 request goes through [`Transport::send`] (whole answers) or [`Transport::open`] (answers
//! whose body is read later, for watches). Failover follows the rules documented on the crate root:
//! a request that never reached a server moves on; a read may be retried elsewhere; a write whose
//! outcome is unknown is returned as [`Error::OutcomeUnknown`] unless the call opted into retries.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;

use super::conn::{Body as AnswerBody, Conn, Failure, Pool, RuntimeId};
pub(crate) use super::wire::Method;
use super::wire::{self, Headers};
use crate::config::Config;
use crate::endpoints::{Endpoint, EndpointSet, Scheme};
use crate::error::{Error, Result};
use crate::net::{self, Target};

/// How long an idle connection is kept (etcd closes idle ones after 5 minutes).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// What may be re-sent to another endpoint after the request reached a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A read: safe to retry anywhere.
    Read,
    /// A read whose every HTTP answer is final (health probes): only connection failures move on.
    Probe,
    /// A write: never re-sent once it may have reached a server.
    Write,
    /// A write whose caller opted into re-sending when the outcome is unknown.
    WriteRetryUnknown,
}

impl Retry {
    pub(crate) fn for_write(retry_unknown: bool) -> Retry {
        if retry_unknown {
            Retry::WriteRetryUnknown
        } else {
            Retry::Write
        }
    }
}

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

/// How long one attempt on one endpoint may take.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timeout {
    /// The client's request timeout.
    Default,
    /// This long.
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
    tls: Arc<rustls::ClientConfig>,
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
            || config.sync_interval.is_some();
        let mut tls = if uses_tls || !config.tls.cas.is_empty() || config.tls.identity.is_some() {
            config.tls.client_config()?
        } else {
            crate::tls::TlsOptions {
                system_roots: Some(false),
                ..Default::default()
            }
            .client_config()?
        };
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        let authorization = config.credentials.as_ref().map(|c| {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            format!("Basic {token}")
        });
        Ok(Transport {
            pool: Pool::new(IDLE_TIMEOUT),
            tls: Arc::new(tls),
            endpoints: EndpointSet::new(config.endpoints.clone()),
            config,
            authorization,
        })
    }

    /// Sends `req` and reads the whole answer, failing over by the retry rules. One deadline (the
    /// request timeout) covers connecting, sending and reading the whole answer.
    pub(crate) async fn send(&self, req: &Request) -> Result<Raw> {
        self.failover(req, |endpoint| async move {
            // The attempt's future goes straight into the timeout, never bound to a name first: a
            // bound future would be stored twice in this future's state, and moved on every call.
            match self.limit(req.timeout) {
                Some(limit) => tokio::time::timeout(limit, self.whole(&endpoint, req))
                    .await
                    .map_err(|_| timed_out(&endpoint, limit))?,
                None => self.whole(&endpoint, req).await,
            }
        })
        .await
    }

    /// One attempt of [`Transport::send`]: the answer, read whole.
    async fn whole(&self, endpoint: &Endpoint, req: &Request) -> Result<Raw> {
        let runtime = current_runtime()?;
        let (head, mut conn) = self.exchange(runtime, endpoint, req).await?;
        let body = conn
            .read_body(head.framing)
            .await
            .map_err(|e| Error::transport(endpoint.url(), e))?;
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
        self.failover(req, |endpoint| async move {
            match self.limit(req.timeout) {
                Some(limit) => tokio::time::timeout(limit, self.opening(&endpoint, req))
                    .await
                    .map_err(|_| timed_out(&endpoint, limit))?,
                None => self.opening(&endpoint, req).await,
            }
        })
        .await
    }

    /// One attempt of [`Transport::open`].
    async fn opening(&self, endpoint: &Endpoint, req: &Request) -> Result<Opened> {
        let runtime = current_runtime()?;
        let (head, conn) = self.exchange(runtime, endpoint, req).await?;
        let url = endpoint.shared_url();
        Ok(Opened {
            status: head.status,
            body: AnswerBody::new(conn, &head, self.pool.clone(), runtime, url.clone()),
            headers: head.headers,
            endpoint: url,
        })
    }

    fn limit(&self, timeout: Timeout) -> Option<Duration> {
        match timeout {
            Timeout::Default => Some(self.config.request_timeout),
            Timeout::After(d) => Some(d),
            Timeout::Never => None,
        }
    }

    async fn failover<'a, T, F, Fut>(&'a self, req: &'a Request, attempt: F) -> Result<T>
    where
        F: Fn(Endpoint) -> Fut,
        Fut: Future<Output = Result<T>> + 'a,
        T: Answer,
    {
        let (list, start) = self.endpoints.snapshot();
        if list.is_empty() {
            return Err(Error::Config("no endpoint to send the request to".into()));
        }
        let tries = if self.config.allow_reconnect {
            list.len()
        } else {
            1
        };
        let start = if self.config.allow_reconnect {
            start
        } else {
            0
        };
        let mut failures: Vec<(String, Error)> = Vec::new();
        for i in 0..tries {
            let idx = (start + i) % list.len();
            let endpoint = &list[idx];
            tracing::debug!(
                method = %req.method,
                url = %format_args!("{}{}", endpoint.url(), req.path_and_query),
                body = %req.body.as_text(),
                json = matches!(req.body, Body::Json(_)),
                "etcd request"
            );
            let err = match attempt(endpoint.clone()).await {
                Ok(answer) => match answer.retryable_failure(req.retry) {
                    None => {
                        self.endpoints.mark_good(&list, idx);
                        return Ok(answer);
                    }
                    Some(Verdict::TryNext(err)) => err,
                    Some(Verdict::Unknown(err)) => {
                        return Err(Error::OutcomeUnknown {
                            source: Box::new(err),
                        })
                    }
                },
                Err(err @ (Error::Connect { .. } | Error::Tls { .. })) => err,
                Err(err @ (Error::Transport { .. } | Error::Timeout { .. })) => {
                    if req.retry == Retry::Write {
                        return Err(Error::OutcomeUnknown {
                            source: Box::new(err),
                        });
                    }
                    err
                }
                Err(other) => return Err(other),
            };
            tracing::debug!(endpoint = %endpoint, error = %err, "endpoint failed");
            failures.push((endpoint.url().to_string(), err));
        }
        if failures.len() == 1 {
            if let Some((_, err)) = failures.pop() {
                return Err(err);
            }
        }
        Err(Error::NoMoreHosts { failures })
    }

    /// One attempt on one endpoint, up to the response head (the caller applies the timeout). A
    /// pooled connection that fails before any answer came is replaced by a new one, once, when
    /// that is safe (the request was not sent, or may be sent again).
    async fn exchange(
        &self,
        runtime: RuntimeId,
        endpoint: &Endpoint,
        req: &Request,
    ) -> Result<(wire::Head, Conn)> {
        let url = endpoint.url();
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
            match conn.exchange().await {
                Ok(head) => return Ok((head, conn)),
                Err(Failure::Sent {
                    answered: false, ..
                }) if reused && req.retry != Retry::Write => {}
                Err(Failure::Unsent(_)) if reused => {}
                Err(failure) => return Err(self.classify(endpoint, failure)),
            }
            // The pooled connection had been closed by the server: once more on a new one.
            reused = false;
            conn = Box::pin(self.connect(endpoint)).await?;
        }
    }

    async fn connect(&self, endpoint: &Endpoint) -> Result<Conn> {
        let target = Target::of(endpoint)?;
        let stream = net::connect(
            endpoint,
            &target,
            Some(&self.tls),
            self.config.connect_timeout,
        )
        .await?;
        Ok(Conn::new(stream))
    }

    /// Sorts a failed exchange: a TLS refusal (under TLS 1.3 it arrives after the handshake, with
    /// the first answer or as the reset a write meets), a request that never left in full (safe
    /// to send elsewhere), or a failure after it was sent (its outcome unknown).
    fn classify(&self, endpoint: &Endpoint, failure: Failure) -> Error {
        let endpoint = endpoint.url().to_string();
        let (Failure::Unsent(err) | Failure::Sent { error: err, .. }) = &failure;
        if let Some(tls) = crate::tls::find_rustls(err).filter(|t| crate::tls::is_refusal(t)) {
            let has_client_cert = Some(self.config.tls.identity.is_some());
            return Error::Tls {
                endpoint,
                reason: crate::tls::describe(tls, has_client_cert),
            };
        }
        match failure {
            Failure::Unsent(err) => Error::connect(endpoint, err),
            Failure::Sent { error, .. } => Error::transport(endpoint, error),
        }
    }
}

/// What the failover loop does with an answer that did arrive.
pub(crate) enum Verdict {
    /// Try the next endpoint, recording this failure.
    TryNext(Error),
    /// A write's outcome is unknown: stop and report it.
    Unknown(Error),
}

/// An HTTP answer; most are final, but a server-side failure may send a read elsewhere.
pub(crate) trait Answer {
    fn retryable_failure(&self, retry: Retry) -> Option<Verdict>;
}

fn server_failure(status: u16, endpoint: &str, body: &[u8], retry: Retry) -> Option<Verdict> {
    if status < 500 {
        return None;
    }
    let err = super::response::error_from(status, endpoint, body);
    match retry {
        Retry::Read => Some(Verdict::TryNext(err)),
        Retry::Probe => None,
        // etcd's 300 "Raft Internal Error" after a proposal timed out: the write may still apply.
        Retry::Write if err.code() == Some(crate::EtcdCode::RaftInternal) => {
            Some(Verdict::Unknown(err))
        }
        Retry::WriteRetryUnknown if err.code() == Some(crate::EtcdCode::RaftInternal) => {
            Some(Verdict::TryNext(err))
        }
        _ => None,
    }
}

impl Answer for Raw {
    fn retryable_failure(&self, retry: Retry) -> Option<Verdict> {
        server_failure(self.status, &self.endpoint, &self.body, retry)
    }
}

impl Answer for Opened {
    fn retryable_failure(&self, retry: Retry) -> Option<Verdict> {
        // The body has not been read: only a bare 5xx on a read is sent elsewhere.
        (self.status >= 500 && retry == Retry::Read).then(|| {
            Verdict::TryNext(Error::Http {
                status: self.status,
                message: "server error".into(),
                endpoint: self.endpoint.to_string(),
            })
        })
    }
}

/// The tokio runtime this call runs on (its connections are driven by that runtime's reactor).
fn current_runtime() -> Result<RuntimeId> {
    tokio::runtime::Handle::try_current()
        .map(|h| h.id())
        .map_err(|_| {
            Error::Config("rsetcd's clients run on a tokio runtime, and none is running".into())
        })
}

fn timed_out(endpoint: &Endpoint, after: Duration) -> Error {
    Error::Timeout {
        endpoint: endpoint.url().into(),
        after,
    }
}
