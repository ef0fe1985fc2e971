"""One test (at least) for each pyetcd 1.11.1 bug the package fixes, against real etcd."""
import json
import time
import urllib.request

import pytest

import pyetcd
from pyetcd import (EtcdEmptyResponse, EtcdHttpError, EtcdKeyNotFound, EtcdOutcomeUnknown,
                    EtcdResult, EtcdTestFailed, EtcdTimeout, EtcdNodeExist)
from pyetcd.client import Client

from fault_server import FaultServer, http


def raw_get(url, key):
    """The key as etcd stores it, read with urllib (not through the package)."""
    quoted = urllib.request.quote(key, safe='/')
    # quorum: a member other than the one written to may not have applied the write yet.
    with urllib.request.urlopen(url + '/v2/keys' + quoted + '?quorum=true', timeout=5) as r:
        return json.loads(r.read())['node']


AWKWARD_KEYS = ['/with space', '/q?x=1', '/hash#frag', '/pct%20', '/amp&b=c', '/plus+1',
                '/caf\u00e9/\u65e5\u672c', '/semi;colon', '/quote"\'']
AWKWARD_VALUES = ['a&b=c', 'x=y', 'line1\nline2\r\n', '100%', '+plus+', '\u00e9\u00e8 \u2603',
                  '#hash?q', '  spaced  ', 'v' * (1024 * 1024)]


@pytest.mark.parametrize('key', AWKWARD_KEYS)
def test_keys_are_url_encoded(client, cluster, key):
    # pyetcd pasted the key into the URL as it was: '?', '#', '%', ' ' broke the request.
    client.write(key, 'v')
    assert client.read(key).node['key'] == key
    assert raw_get(cluster.urls[0], key)['value'] == 'v'
    assert client.delete(key).node['key'] == key
    with pytest.raises(EtcdKeyNotFound):
        client.read(key)


@pytest.mark.parametrize('value', AWKWARD_VALUES, ids=lambda v: repr(v[:12]))
def test_values_round_trip(client, cluster, value):
    client.write('/value', value)
    assert client.read('/value').node['value'] == value
    assert raw_get(cluster.urls[1], '/value')['value'] == value
    # A compare on the same awkward value must match it exactly.
    r = client.compare_and_swap('/value', 'next', prev_value=value)
    assert r.action == 'compareAndSwap'


def test_keys_without_leading_slash(client):
    r = client.write('no/slash', 'v')
    assert r.node['key'] == '/no/slash'
    assert client.read('no/slash').node['value'] == 'v'
    assert client.mkdir('plain-dir').node['key'] == '/plain-dir'


def test_cas_sends_every_condition(client):
    # pyetcd kept only the last condition given (prevIndex here) and dropped prevValue.
    index = client.write('/cas', 'one').node['modifiedIndex']
    with pytest.raises(EtcdTestFailed):
        client.compare_and_swap('/cas', 'two', prev_value='wrong', prev_index=index)
    with pytest.raises(EtcdTestFailed):
        client.compare_and_swap('/cas', 'two', prev_value='one', prev_index=index + 1000)
    assert client.read('/cas').node['value'] == 'one'
    r = client.compare_and_swap('/cas', 'two', prev_value='one', prev_index=index,
                                prev_exist=True)
    assert r.action == 'compareAndSwap' and r.prevNode['value'] == 'one'
    # prev_exist=False with another condition: etcd applies both (the key exists: 105).
    with pytest.raises(EtcdNodeExist):
        client.compare_and_swap('/cas', 'three', prev_exist=False, prev_value='two')


def test_cad_sends_every_condition(client):
    index = client.write('/cad', 'one').node['modifiedIndex']
    with pytest.raises(EtcdTestFailed):
        client.compare_and_delete('/cad', prev_value='wrong', prev_index=index)
    with pytest.raises(EtcdTestFailed):
        client.compare_and_delete('/cad', prev_value='one', prev_index=index + 1000)
    r = client.compare_and_delete('/cad', prev_value='one', prev_index=index)
    assert r.action == 'compareAndDelete'


def test_cas_without_condition_is_a_write_and_none_for_absent_fields(client):
    r = client.compare_and_swap('/plain', 'v')
    assert r.action == 'set'
    assert r.prevNode is None and 'ttl' not in r.node
    assert r.leader is None and r.version_etcdserver is None
    assert client.compare_and_delete('/plain').action == 'delete'


