//! DNS SRV discovery against a small authoritative DNS server the test runs on loopback.

mod common;

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::SRV;
use hickory_proto::rr::{Name, RData, Record};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable};
use rsetcd::discovery::SrvQuery;
use rsetcd::v2::Client;
use rsetcd::Error;

type Zone = HashMap<String, Vec<(u16, u16, u16, String)>>;

/// Answers SRV questions from `zone` (NXDOMAIN otherwise) until the process ends.
fn dns_server(zone: Zone) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf) {
            let Ok(query) = Message::from_bytes(&buf[..n]) else {
                continue;
            };
            let mut answer = Message::new();
            answer.set_id(query.id());
            answer.set_message_type(MessageType::Response);
            answer.set_recursion_desired(query.recursion_desired());
            answer.set_authoritative(true);
            answer.add_queries(query.queries().to_vec());
            for q in query.queries() {
                match zone.get(&q.name().to_utf8()) {
                    Some(records) => {
                        for (priority, weight, port, target) in records {
                            let srv = SRV::new(
                                *priority,
                                *weight,
                                *port,
                                Name::from_utf8(target).unwrap(),
                            );
                            answer.add_answer(Record::from_rdata(
                                q.name().clone(),
                                60,
                                RData::SRV(srv),
                            ));
                        }
                    }
                    None => {
                        answer.set_response_code(ResponseCode::NXDomain);
                    }
                }
            }
            let _ = socket.send_to(&answer.to_bytes().unwrap(), peer);
        }
    });
    addr
}

fn query(domain: &str, server: SocketAddr) -> SrvQuery {
    let mut q = SrvQuery::new(domain);
    q.name_server = Some(server);
    q.timeout = Duration::from_millis(500);
    q
}

#[tokio::test]
async fn priorities_weights_and_both_record_names() {
    let mut zone = Zone::new();
    zone.insert(
        "_etcd-client._tcp.example.test.".into(),
        vec![
            (10, 10, 4002, "localhost.".into()),
            (0, 5, 4001, "localhost.".into()),
            (10, 50, 4003, "localhost.".into()),
        ],
    );
    zone.insert(
        "_etcd-client-ssl._tcp.example.test.".into(),
        vec![(5, 1, 4443, "localhost.".into())],
    );
    let server = dns_server(zone);
    let found: Vec<String> = query("example.test", server)
        .discover()
        .await
        .unwrap()
        .iter()
        .map(|e| e.url().to_string())
        .collect();
    assert_eq!(
        found,
        [
            "http://localhost:4001",  // priority 0
            "https://localhost:4443", // priority 5, from the -ssl record
            "http://localhost:4003",  // priority 10, weight 50
            "http://localhost:4002",  // priority 10, weight 10
        ]
    );
}

#[tokio::test]
async fn service_name_suffix() {
    let mut zone = Zone::new();
    zone.insert(
        "_etcd-client-prod._tcp.example.test.".into(),
        vec![(0, 0, 4100, "localhost.".into())],
    );
    let server = dns_server(zone);
    let mut q = query("example.test", server);
    q.service_name = Some("prod".into());
    let found = q.discover().await.unwrap();
    assert_eq!(found[0].url(), "http://localhost:4100");
}

#[tokio::test]
async fn a_client_built_from_srv_talks_to_etcd() {
    let port = common::etcd()
        .client_url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let mut zone = Zone::new();
    zone.insert(
        "_etcd-client._tcp.live.test.".into(),
        vec![(0, 0, port, "localhost.".into())],
    );
    let server = dns_server(zone);
    let c = Client::builder()
        .srv_domain("live.test")
        .srv_name_server(server)
        .discover()
        .await
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(c.endpoints(), [format!("http://localhost:{port}")]);
    let k = common::unique("srv");
    c.write(&k, "found").await.unwrap();
    // The blocking path: build() does the lookup itself.
    let b = rsetcd::v2::blocking::Client::builder()
        .srv_domain("live.test")
        .srv_name_server(server)
        .build()
        .unwrap();
    assert_eq!(b.read(&k).send().unwrap().value(), Some("found"));
}

#[tokio::test]
async fn no_record_for_either_name() {
    let server = dns_server(Zone::new());
    let err = query("empty.test", server).discover().await.unwrap_err();
    match &err {
        Error::Discovery { domain, reason } => {
            assert_eq!(domain, "empty.test");
            assert!(
                reason.contains("no SRV record _etcd-client._tcp.empty.test"),
                "{reason}"
            );
            assert!(
                reason.contains("_etcd-client-ssl._tcp.empty.test"),
                "{reason}"
            );
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn unreachable_name_server() {
    // A UDP port where nothing answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let start = std::time::Instant::now();
    let err = query("example.test", addr).discover().await.unwrap_err();
    assert!(matches!(err, Error::Discovery { .. }), "{err}");
    assert!(
        !err.to_string().contains("no SRV record"),
        "not mistaken for a missing record: {err}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    drop(silent);
}

#[tokio::test]
async fn records_pointing_nowhere() {
    let mut zone = Zone::new();
    zone.insert(
        "_etcd-client._tcp.nowhere.test.".into(),
        vec![(0, 0, 2379, "host.does-not-exist.invalid.".into())],
    );
    let server = dns_server(zone);
    let err = query("nowhere.test", server).discover().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("do not resolve: host.does-not-exist.invalid"),
        "{err}"
    );
}

#[tokio::test]
async fn an_ssl_record_leads_to_mutual_tls() {
    let pki = rsetcd_testkit::certs::TestPki::generate().unwrap();
    let tls = pki.server_tls();
    let node =
        tokio::task::spawn_blocking(move || rsetcd_testkit::Etcd::builder().tls(tls).start())
            .await
            .unwrap()
            .unwrap();
    let port: u16 = node
        .client_url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut zone = Zone::new();
    zone.insert(
        "_etcd-client-ssl._tcp.secure.test.".into(),
        vec![(0, 0, port, "localhost.".into())],
    );
    let server = dns_server(zone);
    let c = Client::builder()
        .srv_domain("secure.test")
        .srv_name_server(server)
        .ca_file(&pki.ca)
        .client_cert_files(&pki.client.cert, &pki.client.key)
        .discover()
        .await
        .unwrap()
        .build()
        .unwrap();
    assert_eq!(c.endpoints(), [format!("https://localhost:{port}")]);
    c.write("/srv-tls", "found over TLS").await.unwrap();
    assert_eq!(
        c.read("/srv-tls").await.unwrap().value(),
        Some("found over TLS")
    );
}
