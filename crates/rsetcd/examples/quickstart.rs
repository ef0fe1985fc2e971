//! The seed's first snippet: write a key on a local etcd, then read it back.
//!
//! ```text
//! cargo run --example quickstart                       # http://127.0.0.1:2379
//! ETCDCTL_ENDPOINTS=http://127.0.0.1:23790 cargo run --example quickstart
//! ```

use std::time::Duration;

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints =
        std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into());
    let client = rsetcd::v2::Client::builder()
        .endpoints(endpoints.split(','))
        .build()?;

    client.write("/message", "Hello world").await?;
    let answer = client.read("/message").await?;
    println!("/message = {}", answer.node.value_str());

    // A key that expires by itself.
    let lease = client
        .write("/lease", "held")
        .ttl(Duration::from_secs(5))
        .await?;
    println!("/lease expires in {:?} s", lease.node.ttl);

    // Compare-and-swap: only if nobody changed it since we read it.
    let swapped = client
        .compare_and_swap("/message", "Hello etcd")
        .prev_index(answer.node.modified_index)
        .await?;
    println!(
        "swapped: {} -> {}",
        answer.node.value_str(),
        swapped.node.value_str()
    );

    match client.read("/does/not/exist").await {
        Err(e) if e.code() == Some(rsetcd::EtcdCode::KeyNotFound) => println!("missing key: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    Ok(())
}
