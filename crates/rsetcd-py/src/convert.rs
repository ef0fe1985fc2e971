//! rsetcd's answers as the plain Python objects pyetcd hands out: `node` and `prevNode` are the
//! dicts etcd sent (same keys, same omissions), the payload the dict of the whole body.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rsetcd::v2::{Node, Response};

/// A node as etcd writes it: `key`, `dir` (directories only), `value` (files), `expiration` and
/// `ttl` (with a TTL), `nodes` (listings), `modifiedIndex`, `createdIndex`. The root comes without
/// key and indexes, as etcd sends it.
pub(crate) fn node<'py>(py: Python<'py>, n: &Node) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let root = n.key == "/" && n.modified_index == 0 && n.created_index == 0;
    if !root {
        d.set_item(intern!(py, "key"), &n.key)?;
    }
    if n.dir {
        d.set_item(intern!(py, "dir"), true)?;
    }
    if let Some(v) = &n.value {
        d.set_item(intern!(py, "value"), v)?;
    }
    if let Some(e) = &n.expiration {
        d.set_item(intern!(py, "expiration"), e)?;
    }
    if let Some(t) = n.ttl {
        d.set_item(intern!(py, "ttl"), t)?;
    }
    if !n.nodes.is_empty() {
        let children = PyList::empty(py);
        for child in &n.nodes {
            children.append(node(py, child)?)?;
        }
        d.set_item(intern!(py, "nodes"), children)?;
    }
    if !root {
        d.set_item(intern!(py, "modifiedIndex"), n.modified_index)?;
        d.set_item(intern!(py, "createdIndex"), n.created_index)?;
    }
    Ok(d)
}

/// A key answer: `(payload, x_etcd_index)`, the payload `{"action", "node"[, "prevNode"]}`; the
/// index is `None` when etcd sent no `X-Etcd-Index`.
pub(crate) fn response<'py>(
    py: Python<'py>,
    r: &Response,
) -> PyResult<(Bound<'py, PyDict>, Option<u64>)> {
    let d = PyDict::new(py);
    d.set_item(intern!(py, "action"), r.action.as_str())?;
    d.set_item(intern!(py, "node"), node(py, &r.node)?)?;
    if let Some(prev) = &r.prev_node {
        d.set_item(intern!(py, "prevNode"), node(py, prev)?)?;
    }
    // etcd always sends the header on key answers; rsetcd reports 0 when it did not.
    let index = (r.etcd_index != 0).then_some(r.etcd_index);
    Ok((d, index))
}
