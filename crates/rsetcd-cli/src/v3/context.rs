//! What every v3 command gets: the global flags, the output format, and a client built from them
//! on first use (as etcdctl's `mustClientFromCmd`).

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use rsetcd::config::{ClientBuilder, FromConfig};
use rsetcd::v3::Client;
use tokio::sync::OnceCell;

use super::cli::Global;
use super::error::{bad_args, fail, Exit};
use super::output::{Format, Out, Printable};
use crate::error::CliError;

/// gRPC clamps keep-alive pings to one per 10 s at most (etcdctl 3.5 logs "Adjusting keepalive
/// ping interval to minimum period of 10s"); etcd closes connections that ping more often than
/// its `--grpc-keepalive-min-time` (5 s).
const MIN_KEEPALIVE: Duration = Duration::from_secs(10);

/// The context of one v3 command.
#[derive(Clone)]
pub struct Ctx {
    /// The global flags.
    pub global: Global,
    /// The output format (`-w`).
    pub format: Format,
    client: OnceCell<Client>,
}

impl Ctx {
    /// Checks the output format and keeps the flags; the client is built on first use.
    pub fn new(global: Global) -> Result<Ctx, CliError> {
        let format = Format::parse(&global.write_out)
            .ok_or_else(|| fail(Exit::BadFeature, "unsupported output format"))?;
        Ok(Ctx {
            global,
            format,
            client: OnceCell::new(),
        })
    }

    /// The v3 client (built, and discovery run, on first use).
    pub async fn client(&self) -> Result<&Client, CliError> {
        self.client
            .get_or_try_init(|| async {
                let builder = builder::<Client>(&self.global).await?;
                builder
                    .build()
                    .map_err(|e| bad_args(super::error::describe(&e)))
            })
            .await
    }

    /// Runs a short command's requests within `--command-timeout` (etcdctl's `commandCtx`).
    pub async fn bounded<T>(
        &self,
        fut: impl Future<Output = Result<T, CliError>>,
    ) -> Result<T, CliError> {
        match tokio::time::timeout(self.global.command_timeout, fut).await {
            Ok(r) => r,
            Err(_) => Err(fail(Exit::Error, "context deadline exceeded")),
        }
    }

    /// A fresh output buffer with the `--hex` setting.
    pub fn out(&self) -> Out {
        Out::new(self.global.hex)
    }

    /// Prints `answer` in the chosen format to stdout.
    pub fn print(&self, answer: &impl Printable) -> Result<(), CliError> {
        let mut out = self.out();
        self.format.print(answer, &mut out)?;
        write_stdout(out.bytes())
    }
}

/// Writes to stdout and flushes (a closed pipe is not worth a message: the command ends).
pub fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(CliError::new(0, "")),
        Err(e) => Err(fail(Exit::Io, e)),
    }
}

/// A client builder (v3, or v2 for `bench --api v2`) from the global flags: endpoints (or SRV
/// discovery), timeouts, keep-alive, TLS and credentials, as etcdctl's `newClientCfg`.
pub async fn builder<C: FromConfig>(g: &Global) -> Result<ClientBuilder<C>, CliError> {
    for (name, value) in [("cert", &g.cert), ("key", &g.key), ("cacert", &g.cacert)] {
        if value.as_ref().is_some_and(|v| v.is_empty()) {
            return Err(bad_args(format!(
                "empty string is passed to --{name} option"
            )));
        }
    }
    let tls = g.cacert.is_some() || g.cert.is_some() || g.key.is_some();
    let secure = tls || !g.insecure_transport;
    let mut builder = ClientBuilder::<C>::new()
        .connect_timeout(g.dial_timeout)
        .request_timeout(g.command_timeout)
        .keep_alive(g.keepalive_time.max(MIN_KEEPALIVE), g.keepalive_timeout)
        .protocol(if secure { "https" } else { "http" });
    if let Some(domain) = g.discovery_srv.as_deref().filter(|d| !d.is_empty()) {
        builder = builder.srv_domain(domain);
        if let Some(name) = g.discovery_srv_name.as_deref().filter(|n| !n.is_empty()) {
            builder = builder.srv_service_name(name);
        }
        builder = builder
            .discover()
            .await
            .map_err(|e| fail(Exit::Error, super::error::describe(&e)))?;
    } else {
        builder = builder.endpoints(
            g.endpoints
                .iter()
                .map(|e| e.trim())
                .filter(|e| !e.is_empty()),
        );
    }
    if let Some(ca) = &g.cacert {
        builder = builder.ca_file(ca);
    }
    match (&g.cert, &g.key) {
        (Some(cert), Some(key)) => builder = builder.client_cert_files(cert, key),
        (Some(_), None) | (None, Some(_)) => {
            return Err(bad_args("--cert and --key must be given together"))
        }
        (None, None) => {}
    }
    if g.insecure_skip_tls_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(user) = g.user.as_deref().filter(|u| !u.is_empty()) {
        let (name, password) = match (&g.password, user.split_once(':')) {
            (Some(p), _) if !p.is_empty() => (user.to_string(), p.to_string()),
            (_, Some((n, p))) => (n.to_string(), p.to_string()),
            (_, None) => {
                let password =
                    rpassword::prompt_password("Password: ").map_err(|e| fail(Exit::Error, e))?;
                (user.to_string(), password)
            }
        };
        builder = builder.basic_auth(name, password);
    }
    Ok(builder)
}
