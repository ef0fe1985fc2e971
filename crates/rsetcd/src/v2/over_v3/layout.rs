//! Where v2 nodes live in the v3 keyspace: the key layout of etcd's own emulation
//! (`--experimental-enable-v2v3=<prefix>`, etcd 3.4 and 3.5), learnt from running nodes.
//!
//! A v2 path `/a/b` is, inside etcd, the store path `/1/a/b` (`/1` is the v2 store's key
//! namespace). Its depth is the number of `/` in that store path: 3. The v3 key is
//!
//! ```text
//! <prefix>/<depth, 3 digits>/k/<store path>       a file:       /v2c/003/k//1/a/b
//! <prefix>/<depth, 3 digits>/k/<store path>/      a directory:  /v2c/003/k//1/a/b/
//! <prefix>/act                                     the action of the last v2 write ("set", …)
//! ```
//!
//! so the children of a directory are one range (`<prefix>/<depth + 1>/k/<store path>/`), and a
//! subtree is one range per depth below it. Values are stored as they are; directories have an
//! empty value. v2 indexes are v3 revisions minus one.

use std::fmt;

use crate::error::{Error, Result};

/// The deepest path the engine handles, in segments: its largest transactions hold two
/// operations per segment, within etcd's default limit of 128 operations per transaction.
pub const MAX_SEGMENTS: usize = 60;

/// A checked v2 path: `/` (the root) or `/a/b` — no empty, `.` or `..` segment, no NUL, no
/// trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct V2Path(String);

impl V2Path {
    /// Checks a key as the v2 client does: a missing leading `/` is added and one trailing `/`
    /// dropped; empty segments (`//`), `.` and `..` segments, NUL bytes and paths deeper than
    /// [`MAX_SEGMENTS`] are refused.
    pub fn parse(key: &str) -> Result<V2Path> {
        let trimmed = key.strip_prefix('/').unwrap_or(key);
        let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
        if trimmed.is_empty() {
            return Ok(V2Path::root());
        }
        let mut out = String::with_capacity(trimmed.len() + 1);
        let mut segments = 0;
        for segment in trimmed.split('/') {
            let why = match segment {
                "" => Some("an empty segment (\"//\")"),
                "." | ".." => Some("a \".\" or \"..\" segment"),
                s if s.contains('\0') => Some("a NUL byte"),
                _ => None,
            };
            if let Some(why) = why {
                return Err(Error::InvalidArgument(format!(
                    "key {key:?} has {why}, which etcd would rewrite to another key"
                )));
            }
            segments += 1;
            out.push('/');
            out.push_str(segment);
        }
        if segments > MAX_SEGMENTS {
            return Err(Error::InvalidArgument(format!(
                "key {key:?} has {segments} segments: v2 over v3 handles at most {MAX_SEGMENTS}"
            )));
        }
        Ok(V2Path(out))
    }

    /// The root, `/`.
    pub fn root() -> V2Path {
        V2Path("/".to_string())
    }

    /// The path as v2 shows it (`/` or `/a/b`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0 == "/"
    }

    /// The number of segments (0 for the root).
    pub fn segments(&self) -> usize {
        if self.is_root() {
            0
        } else {
            self.0.matches('/').count()
        }
    }

    /// The last segment (`""` for the root).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or("")
    }

    /// The parent directory (`None` for the root).
    pub fn parent(&self) -> Option<V2Path> {
        if self.is_root() {
            return None;
        }
        match self.0.rfind('/') {
            Some(0) | None => Some(V2Path::root()),
            Some(at) => Some(V2Path(self.0[..at].to_string())),
        }
    }

    /// The ancestors below the root, from the top down: `/a`, `/a/b` for `/a/b/c`.
    pub fn ancestors(&self) -> Vec<V2Path> {
        let mut out = Vec::new();
        let mut at = self.parent();
        while let Some(p) = at {
            if p.is_root() {
                break;
            }
            at = p.parent();
            out.push(p);
        }
        out.reverse();
        out
    }

    /// The child `name` of this directory (`name` must be one segment).
    pub fn child(&self, name: &str) -> V2Path {
        if self.is_root() {
            V2Path(format!("/{name}"))
        } else {
            V2Path(format!("{}/{name}", self.0))
        }
    }

    /// Whether `other` lies strictly below this path.
    pub fn is_ancestor_of(&self, other: &V2Path) -> bool {
        if self.is_root() {
            return !other.is_root();
        }
        other.0.len() > self.0.len()
            && other.0.starts_with(&self.0)
            && other.0.as_bytes()[self.0.len()] == b'/'
    }

    /// Whether `other` is this path or lies below it.
    pub fn contains(&self, other: &V2Path) -> bool {
        self == other || self.is_ancestor_of(other)
    }

    /// Whether a segment of `self` below `base` starts with `_` (a hidden node, which v2 leaves
    /// out of listings and recursive watches of `base`). `base` must contain `self`.
    pub fn is_hidden_below(&self, base: &V2Path) -> bool {
        let rest = if base.is_root() {
            &self.0[..]
        } else {
            self.0.get(base.0.len()..).unwrap_or("")
        };
        rest.split('/').any(|segment| segment.starts_with('_'))
    }

    /// The v2 store path: `/1` followed by the path (`/1` for the root).
    fn store_path(&self) -> String {
        if self.is_root() {
            "/1".to_string()
        } else {
            format!("/1{}", self.0)
        }
    }

    /// The depth the layout gives this path: the `/`s of its store path.
    fn depth(&self) -> usize {
        self.segments() + 1
    }
}

