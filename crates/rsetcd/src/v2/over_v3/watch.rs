//! Waits and watches: one v3 watch on the whole prefix (nodes and the action key), from
//! `waitIndex + 1`; each revision becomes at most one v2 event, which is reported if it
//! concerns the watched key as a v2 watcher sees it.
//!
//! A revision's action is the action key written in it (`set`, `create`, `update`,
//! `compareAndSwap`, `delete`, `compareAndDelete`); a revision that deletes nodes without one is
//! a lease expiring (`expire`); a refresh (action `refresh`) and a revision with no node are no
//! event. The event's node is, for deletes and expiries, the topmost node deleted (a watcher of
//! a key below it is woken with the ancestor's key, as in v2) and, for writes, the node written
//! (not the parent directories the write created).

use std::collections::VecDeque;
use std::time::SystemTime;

use crate::error::{EtcdCode, Result};
use crate::v2::{Action, Node, Response};
use crate::v3::proto::mvccpb::event::EventType;
use crate::v3::{Event, KeyValue, Watch, WatchItem};

use super::layout::{index_of, revision_of, Layout, V2Path};
use super::op::WaitOp;
use super::ttl::Remaining;
use super::write::REFRESH_ACTION;
use super::{errors, tree, Engine};

/// A watch's events, as v2 answers a wait: see [`Engine::watch`].
#[derive(Debug)]
pub struct Events {
    engine: Engine,
    watch: Watch,
    path: V2Path,
    recursive: bool,
    wait_index: u64,
    etcd_index: u64,
    pending: VecDeque<Response>,
    done: bool,
}

