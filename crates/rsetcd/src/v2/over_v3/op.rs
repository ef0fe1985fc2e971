//! Typed v2 key operations — the parameters of a v2 HTTP request — and how the v2 server turns
//! them into one store operation (etcd 3.4's `v2http` and `apply_v2`).

use std::time::Duration;

use crate::error::{EtcdCode, Result};

use super::errors;

/// A v2 key operation: what `PUT`/`POST`, `GET` and `DELETE` on `/v2/keys/<key>` take.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyOp {
    /// A `PUT` (or, with [`WriteOp::in_order`], a `POST`).
    Write(WriteOp),
    /// A `GET` without `wait` (waits are [`WaitOp`]s).
    Read(ReadOp),
    /// A `DELETE`.
    Delete(DeleteOp),
}

impl From<WriteOp> for KeyOp {
    fn from(op: WriteOp) -> KeyOp {
        KeyOp::Write(op)
    }
}

impl From<ReadOp> for KeyOp {
    fn from(op: ReadOp) -> KeyOp {
        KeyOp::Read(op)
    }
}

impl From<DeleteOp> for KeyOp {
    fn from(op: DeleteOp) -> KeyOp {
        KeyOp::Delete(op)
    }
}

/// A write, with the fields of a v2 `PUT`/`POST` form. Start from one of the constructors
/// (`set`, `create`, `update`, `compare_and_swap`, `mkdir`, `set_dir`, `update_dir`,
/// `refresh`, `create_in_order`) and chain options.
///
/// ```
/// use std::time::Duration;
/// use rsetcd::v2::over_v3::{KeyOp, WriteOp};
///
/// let op: KeyOp = WriteOp::compare_and_swap("/n", "2").prev_value("1").into();
/// let lease = WriteOp::set("/lease", "held").ttl(Duration::from_secs(10));
/// # let _ = (op, lease);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOp {
    /// The key (for an in-order create: the directory).
    pub key: String,
    /// `value` (absent: `""`).
    pub value: Option<String>,
    /// `ttl`, rounded up to whole seconds; `None`: no TTL (a write without one removes the
    /// node's TTL, as in v2).
    pub ttl: Option<Duration>,
    /// `dir=true`: a directory.
    pub dir: bool,
    /// `prevValue`: write only if the value is this (not empty).
    pub prev_value: Option<String>,
    /// `prevIndex`: write only if the node's `modifiedIndex` is this (0: no condition).
    pub prev_index: Option<u64>,
    /// `prevExist`: `false` create only, `true` update only.
    pub prev_exist: Option<bool>,
    /// `refresh=true`: reset the TTL, keep the value, wake no watcher.
    pub refresh: bool,
    /// A `POST`: create a node named by its creation order inside the directory `key`.
    pub in_order: bool,
    /// Send the transaction again when an attempt's outcome is unknown.
    pub retry_unknown_outcome: bool,
}

impl WriteOp {
    fn new(key: &str, value: Option<&str>) -> WriteOp {
        WriteOp {
            key: key.to_string(),
            value: value.map(str::to_string),
            ..WriteOp::default()
        }
    }

    /// `set`: create or replace the file `key`.
    pub fn set(key: &str, value: &str) -> WriteOp {
        WriteOp::new(key, Some(value))
    }

    /// `create` (`prevExist=false`): only if `key` does not exist.
    pub fn create(key: &str, value: &str) -> WriteOp {
        WriteOp::new(key, Some(value)).prev_exist(false)
    }

    /// `update` (`prevExist=true`): only if `key` exists.
    pub fn update(key: &str, value: &str) -> WriteOp {
        WriteOp::new(key, Some(value)).prev_exist(true)
    }

    /// `compare_and_swap`: add `prev_value` and / or `prev_index`.
    pub fn compare_and_swap(key: &str, value: &str) -> WriteOp {
        WriteOp::new(key, Some(value))
    }

    /// `mkdir`: create the directory `key`, only if nothing is there.
    pub fn mkdir(key: &str) -> WriteOp {
        WriteOp::new(key, None).directory().prev_exist(false)
    }

    /// `set_dir`: create a directory (or replace a file with one).
    pub fn set_dir(key: &str) -> WriteOp {
        WriteOp::new(key, None).directory()
    }

