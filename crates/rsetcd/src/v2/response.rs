//! What etcd answers: [`Response`], [`Node`], [`Action`], and turning error bodies into [`Error`]s.

use std::fmt;
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::transport::Raw;
use crate::error::{Error, EtcdCode, Result};

/// What happened to a node: etcd's `action` field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// A read.
    #[default]
    Get,
    /// A plain write (PUT without conditions).
    Set,
    /// A create-only write (`prevExist=false`, `mkdir`, in-order POST).
    Create,
    /// An update-only write (`prevExist=true`, TTL refresh).
    Update,
    /// A delete.
    Delete,
    /// A TTL expiry (seen by watches only).
    Expire,
    /// A compare-and-swap.
    CompareAndSwap,
    /// A compare-and-delete.
    CompareAndDelete,
    /// An action this version of rsetcd does not know.
    Other(String),
}

impl Action {
    /// The action as etcd spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Action::Get => "get",
            Action::Set => "set",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Expire => "expire",
            Action::CompareAndSwap => "compareAndSwap",
            Action::CompareAndDelete => "compareAndDelete",
            Action::Other(s) => s,
        }
    }

    fn from_wire(s: &str) -> Action {
        match s {
            "get" => Action::Get,
            "set" => Action::Set,
            "create" => Action::Create,
            "update" => Action::Update,
            "delete" => Action::Delete,
            "expire" => Action::Expire,
            "compareAndSwap" => Action::CompareAndSwap,
            "compareAndDelete" => Action::CompareAndDelete,
            other => Action::Other(other.to_string()),
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Action::from_wire(&s))
    }
}

/// A key or directory, as etcd describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    /// The full key, e.g. `/dir/key` (`/` for the root, which etcd sends without a key).
    #[serde(default = "root_key")]
    pub key: String,
    /// The value; `None` for directories and for the node of a delete or expire event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Whether the node is a directory.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dir: bool,
    /// When the node expires (RFC 3339, UTC), if it has a TTL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<String>,
    /// Seconds left to live, rounded up; absent when there is no TTL or it rounds to 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    /// The index of the last change (0 on the root).
    #[serde(default)]
    pub modified_index: u64,
    /// The index of the node's creation (0 on the root).
    #[serde(default)]
    pub created_index: u64,
    /// Children of a directory listing (recursive listings nest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<Node>,
}

fn root_key() -> String {
    "/".to_string()
}

impl Node {
    /// The value as a `&str`, `""` when there is none.
    pub fn value_str(&self) -> &str {
        self.value.as_deref().unwrap_or("")
    }

    /// [`Node::expiration`] as a point in time, when present and well formed.
    pub fn expiration_time(&self) -> Option<SystemTime> {
        self.expiration
            .as_deref()
            .and_then(|e| humantime::parse_rfc3339_weak(e).ok())
    }

    /// This node and every node below it, depth first (parents before children).
    pub fn walk(&self) -> impl Iterator<Item = &Node> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let node = stack.pop()?;
            stack.extend(node.nodes.iter().rev());
            Some(node)
        })
    }

    /// The files (not directories) among this node and its descendants, depth first.
    pub fn leaves(&self) -> impl Iterator<Item = &Node> {
        self.walk().filter(|n| !n.dir)
    }
}

/// The answer to a key operation: the action, the node, the node before the change, and the indexes
/// from etcd's headers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// What happened.
    pub action: Action,
    /// The node after the operation (for delete and expire: key and indexes only).
    #[serde(default)]
    pub node: Node,
    /// The node before the operation, for writes that replaced or removed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prev_node: Option<Node>,
    /// `X-Etcd-Index`: the store index (for a watch, when the watch was registered).
    #[serde(default)]
    pub etcd_index: u64,
    /// `X-Raft-Index`, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raft_index: Option<u64>,
    /// `X-Raft-Term`, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raft_term: Option<u64>,
    /// `X-Etcd-Cluster-Id`, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
}

impl Response {
    /// The value of [`Response::node`], `None` for a directory.
    pub fn value(&self) -> Option<&str> {
        self.node.value.as_deref()
    }
}

/// Reads a JSON list that etcd may send as `null` (members, users, roles) as an empty `Vec`.
pub(crate) fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The JSON body of a key error.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EtcdErrorBody {
    error_code: u16,
    #[serde(default)]
    message: String,
    #[serde(default)]
    cause: Option<String>,
    #[serde(default)]
    index: u64,
}

#[derive(Deserialize)]
struct MessageBody {
    message: String,
}

/// Turns an error answer (any shape: key error, `{"message"}`, plain text) into an [`Error`].
pub(crate) fn error_from(status: u16, endpoint: &str, body: &[u8]) -> Error {
    if let Ok(e) = serde_json::from_slice::<EtcdErrorBody>(body) {
        return Error::Etcd {
            code: EtcdCode::from(e.error_code),
            message: e.message,
            cause: e.cause.filter(|c| !c.is_empty()),
            index: e.index,
        };
    }
    let message = match serde_json::from_slice::<MessageBody>(body) {
        Ok(m) => m.message,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let mut end = text.len().min(200);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_string()
        }
    };
    Error::Http {
        status,
        message,
        endpoint: endpoint.to_string(),
    }
}