impl fmt::Display for V2Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The v3 keys of a v2 keyspace under one prefix (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    prefix: String,
}

impl Layout {
    /// The layout under `prefix`, as `--experimental-enable-v2v3=<prefix>` gives it (the prefix
    /// is used as it is: `/v2c` gives keys `/v2c/002/k//1/a`).
    pub fn new(prefix: &str) -> Layout {
        Layout {
            prefix: prefix.to_string(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key of a file at `path`.
    pub fn file_key(&self, path: &V2Path) -> Vec<u8> {
        format!(
            "{}/{:03}/k/{}",
            self.prefix,
            path.depth(),
            path.store_path()
        )
        .into_bytes()
    }

    /// The key of a directory at `path` (the file key and a trailing `/`).
    pub fn dir_key(&self, path: &V2Path) -> Vec<u8> {
        let mut key = self.file_key(path);
        key.push(b'/');
        key
    }

    /// The prefix of every node `levels` levels below the directory `dir` (1: its children).
    pub fn level_prefix(&self, dir: &V2Path, levels: usize) -> Vec<u8> {
        let store = dir.store_path();
        format!(
            "{}/{:03}/k/{}/",
            self.prefix,
            dir.depth() + levels,
            store.trim_end_matches('/')
        )
        .into_bytes()
    }

    /// The key holding the action of the last v2 write (etcd's emulation reads it in watches).
    pub fn action_key(&self) -> Vec<u8> {
        format!("{}/act", self.prefix).into_bytes()
    }

    /// The prefix of every key of the layout (nodes and the action key), for watches.
    pub fn watch_prefix(&self) -> Vec<u8> {
        format!("{}/", self.prefix).into_bytes()
    }

    /// The node a v3 key stands for: its path and whether it is a directory. `None` for a key
    /// outside the layout (the action key, foreign keys, keys that are not UTF-8, the root).
    pub fn decode(&self, key: &[u8]) -> Option<(V2Path, bool)> {
        let key = std::str::from_utf8(key).ok()?;
        let rest = key.strip_prefix(self.prefix.as_str())?.strip_prefix('/')?;
        let (digits, rest) = rest.split_at_checked(3)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let depth: usize = digits.parse().ok()?;
        let store = rest.strip_prefix("/k/")?;
        let (store, dir) = match store.strip_suffix('/') {
            Some(s) => (s, true),
            None => (store, false),
        };
        let v2 = store.strip_prefix("/1")?;
        if !v2.starts_with('/') || v2.len() < 2 {
            return None;
        }
        // Strict: the key must be exactly what file_key / dir_key would make.
        let path = V2Path::parse(v2).ok()?;
        (path.as_str() == v2 && path.depth() == depth).then_some((path, dir))
    }
}

/// The v2 index of a v3 revision (etcd's emulation: the revision minus one; 0 stays 0).
pub fn index_of(revision: i64) -> u64 {
    u64::try_from(revision.saturating_sub(1)).unwrap_or(0)
}

/// The v3 revision of a v2 index (the index plus one).
pub fn revision_of(index: u64) -> i64 {
    i64::try_from(index).map_or(i64::MAX, |i| i.saturating_add(1))
}

/// The name of an in-order key created at v2 index `index`: the index, zero-padded to 20
/// digits, as the v2 store names them (so that sorting by name is sorting by creation).
pub fn in_order_name(index: u64) -> String {
    format!("{index:020}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> V2Path {
        V2Path::parse(s).unwrap()
    }

    #[test]
    fn paths_are_checked_and_normalised() {
        assert_eq!(p("a/b").as_str(), "/a/b");
        assert_eq!(p("/a/b/").as_str(), "/a/b");
        assert!(p("/").is_root() && p("").is_root());
        assert_eq!(p("/a b/ké?y#").as_str(), "/a b/ké?y#");
        for bad in ["/a//b", "/a/./b", "/../a", "/a/\0"] {
            assert!(V2Path::parse(bad).is_err(), "{bad:?}");
        }
        let deep = "/x".repeat(MAX_SEGMENTS);
        assert!(V2Path::parse(&deep).is_ok());
        assert!(V2Path::parse(&format!("{deep}/y")).is_err());
    }

    #[test]
    fn parents_ancestors_and_children() {
        let c = p("/a/b/c");
        assert_eq!(c.parent(), Some(p("/a/b")));
        assert_eq!(p("/a").parent(), Some(V2Path::root()));
        assert_eq!(V2Path::root().parent(), None);
        assert_eq!(c.ancestors(), vec![p("/a"), p("/a/b")]);
        assert!(p("/a").ancestors().is_empty());
        assert_eq!(c.name(), "c");
        assert_eq!(c.segments(), 3);
        assert_eq!(V2Path::root().segments(), 0);
        assert_eq!(V2Path::root().child("x"), p("/x"));
        assert_eq!(p("/a").child("x"), p("/a/x"));
        assert!(p("/a").is_ancestor_of(&c));
        assert!(
            !p("/a").is_ancestor_of(&p("/ab/c")),
            "a prefix of the name is no ancestor"
        );
        assert!(!c.is_ancestor_of(&c) && c.contains(&c));
        assert!(V2Path::root().is_ancestor_of(&p("/a")));
    }

    #[test]
    fn hidden_below_a_base() {
        assert!(p("/h/_s").is_hidden_below(&p("/h")));
        assert!(p("/h/_d/x").is_hidden_below(&p("/h")));
        assert!(
            !p("/_h/x").is_hidden_below(&p("/_h")),
            "hidden base given by name"
        );
        assert!(p("/_h/x").is_hidden_below(&V2Path::root()));
        assert!(!p("/h/a_b").is_hidden_below(&p("/h")));
    }

    #[test]
    fn keys_follow_the_emulation_layout() {
        let l = Layout::new("/v2c");
        assert_eq!(l.file_key(&p("/a/b/c")), b"/v2c/004/k//1/a/b/c");
        assert_eq!(l.dir_key(&p("/a")), b"/v2c/002/k//1/a/");
        assert_eq!(l.dir_key(&p("/a/b")), b"/v2c/003/k//1/a/b/");
        assert_eq!(l.file_key(&p("/x")), b"/v2c/002/k//1/x");
        assert_eq!(l.level_prefix(&V2Path::root(), 1), b"/v2c/002/k//1/");
        assert_eq!(l.level_prefix(&p("/a"), 1), b"/v2c/003/k//1/a/");
        assert_eq!(l.level_prefix(&p("/a"), 2), b"/v2c/004/k//1/a/");
        assert_eq!(l.action_key(), b"/v2c/act");
        assert_eq!(l.watch_prefix(), b"/v2c/");
        let deep = "/x".repeat(MAX_SEGMENTS);
        assert!(String::from_utf8(l.file_key(&p(&deep)))
            .unwrap()
            .starts_with("/v2c/061/k//1/x/"));
    }

    #[test]
    fn keys_decode_back_and_foreign_keys_do_not() {
        let l = Layout::new("/v2c");
        for (path, dir) in [
            ("/a", true),
            ("/a/b/c", false),
            ("/q/2026-12-01 10:21 +0000 UTC", false),
        ] {
            let path = p(path);
            let key = if dir {
                l.dir_key(&path)
            } else {
                l.file_key(&path)
            };
            assert_eq!(l.decode(&key), Some((path, dir)));
        }
        for foreign in [
            &b"/v2c/act"[..],
            b"/v2c/002/k//1/",
            b"/v2c/003/k//1/a",
            b"/v2c/002/k//2/a",
            b"/v2cx/002/k//1/a",
            b"/v2c/00a/k//1/a",
            b"/v2c/002/k//1/\xff",
            b"/v2c/003/k//1/a//",
            b"/other",
        ] {
            assert_eq!(
                l.decode(foreign),
                None,
                "{}",
                String::from_utf8_lossy(foreign)
            );
        }
    }

    #[test]
    fn indexes_are_revisions_minus_one() {
        assert_eq!(index_of(2), 1);
        assert_eq!(index_of(1), 0);
        assert_eq!(index_of(0), 0);
        assert_eq!(index_of(-5), 0);
        assert_eq!(revision_of(1), 2);
        assert_eq!(revision_of(u64::MAX), i64::MAX);
        assert_eq!(in_order_name(50), "00000000000000000050");
        assert!(
            in_order_name(9) < in_order_name(10),
            "names sort by creation"
        );
    }
}