    /// `update_dir`: change an existing directory's TTL (`ttl` `None` removes it).
    pub fn update_dir(key: &str, ttl: Option<Duration>) -> WriteOp {
        WriteOp {
            ttl,
            ..WriteOp::new(key, None).directory().prev_exist(true)
        }
    }

    /// `update_ttl` (`refresh=true&prevExist=true`): reset an existing node's TTL to `ttl`
    /// without changing its value or waking watchers.
    pub fn refresh(key: &str, ttl: Duration) -> WriteOp {
        WriteOp {
            refresh: true,
            ..WriteOp::new(key, None).ttl(ttl).prev_exist(true)
        }
    }

    /// `create_in_order` (a `POST`): a new file in the directory `dir`, named by its creation
    /// order.
    pub fn create_in_order(dir: &str, value: &str) -> WriteOp {
        WriteOp {
            in_order: true,
            ..WriteOp::new(dir, Some(value))
        }
    }

    /// `dir=true`.
    pub fn directory(mut self) -> Self {
        self.dir = true;
        self
    }

    /// `ttl`.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// `prevValue`.
    pub fn prev_value(mut self, value: &str) -> Self {
        self.prev_value = Some(value.to_string());
        self
    }

    /// `prevIndex`.
    pub fn prev_index(mut self, index: u64) -> Self {
        self.prev_index = Some(index);
        self
    }

    /// `prevExist`.
    pub fn prev_exist(mut self, exists: bool) -> Self {
        self.prev_exist = Some(exists);
        self
    }
}

/// A read (`GET` without `wait`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOp {
    /// The key.
    pub key: String,
    /// `recursive=true`: a directory's whole subtree.
    pub recursive: bool,
    /// `sorted=true`: children sorted by key.
    pub sorted: bool,
}

impl ReadOp {
    /// `GET key`.
    pub fn get(key: &str) -> ReadOp {
        ReadOp {
            key: key.to_string(),
            ..ReadOp::default()
        }
    }

    /// `recursive=true`.
    pub fn recursive(mut self) -> Self {
        self.recursive = true;
        self
    }

    /// `sorted=true`.
    pub fn sorted(mut self) -> Self {
        self.sorted = true;
        self
    }
}

/// A delete (`DELETE`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeleteOp {
    /// The key.
    pub key: String,
    /// `dir=true`: also an empty directory.
    pub dir: bool,
    /// `recursive=true`: a directory and everything below it.
    pub recursive: bool,
    /// `prevValue`: compare-and-delete on the value.
    pub prev_value: Option<String>,
    /// `prevIndex`: compare-and-delete on the `modifiedIndex` (0: no condition).
    pub prev_index: Option<u64>,
    /// Send the transaction again when an attempt's outcome is unknown.
    pub retry_unknown_outcome: bool,
}

impl DeleteOp {
    /// `DELETE key`.
    pub fn delete(key: &str) -> DeleteOp {
        DeleteOp {
            key: key.to_string(),
            ..DeleteOp::default()
        }
    }

    /// `rmdir`: `dir=true` (an empty directory).
    pub fn rmdir(key: &str) -> DeleteOp {
        DeleteOp::delete(key).dir()
    }

    /// `compare_and_delete`: add `prev_value` and / or `prev_index`.
    pub fn compare_and_delete(key: &str) -> DeleteOp {
        DeleteOp::delete(key)
    }

    /// `dir=true`.
    pub fn dir(mut self) -> Self {
        self.dir = true;
        self
    }

    /// `recursive=true`.
    pub fn recursive(mut self) -> Self {
        self.recursive = true;
        self
    }

    /// `prevValue`.
    pub fn prev_value(mut self, value: &str) -> Self {
        self.prev_value = Some(value.to_string());
        self
    }

    /// `prevIndex`.
    pub fn prev_index(mut self, index: u64) -> Self {
        self.prev_index = Some(index);
        self
    }
}

/// A wait (`GET` with `wait=true`): the first change of `key` (or, recursive, below it) at or
/// after `wait_index`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitOp {
    /// The key.
    pub key: String,
    /// `recursive=true`: changes anywhere below `key` too (hidden `_` nodes below it excepted).
    pub recursive: bool,
    /// `waitIndex`: the first index to report; `None` (or 0): from now on.
    pub wait_index: Option<u64>,
}

impl WaitOp {
    /// `GET key?wait=true`.
    pub fn wait(key: &str) -> WaitOp {
        WaitOp {
            key: key.to_string(),
            ..WaitOp::default()
        }
    }

