#!/usr/bin/env bash
# Checks the MSRV the workspace declares (`rust-version` in Cargo.toml) against the checked-in
# Cargo.lock: fails when any locked dependency of a published crate (rsetcd, rsetcd-cli,
# rsetcd-testkit) declares a higher `rust-version`. It reads `cargo metadata --all-features`
# (every feature of every workspace crate, so every feature combination's dependencies) and
# follows normal and build dependencies on every platform (a Windows- or wasm-only dependency
# counts too). Dev-dependencies are what the workspace's own tests use, not what users build:
# they are listed, never fatal.
#
# The workspace's code itself is held to the MSRV by clippy's `incompatible_msrv` lint (on by
# default, denied by `cargo clippy -D warnings`), which flags std APIs stabilised after
# `rust-version` (README: "MSRV: how it is checked").
#
# The lock stays within the MSRV because the workspace uses `resolver = "3"`: `cargo update`
# picks the newest versions whose `rust-version` the workspace's allows.
#
# Usage: scripts/check-msrv.sh
set -euo pipefail
cd "$(dirname "$0")/.."

meta="$(mktemp)"
trap 'rm -f "$meta"' EXIT
cargo metadata --format-version 1 --locked --all-features >"$meta"
python3 - "$meta" <<'PY'
import json, sys

with open(sys.argv[1]) as f:
    meta = json.load(f)
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
published = ["rsetcd", "rsetcd-cli", "rsetcd-testkit"]


def version(text):
    parts = [int(x) for x in text.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))


def reach(root, kinds):
    """Every package `root` depends on through edges of `kinds`, then their normal and build
    dependencies."""
    seen, todo = set(), [(root, kinds)]
    while todo:
        pid, allowed = todo.pop()
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] in allowed for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
                seen.add(dep["pkg"])
                todo.append((dep["pkg"], (None, "build")))
    return seen


failed = False
for name in published:
    root = next(p for p in meta["workspace_members"] if packages[p]["name"] == name)
    msrv = packages[root].get("rust_version")
    if not msrv:
        print(f"{name}: no rust-version declared")
        failed = True
        continue
    used = reach(root, (None, "build"))
    dev = reach(root, ("dev",)) - used
    highest = (0, 0, 0)
    for kind, pids in (("dependency", used), ("dev-dependency", dev)):
        for pid in sorted(pids, key=lambda i: packages[i]["name"]):
            p = packages[pid]
            rv = p.get("rust_version")
            if not rv:
                continue
            if kind == "dependency":
                highest = max(highest, version(rv))
            if version(rv) > version(msrv):
                print(f"{name}: {kind} {p['name']} {p['version']} needs Rust {rv} > {msrv}")
                failed = failed or kind == "dependency"
    print(
        f"{name}: rust-version {msrv}; {len(used)} locked dependencies, the highest "
        f"rust-version among them {'.'.join(map(str, highest))}"
    )
sys.exit(1 if failed else 0)
PY
