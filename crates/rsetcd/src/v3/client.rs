//! [`Client`]: the v3 API's entry point, and the one road every unary request travels
//! (endpoint choice, timeout, auth token, failover by the retry rules).

use std::future::Future;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use http::HeaderValue;
use tonic::metadata::MetadataValue;
use tonic::Status;

use super::channel::{encode, Channel, Channels};
use super::error::from_status;
use super::hub::Hub;
use super::rpc::Unary;
use crate::config::{sealed, ClientBuilder, Config, Credentials, FromConfig};
use crate::endpoints::{Endpoint, EndpointSet};
use crate::error::{Error, Result};

/// An etcd v3 client: cheap to clone (clones share connections), safe to share between tasks,
/// every method takes `&self`.
///
/// ```no_run
/// # async fn demo() -> rsetcd::Result<()> {
/// let client = rsetcd::v3::Client::builder()
///     .endpoints(["http://10.0.1.10:2379", "http://10.0.1.11:2379"])
///     .build()?;
/// client.put("/message", "Hello world").await?;
/// let answer = client.get("/message").await?;
/// assert_eq!(answer.kvs[0].value, "Hello world");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) core: Arc<Core>,
    hub: Arc<OnceLock<Hub>>,
}

impl sealed::Sealed for Client {}

impl FromConfig for Client {
    fn from_config(config: Config) -> Result<Self> {
        let interval = config.sync_interval;
        let client = Client {
            core: Arc::new(Core::new(config)?),
            hub: Arc::new(OnceLock::new()),
        };
        if let Some(interval) = interval {
            let handle = tokio::runtime::Handle::try_current().map_err(|_| {
                Error::Config("sync_interval needs a tokio runtime when the client is built".into())
            })?;
            let weak = Arc::downgrade(&client.core);
            handle.spawn(async move {
                let mut ticker = tokio::time::interval(interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    ticker.tick().await;
                    let Some(core) = weak.upgrade() else { break };
                    if let Err(e) = super::cluster::sync_members(&core).await {
                        tracing::debug!(error = %e, "v3 member sync failed; keeping the endpoints");
                    }
                }
            });
        }
        Ok(client)
    }
}

impl Client {
    /// A client for `http://127.0.0.1:2379` with the default settings.
    pub fn new() -> Result<Client> {
        Client::builder().build()
    }

    /// A builder for every setting: endpoints (or SRV discovery), timeouts, TLS, credentials
    /// (`basic_auth` user and password, exchanged for a v3 token that is renewed by itself).
    pub fn builder() -> ClientBuilder<Client> {
        ClientBuilder::new()
    }

    /// The endpoints this client uses now, the one tried first leading.
    pub fn endpoints(&self) -> Vec<String> {
        let (list, start) = self.core.endpoints.snapshot();
        (0..list.len())
            .map(|i| list[(start + i) % list.len()].url().to_string())
            .collect()
    }

    /// The watch multiplexer, started on first use.
    pub(crate) fn hub(&self) -> &Hub {
        self.hub.get_or_init(|| Hub::start(Arc::clone(&self.core)))
    }
}

/// What may be re-sent to another endpoint once a request may have reached a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// A read, or a write that is safe to apply twice: retried anywhere.
    Read,
    /// A write: never re-sent once it may have reached a server.
    Write,
}

impl Retry {
    /// `Write`, or `Read` when the caller opted into re-sending a write of unknown outcome.
    pub(crate) fn write(retry_unknown: bool) -> Retry {
        if retry_unknown {
            Retry::Read
        } else {
            Retry::Write
        }
    }
}

/// What the failover loop does with a failure.
enum Verdict {
    Next,
    Unknown,
    Final,
}

fn verdict(err: &Error, retry: Retry) -> Verdict {
    let unsure = |retry| match retry {
        Retry::Read => Verdict::Next,
        Retry::Write => Verdict::Unknown,
    };
    match err {
        Error::Connect { .. } | Error::Tls { .. } => Verdict::Next,
        Error::Timeout { .. } | Error::Transport { .. } => unsure(retry),
        Error::V3 { kind, .. } if kind.not_applied() => Verdict::Next,
        Error::V3 { kind, .. } if kind.outcome_unknown() => unsure(retry),
        _ => Verdict::Final,
    }
}

