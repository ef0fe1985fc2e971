"""The exception of every etcd error code: pyetcd's hierarchy, raised by real etcd where etcd 3.4
produces the code through this API, and for every code through the native client (a server that
answers with that code) and through EtcdResult (pyetcd's way)."""
import json
import threading
import urllib.request

import pytest

import pyetcd
from pyetcd import EtcdException, EtcdResult
from pyetcd.client import Client

from fault_server import FaultServer, http

CODES = {
    100: 'EtcdKeyNotFound', 101: 'EtcdTestFailed', 102: 'EtcdNotFile', 103: 'EtcdNoMorePeer',
    104: 'EtcdNotDir', 105: 'EtcdNodeExist', 106: 'EtcdKeyIsPreserved', 107: 'EtcdRootROnly',
    108: 'EtcdDirNotEmpty', 109: 'EtcdExistingPeerAddr', 110: 'EtcdUnauthorized',
    200: 'EtcdValueRequired', 201: 'EtcdPrevValueRequired', 202: 'EtcdTTLNaN',
    203: 'EtcdIndexNaN', 204: 'EtcdValueOrTTLRequired', 205: 'EtcdTimeoutNaN',
    206: 'EtcdNameRequired', 207: 'EtcdIndexOrValueRequired', 208: 'EtcdIndexValueMutex',
    209: 'EtcdInvalidField', 210: 'EtcdInvalidForm', 211: 'EtcdRefreshValue',
    212: 'EtcdRefreshTTLRequired', 300: 'EtcdRaftInternal', 301: 'EtcdLeaderElect',
    400: 'EtcdWatcherCleared', 401: 'EtcdEventIndexCleared', 402: 'EtcdStandbyInternal',
    403: 'EtcdInvalidActiveSize', 404: 'EtcdInvalidRemoveDelay', 500: 'EtcdClientInternal',
}


def test_hierarchy():
    for name in CODES.values():
        assert issubclass(getattr(pyetcd, name), EtcdException)
    assert issubclass(pyetcd.EtcdEmptyResponse, pyetcd.EtcdInvalidResponse)
    assert issubclass(pyetcd.EtcdInvalidResponse, EtcdException)
    for name in ('EtcdConnectionFailed', 'EtcdOutcomeUnknown', 'EtcdHttpError',
                 'EtcdInvalidArgument'):
        assert issubclass(getattr(pyetcd, name), EtcdException)
    assert issubclass(pyetcd.EtcdTimeout, pyetcd.EtcdConnectionFailed)
    assert issubclass(pyetcd.EtcdTlsError, pyetcd.EtcdConnectionFailed)
    assert issubclass(pyetcd.EtcdRaftInternalOutcomeUnknown, pyetcd.EtcdRaftInternal)
    assert issubclass(pyetcd.EtcdRaftInternalOutcomeUnknown, pyetcd.EtcdOutcomeUnknown)
    assert issubclass(pyetcd.EtcdInvalidArgument, ValueError)
    assert EtcdResult._exception_codes == {c: getattr(pyetcd, n) for c, n in CODES.items()}


def error_body(code):
    return json.dumps({'errorCode': code, 'message': 'message %d' % code, 'cause': '/k',
                       'index': 42})


@pytest.mark.parametrize('code', sorted(CODES))
def test_every_code_through_the_native_client(code):
    status = '400 Bad Request' if code != 100 else '404 Not Found'
    with FaultServer(lambda req: http(status, error_body(code),
                                      headers=['X-Etcd-Index: 42'])) as server:
        c = Client(host=server.url)
        with pytest.raises(getattr(pyetcd, CODES[code])) as err:
            c.read('/k')
    e = err.value
    assert str(e) == 'message %d' % code
    assert (e.error_code, e.cause, e.index) == (code, '/k', 42)


def test_unknown_code_is_etcd_exception():
    with FaultServer(lambda req: http('400 Bad Request', error_body(999))) as server:
        with pytest.raises(EtcdException) as err:
            Client(host=server.url).read('/k')
    assert type(err.value) is EtcdException and err.value.error_code == 999


class Response(object):
    def __init__(self, content, status_code=400):
        self.content, self.status_code, self.headers = content, status_code, {}


@pytest.mark.parametrize('code', sorted(CODES))
def test_every_code_through_etcd_result(code):
    with pytest.raises(getattr(pyetcd, CODES[code])) as err:
        EtcdResult(Response(error_body(code)))
    assert str(err.value) == 'message %d' % code


