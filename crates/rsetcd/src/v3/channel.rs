//! Connections: one lazily made HTTP/2 connection per endpoint and tokio runtime (TCP or rustls
//! with ALPN `h2`), on the `h2` crate directly. Per runtime, as the v2 pool: a connection is driven
//! by a task of the runtime that made it, so a client shared by several runtimes never waits on
//! one that is blocked or gone. The calling task encodes the request and hands it to `h2` with its body
//! (one write carries both), then reads the answer; a task per connection only drives its I/O and
//! its keep-alive pings. A failure to connect, or a connection found closed before the request
//! was handed over, is known for what it is: the request never left. Unary calls go straight to
//! `h2` ([`Channel::unary`]); streams go through tonic's stubs, for which the channel is a `Service`.

mod body;
mod coalesce;
mod unary;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use h2::client::SendRequest;
use http::uri::{Authority, Scheme as UriScheme};
use tokio::runtime::Id as RuntimeId;
use tonic::body::Body;

pub(crate) use body::RecvBody;
pub(crate) use unary::encode;

use crate::config::{Config, KeepAlive};
use crate::endpoints::{Endpoint, Scheme};
use crate::error::{Error, Result};
use crate::net;
use crate::retry::classify::NotSent;
use crate::retry::Progress;

/// Flow-control windows we grant etcd (as hyper's defaults: large answers and snapshots stream
/// without waiting on window updates).
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;
const CONNECTION_WINDOW: u32 = 5 * 1024 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The channels of one client, by endpoint URL.
pub(crate) struct Channels {
    map: Mutex<HashMap<Arc<str>, Channel>>,
    tls: Option<Arc<crate::tls::ClientConfig>>,
    connect_timeout: Duration,
    keep_alive: KeepAlive,
}

impl std::fmt::Debug for Channels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Channels")
            .field("tls", &self.tls.is_some())
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl Channels {
    pub(crate) fn new(config: &Config) -> Result<Channels> {
        let uses_tls = config.endpoints.iter().any(|e| e.scheme() == Scheme::Https)
            || config.tls.is_configured();
        // With a sync interval, https members may be learnt later: the configuration is made
        // now (with the `tls` feature), so that its mistakes surface at build time.
        let tls = if uses_tls || (cfg!(feature = "tls") && config.sync_interval.is_some()) {
            Some(config.tls.connector(b"h2")?)
        } else {
            None
        };
        Ok(Channels {
            map: Mutex::new(HashMap::new()),
            tls,
            connect_timeout: config.connect_timeout,
            keep_alive: config.keep_alive,
        })
    }

    /// The channel to `endpoint`, made on first use (connecting lazily, on the first request).
    pub(crate) fn get(&self, endpoint: &Endpoint) -> Result<Channel> {
        let mut map = match self.map.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(channel) = map.get(endpoint.url()) {
            return Ok(channel.clone());
        }
        let channel = self.make(endpoint)?;
        map.insert(endpoint.url().into(), channel.clone());
        Ok(channel)
    }

    fn make(&self, endpoint: &Endpoint) -> Result<Channel> {
        let target = net::Target::of(endpoint)?;
        let authority = Authority::try_from(target.authority.as_str())
            .map_err(|e| Error::Config(format!("endpoint {endpoint}: {e}")))?;
        let scheme = match endpoint.scheme() {
            Scheme::Https => UriScheme::HTTPS,
            Scheme::Http => UriScheme::HTTP,
        };
        Ok(Channel {
            shared: Arc::new(Shared {
                endpoint: endpoint.clone(),
                target,
                scheme,
                authority,
                tls: self.tls.clone(),
                connect_timeout: self.connect_timeout,
                keep_alive: self.keep_alive,
                current: Mutex::new(Vec::new()),
                connecting: tokio::sync::Mutex::new(()),
                next_id: AtomicU64::new(0),
            }),
        })
    }
}

/// A gRPC channel to one endpoint: unary calls by [`Channel::unary`], streams as the `Service`
/// the generated clients call. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Channel {
    shared: Arc<Shared>,
}

impl Channel {
    /// Calls unary method `path` with `body` (a request made by [`encode`]); `progress` learns
    /// when the request has been handed to the connection.
    pub(crate) async fn unary<Resp: prost::Message + Default>(
        &self,
        path: &'static str,
        body: Bytes,
        token: Option<&http::HeaderValue>,
        progress: &Progress,
    ) -> Result<Resp, CallError> {
        self.shared.unary(path, body, token, progress).await
    }
}

/// How a call failed, as the channel knows it; [`CallError::sort`] says what it proves.
#[derive(Debug)]
pub(crate) enum CallError {
    /// It never left: connecting failed, or the connection would not take it.
    NotSent(Error),
    /// The connection failed the call after it was handed over: `h2`'s error, or the TLS
    /// failure that ended the connection.
    Broken(BoxError),
    /// An answer with a status other than OK (etcd's refusal, or one made from a non-gRPC
    /// answer or an answer that could not be decoded).
    Status(tonic::Status),
}

