//! Leases: a key that lives as long as its lease, kept alive in the background, inspected,
//! then revoked (which deletes the key).
//!
//! ```text
//! rsetcd dev-cluster                  # in another terminal: prints `export ETCDCTL_ENDPOINTS=…`
//! export ETCDCTL_ENDPOINTS=…          # paste it here (without it: http://127.0.0.1:2379)
//! cargo run --example v3_lease
//! ```

use rsetcd::v3::{Client, LeaseState};

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints =
        std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into());
    let client = Client::builder().endpoints(endpoints.split(',')).build()?;
    let key = "/rsetcd-examples/lease/service";

    let lease = client.lease_grant(10).await?;
    println!("granted lease {:x} for {} s", lease.id(), lease.ttl());

    client.put(key, "10.0.0.7:8080").lease(lease.id()).await?;
    let kv = client.get(key).await?.into_first();
    println!(
        "{key} is attached to lease {:x}",
        kv.and_then(|kv| kv.lease()).unwrap_or_default()
    );

    // Refreshes the lease every third of its TTL until dropped; fails over by itself.
    let keep = client.lease_keep_alive(lease.id()).await?;
    if let LeaseState::Alive { ttl } = keep.state() {
        println!("keep-alive running: refreshed to {ttl} s");
    }

    let info = client.lease_time_to_live(lease.id(), true).await?;
    let keys: Vec<String> = info
        .keys()
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    println!(
        "lease {:x}: {} s left of {} s, keys {keys:?}",
        info.id(),
        info.ttl(),
        info.granted_ttl()
    );
    let all = client.leases().await?;
    println!("leases alive: {}", all.ids().len());

    keep.stop();
    client.lease_revoke(lease.id()).await?;
    let gone = client.get(key).await?;
    println!("revoked: {key} has {} keys left", gone.kvs().len());
    let after = client.lease_time_to_live(lease.id(), false).await?;
    println!("lease {:x} expired: {}", after.id(), after.is_expired());
    Ok(())
}