impl Events {
    /// The next matching change, in index order; `None` once the watch has ended (after an
    /// error, or when the client's runtime stops).
    pub async fn next(&mut self) -> Option<Result<Response>> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            match self.watch.next().await {
                None => self.done = true,
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Some(Ok(WatchItem::Events { events, .. })) => {
                    if let Err(e) = self.take(&events).await {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
                Some(Ok(WatchItem::Compacted { compact_revision })) => {
                    self.done = true;
                    let cause = format!(
                        "the requested history has been cleared [{}/{}]",
                        index_of(compact_revision),
                        self.wait_index
                    );
                    let err = errors::etcd(EtcdCode::EventIndexCleared, cause, self.etcd_index);
                    return Some(Err(err));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// `X-Etcd-Index` of the watch: the index when it was registered.
    pub fn etcd_index(&self) -> u64 {
        self.etcd_index
    }

    /// Turns a batch of v3 events into the matching v2 events.
    async fn take(&mut self, events: &[Event]) -> Result<()> {
        let layout = self.engine.layout().clone();
        for change in changes(&layout, events) {
            if !matches(&self.path, self.recursive, &change.path, &change.action) {
                continue;
            }
            let mut node = change.node;
            if change.lease != 0 {
                self.show_ttl(&mut node, &change.path, change.lease, change.parent_lease)
                    .await?;
            }
            self.pending.push_back(Response {
                action: change.action,
                node,
                prev_node: change.prev,
                etcd_index: self.etcd_index,
                ..Response::default()
            });
        }
        Ok(())
    }

    /// Shows a written node's TTL when it lives on a lease of its own (not its parent's).
    async fn show_ttl(
        &self,
        node: &mut Node,
        path: &V2Path,
        lease: i64,
        parent_lease: Option<i64>,
    ) -> Result<()> {
        let client = self.engine.client();
        let parent_lease = match (parent_lease, path.parent()) {
            (Some(l), _) => l,
            (None, Some(parent)) if !parent.is_root() => {
                let key = self.engine.layout().dir_key(&parent);
                let resp = client.get(key).await?;
                resp.kvs.first().map_or(0, |kv| kv.lease)
            }
            _ => 0,
        };
        let mut remaining = Remaining::default();
        remaining.fetch(client, [lease]).await?;
        remaining.show(node, lease, parent_lease, SystemTime::now());
        Ok(())
    }
}

/// A watch; `give_up_after` bounds how long the v3 watch retries while no endpoint serves it
/// (the v3 watch's default: 30 s).
pub(crate) async fn watch(
    engine: &Engine,
    op: &WaitOp,
    give_up_after: Option<std::time::Duration>,
) -> Result<Events> {
    let path = V2Path::parse(&op.key)?;
    let wait_index = op.wait_index.unwrap_or(0);
    let mut builder = engine
        .client()
        .watch(engine.layout().watch_prefix())
        .prefix()
        .prev_kv();
    if wait_index > 0 {
        builder = builder.start_revision(revision_of(wait_index));
    }
    if let Some(bound) = give_up_after {
        builder = builder.give_up_after(bound);
    }
    let watch = builder.await?;
    Ok(Events {
        engine: engine.clone(),
        etcd_index: index_of(watch.created_revision()),
        watch,
        path,
        recursive: op.recursive,
        wait_index,
        pending: VecDeque::new(),
        done: false,
    })
}

/// One revision as one v2 event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Change {
    pub(crate) action: Action,
    pub(crate) path: V2Path,
    pub(crate) node: Node,
    pub(crate) prev: Option<Node>,
    /// The lease of a written node (0 for deletes).
    pub(crate) lease: i64,
    /// The lease of the node's parent directory, when the revision wrote it too.
    pub(crate) parent_lease: Option<i64>,
}

fn action(name: &str) -> Action {
    match name {
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

fn is_removal(action: &Action) -> bool {
    matches!(
        action,
        Action::Delete | Action::CompareAndDelete | Action::Expire
    )
}

/// The v2 events of a batch of v3 events, one per revision that makes one.
pub(crate) fn changes(layout: &Layout, events: &[Event]) -> Vec<Change> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let rev = revision(&events[start]);
        let len = events[start..]
            .iter()
            .take_while(|e| revision(e) == rev)
            .count();
        if let Some(change) = change(layout, &events[start..start + len]) {
            out.push(change);
        }
        start += len;
    }
    out
}

fn revision(e: &Event) -> i64 {
    e.kv.as_ref().map_or(0, |kv| kv.mod_revision)
}

/// A node event of a revision: its path, whether it is a directory, whether it is a put.
struct NodeEvent<'a> {
    path: V2Path,
    dir: bool,
    put: bool,
    kv: &'a KeyValue,
    prev: Option<&'a KeyValue>,
}

/// The v2 event of one revision's v3 events.
fn change(layout: &Layout, events: &[Event]) -> Option<Change> {
    let action_key = layout.action_key();
    let mut act = None;
    let mut nodes = Vec::new();
    for e in events {
        let kv = e.kv.as_ref()?;
        let put = e.r#type() == EventType::Put;
        if kv.key.as_ref() == action_key.as_slice() {
            if put {
                act = Some(String::from_utf8_lossy(&kv.value).into_owned());
            }
            continue;
        }
        if let Some((path, dir)) = layout.decode(&kv.key) {
            nodes.push(NodeEvent {
                path,
                dir,
                put,
                kv,
                prev: e.prev_kv.as_ref(),
            });
        }
    }
    let action = match act.as_deref() {
        Some(REFRESH_ACTION) => return None,
        Some(name) => action(name),
        // No action key: a lease expired (or a v3 client wrote without one).
        None if nodes.iter().any(|n| !n.put) => Action::Expire,
        None => Action::Set,
    };
    let removal = is_removal(&action) && nodes.iter().any(|n| !n.put);
    let primary = if removal {
        // The topmost node deleted.
        nodes
            .iter()
            .filter(|n| !n.put)
            .min_by_key(|n| n.path.segments())?
    } else {
        // The node written, not the parent directories created with it.
        let fresh_parent = |n: &NodeEvent<'_>| {
            n.dir
                && n.kv.create_revision == n.kv.mod_revision
                && nodes
                    .iter()
                    .any(|o| o.put && n.path.is_ancestor_of(&o.path))
        };
        nodes
            .iter()
            .filter(|n| n.put && !fresh_parent(n))
            .min_by_key(|n| n.path.segments())?
    };
    let index = index_of(primary.kv.mod_revision);
    let prev_kv = primary.prev.or_else(|| {
        // A file replaced by a directory: the file's deletion carries the old node.
        nodes
            .iter()
            .find(|n| !n.put && n.path == primary.path)
            .and_then(|n| n.prev)
    });
    let prev = prev_kv
        .and_then(|kv| tree::item(layout, kv))
        .map(|i| i.node);
    let (node, lease) = if removal {
        let node = Node {
            key: primary.path.as_str().to_string(),
            dir: primary.dir,
            modified_index: index,
            created_index: prev_kv.map_or(0, |kv| index_of(kv.create_revision)),
            ..Node::default()
        };
        (node, 0)
    } else {
        let item = tree::item(layout, primary.kv)?;
        (item.node, item.lease)
    };
    let parent_lease = primary.path.parent().and_then(|parent| {
        nodes
            .iter()
            .find(|n| n.put && n.dir && n.path == parent)
            .map(|n| n.kv.lease)
    });
    Some(Change {
        action,
        path: primary.path.clone(),
        node,
        prev,
        lease,
        parent_lease,
    })
}

/// Whether a v2 watcher of `watched` (`recursive` or not) sees an event on `changed`: the key
/// itself; with `recursive`, a node below it unless hidden (a `_` segment below the watched
/// key); and the deletion or expiry of a directory above it.
pub(crate) fn matches(
    watched: &V2Path,
    recursive: bool,
    changed: &V2Path,
    action: &Action,
) -> bool {
    if changed == watched {
        return true;
    }
    if recursive && watched.is_ancestor_of(changed) {
        return !changed.is_hidden_below(watched);
    }
    is_removal(action) && changed.is_ancestor_of(watched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> V2Path {
        V2Path::parse(s).unwrap()
    }

    struct Rev<'a> {
        layout: &'a Layout,
        rev: i64,
        events: Vec<Event>,
    }

    impl Rev<'_> {
        fn kv(&self, path: &str, dir: bool, created: i64, lease: i64) -> KeyValue {
            let path = p(path);
            KeyValue {
                key: if dir {
                    self.layout.dir_key(&path)
                } else {
                    self.layout.file_key(&path)
                }
                .into(),
                create_revision: created,
                mod_revision: self.rev,
                version: 1,
                value: if dir { "" } else { "v" }.into(),
                lease,
            }
        }

        fn put(mut self, path: &str, dir: bool, created: i64, lease: i64) -> Self {
            let kv = self.kv(path, dir, created, lease);
            self.events.push(Event {
                r#type: EventType::Put as i32,
                kv: Some(kv),
                prev_kv: None,
            });
            self
        }

        fn delete(mut self, path: &str, dir: bool) -> Self {
            let mut prev = self.kv(path, dir, 2, 0);
            prev.mod_revision = 2;
            let kv = KeyValue {
                key: prev.key.clone(),
                mod_revision: self.rev,
                ..KeyValue::default()
            };
            self.events.push(Event {
                r#type: EventType::Delete as i32,
                kv: Some(kv),
                prev_kv: Some(prev),
            });
            self
        }

        fn act(mut self, action: &str) -> Self {
            self.events.push(Event {
                r#type: EventType::Put as i32,
                kv: Some(KeyValue {
                    key: self.layout.action_key().into(),
                    value: action.to_string().into(),
                    mod_revision: self.rev,
                    ..KeyValue::default()
                }),
                prev_kv: None,
            });
            self
        }
    }

