//! `PUT` and `POST`: set, create, update, compare-and-swap, directories, in-order keys, TTLs and
//! refresh — each one transaction that creates the missing parents, applied only if nothing it
//! read changed meanwhile (else read again and retried).

use std::time::SystemTime;

use crate::error::{EtcdCode, Result};
use crate::v2::{Action, Node, Response};
use crate::v3::{KeyValue, Op, PutOp};

use super::errors::{self, MAX_ATTEMPTS};
use super::layout::{in_order_name, index_of, Layout, V2Path, MAX_SEGMENTS};
use super::op::{Plan, Resolved, WriteOp};
use super::snapshot::{self, Kind, Slot, Snapshot, Walk};
use super::tree;
use super::ttl::{self, Remaining};
use super::{response, Engine};

/// The action key's value for a refresh: etcd's emulation reports it as it is; this engine's
/// watches skip it (a refresh wakes no watcher in v2).
pub(crate) const REFRESH_ACTION: &str = "refresh";

/// A lease granted for this write's TTL, kept across attempts.
#[derive(Debug, Default)]
struct Granted {
    lease: Option<(i64, i64)>,
    used: bool,
}

pub(crate) async fn write(engine: &Engine, op: &WriteOp) -> Result<Response> {
    let resolved = op.resolve()?;
    let path = V2Path::parse(&op.key)?;
    let mut granted = Granted::default();
    let result = attempts(
        engine,
        &path,
        &resolved,
        &mut granted,
        op.retry_unknown_outcome,
    )
    .await;
    if let (Some((lease, _)), false) = (granted.lease, granted.used) {
        let _ = engine.client().lease_revoke(lease).await;
    }
    result
}

async fn attempts(
    engine: &Engine,
    path: &V2Path,
    r: &Resolved,
    granted: &mut Granted,
    retry_unknown: bool,
) -> Result<Response> {
    let unique = matches!(r.plan, Plan::Create { unique: true, .. });
    let mut index = 0;
    for _ in 0..MAX_ATTEMPTS {
        let snap = snapshot::read(engine.client(), engine.layout(), path, unique).await?;
        index = snap.index();
        let snap = if unique { in_order(snap)? } else { snap };
        if let Some(answer) = attempt(engine, snap, r, granted, retry_unknown).await? {
            return Ok(answer);
        }
    }
    Err(errors::contention(path, index))
}

/// An in-order create reads the directory; the node is a new child of it named by the index
/// the write is about to get (the read's revision: the write lands at a later one, and compares
/// the action key so that no other v2 write comes in between, which keeps names in creation
/// order).
fn in_order(mut snap: Snapshot) -> Result<Snapshot> {
    let dir = snap.target.path.clone();
    if dir.segments() + 1 > MAX_SEGMENTS {
        return Err(crate::Error::InvalidArgument(format!(
            "an in-order key in {dir} would be deeper than {MAX_SEGMENTS} segments"
        )));
    }
    let child = dir.child(&in_order_name(u64::try_from(snap.revision()).unwrap_or(0)));
    let parent = std::mem::replace(
        &mut snap.target,
        Slot {
            path: child,
            file: None,
            dir: None,
        },
    );
    if !dir.is_root() {
        snap.ancestors.push(parent);
    }
    Ok(snap)
}

