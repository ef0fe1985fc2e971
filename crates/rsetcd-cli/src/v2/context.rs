//! Builds the library client from the global flags, as etcdctl does (sync first unless --no-sync).

use std::future::Future;
use std::io::Write;

use rsetcd::config::{ClientBuilder, FromConfig};
use rsetcd::v2::Client;

use crate::error::{CliError, Exit};
use crate::v2::cli::{Global, Output};

/// What every command gets: the client, the flags, and stdout.
pub struct Ctx {
    pub client: Client,
    pub global: Global,
    /// When the command must be over (`--total-timeout` from its start): member sync, the
    /// command's requests and everything else share it.
    pub deadline: tokio::time::Instant,
}

/// A client builder (v2 or v3) with the global flags' endpoints, timeouts, TLS and credentials.
pub async fn builder<C: FromConfig>(global: &Global) -> Result<ClientBuilder<C>, CliError> {
    let mut builder = ClientBuilder::<C>::new()
        .connect_timeout(global.timeout)
        .request_timeout(global.total_timeout)
        .total_timeout(global.total_timeout);
    if let Some(domain) = &global.discovery_srv {
        builder = builder
            .srv_domain(domain)
            .discover()
            .await
            .map_err(CliError::from)?;
    } else {
        builder = builder.endpoints(global.endpoints.iter().filter(|e| !e.trim().is_empty()));
    }
    if let Some(ca) = &global.ca_file {
        builder = builder.ca_file(ca);
    }
    if let (Some(cert), Some(key)) = (&global.cert_file, &global.key_file) {
        builder = builder.client_cert_files(cert, key);
    }
    if let Some(user) = &global.username {
        let (name, password) = match user.split_once(':') {
            Some((n, p)) => (n.to_string(), p.to_string()),
            None => {
                let password = rpassword::prompt_password("Password: ")
                    .map_err(|e| CliError::args(format!("cannot read the password: {e}")))?;
                (user.to_string(), password)
            }
        };
        builder = builder.basic_auth(name, password);
    }
    Ok(builder)
}

impl Ctx {
    pub async fn new(global: Global) -> Result<Ctx, CliError> {
        let deadline = tokio::time::Instant::now() + global.total_timeout;
        let builder = within(deadline, &global, builder::<Client>(&global))
            .await?
            .v2_backend(global.v2_backend.clone());
        let client = builder.build().map_err(CliError::from)?;
        if !global.insecure_discovery && global.discovery_srv.is_some() {
            // etcdctl drops plain-http SRV results with --insecure-discovery=false.
            if client.endpoints().iter().all(|e| e.starts_with("http://")) {
                return Err(CliError::args(
                    "no https endpoint found through SRV discovery",
                ));
            }
        }
        if !global.no_sync {
            // Best effort, as etcdctl: on failure the command itself reports the cluster error.
            let _ = tokio::time::timeout_at(deadline, client.sync_members()).await;
        }
        Ok(Ctx {
            client,
            global,
            deadline,
        })
    }

    pub fn output(&self) -> Output {
        self.global.output
    }

    /// Runs a command's future within what is left of --total-timeout.
    pub async fn bounded<T>(
        &self,
        fut: impl Future<Output = Result<T, CliError>>,
    ) -> Result<T, CliError> {
        within(self.deadline, &self.global, fut).await
    }
}

/// `fut` (SRV discovery, say) before `deadline`, or etcdctl's timeout error.
pub async fn within<T>(
    deadline: tokio::time::Instant,
    global: &Global,
    fut: impl Future<Output = Result<T, CliError>>,
) -> Result<T, CliError> {
    match tokio::time::timeout_at(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(deadline_exceeded(global)),
    }
}

fn deadline_exceeded(global: &Global) -> CliError {
    CliError::new(
        Exit::BadConnection,
        format!(
            "Error:  client: etcd cluster is unavailable or misconfigured; context deadline exceeded (after {:?})",
            global.total_timeout
        ),
    )
}

/// Writes to stdout, ignoring a closed pipe.
pub fn out() -> std::io::StdoutLock<'static> {
    std::io::stdout().lock()
}

/// Flushes stdout; a closed pipe is not an error worth a message.
pub fn flush() {
    let _ = std::io::stdout().flush();
}
