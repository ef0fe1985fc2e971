//! The checkpoint: one v3 key outside the prefix, rewritten in every transaction of a run, that
//! says whose the prefix is and how far the run got.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::Error;
use crate::v3::Client;

/// The default checkpoint key of a prefix: `/rsetcd-migrate<prefix>` (`/rsetcd-migrate/v2c`).
/// It lies outside the prefix, so that neither the engine's watches nor etcd's emulation
/// (which watches every key starting with the prefix) see it; for a prefix that would still
/// contain it, the leading `/` is dropped.
pub fn checkpoint_key(prefix: &str) -> Vec<u8> {
    let key = format!("/rsetcd-migrate{prefix}");
    if !prefix.is_empty() && key.starts_with(prefix) {
        format!("rsetcd-migrate{prefix}").into_bytes()
    } else {
        key.into_bytes()
    }
}

/// What the checkpoint records (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Checkpoint {
    /// Always `"rsetcd migrate v2-to-v3"`.
    pub tool: String,
    /// The prefix.
    pub prefix: String,
    /// The source's `X-Etcd-Cluster-Id` (empty when it sent none).
    pub source_cluster: String,
    /// `copying` (the first copy is under way), `following`, or `done` (cut over).
    pub state: String,
    /// The source's index of the snapshot being synced.
    pub index: u64,
    /// Nodes written by this run so far (approximate while transactions run concurrently).
    pub written: u64,
    /// Nodes the snapshot being synced holds.
    pub total: u64,
    /// When this was written (seconds since the Unix epoch).
    pub updated: u64,
}

pub(crate) const TOOL: &str = "rsetcd migrate v2-to-v3";

impl Checkpoint {
    pub(crate) fn new(prefix: &str, source_cluster: &str) -> Checkpoint {
        Checkpoint {
            tool: TOOL.to_string(),
            prefix: prefix.to_string(),
            source_cluster: source_cluster.to_string(),
            state: "copying".to_string(),
            index: 0,
            written: 0,
            total: 0,
            updated: 0,
        }
    }

    /// The JSON to store, stamped now.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut c = self.clone();
        c.updated = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        serde_json::to_vec(&c).unwrap_or_default()
    }

    /// Reads the checkpoint at `key` (`None`: there is none).
    pub(crate) async fn read(client: &Client, key: &[u8]) -> Result<Option<Checkpoint>, Error> {
        let resp = client.get(key).await?;
        let Some(kv) = resp.kvs.first() else {
            return Ok(None);
        };
        let bad = |reason: String| Error::BadCheckpoint {
            key: String::from_utf8_lossy(key).into_owned(),
            reason,
        };
        let cp: Checkpoint =
            serde_json::from_slice(&kv.value).map_err(|e| bad(format!("not JSON: {e}")))?;
        if cp.tool != TOOL {
            return Err(bad(format!("written by {:?}", cp.tool)));
        }
        Ok(Some(cp))
    }

    /// Writes it on its own (state changes; batches carry it in their transactions).
    pub(crate) async fn write(&self, client: &Client, key: &[u8]) -> Result<(), Error> {
        client
            .put(key, self.encode())
            .retry_unknown_outcome()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_lies_outside_the_prefix() {
        assert_eq!(checkpoint_key("/v2c"), b"/rsetcd-migrate/v2c");
        assert_eq!(checkpoint_key("/r"), b"rsetcd-migrate/r");
        assert!(!checkpoint_key("/rsetcd").starts_with(b"/rsetcd"));
    }

    #[test]
    fn checkpoints_round_trip() {
        let cp = Checkpoint::new("/p", "abc");
        let back: Checkpoint = serde_json::from_slice(&cp.encode()).unwrap();
        assert_eq!(back.prefix, "/p");
        assert_eq!(back.state, "copying");
        assert!(back.updated > 0);
    }
}
