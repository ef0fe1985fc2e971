#!/usr/bin/env bash
# The seed's usage end to end against a throwaway local 3-node etcd cluster on loopback, started by
# `rsetcd dev-cluster`: write then read, a client holding three endpoints, a watch, and reads that
# survive the loss of a node. Everything is stopped and removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-etcd.sh

cargo build --quiet --release -p rsetcd-cli -p rsetcd --examples --bins
rsetcd=$PWD/target/release/rsetcd
ex=$PWD/target/release/examples

out=$(mktemp -t rsetcd-demo-XXXXXX)
"$rsetcd" dev-cluster --nodes 3 --base-port "${RSETCD_DEMO_PORT:-23790}" >"$out" 2>&1 &
cluster=$!
cleanup() { kill -TERM "$cluster" 2>/dev/null || true; wait "$cluster" 2>/dev/null || true; rm -f "$out"; }
trap cleanup EXIT INT TERM
for _ in $(seq 1 300); do grep -q '^export ETCDCTL_ENDPOINTS=' "$out" && break; sleep 0.1; done
cat "$out"
eval "$(grep '^export ETCDCTL_ENDPOINTS=' "$out")"
export ETCDCTL_API=2   # the seed's v2 usage (rsetcd speaks v3 by default, as etcdctl does)

run() { echo; echo "== $*"; "$@"; }
run "$ex/quickstart"
run "$ex/cluster"

echo; echo "== watch: the example waits for the next change of /message; rsetcd writes it"
"$ex/watch" &
watcher=$!
sleep 0.5   # let the watch register first (a demo, not a test)
"$rsetcd" set /message "Hello from the command line" >/dev/null
wait "$watcher"

run "$rsetcd" -o extended get /message
run "$rsetcd" member list

first=${ETCDCTL_ENDPOINTS%%,*}
echo; echo "== kill -9 the member at $first; clients fail over"
pkill -9 -f -- "--listen-client-urls=$first" || true
run "$rsetcd" --no-sync get /message
run "$ex/cluster"
run "$rsetcd" cluster-health || true
echo; echo "demo done"
