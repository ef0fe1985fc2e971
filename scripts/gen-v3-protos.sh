#!/usr/bin/env bash
# Regenerates the checked-in v3 gRPC code (crates/rsetcd/src/v3/generated) from crates/rsetcd/proto.
# Pure Rust (protox + tonic-build): no protoc needed. Normal builds never run this.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR=target/protogen cargo run --quiet --manifest-path tools/protogen/Cargo.toml
rustfmt --edition 2021 crates/rsetcd/src/v3/generated/*.rs
