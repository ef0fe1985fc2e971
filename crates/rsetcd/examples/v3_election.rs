//! Leader election: alice wins, bob waits in line, an observer follows the leader's value;
//! alice proclaims a new value, then resigns, and bob takes over.
//!
//! ```text
//! rsetcd dev-cluster                  # in another terminal: prints `export ETCDCTL_ENDPOINTS=…`
//! export ETCDCTL_ENDPOINTS=…          # paste it here (without it: http://127.0.0.1:2379)
//! cargo run --example v3_election
//! ```

use std::time::Duration;

use rsetcd::v3::Client;

const ELECTION: &str = "/rsetcd-examples/election/scheduler";

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints =
        std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into());
    let client = Client::builder().endpoints(endpoints.split(',')).build()?;

    let alice_session = client.session(10).await?;
    let alice = client.campaign(ELECTION, "alice", &alice_session).await?;
    println!(
        "alice leads {ELECTION} since revision {} (key {})",
        alice.revision(),
        alice.key_str()
    );

    // Every change of the leader's value, starting with the current one.
    let mut observer = client.observe(ELECTION).await?;

    // bob campaigns too: his campaign returns once he leads.
    let bob_client = client.clone();
    let bob = tokio::spawn(async move {
        let session = bob_client.session(10).await?;
        let leader = bob_client.campaign(ELECTION, "bob", &session).await?;
        println!("bob leads since revision {}", leader.revision());
        bob_client.resign(&leader).await?;
        session.close().await
    });

    tokio::time::sleep(Duration::from_millis(200)).await; // bob is in line by now
    client.proclaim(&alice, "alice, second term").await?;
    if let Some(kv) = client.leader(ELECTION).await? {
        println!("the leader says {:?}", kv.value_str());
    }
    client.resign(&alice).await?;
    println!("alice resigned");

    loop {
        match tokio::time::timeout(Duration::from_secs(10), observer.next()).await {
            Ok(Some(kv)) => {
                let kv = kv?;
                println!("observed leader value {:?}", kv.value_str());
                if kv.value() == b"bob" {
                    break;
                }
            }
            Ok(None) | Err(_) => {
                println!("the observer saw no new leader in 10 s");
                break;
            }
        }
    }
    match bob.await {
        Ok(result) => result?,
        Err(e) => println!("bob's task panicked: {e}"),
    }
    alice_session.close().await?;
    println!("election over");
    Ok(())
}
