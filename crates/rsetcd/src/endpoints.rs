//! Endpoints: parsing hosts, `(host, port)` pairs and URLs, and the failover state shared by requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};

/// The URL scheme of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// Parses `http` or `https` (any case); anything else is a configuration error naming the value.
    pub fn parse(s: &str) -> Result<Scheme> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            other => Err(Error::Config(format!(
                "unsupported protocol {other:?}: use \"http\" or \"https\""
            ))),
        }
    }

    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// One etcd client URL, such as `http://127.0.0.1:2379`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    url: Arc<str>,
    scheme: Scheme,
}

impl Endpoint {
    /// Parses a full URL (`http://host:port`), `host:port`, or a bare host, using `default_scheme`
    /// and `default_port` for what is not given. IPv6 addresses go in brackets (`[::1]:2379`); a bare
    /// IPv6 address without a port is accepted too.
    pub fn parse(spec: &str, default_scheme: Scheme, default_port: u16) -> Result<Endpoint> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Err(Error::Config("empty endpoint".into()));
        }
        let full = if spec.contains("://") {
            spec.to_string()
        } else if spec.parse::<std::net::Ipv6Addr>().is_ok() {
            format!("{}://[{spec}]:{default_port}", default_scheme.as_str())
        } else {
            format!("{}://{spec}", default_scheme.as_str())
        };
        let url = url::Url::parse(&full)
            .map_err(|e| Error::Config(format!("invalid endpoint {}: {e}", redact(spec))))?;
        let scheme = Scheme::parse(url.scheme())
            .map_err(|e| Error::Config(format!("endpoint {}: {e}", redact(spec))))?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::Config(format!(
                "endpoint {} carries credentials: use the builder's basic_auth instead",
                redact(spec)
            )));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Error::Config(format!("endpoint {spec:?} has no host")))?;
        if url.path() != "/" && !url.path().is_empty()
            || url.query().is_some()
            || url.fragment().is_some()
        {
            return Err(Error::Config(format!(
                "endpoint {spec:?} must be scheme://host:port without a path or query"
            )));
        }
        let port = match url.port() {
            Some(0) => {
                return Err(Error::Config(format!(
                    "endpoint {spec:?}: port 0 is invalid"
                )))
            }
            Some(p) => p,
            None if has_explicit_port(spec) => {
                // The url crate drops a port equal to the scheme's default (80/443): keep it.
                url.port_or_known_default().unwrap_or(default_port)
            }
            None => default_port,
        };
        Ok(Endpoint {
            url: format!("{}://{host}:{port}", scheme.as_str()).into(),
            scheme,
        })
    }

    /// Builds an endpoint from a host and a port.
    pub fn from_host_port(host: &str, port: u16, scheme: Scheme) -> Result<Endpoint> {
        let host = host.trim();
        if host.contains("://") || host.contains('/') {
            return Err(Error::Config(format!(
                "host {host:?} must be a host name or address, not a URL"
            )));
        }
        let spec = if host.parse::<std::net::Ipv6Addr>().is_ok() {
            format!("[{host}]:{port}")
        } else if host.contains(':') {
            return Err(Error::Config(format!(
                "host {host:?} must not carry a port: give the port separately"
            )));
        } else {
            format!("{host}:{port}")
        };
        if port == 0 {
            return Err(Error::Config(format!("host {host:?}: port 0 is invalid")));
        }
        Endpoint::parse(&spec, scheme, port)
    }

    /// The URL, `scheme://host:port`, without a trailing slash.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL, shared (no copy).
    #[cfg(feature = "v2")]
    pub(crate) fn shared_url(&self) -> Arc<str> {
        Arc::clone(&self.url)
    }

    /// The scheme.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url)
    }
}

