//! Cluster operations against a real 3-node cluster: members, leader, stats, health, versions, sync.

use std::time::{Duration, Instant};

use rsetcd::v2::{Client, MemberId};
use rsetcd::Error;
use rsetcd_testkit::Cluster;

async fn cluster(n: usize) -> Cluster {
    tokio::task::spawn_blocking(move || Cluster::start(n))
        .await
        .unwrap()
        .unwrap()
}

fn client_for(endpoints: &[String]) -> Client {
    Client::builder()
        .endpoints(endpoints.iter().cloned())
        .request_timeout(Duration::from_secs(3))
        .build()
        .unwrap()
}

#[tokio::test]
async fn members_leader_stats_health_and_version() {
    let cluster = cluster(3).await;
    let endpoints = cluster.endpoints();
    let c = client_for(&endpoints);

    let members = c.members().await.unwrap();
    assert_eq!(members.len(), 3);
    let mut names: Vec<_> = members.iter().map(|m| m.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["n1", "n2", "n3"]);
    let mut urls: Vec<_> = members.iter().flat_map(|m| m.client_urls.clone()).collect();
    urls.sort();
    let mut expected = endpoints.clone();
    expected.sort();
    assert_eq!(urls, expected);

    let leader = c.leader().await.unwrap();
    assert!(members.contains(&leader));
    let leader_url = leader.client_urls[0].clone();
    let follower_url = endpoints
        .iter()
        .find(|u| **u != leader_url)
        .unwrap()
        .clone();

    let on_leader = client_for(std::slice::from_ref(&leader_url));
    let stats = on_leader.leader_stats().await.unwrap();
    assert_eq!(stats.leader.parse::<MemberId>().unwrap(), leader.id);
    assert_eq!(stats.followers.len(), 2);
    let me = on_leader.self_stats().await.unwrap();
    assert_eq!(me.state, "StateLeader");
    assert_eq!(me.name, leader.name);

    let on_follower = client_for(std::slice::from_ref(&follower_url));
    match on_follower.leader_stats().await.unwrap_err() {
        Error::Http {
            status: 403,
            message,
            ..
        } => assert_eq!(message, "not current leader"),
        other => panic!("{other}"),
    }
    let follower = on_follower.self_stats().await.unwrap();
    assert_eq!(follower.state, "StateFollower");
    assert_eq!(
        follower.leader_info.leader.parse::<MemberId>().unwrap(),
        leader.id
    );

    on_follower.write("/counted", "x").await.unwrap();
    let store = on_follower.store_stats().await.unwrap();
    assert!(store.sets_success >= 1, "{store:?}");

    assert!(c.health().await.unwrap());
    let version = c.version().await.unwrap();
    assert!(version.server.starts_with("3."), "{version:?}");
    assert_eq!(c.version_server().await.unwrap(), version.server);
    assert_eq!(c.version_cluster().await.unwrap(), version.cluster);

    // The member's Prometheus metrics: its memory, and the version it just told.
    let metrics = c.metrics().await.unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("process_resident_memory_bytes ")),
        "{}",
        &metrics[..metrics.len().min(400)]
    );
    assert!(
        metrics.contains(&format!("server_version=\"{}\"", version.server)),
        "no etcd_server_version line for {}",
        version.server
    );
}

#[tokio::test]
async fn health_of_a_stopped_node_is_an_error_within_the_timeout() {
    let mut cluster = cluster(3).await;
    let url = cluster.endpoints()[2].clone();
    let mut cluster = tokio::task::spawn_blocking(move || {
        cluster.kill(2).unwrap();
        cluster
    })
    .await
    .unwrap();
    let c = Client::builder()
        .host(&url)
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = c.health().await.unwrap_err();
    assert!(err.is_connect(), "{err}");
    assert!(start.elapsed() < Duration::from_secs(2));
    // With two of three down, the last one answers {"health":"false"}.
    let last = cluster.endpoints()[0].clone();
    tokio::task::spawn_blocking(move || {
        cluster.kill(1).unwrap();
        let c = Client::builder()
            .host(&last)
            .request_timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // Without quorum the member reports unhealthy once its raft notices (bounded wait).
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match rt.block_on(c.health()) {
                Ok(false) => break,
                Ok(true) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                other => panic!("expected Ok(false), got {other:?}"),
            }
        }
        drop(cluster);
    })
    .await
    .unwrap();
}

