//! The seed's third snippet: wait for the next change of a key (pyetcd's `read(key, wait=True)`).
//!
//! ```text
//! cargo run --example watch &                      # waits
//! etcdctl set /message "Hello again"               # or: rsetcd set /message "Hello again"
//! ```

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints =
        std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into());
    let client = rsetcd::v2::Client::builder()
        .endpoints(endpoints.split(','))
        .build()?;

    println!("waiting for a change of /message …");
    let change = client.read("/message").wait().await?;
    println!(
        "{} {} = {}",
        change.action,
        change.node.key,
        change.node.value_str()
    );
    Ok(())
}
