//! The v3 API in a few lines: put, get, a prefix, a put that returns the previous value, a
//! missing key, a delete.
//!
//! ```text
//! rsetcd dev-cluster                  # in another terminal: prints `export ETCDCTL_ENDPOINTS=…`
//! export ETCDCTL_ENDPOINTS=…          # paste it here (without it: http://127.0.0.1:2379)
//! cargo run --example v3_quickstart
//! ```

use rsetcd::v3::{Client, SortOrder, SortTarget};

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints =
        std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into());
    let client = Client::builder().endpoints(endpoints.split(',')).build()?;
    let dir = "/rsetcd-examples/quickstart/";

    let put = client.put(format!("{dir}message"), "Hello world").await?;
    println!("put {dir}message at revision {}", put.revision());

    let answer = client.get(format!("{dir}message")).await?;
    if let Some(kv) = answer.first() {
        println!(
            "get {} = {} (created at {}, changed at {}, version {})",
            kv.key_str(),
            kv.value_str(),
            kv.create_revision(),
            kv.mod_revision(),
            kv.version()
        );
    }

    for (name, value) in [("b", "2"), ("a", "1"), ("c", "3")] {
        client.put(format!("{dir}config/{name}"), value).await?;
    }
    let config = client
        .get(format!("{dir}config/"))
        .prefix()
        .sort(SortTarget::Key, SortOrder::Ascend)
        .limit(2)
        .await?;
    println!(
        "{} of {} keys under {dir}config/ (more: {}):",
        config.kvs().len(),
        config.count(),
        config.more()
    );
    for kv in config.kvs() {
        println!("  {} = {}", kv.key_str(), kv.value_str());
    }

    let replaced = client
        .put(format!("{dir}message"), "Hello etcd")
        .prev_kv()
        .await?;
    if let Some(before) = replaced.prev_kv() {
        println!("replaced {:?} with \"Hello etcd\"", before.value_str());
    }

    let missing = client.get(format!("{dir}does/not/exist")).await?;
    println!(
        "a missing key is not an error: {} keys",
        missing.kvs().len()
    );

    let deleted = client.delete(dir).prefix().await?;
    println!("deleted {} keys under {dir}", deleted.deleted());
    Ok(())
}