/// etcd's strict reconfiguration check refuses (500) to add a member until the leader has been
/// connected to every member for a few seconds; retry that, bounded.
async fn add_retrying(c: &Client, peer_url: &str) -> rsetcd::Result<rsetcd::v2::Member> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match c.add_member([peer_url]).await {
            Err(Error::Http { status: 500, .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn add_update_and_remove_a_member() {
    let mut cluster = cluster(3).await;
    let c = client_for(&cluster.endpoints());

    let pending = cluster.prepare_member().unwrap();
    let added = add_retrying(&c, &pending.peer_url).await.unwrap();
    assert_eq!(added.peer_urls, std::slice::from_ref(&pending.peer_url));
    assert_eq!(added.name, "");
    assert!(added.client_urls.is_empty());
    let (idx, mut cluster) = tokio::task::spawn_blocking(move || {
        let idx = cluster.start_member(pending).unwrap();
        (idx, cluster)
    })
    .await
    .unwrap();
    let fourth = cluster.node(idx).client_url();
    let on_fourth = client_for(std::slice::from_ref(&fourth));
    on_fourth.write("/joined", "yes").await.unwrap();
    assert_eq!(
        on_fourth.read("/joined").quorum().await.unwrap().value(),
        Some("yes")
    );
    let members = c.members().await.unwrap();
    assert_eq!(members.len(), 4);
    let me = members.iter().find(|m| m.id == added.id).unwrap();
    assert_eq!(me.client_urls, std::slice::from_ref(&fourth));

    // Update the peer URLs of a member that was added but not started.
    let spare = cluster.prepare_member().unwrap();
    let err = add_retrying(&c, &me.peer_urls[0]).await.unwrap_err();
    assert!(
        matches!(err, Error::Http { status: 409, .. }),
        "a peer URL in use: {err}"
    );
    let unstarted = add_retrying(&c, &spare.peer_url).await.unwrap();
    let moved = rsetcd_testkit::dead_endpoint().unwrap();
    c.update_member(unstarted.id, [moved.clone()])
        .await
        .unwrap();
    let updated = c
        .members()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == unstarted.id)
        .unwrap();
    assert_eq!(updated.peer_urls, [moved]);
    c.remove_member(unstarted.id).await.unwrap();
    let err = c
        .update_member(MemberId(0x1234), ["http://127.0.0.1:1"])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Http { status: 404, .. }), "{err}");

    c.remove_member(added.id).await.unwrap();
    assert_eq!(c.members().await.unwrap().len(), 3);
    let err = c.remove_member(added.id).await.unwrap_err();
    assert!(matches!(err, Error::Http { status: 410, .. }), "{err}");
    // The removed member stops serving: its process exits by itself (bounded wait).
    let deadline = Instant::now() + Duration::from_secs(15);
    while cluster.node_mut(idx).is_running() {
        assert!(Instant::now() < deadline, "removed member still running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn member_sync_learns_the_others_and_survives_the_loss_of_the_first() {
    let cluster = cluster(3).await;
    let first = cluster.endpoints()[0].clone();
    let c = Client::builder()
        .host(&first)
        .request_timeout(Duration::from_secs(2))
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let learned = c.sync_members().await.unwrap();
    assert_eq!(learned.len(), 3);
    assert_eq!(learned[0], first, "the endpoint in use stays first");
    c.write("/sync", "1").await.unwrap();

    let mut cluster = tokio::task::spawn_blocking(move || {
        let mut cluster = cluster;
        cluster.kill(0).unwrap();
        cluster
    })
    .await
    .unwrap();
    assert_eq!(c.read("/sync").await.unwrap().value(), Some("1"));
    assert_ne!(c.endpoints()[0], first);
    cluster.restart(0).unwrap();

    // The automatic variant: a background sync task learns the members by itself.
    let auto = Client::builder()
        .host(&first)
        .sync_interval(Duration::from_millis(100))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while auto.endpoints().len() < 3 {
        assert!(Instant::now() < deadline, "sync never happened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn sync_interval_without_a_runtime_is_a_clear_error() {
    let err = Client::builder()
        .sync_interval(Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
    // The blocking client brings its own runtime.
    rsetcd::v2::blocking::Client::builder()
        .sync_interval(Duration::from_secs(1))
        .build()
        .unwrap();
}
