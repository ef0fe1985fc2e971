//! What every v3 request needs, apart from the public [`Client`](super::Client): endpoints,
//! connections, settings and the auth token, and the one road each request travels — the auth
//! token, then the retry layer ([`Call::run`]), then a channel.

use std::future::Future;
use std::sync::RwLock;
use std::time::Duration;

use http::HeaderValue;
use tonic::metadata::MetadataValue;
use tonic::Status;

use super::channel::{encode, Channel, Channels};
use super::error::failure;
use super::proto::etcdserverpb::{AuthenticateRequest, AuthenticateResponse, MemberListRequest};
use super::rpc::Unary;
use crate::config::{Config, Credentials, DEFAULT_PORT};
use crate::endpoints::{Endpoint, EndpointSet, Scheme};
use crate::error::{Error, Result, V3ErrorKind};
use crate::retry::{Call, Deadline, Failure, Retry};

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
    pub(crate) fn new(config: Config) -> Result<Core> {
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

    /// A call over the client's endpoints by rule `retry` within `deadline`.
    pub(crate) fn call(&self, retry: Retry, deadline: Deadline) -> Call<'_> {
        Call::new(
            &self.endpoints,
            self.config.allow_reconnect,
            retry,
            deadline,
        )
    }

    /// Sends one unary request with the client's timeouts, failing over by the rules.
    pub(crate) fn unary<R: Unary>(
        &self,
        retry: Retry,
        req: R,
    ) -> impl Future<Output = Result<R::Response>> + Send + '_ {
        self.unary_with(retry, self.config.deadline(), req)
    }

    /// [`unary`](Core::unary) within `deadline` ([`Deadline::none`] for calls that wait).
    ///
    /// The request is encoded before the future is made (every attempt sends the same bytes), so
    /// the future holds those bytes, not the request.
    pub(crate) fn unary_with<R: Unary>(
        &self,
        retry: Retry,
        deadline: Deadline,
        req: R,
    ) -> impl Future<Output = Result<R::Response>> + Send + '_ {
        let body = encode(&req);
        async move {
            let body = &body?;
            // One call for both tries of `with_token`: the deadline counts from here.
            let call = &self.call(retry, deadline);
            self.with_token(&call.deadline, |token| async move {
                let progress = &call.progress;
                let value = token.value.as_ref();
                call.run(|endpoint| {
                    let body = body.clone();
                    async move {
                        let channel = self.channels.get(&endpoint).map_err(Failure::never_sent)?;
                        channel
                            .unary(R::PATH, body, value, progress)
                            .await
                            .map_err(|e| e.sort(&endpoint))
                    }
                })
                .await
            })
            .await
        }
    }

    /// Opens a stream through a tonic stub: `open` makes the call on a channel with the token
    /// (a fresh request for each attempt) and gives what the stream's owner keeps. Opening is
    /// a read to the rules (a watch, a keep-alive, an observer or a snapshot may be opened
    /// again anywhere); it starts at endpoint `start` (`None`: the pinned one), each attempt is
    /// bounded by `attempt` (`None`: for calls etcd answers only when it has something to say),
    /// the whole by the client's total timeout. Returns what `open` gave and the endpoint.
    pub(crate) async fn open<T, F, Fut>(
        &self,
        attempt: Option<Duration>,
        start: Option<usize>,
        open: F,
    ) -> Result<(T, Endpoint)>
    where
        F: Fn(Channel, Token) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let open = &open;
        let deadline = Deadline::new(attempt, self.config.total_timeout);
        let call = &self
            .call(Retry::Read, deadline)
            .untracked()
            .starting_at(start);
        self.with_token(&call.deadline, |token| async move {
            call.run(|endpoint| {
                let token = token.clone();
                async move {
                    let channel = self.channels.get(&endpoint).map_err(Failure::never_sent)?;
                    match open(channel, token).await {
                        Ok(opened) => Ok((opened, endpoint)),
                        Err(status) => Err(failure(&status, &endpoint)),
                    }
                }
            })
            .await
        })
        .await
    }

    /// Sends one unary request to `endpoint` only (per-member operations: status, defragment),
    /// within `timeout` (`None`: no limit).
    pub(crate) async fn unary_at<R: Unary>(
        &self,
        endpoint: &Endpoint,
        timeout: Option<Duration>,
        req: R,
    ) -> Result<R::Response> {
        let body = &encode(&req)?;
        let one = EndpointSet::new(vec![endpoint.clone()]);
        let deadline = Deadline::new(timeout, self.config.total_timeout);
        let call = &Call::new(&one, false, Retry::Read, deadline);
        self.with_token(&call.deadline, |token| async move {
            let progress = &call.progress;
            call.run(|endpoint| {
                let body = body.clone();
                let value = token.value.clone();
                async move {
                    let channel = self.channels.get(&endpoint).map_err(Failure::never_sent)?;
                    channel
                        .unary(R::PATH, body, value.as_ref(), progress)
                        .await
                        .map_err(|e| e.sort(&endpoint))
                }
            })
            .await
        })
        .await
    }

    /// Runs `attempt` with the auth token, and once more with a new one when etcd refused it
    /// (expired, or invalidated by a change of users or roles). Authenticating counts against
    /// `deadline` too; a failed refresh is the call's error.
    pub(crate) async fn with_token<T, F, Fut>(&self, deadline: &Deadline, attempt: F) -> Result<T>
    where
        F: Fn(Token) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let token = self.token(deadline).await?;
        let generation = token.generation;
        // Awaited apart from the `match`: a future in a `match` head would live through the match,
        // and the future of this call would hold two attempts instead of one.
        let first = attempt(token).await;
        match first {
            Err(e) if self.needs_new_token(&e) => {
                // Boxed: refreshing is rare, and its future would grow every call's.
                let token = Box::pin(self.refresh_token(generation, deadline)).await?;
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

    /// Whether a watch cancelled with `err` may have met an expired token: what
    /// [`needs_new_token`](Core::needs_new_token) says, and also "permission denied", which etcd
    /// before 3.5.6 and 3.4.22 answers a watch whose token expired.
    pub(crate) fn may_be_stale_token(&self, err: &Error) -> bool {
        self.needs_new_token(err)
            || (self.auth.is_some() && err.v3_kind() == Some(V3ErrorKind::PermissionDenied))
    }

    /// The token to send, authenticating first when credentials are set and none is held yet.
    pub(crate) async fn token(&self, deadline: &Deadline) -> Result<Token> {
        let Some(auth) = &self.auth else {
            return Ok(Token::default());
        };
        if let Some(token) = read(&auth.token) {
            return Ok(token);
        }
        // Boxed: authenticating is rare, and its future would grow every call's.
        Box::pin(self.refresh_token(0, deadline)).await
    }

    /// Authenticates again, unless another task already replaced token generation `stale`.
    pub(crate) async fn refresh_token(&self, stale: u64, deadline: &Deadline) -> Result<Token> {
        let Some(auth) = &self.auth else {
            return Ok(Token::default());
        };
        let Some(_one_at_a_time) = deadline.bound(auth.refresh.lock()).await else {
            return Err(Error::Timeout {
                endpoint: String::new(),
                after: self.config.total_timeout.unwrap_or_default(),
            });
        };
        if let Some(token) = read(&auth.token) {
            if token.generation != stale {
                return Ok(token);
            }
        }
        let value = self.authenticate(&auth.credentials, deadline).await?;
        let generation = read(&auth.token).map_or(0, |t| t.generation) + 1;
        let token = Token { value, generation };
        match auth.token.write() {
            Ok(mut guard) => *guard = Some(token.clone()),
            Err(poisoned) => *poisoned.into_inner() = Some(token.clone()),
        }
        Ok(token)
    }

    /// Exchanges the credentials for a token (`None` when auth is not enabled). Asking twice
    /// only makes two tokens: it is a read to the rules.
    async fn authenticate(
        &self,
        credentials: &Credentials,
        deadline: &Deadline,
    ) -> Result<Option<HeaderValue>> {
        let req = AuthenticateRequest {
            name: credentials.username.clone(),
            password: credentials.password.clone(),
        };
        let body = &encode(&req)?;
        let call = self.call(Retry::Read, *deadline);
        let progress = &call.progress;
        let answer = call
            .run(|endpoint| {
                let body = body.clone();
                async move {
                    let channel = self.channels.get(&endpoint).map_err(Failure::never_sent)?;
                    channel
                        .unary::<AuthenticateResponse>(
                            AuthenticateRequest::PATH,
                            body,
                            None,
                            progress,
                        )
                        .await
                        .map_err(|e| e.sort(&endpoint))
                }
            })
            .await;
        match answer {
            Ok(answer) => {
                let mut value = HeaderValue::try_from(answer.token.as_str()).map_err(|_| {
                    Error::InvalidResponse {
                        endpoint: String::new(),
                        reason: "the auth token is not printable ASCII".into(),
                    }
                })?;
                value.set_sensitive(true);
                Ok(Some(value))
            }
            Err(e) if e.v3_kind() == Some(V3ErrorKind::AuthNotEnabled) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Replaces the endpoints with the client URLs of the cluster's members (learners left out).
    pub(crate) async fn sync_members(&self) -> Result<Vec<String>> {
        let answer = self.unary(Retry::Read, MemberListRequest {}).await?;
        let mut endpoints = Vec::new();
        for member in answer.members.iter().filter(|m| !m.is_learner) {
            for url in &member.client_ur_ls {
                match Endpoint::parse(url, Scheme::Http, DEFAULT_PORT) {
                    Ok(e) if !endpoints.contains(&e) => endpoints.push(e),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::debug!(%url, error = %e, "member sync: skipping a client URL")
                    }
                }
            }
        }
        let urls = endpoints.iter().map(|e| e.url().to_string()).collect();
        self.endpoints.replace(endpoints);
        Ok(urls)
    }
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
