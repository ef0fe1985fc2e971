//! The same script of v2 operations on etcd's v2 store (over HTTP) and on the v2-over-v3 engine
//! (over v3), on one node with both APIs: every answer and every error must be the same, with
//! indexes counted from where each side started, and only the documented differences masked
//! (a `set` over a file keeps its `createdIndex` in v3; expirations are compared as present).

mod v2v3common;

use std::time::Duration;

use rsetcd::v2::over_v3::{DeleteOp, Engine, KeyOp, ReadOp, WriteOp};
use rsetcd::v2::{Action, Node, Response};
use rsetcd::{Error, Result};
use rsetcd_testkit::{Etcd, V2Api};
use v2v3common::v3;

/// The operation through rsetcd's v2 HTTP client, with the same parameters.
async fn http(h: &rsetcd::v2::Client, op: &KeyOp) -> Result<Response> {
    match op {
        KeyOp::Write(w) => {
            let value = w.value.clone().unwrap_or_default();
            let mut b = match (w.in_order, w.dir, w.refresh) {
                (true, _, _) => h.create_in_order(&w.key, value),
                (false, _, true) => h.update_ttl(&w.key, w.ttl.unwrap_or_default()),
                (false, true, false) => h.set_dir(&w.key),
                (false, false, false) => h.write(&w.key, value),
            };
            if let Some(ttl) = w.ttl {
                b = b.ttl(ttl);
            }
            if let Some(v) = &w.prev_value {
                b = b.prev_value(v.clone());
            }
            // The client refuses 0 (the server reads it as no condition).
            if let Some(i) = w.prev_index.filter(|i| *i != 0) {
                b = b.prev_index(i);
            }
            if let Some(e) = w.prev_exist {
                b = b.prev_exist(e);
            }
            b.await
        }
        KeyOp::Read(r) => {
            let mut b = h.read(&r.key);
            if r.recursive {
                b = b.recursive();
            }
            if r.sorted {
                b = b.sorted();
            }
            b.await
        }
        KeyOp::Delete(d) => {
            let mut b = h.delete(&d.key);
            if d.dir {
                b = b.dir();
            }
            if d.recursive {
                b = b.recursive();
            }
            if let Some(v) = &d.prev_value {
                b = b.prev_value(v.clone());
            }
            if let Some(i) = d.prev_index {
                b = b.prev_index(i);
            }
            b.await
        }
        other => panic!("not in the script: {other:?}"),
    }
}

/// Indexes and index-named keys counted from `base`; masked from then on: the `createdIndex` of
/// files that a `set` replaced (the v2 store makes a new node, v3 keeps the key's creation) and
/// the `modifiedIndex` of updated directories (the v2 store keeps showing the old one) and of
/// the nodes below them (the engine moves them to the directory's new lease, a new revision).
struct Norm {
    base: u64,
    replaced: std::cell::RefCell<std::collections::HashSet<String>>,
    updated_dirs: std::cell::RefCell<std::collections::HashSet<String>>,
}

impl Norm {
    fn index(&self, i: u64) -> u64 {
        if i > self.base {
            i - self.base
        } else {
            i
        }
    }

    /// Numbers in text (causes, in-order names) that are indexes of this run.
    fn text(&self, s: &str) -> String {
        let mut out = String::new();
        let mut digits = String::new();
        for c in s.chars().chain(std::iter::once('\u{0}')) {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if !digits.is_empty() {
                let width = digits.len();
                let n: u64 = digits.parse().unwrap_or(0);
                let n = if n > self.base { n - self.base } else { n };
                if width == 20 {
                    out.push_str(&format!("{n:020}"));
                } else {
                    out.push_str(&n.to_string());
                }
                digits.clear();
            }
            if c != '\u{0}' {
                out.push(c);
            }
        }
        out
    }

