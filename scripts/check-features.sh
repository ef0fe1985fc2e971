#!/usr/bin/env bash
# Builds crates/rsetcd in every feature combination that makes sense and runs clippy on each
# (all targets: the library, its unit tests, the integration tests and examples whose
# `required-features` it has, all denied warnings), then the unit tests and doctests of the
# smallest combinations. The default features (everything) are tested in full by scripts/test.sh.
# Called by scripts/test.sh after its clippy step; alone: scripts/check-features.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# "default" = the defaults, "all" = --all-features (with `fuzzing`), else --no-default-features
# with the features listed.
combos=(
  v2
  v2,tls
  v2,dns
  v2,blocking
  v3
  v3,tls
  v2,v3
  default
  all
)
# The unit tests and doctests of these too: each client alone, and both without TLS.
tested=(v2 v3 v2,v3)

args() {
  case "$1" in
    default) ;;
    all) echo "--all-features" ;;
    *) echo "--no-default-features --features $1" ;;
  esac
}

start=$SECONDS
for combo in "${combos[@]}"; do
  echo "== rsetcd [$combo]: clippy --all-targets -D warnings"
  # shellcheck disable=SC2046
  cargo clippy -p rsetcd --all-targets --locked --quiet $(args "$combo") -- -D warnings
done
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for combo in "${tested[@]}"; do
  for kind in --lib --doc; do
    echo "== rsetcd [$combo]: cargo test $kind"
    # shellcheck disable=SC2046
    if ! cargo test -p rsetcd "$kind" --locked --quiet $(args "$combo") -- --test-threads=4 >"$log" 2>&1; then
      cat "$log"
      exit 1
    fi
    grep -E '^test result' "$log"
  done
done
echo "== feature combinations checked in $((SECONDS - start)) s"
