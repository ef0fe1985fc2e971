#!/usr/bin/env python3
"""Side-by-side client benchmarks against one local etcd, in one run.

Called by scripts/bench-compare.sh, which starts etcd and installs the tools. Each workload runs
rsetcd and the other clients alternately (A B A B ...) and reports medians, because the machine is
shared and noisy. Prints a Markdown table and writes BENCHMARKS.md's generated section.
"""

import argparse
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_wrk(url, clients, seconds, script=None):
    threads = 1 if clients == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    before = child_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = child_cpu() - before
    n = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = parse_wrk_latency(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"wrk saw {errors.group(1)} error answers: {' '.join(cmd)}")
    return {"ops": rate, "p99_us": p99, "cpu_per_1k": cpu * 1000 / max(n, 1)}


def parse_wrk_latency(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 1, "ms": 1000, "s": 1_000_000}[unit]


def run_rsetcd(rsetcd, endpoint, workload, clients, seconds, extra=(), threads=None, backend=None):
    # The same threads as wrk: one for one client, two (one per core) otherwise.
    if threads is None:
        threads = 1 if clients == 1 else 2
    # The v2 client's backend (--v2-backend: http, v3:<prefix>), for `--api v2` workloads.
    chosen = ["--v2-backend", backend] if backend else []
    cmd = [rsetcd, "--endpoints", endpoint, "--no-sync", *chosen, "bench", workload, "--clients", str(clients),
           "--threads", str(threads), "--duration", f"{seconds}s", "--json", *extra]
    # The v2 flags (--no-sync): the v2 command line.
    env = dict(os.environ, ETCDCTL_API="2")
    r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout)
    if r.get("errors"):
        sys.exit(f"rsetcd bench saw {r['errors']} errors: {' '.join(cmd)}")
    return {"ops": r["ops_per_sec"], "p99_us": r["latency"]["p99_us"], "cpu_per_1k": r["cpu_secs_per_1k_ops"], "raw": r}


def compact(endpoint):
    """Compacts etcd's v3 history up to now, physically, as a real cluster's auto-compaction would.
    etcd 3.4's transactions slow down as uncompacted history grows (45k -> 11k txn/s here after
    800k puts), so without it each v3 run would meet a slower server than the run before it."""
    env = dict(os.environ, ETCDCTL_API="3")
    status = subprocess.run(["etcdctl", "--endpoints", endpoint, "endpoint", "status", "-w", "json"],
                            env=env, capture_output=True, text=True, check=True).stdout
    revision = json.loads(status)[0]["Status"]["header"]["revision"]
    done = subprocess.run(["etcdctl", "--endpoints", endpoint, "compact", "--physical", str(revision)],
                          env=env, capture_output=True, text=True)
    # Nothing written since the last compaction: already compacted to this revision.
    if done.returncode != 0 and "compacted" not in done.stderr:
        sys.exit(f"etcdctl compact failed: {done.stderr.strip()}")


