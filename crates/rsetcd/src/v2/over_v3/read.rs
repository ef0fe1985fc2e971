//! `GET`: a file, a directory listing (one level or recursive, sorted or not), the root.

use std::time::SystemTime;

use crate::error::{EtcdCode, Result};
use crate::v2::{Action, Node, Response};

use super::layout::{V2Path, MAX_SEGMENTS};
use super::op::ReadOp;
use super::snapshot::{self, Kind, Walk};
use super::tree::{self, walk_mut};
use super::ttl::Remaining;
use super::{errors, response, Engine};

pub(crate) async fn read(engine: &Engine, op: &ReadOp) -> Result<Response> {
    let path = V2Path::parse(&op.key)?;
    let client = engine.client();
    let layout = engine.layout();
    let snap = snapshot::read(client, layout, &path, false).await?;
    let index = snap.index();
    match snap.walk() {
        Walk::Clear => {}
        Walk::NotDir(file) => return Err(errors::at(EtcdCode::NotDir, &file, index)),
        Walk::Missing(gap) => return Err(errors::at(EtcdCode::KeyNotFound, &gap, index)),
    }
    let parent_lease = snap.ancestors.last().map_or(0, |s| s.lease());
    let now = SystemTime::now();
    let mut remaining = Remaining::default();
    let (mut node, lease) = if path.is_root() {
        let root = Node {
            key: "/".to_string(),
            dir: true,
            ..Node::default()
        };
        (root, 0)
    } else {
        match snap.target.kind() {
            Kind::Missing => return Err(errors::at(EtcdCode::KeyNotFound, &path, index)),
            Kind::File(kv) | Kind::Dir(kv) => match tree::item(layout, kv) {
                Some(item) => (item.node, item.lease),
                None => return Err(errors::at(EtcdCode::KeyNotFound, &path, index)),
            },
        }
    };
    if node.dir {
        let levels = if op.recursive { MAX_SEGMENTS } else { 1 };
        let below = snapshot::read_subtree(client, layout, &path, snap.revision(), levels).await?;
        let (children, leases) = tree::listing(layout, &path, &below.levels, op.sorted);
        remaining
            .fetch(client, leases.values().copied().chain([lease]))
            .await?;
        node.nodes = children;
        // Each child shows its lease if it is not its parent's.
        let top = node.key.clone();
        let mut nodes = std::mem::take(&mut node.nodes);
        walk_mut(&mut nodes, &mut |n: &mut Node| {
            let own = leases.get(&n.key).copied().unwrap_or(0);
            let parent_key = match n.key.rsplit_once('/') {
                Some(("", _)) | None => "/",
                Some((p, _)) => p,
            };
            let parent = if parent_key == top {
                lease
            } else {
                leases.get(parent_key).copied().unwrap_or(0)
            };
            remaining.show(n, own, parent, now);
        });
        node.nodes = nodes;
    } else {
        remaining.fetch(client, [lease]).await?;
    }
    remaining.show(&mut node, lease, parent_lease, now);
    Ok(response(Action::Get, node, None, Some(&snap.header)))
}
