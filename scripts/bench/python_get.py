#!/usr/bin/env python3
"""Sequential reads of /bench/k0 with a Python etcd v2 client, for a fixed time.

Usage: python_get.py pyetcd|python-etcd HOST PORT SECONDS; prints one JSON object.
"""
import json
import sys
import time

library, host, port, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
if library == "pyetcd":
    from pyetcd.client import Client

    client = Client(host=host, port=port)
    read = lambda: client.read("/bench/k0")
else:
    import etcd

    client = etcd.Client(host=host, port=port)
    read = lambda: client.read("/bench/k0")

latencies = []
deadline = time.perf_counter() + seconds
start = time.perf_counter()
while time.perf_counter() < deadline:
    t = time.perf_counter()
    read()
    latencies.append(time.perf_counter() - t)
elapsed = time.perf_counter() - start
latencies.sort()
print(json.dumps({
    "ops": len(latencies),
    "ops_per_sec": len(latencies) / elapsed,
    "p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
}))
