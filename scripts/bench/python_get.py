#!/usr/bin/env python3
"""Reads of /bench/k0 with a Python etcd v2 client, for a fixed time, from THREADS threads sharing
one client (default 1: sequential reads).

Usage: python_get.py pyetcd|rsetcd-py|python-etcd HOST PORT SECONDS [THREADS]; prints one JSON
object. pyetcd and rsetcd-py are both `import pyetcd` (each in its own venv).
"""
import json
import sys
import threading
import time

library, host, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
threads = int(sys.argv[5]) if len(sys.argv) > 5 else 1
if library in ("pyetcd", "rsetcd-py"):
    import pyetcd
    from pyetcd.client import Client

    if library == "rsetcd-py" and not hasattr(pyetcd, "_native"):
        sys.exit("rsetcd-py asked for, but this venv's pyetcd is not rsetcd-py")
    client = Client(host=host, port=port)
else:
    import etcd

    client = etcd.Client(host=host, port=port)
read = client.read
read("/bench/k0")  # connect before timing

results = [None] * threads
# One thread: the reads run on the main thread, as a sequential program's do.
start_gate = threading.Barrier(threads + 1) if threads > 1 else None


def loop(slot):
    latencies = []
    if start_gate is not None:
        start_gate.wait()
    deadline = time.perf_counter() + seconds
    while True:
        t = time.perf_counter()
        if t >= deadline:
            break
        read("/bench/k0")
        latencies.append(time.perf_counter() - t)
    results[slot] = latencies


start = time.perf_counter()
if threads == 1:
    loop(0)
else:
    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    start_gate.wait()
    start = time.perf_counter()
    for w in workers:
        w.join()
elapsed = time.perf_counter() - start
latencies = sorted(l for r in results for l in r)
print(json.dumps({
    "ops": len(latencies),
    "ops_per_sec": len(latencies) / elapsed,
    "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
    "threads": threads,
}))
