#!/usr/bin/env bash
# scripts/bench/check-perf.sh LOAD TOOL...: `check perf --load LOAD` (s, m, l, xl) run by each tool
# (rsetcd, etcdctl 3.4, etcdctl 3.5: any ETCDCTL_API=3 command) at once, each against its own
# single-node etcd (Debian's, data on tmpfs, loopback ports 32200 + 10 i); prints each tool's
# verdict lines, then its user and system CPU seconds and peak RSS (KiB) from /usr/bin/time.
# Stops the servers it started by PID. BENCHMARKS.md, "check perf".
set -u
load=$1; shift
base=/dev/shm/perfcmp; rm -rf $base; mkdir -p $base
pids=(); i=0
for t in "$@"; do
  p=$((32200 + i*10))
  etcd --name n$i --data-dir $base/d$i --listen-client-urls http://127.0.0.1:$p --advertise-client-urls http://127.0.0.1:$p \
    --listen-peer-urls http://127.0.0.1:$((p+1)) --initial-advertise-peer-urls http://127.0.0.1:$((p+1)) \
    --initial-cluster n$i=http://127.0.0.1:$((p+1)) > $base/etcd$i.log 2>&1 &
  pids+=($!); i=$((i+1))
done
for j in $(seq 0 $((i-1))); do
  for k in $(seq 1 100); do ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:$((32200 + j*10)) endpoint health >/dev/null 2>&1 && break; sleep 0.1; done
done
i=0; runs=()
for t in "$@"; do
  p=$((32200 + i*10))
  ( ETCDCTL_API=3 /usr/bin/time -f "cpu %U %S rss %M" $t --endpoints 127.0.0.1:$p check perf --load $load > $base/out$i 2> $base/err$i ) &
  runs+=($!); i=$((i+1))
done
wait "${runs[@]}"
i=0
for t in "$@"; do
  echo "== $t"; tr '\r' '\n' < $base/out$i | sed 's/^ *[0-9]* \/ [0-9]* *[0-9.]*%\( [0-9hms]*\)\?//' | grep -v '^$'; tail -1 $base/err$i
  i=$((i+1))
done
kill "${pids[@]}"; wait 2>/dev/null; rm -rf $base