/// What a write does to its node.
enum Change<'a> {
    /// A new node.
    Create,
    /// The file is replaced (same key): `set`, `update`, `compareAndSwap` of a file.
    File(&'a KeyValue),
    /// A file becomes a directory (`set` with `dir=true`).
    FileToDir(&'a KeyValue),
    /// A directory's TTL changes (`update` of a directory).
    Dir(&'a KeyValue),
}

/// One attempt: `None` when the transaction's compares failed (something changed).
async fn attempt(
    engine: &Engine,
    snap: Snapshot,
    r: &Resolved,
    granted: &mut Granted,
    retry_unknown: bool,
) -> Result<Option<Response>> {
    let layout = engine.layout();
    let client = engine.client();
    let path = &snap.target.path;
    let index = snap.index();
    if path.is_root() {
        return Err(errors::at(EtcdCode::RootReadOnly, path, index));
    }
    // The v2 store's walk: a file on the way is 104; a missing directory is created, except
    // for writes that need the node to exist (update, compare-and-swap, refresh).
    let must_exist = matches!(r.plan, Plan::Update | Plan::Cas { .. }) || r.refresh;
    match snap.walk() {
        Walk::Clear => {}
        Walk::NotDir(file) => return Err(errors::at(EtcdCode::NotDir, &file, index)),
        Walk::Missing(gap) if must_exist => {
            return Err(errors::at(EtcdCode::KeyNotFound, &gap, index))
        }
        Walk::Missing(_) => {}
    }
    let kind = snap.target.kind();
    let (action, change, dir) = match (&r.plan, kind) {
        (Plan::Set { .. }, Kind::Dir(_)) => return Err(errors::at(EtcdCode::NotFile, path, index)),
        (Plan::Set { .. }, Kind::Missing) if r.refresh => {
            return Err(errors::at(EtcdCode::KeyNotFound, path, index))
        }
        (Plan::Set { dir: true }, Kind::File(kv)) => (Action::Set, Change::FileToDir(kv), true),
        (Plan::Set { dir }, Kind::File(kv)) => (Action::Set, Change::File(kv), *dir),
        (Plan::Set { dir }, Kind::Missing) => (Action::Set, Change::Create, *dir),
        (Plan::Create { .. }, Kind::File(_) | Kind::Dir(_)) => {
            return Err(errors::at(EtcdCode::NodeExist, path, index))
        }
        (Plan::Create { dir, .. }, Kind::Missing) => (Action::Create, Change::Create, *dir),
        (Plan::Update | Plan::Cas { .. }, Kind::Missing) => {
            return Err(errors::at(EtcdCode::KeyNotFound, path, index))
        }
        (Plan::Update, Kind::Dir(_)) if !r.value.is_empty() => {
            return Err(errors::at(EtcdCode::NotFile, path, index))
        }
        (Plan::Update, Kind::Dir(kv)) => (Action::Update, Change::Dir(kv), true),
        (Plan::Update, Kind::File(kv)) => (Action::Update, Change::File(kv), false),
        (Plan::Cas { .. }, Kind::Dir(_)) => return Err(errors::at(EtcdCode::NotFile, path, index)),
        (
            Plan::Cas {
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
            (Action::CompareAndSwap, Change::File(kv), false)
        }
        (Plan::Delete { .. } | Plan::Cad { .. }, _) => {
            return Err(crate::Error::InvalidArgument(
                "a delete is not a write".into(),
            ))
        }
    };
    // A refresh keeps the value.
    let value = match (&change, r.refresh) {
        (Change::File(kv), true) => kv.value.to_vec(),
        _ if dir => Vec::new(),
        _ => r.value.clone().into_bytes(),
    };

    // The lease: the nearest leased ancestor's, unless the node's own TTL ends sooner.
    let inherited = snap.inherited_lease();
    let mut remaining = Remaining::default();
    remaining.fetch(client, [inherited]).await?;
    let own = match r.ttl {
        Some(secs)
            if remaining
                .get(inherited)
                .is_none_or(|left| left > i64::try_from(secs).unwrap_or(i64::MAX)) =>
        {
            let (lease, ttl) = match granted.lease {
                Some(g) => g,
                None => *granted.lease.insert(ttl::grant(client, secs).await?),
            };
            Some((lease, ttl))
        }
        _ => None,
    };
    let lease = own.map_or(inherited, |(l, _)| l);

    let mut compares = snap.compares(layout);
    if matches!(r.plan, Plan::Create { unique: true, .. }) {
        compares.push(snap.act_unchanged(layout));
    }
    let mut ops: Vec<Op> = Vec::new();
    let node_key = if dir {
        layout.dir_key(path)
    } else {
        layout.file_key(path)
    };
    ops.push(put(node_key, value.clone(), lease, false));
    for missing in snap.missing_ancestors() {
        ops.push(put(layout.dir_key(missing), Vec::new(), inherited, false));
    }
    if let Change::FileToDir(_) = change {
        ops.push(Op::delete(layout.file_key(path)).into());
    }
    let mut old_leases = Vec::new();
    if let Change::Dir(kv) = change {
        if kv.lease != lease {
            let moved = move_subtree(engine, &snap, kv.lease, lease, own.map(|o| o.1)).await?;
            compares.extend(moved.compares);
            ops.extend(moved.ops);
        }
    }
    if let Change::File(kv) | Change::FileToDir(kv) | Change::Dir(kv) = change {
        if kv.lease != lease && !snap.is_ancestor_lease(kv.lease) {
            old_leases.push(kv.lease);
        }
    }
    let act = if r.refresh {
        REFRESH_ACTION
    } else {
        action.as_str()
    };
    ops.push(put(layout.action_key(), act.as_bytes().to_vec(), 0, false));

    let Some(resp) = engine.commit(compares, ops, retry_unknown).await? else {
        return Ok(None);
    };
    granted.used |= own.is_some();
    let now = SystemTime::now();
    let revision = resp.header.as_ref().map_or(0, |h| h.revision);
    let created = match change {
        Change::File(kv) | Change::Dir(kv) => kv.create_revision,
        Change::Create | Change::FileToDir(_) => revision,
    };
    let mut node = Node {
        key: path.as_str().to_string(),
        value: (!dir).then(|| String::from_utf8_lossy(&value).into_owned()),
        dir,
        modified_index: index_of(revision),
        created_index: index_of(created),
        ..Node::default()
    };
    if let Some((_, secs)) = own {
        ttl::show(&mut node, now, secs);
    }
    let prev = match change {
        Change::Create => None,
        Change::File(kv) | Change::FileToDir(kv) | Change::Dir(kv) => {
            prev_node(engine, &snap, kv, now).await?
        }
    };
    for old in old_leases {
        ttl::revoke_if_unused(client, old).await;
    }
    Ok(Some(response(action, node, prev, resp.header.as_ref())))
}

/// The node as it was, with its TTL if it had one of its own.
pub(crate) async fn prev_node(
    engine: &Engine,
    snap: &Snapshot,
    kv: &KeyValue,
    now: SystemTime,
) -> Result<Option<Node>> {
    let Some(item) = tree::item(engine.layout(), kv) else {
        return Ok(None);
    };
    let mut node = item.node;
    let parent = snap.ancestors.last().map_or(0, Slot::lease);
    if item.lease != 0 && item.lease != parent {
        let mut remaining = Remaining::default();
        remaining.fetch(engine.client(), [item.lease]).await?;
        remaining.show(&mut node, item.lease, parent, now);
    }
    Ok(Some(node))
}

fn put(key: Vec<u8>, value: Vec<u8>, lease: i64, keep_value: bool) -> Op {
    let mut op = PutOp::new(key, value);
    if lease != 0 {
        op = op.lease(lease);
    }
    if keep_value {
        op = op.ignore_value();
    }
    op.into()
}

/// The operations and compares that move a directory's subtree to its new lease.
struct Moved {
    compares: Vec<crate::v3::Compare>,
    ops: Vec<Op>,
}

/// A directory's lease changes from `old` to `new` (0: none): every node below it that lived on
/// `old` moves to `new`, and so does every node whose own lease would outlive `new` (a TTL of
/// `new_ttl` seconds). One put (and one compare) per node moved, in the same transaction: a
/// directory with more nodes than etcd's `--max-txn-ops` (128) cannot change its TTL.
async fn move_subtree(
    engine: &Engine,
    snap: &Snapshot,
    old: i64,
    new: i64,
    new_ttl: Option<i64>,
) -> Result<Moved> {
    let layout: &Layout = engine.layout();
    let dir = &snap.target.path;
    let below =
        snapshot::read_subtree(engine.client(), layout, dir, snap.revision(), MAX_SEGMENTS).await?;
    let mut remaining = Remaining::default();
    if new_ttl.is_some() {
        let others = below.all().map(|kv| kv.lease).filter(|l| *l != old);
        remaining.fetch(engine.client(), others).await?;
    }
    let moving: Vec<&KeyValue> = below
        .all()
        .filter(|kv| {
            kv.lease == old
                || match new_ttl {
                    Some(secs) => remaining.get(kv.lease).is_some_and(|left| left > secs),
                    None => false,
                }
        })
        .collect();
    // A node deleted since the read must fail the compares, not the put (which keeps the
    // value of a key that must exist): the level compares only see changed or new keys.
    let mut compares = below.compares(layout, dir, snap.revision());
    compares.extend(moving.iter().map(|kv| {
        crate::v3::Compare::mod_revision(&kv.key, crate::v3::CompareOp::Equal, kv.mod_revision)
    }));
    let ops = moving
        .iter()
        .map(|kv| put(kv.key.to_vec(), Vec::new(), new, true))
        .collect();
    Ok(Moved { compares, ops })
}