struct Shared {
    endpoint: Endpoint,
    target: net::Target,
    scheme: UriScheme,
    authority: Authority,
    tls: Option<Arc<crate::tls::ClientConfig>>,
    connect_timeout: Duration,
    keep_alive: KeepAlive,
    /// The open connection of each runtime that has one (a few: searched in order).
    current: Mutex<Vec<(RuntimeId, Live)>>,
    /// Held while connecting, so that concurrent first calls make one connection.
    connecting: tokio::sync::Mutex<()>,
    next_id: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("endpoint", &self.endpoint.url())
            .finish_non_exhaustive()
    }
}

/// One open connection: the handle to open streams on, and what its driver reports.
#[derive(Clone)]
struct Live {
    id: u64,
    send: SendRequest<Bytes>,
    state: Arc<ConnState>,
}

/// What a connection's driver and its calls share.
struct ConnState {
    /// Calls and streams in flight (pings are sent only while there are some).
    active: AtomicUsize,
    /// Set when the driver has ended: the connection is gone.
    ended: AtomicBool,
    /// The TLS failure that ended the connection, if that is what ended it: recorded below `h2`
    /// (by [`coalesce::Coalesce`]), which keeps only the text of an I/O error's source.
    tls_failure: Arc<OnceLock<crate::tls::TlsError>>,
    /// A look at the socket, to find a peer that closed before the driver has read its FIN.
    peer: Option<net::PeerWatch>,
}

/// Counts a call as in flight until dropped.
pub(crate) struct Active(Arc<ConnState>);

impl Active {
    fn new(state: &Arc<ConnState>) -> Active {
        state.active.fetch_add(1, Ordering::Relaxed);
        Active(Arc::clone(state))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Shared {
    /// The open connections (a panic elsewhere cannot leave the list half-changed).
    fn connections(&self) -> std::sync::MutexGuard<'_, Vec<(RuntimeId, Live)>> {
        match self.current.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn current(&self, runtime: RuntimeId) -> Option<Live> {
        let mut guard = self.connections();
        // Connections whose driver ended (closed, or their runtime gone) are dropped here.
        guard.retain(|(_, live)| !live.state.ended.load(Ordering::Acquire));
        guard
            .iter()
            .find(|(id, _)| *id == runtime)
            .map(|(_, live)| live.clone())
    }

    /// This runtime's open connection, connecting when there is none. An error is a call that
    /// never left.
    async fn live(&self) -> Result<Live> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::Config("the v3 client needs a tokio runtime".into()))?
            .id();
        if let Some(live) = self.current(runtime) {
            return Ok(live);
        }
        let _one_at_a_time = self.connecting.lock().await;
        if let Some(live) = self.current(runtime) {
            return Ok(live);
        }
        // Boxed: connecting is rare and its future is large; inline, it would make every call's
        // future kilobytes bigger (and too big for the allocator's fast path).
        let live = Box::pin(self.connect()).await?;
        self.connections().push((runtime, live.clone()));
        Ok(live)
    }

    /// Forgets connection `id` (found closed), unless it was already replaced.
    fn forget(&self, id: u64) {
        self.connections().retain(|(_, live)| live.id != id);
    }

    async fn connect(&self) -> Result<Live> {
        let io = net::connect(
            &self.endpoint,
            &self.target,
            self.tls.as_ref(),
            self.connect_timeout,
        )
        .await?;
        let peer = io.peer_watch();
        let tls_failure = Arc::new(OnceLock::new());
        let handshake = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .enable_push(false)
            .handshake::<_, Bytes>(coalesce::Coalesce::new(io, Arc::clone(&tls_failure)));
        let failed = |source: BoxError| Error::connect(self.endpoint.url().to_string(), source);
        let (send, connection) = tokio::time::timeout(self.connect_timeout, handshake)
            .await
            .map_err(|_| failed("the HTTP/2 handshake timed out".into()))?
            .map_err(|e| failed(Box::new(e)))?;
        let state = Arc::new(ConnState {
            active: AtomicUsize::new(0),
            ended: AtomicBool::new(false),
            tls_failure,
            peer,
        });
        tokio::spawn(drive(
            connection,
            Arc::clone(&state),
            self.keep_alive,
            self.endpoint.clone(),
        ));
        Ok(Live {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            send,
            state,
        })
    }

