#!/usr/bin/env python3
"""One-shot wall time of `rsetcd CMD` against `etcdctl CMD` (v3): alternating pairs A B A B,
the ratio taken pair by pair; prints the medians.

usage: oneshot.py [--stdin FILE] RSETCD ETCDCTL ENDPOINT PAIRS CMD...

--stdin FILE: each run reads FILE on its standard input (e.g. `txn`'s three sections), opened
by this script, so neither side pays for a shell. Without it, standard input is empty.
"""
import os
import statistics
import subprocess
import sys
import time


def once(binary, endpoint, cmd, stdin_path=None):
    env = dict(os.environ, ETCDCTL_API="3")
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        start = time.perf_counter()
        subprocess.run([binary, "--endpoints", endpoint] + cmd, env=env, check=True,
                       stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start
    finally:
        if stdin_path:
            stdin.close()


def main():
    args = sys.argv[1:]
    stdin_path = None
    if args[:1] == ["--stdin"]:
        stdin_path, args = args[1], args[2:]
    if len(args) < 5:
        sys.exit(__doc__)
    rsetcd, etcdctl, endpoint, pairs = args[:4]
    cmd = args[4:]
    ours, theirs, ratios = [], [], []
    for _ in range(3):  # warm the page cache
        once(rsetcd, endpoint, cmd, stdin_path)
        once(etcdctl, endpoint, cmd, stdin_path)
    for _ in range(int(pairs)):
        a = once(rsetcd, endpoint, cmd, stdin_path)
        b = once(etcdctl, endpoint, cmd, stdin_path)
        ours.append(a)
        theirs.append(b)
        ratios.append(a / b)
    print(f"{' '.join(cmd)}: rsetcd {statistics.median(ours) * 1000:.1f} ms, "
          f"etcdctl {statistics.median(theirs) * 1000:.1f} ms, "
          f"ratio {statistics.median(ratios):.2f}x ({pairs} pairs)")


if __name__ == "__main__":
    main()
