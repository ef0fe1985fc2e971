//! The statistics etcd's `/v2/stats/*` endpoints report, as typed structs (not served over v3:
//! a client whose backend is the v3 API gets [`Error::Unsupported`](crate::Error::Unsupported)).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `/v2/stats/self`: the member answering. Its `state` is not authoritative (an isolated member may
/// call itself leader); ask [`Client::leader`](super::Client::leader) for the leader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SelfStats {
    /// Member name.
    pub name: String,
    /// Member ID (hex).
    pub id: String,
    /// `StateLeader`, `StateFollower`, …
    pub state: String,
    /// When the member started (RFC 3339).
    pub start_time: String,
    /// The leader as this member sees it.
    pub leader_info: LeaderInfo,
    /// Append requests received.
    #[serde(default)]
    pub recv_append_request_cnt: u64,
    /// Append requests sent.
    #[serde(default)]
    pub send_append_request_cnt: u64,
    /// Requests received per second, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recv_pkg_rate: Option<f64>,
    /// Bytes received per second, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recv_bandwidth_rate: Option<f64>,
    /// Requests sent per second, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_pkg_rate: Option<f64>,
    /// Bytes sent per second, when reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_bandwidth_rate: Option<f64>,
}

/// The leader as a member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaderInfo {
    /// Leader ID (hex).
    #[serde(default)]
    pub leader: String,
    /// How long it has led (a Go duration string such as `4.18s`).
    #[serde(default)]
    pub uptime: String,
    /// When it became leader (RFC 3339).
    #[serde(default)]
    pub start_time: String,
}

/// `/v2/stats/leader`: the leader's view of each follower.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderStats {
    /// Leader ID (hex).
    pub leader: String,
    /// Each follower by ID.
    #[serde(default)]
    pub followers: BTreeMap<String, FollowerStats>,
}

/// One follower, seen from the leader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowerStats {
    /// Round-trip latencies in seconds.
    pub latency: Latency,
    /// Append requests that failed and succeeded.
    pub counts: Counts,
}

/// Latency figures, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Latency {
    /// The last one.
    pub current: f64,
    /// The mean.
    pub average: f64,
    /// The standard deviation.
    pub standard_deviation: f64,
    /// The smallest.
    pub minimum: f64,
    /// The largest.
    pub maximum: f64,
}

/// Request counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Failed requests.
    pub fail: u64,
    /// Successful requests.
    pub success: u64,
}

/// `/v2/stats/store`: operation counters of the member's store.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreStats {
    /// Successful reads.
    pub gets_success: u64,
    /// Failed reads.
    pub gets_fail: u64,
    /// Successful sets.
    pub sets_success: u64,
    /// Failed sets.
    pub sets_fail: u64,
    /// Successful deletes.
    pub delete_success: u64,
    /// Failed deletes.
    pub delete_fail: u64,
    /// Successful updates.
    pub update_success: u64,
    /// Failed updates.
    pub update_fail: u64,
    /// Successful creates.
    pub create_success: u64,
    /// Failed creates.
    pub create_fail: u64,
    /// Successful compare-and-swaps.
    pub compare_and_swap_success: u64,
    /// Failed compare-and-swaps.
    pub compare_and_swap_fail: u64,
    /// Successful compare-and-deletes.
    pub compare_and_delete_success: u64,
    /// Failed compare-and-deletes.
    pub compare_and_delete_fail: u64,
    /// Keys expired.
    pub expire_count: u64,
    /// Watchers registered now.
    pub watchers: u64,
}
