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
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;

use crate::config::Config;
use crate::endpoints::{Endpoint, EndpointSet, Scheme};
use crate::error::{BoxError, Error, Result};

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
    Form(Bytes),
    /// `application/json`.
    Json(Bytes),
}

impl Body {
    /// A JSON body (members and auth APIs).
    pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<Body> {
        serde_json::to_vec(value)
            .map(|v| Body::Json(Bytes::from(v)))
            .map_err(|e| Error::InvalidArgument(format!("cannot encode the request: {e}")))
    }

    /// The body as text for debug output ("" when empty or not UTF-8), with the value of any
    /// JSON `password` field (the auth API's) replaced by `***`: secrets never reach a log.
    fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Body::Empty => "".into(),
            Body::Form(b) => std::str::from_utf8(b).unwrap_or("").into(),
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
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    pub(crate) endpoint: Arc<str>,
}

/// An answer whose body has not been read yet.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Incoming,
    pub(crate) endpoint: Arc<str>,
}

type Http = HyperClient<crate::tls::Connector, Full<Bytes>>;

/// The HTTP side of a client: the connection pool, the endpoints and the rules.
pub(crate) struct Transport {
    http: Http,
    pub(crate) endpoints: EndpointSet,
    pub(crate) config: Config,
    authorization: Option<HeaderValue>,
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
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(config.connect_timeout));
        // HTTP/1.1 also over TLS: each long poll (watch) holds its own connection, so thousands of
        // watches never queue behind an HTTP/2 server's concurrent-stream limit.
        let uses_tls = config.endpoints.iter().any(|e| e.scheme() == Scheme::Https)
            || config.sync_interval.is_some();
        let tls = if uses_tls || !config.tls.cas.is_empty() || config.tls.identity.is_some() {
            config.tls.client_config()?
        } else {
            crate::tls::TlsOptions {
                system_roots: Some(false),
                ..Default::default()
            }
            .client_config()?
        };
        let connector = crate::tls::Connector::new(http, tls);
        let http = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        let authorization = config.credentials.as_ref().map(|c| {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", c.username, c.password));
            let mut value = HeaderValue::from_str(&format!("Basic {token}"))
                .unwrap_or_else(|_| HeaderValue::from_static(""));
            value.set_sensitive(true);
            value
        });
        Ok(Transport {
            http,
            endpoints: EndpointSet::new(config.endpoints.clone()),
            config,
            authorization,
        })
    }

    /// Sends `req` and reads the whole answer, failing over by the retry rules. One deadline (the
    /// request timeout) covers connecting, sending and reading the whole answer.
    pub(crate) async fn send(&self, req: &Request) -> Result<Raw> {
        self.failover(req, |endpoint| async move {
            let exchange = async {
                let opened = self.exchange(&endpoint, req).await?;
                let body = opened.body.collect().await.map_err(|e| Error::Transport {
                    endpoint: endpoint.url().into(),
                    source: e.into(),
                })?;
                Ok(Raw {
                    status: opened.status,
                    headers: opened.headers,
                    body: body.to_bytes(),
                    endpoint: opened.endpoint,
                })
            };
            with_timeout(self.limit(req.timeout), &endpoint, exchange).await?
        })
        .await
    }

    /// Sends `req` and returns once the status and headers are in (within the request's timeout);
    /// the body is the caller's to read, with its own timeout.
    pub(crate) async fn open(&self, req: &Request) -> Result<Opened> {
        self.failover(req, |endpoint| async move {
            with_timeout(
                self.limit(req.timeout),
                &endpoint,
                self.exchange(&endpoint, req),
            )
            .await?
        })
        .await
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

    /// One attempt on one endpoint, up to the response head (the caller applies the timeout).
    async fn exchange(&self, endpoint: &Endpoint, req: &Request) -> Result<Opened> {
        let mut url = String::with_capacity(endpoint.url().len() + req.path_and_query.len());
        url.push_str(endpoint.url());
        url.push_str(&req.path_and_query);
        // From the String itself: no second copy of the URL.
        let uri = Uri::try_from(url).map_err(|e| {
            Error::InvalidArgument(format!(
                "cannot build a URL for {:?}: {e}",
                req.path_and_query
            ))
        })?;
        let (body, content_type) = match &req.body {
            Body::Empty => (Bytes::new(), None),
            Body::Form(b) => (
                b.clone(),
                Some(HeaderValue::from_static(
                    "application/x-www-form-urlencoded",
                )),
            ),
            Body::Json(b) => (
                b.clone(),
                Some(HeaderValue::from_static("application/json")),
            ),
        };
        let mut request = hyper::Request::new(Full::new(body));
        *request.method_mut() = req.method.clone();
        *request.uri_mut() = uri;
        if let Some(ct) = content_type {
            request.headers_mut().insert(CONTENT_TYPE, ct);
        }
        if let Some(auth) = &self.authorization {
            request.headers_mut().insert(AUTHORIZATION, auth.clone());
        }
        let response = with_timeout(
            self.limit(req.timeout),
            endpoint,
            self.http.request(request),
        )
        .await?
        .map_err(|e| self.classify(endpoint, e))?;
        let (parts, body) = response.into_parts();
        Ok(Opened {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
            endpoint: endpoint.url().into(),
        })
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

async fn with_timeout<F: Future>(
    limit: Option<Duration>,
    endpoint: &Endpoint,
    fut: F,
) -> Result<F::Output> {
    match limit {
        None => Ok(fut.await),
        Some(limit) => tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| Error::Timeout {
                endpoint: endpoint.url().into(),
                after: limit,
            }),
    }
}

impl Transport {
    /// Sorts a failed exchange: a TLS failure in the handshake (also a refusal that arrives after
    /// the client's first bytes, as with a missing client certificate under TLS 1.3), a request
    /// that provably never left (connect failures; hyper handing the request back unsent), or a
    /// failure after it may have been sent (a TLS error on a connection etcd had accepted is one).
    fn classify(&self, endpoint: &Endpoint, err: hyper_util::client::legacy::Error) -> Error {
        let endpoint = endpoint.url().to_string();
        let has_client_cert = Some(self.config.tls.identity.is_some());
        let unsent = err.is_connect() || never_sent(&err);
        let refused = match crate::tls::find_in_chain(&err) {
            Some(tls) if unsent || crate::tls::is_refusal(tls) => Some(tls.clone()),
            Some(_) => None,
            None => err.connect_info().and_then(crate::tls::refusal),
        };
        if let Some(tls) = refused {
            let reason = crate::tls::describe(&tls, has_client_cert);
            return Error::Tls { endpoint, reason };
        }
        if unsent {
            Error::Connect {
                endpoint,
                source: Box::new(err) as BoxError,
            }
        } else {
            Error::Transport {
                endpoint,
                source: Box::new(err),
            }
        }
    }
}

/// hyper hands a request back unsent, as a canceled error, when its connection closed before the
/// request was written (e.g. a fresh connection the server dropped at once).
fn never_sent(err: &hyper_util::client::legacy::Error) -> bool {
    use std::error::Error as _;
    err.source()
        .and_then(|e| e.downcast_ref::<hyper::Error>())
        .is_some_and(hyper::Error::is_canceled)
}