def test_codes_real_etcd_produces(client, cluster):
    client.write('/file', 'v')
    client.mkdir('/dir')
    client.write('/full/child', 'v')
    cases = [
        (pyetcd.EtcdKeyNotFound, lambda: client.read('/missing')),
        (pyetcd.EtcdTestFailed, lambda: client.compare_and_swap('/file', 'x', prev_value='no')),
        (pyetcd.EtcdNotFile, lambda: client.delete('/dir')),
        (pyetcd.EtcdNotDir, lambda: client.write('/file/child', 'v')),
        (pyetcd.EtcdNodeExist, lambda: client.mkdir('/dir')),
        (pyetcd.EtcdRootROnly, lambda: client.rmdir('/', recursive=True)),
        (pyetcd.EtcdDirNotEmpty, lambda: client.rmdir('/full')),
        (pyetcd.EtcdPrevValueRequired, lambda: client.compare_and_swap('/file', 'x',
                                                                        prev_value='')),
        (pyetcd.EtcdTTLNaN, lambda: client.write('/file', 'x', ttl='soon')),
        (pyetcd.EtcdIndexNaN, lambda: client.compare_and_swap('/file', 'x', prev_index='x')),
        (pyetcd.EtcdInvalidField, lambda: client.read('/file', recursive='maybe')),
        (pyetcd.EtcdKeyNotFound, lambda: client.update_ttl('/missing', 5)),
    ]
    for cls, call in cases:
        with pytest.raises(cls):
            call()


def test_event_index_cleared(client, cluster):
    # etcd keeps the last 1,000 events: a wait on an older index is 401.
    first = client.write('/flood', '0').node['modifiedIndex']
    for i in range(1005):
        client.write('/flood', str(i))
    with pytest.raises(pyetcd.EtcdEventIndexCleared) as err:
        client.read('/flood', wait=True, waitIndex=first)
    assert err.value.error_code == 401


def test_unauthorized_is_110(cluster):
    """v2 auth on: a user without permission gets 110 (enabled and disabled again here)."""
    url = cluster.urls[0]
    admin = Client(host=url, username='root', password='rootpw')

    def call(method, path, body=None, auth=None):
        req = urllib.request.Request(url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header('Content-Type', 'application/json')
        if auth:
            import base64
            req.add_header('Authorization', 'Basic ' + base64.b64encode(auth.encode()).decode())
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.read()

    call('PUT', '/v2/auth/users/root', {'user': 'root', 'password': 'rootpw'})
    call('PUT', '/v2/auth/enable', auth='root:rootpw')
    try:
        call('PUT', '/v2/auth/roles/guest',
             {'role': 'guest', 'revoke': {'kv': {'read': ['/*'], 'write': ['/*']}}},
             auth='root:rootpw')
        with pytest.raises(pyetcd.EtcdUnauthorized) as err:
            Client(host=url).write('/secret', 'v')
        with pytest.raises(pyetcd.EtcdUnauthorized):
            Client(host=url, username='root', password='wrong').read('/')
        assert 'wrong' not in str(err.value)
        assert admin.write('/secret', 'v').node['value'] == 'v'
        assert 'rootpw' not in repr(admin) and 'root' in repr(admin)
    finally:
        call('DELETE', '/v2/auth/enable', auth='root:rootpw')
        call('DELETE', '/v2/auth/users/root')


def test_invalid_arguments_are_typed(client):
    with pytest.raises(pyetcd.EtcdInvalidArgument):
        client.read('/a//b')
    with pytest.raises(pyetcd.EtcdInvalidArgument):
        client.remove_member('not-hex')
    with pytest.raises(ValueError):
        client.read('/k', wait=True, timeout=-1)
    with pytest.raises(pyetcd.client.ClientException):
        Client(port=70000)
    with pytest.raises(pyetcd.client.ClientException):
        Client(host='bad host name with spaces')
    with pytest.raises(pyetcd.client.ClientException):
        Client(host=[])
    with pytest.raises(TypeError):
        client.write(5, 'v')


def test_concurrent_errors_do_not_mix(client):
    errors = []

    def worker(i):
        try:
            client.read('/missing-%d' % i)
        except pyetcd.EtcdKeyNotFound as e:
            errors.append(e.cause)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(errors) == sorted('/missing-%d' % i for i in range(8))
