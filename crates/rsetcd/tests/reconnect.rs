//! `allow_reconnect`: failing over from a dead endpoint, or not.

mod common;

use std::time::{Duration, Instant};

use common::{etcd, unique};
use rsetcd::v2::Client;
use rsetcd::Error;
use rsetcd_testkit::dead_endpoint;

#[tokio::test]
async fn dead_first_endpoint_then_a_live_one() {
    let dead = dead_endpoint().unwrap();
    let live = etcd().client_url();
    let c = Client::builder()
        .endpoints([dead.clone(), live.clone()])
        .build()
        .unwrap();
    let k = unique("reconnect");
    c.write(&k, "v").await.unwrap();
    assert_eq!(c.read(&k).await.unwrap().value(), Some("v"));
    // The endpoint that worked is now tried first.
    assert_eq!(c.endpoints()[0], live);
}

#[tokio::test]
async fn without_reconnect_only_the_first_endpoint_is_used() {
    let dead = dead_endpoint().unwrap();
    let live = etcd().client_url();
    let c = Client::builder()
        .endpoints([dead.clone(), live])
        .allow_reconnect(false)
        .build()
        .unwrap();
    let err = c.read("/anything").await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(err.is_connect());
    assert!(
        err.to_string().contains(&dead),
        "names the dead endpoint: {err}"
    );
}

#[tokio::test]
async fn all_endpoints_dead_lists_each() {
    let dead: Vec<String> = (0..3).map(|_| dead_endpoint().unwrap()).collect();
    let c = Client::builder()
        .endpoints(dead.clone())
        .connect_timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let start = Instant::now();
    let err = c.write("/k", "v").await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(3));
    match &err {
        Error::NoMoreHosts { failures } => {
            let tried: Vec<_> = failures.iter().map(|(e, _)| e.clone()).collect();
            assert_eq!(tried, dead);
            assert!(failures
                .iter()
                .all(|(_, e)| matches!(e, Error::Connect { .. })));
        }
        other => panic!("{other}"),
    }
    assert!(
        err.is_connect(),
        "nothing reached a server, so the write did not happen"
    );
}

#[test]
fn invalid_configuration_names_the_bad_value() {
    for (hosts, bad) in [
        (vec!["http://ok:1", "ftp://bad:2"], "ftp"),
        (vec!["host:99999"], "99999"),
        (vec!["http://h:1/path"], "/path"),
    ] {
        let err = Client::builder().endpoints(hosts).build().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err}");
        assert!(err.to_string().contains(bad), "{err}");
    }
    let err = Client::builder().protocol("gopher").build().unwrap_err();
    assert!(err.to_string().contains("gopher"), "{err}");
    let err = Client::builder()
        .host_ports([("h", 0)])
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("port 0"), "{err}");
    let c = Client::builder()
        .host_ports([("10.0.0.1", 4001), ("10.0.0.2", 4002)])
        .build()
        .unwrap();
    assert_eq!(
        c.endpoints(),
        ["http://10.0.0.1:4001", "http://10.0.0.2:4002"]
    );
    let c = Client::builder()
        .host("10.0.0.3")
        .port(4003)
        .build()
        .unwrap();
    assert_eq!(c.endpoints(), ["http://10.0.0.3:4003"]);
    assert_eq!(
        Client::new().unwrap().endpoints(),
        ["http://127.0.0.1:2379"]
    );
}