def test_repr_is_a_str(client):
    # pyetcd returned the body (bytes under requests): repr() raised TypeError.
    r = client.write('/repr', 'v')
    text = repr(r)
    assert isinstance(text, str) and json.loads(text)['node']['value'] == 'v'

    class Response(object):
        status_code = 200
        headers = {'X-Etcd-Index': '7'}
        content = b'{"action":"get","node":{"key":"/k","value":"v"}}'

        def raise_for_status(self):
            pass

    built = EtcdResult(Response())
    assert repr(built) == Response.content.decode() and built.x_etcd_index == 7


def test_empty_body_is_etcd_empty_response():
    # pyetcd compared requests' b'' with '' and raised EtcdInvalidResponse instead.
    class Response(object):
        status_code = 200
        headers = {}
        content = b''

    with pytest.raises(EtcdEmptyResponse):
        EtcdResult(Response())
    with FaultServer(lambda req: http('200 OK', '')) as server:
        with pytest.raises(EtcdEmptyResponse):
            Client(host=server.url).read('/k')


def test_http_error_without_etcd_body_is_an_error_not_a_dead_host(client, cluster):
    # pyetcd's raise_for_status() raised a RequestException: it took the answer for a dead host
    # and tried the next one. A 4xx answer is final: the next host is not asked.
    client.write('/k', 'v')
    with FaultServer(lambda req: http('404 Not Found', 'no such page', 'text/plain')) as server:
        c = Client(host=[server.url] + cluster.urls)
        with pytest.raises(EtcdHttpError) as err:
            c.read('/k')
        assert err.value.status == 404
        assert len(server.requests) == 1


def test_write_not_resent_on_failover(client, cluster):
    # The first endpoint reads the write and closes the connection: the outcome is unknown.
    # pyetcd sent it again to the next host; this package raises EtcdOutcomeUnknown.
    with FaultServer(lambda req: None) as server:
        c = Client(host=[server.url] + cluster.urls)
        with pytest.raises(EtcdOutcomeUnknown):
            c.write('/once', 'v')
        assert len(server.requests) == 1
    with pytest.raises(EtcdKeyNotFound):
        client.read('/once')
    # A read is safe to retry: it fails over.
    client.write('/r', 'v')
    with FaultServer(lambda req: None) as server:
        assert Client(host=[server.url] + cluster.urls).read('/r').node['value'] == 'v'


def test_request_timeout(cluster):
    # pyetcd had no timeout: a node that accepts and never answers hung it for ever.
    with FaultServer(lambda req: 'hang') as server:
        c = Client(host=server.url, timeout=0.5)
        t = time.monotonic()
        with pytest.raises(EtcdTimeout):
            c.read('/k')
        assert time.monotonic() - t < 5


def test_connect_timeout_then_next_node(client, cluster):
    # A refused connection moves on to the next node at once.
    from etcd_cluster import free_port
    client.write('/k', 'v')
    dead = 'http://127.0.0.1:%d' % free_port()
    c = Client(host=[dead] + cluster.urls, connect_timeout=0.5)
    assert c.read('/k').node['value'] == 'v'
    with pytest.raises(pyetcd.EtcdConnectionFailed):
        Client(host=dead, connect_timeout=0.5).read('/k')


def test_wait_waits_as_long_as_asked(client):
    client.write('/w', 'v')
    t = time.monotonic()
    with pytest.raises(EtcdTimeout):
        client.read('/w', wait=True, timeout=0.7)
    elapsed = time.monotonic() - t
    assert 0.6 < elapsed < 5, elapsed


def test_wait_returns_the_change(client):
    import threading
    index = client.write('/w', 'v').node['modifiedIndex']
    later = threading.Timer(0.3, lambda: client.write('/w', 'changed'))
    later.start()
    try:
        r = client.read('/w', wait=True, timeout=10)
    finally:
        later.join()
    assert r.action == 'set' and r.node['value'] == 'changed'
    # waitIndex reports an older change from history at once.
    r = client.read('/w', wait=True, waitIndex=index)
    assert r.node['modifiedIndex'] == index and r.node['value'] == 'v'


def test_https_is_supported():
    # pyetcd refused protocol='https'; the TLS tests talk to etcd over https.
    c = Client(host='example.invalid', protocol='https')
    assert c._urls == ['https://example.invalid:2379'] and c._protocol == 'https'


def test_unknown_options_warn_instead_of_vanishing():
    with pytest.warns(RuntimeWarning, match='tiemout'):
        Client(tiemout=3)


def test_positional_host_list(cluster):
    # The manual's own examples pass the host list positionally; pyetcd refused it.
    c = Client([n.host + ':%d' % n.client_port for n in cluster.nodes])
    assert c._hosts == [(n.host, n.client_port) for n in cluster.nodes]
    assert c.health is True
