"""The same Client on an etcd without the v2 API (as etcd 3.6 runs): backend='v3' (or 'auto',
or RSETCD_V2_BACKEND) keeps pyetcd's data model over the v3 API."""
import urllib.error
import urllib.request

import pytest

import pyetcd
from pyetcd.client import Client, ClientException

from etcd_cluster import Cluster


@pytest.fixture(scope='module')
def v3_only():
    c = Cluster(1, v2=False).start()
    yield c
    c.stop()


def test_pyetcd_api_over_v3_on_a_node_without_v2(v3_only, monkeypatch):
    url = v3_only.urls[0]
    with pytest.raises(urllib.error.HTTPError) as no_v2:
        urllib.request.urlopen(url + '/v2/keys/', timeout=5)
    assert no_v2.value.code == 404

    host = [(n.host, n.client_port) for n in v3_only.nodes]
    client = Client(host=host, backend='v3')
    w = client.write('/py/k', 'v1', ttl=30)
    assert w.action == 'set' and w.node['ttl'] == 30
    assert client.read('/py/k').node['value'] == 'v1'
    swapped = client.compare_and_swap('/py/k', 'v2', prev_value='v1')
    assert swapped.action == 'compareAndSwap'
    with pytest.raises(pyetcd.EtcdTestFailed):
        client.compare_and_swap('/py/k', 'v3', prev_value='nope')
    client.mkdir('/py/dir')
    listing = client.read('/py', recursive=True, sorted=True)
    assert [n['key'] for n in listing.node['nodes']] == ['/py/dir', '/py/k']
    # A wait from the index after the last change gets the next one.
    after = client.write('/py/w', 'a').node['modifiedIndex']
    with client.watch('/py/w', after_index=after) as watch:
        client.write('/py/w', 'b')
        assert next(watch).node['value'] == 'b'
    client.delete('/py/k')
    with pytest.raises(pyetcd.EtcdKeyNotFound):
        client.read('/py/k')

    # 'auto' finds no v2 there and reads the same nodes; so does the environment variable.
    assert Client(host=host, backend='auto').read('/py/w').node['value'] == 'b'
    monkeypatch.setenv('RSETCD_V2_BACKEND', 'v3')
    assert Client(host=host).read('/py/w').node['value'] == 'b'
    monkeypatch.setenv('RSETCD_V2_BACKEND', 'v3:/elsewhere')
    with pytest.raises(pyetcd.EtcdKeyNotFound):
        Client(host=host).read('/py/w')
    with pytest.raises(ClientException):
        Client(host=host, backend='grpc')
