#!/usr/bin/env bash
# The migration rate of `rsetcd migrate v2-to-v3`, in keys per second: one etcd (v2 enabled, data
# on tmpfs) on free loopback ports, N keys (100 per directory) written over v2 with curl, 16 in
# flight, then R runs of the migration into fresh prefixes of the same cluster's v3 keyspace
# (each run reads the whole v2 keyspace, scans its prefix, writes every node; --no-verify, so
# the time is the copy's). Prints each run and the median.
#
#   scripts/bench/migrate-rate.sh [RSETCD_BINARY] [N] [R]
set -euo pipefail
RSETCD=${1:-${CARGO_TARGET_DIR:-target}/release/rsetcd}
N=${2:-10000}
R=${3:-3}
ETCD=${RSETCD_ETCD_BIN:-etcd}
DIR=$(mktemp -d /dev/shm/rsetcd-migrate-bench.XXXXXX)
read -r P1 P2 < <(python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
"$ETCD" --data-dir "$DIR/data" --enable-v2=true \
  --listen-client-urls "http://127.0.0.1:$P1" --advertise-client-urls "http://127.0.0.1:$P1" \
  --listen-peer-urls "http://127.0.0.1:$P2" --initial-advertise-peer-urls "http://127.0.0.1:$P2" \
  --initial-cluster "default=http://127.0.0.1:$P2" >"$DIR/etcd.log" 2>&1 &
PID=$!
trap 'kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; rm -rf "$DIR"' EXIT
URL="http://127.0.0.1:$P1"
for _ in $(seq 1 100); do curl -sf "$URL/v2/keys/" >/dev/null && break; sleep 0.1; done
seq 0 $((N - 1)) | xargs -P 16 -I{} sh -c \
  'curl -sf -XPUT "$0/v2/keys/bench/d$(({} / 100))/k{}" -d value=value-{} >/dev/null' "$URL"
rates=()
for r in $(seq 1 "$R"); do
  start=$(date +%s.%N)
  "$RSETCD" --endpoints "$URL" migrate v2-to-v3 --prefix "/rate$r" --no-verify --no-history >"$DIR/out"
  end=$(date +%s.%N)
  nodes=$(sed -n 's/^  \([0-9]*\) nodes in v2.*/\1/p' "$DIR/out")
  rate=$(python3 -c "print(round($nodes / ($end - $start)))")
  echo "run $r: $nodes nodes in $(python3 -c "print(round($end - $start, 3))") s = $rate nodes/s"
  rates+=("$rate")
done
echo "median: $(printf '%s\n' "${rates[@]}" | sort -n | sed -n "$(( (R + 1) / 2 ))p") nodes/s"
