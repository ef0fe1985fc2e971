//! Traffic profiles: what each recording client does until it is told to stop. Values are
//! unique per write (`c<client>-<n>`), so every event and read names the write it came from.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::model::v3::Response;
use crate::record::v2::V2Client;
use crate::record::v3::{Cmp, Step, V3Client};
use crate::rng::Rng;

/// The keys the v2 traffic uses: `<dir>/k0`…
pub fn v2_keys(dir: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{dir}/k{i}")).collect()
}

/// The keys of the v3 traffic: `<prefix>k0`… (the two pair keys `<prefix>p0`, `<prefix>p1`
/// are written together by multi-key transactions).
pub fn v3_keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}k{i}")).collect()
}

/// Mixed v2 traffic on `keys`: quorum reads, sets, creates, compare-and-swaps on value and
/// index, compare-and-deletes and deletes.
pub async fn v2_mixed(c: V2Client, id: usize, keys: Vec<String>, seed: u64, stop: Arc<AtomicBool>) {
    let mut rng = Rng::new(seed);
    let mut last: HashMap<String, (String, u64)> = HashMap::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let key = keys[rng.below(keys.len() as u64) as usize].clone();
        n += 1;
        let value = format!("c{id}-{n}");
        let seen = last.get(&key).cloned();
        let r = match rng.below(100) {
            0..=29 => c.get(&key).await,
            30..=44 => c.set(&key, &value).await,
            45..=54 => c.create(&key, &value).await,
            55..=69 => {
                let pv = seen.as_ref().map_or("none", |(v, _)| v.as_str());
                c.cas(&key, &value, Some(pv), None).await
            }
            70..=79 => {
                let pi = seen.as_ref().map_or(1, |(_, i)| *i);
                c.cas(&key, &value, None, Some(pi)).await
            }
            80..=84 => match &seen {
                Some((v, _)) if rng.below(2) == 0 => c.cad(&key, Some(v), None).await,
                Some((_, i)) => c.cad(&key, None, Some(*i)).await,
                None => c.cad(&key, None, Some(1)).await,
            },
            85..=89 => c.delete(&key).await,
            _ => c.get(&key).await,
        };
        if let Ok(r) = r {
            match r.node.value.as_deref() {
                Some(v) => last.insert(key, (v.to_string(), r.node.modified_index)),
                None => last.remove(&key),
            };
        }
    }
}

fn remember(last: &mut HashMap<String, (String, i64, i64)>, key: &str, r: &Response) {
    if let Response::Get { kv, .. } = r {
        match kv {
            Some(_) => {}
            None => {
                last.remove(key);
                return;
            }
        }
    }
    let kv = match r {
        Response::Put { rev, .. }
        | Response::Txn {
            rev,
            succeeded: true,
            ..
        } => {
            last.insert(key.to_string(), (String::new(), *rev, 0));
            return;
        }
        Response::Get { kv: Some(kv), .. } => Some(*kv),
        Response::Txn { results, .. } => results.iter().find_map(|x| match x {
            crate::model::v3::TxnResult::Get(Some(kv)) => Some(*kv),
            _ => None,
        }),
        _ => None,
    };
    if let Some(kv) = kv {
        // The value's name is not needed: the revision is what the next compare uses.
        last.insert(key.to_string(), (String::new(), kv.mod_rev, kv.version));
    }
}

/// Mixed v3 traffic on `keys` plus the pair keys: reads, puts, deletes, CAS transactions on the
/// mod revision, create-if-absent transactions on the version, compare-value transactions, and
/// transactions writing both pair keys at once.
pub async fn v3_mixed(
    c: V3Client,
    id: usize,
    prefix: String,
    keys: Vec<String>,
    seed: u64,
    stop: Arc<AtomicBool>,
) {
    let mut rng = Rng::new(seed);
    let mut last: HashMap<String, (String, i64, i64)> = HashMap::new();
    let mut values: HashMap<String, String> = HashMap::new();
    let (p0, p1) = (format!("{prefix}p0"), format!("{prefix}p1"));
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let key = keys[rng.below(keys.len() as u64) as usize].clone();
        n += 1;
        let value = format!("c{id}-{n}");
        let seen = last.get(&key).map_or(0, |(_, m, _)| *m);
        let r = match rng.below(100) {
            0..=29 => c.get(&key).await,
            30..=49 => c.put(&key, &value, 0).await,
            50..=54 => c.delete(&key).await,
            55..=69 => {
                let then = [Step::Put(key.clone(), value.clone(), 0)];
                c.txn(
                    &[Cmp::Mod(key.clone(), seen)],
                    &then,
                    &[Step::Get(key.clone())],
                )
                .await
            }
            70..=79 => {
                let then = [Step::Put(key.clone(), value.clone(), 0)];
                c.txn(
                    &[Cmp::Version(key.clone(), 0)],
                    &then,
                    &[Step::Get(key.clone())],
                )
                .await
            }
            80..=87 => {
                let expect = values.get(&key).cloned().unwrap_or_default();
                let then = [Step::Put(key.clone(), value.clone(), 0)];
                c.txn(
                    &[Cmp::Value(key.clone(), expect)],
                    &then,
                    &[Step::Get(key.clone())],
                )
                .await
            }
            88..=94 => {
                let seen0 = last.get(&p0).map_or(0, |(_, m, _)| *m);
                let then = [
                    Step::Put(p0.clone(), format!("{value}-a"), 0),
                    Step::Put(p1.clone(), format!("{value}-b"), 0),
                ];
                let r = c
                    .txn(
                        &[Cmp::Mod(p0.clone(), seen0)],
                        &then,
                        &[Step::Get(p0.clone()), Step::Get(p1.clone())],
                    )
                    .await;
                if let Ok(r) = &r {
                    remember(&mut last, &p0, r);
                }
                continue;
            }
            _ => {
                let k = if rng.below(2) == 0 { &p0 } else { &p1 };
                let r = c.get(k).await;
                if let Ok(r) = &r {
                    remember(&mut last, k, r);
                }
                continue;
            }
        };
        if let Ok(r) = &r {
            remember(&mut last, &key, r);
            if matches!(r, Response::Put { .. }) {
                values.insert(key.clone(), value.clone());
            }
        }
    }
}

/// Leases with keys: grant a lease, put `key` on it (kept alive meanwhile), read it, revoke
/// the lease, read again; over and over.
pub async fn v3_leases(c: V3Client, id: usize, key: String, stop: Arc<AtomicBool>) {
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let lease = match c.inner().lease_grant(60).await {
            Ok(l) => l.id,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let keep = c.inner().lease_keep_alive(lease).await.ok();
        let _ = c.put(&key, &format!("c{id}-{n}"), lease).await;
        let _ = c.get(&key).await;
        // Revoke until it is known to be done or may be done (bounded); a lease never revoked
        // expires, deleting its key at a time nobody knows.
        let mut revoked = false;
        for _ in 0..20 {
            match c.lease_revoke(lease, &[key.as_str()]).await {
                Err(e) if !e.is_outcome_unknown() => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => {
                    revoked = true;
                    break;
                }
            }
        }
        if !revoked {
            c.may_expire(lease, &[key.as_str()]);
        }
        drop(keep);
        let _ = c.get(&key).await;
    }
}
