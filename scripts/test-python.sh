#!/usr/bin/env bash
# The Python package's tests (crates/rsetcd-py), from nothing: a fresh venv, the wheel built by
# `pip install ./crates/rsetcd-py` (maturin as the PEP 517 backend), pytest, mock and requests
# from PyPI, and pyetcd 1.11.1's sdist for its own tests. Runs, each against real etcd started
# by the tests (3-node clusters on loopback, temporary data dirs, stopped by PID):
#   1. pyetcd's unit tests that do not replace its internals: tests/unit/test_etcdresult.py and
#      the client-argument tests of tests/unit/test_client.py, unchanged;
#   2. pyetcd's functional tests (tests/functional/test_client.py), its hosts 10.0.3.10-12
#      rewritten to loopback addresses 127.N.3.10-12 where a 3-node cluster listens on 2379;
#   3. the package's own tests (crates/rsetcd-py/tests).
# Exits non-zero if any test fails.
#
#   scripts/test-python.sh                         # debug build of the extension (default)
#   RSETCD_PY_PROFILE=release scripts/test-python.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

scripts/install-etcd.sh
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
command -v openssl >/dev/null || { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssl >/dev/null; }
python3 -m venv --help >/dev/null 2>&1 || { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >/dev/null; }

work=$(mktemp -d -t rsetcd-py-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
profile=${RSETCD_PY_PROFILE:-dev}

echo "== venv, pytest, mock, requests"
python3 -m venv "$work/venv"
bin=$work/venv/bin
"$bin/pip" install -q --disable-pip-version-check pytest mock requests
echo "== pip install ./crates/rsetcd-py (profile $profile)"
MATURIN_PEP517_ARGS="--profile $profile" "$bin/pip" install -q --disable-pip-version-check ./crates/rsetcd-py
echo "== pyetcd 1.11.1's tests from its sdist"
"$bin/pip" download -q --disable-pip-version-check --no-binary :all: --no-deps -d "$work/sdist" pyetcd==1.11.1
tar xzf "$work/sdist/pyetcd-1.11.1.tar.gz" -C "$work/sdist"
# Only the tests: the sdist's own pyetcd package must not shadow the installed one.
cp -r "$work/sdist/pyetcd-1.11.1/tests" "$work/upstream"
(cd "$work/upstream" && "$bin/python" -c 'import pyetcd, pyetcd._native; print("pyetcd from", pyetcd.__file__)')

export RSETCD_PY_TESTS=$repo/crates/rsetcd-py/tests
pytest=("$bin/pytest" -q -p no:cacheprovider -o addopts= --rootdir "$work/upstream")
failed=0

echo "== pyetcd's unit tests (test_etcdresult.py, client arguments)"
(cd "$work/upstream" && "${pytest[@]}" unit/test_etcdresult.py \
  unit/test_client.py::test_client_defaults unit/test_client.py::test_client_hosts_str \
  unit/test_client.py::test_client_hosts_list unit/test_client.py::test_client_hosts_tuples \
  unit/test_client.py::test_client_raises_exception_if_unsupported_protocol) || failed=1

echo "== pyetcd's functional tests on a 3-node loopback cluster"
prefix="127.$((RANDOM % 200 + 20)).3."
sed "s/10\.0\.3\./$prefix/g" "$work/upstream/functional/test_client.py" >"$work/upstream/functional/test_client.py.new"
mv "$work/upstream/functional/test_client.py.new" "$work/upstream/functional/test_client.py"
cp crates/rsetcd-py/tests/upstream/conftest_functional.py "$work/upstream/functional/conftest.py"
(cd "$work/upstream" && PYETCD_TEST_PREFIX=$prefix "${pytest[@]}" functional) || failed=1

echo "== rsetcd-py's own tests"
(cd "$work" && "$bin/pytest" -q -p no:cacheprovider -o addopts= --rootdir "$RSETCD_PY_TESTS" "$RSETCD_PY_TESTS") || failed=1

if [ "$failed" -ne 0 ]; then
  echo "test-python: FAILED" >&2
  exit 1
fi
echo "test-python: all Python suites passed"
