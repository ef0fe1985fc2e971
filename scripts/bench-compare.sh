#!/usr/bin/env bash
# Side-by-side benchmarks in one run: rsetcd bench against wrk (the best possible HTTP client), the
# Python clients pyetcd and python-etcd beside rsetcd-py (crates/rsetcd-py: pyetcd's API on rsetcd,
# sequential and 8 threads), the etcd-client crate (v3), rsetcd's v2 over v3 against native v2 and
# against etcd's own emulation (--experimental-enable-v2v3, with wrk), and Debian's etcdctl for
# one-shot commands (v2 get; v3 get, put, txn, endpoint status, member list). Starts its own
# etcd nodes (one on tmpfs, one on disk), alternates the runs, reports medians, writes BENCHMARKS.md.
#
#   scripts/bench-compare.sh            # 3 s per run, 5 alternating rounds (about ten minutes)
#   scripts/bench-compare.sh --quick    # 1 s per run, 1 round (a smoke run)
#   scripts/bench-compare.sh --python   # only the Python rows (sequential reads, threads), printed
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=3 rounds=5 only=()
[ "${1:-}" = "--quick" ] && { seconds=1; rounds=1; }
[ "${1:-}" = "--python" ] && only=(--only-python)

scripts/install-etcd.sh
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v curl >/dev/null || need+=(curl)
command -v protoc >/dev/null || need+=(protobuf-compiler)   # etcd-client's build needs it
python3 -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

work=$(mktemp -d -t rsetcd-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true; rm -rf "$work"
}
trap cleanup EXIT INT TERM

echo "== building rsetcd (release)" >&2
cargo build --quiet --release -p rsetcd-cli
# Cargo's target directory (CARGO_TARGET_DIR when set, as maturin uses it too).
rsetcd=${CARGO_TARGET_DIR:-$PWD/target}/release/rsetcd
echo "== building the test kit's delay proxy (release)" >&2
cargo build --quiet --release -p rsetcd-testkit --example delay_proxy
delay_proxy=${CARGO_TARGET_DIR:-$PWD/target}/release/examples/delay_proxy
etcd_client_bench=${CARGO_TARGET_DIR:-$PWD/bench/etcd-client-bench/target}/release/etcd-client-bench
if [ ${#only[@]} -eq 0 ]; then
  echo "== building the etcd-client bench (release)" >&2
  (cd bench/etcd-client-bench && cargo build --quiet --release --locked)
fi

echo "== Python clients in throwaway venvs" >&2
for lib in pyetcd python-etcd; do
  python3 -m venv "$work/$lib"
  "$work/$lib/bin/pip" install -q --disable-pip-version-check "$lib"
done
echo "== rsetcd-py (crates/rsetcd-py, release build) in a venv" >&2
python3 -m venv "$work/rsetcd-py"
"$work/rsetcd-py/bin/pip" install -q --disable-pip-version-check ./crates/rsetcd-py

start_node() { # $1 = base port, $2.. = extra dev-cluster flags (run here, not in a subshell: cleanup kills it)
  "$rsetcd" dev-cluster --nodes 1 --base-port "$1" "${@:2}" >"$work/dc-$1.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 200); do
    grep -q '^export ETCDCTL_ENDPOINTS=' "$work/dc-$1.out" 2>/dev/null && break
    sleep 0.1
  done
}
endpoint_of() { sed -n 's/^export ETCDCTL_ENDPOINTS=//p' "$work/dc-$1.out"; }
base=${RSETCD_BENCH_PORT:-31000}
start_node "$base" --unsafe-no-fsync
start_node "$((base + 10))" --data-dir "$work/disk"
# etcd's own v2 emulation on v3 (--experimental-enable-v2v3), for the v2-over-v3 rows.
RSETCD_ETCD_V2=v2v3:/v2emu start_node "$((base + 20))" --unsafe-no-fsync
fast=$(endpoint_of "$base")
disk=$(endpoint_of "$((base + 10))")
emulated=$(endpoint_of "$((base + 20))")
[ -n "$fast" ] && [ -n "$disk" ] && [ -n "$emulated" ] || { echo "etcd did not start" >&2; cat "$work"/dc-*.out >&2; exit 1; }
echo "== etcd on tmpfs: $fast; etcd on disk: $disk; etcd emulating v2 on v3: $emulated" >&2

python3 scripts/bench/compare.py --endpoint "$fast" --fsync-endpoint "$disk" --rsetcd "$rsetcd" \
  --pyetcd-venv "$work/pyetcd" --python-etcd-venv "$work/python-etcd" --rsetcd-py-venv "$work/rsetcd-py" \
  --etcd-client-bench "$etcd_client_bench" --delay-proxy "$delay_proxy" --emulated-endpoint "$emulated" --emulation-prefix /v2emu \
  --seconds "$seconds" --rounds "$rounds" --out BENCHMARKS.md "${only[@]}"
