//! Connections to an endpoint: TCP (with `TCP_NODELAY`) and, for `https` endpoints, rustls on top,
//! with failures sorted into "could not connect" and TLS refusals the user can act on.

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

#[cfg(feature = "tls")]
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(feature = "tls")]
use tokio_rustls::client::TlsStream;

use crate::endpoints::{Endpoint, Scheme};
use crate::error::{Error, Result};

/// Where to connect: the host (an address or a name) and port of an endpoint.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    host: Host,
    port: u16,
    /// `host:port` (IPv6 in brackets), for the v3 client's URIs.
    #[cfg_attr(not(feature = "v3"), allow(dead_code))]
    pub(crate) authority: String,
}

#[derive(Debug, Clone)]
enum Host {
    Ip(IpAddr),
    Name(String),
}

impl Target {
    pub(crate) fn of(endpoint: &Endpoint) -> Result<Target> {
        let url = url::Url::parse(endpoint.url())
            .map_err(|e| Error::Config(format!("endpoint {endpoint}: {e}")))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| Error::Config(format!("endpoint {endpoint} has no port")))?;
        let host = match url.host() {
            Some(url::Host::Ipv4(ip)) => Host::Ip(ip.into()),
            Some(url::Host::Ipv6(ip)) => Host::Ip(ip.into()),
            Some(url::Host::Domain(d)) => Host::Name(d.to_string()),
            None => return Err(Error::Config(format!("endpoint {endpoint} has no host"))),
        };
        let authority = match &host {
            Host::Ip(IpAddr::V6(ip)) => format!("[{ip}]:{port}"),
            Host::Ip(ip) => format!("{ip}:{port}"),
            Host::Name(name) => format!("{name}:{port}"),
        };
        Ok(Target {
            host,
            port,
            authority,
        })
    }
}

/// A connection, plain or TLS.
#[derive(Debug)]
pub(crate) enum Stream {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    #[cfg(feature = "v2")]
    pub(crate) fn is_tls(&self) -> bool {
        match self {
            Stream::Plain(_) => false,
            #[cfg(feature = "tls")]
            Stream::Tls(_) => true,
        }
    }

    /// A second handle on the TCP socket, to look at the connection while another task owns
    /// the stream (`None` if the system would not duplicate it).
    #[cfg(feature = "v3")]
    #[cfg_attr(not(feature = "tls"), allow(clippy::infallible_destructuring_match))]
    pub(crate) fn peer_watch(&self) -> Option<PeerWatch> {
        let tcp = match self {
            Stream::Plain(s) => s,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.get_ref().0,
        };
        socket2::SockRef::from(tcp).try_clone().ok().map(PeerWatch)
    }
}

/// A look at a connection's TCP socket from outside the task that reads it.
#[cfg(feature = "v3")]
#[derive(Debug)]
pub(crate) struct PeerWatch(socket2::Socket);

#[cfg(feature = "v3")]
impl PeerWatch {
    /// Whether the peer has already closed or reset the connection: a non-blocking peek, which
    /// takes nothing from the socket. A request handed to such a connection would be written to
    /// a peer that is gone; asking first lets it go to a new connection instead, never sent.
    pub(crate) fn closed(&self) -> bool {
        let mut byte = [std::mem::MaybeUninit::uninit(); 1];
        match self.0.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
            ),
        }
    }
}

