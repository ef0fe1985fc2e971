"""module to connect to an etcd node and perform low rest API requests.

:class:`Client` has pyetcd 1.11.1's constructor, methods and attributes; the requests are made by
the native rsetcd client (``pyetcd._native``): keys and values URL-encoded, connect and request
timeouts, failover that never re-sends a write, TLS, Basic auth, SRV discovery, watches.
"""
import os
import warnings

from pyetcd import (EtcdResult, EtcdException, EtcdInvalidArgument,  # noqa: F401
                    WatchResync, _native, _native_error)

SUPPORTED_PROTOCOLS = ['http', 'https']

_DEFAULT_PORT = 2379
_READ_FLAGS = ('recursive', 'sorted', 'quorum', 'wait')
_KNOWN_OPTIONS = frozenset((
    'host', 'port', 'srv_domain', 'version_prefix', 'allow_reconnect', 'protocol',
    # Beyond pyetcd:
    'timeout', 'connect_timeout', 'ca_cert', 'cert', 'key', 'username', 'password',
    'srv_name_server', 'backend',
))
_TRUE = frozenset(('1', 't', 'T', 'TRUE', 'true', 'True'))
_FALSE = frozenset(('0', 'f', 'F', 'FALSE', 'false', 'False'))
_new = object.__new__


class ClientException(Exception):
    """
    Exception for errors in Client class
    """


class EtcdDiscoveryFailed(ClientException):
    """
    DNS SRV discovery (``srv_domain``) found no usable endpoint; the message says why.
    """


def _result(answer):
    """An EtcdResult from the native ``(payload, x_etcd_index)`` pair (the hot path)."""
    result = _new(EtcdResult)
    result._payload, result._x_etcd_index = answer
    return result


def _etcd_error(code, message, cause):
    """The exception etcd would answer for a bad request parameter."""
    return _native_error('etcd', code, message, cause, 0, None)


def _flag(name, value):
    """A boolean parameter as etcd parses it (Go's strconv.ParseBool)."""
    if isinstance(value, bool):
        return value
    text = str(value)
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _etcd_error(209, 'Invalid field', 'invalid value for %s' % name)


def _index(name, value):
    """An index parameter: a non-negative integer, or etcd's 203 IndexNaN."""
    if not isinstance(value, bool):
        try:
            index = int(value)
        except (TypeError, ValueError, OverflowError):
            index = -1
        if 0 <= index < 2 ** 63:
            return index
    raise _etcd_error(203, 'The given index in POST form is not a number', name)


def _ttl(ttl):
    """A TTL as pyetcd sends it: whole seconds (``int(ttl)``); none when absent or not positive."""
    if ttl is None:
        return None
    if not isinstance(ttl, bool):
        try:
            seconds = int(ttl)
        except (TypeError, ValueError, OverflowError):
            seconds = None
        if seconds is not None and seconds < 2 ** 63:
            return seconds if seconds > 0 else None
    raise _etcd_error(202, 'The given TTL in POST form is not a number', 'ttl')


def _value(value):
    """A value as text: str as is, bytes as UTF-8, None as '' (what etcd stores), else str()."""
    if isinstance(value, str):
        return value
    if value is None:
        return ''
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode('utf-8')
    return str(value)


