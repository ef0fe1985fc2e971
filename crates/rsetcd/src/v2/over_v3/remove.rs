//! `DELETE`: a file, an empty directory (`dir`), a subtree (`recursive`), compare-and-delete —
//! each one transaction, applied only if nothing it read changed meanwhile.

use std::time::SystemTime;

use crate::error::{EtcdCode, Result};
use crate::v2::{Action, Node, Response};
use crate::v3::{KeyValue, Op, PutOp};

use super::errors::{self, MAX_ATTEMPTS};
use super::layout::{index_of, V2Path, MAX_SEGMENTS};
use super::op::{DeleteOp, Plan};
use super::snapshot::{self, Kind, Snapshot, Walk};
use super::ttl;
use super::write::prev_node;
use super::{response, Engine};

pub(crate) async fn delete(engine: &Engine, op: &DeleteOp) -> Result<Response> {
    let plan = op.resolve()?;
    let path = V2Path::parse(&op.key)?;
    let mut index = 0;
    for _ in 0..MAX_ATTEMPTS {
        let snap = snapshot::read(engine.client(), engine.layout(), &path, false).await?;
        index = snap.index();
        if let Some(answer) = attempt(engine, &snap, &plan, op.retry_unknown_outcome).await? {
            return Ok(answer);
        }
    }
    Err(errors::contention(&path, index))
}

/// One attempt: `None` when the transaction's compares failed (something changed).
async fn attempt(
    engine: &Engine,
    snap: &Snapshot,
    plan: &Plan,
    retry_unknown: bool,
) -> Result<Option<Response>> {
    let layout = engine.layout();
    let client = engine.client();
    let path = &snap.target.path;
    let index = snap.index();
    if path.is_root() {
        return Err(errors::at(EtcdCode::RootReadOnly, path, index));
    }
    match snap.walk() {
        Walk::Clear => {}
        Walk::NotDir(file) => return Err(errors::at(EtcdCode::NotDir, &file, index)),
        Walk::Missing(gap) => return Err(errors::at(EtcdCode::KeyNotFound, &gap, index)),
    }
    let mut compares = snap.compares(layout);
    let mut ops: Vec<Op> = Vec::new();
    let mut leases = Vec::new();
    let (action, kv, dir): (Action, &KeyValue, bool) = match (plan, snap.target.kind()) {
        (_, Kind::Missing) => return Err(errors::at(EtcdCode::KeyNotFound, path, index)),
        (Plan::Cad { .. }, Kind::Dir(_)) => return Err(errors::at(EtcdCode::NotFile, path, index)),
        (
            Plan::Cad {
                prev_value,
                prev_index,
            },
            Kind::File(kv),
        ) => {
            let value = String::from_utf8_lossy(&kv.value);
            let modified = index_of(kv.mod_revision);
            let value_ok = prev_value.as_deref().is_none_or(|v| v == value);
            let index_ok = prev_index.is_none_or(|i| i == modified);
            if !(value_ok && index_ok) {
                let cause =
                    errors::compare_cause(prev_value.as_deref(), &value, *prev_index, modified);
                return Err(errors::etcd(EtcdCode::TestFailed, cause, index));
            }
            ops.push(Op::delete(layout.file_key(path)).into());
            (Action::CompareAndDelete, kv, false)
        }
        (Plan::Delete { .. }, Kind::File(kv)) => {
            ops.push(Op::delete(layout.file_key(path)).into());
            (Action::Delete, kv, false)
        }
        (Plan::Delete { dir: false, .. }, Kind::Dir(_)) => {
            return Err(errors::at(EtcdCode::NotFile, path, index))
        }
        (Plan::Delete { recursive, .. }, Kind::Dir(kv)) => {
            let levels = if *recursive { MAX_SEGMENTS } else { 1 };
            let below =
                snapshot::read_subtree(client, layout, path, snap.revision(), levels).await?;
            if !recursive && !below.is_empty() {
                // Hidden children count: the directory is not empty.
                return Err(errors::at(EtcdCode::DirNotEmpty, path, index));
            }
            compares.extend(below.compares(layout, path, snap.revision()));
            ops.push(Op::delete(layout.dir_key(path)).into());
            for prefix in below.level_prefixes(layout, path) {
                ops.push(Op::delete(prefix).prefix().into());
            }
            leases.extend(below.all().map(|kv| kv.lease));
            (Action::Delete, kv, true)
        }
        (Plan::Set { .. } | Plan::Create { .. } | Plan::Update | Plan::Cas { .. }, _) => {
            return Err(crate::Error::InvalidArgument(
                "a write is not a delete".into(),
            ))
        }
    };
    leases.push(kv.lease);
    ops.push(PutOp::new(layout.action_key(), action.as_str()).into());

    let Some(resp) = engine.commit(compares, ops, retry_unknown).await? else {
        return Ok(None);
    };
    let now = SystemTime::now();
    let revision = resp.header.as_ref().map_or(0, |h| h.revision);
    let node = Node {
        key: path.as_str().to_string(),
        dir,
        modified_index: index_of(revision),
        created_index: index_of(kv.create_revision),
        ..Node::default()
    };
    let prev = prev_node(engine, snap, kv, now).await?;
    leases.sort_unstable();
    leases.dedup();
    for lease in leases {
        if !snap.is_ancestor_lease(lease) {
            ttl::revoke_if_unused(client, lease).await;
        }
    }
    Ok(Some(response(action, node, prev, resp.header.as_ref())))
}
