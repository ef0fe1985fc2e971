//! Watches: the changes under a prefix as they happen (put, put again, delete, a transaction
//! changing two keys at once), each with the value before it; then the same history replayed
//! from a past revision.
//!
//! ```text
//! rsetcd dev-cluster                  # in another terminal: prints `export ETCDCTL_ENDPOINTS=…`
//! export ETCDCTL_ENDPOINTS=…          # paste it here (without it: http://127.0.0.1:2379)
//! cargo run --example v3_watch
//! ```

use std::time::Duration;

use rsetcd::v3::{Client, Event, Op, WatchItem};

fn describe(event: &Event) -> String {
    let before = event.prev_kv().map(|kv| kv.value_str().into_owned());
    if event.is_delete() {
        format!("DELETE {} (was {before:?})", event.key_str())
    } else if event.is_create() {
        format!("CREATE {} = {}", event.key_str(), event.value_str())
    } else {
        format!(
            "PUT    {} = {} (was {before:?})",
            event.key_str(),
            event.value_str()
        )
    }
}

#[tokio::main]
async fn main() -> rsetcd::Result<()> {
    let endpoints =
        std::env::var("ETCDCTL_ENDPOINTS").unwrap_or_else(|_| "http://127.0.0.1:2379".into());
    let client = Client::builder().endpoints(endpoints.split(',')).build()?;
    let dir = "/rsetcd-examples/watch/";
    client.delete(dir).prefix().await?;

    // The watch exists once awaited: nothing written after this line is missed.
    let mut watch = client.watch(dir).prefix().prev_kv().await?;
    println!(
        "watching {dir} from revision {}",
        watch.created_revision() + 1
    );

    let writer = client.clone();
    let key = |name: &str| format!("{dir}{name}");
    let (a, b) = (key("a"), key("b"));
    let writes = tokio::spawn(async move {
        writer.put(&a, "1").await?;
        writer.put(&a, "2").await?;
        writer.delete(&a).await?;
        writer
            .txn()
            .and_then(Op::put(&a, "3"))
            .and_then(Op::put(&b, "4"))
            .await?;
        rsetcd::Result::Ok(())
    });

    let mut seen = 0;
    let mut first_revision = None;
    while seen < 5 {
        let item = match tokio::time::timeout(Duration::from_secs(10), watch.next()).await {
            Ok(Some(item)) => item?,
            Ok(None) => break,
            Err(_) => {
                println!("no change for 10 s; giving up");
                break;
            }
        };
        if let WatchItem::Events { revision, events } = &item {
            println!("revision {revision}: {} event(s)", events.len());
        }
        for event in item.events() {
            first_revision.get_or_insert(event.revision());
            println!("  {}", describe(event));
            seen += 1;
        }
    }
    watch.cancel();
    if let Ok(Err(e)) = writes.await {
        return Err(e);
    }

    // The same history again, replayed from the store: a watch that starts in the past.
    if let Some(start) = first_revision {
        let mut replay = client.watch(dir).prefix().start_revision(start).await?;
        let mut replayed = 0;
        while replayed < seen {
            match tokio::time::timeout(Duration::from_secs(10), replay.next()).await {
                Ok(Some(item)) => replayed += item?.events().len(),
                _ => break,
            }
        }
        println!("replayed {replayed} events from revision {start}");
    }

    client.delete(dir).prefix().await?;
    Ok(())
}