/// An auth token as sent (`None` while auth is off) and the generation it belongs to.
#[derive(Clone, Debug, Default)]
pub(crate) struct Token {
    /// Marked sensitive: it never shows in `Debug` output.
    pub(crate) value: Option<HeaderValue>,
    pub(crate) generation: u64,
}

#[derive(Debug)]
struct Auth {
    credentials: Credentials,
    token: RwLock<Option<Token>>,
    refresh: tokio::sync::Mutex<()>,
}

/// What every request needs: endpoints, connections, settings and the auth token.
#[derive(Debug)]
pub(crate) struct Core {
    pub(crate) config: Config,
    pub(crate) endpoints: EndpointSet,
    pub(crate) channels: Channels,
    auth: Option<Auth>,
}

impl Core {
    fn new(config: Config) -> Result<Core> {
        Ok(Core {
            endpoints: EndpointSet::new(config.endpoints.clone()),
            channels: Channels::new(&config)?,
            auth: config.credentials.clone().map(|credentials| Auth {
                credentials,
                token: RwLock::new(None),
                refresh: tokio::sync::Mutex::new(()),
            }),
            config,
        })
    }

    /// Sends one unary request with the client's request timeout, failing over by the rules.
    pub(crate) fn unary<R: Unary>(
        &self,
        retry: Retry,
        req: R,
    ) -> impl Future<Output = Result<R::Response>> + Send + '_ {
        self.unary_with(retry, Some(self.config.request_timeout), req)
    }

    /// [`unary`](Core::unary) with its own timeout (`None`: no limit, for calls that wait).
    ///
    /// The request is encoded before the future is made (every attempt sends the same bytes), so
    /// the future holds those bytes, not the request.
    pub(crate) fn unary_with<R: Unary>(
        &self,
        retry: Retry,
        timeout: Option<Duration>,
        req: R,
    ) -> impl Future<Output = Result<R::Response>> + Send + '_ {
        let body = encode(&req);
        async move {
            let body = &body?;
            self.with_token(|token| async move {
                let value = token.value.as_ref();
                self.failover(retry, timeout, |_, channel| {
                    let body = body.clone();
                    async move { channel.unary(R::PATH, body, value).await }
                })
                .await
            })
            .await
        }
    }

    /// Starts a call of another shape (a stream) through a tonic stub, failing over by the rules
    /// until it is answered.
    pub(crate) async fn call<Req, Resp, F, Fut>(&self, retry: Retry, req: Req, f: F) -> Result<Resp>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, Status>>,
    {
        let (req, f) = (&req, &f);
        self.with_token(|token| async move {
            self.failover(retry, Some(self.config.request_timeout), |_, channel| {
                let answer = f(channel, request(req.clone(), &token));
                async move { answer.await.map(tonic::Response::into_inner) }
            })
            .await
        })
        .await
    }

    /// Sends one unary request to `endpoint` only (per-member operations: status, defragment).
    pub(crate) async fn unary_at<R: Unary>(
        &self,
        endpoint: &Endpoint,
        timeout: Option<Duration>,
        req: R,
    ) -> Result<R::Response> {
        let body = &encode(&req)?;
        self.with_token(|token| async move {
            let channel = self.channels.get(endpoint)?;
            let call = channel.unary(R::PATH, body.clone(), token.value.as_ref());
            let outcome = match timeout {
                Some(limit) => {
                    tokio::time::timeout(limit, call)
                        .await
                        .map_err(|_| Error::Timeout {
                            endpoint: endpoint.url().into(),
                            after: limit,
                        })?
                }
                None => call.await,
            };
            outcome.map_err(|status| from_status(&status, endpoint))
        })
        .await
    }

    /// Runs `attempt` with the auth token, and once more with a new one when etcd refused it
    /// (expired, or invalidated by a change of users or roles).
    async fn with_token<T, F, Fut>(&self, attempt: F) -> Result<T>
    where
        F: Fn(Token) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let token = self.token().await?;
        let generation = token.generation;
        // Awaited apart from the `match`: a future in a `match` head would live through the match,
        // and the future of this call would hold two attempts instead of one.
        let first = attempt(token).await;
        match first {
            Err(e) if self.needs_new_token(&e) => {
                // Boxed: refreshing is rare, and its future would grow every call's.
                let token = Box::pin(self.refresh_token(generation)).await?;
                attempt(token).await
            }
            other => other,
        }
    }

    /// Whether `err` is an auth token problem that a new token may fix.
    pub(crate) fn needs_new_token(&self, err: &Error) -> bool {
        self.auth.is_some()
            && !err.is_outcome_unknown()
            && err.v3_kind().is_some_and(|k| k.token_problem())
    }

    /// Tries each endpoint in turn (the one that worked last first) by the retry rules.
    pub(crate) async fn failover<Resp, F, Fut>(
        &self,
        retry: Retry,
        timeout: Option<Duration>,
        attempt: F,
    ) -> Result<Resp>
    where
        F: Fn(&Endpoint, Channel) -> Fut,
        Fut: Future<Output = Result<Resp, Status>>,
    {
        let (list, start) = self.endpoints.snapshot();
        if list.is_empty() {
            return Err(no_endpoint());
        }
        let (tries, start) = if self.config.allow_reconnect {
            (list.len(), start)
        } else {
            (1, 0)
        };
        let mut failures: Vec<(String, Error)> = Vec::new();
        for i in 0..tries {
            let idx = (start + i) % list.len();
            let endpoint = &list[idx];
            let channel = self.channels.get(endpoint)?;
            // The call's future goes straight into the timeout, never bound to a name first: a
            // bound future would be stored twice in this future's state, and moved on every call.
            let outcome = match timeout {
                Some(limit) => tokio::time::timeout(limit, attempt(endpoint, channel))
                    .await
                    .map_err(|_| Error::Timeout {
                        endpoint: endpoint.url().into(),
                        after: limit,
                    }),
                None => Ok(attempt(endpoint, channel).await),
            };
            let err = match outcome {
                Ok(Ok(answer)) => {
                    self.endpoints.mark_good(&list, idx);
                    return Ok(answer);
                }
                Ok(Err(status)) => from_status(&status, endpoint),
                Err(timeout) => timeout,
            };
            match verdict(&err, retry) {
                Verdict::Next => {}
                Verdict::Unknown => {
                    return Err(Error::OutcomeUnknown {
                        source: Box::new(err),
                    })
                }
                Verdict::Final => return Err(err),
            }
            tracing::debug!(endpoint = %endpoint, error = %err, "v3 endpoint failed");
            failures.push((endpoint.url().to_string(), err));
        }
        if failures.len() == 1 {
            if let Some((_, err)) = failures.pop() {
                return Err(err);
            }
        }
        Err(Error::NoMoreHosts { failures })
    }

    /// The token to send, authenticating first when credentials are set and none is held yet.
    pub(crate) async fn token(&self) -> Result<Token> {
        let Some(auth) = &self.auth else {
            return Ok(Token::default());
        };
        if let Some(token) = read(&auth.token) {
            return Ok(token);
        }
        // Boxed: authenticating is rare, and its future would grow every call's.
        Box::pin(self.refresh_token(0)).await
    }

    /// Authenticates again, unless another task already replaced token generation `stale`.
    pub(crate) async fn refresh_token(&self, stale: u64) -> Result<Token> {
        let Some(auth) = &self.auth else {
            return Ok(Token::default());
        };
        let _one_at_a_time = auth.refresh.lock().await;
        if let Some(token) = read(&auth.token) {
            if token.generation != stale {
                return Ok(token);
            }
        }
        let value = super::auth::authenticate(self, &auth.credentials).await?;
        let generation = read(&auth.token).map_or(0, |t| t.generation) + 1;
        let token = Token { value, generation };
        match auth.token.write() {
            Ok(mut guard) => *guard = Some(token.clone()),
            Err(poisoned) => *poisoned.into_inner() = Some(token.clone()),
        }
        Ok(token)
    }
}

/// The error for an empty endpoint list.
pub(crate) fn no_endpoint() -> Error {
    Error::Config("no endpoint to send the request to".into())
}

fn read(lock: &RwLock<Option<Token>>) -> Option<Token> {
    match lock.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// A request carrying the auth token, if any.
pub(crate) fn request<T>(message: T, token: &Token) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    // The token was checked as visible ASCII when it came, so it is always valid metadata.
    if let Some(Ok(mut value)) = token
        .value
        .as_ref()
        .map(|v| MetadataValue::try_from(v.as_bytes()))
    {
        value.set_sensitive(true);
        request.metadata_mut().insert("token", value);
    }
    request
}