    fn node(&self, mut n: Node) -> Node {
        n.created_index = if self.replaced.borrow().contains(&n.key) {
            0
        } else {
            self.index(n.created_index)
        };
        let below_updated = self.updated_dirs.borrow().iter().any(|d| {
            n.key == *d || (n.key.starts_with(d.as_str()) && n.key[d.len()..].starts_with('/'))
        });
        n.modified_index = if below_updated {
            0
        } else {
            self.index(n.modified_index)
        };
        n.key = self.text(&n.key);
        n.expiration = n.expiration.map(|_| "T".into());
        n.ttl = n.ttl.map(|_| 0);
        n.nodes = n.nodes.into_iter().map(|c| self.node(c)).collect();
        n.nodes.sort_by(|a, b| a.key.cmp(&b.key));
        n
    }

    fn answer(&self, r: Result<Response>) -> String {
        match r {
            Ok(r) => {
                let set_over_file = r.action == Action::Set
                    && r.prev_node.as_ref().is_some_and(|p| !p.dir && !r.node.dir);
                if set_over_file {
                    self.replaced.borrow_mut().insert(r.node.key.clone());
                }
                let prev = r.prev_node.map(|p| {
                    let mut p = self.node(p);
                    if set_over_file {
                        p.created_index = 0;
                    }
                    p
                });
                let updated_dir = r.action == Action::Update && r.node.dir;
                let key = r.node.key.clone();
                let answer = format!(
                    "{} {:?} prev {:?} index {}",
                    r.action,
                    self.node(r.node),
                    prev,
                    self.index(r.etcd_index)
                );
                if updated_dir {
                    self.updated_dirs.borrow_mut().insert(key);
                }
                answer
            }
            Err(Error::Etcd {
                code,
                message,
                cause,
                index,
            }) => format!(
                "error {code} {message} ({}) index {}",
                self.text(&cause.unwrap_or_default()),
                self.index(index)
            ),
            Err(other) => format!("other error: {other}"),
        }
    }
}

fn script() -> Vec<KeyOp> {
    let secs = Duration::from_secs;
    let w = |op: WriteOp| KeyOp::Write(op);
    let r = |op: ReadOp| KeyOp::Read(op);
    let d = |op: DeleteOp| KeyOp::Delete(op);
    vec![
        w(WriteOp::set("/a/b/c", "v")),
        r(ReadOp::get("/a").recursive().sorted()),
        r(ReadOp::get("/a")),
        w(WriteOp::set("/a/b/c", "v2")),
        w(WriteOp::create("/a/b/c", "x")),
        w(WriteOp::create("/n", "v")),
        w(WriteOp::update("/nokey", "v")),
        w(WriteOp::update("/n", "v2")),
        w(WriteOp::compare_and_swap("/n", "v3").prev_value("v2")),
        w(WriteOp::compare_and_swap("/n", "x").prev_value("nope")),
        w(WriteOp::compare_and_swap("/n", "x")
            .prev_value("nope")
            .prev_index(1)),
        w(WriteOp::compare_and_swap("/n", "x").prev_index(1)),
        w(WriteOp::compare_and_swap("/nokey", "x").prev_value("y")),
        w(WriteOp::set("/n", "v4").prev_index(0)),
        w(WriteOp::set("/a/b/c/d", "x")),
        r(ReadOp::get("/a/b/c/d")),
        r(ReadOp::get("/nope/deeper")),
        w(WriteOp::set("/a", "x")),
        w(WriteOp::set_dir("/a")),
        w(WriteOp::mkdir("/a")),
        w(WriteOp::set("/f", "file")),
        w(WriteOp::set_dir("/f")),
        w(WriteOp::mkdir("/e")),
        r(ReadOp::get("/e")),
        w(WriteOp::set("/h/_s", "s")),
        w(WriteOp::set("/h/v", "v")),
        r(ReadOp::get("/h").recursive()),
        r(ReadOp::get("/h/_s")),
        w(WriteOp::create_in_order("/q", "j1")),
        w(WriteOp::create_in_order("/q", "j2")),
        r(ReadOp::get("/q").sorted()),
        w(WriteOp::create_in_order("/f", "x")),
        d(DeleteOp::delete("/n")),
        d(DeleteOp::delete("/n")),
        d(DeleteOp::rmdir("/h")),
        d(DeleteOp::delete("/a")),
        d(DeleteOp::delete("/a").recursive()),
        d(DeleteOp::delete("/e").dir()),
        w(WriteOp::set("/c", "one")),
        d(DeleteOp::compare_and_delete("/c").prev_value("two")),
        d(DeleteOp::compare_and_delete("/f").prev_value("x")),
        d(DeleteOp::compare_and_delete("/c").prev_value("one")),
        d(DeleteOp::delete("/")),
        w(WriteOp::set("/", "x")),
        w(WriteOp::set("/t", "v").ttl(secs(100))),
        r(ReadOp::get("/t")),
        w(WriteOp::refresh("/t", secs(200))),
        w(WriteOp::update("/t", "v2")),
        r(ReadOp::get("/t")),
        w(WriteOp::refresh("/missing", secs(5))),
        w(WriteOp::mkdir("/dt").ttl(secs(100))),
        w(WriteOp::set("/dt/k", "in")),
        r(ReadOp::get("/dt").recursive()),
        w(WriteOp::set("/enc/a b/ké?y#z", "x&y=z +1%")),
        r(ReadOp::get("/enc").recursive()),
        r(ReadOp::get("/").recursive().sorted()),
        d(DeleteOp::delete("/dt").recursive()),
        d(DeleteOp::delete("/q").recursive()),
    ]
}

