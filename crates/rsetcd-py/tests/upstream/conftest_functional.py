"""Starts the 3-node cluster pyetcd 1.11.1's functional tests expect, on loopback.

scripts/test-python.sh copies pyetcd's tests/functional/test_client.py next to this file (as
conftest.py) with its hosts 10.0.3.10-12 rewritten to PYETCD_TEST_PREFIX + 10-12 (loopback
addresses such as 127.31.3.10): the same ports (2379), the same three members, nothing else
changed. Traffic never leaves the machine.
"""
import os
import sys

import pytest

sys.path.insert(0, os.environ['RSETCD_PY_TESTS'])

from etcd_cluster import Cluster  # noqa: E402


@pytest.fixture(scope='session', autouse=True)
def pyetcd_cluster():
    prefix = os.environ['PYETCD_TEST_PREFIX']
    c = Cluster(3, hosts=[prefix + '10', prefix + '11', prefix + '12'],
                client_port=2379, peer_port=2380).start()
    yield c
    c.stop()
