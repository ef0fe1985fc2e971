//! etcdctl v2's three output formats, byte for byte: simple, extended and json.

use std::io::Write;

use rsetcd::v2::{Action, Node, Response};
use serde::Serialize;

use crate::v2::cli::Output;

/// A node as etcdctl's Go client marshals it (field order and nulls included).
#[derive(Serialize)]
struct GoNode<'a> {
    key: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dir: bool,
    value: &'a str,
    nodes: Option<Vec<GoNode<'a>>>,
    #[serde(rename = "createdIndex")]
    created_index: u64,
    #[serde(rename = "modifiedIndex")]
    modified_index: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    expiration: Option<&'a str>,
    #[serde(skip_serializing_if = "is_zero")]
    ttl: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct GoResponse<'a> {
    action: &'a str,
    node: GoNode<'a>,
    #[serde(rename = "prevNode")]
    prev_node: Option<GoNode<'a>>,
}

fn go_node(n: &Node) -> GoNode<'_> {
    GoNode {
        key: if n.key == "/" { "" } else { &n.key },
        dir: n.dir,
        value: n.value_str(),
        nodes: (!n.nodes.is_empty()).then(|| n.nodes.iter().map(go_node).collect()),
        created_index: n.created_index,
        modified_index: n.modified_index,
        expiration: n.expiration.as_deref(),
        ttl: n.ttl.unwrap_or(0),
    }
}

/// The answer as etcdctl's `-o json` prints it.
pub fn json(r: &Response) -> String {
    let go = GoResponse {
        action: r.action.as_str(),
        node: go_node(&r.node),
        prev_node: r.prev_node.as_ref().map(go_node),
    };
    serde_json::to_string(&go).unwrap_or_default()
}

/// Prints a key answer (etcdctl's printResponseKey).
pub fn print_response(out: &mut impl Write, r: &Response, format: Output) -> std::io::Result<()> {
    match format {
        Output::Simple => {
            if r.action == Action::Delete {
                writeln!(
                    out,
                    "PrevNode.Value: {}",
                    r.prev_node.as_ref().map(Node::value_str).unwrap_or("")
                )
            } else {
                writeln!(out, "{}", r.node.value_str())
            }
        }
        Output::Extended => {
            writeln!(
                out,
                "Key: {}",
                if r.node.key == "/" { "" } else { &r.node.key }
            )?;
            writeln!(out, "Created-Index: {}", r.node.created_index)?;
            writeln!(out, "Modified-Index: {}", r.node.modified_index)?;
            if let Some(prev) = &r.prev_node {
                writeln!(out, "PrevNode.Value: {}", prev.value_str())?;
            }
            writeln!(out, "TTL: {}", r.node.ttl.unwrap_or(0))?;
            writeln!(out, "Index: {}", r.etcd_index)?;
            if r.action != Action::Delete {
                writeln!(out)?;
                writeln!(out, "{}", r.node.value_str())?;
            }
            Ok(())
        }
        Output::Json => writeln!(out, "{}", json(r)),
    }
}
