//! TLS without the `tls` feature: nothing to configure, no TLS failure can happen, and an
//! `https` endpoint is refused when the client is built ([`https_refused`]).
//!
//! The names match `tls.rs`, so the connection layers read the same with either.

#[cfg(feature = "v3")]
use std::sync::Arc;

use crate::error::Error;
#[cfg(feature = "v3")]
use crate::error::Result;

/// A TLS configuration, which cannot exist without the feature.
#[derive(Debug)]
pub(crate) enum ClientConfig {}

/// A TLS failure, which cannot happen without the feature: never made (a type with values, so
/// that the code holding one does not read as unreachable).
#[derive(Debug, Clone)]
#[allow(dead_code)]
pub(crate) struct TlsError(());

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TLS failure")
    }
}

impl std::error::Error for TlsError {}

/// The TLS settings of a client: none.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {}

impl TlsOptions {
    /// Whether any TLS setting was given: never.
    pub(crate) fn is_configured(&self) -> bool {
        false
    }

    /// Whether a client certificate was given: never.
    #[cfg(feature = "v2")]
    pub(crate) fn has_identity(&self) -> bool {
        false
    }

    /// A TLS configuration: refused.
    #[cfg(feature = "v3")]
    pub(crate) fn connector(&self, _alpn: &[u8]) -> Result<Arc<ClientConfig>> {
        Err(Error::Config(NEEDS_FEATURE.into()))
    }
}

/// Why TLS is unavailable.
pub(crate) const NEEDS_FEATURE: &str =
    "https endpoints need rsetcd's `tls` feature, which this program was built without";

/// The error for an `https` endpoint given to a client built without the feature.
pub(crate) fn https_refused(endpoint: &str) -> Error {
    Error::Config(format!("endpoint {endpoint}: {NEEDS_FEATURE}"))
}

/// A TLS failure in an error's source chain: never.
pub(crate) fn find_rustls<'a>(_: &'a (dyn std::error::Error + 'static)) -> Option<&'a TlsError> {
    None
}

/// A TLS failure in an error's source chain: never.
#[cfg(feature = "v3")]
pub(crate) fn find_in_chain<'a>(_: &'a (dyn std::error::Error + 'static)) -> Option<&'a TlsError> {
    None
}

/// Whether a TLS failure is a certificate refusal (there is none).
pub(crate) fn is_refusal(_: &TlsError) -> bool {
    false
}

/// A TLS failure in words (there is none).
pub(crate) fn describe(e: &TlsError, _has_client_cert: Option<bool>) -> String {
    e.to_string()
}
