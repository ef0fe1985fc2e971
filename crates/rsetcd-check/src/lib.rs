//! Recorded histories of rsetcd's v2 and v3 clients under faults, checked for linearizability
//! and for the guarantees of watches — the checks of Jepsen and of etcd's robustness suite,
//! written here for rsetcd.
//!
//! - [`history`]: operations with invocation and completion times; an unknown outcome is kept
//!   as "may have happened".
//! - [`wgl`]: the Wing–Gong–Lowe search (porcupine's algorithm) over a sequential [`wgl::Model`].
//! - [`model`]: etcd's v2 store and v3 key space as sequential models, per key.
//! - [`partition`]: a history split by keys, each part checked on its own.
//! - [`revisions`]: the store-wide order of revisions and indexes, across keys.
//! - [`patch`]: lost answers settled by what the watches saw (as etcd's suite does).
//! - [`watch`]: the watch validators (v3 as etcd's suite defines them; v2 modified indexes).
//! - [`record`]: rsetcd's clients and watches, recording; [`traffic`]: what the clients do;
//!   [`faults`]: what is done to the cluster meanwhile ([`proxy_faults`]: through the fault
//!   proxies in front of each member); [`run`]: a whole run; [`verdict`]: the whole check of
//!   what was recorded, with the run's figures.
//!
//! ```
//! use rsetcd_check::history::Sym;
//! use rsetcd_check::model::v2::{NodeSeen, Request, Response, V2};
//! use rsetcd_check::wgl::{check, Call, Verdict, NEVER};
//!
//! let (key, one) = (Sym(0), Sym(1));
//! let set = Request::Set(key, one);
//! let node = NodeSeen { value: one, modified: 5, created: 5 };
//! let set_ok = Response::Node { node, prev: None };
//! let get = Request::Get(key);
//! let stale = Response::KeyNotFound;
//! let calls = [
//!     Call { call: 0, ret: 10, input: &set, output: Some(&set_ok), deadline: NEVER },
//!     Call { call: 20, ret: 30, input: &get, output: Some(&stale), deadline: NEVER },
//! ];
//! // The read began after the set completed, yet found no key: not linearizable.
//! assert!(matches!(check(&V2, &calls, 10_000), Verdict::Illegal { op: 1, .. }));
//! ```

#![deny(missing_docs)]

pub mod faults;
pub mod history;
pub mod model;
pub mod partition;
pub mod patch;
pub mod proxy_faults;
pub mod record;
pub mod revisions;
pub mod rng;
pub mod run;
pub mod traffic;
pub mod verdict;
pub mod watch;
pub mod wgl;
