#!/usr/bin/env bash
# Installs Debian's etcd server and client (etcd, etcdctl), and openssl for the TLS tests, when they
# are not on PATH.
# Idempotent and quiet when everything is there.
set -euo pipefail

missing=()
command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || missing+=(etcd-client)
# The TLS tests make one RSA client key with openssl (ring cannot generate RSA keys).
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
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
