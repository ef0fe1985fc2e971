//! TTLs through leases: granting one per TTL, and showing a node's `expiration` and `ttl` from
//! its lease's remaining time.
//!
//! A node shows a TTL only when it lives on a lease of its own: a node below a directory with a
//! TTL lives on the directory's lease (it expires with it) and shows none, as in v2.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use futures_util::future::try_join_all;

use crate::error::Result;
use crate::v2::Node;
use crate::v3::Client;

/// The `expiration` v2 shows for a node that lives `secs` more seconds from `now`: RFC 3339 in
/// UTC, with the fraction's trailing zeros trimmed (as Go's `RFC3339Nano` prints it).
pub(crate) fn expiration(now: SystemTime, secs: i64) -> String {
    let at = now + Duration::from_secs(u64::try_from(secs).unwrap_or(0));
    let text = humantime::format_rfc3339_nanos(at).to_string();
    // "2026-11-24T18:37:51.417161557Z": trim the fraction.
    match text.strip_suffix('Z').and_then(|t| t.split_once('.')) {
        Some((whole, fraction)) => {
            let fraction = fraction.trim_end_matches('0');
            if fraction.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{fraction}Z")
            }
        }
        None => text,
    }
}

/// Sets `node`'s `expiration` and `ttl` for `secs` seconds left (a `ttl` of 0 is left out).
pub(crate) fn show(node: &mut Node, now: SystemTime, secs: i64) {
    node.expiration = Some(expiration(now, secs));
    node.ttl = (secs > 0).then_some(secs);
}

/// Grants a lease for a TTL of `secs` seconds: `(lease, granted TTL)`. etcd raises a TTL below
/// its minimum (1.5 election timeouts, rounded up to whole seconds) to that minimum.
pub(crate) async fn grant(client: &Client, secs: u64) -> Result<(i64, i64)> {
    let resp = client
        .lease_grant(i64::try_from(secs).unwrap_or(i64::MAX))
        .await?;
    Ok((resp.id, resp.ttl))
}

/// Revokes `lease` if no key lives on it any more (best effort: a lease left behind holds no
/// key and expires by itself).
pub(crate) async fn revoke_if_unused(client: &Client, lease: i64) {
    if lease == 0 {
        return;
    }
    if let Ok(resp) = client.lease_time_to_live(lease, true).await {
        if resp.ttl > 0 && resp.keys.is_empty() {
            let _ = client.lease_revoke(lease).await;
        }
    }
}

/// The remaining seconds of leases, each asked once.
#[derive(Debug, Default)]
pub(crate) struct Remaining {
    secs: HashMap<i64, Option<i64>>,
}

impl Remaining {
    /// Asks etcd for the leases not known yet, concurrently.
    pub(crate) async fn fetch(
        &mut self,
        client: &Client,
        leases: impl IntoIterator<Item = i64>,
    ) -> Result<()> {
        let mut wanted: Vec<i64> = leases
            .into_iter()
            .filter(|l| *l != 0 && !self.secs.contains_key(l))
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        let answers =
            try_join_all(wanted.iter().map(|l| client.lease_time_to_live(*l, false))).await?;
        for (lease, resp) in wanted.into_iter().zip(answers) {
            // A lease that expired meanwhile answers -1: its keys are going.
            self.secs.insert(lease, (resp.ttl >= 0).then_some(resp.ttl));
        }
        Ok(())
    }

    /// The seconds `lease` has left, if it is known and alive.
    pub(crate) fn get(&self, lease: i64) -> Option<i64> {
        self.secs.get(&lease).copied().flatten()
    }

    /// Shows `lease`'s time left on `node` when `lease` is the node's own (not `parent_lease`,
    /// the lease of the directory above it).
    pub(crate) fn show(&self, node: &mut Node, lease: i64, parent_lease: i64, now: SystemTime) {
        if lease == 0 || lease == parent_lease {
            return;
        }
        if let Some(secs) = self.get(lease) {
            show(node, now, secs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expirations_trim_their_fraction() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_800_000_000, 417_161_000);
        assert_eq!(expiration(t, 5), "2027-01-15T08:00:05.417161Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert_eq!(expiration(t, 0), "2027-01-15T08:00:00Z");
        let parsed = humantime::parse_rfc3339_weak("2027-01-15T08:00:05.417161Z");
        assert!(parsed.is_ok(), "readable back");
    }

    #[test]
    fn own_leases_show_and_inherited_ones_do_not() {
        let mut r = Remaining::default();
        r.secs.insert(7, Some(30));
        r.secs.insert(8, None);
        let now = SystemTime::now();
        let mut n = Node::default();
        r.show(&mut n, 7, 7, now);
        assert_eq!(n.ttl, None, "the parent's lease");
        r.show(&mut n, 7, 0, now);
        assert_eq!(n.ttl, Some(30));
        assert!(n.expiration.is_some());
        let mut gone = Node::default();
        r.show(&mut gone, 8, 0, now);
        assert_eq!(gone.expiration, None, "an expired lease shows nothing");
        let mut zero = Node::default();
        show(&mut zero, now, 0);
        assert!(
            zero.expiration.is_some() && zero.ttl.is_none(),
            "ttl 0 is left out"
        );
    }
}