    /// `recursive=true`.
    pub fn recursive(mut self) -> Self {
        self.recursive = true;
        self
    }

    /// `waitIndex`.
    pub fn wait_index(mut self, index: u64) -> Self {
        self.wait_index = Some(index);
        self
    }
}

/// The store operation a write or delete comes down to, as etcd's `apply_v2` chooses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Plan {
    /// `set`: create or replace (not a directory).
    Set { dir: bool },
    /// `create`: only if absent; `unique` for an in-order `POST`.
    Create { dir: bool, unique: bool },
    /// `update`: only if present (a directory: its TTL only).
    Update,
    /// `compareAndSwap`.
    Cas {
        prev_value: Option<String>,
        prev_index: Option<u64>,
    },
    /// `delete` (`dir`, `recursive`).
    Delete { dir: bool, recursive: bool },
    /// `compareAndDelete`.
    Cad {
        prev_value: Option<String>,
        prev_index: Option<u64>,
    },
}

/// A write checked as the v2 server checks its form, and resolved to its store operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub(crate) plan: Plan,
    /// The value given (a directory create ignores it; an update of a directory refuses a
    /// non-empty one, as the v2 store does).
    pub(crate) value: String,
    /// Whole seconds, rounded up.
    pub(crate) ttl: Option<u64>,
    pub(crate) refresh: bool,
}

/// Seconds of a TTL, rounded up (as the v2 client sends them).
pub(crate) fn ttl_secs(ttl: Duration) -> u64 {
    ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0)
}

fn check_prev_value(prev_value: Option<&String>) -> Result<()> {
    if prev_value.is_some_and(String::is_empty) {
        return Err(errors::request(
            EtcdCode::PrevValueRequired,
            "\"prevValue\" cannot be empty",
        ));
    }
    Ok(())
}

/// `prevIndex=0` means "no condition".
fn some_index(index: Option<u64>) -> Option<u64> {
    index.filter(|i| *i != 0)
}

impl WriteOp {
    /// Checks the form as the v2 server does and picks the store operation.
    pub(crate) fn resolve(&self) -> Result<Resolved> {
        check_prev_value(self.prev_value.as_ref())?;
        let value = self.value.clone().unwrap_or_default();
        if self.refresh {
            if self.ttl.is_none() {
                return Err(errors::request(
                    EtcdCode::RefreshTtlRequired,
                    "No TTL value set",
                ));
            }
            if !value.is_empty() {
                return Err(errors::request(
                    EtcdCode::RefreshValue,
                    "A value was provided on a refresh",
                ));
            }
        }
        let prev_index = some_index(self.prev_index);
        let compare = prev_index.is_some() || self.prev_value.is_some();
        let plan = if self.in_order {
            Plan::Create {
                dir: self.dir,
                unique: true,
            }
        } else {
            match self.prev_exist {
                Some(true) if compare => Plan::Cas {
                    prev_value: self.prev_value.clone(),
                    prev_index,
                },
                Some(true) => Plan::Update,
                Some(false) => Plan::Create {
                    dir: self.dir,
                    unique: false,
                },
                None if compare => Plan::Cas {
                    prev_value: self.prev_value.clone(),
                    prev_index,
                },
                None => Plan::Set { dir: self.dir },
            }
        };
        Ok(Resolved {
            plan,
            value,
            ttl: self.ttl.map(ttl_secs),
            refresh: self.refresh,
        })
    }
}

