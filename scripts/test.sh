#!/usr/bin/env bash
# Runs every check: formatting, lints, docs, and all tests (unit, integration against real etcd, doctests).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-etcd.sh

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet
echo "== cargo test"
cargo test --workspace --locked -- --test-threads="${RSETCD_TEST_THREADS:-4}"
