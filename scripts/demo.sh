#!/usr/bin/env bash
# The seed's usage end to end against a throwaway local 3-node etcd cluster on loopback:
# write then read, a client holding three endpoints, a watch, and a read that survives the loss of a node.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-etcd.sh

work=$(mktemp -d -t rsetcd-demo-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

cargo build --quiet --release -p rsetcd --examples

base=${RSETCD_DEMO_PORT:-23790}
cluster=""
for i in 1 2 3; do
  cluster+="${cluster:+,}n$i=http://127.0.0.1:$((base + 2*i + 1))"
done
endpoints=""
for i in 1 2 3; do
  client="http://127.0.0.1:$((base + 2*i))"
  peer="http://127.0.0.1:$((base + 2*i + 1))"
  endpoints+="${endpoints:+,}$client"
  etcd --enable-v2=true --name "n$i" --data-dir "$work/n$i" \
    --listen-client-urls "$client" --advertise-client-urls "$client" \
    --listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
    --initial-cluster "$cluster" --initial-cluster-token "demo-$$" \
    --heartbeat-interval 50 --election-timeout 500 >"$work/n$i.log" 2>&1 &
  pids+=($!)
done
export ETCDCTL_ENDPOINTS=$endpoints
echo "== a throwaway cluster: $ETCDCTL_ENDPOINTS"
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$((base + 2))/health" 2>/dev/null | grep -q true && break
  sleep 0.1
done

run() { echo; echo "== $*"; "$@"; }
run target/release/examples/quickstart
run target/release/examples/cluster

echo; echo "== watch: waiting for the next change of /message, then writing it"
target/release/examples/watch &
watcher=$!
sleep 0.5   # let the watch register before the write (a demo, not a test)
curl -fsS -XPUT "http://127.0.0.1:$((base + 4))/v2/keys/message" -d value="Hello from another node" >/dev/null
wait $watcher

echo; echo "== kill -9 the first node; the client fails over"
kill -9 "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
run target/release/examples/cluster
echo; echo "demo done"