impl DeleteOp {
    /// Checks the query as the v2 server does and picks the store operation.
    pub(crate) fn resolve(&self) -> Result<Plan> {
        check_prev_value(self.prev_value.as_ref())?;
        let prev_index = some_index(self.prev_index);
        Ok(if prev_index.is_some() || self.prev_value.is_some() {
            Plan::Cad {
                prev_value: self.prev_value.clone(),
                prev_index,
            }
        } else {
            Plan::Delete {
                // `recursive` implies `dir` in the v2 store.
                dir: self.dir || self.recursive,
                recursive: self.recursive,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(op: WriteOp) -> Plan {
        op.resolve().unwrap().plan
    }

    #[test]
    fn writes_resolve_as_apply_v2_does() {
        assert_eq!(plan(WriteOp::set("/k", "v")), Plan::Set { dir: false });
        assert_eq!(
            plan(WriteOp::create("/k", "v")),
            Plan::Create {
                dir: false,
                unique: false
            }
        );
        assert_eq!(plan(WriteOp::update("/k", "v")), Plan::Update);
        let cas = Plan::Cas {
            prev_value: Some("1".into()),
            prev_index: None,
        };
        assert_eq!(
            plan(WriteOp::compare_and_swap("/k", "2").prev_value("1")),
            cas
        );
        assert_eq!(plan(WriteOp::update("/k", "2").prev_value("1")), cas);
        // prevExist=false wins over prevValue; prevIndex=0 is no condition.
        assert_eq!(
            plan(WriteOp::create("/k", "2").prev_value("1")),
            Plan::Create {
                dir: false,
                unique: false
            }
        );
        assert_eq!(
            plan(WriteOp::set("/k", "2").prev_index(0)),
            Plan::Set { dir: false }
        );
        // POST ignores prevExist and prevValue.
        assert_eq!(
            plan(
                WriteOp::create_in_order("/q", "j")
                    .prev_exist(true)
                    .prev_value("x")
            ),
            Plan::Create {
                dir: false,
                unique: true
            }
        );
        assert_eq!(
            plan(WriteOp::mkdir("/d")),
            Plan::Create {
                dir: true,
                unique: false
            }
        );
        assert_eq!(plan(WriteOp::set_dir("/d")), Plan::Set { dir: true });
        assert_eq!(plan(WriteOp::update_dir("/d", None)), Plan::Update);
    }

    #[test]
    fn forms_the_server_refuses_are_refused_alike() {
        let code = |op: WriteOp| op.resolve().unwrap_err().code();
        assert_eq!(
            code(WriteOp::set("/k", "v").prev_value("")),
            Some(EtcdCode::PrevValueRequired)
        );
        let mut no_ttl = WriteOp::refresh("/k", Duration::from_secs(1));
        no_ttl.ttl = None;
        assert_eq!(code(no_ttl), Some(EtcdCode::RefreshTtlRequired));
        let mut with_value = WriteOp::refresh("/k", Duration::from_secs(1));
        with_value.value = Some("x".into());
        assert_eq!(code(with_value), Some(EtcdCode::RefreshValue));
        let mut empty_value = WriteOp::refresh("/k", Duration::from_secs(1));
        empty_value.value = Some(String::new());
        assert!(empty_value.resolve().is_ok(), "an empty value is allowed");
        let err = WriteOp::set("/k", "v")
            .prev_value("")
            .resolve()
            .unwrap_err();
        assert_eq!(err.index(), Some(0), "validation errors have index 0");
    }

    #[test]
    fn values_and_ttls() {
        let r = WriteOp::set_dir("/d").resolve().unwrap();
        assert_eq!(r.value, "");
        let r = WriteOp::set("/k", "v")
            .ttl(Duration::from_millis(1500))
            .resolve()
            .unwrap();
        assert_eq!(r.ttl, Some(2), "rounded up");
        assert_eq!(WriteOp::set("/k", "v").resolve().unwrap().ttl, None);
        let r = WriteOp::refresh("/k", Duration::from_secs(9))
            .resolve()
            .unwrap();
        assert!(r.refresh && r.plan == Plan::Update && r.value.is_empty());
    }

    #[test]
    fn deletes_resolve_as_apply_v2_does() {
        assert_eq!(
            DeleteOp::delete("/k").resolve().unwrap(),
            Plan::Delete {
                dir: false,
                recursive: false
            }
        );
        assert_eq!(
            DeleteOp::delete("/k").recursive().resolve().unwrap(),
            Plan::Delete {
                dir: true,
                recursive: true
            }
        );
        assert_eq!(
            DeleteOp::rmdir("/d").resolve().unwrap(),
            Plan::Delete {
                dir: true,
                recursive: false
            }
        );
        assert_eq!(
            DeleteOp::compare_and_delete("/k")
                .prev_index(4)
                .resolve()
                .unwrap(),
            Plan::Cad {
                prev_value: None,
                prev_index: Some(4)
            }
        );
        assert_eq!(
            DeleteOp::delete("/k").prev_index(0).resolve().unwrap(),
            Plan::Delete {
                dir: false,
                recursive: false
            }
        );
        assert!(DeleteOp::delete("/k").prev_value("").resolve().is_err());
    }
}
