"""Fixtures of the package's own tests: one real 3-node etcd cluster on loopback for the session
(free ports, temporary data directories, stopped by PID), and a client on it with a clean store."""
import json
import os
import sys
import urllib.request

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from etcd_cluster import Cluster  # noqa: E402
from pyetcd.client import Client  # noqa: E402


@pytest.fixture(scope='session')
def cluster():
    c = Cluster(3).start()
    yield c
    c.stop()


def wipe(url):
    """Deletes every key under the root, straight over HTTP."""
    with urllib.request.urlopen(url + '/v2/keys/?quorum=true', timeout=5) as r:
        node = json.loads(r.read())['node']
    for child in node.get('nodes', []):
        req = urllib.request.Request(
            url + '/v2/keys' + urllib.request.quote(child['key']) + '?recursive=true&dir=true',
            method='DELETE')
        with urllib.request.urlopen(req, timeout=5):
            pass


@pytest.fixture
def client(cluster):
    wipe(cluster.urls[0])
    return Client(host=[(n.host, n.client_port) for n in cluster.nodes])
