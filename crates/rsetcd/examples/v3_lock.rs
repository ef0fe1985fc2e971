//! Distributed locks: two workers, each with its own session (a lease kept alive), take turns
//! holding the same lock. A lock is held by a key attached to the session's lease, so it is
//! released by `unlock`, or by etcd itself when the session's process dies.
//!
//! ```text
//! rsetcd dev-cluster                  # in another terminal: prints `export ETCDCTL_ENDPOINTS=…`
//! export ETCDCTL_ENDPOINTS=…          # paste it here (without it: http://127.0.0.1:2379)
//! cargo run --example v3_lock
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rsetcd::v3::Client;

const LOCK: &str = "/rsetcd-examples/lock/printer";

async fn worker(client: Client, name: &'static str, busy: Arc<AtomicBool>) -> rsetcd::Result<()> {
    // A session: a lease of 10 s, refreshed until closed.
    let session = client.session(10).await?;
    for turn in 1..=2 {
        let held = client.lock(LOCK, &session).await?; // waits while the other holds it
        let alone = !busy.swap(true, Ordering::SeqCst);
        println!(
            "{name} holds the lock (turn {turn}, key {}, alone: {alone})",
            held.key_str()
        );
        tokio::time::sleep(Duration::from_millis(100)).await; // the work
        busy.store(false, Ordering::SeqCst);
        println!("{name} releases it");
        client.unlock(held.key()).await?;
    }
    session.close().await // revokes the lease
}

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints =
        std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into());
    let client = Client::builder().endpoints(endpoints.split(',')).build()?;
    let busy = Arc::new(AtomicBool::new(false));

    let a = tokio::spawn(worker(client.clone(), "alice", Arc::clone(&busy)));
    let b = tokio::spawn(worker(client.clone(), "bob", Arc::clone(&busy)));
    for done in [a.await, b.await] {
        match done {
            Ok(result) => result?,
            Err(e) => println!("a worker panicked: {e}"),
        }
    }
    println!("both done");
    Ok(())
}