    /// A connection ready for one more stream: the open one, or a new one when the open one is
    /// found closed (nothing was sent on it, so this is always safe). An error is a call that
    /// never left.
    async fn ready(&self) -> Result<(SendRequest<Bytes>, Arc<ConnState>)> {
        let mut tries = 2;
        loop {
            let live = self.live().await?;
            // A peer that closed (a member killed, say) before the driver read its FIN would
            // take the call into a dead socket: its outcome would be unknown for nothing.
            let e = if live.state.peer.as_ref().is_some_and(net::PeerWatch::closed) {
                Error::connect(
                    self.endpoint.url(),
                    "the connection was closed by the server",
                )
            } else {
                match live.send.clone().ready().await {
                    Ok(send) => return Ok((send, live.state)),
                    Err(e) => Error::connect(self.endpoint.url(), e),
                }
            };
            self.forget(live.id);
            tries -= 1;
            if tries == 0 {
                return Err(e);
            }
            tracing::debug!(endpoint = %self.endpoint, error = %e, "v3 connection closed; reconnecting");
        }
    }

    /// Sends one call and waits for the head of its answer.
    async fn call(
        self: Arc<Self>,
        request: http::Request<Body>,
    ) -> Result<http::Response<RecvBody>, BoxError> {
        let (mut parts, mut body) = request.into_parts();
        let mut uri = http::uri::Parts::default();
        uri.scheme = Some(self.scheme.clone());
        uri.authority = Some(self.authority.clone());
        uri.path_and_query = parts.uri.path_and_query().cloned();
        parts.uri = http::Uri::from_parts(uri)?;
        let head = http::Request::from_parts(parts, ());
        // What the body has ready now goes out with the head (a unary call: all of it).
        let ready = body::take_ready(&mut body).map_err(|status| status as BoxError)?;
        let not_sent = |e: Error| -> BoxError { Box::new(NotSent(e)) };
        let (mut send, state) = self.ready().await.map_err(not_sent)?;
        let active = Active::new(&state);
        let head_ends = ready.ended && ready.frames.is_empty();
        let (response, mut stream) = send
            .send_request(head, head_ends)
            .map_err(|e| not_sent(self.not_handed_over(e)))?;
        let count = ready.frames.len();
        for (i, data) in ready.frames.into_iter().enumerate() {
            stream
                .send_data(data, ready.ended && i + 1 == count)
                .map_err(|e| self.failure(e, &state))?;
        }
        let closed = if ready.ended {
            None
        } else {
            let (closed, on_close) = tokio::sync::oneshot::channel();
            tokio::spawn(body::pump(body, stream, on_close));
            Some(closed)
        };
        let answer = response.await.map_err(|e| self.failure(e, &state))?;
        let (parts, recv) = answer.into_parts();
        Ok(http::Response::from_parts(
            parts,
            RecvBody::new(recv, closed, active),
        ))
    }

    /// The error for a call the connection refused to take (it was closing): never sent.
    fn not_handed_over(&self, e: h2::Error) -> Error {
        Error::connect(self.endpoint.url(), e)
    }

    /// The error for a call that failed after it was handed to the connection: the TLS failure
    /// that ended the connection when there is one (a certificate refused after the handshake),
    /// else `h2`'s own error.
    fn failure(&self, e: h2::Error, state: &ConnState) -> BoxError {
        match state.tls_failure.get() {
            Some(tls) => Box::new(tls.clone()),
            None => Box::new(e),
        }
    }
}

/// Drives one connection until it ends, pinging it while calls are in flight and ending it when
/// a ping goes unanswered.
async fn drive(
    mut connection: h2::client::Connection<coalesce::Coalesce<net::Stream>, Bytes>,
    state: Arc<ConnState>,
    keep_alive: KeepAlive,
    endpoint: Endpoint,
) {
    // Marks the connection ended however this task ends, also when its runtime drops it.
    struct Ended(Arc<ConnState>);
    impl Drop for Ended {
        fn drop(&mut self) {
            self.0.ended.store(true, Ordering::Release);
        }
    }
    let _ended = Ended(Arc::clone(&state));
    let mut pings = connection.ping_pong();
    let mut connection = std::pin::pin!(connection);
    let start = tokio::time::Instant::now() + keep_alive.interval;
    let mut ticker = tokio::time::interval_at(start, keep_alive.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let outcome = loop {
        tokio::select! {
            outcome = &mut connection => break outcome,
            _ = ticker.tick() => {}
        }
        let Some(pings) = pings.as_mut() else {
            continue;
        };
        if state.active.load(Ordering::Relaxed) == 0 {
            continue;
        }
        let ping = tokio::time::timeout(keep_alive.timeout, pings.ping(h2::Ping::opaque()));
        tokio::select! {
            outcome = &mut connection => break outcome,
            answered = ping => if answered.is_err() {
                tracing::debug!(%endpoint, "v3 keep-alive ping unanswered; closing the connection");
                break Ok(());
            },
        }
    };
    if let Err(e) = outcome {
        tracing::debug!(%endpoint, error = %e, "v3 connection ended");
    }
}

impl tonic::codegen::Service<http::Request<Body>> for Channel {
    type Response = http::Response<RecvBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        Box::pin(Arc::clone(&self.shared).call(request))
    }
}

#[cfg(test)]
mod tests;
