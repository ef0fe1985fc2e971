//! The seed's second snippet: a client for a cluster of three endpoints that fails over by itself.
//!
//! ```text
//! rsetcd dev-cluster --nodes 3        # in another terminal; prints ETCDCTL_ENDPOINTS
//! ETCDCTL_ENDPOINTS=http://127.0.0.1:23790,http://127.0.0.1:23792,http://127.0.0.1:23794 \
//!     cargo run --example cluster
//! ```

use std::time::Duration;

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints = std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| {
        "http://127.0.0.1:4001,http://127.0.0.1:4002,http://127.0.0.1:4003".into()
    });
    let client = rsetcd::v2::Client::builder()
        .endpoints(endpoints.split(','))
        .allow_reconnect(true) // the default: on a connection failure, try the next endpoint
        .request_timeout(Duration::from_secs(3))
        .build()?;

    // Setting a key to a fixed value is safe to apply twice, so these writes opt in to being re-sent
    // to the next node when their outcome is unknown (say, the leader died mid-request). Writes that
    // are not idempotent keep the default and get `Error::OutcomeUnknown` instead.
    client
        .write("/nodes/n1", "1")
        .retry_unknown_outcome()
        .await?;
    client
        .write("/nodes/n2", "2")
        .retry_unknown_outcome()
        .await?;
    let listing = client.read("/nodes").recursive().sorted().await?;
    for node in listing.node.leaves() {
        println!("{} = {}", node.key, node.value_str());
    }
    println!(
        "endpoints, the one that answered first: {:?}",
        client.endpoints()
    );
    Ok(())
}
