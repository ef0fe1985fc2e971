//! What the request workloads call: the v2 or the v3 client, through their public APIs.

use rsetcd::v3::{Compare, CompareOp, Op};
use rsetcd::{Error, EtcdCode};

/// The client a bench runs against.
#[derive(Debug, Clone)]
pub enum Target {
    /// etcd's v2 HTTP API.
    V2(rsetcd::v2::Client),
    /// etcd's v3 gRPC API.
    V3(rsetcd::v3::Client),
}

impl Target {
    /// Reads `key`; its last change's index (v2) or revision (v3), 0 when absent.
    pub async fn read(&self, key: &str) -> Result<i64, Error> {
        match self {
            Target::V2(c) => Ok(c.read(key).await?.node.modified_index as i64),
            Target::V3(c) => Ok(c
                .get(key)
                .await?
                .kvs
                .first()
                .map_or(0, |kv| kv.mod_revision)),
        }
    }

    /// Writes `key`; the index (v2) or revision (v3) of the change.
    pub async fn write(&self, key: &str, value: &str) -> Result<i64, Error> {
        match self {
            Target::V2(c) => Ok(c.write(key, value).await?.node.modified_index as i64),
            Target::V3(c) => Ok(c.put(key, value).await?.header.map_or(0, |h| h.revision)),
        }
    }

    /// Writes `key` if its last change is still `prev` (v2: compare-and-swap on prevIndex; v3:
    /// a transaction comparing the mod revision): the new index or revision, `None` when the
    /// compare failed.
    pub async fn compare_and_swap(
        &self,
        key: &str,
        value: &str,
        prev: i64,
    ) -> Result<Option<i64>, Error> {
        match self {
            Target::V2(c) => match c.compare_and_swap(key, value).prev_index(prev as u64).await {
                Ok(r) => Ok(Some(r.node.modified_index as i64)),
                Err(e) if e.code() == Some(EtcdCode::TestFailed) => Ok(None),
                Err(e) => Err(e),
            },
            Target::V3(c) => {
                let r = c
                    .txn()
                    .when(Compare::mod_revision(key, CompareOp::Equal, prev))
                    .and_then(Op::put(key, value))
                    .await?;
                Ok(r.succeeded.then(|| r.header.map_or(0, |h| h.revision)))
            }
        }
    }
}
