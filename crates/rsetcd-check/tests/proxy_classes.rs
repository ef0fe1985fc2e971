//! The proxy faults' rules pick the exchanges their classes name: every kind of request of the
//! traffic, sent by rsetcd through fault proxies armed with every class (with a delay of zero: a
//! fault that only counts), is counted under its own class and no other — so that the fault log's
//! figures say which traffic a fault reached, and lease grants pass.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;

use rsetcd_check::proxy_faults::{v2_classes, v3_classes, ArmedClasses};
use rsetcd_check::record::v2::V2Client;
use rsetcd_check::record::v3::{Cmp, Step, V3Client};
use rsetcd_check::record::Recorder;
use rsetcd_check::run::{V2_DIR, V3_PREFIX};
use rsetcd_testkit::{Etcd, Fault, FaultProxy, Wire};

/// The classes that fired since `before` (and by how much); `before` moves on.
fn since(armed: &ArmedClasses, before: &mut BTreeMap<String, usize>) -> Vec<(String, usize)> {
    let now: BTreeMap<String, usize> = armed.fired().by_class.into_iter().collect();
    let moved = now
        .iter()
        .filter_map(|(c, n)| {
            let d = n - before.get(c).copied().unwrap_or(0);
            (d > 0).then(|| (c.clone(), d))
        })
        .collect();
    *before = now;
    moved
}

/// Asserts that what was sent since the last check fired `class` only (`None`: nothing).
macro_rules! fired_only {
    ($armed:expr, $before:expr, $what:expr, $class:expr) => {{
        let moved = since(&$armed, &mut $before);
        let classes: Vec<&str> = moved.iter().map(|(c, _)| c.as_str()).collect();
        let want: Option<&str> = $class;
        assert_eq!(
            classes,
            want.into_iter().collect::<Vec<_>>(),
            "{}: {moved:?}",
            $what
        );
    }};
}

#[test]
fn every_request_of_the_traffic_is_counted_under_its_class() {
    let node = Etcd::start().expect("start etcd");
    let p2 = FaultProxy::start(&node.client_url(), Wire::Http1).expect("v2 proxy");
    let p3 = FaultProxy::start(&node.client_url(), Wire::Http2).expect("v3 proxy");
    let count = Fault::DelayAnswer(Duration::ZERO);
    let mut armed = ArmedClasses::default();
    armed.arm(&p2, v2_classes(), count).expect("arm v2");
    armed
        .arm(&p3, v3_classes(V3_PREFIX), count)
        .expect("arm v3");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let rec = Recorder::new();
    let v2 = rsetcd::v2::Client::builder()
        .endpoints([p2.url()])
        .build()
        .expect("v2 client");
    let v3 = rsetcd::v3::Client::builder()
        .endpoints([p3.url()])
        .build()
        .expect("v3 client");
    let (c2, c3) = (
        V2Client::new(v2, rec.clone(), 0),
        V3Client::new(v3, rec, 100),
    );
    let mut b = BTreeMap::new();
    rt.block_on(async {
        let k = format!("{V2_DIR}/k1");
        c2.get(&k).await.ok();
        fired_only!(armed, b, "v2 get", Some("v2 reads"));
        let set = c2.set(&k, "c0-1").await.expect("set");
        fired_only!(armed, b, "v2 set", Some("v2 sets"));
        c2.cas(&k, "c0-2", Some("c0-1"), None).await.expect("cas");
        fired_only!(armed, b, "v2 CAS on the value", Some("v2 CAS and creates"));
        let i = set.node.modified_index + 1;
        c2.cas(&k, "c0-3", None, Some(i)).await.expect("cas");
        fired_only!(armed, b, "v2 CAS on the index", Some("v2 CAS and creates"));
        c2.create(&format!("{V2_DIR}/k2"), "c0-4")
            .await
            .expect("create");
        fired_only!(armed, b, "v2 create", Some("v2 CAS and creates"));
        c2.cad(&k, Some("c0-3"), None).await.expect("cad");
        fired_only!(armed, b, "v2 compare-and-delete", Some("v2 deletes"));
        c2.delete(&format!("{V2_DIR}/k2")).await.expect("delete");
        fired_only!(armed, b, "v2 delete", Some("v2 deletes"));
        let w = c2.inner().write(&k, "c0-5").await.expect("write");
        fired_only!(armed, b, "a v2 write", Some("v2 sets"));
        let mut watch = c2
            .inner()
            .watch(V2_DIR)
            .recursive()
            .after_index(w.node.modified_index - 1)
            .stream();
        let got = tokio::time::timeout(Duration::from_secs(10), watch.next()).await;
        assert!(matches!(got, Ok(Some(Ok(_)))), "the watch saw the write");
        fired_only!(armed, b, "a v2 watch", Some("v2 watch polls"));

        let k = format!("{V3_PREFIX}k1");
        c3.get(&k).await.expect("get");
        fired_only!(armed, b, "v3 get", Some("v3 reads and deletes"));
        c3.put(&k, "c100-1", 0).await.expect("put");
        fired_only!(armed, b, "v3 put", Some("v3 puts"));
        let get = [Step::Get(k.clone())];
        let then = [Step::Put(k.clone(), "c100-2".into(), 0)];
        for (what, cmp) in [
            ("a CAS txn", Cmp::Mod(k.clone(), 5)),
            ("a create-if-absent txn", Cmp::Version(k.clone(), 0)),
            (
                "a compare-value txn",
                Cmp::Value(k.clone(), "c100-1".into()),
            ),
        ] {
            c3.txn(&[cmp], &then, &get).await.expect("txn");
            fired_only!(armed, b, what, Some("v3 txns"));
        }
        let (p0, p1) = (format!("{V3_PREFIX}p0"), format!("{V3_PREFIX}p1"));
        let both = [
            Step::Put(p0.clone(), "c100-3-a".into(), 0),
            Step::Put(p1.clone(), "c100-3-b".into(), 0),
        ];
        c3.txn(&[Cmp::Mod(p0.clone(), 0)], &both, &[Step::Get(p0)])
            .await
            .expect("txn");
        fired_only!(armed, b, "a two-key txn", Some("v3 txns"));
        c3.delete(&p1).await.expect("delete");
        fired_only!(armed, b, "v3 delete", Some("v3 reads and deletes"));
        let lease = c3.inner().lease_grant(60).await.expect("grant").id;
        fired_only!(armed, b, "a lease grant", None);
        let keep = c3
            .inner()
            .lease_keep_alive(lease)
            .await
            .expect("keep-alive");
        fired_only!(
            armed,
            b,
            "a keep-alive",
            Some("v3 lease keep-alives and revokes")
        );
        let lk = format!("{V3_PREFIX}lease");
        c3.put(&lk, "c106-1", lease).await.expect("put");
        fired_only!(armed, b, "a put on a lease", Some("v3 puts"));
        c3.lease_revoke(lease, &[lk.as_str()])
            .await
            .expect("revoke");
        fired_only!(
            armed,
            b,
            "a revoke",
            Some("v3 lease keep-alives and revokes")
        );
        drop(keep);
        let watch = c3.inner().watch(V3_PREFIX).prefix().prev_kv().await;
        assert!(watch.is_ok(), "{watch:?}");
        fired_only!(armed, b, "a prefix watch", Some("v3 watch streams"));
    });
}
