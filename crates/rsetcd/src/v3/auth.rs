//! Authentication: the token exchange, enabling and disabling auth, users and roles.

use tonic::metadata::{Ascii, MetadataValue};

use super::client::{Core, Retry};
use super::proto::etcdserverpb::auth_client::AuthClient;
use super::proto::etcdserverpb::AuthenticateRequest;
use super::V3ErrorKind;
use crate::config::Credentials;
use crate::error::{Error, Result};

/// Exchanges the credentials for a token (`None` when auth is not enabled).
pub(crate) async fn authenticate(
    core: &Core,
    credentials: &Credentials,
) -> Result<Option<MetadataValue<Ascii>>> {
    let req = AuthenticateRequest {
        name: credentials.username.clone(),
        password: credentials.password.clone(),
    };
    // Asking twice only makes two tokens: safe to retry anywhere.
    let answer = core
        .failover(Retry::Read, Some(core.config.request_timeout), |_, ch| {
            let req = tonic::Request::new(req.clone());
            async move { AuthClient::new(ch).authenticate(req).await }
        })
        .await;
    match answer {
        Ok(answer) => {
            let mut value = MetadataValue::try_from(answer.token.as_str()).map_err(|_| {
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
