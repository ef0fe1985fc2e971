#!/usr/bin/env python3
"""One-shot wall time of `rsetcd CMD` against `etcdctl CMD` (v3): alternating pairs A B A B,
the ratio taken pair by pair; prints the medians.

usage: oneshot.py RSETCD ETCDCTL ENDPOINT PAIRS CMD...
"""
import os
import statistics
import subprocess
import sys
import time


def once(binary, endpoint, cmd):
    env = dict(os.environ, ETCDCTL_API="3")
    start = time.perf_counter()
    subprocess.run([binary, "--endpoints", endpoint] + cmd, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    rsetcd, etcdctl, endpoint, pairs = sys.argv[1:5]
    cmd = sys.argv[5:]
    ours, theirs, ratios = [], [], []
    for _ in range(3):  # warm the page cache
        once(rsetcd, endpoint, cmd)
        once(etcdctl, endpoint, cmd)
    for _ in range(int(pairs)):
        a = once(rsetcd, endpoint, cmd)
        b = once(etcdctl, endpoint, cmd)
        ours.append(a)
        theirs.append(b)
        ratios.append(a / b)
    print(f"{' '.join(cmd)}: rsetcd {statistics.median(ours) * 1000:.1f} ms, "
          f"etcdctl {statistics.median(theirs) * 1000:.1f} ms, "
          f"ratio {statistics.median(ratios):.2f}x ({pairs} pairs)")


if __name__ == "__main__":
    main()