/// Connects to `endpoint` within `timeout` (TCP and, for `https`, the TLS handshake). `tls` is the
/// client's TLS configuration, required for `https` endpoints.
pub(crate) async fn connect(
    endpoint: &Endpoint,
    target: &Target,
    tls: Option<&Arc<crate::tls::ClientConfig>>,
    timeout: Duration,
) -> Result<Stream> {
    let url = endpoint.url();
    let fail = |source: io::Error| Error::connect(url.to_string(), source);
    let timed_out = || {
        Error::connect(
            url.to_string(),
            format!("connect timeout after {timeout:?}"),
        )
    };
    let tls =
        match endpoint.scheme() {
            Scheme::Http => None,
            #[cfg(feature = "tls")]
            Scheme::Https => Some(tls.ok_or_else(|| {
                Error::Config(format!("endpoint {endpoint}: TLS is not configured"))
            })?),
            // An https endpoint learnt after the build (member sync, SRV).
            #[cfg(not(feature = "tls"))]
            Scheme::Https => {
                let _ = tls;
                return Err(crate::tls::https_refused(url));
            }
        };
    let deadline = tokio::time::Instant::now() + timeout;
    let tcp = match &target.host {
        Host::Ip(ip) => {
            tokio::time::timeout_at(deadline, TcpStream::connect((*ip, target.port))).await
        }
        Host::Name(name) => {
            tokio::time::timeout_at(deadline, TcpStream::connect((name.as_str(), target.port)))
                .await
        }
    }
    .map_err(|_| timed_out())?
    .map_err(fail)?;
    // Small requests must not wait for Nagle.
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else {
        return Ok(Stream::Plain(tcp));
    };
    handshake(endpoint, target, tls, tcp, deadline, timeout).await
}

/// The TLS handshake on `tcp`, by `deadline`.
#[cfg(feature = "tls")]
async fn handshake(
    endpoint: &Endpoint,
    target: &Target,
    tls: &Arc<crate::tls::ClientConfig>,
    tcp: TcpStream,
    deadline: tokio::time::Instant,
    timeout: Duration,
) -> Result<Stream> {
    let url = endpoint.url();
    let name = match &target.host {
        Host::Ip(ip) => ServerName::IpAddress((*ip).into()),
        Host::Name(name) => ServerName::try_from(name.clone())
            .map_err(|e| Error::Config(format!("endpoint {endpoint}: invalid host name: {e}")))?,
    };
    let stream = tokio::time::timeout_at(
        deadline,
        tokio_rustls::TlsConnector::from(tls.clone()).connect(name, tcp),
    )
    .await
    .map_err(|_| {
        Error::connect(
            url.to_string(),
            format!("connect timeout after {timeout:?}"),
        )
    })?
    .map_err(|e| match crate::tls::explain(&e) {
        Some(reason) => Error::Tls {
            endpoint: url.to_string(),
            reason,
        },
        None => Error::connect(url.to_string(), e),
    })?;
    Ok(Stream::Tls(Box::new(stream)))
}

/// Without the `tls` feature there is no TLS configuration to hand over.
#[cfg(not(feature = "tls"))]
async fn handshake(
    _: &Endpoint,
    _: &Target,
    tls: &Arc<crate::tls::ClientConfig>,
    _: TcpStream,
    _: tokio::time::Instant,
    _: Duration,
) -> Result<Stream> {
    match **tls {}
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

// The peer watch is the v3 client's.
#[cfg(all(test, feature = "v3"))]
#[cfg_attr(not(feature = "tls"), allow(irrefutable_let_patterns))]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (client, server)
    }

    #[tokio::test]
    async fn data_waiting_is_not_a_close_and_stays_for_the_reader() {
        let (client, mut server) = pair().await;
        let client = Stream::Plain(client);
        let watch = client.peer_watch().unwrap();
        assert!(!watch.closed(), "open and quiet");
        server.write_all(b"x").await.unwrap();
        let Stream::Plain(tcp) = &client else {
            unreachable!()
        };
        tcp.readable().await.unwrap();
        assert!(!watch.closed(), "data waiting");
        let mut byte = [0u8; 1];
        assert_eq!(tcp.try_read(&mut byte).unwrap(), 1, "the peek took nothing");
    }

    #[tokio::test]
    async fn a_peer_that_closed_is_seen_without_reading() {
        let (client, server) = pair().await;
        let client = Stream::Plain(client);
        let watch = client.peer_watch().unwrap();
        drop(server);
        let Stream::Plain(tcp) = &client else {
            unreachable!()
        };
        // The FIN is in the client's socket once it shows as readable.
        tcp.readable().await.unwrap();
        assert!(watch.closed());
    }
}