fn has_explicit_port(spec: &str) -> bool {
    let after_scheme = spec.split_once("://").map_or(spec, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or("");
    match authority.rsplit_once(':') {
        Some((host, port)) => !port.is_empty() && (!host.contains(':') || host.ends_with(']')),
        None => false,
    }
}

/// Hides a password in `user:password@host` forms before an endpoint is quoted in an error.
fn redact(spec: &str) -> String {
    match spec.rsplit_once('@') {
        Some((before, after)) => {
            let (scheme, _) = before.split_once("://").unwrap_or(("", before));
            let scheme = if scheme.is_empty() {
                String::new()
            } else {
                format!("{scheme}://")
            };
            format!("\"{scheme}***@{after}\"")
        }
        None => format!("{spec:?}"),
    }
}

/// The endpoints a client talks to and which one worked last.
///
/// Requests take a snapshot (cheap: one `Arc` clone under a read lock), try the endpoints starting at
/// the one that worked last, and report success back. Member sync replaces the list as a whole.
#[derive(Debug)]
pub(crate) struct EndpointSet {
    list: RwLock<Arc<[Endpoint]>>,
    pinned: AtomicUsize,
}

impl EndpointSet {
    pub(crate) fn new(list: Vec<Endpoint>) -> EndpointSet {
        EndpointSet {
            list: RwLock::new(list.into()),
            pinned: AtomicUsize::new(0),
        }
    }

    /// The current list and the index to try first.
    pub(crate) fn snapshot(&self) -> (Arc<[Endpoint]>, usize) {
        let list = match self.list.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        };
        let pinned = self.pinned.load(Ordering::Relaxed);
        let start = if pinned < list.len() { pinned } else { 0 };
        (list, start)
    }

    /// Where `endpoint` is in the current list.
    #[cfg(feature = "v3")]
    pub(crate) fn position(&self, endpoint: &Endpoint) -> Option<usize> {
        self.snapshot().0.iter().position(|e| e == endpoint)
    }

    /// Records that `list[idx]` answered, so it is tried first next time.
    pub(crate) fn mark_good(&self, list: &Arc<[Endpoint]>, idx: usize) {
        if self.pinned.load(Ordering::Relaxed) == idx {
            return; // the common case: the pinned endpoint answered again
        }
        if Arc::ptr_eq(&self.snapshot().0, list) {
            self.pinned.store(idx, Ordering::Relaxed);
        }
    }

    /// Replaces the list, keeping the pinned endpoint first if it is still there.
    pub(crate) fn replace(&self, new: Vec<Endpoint>) {
        if new.is_empty() {
            return;
        }
        let (old, start) = self.snapshot();
        let pinned_url = old.get(start).map(|e| e.url.clone());
        let idx = pinned_url
            .and_then(|u| new.iter().position(|e| e.url == u))
            .unwrap_or(0);
        let new: Arc<[Endpoint]> = new.into();
        match self.list.write() {
            Ok(mut guard) => *guard = new,
            Err(poisoned) => *poisoned.into_inner() = new,
        }
        self.pinned.store(idx, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<String> {
        Endpoint::parse(s, Scheme::Http, 2379).map(|e| e.url().to_string())
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(p("127.0.0.1").unwrap(), "http://127.0.0.1:2379");
        assert_eq!(p("localhost:4001").unwrap(), "http://localhost:4001");
        assert_eq!(p("http://10.0.1.10:2379").unwrap(), "http://10.0.1.10:2379");
        assert_eq!(
            p("http://10.0.1.10:2379/").unwrap(),
            "http://10.0.1.10:2379"
        );
        assert_eq!(p("http://example.com").unwrap(), "http://example.com:2379");
        assert_eq!(p("http://example.com:80").unwrap(), "http://example.com:80");
        assert_eq!(p("[::1]:2380").unwrap(), "http://[::1]:2380");
        assert_eq!(p("::1").unwrap(), "http://[::1]:2379");
        assert_eq!(p("HTTPS://h:1").unwrap(), "https://h:1");
        let e = Endpoint::from_host_port("::1", 7, Scheme::Http).unwrap();
        assert_eq!(e.url(), "http://[::1]:7");
    }

    #[test]
    fn refuses_bad_values_naming_them() {
        for bad in [
            "",
            "ftp://h:1",
            "h:99999",
            "h:0",
            "h:abc",
            "http://h:1/v2",
            "http://h:1?x=1",
            "http://",
            "h h",
        ] {
            let err = p(bad).expect_err(bad).to_string();
            assert!(err.contains("invalid configuration"), "{bad}: {err}");
        }
        let err = p("http://user:secret@h:1").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(Endpoint::from_host_port("h:1", 2, Scheme::Http).is_err());
        assert!(Endpoint::from_host_port("h", 0, Scheme::Http).is_err());
    }

    #[test]
    fn set_pins_and_replaces() {
        let a = Endpoint::parse("a", Scheme::Http, 1).unwrap();
        let b = Endpoint::parse("b", Scheme::Http, 1).unwrap();
        let c = Endpoint::parse("c", Scheme::Http, 1).unwrap();
        let set = EndpointSet::new(vec![a.clone(), b.clone()]);
        let (list, start) = set.snapshot();
        assert_eq!(start, 0);
        set.mark_good(&list, 1);
        assert_eq!(set.snapshot().1, 1);
        set.replace(vec![c.clone(), b.clone(), a]);
        let (list, start) = set.snapshot();
        assert_eq!(list[start], b);
    }
}