    fn rev(layout: &Layout, rev: i64) -> Rev<'_> {
        Rev {
            layout,
            rev,
            events: Vec::new(),
        }
    }

    #[test]
    fn a_write_is_the_node_written_not_its_new_parents() {
        let l = Layout::new("/p");
        // The emulation writes in any order; parents first here.
        let r = rev(&l, 5)
            .put("/a", true, 5, 0)
            .put("/a/b", true, 5, 0)
            .put("/a/b/c", false, 5, 0)
            .act("set");
        let c = changes(&l, &r.events);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].action, Action::Set);
        assert_eq!(c[0].node.key, "/a/b/c");
        assert_eq!(c[0].node.modified_index, 4);
        // mkdir of /a/b creating /a.
        let r = rev(&l, 6)
            .put("/a/b", true, 6, 0)
            .put("/a", true, 6, 0)
            .act("create");
        assert_eq!(changes(&l, &r.events)[0].node.key, "/a/b");
        // A directory's TTL moved to its children: the directory (not new) is the event.
        let r = rev(&l, 7)
            .put("/d", true, 3, 9)
            .put("/d/x", false, 4, 9)
            .act("update");
        let c = &changes(&l, &r.events)[0];
        assert_eq!((c.node.key.as_str(), c.lease), ("/d", 9));
        assert_eq!(c.parent_lease, None);
        let r = rev(&l, 8)
            .put("/n/x", false, 8, 4)
            .put("/n", true, 8, 4)
            .act("set");
        assert_eq!(changes(&l, &r.events)[0].parent_lease, Some(4));
    }

    #[test]
    fn deletes_are_the_topmost_node_and_expiries_have_no_action_key() {
        let l = Layout::new("/p");
        let r = rev(&l, 9)
            .delete("/d", true)
            .delete("/d/x", false)
            .delete("/d/s", true)
            .delete("/d/s/y", false)
            .act("delete");
        let c = &changes(&l, &r.events)[0];
        assert_eq!(
            (c.action.clone(), c.node.key.as_str(), c.node.dir),
            (Action::Delete, "/d", true)
        );
        assert_eq!(c.prev.as_ref().unwrap().key, "/d");
        assert_eq!(c.node.created_index, 1);
        let r = rev(&l, 10).delete("/t", false);
        let c = &changes(&l, &r.events)[0];
        assert_eq!(c.action, Action::Expire);
        assert!(c.node.value.is_none());
        assert_eq!(c.prev.as_ref().unwrap().value.as_deref(), Some("v"));
        // A file replaced by a directory: a set with the file as prevNode.
        let r = rev(&l, 11)
            .put("/f", true, 11, 0)
            .delete("/f", false)
            .act("set");
        let c = &changes(&l, &r.events)[0];
        assert!(c.node.dir && c.action == Action::Set);
        assert_eq!(c.prev.as_ref().unwrap().value.as_deref(), Some("v"));
    }

    #[test]
    fn refreshes_and_revisions_without_nodes_make_no_event() {
        let l = Layout::new("/p");
        let r = rev(&l, 12).put("/k", false, 3, 8).act(REFRESH_ACTION);
        assert!(changes(&l, &r.events).is_empty());
        let r = rev(&l, 13).act("delete");
        assert!(
            changes(&l, &r.events).is_empty(),
            "an action alone (the emulation's failed delete)"
        );
        let mut batch = rev(&l, 14).put("/a", false, 14, 0).act("set").events;
        batch.extend(rev(&l, 15).put("/b", false, 15, 0).act("create").events);
        let c = changes(&l, &batch);
        assert_eq!(c.len(), 2, "one event per revision");
        assert_eq!(
            (c[0].node.key.as_str(), c[1].action.clone()),
            ("/a", Action::Create)
        );
    }

    #[test]
    fn watchers_see_their_key_their_subtree_and_removals_above() {
        let set = Action::Set;
        assert!(matches(&p("/k"), false, &p("/k"), &set));
        assert!(!matches(&p("/d"), false, &p("/d/x"), &set), "not recursive");
        assert!(matches(&p("/d"), true, &p("/d/x/y"), &set));
        assert!(!matches(&p("/d"), true, &p("/d/_h"), &set), "hidden");
        assert!(
            !matches(&p("/d"), true, &p("/d/_h/x"), &set),
            "below a hidden node"
        );
        assert!(
            matches(&p("/d/_h"), false, &p("/d/_h"), &set),
            "by its exact name"
        );
        assert!(
            matches(&p("/_d"), true, &p("/_d/x"), &set),
            "hidden base given by name"
        );
        assert!(!matches(&p("/d"), true, &p("/dx"), &set));
        assert!(matches(&V2Path::root(), true, &p("/a"), &set));
        assert!(matches(&p("/d/s/k"), false, &p("/d"), &Action::Delete));
        assert!(matches(&p("/d/s/k"), false, &p("/d"), &Action::Expire));
        assert!(!matches(&p("/d/s/k"), false, &p("/d"), &set));
    }
}
