#!/usr/bin/env bash
# Instructions per request, counted by callgrind (exact and repeatable where timings on a shared
# machine are not): `rsetcd bench W --total N` against a fresh local etcd, run for N=2000 and
# N=4000; the difference divided by 2000 is the cost of one request in the whole client process
# (library, runtime, allocator), start-up and connection set-up cancelled out.
#
# usage: scripts/bench/callgrind.sh [path/to/rsetcd] [workload...]
#        workloads: v2-get v2-set v2-cas v3-get v3-set v3-cas (default: all six)
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --locked -p rsetcd-cli --quiet
  bin="${CARGO_TARGET_DIR:-$PWD/target}/release/rsetcd"
fi
shift || true
workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(v2-get v2-set v2-cas v3-get v3-set v3-cas)
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 1; }

work=$(mktemp -d)
etcd_pid=""
cleanup() {
  [ -n "$etcd_pid" ] && kill -9 "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
peer=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port"
# tmpfs-like speed does not matter here: instructions are counted in the client only.
etcd --name cg --data-dir "$work/data" --enable-v2=true \
  --listen-client-urls "$url" --advertise-client-urls "$url" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "cg=http://127.0.0.1:$peer" >"$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 1 100); do
  curl -fs "$url/health" >/dev/null 2>&1 && break
  sleep 0.1
done

instructions() { # workload api total
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$bin" --endpoints "$url" bench "$1" --api "$2" --total "$3" --clients 1 >/dev/null 2>"$work/vg.log"
  grep -E '^(summary|totals):' "$work/cg.out" | head -1 | awk '{print $2}'
}

printf '%-8s %12s\n' workload 'instr/req'
for w in "${workloads[@]}"; do
  api=${w%%-*}
  load=${w#*-}
  a=$(instructions "$load" "$api" 2000)
  b=$(instructions "$load" "$api" 4000)
  printf '%-8s %12d\n' "$w" $(((b - a) / 2000))
done