def _seconds(name, value):
    """A timeout in seconds: a positive number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise EtcdInvalidArgument('%s must be a positive number of seconds, not %r'
                                  % (name, value))
    return float(value)


def _port(port):
    if not isinstance(port, bool):
        try:
            number = int(port)
        except (TypeError, ValueError):
            number = 0
        if 0 < number < 65536 and str(number) == str(port).strip():
            return number
    raise ClientException('Port %r is invalid' % (port,))


def _split_host(item, port):
    """``(host, port)`` of one host given as a name, an address, host:port or a URL."""
    if isinstance(item, tuple):
        if len(item) != 2:
            raise ClientException('Host %r is not a (host, port) pair' % (item,))
        return str(item[0]), _port(item[1])
    if not isinstance(item, str) or not item.strip():
        raise ClientException('Host %r is invalid' % (item,))
    host = item.strip()
    if '://' in host:
        host = host.split('://', 1)[1].rstrip('/')
    if host.startswith('['):  # [v6] or [v6]:port
        end = host.find(']')
        rest = host[end + 1:]
        return host[1:end], _port(rest[1:]) if rest.startswith(':') else port
    if host.count(':') == 1:
        name, number = host.split(':')
        return name, _port(number)
    return host, port


def _url(protocol, item, host, port):
    if isinstance(item, str) and '://' in item:
        return item.strip().rstrip('/')
    if ':' in host:
        host = '[%s]' % host
    return '%s://%s:%s' % (protocol, host, port)


class Client(object):
    """
    Etcd Client class.

    :param host: etcd node hostname (str), or a list of hostnames, or a list of tuples
        (hostname, port); may be given positionally. Default is '127.0.0.1' (none when
        ``srv_domain`` is given). Items may also be ``host:port`` or URLs.
    :param kwargs: Keyword arguments:

        - **port** (int) - TCP port to connect to. Default is 2379.
        - **srv_domain** (str) - Domain name if DNS discovery is used
          (``_etcd-client._tcp.<domain>`` and ``_etcd-client-ssl._tcp.<domain>`` SRV records).
        - **version_prefix** (str) - API version prefix. Default is 'v2'.
        - **allow_reconnect** (bool) - If client fails to connect to
          a cluster node connect to the next node in the cluster.
          Default is True. Writes whose outcome is unknown are never re-sent.
        - **protocol** (str) - Protocol to connect to the cluster: 'http' (default) or 'https'.
        - **timeout** (float) - seconds one request may take on one node (default 5).
        - **connect_timeout** (float) - seconds to connect to one node (default 2).
        - **ca_cert** (str) - PEM file of the CA(s) to trust for https (default: the system's).
        - **cert**, **key** (str) - PEM client certificate and key (``cert`` may be a
          ``(cert, key)`` tuple).
        - **username**, **password** (str) - HTTP Basic credentials (etcd's v2 auth).
        - **srv_name_server** (str) - ``address:port`` of the DNS server for ``srv_domain``.
        - **backend** (str) - the API the client uses: ``'http'`` (etcd's v2 API, the default),
          ``'v3'`` or ``'v3:<prefix>'`` (the v2 data model over the v3 API under ``<prefix>``,
          ``/v2c`` by default: for etcd 3.6, and 3.4 / 3.5 without ``--enable-v2``), or
          ``'auto'`` / ``'auto:<prefix>'`` (HTTP where v2 is served, v3 elsewhere). Default: the
          environment variable ``RSETCD_V2_BACKEND``, else ``'http'``.
    :raise ClientException: if any errors
    :raise EtcdDiscoveryFailed: if DNS discovery finds no endpoint.
    """

    def __init__(self, host=None, **kwargs):
        unknown = sorted(set(kwargs) - _KNOWN_OPTIONS)
        if unknown:
            warnings.warn('pyetcd.client.Client ignores unknown option(s): %s'
                          % ', '.join(unknown), RuntimeWarning, stacklevel=2)
        self._allow_reconnect = bool(kwargs.get('allow_reconnect', True))
        protocol = kwargs.get('protocol', 'http')
        if protocol in SUPPORTED_PROTOCOLS:
            self._protocol = protocol
        else:
            raise ClientException('Protocol %s is unsupported' % protocol)
        self._version_prefix = kwargs.get('version_prefix', 'v2')
        self._srv_domain = kwargs.get('srv_domain')
        self._hosts = []
        self._urls = []
        if host is None:
            host = kwargs.get('host')
        if host is None and self._srv_domain is None:
            host = '127.0.0.1'
        port = _port(kwargs.get('port', _DEFAULT_PORT))
        if host is None:
            items = []
        elif isinstance(host, (list, tuple)) and not _is_pair(host):
            items = list(host)
        else:
            items = [host]
        if not items and self._srv_domain is None:
            raise ClientException('No host given')
        for item in items:
            name, number = _split_host(item, port)
            self._hosts.append((name, number))
            self._urls.append(_url(self._protocol, item, name, number))
        cert, key = kwargs.get('cert'), kwargs.get('key')
        if isinstance(cert, tuple):
            cert, key = cert
        self._username = kwargs.get('username')
        self._core = _native.Core(
            self._urls,
            protocol=self._protocol,
            version_prefix=str(self._version_prefix),
            allow_reconnect=self._allow_reconnect,
            srv_domain=self._srv_domain,
            srv_name_server=kwargs.get('srv_name_server'),
            connect_timeout=_seconds('connect_timeout', kwargs.get('connect_timeout', 2.0)),
            timeout=_seconds('timeout', kwargs.get('timeout', 5.0)),
            ca_cert=kwargs.get('ca_cert'),
            cert=cert,
            key=key,
            username=self._username,
            password=kwargs.get('password'),
            backend=str(kwargs.get('backend') or os.environ.get('RSETCD_V2_BACKEND') or 'http'),
        )
        if self._srv_domain is not None:
            self._urls = self._core.endpoints()
            self._hosts = [_split_host(u, _DEFAULT_PORT) for u in self._urls]

    def __repr__(self):
        extra = ', username=%r' % self._username if self._username else ''
        return 'pyetcd.client.Client(%r%s)' % (self._urls, extra)

    def write(self, key, value, ttl=None):
        """
        Write value to a key

        :param key: Key
        :param value: Value
        :param ttl: Keys in etcd can be set to expire after a specified number
            of seconds. You can do this by setting a TTL (time to live)
            on the key.
        :return: Result of operation.
        :rtype: EtcdResult
        :raise EtcdException: if etcd responds with error or HTTP error
        """
        return _result(self._core.write(key, _value(value), _ttl(ttl)))

    def read(self, key, **kwargs):
        """
        Read key value

        :param key: Key
        :param kwargs: ``recursive``, ``sorted``, ``quorum``, ``wait`` (wait for the next change),
            ``waitIndex`` (with ``wait``: the first index to report), and ``timeout`` (seconds;
            with ``wait``, how long to wait in all: :class:`pyetcd.EtcdTimeout` after it).
        :return: Result of operation.
        :rtype: EtcdResult
        :raise EtcdException: if etcd responds with error or HTTP error
        """
        if not kwargs:
            return _result(self._core.read(key))
        options = {}
        for name in _READ_FLAGS:
            if name in kwargs:
                options[name] = _flag(name, kwargs.pop(name))
        wait_index = kwargs.pop('waitIndex', None)
        if wait_index is not None:
            # 0 is "no index" to etcd: the next change.
            options['wait_index'] = _index('waitIndex', wait_index) or None
        timeout = kwargs.pop('timeout', None)
        if timeout is not None:
            options['timeout'] = _seconds('timeout', timeout)
        if kwargs:
            warnings.warn('pyetcd.client.Client.read ignores unknown option(s): %s'
                          % ', '.join(sorted(kwargs)), RuntimeWarning, stacklevel=2)
        return _result(self._core.read(key, **options))

    def delete(self, key):
        """
        Delete a key

        :param key: Key
        :return: Result of operation.
        :rtype: EtcdResult
        :raise EtcdException: if etcd responds with error or HTTP error
        """
        return _result(self._core.delete(key))

    def version(self):
        """
        Return Etcd server version

        :return: string with Etcd server version. E.g. '2.3.7'
        :rtype: str
        """
        return self._core.version()[0]

    def version_server(self):
        """
        Same as .version()

        :return: string with Etcd server version. E.g. '2.3.7'
        :rtype: str
        """
        return self.version()

    def version_cluster(self):
        """
        Return Etcd cluster version

        :return: string with Etcd cluster version. E.g. '2.3.0'
        :rtype: str
        """
        return self._core.version()[1]

    @property
    def health(self):
        """
        :return: True if the node is healthy
        :rtype: bool
        """
        return self._core.health()

    def mkdir(self, directory):
        """
        Create directory

        :param directory: string with directory name
        :return: Result of operation.
        :rtype: EtcdResult
        :raise EtcdException: if etcd responds with error or HTTP error
        """
        return _result(self._core.mkdir(directory))

    def rmdir(self, directory, recursive=False):
        """
        Delete directory

        :param directory: string with directory name
        :param recursive: recursively delete directory if not empty
        :return: Result of operation.
        :rtype: EtcdResult
        :raise EtcdException: if etcd responds with error or HTTP error
        """
        return _result(self._core.delete(directory, dir=True,
                                         recursive=_flag('recursive', recursive)))

    def compare_and_swap(  # pylint: disable=too-many-arguments
            self,
            key, value,
            prev_value=None,
            prev_index=None,
            prev_exist=None,
            ttl=None):
        """
        This command will set the value of a key only if the client-provided
        conditions are equal to the current conditions. Every condition given is sent; without
        any, this is a plain write.

        :param key: key string
        :param value: key value
        :param prev_value: checks the previous value of the key.
        :param prev_index: checks the previous modifiedIndex of the key.
        :param prev_exist: checks existence of the key: if prevExist is True,
            it is an update request; if prevExist is False,
            it is a create request.
        :param ttl: set ttl on the key in seconds
        :return: Result of operation.
        :rtype: EtcdResult
        :raise EtcdException: if etcd responds with error or HTTP error.
        :raise EtcdNodeExist: if condition ``prev_exist=False`` fails.
        :raise EtcdTestFailed: if condition ``prev_value='bar'`` fails.
        """
        if prev_value is not None:
            prev_value = _prev_value(prev_value)
        if prev_index is not None:
            prev_index = _index('prevIndex', prev_index) or None
        if prev_exist is not None:
            prev_exist = _flag('prevExist', prev_exist)
        return _result(self._core.compare_and_swap(
            key, _value(value), prev_value, prev_index, prev_exist, _ttl(ttl)))

    def compare_and_delete(self, key, prev_value=None, prev_index=None):
        """
        This command will delete a key only if the client-provided
        conditions are equal to the current conditions. Every condition given is sent; without
        any, this is a plain delete.

        :param key: the key
        :param prev_value: checks the previous value of the key.
        :param prev_index: checks the previous modifiedIndex of the key.
        :return: Result of operation.
        :rtype: EtcdResult
        :raise EtcdException: if etcd responds with error or HTTP error.
        :raise EtcdTestFailed: if any condition fails.
        """
        if prev_value is not None:
            prev_value = _prev_value(prev_value)
        if prev_index is not None:
            prev_index = _index('prevIndex', prev_index) or None
        return _result(self._core.compare_and_delete(key, prev_value, prev_index))

    def update_ttl(self, key, ttl):
        """
        Update key's ttl

        :param key: the key
        :param ttl: new ttl
        :return: Result of operation.
        :rtype: EtcdResult
        :raise EtcdException: if etcd responds with error or HTTP error.
        :raise EtcdKeyNotFound: if the key doesn't exist
        """
        seconds = _ttl(ttl)
        if seconds is None:
            raise _etcd_error(212, 'A TTL must be provided', 'ttl')
        return _result(self._core.update_ttl(key, seconds))

    def add_member(self, peer_urls):
        """
        Add a node to the cluster.

        :param peer_urls: List of URL for inter-peer communication.
            For example::

                ["http://10.0.0.10:2380"]

        :return: Information about the newly added node.
        :rtype: EtcdResult
        """
        if isinstance(peer_urls, str):
            peer_urls = [peer_urls]
        return _result((self._core.add_member([str(u) for u in peer_urls]), None))

    def remove_member(self, member_id):
        """
        Remove a node from the cluster.

        :param member_id: etcd identifier of the node.
            For example, ``272e204152``.
        """
        if isinstance(member_id, int) and not isinstance(member_id, bool):
            member_id = '%x' % member_id
        self._core.remove_member(str(member_id))

    # Beyond pyetcd.

    def members(self):
        """
        The cluster's members, as etcd lists them.

        :return: dicts with ``id``, ``name``, ``peerURLs`` and ``clientURLs``.
        :rtype: list(dict)
        """
        return self._core.members()

    def self_stats(self):
        """
        Statistics of the member answering (``id``, ``name``, ``state``, ``leaderInfo``...).

        :rtype: EtcdResult
        """
        return _stats(self._core.stats('self'))

    def leader_stats(self):
        """
        The leader's view of its followers (``leader``, ``followers``); a follower answers with
        :class:`pyetcd.EtcdHttpError` (403).

        :rtype: EtcdResult
        """
        return _stats(self._core.stats('leader'))

    def store_stats(self):
        """
        The store's operation counters on the member answering.

        :rtype: EtcdResult
        """
        return _stats(self._core.stats('store'))

    def endpoints(self):
        """
        The endpoint URLs in use, the one tried first leading.

        :rtype: list(str)
        """
        return self._core.endpoints()

    def watch(self, key, recursive=False, after_index=None, idle_timeout=None,
              give_up_after=None):
        """
        Watch a key (or, with ``recursive``, a directory's subtree): an iterator of changes that
        never skips or repeats one, across reconnects and failover.

        Each item is an :class:`pyetcd.EtcdResult` (a change: ``action``, ``node``,
        ``prevNode``) or a :class:`pyetcd.WatchResync` (the watch fell out of etcd's 1,000-event
        history: the key's current state, from which events continue). The iterator waits as
        long as it takes for each item; Ctrl-C interrupts the wait without losing events. Close
        it (or use it as a context manager) to stop watching.

        :param after_index: report every change with an index greater than this (still in
            etcd's history), then new ones; default: changes from now on.
        :param idle_timeout: seconds a silent long poll lasts before it is renewed (60).
        :param give_up_after: seconds without any reachable node before the iterator raises
            :class:`pyetcd.EtcdConnectionFailed` and ends (30).
        :rtype: Watch
        """
        if after_index is not None:
            after_index = _index('after_index', after_index)
        return Watch(self._core.watch(
            key, recursive=_flag('recursive', recursive), after_index=after_index,
            idle_timeout=None if idle_timeout is None else _seconds('idle_timeout', idle_timeout),
            give_up_after=(None if give_up_after is None
                           else _seconds('give_up_after', give_up_after))))


class Watch(object):
    """
    The iterator :meth:`Client.watch` returns: :class:`pyetcd.EtcdResult` changes and
    :class:`pyetcd.WatchResync` items. One thread iterates it at a time; :meth:`close` may be
    called from any thread and stops an iteration in progress.
    """

    def __init__(self, native):
        self._native = native

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self._native)
        if item[0] == 'event':
            return _result((item[1], item[2]))
        snapshot = None if item[1] is None else _result(item[1])
        return WatchResync(snapshot, item[2])

    def close(self):
        """Stop watching and close the watch's connection."""
        self._native.close()

    @property
    def closed(self):
        """True once the watch has been closed or has ended."""
        return self._native.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _is_pair(host):
    """A tuple (host, port) given alone, rather than a list of hosts."""
    return (isinstance(host, tuple) and len(host) == 2 and isinstance(host[0], str)
            and not isinstance(host[1], str))


def _prev_value(value):
    value = _value(value)
    if value == '':
        raise _etcd_error(201, 'PrevValue is Required in POST form', '"prevValue" cannot be empty')
    return value


def _stats(text):
    import json
    return _result((json.loads(text), None))