/// A key answer: success bodies become a [`Response`] with the header indexes, failures an [`Error`].
pub(crate) fn keys(raw: Raw) -> Result<Response> {
    let mut response: Response = json(raw_ok(&raw)?, &raw)?;
    response.etcd_index = raw.headers.etcd_index.unwrap_or(0);
    response.raft_index = raw.headers.raft_index;
    response.raft_term = raw.headers.raft_term;
    response.cluster_id = raw.headers.cluster_id;
    Ok(response)
}

/// A JSON answer of another API (members, stats, auth, version).
pub(crate) fn json_answer<T: DeserializeOwned>(raw: Raw) -> Result<T> {
    json(raw_ok(&raw)?, &raw)
}

/// A plain-text answer (`/metrics`), checked as UTF-8.
pub(crate) fn text_answer(raw: Raw) -> Result<String> {
    let body = raw_ok(&raw)?;
    match std::str::from_utf8(body) {
        Ok(text) => Ok(text.to_string()),
        Err(e) => Err(Error::InvalidResponse {
            endpoint: raw.endpoint.to_string(),
            reason: format!("{e} in {}", preview(body)),
        }),
    }
}

/// A success answer whose body does not matter (204 and friends), or the error.
pub(crate) fn empty_answer(raw: Raw) -> Result<()> {
    if (200..300).contains(&raw.status) {
        Ok(())
    } else {
        Err(error_from(raw.status, &raw.endpoint, &raw.body))
    }
}

fn raw_ok(raw: &Raw) -> Result<&[u8]> {
    if !(200..300).contains(&raw.status) {
        return Err(if raw.body.is_empty() {
            Error::Http {
                status: raw.status,
                message: String::new(),
                endpoint: raw.endpoint.to_string(),
            }
        } else {
            error_from(raw.status, &raw.endpoint, &raw.body)
        });
    }
    if raw.body.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::EmptyResponse {
            endpoint: raw.endpoint.to_string(),
        });
    }
    Ok(&raw.body)
}

pub(crate) fn json<T: DeserializeOwned>(body: &[u8], raw: &Raw) -> Result<T> {
    let invalid = |reason: String| Error::InvalidResponse {
        endpoint: raw.endpoint.to_string(),
        reason: format!("{reason} in {}", preview(body)),
    };
    // The body is checked as UTF-8 once, whole: `from_slice` would check each string on its own,
    // which costs more than the rest of the parse for etcd's many short strings.
    let text = std::str::from_utf8(body).map_err(|e| invalid(e.to_string()))?;
    serde_json::from_str(text).map_err(|e| invalid(e.to_string()))
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(80)]);
    format!("{text:?}{}", if body.len() > 80 { "…" } else { "" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_recursive_listing() {
        let body = r#"{"action":"get","node":{"key":"/a","dir":true,"nodes":[{"key":"/a/b","dir":true,"nodes":[{"key":"/a/b/c","value":"deep","modifiedIndex":12,"createdIndex":12}],"modifiedIndex":12,"createdIndex":12}],"modifiedIndex":12,"createdIndex":12}}"#;
        let r: Response = serde_json::from_str(body).unwrap();
        assert_eq!(r.action, Action::Get);
        assert_eq!(r.node.walk().count(), 3);
        let leaves: Vec<_> = r.node.leaves().map(|n| n.key.as_str()).collect();
        assert_eq!(leaves, ["/a/b/c"]);
    }

    #[test]
    fn root_and_unknown_actions() {
        let r: Response =
            serde_json::from_str(r#"{"action":"frobnicate","node":{"dir":true}}"#).unwrap();
        assert_eq!(r.action, Action::Other("frobnicate".into()));
        assert_eq!(r.node.key, "/");
        let back = serde_json::to_string(&r).unwrap();
        assert!(back.contains("\"frobnicate\""));
    }

    #[test]
    fn expiration_parses() {
        let n = Node {
            expiration: Some("2026-11-24T18:37:51.417161557Z".into()),
            ..Node::default()
        };
        assert!(n.expiration_time().is_some());
    }

    #[test]
    fn bodies_that_are_not_utf8_or_json_are_typed_errors() {
        let raw = |body: &'static [u8]| Raw {
            status: 200,
            headers: Default::default(),
            body: bytes::Bytes::from_static(body),
            endpoint: "http://e".into(),
        };
        let ok = keys(raw(
            "{\"action\":\"get\",\"node\":{\"key\":\"/k\",\"value\":\"\\u00e9t\u{e9}\"}}"
                .as_bytes(),
        ));
        assert_eq!(ok.unwrap().node.value.as_deref(), Some("\u{e9}t\u{e9}"));
        for body in [
            &b"{\"node\":{\"key\":\"/k\",\"value\":\"\xff\"}}"[..],
            b"{\"action\":",
            b"\xc3",
        ] {
            let e = keys(raw(body)).unwrap_err();
            assert!(matches!(e, Error::InvalidResponse { .. }), "{e:?}");
        }
    }

    #[test]
    fn error_shapes() {
        let e = error_from(
            404,
            "e",
            br#"{"errorCode":100,"message":"Key not found","cause":"/x","index":8}"#,
        );
        assert_eq!(e.code(), Some(EtcdCode::KeyNotFound));
        assert_eq!(e.index(), Some(8));
        let e = error_from(409, "e", br#"{"message":"membership: peerURL exists"}"#);
        assert!(
            matches!(e, Error::Http { status: 409, ref message, .. } if message == "membership: peerURL exists")
        );
        let e = error_from(405, "e", b"405 Method Not Allowed");
        assert!(matches!(e, Error::Http { status: 405, .. }));
    }
}
