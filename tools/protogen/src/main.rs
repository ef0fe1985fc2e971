//! Regenerates `crates/rsetcd/src/v3/generated/*.rs` from the `.proto` files in
//! `crates/rsetcd/proto`, with protox (a protobuf compiler in Rust) and tonic-build: no `protoc`.
//!
//! Run `scripts/gen-v3-protos.sh` (or `cargo run --manifest-path tools/protogen/Cargo.toml`) from
//! the repository root, then commit the result.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let proto = root.join("crates/rsetcd/proto");
    let out = root.join("crates/rsetcd/src/v3/generated");
    std::fs::create_dir_all(&out)?;
    let files = [
        "mvccpb/kv.proto",
        "authpb/auth.proto",
        "etcdserverpb/rpc.proto",
        "v3lockpb/v3lock.proto",
        "v3electionpb/v3election.proto",
    ];
    let fds = protox::compile(files, [&proto])?;
    let mut config = prost_build::Config::new();
    config.bytes(["."]);
    tonic_build::configure()
        .build_server(false)
        .build_transport(false)
        .out_dir(&out)
        .compile_fds_with_config(config, fds)?;
    println!("generated into {}", out.display());
    Ok(())
}
