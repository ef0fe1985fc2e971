"""https with a CA, client certificates and Basic auth, on a 3-node TLS cluster."""
import os
import subprocess
import tempfile

import pytest

import pyetcd
from pyetcd.client import Client

from etcd_cluster import Cluster


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, capture_output=True)


@pytest.fixture(scope='module')
def pki():
    d = tempfile.mkdtemp(prefix='rsetcd-py-pki-')
    p = lambda name: os.path.join(d, name)  # noqa: E731
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'),
            '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=rsetcd-py test CA')
    ext = p('san.ext')
    with open(ext, 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n')
    for name in ('server', 'client'):
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(name + '.key'),
                '-out', p(name + '.csr'), '-subj', '/CN=' + name)
        openssl('x509', '-req', '-in', p(name + '.csr'), '-CA', p('ca.pem'), '-CAkey',
                p('ca.key'), '-CAcreateserial', '-out', p(name + '.pem'), '-days', '2',
                '-extfile', ext)
    # A CA the cluster does not use.
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('other.key'),
            '-out', p('other.pem'), '-days', '2', '-subj', '/CN=other CA')
    return p


@pytest.fixture(scope='module')
def tls_cluster(pki):
    c = Cluster(3, scheme='https', client_extra=[
        '--cert-file', pki('server.pem'), '--key-file', pki('server.key'),
        '--trusted-ca-file', pki('ca.pem'), '--client-cert-auth'])
    c.start()
    yield c
    c.stop()


def test_https_with_client_certificate(pki, tls_cluster):
    c = Client(host=[(n.host, n.client_port) for n in tls_cluster.nodes], protocol='https',
               ca_cert=pki('ca.pem'), cert=pki('client.pem'), key=pki('client.key'))
    assert c._urls[0].startswith('https://')
    assert c.write('/tls', 'v').node['value'] == 'v'
    assert c.read('/tls').node['value'] == 'v'
    c2 = Client(host=tls_cluster.urls, ca_cert=pki('ca.pem'),
                cert=(pki('client.pem'), pki('client.key')))
    assert c2.read('/tls').node['value'] == 'v'


def test_untrusted_server_is_a_tls_error(pki, tls_cluster):
    c = Client(host=tls_cluster.urls[0], ca_cert=pki('other.pem'), cert=pki('client.pem'),
               key=pki('client.key'))
    with pytest.raises(pyetcd.EtcdTlsError):
        c.read('/tls')


def test_missing_client_certificate_is_refused(pki, tls_cluster):
    c = Client(host=tls_cluster.urls[0], ca_cert=pki('ca.pem'))
    with pytest.raises(pyetcd.EtcdConnectionFailed):
        c.read('/tls')


def test_bad_tls_settings_are_client_exceptions(pki):
    with pytest.raises(pyetcd.client.ClientException):
        Client(protocol='https', ca_cert='/nonexistent/ca.pem').read('/k')
    with pytest.raises(pyetcd.client.ClientException):
        Client(protocol='https', cert=pki('client.pem'))
    with pytest.raises(pyetcd.client.ClientException):
        Client(username='user')


def test_password_never_shown(pki, tls_cluster):
    c = Client(host=tls_cluster.urls[0], ca_cert=pki('ca.pem'), cert=pki('client.pem'),
               key=pki('client.key'), username='alice', password='s3cret-pw')
    assert 's3cret-pw' not in repr(c) and 's3cret-pw' not in repr(c._core)
    # Auth is off on this cluster: the credentials are sent and ignored.
    assert c.write('/auth', 'v').node['value'] == 'v'
