#!/usr/bin/env bash
# Checks that the workspace's crates can be published to crates.io as they are, and that what
# crates.io would get builds, tests included:
#
#  1. metadata: each published crate has a description, license, repository, homepage,
#     documentation, readme, keywords and categories; rsetcd-py is `publish = false` (a Python
#     package: maturin builds it into a wheel; as a crate it is a cdylib no Rust program can use);
#  2. `cargo publish --dry-run` of rsetcd-testkit, rsetcd and rsetcd-cli together: each is
#     packaged and the package is built from the tarball alone (lib and binaries). Crates that
#     depend on workspace crates not yet on crates.io (rsetcd-cli on rsetcd and rsetcd-testkit,
#     rsetcd's tests on rsetcd-testkit) are verified against the packaged ones, which cargo (1.90
#     and later) serves from a temporary local registry; every other dependency comes from the
#     registry, or from the local cache with --offline (then `cargo package`, which verifies
#     the same way: `publish --dry-run` asks the registry about the crate, even dry);
#  3. the tarballs (`cargo package --no-verify`): each ships Cargo.toml, README.md, LICENSE-MIT
#     and LICENSE-APACHE; its README names no script (scripts/ is not shipped) and shows no
#     rustdoc-hidden `# ` line in a Rust block; rsetcd keeps its rsetcd-testkit dev-dependency;
#  4. each tarball, unpacked on its own outside the workspace, passes `cargo check
#     --all-targets` (tests, examples, benches too: `publish --dry-run` builds only the library
#     and binaries), with the other workspace crates taken from their tarballs (`[patch]`).
#
# Usage: scripts/check-publish.sh [--offline]
set -euo pipefail
cd "$(dirname "$0")/.."

net=()
if [ "${1:-}" = --offline ]; then net=(--offline); fi
published=(rsetcd-testkit rsetcd rsetcd-cli) # in dependency order
not_published=(rsetcd-py)

meta=$(cargo metadata --format-version 1 --no-deps --locked "${net[@]}")
field() { # field CRATE EXPR: a value of the crate's `cargo metadata` entry, as Python sees it
  python3 -c 'import json, sys
crate, expr = sys.argv[1], sys.argv[2]
p = next(p for p in json.load(sys.stdin)["packages"] if p["name"] == crate)
v = eval(expr, {"p": p})
print(v if not isinstance(v, list) else " ".join(map(str, v)))' "$1" "$2" <<<"$meta"
}
target=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])' <<<"$meta")/publish-check
# Its own target directory, and no earlier copy of the three crates from the temporary registry
# that serves the packaged crates: cargo takes a registry crate as never changing, so an rsetcd
# 0.1.0 unpacked (under CARGO_HOME, one directory per registry, named "-<hash>" for a local one)
# or built from an older tarball would be reused as it is.
rm -rf "$target/package" "$target"/debug/.fingerprint/rsetcd* "$target"/debug/deps/*rsetcd* \
  "$target"/debug/build/rsetcd* "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/rsetcd*
export CARGO_TARGET_DIR="$target"
fail() { echo "check-publish: $*" >&2; exit 1; }

echo "== metadata"
for c in "${published[@]}"; do
  for f in description license repository homepage documentation readme; do
    [ -n "$(field "$c" "p['$f'] or ''")" ] || fail "$c has no $f"
  done
  [ -n "$(field "$c" "p['keywords']")" ] || fail "$c has no keywords"
  [ -n "$(field "$c" "p['categories']")" ] || fail "$c has no categories"
  case "$(field "$c" "p['repository']")" in *example.invalid*) fail "$c: placeholder repository" ;; esac
  echo "$c $(field "$c" "p['version']"): $(field "$c" "p['description']")"
done
for c in "${not_published[@]}"; do
  [ "$(field "$c" "p['publish'] == []")" = True ] || fail "$c should be publish = false"
  echo "$c: publish = false (a Python package, shipped as a wheel)"
done

pkgs=()
for c in "${published[@]}"; do pkgs+=(-p "$c"); done
if [ ${#net[@]} -eq 0 ]; then
  echo "== cargo publish --dry-run (each package built from its tarball)"
  cargo publish --dry-run --allow-dirty --locked "${pkgs[@]}"
else
  # `publish --dry-run` asks the registry about the crate even when dry: offline, `cargo package`
  # does the same packaging and verification without that question.
  echo "== cargo package, offline (each package built from its tarball)"
  cargo package --allow-dirty --locked "${net[@]}" "${pkgs[@]}"
fi

echo "== the tarballs' contents"
cargo package --no-verify --allow-dirty --locked "${net[@]}" "${pkgs[@]}" --quiet
work=$(mktemp -d -t rsetcd-publish-XXXXXX)
trap 'rm -rf "$work"' EXIT
for c in "${published[@]}"; do
  v=$(field "$c" "p['version']")
  tarball="$target/package/$c-$v.crate"
  [ -f "$tarball" ] || fail "no $tarball"
  tar -xzf "$tarball" -C "$work"
  dir="$work/$c-$v"
  for f in Cargo.toml README.md LICENSE-MIT LICENSE-APACHE; do
    [ -s "$dir/$f" ] || fail "$c's package has no $f"
  done
  if grep -n 'scripts/' "$dir/README.md"; then fail "$c's README names a script that is not shipped"; fi
  # A line starting with "# " inside a ```rust block would show literally on crates.io.
  if awk '/^```/{inblock = !inblock && ($0 ~ /^```rust/); next} inblock && /^[[:space:]]*# /{print FILENAME": "$0; found=1} END{exit !found}' "$dir/README.md"; then
    fail "$c's README shows rustdoc-hidden lines"
  fi
  echo "$c: $(tar -tzf "$tarball" | wc -l) files"
done
grep -q '^\[dev-dependencies.rsetcd-testkit\]' "$work/rsetcd-$(field rsetcd "p['version']")/Cargo.toml" ||
  fail "the packaged rsetcd lost its rsetcd-testkit dev-dependency (a path dependency needs a version)"

echo "== the tarballs' tests, examples and benches build (cargo check --all-targets, outside the workspace)"
for c in "${published[@]}"; do
  dir="$work/$c-$(field "$c" "p['version']")"
  patches=()
  for other in "${published[@]}"; do
    [ "$other" = "$c" ] && continue
    patches+=(--config "patch.crates-io.$other.path=\"$work/$other-$(field "$other" "p['version']")\"")
  done
  # The patches resolve the workspace crates to their tarballs, so the packaged Cargo.lock (made
  # against the temporary registry) is updated: no --locked here.
  (cd "$dir" && cargo check --all-targets --quiet --target-dir "$target" "${net[@]}" "${patches[@]}")
  echo "$c: ok"
done
echo "check-publish: every published crate packages and builds (${published[*]}); not published: ${not_published[*]}"
