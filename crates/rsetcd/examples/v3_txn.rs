//! Transactions: a compare-and-swap increment that retries when someone else wrote first, and a
//! key created only if it does not exist yet, with the typed answers of each branch.
//!
//! ```text
//! rsetcd dev-cluster                  # in another terminal: prints `export ETCDCTL_ENDPOINTS=…`
//! export ETCDCTL_ENDPOINTS=…          # paste it here (without it: http://127.0.0.1:2379)
//! cargo run --example v3_txn
//! ```

use rsetcd::v3::{Client, Compare, CompareOp, Op, OpResponse};

/// Adds one to the number at `key`: read it, then write it back only if it has not changed
/// since (same mod revision); otherwise read it again and retry.
async fn increment(client: &Client, key: &str, meddle: bool) -> rsetcd::Result<i64> {
    let mut meddle = meddle;
    loop {
        let current = client.get(key).await?;
        let (value, revision) = match current.first() {
            Some(kv) => (kv.value_str().parse().unwrap_or(0), kv.mod_revision()),
            None => (0, 0), // a missing key has mod revision 0
        };
        if meddle {
            // Another writer gets in between our read and our write.
            client.put(key, "100").await?;
            meddle = false;
        }
        let answer = client
            .txn()
            .when(Compare::mod_revision(key, CompareOp::Equal, revision))
            .and_then(Op::put(key, (value + 1).to_string()))
            .or_else(Op::get(key))
            .await?;
        if answer.succeeded() {
            println!(
                "{key}: {value} -> {} at revision {}",
                value + 1,
                answer.revision()
            );
            return Ok(value + 1);
        }
        let now = answer.response(0).and_then(OpResponse::as_get);
        let seen = now
            .and_then(|get| get.first())
            .map(|kv| kv.value_str().into_owned());
        println!("{key}: changed under us (now {seen:?}); retrying");
    }
}

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints =
        std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into());
    let client = Client::builder().endpoints(endpoints.split(',')).build()?;
    let dir = "/rsetcd-examples/txn/";
    client.delete(dir).prefix().await?;

    let counter = format!("{dir}counter");
    increment(&client, &counter, false).await?;
    increment(&client, &counter, false).await?;
    let last = increment(&client, &counter, true).await?;
    println!("counter is {last}");

    // Create the key only if it does not exist (version 0); either way, learn who holds it.
    let owner = format!("{dir}owner");
    for me in ["alice", "bob"] {
        let answer = client
            .txn()
            .when(Compare::version(&owner, CompareOp::Equal, 0))
            .and_then(Op::put(&owner, me))
            .or_else(Op::get(&owner))
            .await?;
        for response in answer.responses() {
            match response {
                OpResponse::Put(put) => {
                    println!("{me} took {owner} at revision {}", put.revision())
                }
                OpResponse::Get(get) => {
                    let holder = get.first().map(|kv| kv.value_str().into_owned());
                    println!("{me} found {owner} held by {}", holder.unwrap_or_default());
                }
                _ => {}
            }
        }
    }

    client.delete(dir).prefix().await?;
    Ok(())
}