/// Updates of an existing directory (`dir=true&prevExist=true`, with or without a TTL, and a
/// refresh), which etcd 3.5's v2 store answers with a 500 `nodePath /1/d : Not a file` (a
/// regression; 3.4.23 answers 200): run on 3.4 only.
fn updates_of_a_directory() -> Vec<KeyOp> {
    let secs = Duration::from_secs;
    vec![
        KeyOp::Write(WriteOp::mkdir("/ud").ttl(secs(100))),
        KeyOp::Write(WriteOp::set("/ud/k", "in")),
        KeyOp::Write(WriteOp::update_dir("/ud", None)),
        KeyOp::Write(WriteOp::update_dir("/ud", Some(secs(50)))),
        KeyOp::Write(WriteOp::refresh("/ud", secs(60))),
        KeyOp::Read(ReadOp::get("/ud").recursive()),
        KeyOp::Delete(DeleteOp::delete("/ud").recursive()),
    ]
}

#[tokio::test]
async fn the_engine_answers_every_operation_as_the_v2_store() {
    let node = tokio::task::spawn_blocking(|| {
        Etcd::builder()
            .v2(V2Api::Enabled)
            .start()
            .expect("start etcd")
    })
    .await
    .unwrap();
    let h = rsetcd::v2::Client::builder()
        .endpoints([node.client_url()])
        .build()
        .unwrap();
    let e = Engine::new(v3(&node), "/v2o");
    let theirs = Norm {
        base: h.read("/").await.unwrap().etcd_index,
        replaced: Default::default(),
        updated_dirs: Default::default(),
    };
    let ours = Norm {
        base: e.read(&ReadOp::get("/")).await.unwrap().etcd_index,
        replaced: Default::default(),
        updated_dirs: Default::default(),
    };
    let mut ops = script();
    let is_34 = rsetcd_testkit::etcd_version().is_some_and(|v| v.minor == 4);
    if is_34 {
        ops.extend(updates_of_a_directory());
    }
    for op in ops {
        let v2 = theirs.answer(http(&h, &op).await);
        let engine = ours.answer(e.execute(&op).await);
        assert_eq!(
            v2, engine,
            "\n{op:?}\n(left: the v2 store, right: the engine)"
        );
    }
}
