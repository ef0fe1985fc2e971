//! Without an etcd binary, starting says what to install (its own test binary: it sets an
//! environment variable).

use rsetcd_testkit::{Cluster, Error, Etcd};

#[test]
fn a_missing_binary_is_a_clear_error() {
    std::env::set_var("RSETCD_ETCD_BIN", "/nonexistent/etcd");
    let err = Etcd::start().unwrap_err();
    assert!(matches!(err, Error::EtcdMissing), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("scripts/install-etcd.sh") && text.contains("apt-get install etcd-server"),
        "{text}"
    );
    assert!(matches!(Cluster::start(3), Err(Error::EtcdMissing)));
    assert!(matches!(Cluster::start(0), Err(Error::Start(_))));
}