def run_etcd_client(binary, endpoint, workload, clients, seconds):
    out = subprocess.run([binary, workload, endpoint, str(clients), str(seconds)],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    if r.get("errors"):
        sys.exit(f"etcd-client bench saw {r['errors']} errors")
    return {"ops": r["ops_per_sec"], "p99_us": r["latency"]["p99_us"], "cpu_per_1k": r["cpu_secs_per_1k_ops"]}


def run_python(venv, driver, library, endpoint, seconds, threads=1):
    host, port = endpoint.split("://")[1].split(":")
    before = child_cpu()
    out = subprocess.run([f"{venv}/bin/python", driver, library, host, port, str(seconds), str(threads)],
                         capture_output=True, text=True, check=True).stdout
    cpu = child_cpu() - before
    r = json.loads(out)
    return {"ops": r["ops_per_sec"], "p99_us": r["p99_us"], "cpu_per_1k": cpu * 1000 / max(r["ops"], 1)}


def delayed_threads(a, here, ep, secs):
    """1 against 8 callers sharing one client behind a proxy that holds every answer 1 ms: on one
    loopback machine etcd's CPU bounds every client at once, so whether threads overlap their waits
    shows only where the wait is the network's. Python threads (rsetcd-py) and, for reference,
    rsetcd's own tasks; alternating rounds."""
    proxy = subprocess.Popen([a.delay_proxy, ep, "1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        url = proxy.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"delay_proxy printed {url!r}")
        runs = {"py1": [], "py8": [], "rs1": [], "rs8": []}
        for _ in range(a.rounds):
            runs["py1"].append(run_python(a.rsetcd_py_venv, f"{here}/python_get.py", "rsetcd-py", url, secs, 1))
            runs["py8"].append(run_python(a.rsetcd_py_venv, f"{here}/python_get.py", "rsetcd-py", url, secs, 8))
            runs["rs1"].append(run_rsetcd(a.rsetcd, url, "get", 1, secs, ["--keys", "1"], threads=1))
            runs["rs8"].append(run_rsetcd(a.rsetcd, url, "get", 8, secs, ["--keys", "1"], threads=1))
        return {k: {m: median(v, m) for m in ("ops", "p99_us", "cpu_per_1k")} for k, v in runs.items()}
    finally:
        proxy.stdin.close()
        proxy.wait(timeout=10)


def one_shot(command, runs, stdin=None):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(command, capture_output=True, check=True, input=stdin)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


# The one-shot v3 commands (issue 17): name, arguments, standard input.
ONE_SHOT_V3 = [
    ("get", ["get", "/bench/k0"], None),
    ("put", ["put", "/bench/k1", "v"], None),
    ("txn", ["txn"], b'mod("/bench/k1") > "0"\n\nput /bench/k1 a\n\nput /bench/k1 b\n\n'),
    ("endpoint status", ["endpoint", "status"], None),
    ("member list", ["member", "list"], None),
]


def median(results, key):
    return statistics.median(r[key] for r in results)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True, help="etcd on tmpfs (fsync nearly free)")
    p.add_argument("--fsync-endpoint", required=True, help="etcd with its data on disk")
    p.add_argument("--rsetcd", required=True)
    p.add_argument("--pyetcd-venv", required=True)
    p.add_argument("--python-etcd-venv", required=True)
    p.add_argument("--rsetcd-py-venv", help="a venv with crates/rsetcd-py installed (release build)")
    p.add_argument("--seconds", type=int, default=3)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--etcd-client-bench", help="bench/etcd-client-bench's binary (needed but for --only-python)")
    p.add_argument("--emulated-endpoint", help="etcd (tmpfs) serving v2 through its own emulation")
    p.add_argument("--emulation-prefix", default="/v2emu", help="its --experimental-enable-v2v3 prefix")
    p.add_argument("--delay-proxy", help="the test kit's delay_proxy example (answers held 1 ms)")
    p.add_argument("--only-python", action="store_true",
                   help="only the Python rows (sequential get, threads); print them, write nothing")
    p.add_argument("--out", default="BENCHMARKS.md")
    a = p.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    ep, secs = a.endpoint, a.seconds

    # Keys the workloads use.
    subprocess.run(["curl", "-fsS", "-XPUT", f"{ep}/v2/keys/bench/k0", "-d", "value=" + "v" * 16], check=True, capture_output=True)
    subprocess.run(["curl", "-fsS", "-XPUT", f"{ep}/v2/keys/bench/cas", "-d", "value=" + "v" * 16], check=True, capture_output=True)

    rows = []
    workloads = [
        ("get", 1, ep, f"{ep}/v2/keys/bench/k0", None, ["--keys", "1"]),
        ("get", 64, ep, f"{ep}/v2/keys/bench/k0", None, ["--keys", "1"]),
        ("set", 1, ep, f"{ep}/v2/keys/bench/k0", f"{here}/put.lua", ["--keys", "1"]),
        ("set", 64, ep, f"{ep}/v2/keys/bench/k0", f"{here}/put.lua", ["--keys", "64"]),
        ("cas", 1, ep, f"{ep}/v2/keys/bench/cas", f"{here}/cas.lua", []),
        ("cas", 64, ep, f"{ep}/v2/keys/bench/cas", f"{here}/cas.lua", []),
        ("set (fsync)", 1, a.fsync_endpoint, f"{a.fsync_endpoint}/v2/keys/bench/k0", f"{here}/put.lua", ["--keys", "1"]),
        ("set (fsync)", 64, a.fsync_endpoint, f"{a.fsync_endpoint}/v2/keys/bench/k0", f"{here}/put.lua", ["--keys", "64"]),
    ]
    if a.only_python:
        workloads = workloads[:1]
    elif not a.etcd_client_bench:
        p.error("--etcd-client-bench is needed")
    for name, clients, endpoint, url, script, extra in workloads:
        ours, wrk, py = [], [], []
        # Sequential get: rsetcd-py (Python through the Rust core) in the same alternating rounds
        # as rsetcd's own sequential get, so their ratio sees the same machine.
        with_py = name == "get" and clients == 1 and a.rsetcd_py_venv
        for _ in range(a.rounds):
            wrk.append(run_wrk(url, clients, secs, script))
            ours.append(run_rsetcd(a.rsetcd, endpoint, name.split()[0], clients, secs, extra))
            if with_py:
                py.append(run_python(a.rsetcd_py_venv, f"{here}/python_get.py", "rsetcd-py", ep, secs))
        row = {"workload": name, "clients": clients,
               "rsetcd": {k: median(ours, k) for k in ("ops", "p99_us", "cpu_per_1k")},
               "wrk": {k: median(wrk, k) for k in ("ops", "p99_us", "cpu_per_1k")}}
        if with_py:
            row["rsetcd-py"] = {k: median(py, k) for k in ("ops", "p99_us", "cpu_per_1k")}
            # 8 Python threads sharing one client against one thread, alternately.
            one, eight = [], []
            for _ in range(a.rounds):
                one.append(run_python(a.rsetcd_py_venv, f"{here}/python_get.py", "rsetcd-py", ep, secs, 1))
                eight.append(run_python(a.rsetcd_py_venv, f"{here}/python_get.py", "rsetcd-py", ep, secs, 8))
            row["rsetcd-py 1 thread"] = {k: median(one, k) for k in ("ops", "p99_us", "cpu_per_1k")}
            row["rsetcd-py 8 threads"] = {k: median(eight, k) for k in ("ops", "p99_us", "cpu_per_1k")}
            if a.delay_proxy:
                row["delayed"] = delayed_threads(a, here, ep, secs)
        if name == "get" and clients == 1:
            for lib, venv in (("pyetcd", a.pyetcd_venv), ("python-etcd", a.python_etcd_venv)):
                runs = []
                for _ in range(a.rounds):
                    runs.append(run_python(venv, f"{here}/python_get.py", lib, ep, secs))
                row[lib] = {k: median(runs, k) for k in ("ops", "p99_us", "cpu_per_1k")}
        rows.append(row)
        print(f"{name:12} c={clients:<3} rsetcd {row['rsetcd']['ops']:9.0f} ops/s   wrk {row['wrk']['ops']:9.0f} ops/s", file=sys.stderr)
        if "rsetcd-py" in row:
            print(f"{'':12} rsetcd-py {row['rsetcd-py']['ops']:9.0f} ops/s; 1 / 8 threads {row['rsetcd-py 1 thread']['ops']:.0f} / {row['rsetcd-py 8 threads']['ops']:.0f} ops/s", file=sys.stderr)

    if a.only_python:
        print("\n".join(python_table(rows)))
        return

    # v3: rsetcd::v3 against the etcd-client crate, both on one single-threaded runtime.
    v3_rows = []
    for name, clients, extra in [("get", 1, ["--keys", "1"]), ("get", 64, ["--keys", "1"]),
                                 ("set", 1, ["--keys", "1"]), ("set", 64, ["--keys", "64"]),
                                 ("cas", 1, []), ("cas", 64, [])]:
        ours, theirs = [], []
        for _ in range(a.rounds):
            compact(ep)
            theirs.append(run_etcd_client(a.etcd_client_bench, ep, name, clients, secs))
            compact(ep)
            ours.append(run_rsetcd(a.rsetcd, ep, name, clients, secs, ["--api", "v3", *extra], threads=1))
        row = {"workload": name, "clients": clients,
               "rsetcd": {k: median(ours, k) for k in ("ops", "p99_us", "cpu_per_1k")},
               "etcd-client": {k: median(theirs, k) for k in ("ops", "p99_us", "cpu_per_1k")}}
        v3_rows.append(row)
        print(f"v3 {name:9} c={clients:<3} rsetcd {row['rsetcd']['ops']:9.0f} ops/s   etcd-client {row['etcd-client']['ops']:9.0f} ops/s", file=sys.stderr)

    # The v2 API over v3 (rsetcd's engine, `--v2-backend v3:<prefix>`) against native v2 on the same
    # server (rsetcd's HTTP backend), and against etcd's own emulation of v2 on v3
    # (--experimental-enable-v2v3, measured with wrk on its /v2/keys) with the engine under the
    # emulation's prefix on that same server. History compacted before each v3-backed run.
    over_v3_rows = []
    emu = a.emulated_endpoint
    if emu:
        for key in ("k0", "cas"):
            subprocess.run(["curl", "-fsS", "-XPUT", f"{emu}/v2/keys/bench/{key}", "-d", "value=" + "v" * 16],
                           check=True, capture_output=True)
    for name, clients, script, extra in [("get", 1, None, ["--keys", "1"]), ("get", 64, None, ["--keys", "1"]),
                                         ("set", 1, "put.lua", ["--keys", "1"]), ("set", 64, "put.lua", ["--keys", "64"]),
                                         ("cas", 1, "cas.lua", []), ("cas", 64, "cas.lua", [])]:
        native, engine, emulation, engine_emu = [], [], [], []
        key = "cas" if name == "cas" else "k0"
        for _ in range(a.rounds):
            native.append(run_rsetcd(a.rsetcd, ep, name, clients, secs, extra, backend="http"))
            compact(ep)
            engine.append(run_rsetcd(a.rsetcd, ep, name, clients, secs, extra, backend="v3:/bench-v2v3"))
            if emu:
                compact(emu)
                emulation.append(run_wrk(f"{emu}/v2/keys/bench/{key}", clients, secs,
                                         f"{here}/{script}" if script else None))
                compact(emu)
                engine_emu.append(run_rsetcd(a.rsetcd, emu, name, clients, secs, extra,
                                             backend=f"v3:{a.emulation_prefix}"))
        row = {"workload": name, "clients": clients,
               "native": {k: median(native, k) for k in ("ops", "p99_us", "cpu_per_1k")},
               "over_v3": {k: median(engine, k) for k in ("ops", "p99_us", "cpu_per_1k")}}
        if emu:
            row["emulation"] = {k: median(emulation, k) for k in ("ops", "p99_us", "cpu_per_1k")}
            row["over_v3_emu"] = {k: median(engine_emu, k) for k in ("ops", "p99_us", "cpu_per_1k")}
        over_v3_rows.append(row)
        emu_text = f"   emulation (wrk) {row['emulation']['ops']:9.0f}   engine there {row['over_v3_emu']['ops']:9.0f}" if emu else ""
        print(f"v2/v3 {name:7} c={clients:<3} native v2 {row['native']['ops']:9.0f}   over v3 {row['over_v3']['ops']:9.0f}{emu_text} ops/s", file=sys.stderr)

    # Watch: 5,000 watchers, 500 events/s, v2 and v3.
    watch = []
    for _ in range(a.rounds):
        for api in ("v2", "v3"):
            watch.append(run_rsetcd(a.rsetcd, ep, "watch", 1, secs, ["--api", api, "--watchers", "5000", "--rate", "500", "--total", str(500 * secs)])["raw"] | {"api": api})
    # One-shot command latency: the whole process, etcdctl (v2 get; v3 get, put, txn, endpoint
    # status, member list) against rsetcd.
    env_get = ["--endpoints", ep, "get", "/bench/k0"]
    times = {k: [] for k in ("etcdctl2", "rsetcd2")}
    for name, _, _ in ONE_SHOT_V3:
        times[("etcdctl3", name)] = []
        times[("rsetcd3", name)] = []
    for _ in range(a.rounds):
        times["etcdctl2"].append(one_shot(["env", "ETCDCTL_API=2", "etcdctl", *env_get], 15))
        times["rsetcd2"].append(one_shot(["env", "ETCDCTL_API=2", a.rsetcd, *env_get], 15))
        for name, args, stdin in ONE_SHOT_V3:
            times[("etcdctl3", name)].append(one_shot(["env", "ETCDCTL_API=3", "etcdctl", "--endpoints", ep, *args], 15, stdin))
            times[("rsetcd3", name)].append(one_shot([a.rsetcd, "--endpoints", ep, *args], 15, stdin))
    one_shots = {k: statistics.median(v) for k, v in times.items()}

    write_report(a, rows, v3_rows, over_v3_rows, watch, one_shots)


def fmt_ratio(x):
    return f"{x:.2f}×"


def over_v3_table(rows):
    """The v2-over-v3 rows: the engine against native v2 (both rsetcd, same server) and against
    etcd's emulation (wrk), with the engine on the emulating server."""
    out = ["", "| v2 over v3 | clients | native v2 ops/s (rsetcd HTTP) | over v3 ops/s (rsetcd engine) | over v3 / native | "
           "emulation ops/s (wrk) | engine on that node ops/s | engine / emulation | native p99 µs | over v3 p99 µs | emulation p99 µs |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        n, o = r["native"], r["over_v3"]
        e, oe = r.get("emulation"), r.get("over_v3_emu")
        emu = (f"{e['ops']:.0f} | {oe['ops']:.0f} | {fmt_ratio(oe['ops'] / e['ops'])}" if e else "– | – | –")
        out.append(f"| {r['workload']} | {r['clients']} | {n['ops']:.0f} | {o['ops']:.0f} | {fmt_ratio(o['ops'] / n['ops'])} | "
                   f"{emu} | {n['p99_us']:.0f} | {o['p99_us']:.0f} | {e['p99_us'] if e else 0:.0f} |")
    return out


def python_table(rows):
    """The Python rows: sequential reads of each client, rsetcd-py's overhead and its threads."""
    get1 = rows[0]
    py = ["", "| sequential get (1 client) | ops/s | p99 µs | CPU s/1k ops | rsetcd's ratio | rsetcd-py's ratio |", "|---|---|---|---|---|---|"]
    rpy = get1.get("rsetcd-py")
    def py_ratio(r):
        return fmt_ratio(rpy["ops"] / r["ops"]) if rpy else "–"
    py.append(f"| rsetcd (Rust) | {get1['rsetcd']['ops']:.0f} | {get1['rsetcd']['p99_us']:.0f} | {get1['rsetcd']['cpu_per_1k']:.4f} | 1.00× | {py_ratio(get1['rsetcd'])} |")
    if rpy:
        py.append(f"| rsetcd-py (`import pyetcd`, Python on rsetcd) | {rpy['ops']:.0f} | {rpy['p99_us']:.0f} | {rpy['cpu_per_1k']:.4f} | {fmt_ratio(get1['rsetcd']['ops'] / rpy['ops'])} | 1.00× |")
    for lib in ("pyetcd", "python-etcd"):
        r = get1[lib]
        py.append(f"| {lib} | {r['ops']:.0f} | {r['p99_us']:.0f} | {r['cpu_per_1k']:.4f} | {fmt_ratio(get1['rsetcd']['ops'] / r['ops'])} | {py_ratio(r)} |")
    if rpy:
        one, eight = get1["rsetcd-py 1 thread"], get1["rsetcd-py 8 threads"]
        overhead = 1e6 / rpy["ops"] - 1e6 / get1["rsetcd"]["ops"]
        cpu_overhead = (rpy["cpu_per_1k"] - get1["rsetcd"]["cpu_per_1k"]) * 1000
        py += ["", "| rsetcd-py | value |", "|---|---|",
               f"| sequential read vs rsetcd's sequential Rust get | {fmt_ratio(rpy['ops'] / get1['rsetcd']['ops'])} (target ≥ 0.85×) |",
               f"| Python call overhead per operation (time: 1/py − 1/rust) | {overhead:.1f} µs |",
               f"| Python call overhead per operation (client CPU) | {cpu_overhead:.1f} µs |",
               f"| 1 thread / 8 threads sharing one client | {one['ops']:.0f} / {eight['ops']:.0f} ops/s (p99 {one['p99_us']:.0f} / {eight['p99_us']:.0f} µs) |",
               f"| 8 threads vs 1 | {fmt_ratio(eight['ops'] / one['ops'])} (target ≥ 3×; etcd's CPU bounds every client here) |"]
        d = get1.get("delayed")
        if d:
            py += [f"| behind a proxy holding each answer 1 ms: 1 / 8 threads | {d['py1']['ops']:.0f} / {d['py8']['ops']:.0f} ops/s |",
                   f"| behind it: 8 threads vs 1 | {fmt_ratio(d['py8']['ops'] / d['py1']['ops'])} (target ≥ 3×) |",
                   f"| behind it: rsetcd (Rust) 8 tasks vs 1 | {fmt_ratio(d['rs8']['ops'] / d['rs1']['ops'])} ({d['rs1']['ops']:.0f} / {d['rs8']['ops']:.0f} ops/s) |"]
    return py


def write_report(a, rows, v3_rows, over_v3_rows, watch, one_shots):
    lines = ["| workload | clients | rsetcd ops/s | wrk ops/s | rsetcd / wrk | rsetcd p99 µs | wrk p99 µs | rsetcd CPU s/1k ops | wrk CPU s/1k ops | CPU ratio |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        o, w = r["rsetcd"], r["wrk"]
        lines.append(f"| {r['workload']} | {r['clients']} | {o['ops']:.0f} | {w['ops']:.0f} | {fmt_ratio(o['ops'] / w['ops'])} | "
                     f"{o['p99_us']:.0f} | {w['p99_us']:.0f} | {o['cpu_per_1k']:.4f} | {w['cpu_per_1k']:.4f} | {fmt_ratio(o['cpu_per_1k'] / w['cpu_per_1k'])} |")
    py = python_table(rows)
    v3 = ["", "| v3 workload | in flight | rsetcd ops/s | etcd-client ops/s | rsetcd / etcd-client | rsetcd p99 µs | etcd-client p99 µs | rsetcd CPU s/1k ops | etcd-client CPU s/1k ops | CPU ratio |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for r in v3_rows:
        o, e = r["rsetcd"], r["etcd-client"]
        v3.append(f"| {r['workload']} | {r['clients']} | {o['ops']:.0f} | {e['ops']:.0f} | {fmt_ratio(o['ops'] / e['ops'])} | "
                  f"{o['p99_us']:.0f} | {e['p99_us']:.0f} | {o['cpu_per_1k']:.4f} | {e['cpu_per_1k']:.4f} | {fmt_ratio(o['cpu_per_1k'] / e['cpu_per_1k'])} |")
    wl = ["", "| watch | api | watchers | events | missed | p50 µs | p99 µs | p99.9 µs | memory per watcher |", "|---|---|---|---|---|---|---|---|---|"]
    for r in watch:
        l = r["latency"]
        wl.append(f"| 500 events/s | {r['api']} | {r['watchers']} | {r['ops']} | {r['missed_events']} | {l['p50_us']} | {l['p99_us']} | {l['p999_us']} | {r['memory_per_watcher_bytes'] / 1024:.1f} KiB |")
    o = one_shots
    one = ["", "| one-shot `get /bench/k0` (whole process, median of 15 × rounds) | wall time |", "|---|---|",
           f"| `ETCDCTL_API=2 etcdctl get` | {o['etcdctl2'] * 1000:.1f} ms |",
           f"| `rsetcd get` | {o['rsetcd2'] * 1000:.1f} ms ({fmt_ratio(o['rsetcd2'] / o['etcdctl2'])} of etcdctl) |",
           "", "| one-shot v3 command (whole process, median of 15 × rounds) | rsetcd | `ETCDCTL_API=3 etcdctl` (Debian's) | ratio |",
           "|---|---|---|---|"]
    for name, _, _ in ONE_SHOT_V3:
        ours, theirs = o[("rsetcd3", name)], o[("etcdctl3", name)]
        one.append(f"| `{name}` | {ours * 1000:.1f} ms | {theirs * 1000:.1f} ms | {fmt_ratio(ours / theirs)} |")
    table = "\n".join(lines + py + v3 + over_v3_table(over_v3_rows) + wl + one)
    print(table)
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {
        "etcd": subprocess.run(["etcd", "--version"], capture_output=True, text=True).stdout.splitlines()[0],
        "wrk": subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0],
        "rsetcd": subprocess.run([a.rsetcd, "--version"], capture_output=True, text=True).stdout.strip(),
    }
    section = f"""<!-- generated by scripts/bench-compare.sh: everything between these markers is rewritten -->
Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.cpu_count()} cores ({cpu}), {platform.platform()};
etcd, the clients and the load generator share the machine. {versions['etcd']}; {versions['wrk']}; {versions['rsetcd']}.
Medians of {a.rounds} alternating rounds of {a.seconds} s each (v3: rsetcd and etcd-client each on one single-threaded runtime, etcd's
history compacted before each run). The tmpfs etcd stands in for `--unsafe-no-fsync`,
which etcd 3.4.23 does not have; the `(fsync)` rows use a data directory on disk.

{table}
<!-- end of generated section -->"""
    try:
        with open(a.out) as f:
            text = f.read()
    except OSError:
        text = "# Benchmarks\n\n<!-- generated -->\n"
    start = text.find("<!-- generated")
    end = text.find("<!-- end of generated section -->")
    if start == -1:
        text = text.rstrip() + "\n\n" + section + "\n"
    else:
        end = len(text) if end == -1 else end + len("<!-- end of generated section -->")
        text = text[:start] + section + text[end:]
    with open(a.out, "w") as f:
        f.write(text)
    print(f"\nwritten to {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
