#!/usr/bin/env bash
# Runs each fuzz target (fuzz/fuzz_targets) for a bounded time with cargo-fuzz (libFuzzer, ASan):
#   scripts/fuzz.sh [SECONDS per target, default 60] [TARGET...]
# Targets: v2_wire (the v2 HTTP/1.1 reader), v2_answer (the v2 answer parser), grpc_framing (a
# unary gRPC answer's framing, through a real v3 client and an in-process HTTP/2 server).
# A crash leaves its input in fuzz/artifacts/TARGET/; the script exits 1 if any target crashed.
#
# cargo-fuzz passes nightly flags (-Z sanitizer, -Z ...) to rustc; only a stable toolchain is
# installed here, so RUSTC_BOOTSTRAP=1 lets stable rustc accept them.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(v2_wire v2_answer grpc_framing)
fi

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$PWD/fuzz/target}"

failed=()
for t in "${targets[@]}"; do
    corpus="fuzz/corpus/$t"
    artifacts="fuzz/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    # Seeds (checked in) start the corpus; what the fuzzer adds stays out of git.
    if [ -d "fuzz/seeds/$t" ]; then
        cp -n "fuzz/seeds/$t"/* "$corpus"/ 2>/dev/null || true
    fi
    echo "== fuzz $t for ${secs}s"
    if ! cargo fuzz run --fuzz-dir fuzz "$t" "$corpus" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$artifacts/" -print_final_stats=1; then
        failed+=("$t")
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]} (inputs in fuzz/artifacts/)"
    exit 1
fi
echo "no crash in ${targets[*]}"
