"""Real etcd processes for the tests: a cluster on loopback addresses, temporary data directories,
stopped by PID (never by name).

    cluster = Cluster(3).start()        # 127.0.0.1 on free ports
    cluster = Cluster(3, hosts=['127.0.3.10', '127.0.3.11', '127.0.3.12'], client_port=2379)
    cluster.urls, cluster.kill(1), cluster.restart(1), cluster.stop()
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import ctypes

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    # Runs in the child before exec: etcd gets SIGKILL if the test process dies first.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass

ETCD = os.environ.get('ETCD_BINARY', 'etcd')


def free_port(host='127.0.0.1'):
    """A TCP port nobody listens on at `host` now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(host, port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class Node(object):
    """One etcd member."""

    def __init__(self, name, host, client_port, peer_port, data_dir, scheme='http', v2=True):
        self.name, self.host = name, host
        self.client_port, self.peer_port = client_port, peer_port
        self.data_dir, self.scheme, self.v2 = data_dir, scheme, v2
        self.process = None
        self.log_path = os.path.join(os.path.dirname(data_dir), name + '.log')

    @property
    def url(self):
        return '%s://%s:%d' % (self.scheme, self.host, self.client_port)

    @property
    def peer_url(self):
        return 'http://%s:%d' % (self.host, self.peer_port)

    def start(self, initial_cluster, state, extra):
        v2 = ['--enable-v2=true'] if self.v2 else []
        args = [ETCD, '--name', self.name, '--data-dir', self.data_dir] + v2 + [
                '--listen-client-urls', self.url, '--advertise-client-urls', self.url,
                '--listen-peer-urls', self.peer_url, '--initial-advertise-peer-urls',
                self.peer_url, '--initial-cluster', initial_cluster,
                '--initial-cluster-state', state, '--initial-cluster-token', 'pytest',
                '--heartbeat-interval', '50', '--election-timeout', '500',
                '--logger', 'zap', '--log-outputs', 'stderr'] + list(extra)
        log = open(self.log_path, 'ab')
        self.process = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                        preexec_fn=_die_with_parent)
        log.close()

    def signal(self, sig):
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, sig)

    def wait(self, timeout=10):
        if self.process is None:
            return
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        self.process = None

    def log_tail(self, lines=20):
        try:
            with open(self.log_path, 'rb') as f:
                return b''.join(f.readlines()[-lines:]).decode('utf-8', 'replace')
        except OSError:
            return ''


class Cluster(object):
    """`n` members on `hosts` (one address each, or 127.0.0.1 for all) and free ports, or on
    `client_port` / `peer_port` when given; with `v2=False` without the v2 API (as etcd 3.6)."""

    def __init__(self, n=3, hosts=None, client_port=None, peer_port=None, extra=(),
                 scheme='http', client_extra=(), v2=True):
        self.base = tempfile.mkdtemp(prefix='rsetcd-py-etcd-')
        hosts = hosts or ['127.0.0.1'] * n
        self.extra = list(extra) + list(client_extra)
        self.nodes = []
        for i in range(n):
            host = hosts[i]
            cport = client_port or free_port(host)
            pport = peer_port or free_port(host)
            for port in (cport, pport):
                if not port_is_free(host, port):
                    raise RuntimeError('%s:%d is in use' % (host, port))
            self.nodes.append(Node('n%d' % i, host, cport, pport,
                                   os.path.join(self.base, 'n%d' % i), scheme, v2))

    @property
    def urls(self):
        return [n.url for n in self.nodes]

    def start(self, timeout=30):
        initial = ','.join('%s=%s' % (n.name, n.peer_url) for n in self.nodes)
        try:
            for n in self.nodes:
                n.start(initial, 'new', self.extra)
            self.wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout=30, nodes=None):
        """Until every (given) member answers a quorum read: a leader is elected."""
        deadline = time.monotonic() + timeout
        for n in nodes if nodes is not None else self.nodes:
            while True:
                if n.process is not None and n.process.poll() is not None:
                    raise RuntimeError('etcd %s exited:\n%s' % (n.name, n.log_tail()))
                if self.scheme_ok(n):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError('etcd %s not healthy in %ss:\n%s'
                                       % (n.name, timeout, n.log_tail()))
                time.sleep(0.05)

    @staticmethod
    def scheme_ok(node):
        if node.scheme != 'http':
            return node.process is not None and port_open(node.host, node.client_port)
        # Without v2: /health, which answers true once a leader is elected.
        path = '/v2/keys/?quorum=true' if node.v2 else '/health'
        try:
            with urllib.request.urlopen(node.url + path, timeout=1) as r:
                json.loads(r.read())
                return True
        except (OSError, ValueError, urllib.error.URLError):
            return False

    def kill(self, i):
        """SIGKILL member i (by PID) and wait for it."""
        self.nodes[i].signal(signal.SIGKILL)
        self.nodes[i].wait()

    def restart(self, i, timeout=30):
        initial = ','.join('%s=%s' % (n.name, n.peer_url) for n in self.nodes)
        self.nodes[i].start(initial, 'existing', self.extra)
        self.wait_healthy(timeout, nodes=[self.nodes[i]])

    def stop(self):
        for n in self.nodes:
            n.signal(signal.SIGTERM)
        for n in self.nodes:
            n.wait()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
