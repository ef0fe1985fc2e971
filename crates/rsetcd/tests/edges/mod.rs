//! Shared by the edge tests: a 3-member cluster per test binary, a fault proxy in front of member
//! 0, clients whose endpoints are `[proxy → member 0, member 1, member 2]` (so "the next
//! endpoint" is observable), clients straight to member 1 (which never has a fault) to read the
//! final state, and the retry rules the outcome is held to.
#![allow(dead_code, unused_macros, unused_imports)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use rsetcd::Error;
use rsetcd_testkit::{Cluster, Fault, FaultProxy, Wire};

/// Every per-attempt bound of the clients under test.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(1);
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Longer than the request timeout: a delayed answer comes too late.
pub const DELAY: Duration = Duration::from_millis(1500);
/// The longest any single check waits for something that should happen.
pub const WAIT: Duration = Duration::from_secs(10);

/// The test binary's cluster (started on first use, killed when the process exits).
pub async fn cluster() -> &'static Cluster {
    tokio::task::spawn_blocking(rsetcd_testkit::shared_cluster)
        .await
        .expect("start the cluster")
        .expect("start the cluster")
}

/// A key no other test uses.
pub fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "/edge{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fault proxy in front of member 0.
pub async fn proxy(wire: Wire) -> FaultProxy {
    let target = cluster().await.node(0).client_url();
    FaultProxy::start(&target, wire).expect("start the fault proxy")
}

/// `[proxy, member 1, member 2]`.
pub async fn endpoints(proxy: &FaultProxy) -> Vec<String> {
    let c = cluster().await;
    vec![proxy.url(), c.node(1).client_url(), c.node(2).client_url()]
}

/// Member 1's client URL: the member that reads the final state.
pub async fn clean_member() -> String {
    cluster().await.node(1).client_url()
}

/// The builder settings every client under test has.
pub fn quick<C: rsetcd::config::FromConfig>(
    b: rsetcd::config::ClientBuilder<C>,
) -> rsetcd::config::ClientBuilder<C> {
    b.request_timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
}

/// What the retry rules say happened to the faulted attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The request provably never reached a server: any call goes on to the next endpoint.
    NeverSent,
    /// The request (or all of its bytes, as far as the client can know) left: a read is retried
    /// on the next endpoint, a write is `OutcomeUnknown` unless it opted in.
    SentWithoutAnswer,
}

/// How each fault looks to the client.
///
/// `CloseAfterRequestBytes(n)` on a request smaller than the socket buffers is
/// `SentWithoutAnswer`: the client handed every byte to its socket before the connection closed,
/// which it cannot tell apart from [`Fault::DropAnswerAndClose`]. Only a request still being
/// written when the connection closes provably never arrived whole (see the large-write test).
pub fn reach(fault: Fault) -> Reach {
    match fault {
        Fault::Refuse | Fault::GoAway | Fault::RefusedStream => Reach::NeverSent,
        _ => Reach::SentWithoutAnswer,
    }
}

/// Whether `err` is only request timeouts (one endpoint's, or every endpoint's).
pub fn is_timeout(err: &Error) -> bool {
    match err {
        Error::Timeout { .. } => true,
        Error::NoMoreHosts { failures } => failures.iter().all(|(_, e)| is_timeout(e)),
        _ => false,
    }
}

/// What a failed check prints about the proxy.
pub fn about(proxy: &FaultProxy, fault: Fault) -> String {
    format!(
        "fault {fault:?}: fired {}, request reached etcd: {}",
        proxy.fired(),
        proxy.request_reached_server()
    )
}

/// `f` within [`WAIT`], or a panic saying `what` (asked for only then).
pub async fn within<T>(
    what: impl FnOnce() -> String,
    f: impl std::future::IntoFuture<Output = T>,
) -> T {
    match tokio::time::timeout(WAIT, f).await {
        Ok(v) => v,
        Err(_) => panic!("{}: nothing within {WAIT:?}", what()),
    }
}

/// The faults every call class meets, over HTTP/1.1 (v2) and HTTP/2 (v3).
macro_rules! each_common_fault {
    ($check:path) => {
        #[tokio::test]
        async fn refuse() {
            $check(rsetcd_testkit::Fault::Refuse).await
        }
        #[tokio::test]
        async fn black_hole() {
            $check(rsetcd_testkit::Fault::BlackHole).await
        }
        #[tokio::test]
        async fn close_after_request_bytes() {
            $check(rsetcd_testkit::Fault::CloseAfterRequestBytes(16)).await
        }
        #[tokio::test]
        async fn drop_answer_and_close() {
            $check(rsetcd_testkit::Fault::DropAnswerAndClose).await
        }
        #[tokio::test]
        async fn reset_after_forward() {
            $check(rsetcd_testkit::Fault::ResetAfterForward).await
        }
        #[tokio::test]
        async fn cut_after_head() {
            $check(rsetcd_testkit::Fault::CutAfterHead).await
        }
        #[tokio::test]
        async fn cut_mid_body() {
            $check(rsetcd_testkit::Fault::CutMidBody).await
        }
        #[tokio::test]
        async fn delay_answer() {
            $check(rsetcd_testkit::Fault::DelayAnswer($crate::edges::DELAY)).await
        }
    };
}
pub(crate) use each_common_fault;

/// [`each_common_fault`], plus the body delayed past the timeouts after a prompt head.
macro_rules! each_v2_fault {
    ($check:path) => {
        $crate::edges::each_common_fault!($check);
        #[tokio::test]
        async fn delay_body() {
            $check(rsetcd_testkit::Fault::DelayBody($crate::edges::DELAY)).await
        }
    };
}
pub(crate) use each_v2_fault;

/// [`each_common_fault`], plus HTTP/2's refusals.
macro_rules! each_v3_fault {
    ($check:path) => {
        $crate::edges::each_common_fault!($check);
        #[tokio::test]
        async fn goaway() {
            $check(rsetcd_testkit::Fault::GoAway).await
        }
        #[tokio::test]
        async fn refused_stream() {
            $check(rsetcd_testkit::Fault::RefusedStream).await
        }
    };
}
pub(crate) use each_v3_fault;
