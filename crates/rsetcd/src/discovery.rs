//! DNS SRV discovery of client endpoints, as etcd documents it.
//!
//! For a domain `D` (and an optional service name `N`), the records looked up are
//! `_etcd-client-ssl._tcp.D` (targets become `https://target:port`) and `_etcd-client._tcp.D`
//! (`http://target:port`); with a name, `_etcd-client-ssl-N._tcp.D` and `_etcd-client-N._tcp.D`. Both
//! answers are merged; discovery fails only if neither name has records. Endpoints are ordered by
//! priority (lowest first), then by weight (highest first), then by name, so the order is
//! deterministic; duplicates are dropped. Targets must resolve (through the system resolver, which
//! the connections use too): records that all point at hosts that do not resolve are an error.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};

use crate::endpoints::{Endpoint, Scheme};
use crate::error::{Error, Result};

/// Settings of an SRV lookup.
#[derive(Debug, Clone)]
pub struct SrvQuery {
    /// The discovery domain.
    pub domain: String,
    /// The optional service name suffix (etcd's `--discovery-srv-name`).
    pub service_name: Option<String>,
    /// The DNS server to ask (default: the system's configuration).
    pub name_server: Option<SocketAddr>,
    /// How long one DNS query may take.
    pub timeout: Duration,
}

impl SrvQuery {
    /// A query for `domain` with the system resolver and a 2 s timeout.
    pub fn new(domain: impl Into<String>) -> SrvQuery {
        SrvQuery {
            domain: domain.into(),
            service_name: None,
            name_server: None,
            timeout: Duration::from_secs(2),
        }
    }

    fn names(&self) -> [(String, Scheme); 2] {
        let suffix = self
            .service_name
            .as_deref()
            .map(|n| format!("-{n}"))
            .unwrap_or_default();
        let domain = self.domain.trim_end_matches('.');
        [
            (
                format!("_etcd-client-ssl{suffix}._tcp.{domain}."),
                Scheme::Https,
            ),
            (format!("_etcd-client{suffix}._tcp.{domain}."), Scheme::Http),
        ]
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Discovery {
            domain: self.domain.clone(),
            reason: reason.into(),
        }
    }

    fn resolver(&self) -> Result<TokioResolver> {
        let mut opts = ResolverOpts::default();
        opts.timeout = self.timeout;
        opts.attempts = 1;
        let builder = match self.name_server {
            Some(addr) => {
                let mut config = ResolverConfig::new();
                config.add_name_server(NameServerConfig::new(addr, Protocol::Udp));
                TokioResolver::builder_with_config(config, TokioConnectionProvider::default())
            }
            None => TokioResolver::builder_tokio()
                .map_err(|e| self.fail(format!("cannot read the system DNS configuration: {e}")))?,
        };
        Ok(builder.with_options(opts).build())
    }

    /// Looks the records up and returns the endpoints, best first.
    pub async fn discover(&self) -> Result<Vec<Endpoint>> {
        if self.domain.trim().is_empty() {
            return Err(Error::Config("empty SRV discovery domain".into()));
        }
        let resolver = self.resolver()?;
        let mut records = Vec::new();
        let mut failures = Vec::new();
        for (name, scheme) in self.names() {
            match resolver.srv_lookup(name.as_str()).await {
                Ok(lookup) => {
                    for srv in lookup.iter() {
                        let target = srv.target().to_utf8();
                        let target = target.trim_end_matches('.').to_string();
                        if target.is_empty() {
                            continue; // "." means: no service here
                        }
                        records.push((srv.priority(), srv.weight(), target, srv.port(), scheme));
                    }
                }
                Err(e) => failures.push(describe(&name, &e)),
            }
        }
        if records.is_empty() {
            return Err(self.fail(if failures.is_empty() {
                "the SRV records name no target".to_string()
            } else {
                failures.join("; ")
            }));
        }
        records.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        let mut endpoints = Vec::new();
        let mut unresolved = Vec::new();
        for (_, _, target, port, scheme) in records {
            let resolves = tokio::time::timeout(
                self.timeout,
                tokio::net::lookup_host((target.as_str(), port)),
            )
            .await
            .map(|r| r.map(|mut addrs| addrs.next().is_some()).unwrap_or(false))
            .unwrap_or(false);
            if !resolves {
                unresolved.push(target);
                continue;
            }
            let endpoint = Endpoint::from_host_port(&target, port, scheme)?;
            if !endpoints.contains(&endpoint) {
                endpoints.push(endpoint);
            }
        }
        if endpoints.is_empty() {
            return Err(self.fail(format!(
                "the SRV records point at hosts that do not resolve: {}",
                unresolved.join(", ")
            )));
        }
        Ok(endpoints)
    }

    /// [`discover`](SrvQuery::discover) for code without an async runtime: runs the lookup on a
    /// short-lived runtime (on a helper thread when called from inside a runtime).
    pub fn discover_blocking(&self) -> Result<Vec<Endpoint>> {
        let run = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| {
                    Error::Config(format!("cannot start a runtime for SRV discovery: {e}"))
                })?
                .block_on(self.discover())
        };
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| match s.spawn(run).join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            })
        } else {
            run()
        }
    }
}

fn describe(name: &str, e: &ResolveError) -> String {
    if e.is_no_records_found() {
        format!("no SRV record {name}")
    } else {
        format!("looking up {name}: {e}")
    }
}
