#!/usr/bin/env bash
# The seed's usage end to end against a throwaway local 3-node etcd cluster on loopback, started by
# `rsetcd dev-cluster`: write then read, a client holding three endpoints, a watch, the v3 API, and
# reads that survive the loss of a node. Everything it started is stopped by PID at the end.
#
# Binaries are built into cargo's target directory, wherever it is (`CARGO_TARGET_DIR`, or
# `build.target-dir` in a cargo config): cargo metadata says where. RSETCD_DEMO_PROFILE picks the
# cargo profile (default release; `dev` reuses what `cargo test` built); RSETCD_DEMO_PORT the
# cluster's base port (default 23790).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-etcd.sh

profile=${RSETCD_DEMO_PROFILE:-release}
cargo build --quiet --profile "$profile" -p rsetcd-cli -p rsetcd --examples --bins
target=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
[ -n "$target" ] || { echo "demo: cargo metadata named no target directory" >&2; exit 1; }
case "$profile" in dev | test) out_dir=$target/debug ;; bench) out_dir=$target/release ;; *) out_dir=$target/$profile ;; esac
rsetcd=$out_dir/rsetcd
ex=$out_dir/examples
echo "demo: binaries from $out_dir"

out=$(mktemp -t rsetcd-demo-XXXXXX)
"$rsetcd" dev-cluster --nodes 3 --base-port "${RSETCD_DEMO_PORT:-23790}" >"$out" 2>&1 &
cluster=$!
watcher=""
cleanup() {
  if [ -n "$watcher" ]; then kill -TERM "$watcher" 2>/dev/null || true; fi
  # dev-cluster stops its members (by their PIDs) on SIGTERM.
  kill -TERM "$cluster" 2>/dev/null || true
  wait "$cluster" 2>/dev/null || true
  rm -f "$out"
}
trap cleanup EXIT INT TERM
for _ in $(seq 1 300); do
  grep -q '^export ETCDCTL_ENDPOINTS=' "$out" && break
  kill -0 "$cluster" 2>/dev/null || break # dev-cluster exited: it says why in $out
  sleep 0.1
done
cat "$out"
grep -q '^export ETCDCTL_ENDPOINTS=' "$out" || { echo "demo: the dev cluster did not start" >&2; exit 1; }
eval "$(grep '^export ETCDCTL_ENDPOINTS=' "$out")"
export ETCDCTL_API=2 # the seed's v2 usage (rsetcd speaks v3 by default, as etcdctl does)

run() { echo; echo "== $*"; "$@"; }
run "$ex/quickstart"
run "$ex/cluster"

echo; echo "== watch: the example waits for the next change of /message; rsetcd writes it"
"$ex/watch" &
watcher=$!
sleep 0.5 # let the watch register first (a demo, not a test)
"$rsetcd" set /message "Hello from the command line" >/dev/null
wait "$watcher"
watcher=""

run "$rsetcd" -o extended get /message
run "$rsetcd" member list
run "$ex/v3_quickstart"
run "$ex/v3_txn"

# The etcd serving the first endpoint: the child of our dev-cluster that listens there.
first=${ETCDCTL_ENDPOINTS%%,*}
member=""
for pid in $(ps -o pid= --ppid "$cluster"); do
  if tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "--listen-client-urls=$first"; then
    member=$pid
  fi
done
[ -n "$member" ] || { echo "demo: no member of our cluster listens on $first" >&2; exit 1; }
echo; echo "== kill -9 the member at $first (PID $member); clients fail over"
kill -9 "$member"
run "$rsetcd" --no-sync get /message
run "$ex/cluster"
run "$rsetcd" cluster-health || true
echo; echo "demo done"
