"""pyetcd: a client for etcd's v2 API, with pyetcd 1.11.1's API on the rsetcd Rust core.

``from pyetcd.client import Client`` and the exceptions below work as with pyetcd; see the
package README for every difference. The exception hierarchy and :class:`EtcdResult` are plain
Python (as in pyetcd); every request is made by the native module ``pyetcd._native``.
"""
import json

__author__ = 'rsetcd developers (API of pyetcd by TwinDB Development Team)'
__email__ = 'dev@twindb.com'
#: The pyetcd release whose API this package implements (programs compare it).
__version__ = '1.11.1'


# Exceptions

class EtcdException(Exception):
    """
    Generic Etcd error.

    Raised by this package with these attributes (``None`` when they do not apply):
    ``error_code`` (etcd's code, e.g. 100), ``cause`` (what the error is about, usually the key),
    ``index`` (etcd's index when the error happened) and ``status`` (the HTTP status of an
    :class:`EtcdHttpError`). ``str(err)`` is etcd's message, as with pyetcd.
    """
    error_code = None
    cause = None
    index = None
    status = None


class EtcdKeyNotFound(EtcdException):
    """
    Error EcodeKeyNotFound (http code 100)
    """


class EtcdTestFailed(EtcdException):
    """
    Error EcodeTestFailed (http code 101)
    """


class EtcdNotFile(EtcdException):
    """
    Error EcodeNotFile (http code 102)
    """


class EtcdNoMorePeer(EtcdException):
    """
    Error ecodeNoMorePeer (http code 103)
    """


class EtcdNotDir(EtcdException):
    """
    Error EcodeNotDir (http code 104)
    """


class EtcdNodeExist(EtcdException):
    """
    Error EcodeNodeExist (http code 105)
    """


class EtcdKeyIsPreserved(EtcdException):
    """
    Error ecodeKeyIsPreserved (http code 106)
    """


class EtcdRootROnly(EtcdException):
    """
    Error EcodeRootROnly (http code 107)
    """


class EtcdDirNotEmpty(EtcdException):
    """
    Error EcodeDirNotEmpty (http code 108)
    """


class EtcdExistingPeerAddr(EtcdException):
    """
    Error ecodeExistingPeerAddr (http code 109)
    """


class EtcdUnauthorized(EtcdException):
    """
    Error EcodeUnauthorized (http code 110)
    """


class EtcdValueRequired(EtcdException):
    """
    Error ecodeValueRequired (http code 200)
    """


class EtcdPrevValueRequired(EtcdException):
    """
    Error EcodePrevValueRequired (http code 201)
    """


class EtcdTTLNaN(EtcdException):
    """
    Error EcodeTTLNaN (http code 202)
    """


class EtcdIndexNaN(EtcdException):
    """
    Error EcodeIndexNaN (http code 203)
    """


class EtcdValueOrTTLRequired(EtcdException):
    """
    Error ecodeValueOrTTLRequired (http code 204)
    """


class EtcdTimeoutNaN(EtcdException):
    """
    Error ecodeTimeoutNaN (http code 205)
    """


class EtcdNameRequired(EtcdException):
    """
    Error ecodeNameRequired (http code 206)
    """


class EtcdIndexOrValueRequired(EtcdException):
    """
    Error ecodeIndexOrValueRequired (http code 207)
    """


class EtcdIndexValueMutex(EtcdException):
    """
    Error ecodeIndexValueMutex (http code 208)
    """


class EtcdInvalidField(EtcdException):
    """
    Error EcodeInvalidField (http code 209)
    """


class EtcdInvalidForm(EtcdException):
    """
    Error EcodeInvalidForm (http code 210)
    """


class EtcdRefreshValue(EtcdException):
    """
    Error EcodeRefreshValue (http code 211)
    """


class EtcdRefreshTTLRequired(EtcdException):
    """
    Error EcodeRefreshTTLRequired (http code 212)
    """


class EtcdRaftInternal(EtcdException):
    """
    Error EcodeRaftInternal (http code 300)
    """


class EtcdLeaderElect(EtcdException):
    """
    Error EcodeLeaderElect (http code 301)
    """


class EtcdWatcherCleared(EtcdException):
    """
    Error EcodeWatcherCleared (http code 400)
    """


class EtcdEventIndexCleared(EtcdException):
    """
    Error EcodeEventIndexCleared (http code 401)
    """


class EtcdStandbyInternal(EtcdException):
    """
    Error ecodeStandbyInternal (http code 402)
    """


class EtcdInvalidActiveSize(EtcdException):
    """
    Error ecodeInvalidActiveSize (http code 403)
    """


class EtcdInvalidRemoveDelay(EtcdException):
    """
    Error ecodeInvalidRemoveDelay (http code 404)
    """


class EtcdClientInternal(EtcdException):
    """
    Error ecodeClientInternal (http code 500)
    """


class EtcdInvalidResponse(EtcdException):
    """
    Error that raises if response from etcd is invalid
    """


class EtcdEmptyResponse(EtcdInvalidResponse):
    """
    Error that raises if response from etcd is empty
    """


# Beyond pyetcd: failures pyetcd reported as a bare EtcdException (or not at all).

class EtcdConnectionFailed(EtcdException):
    """
    No endpoint answered: connections refused or broken, on every endpoint tried (each
    endpoint's failure is in the message). For a read, safe to try again later.
    """


class EtcdTimeout(EtcdConnectionFailed):
    """
    No answer within the timeout (the client's ``timeout``, or a ``read(wait=True,
    timeout=...)``'s).
    """


class EtcdTlsError(EtcdConnectionFailed):
    """
    The TLS handshake failed; the message says what to fix (an untrusted CA, a certificate for
    another host, a missing or refused client certificate).
    """


class EtcdOutcomeUnknown(EtcdException):
    """
    A write was sent but its outcome is unknown: the connection failed or timed out before the
    answer came. It may or may not have been applied, and it was *not* re-sent to another
    endpoint (pyetcd re-sent it, which could apply it twice). Read the key to find out.
    """


class EtcdHttpError(EtcdException):
    """
    An HTTP error answer without an etcd error body (members and stats errors, proxies):
    ``status`` is the HTTP status. pyetcd took such answers for a dead host and tried the next.
    """


class EtcdInvalidArgument(EtcdException, ValueError):
    """
    An argument this client refuses before sending anything: a malformed key (``//``, ``.``
    or ``..`` segments), a member id that is not hexadecimal...
    """


class EtcdRaftInternalOutcomeUnknown(EtcdOutcomeUnknown, EtcdRaftInternal):
    """
    etcd answered a write with error 300 (raft internal error: the proposal timed out, often
    without quorum): the write may still be applied. Caught by ``except EtcdRaftInternal`` too.
    """


class EtcdResult(object):
    """
    Response from Etcd API.

    The client returns these; they can also be built, as with pyetcd, from a response-like
    object with ``content`` (str or bytes), ``status_code`` and ``headers``
    (``requests.Response``, or a test double).

    :param response: Response from server as ``requests.(get|post|put)``
        returns.
    :type response: requests.Response
    :raise EtcdException: if response contains non-200 errorCode.
    :raise EtcdInvalidResponse: if payload is invalid.
    :raise EtcdEmptyResponse: if response content from etcd is empty.
    :raise EtcdHttpError: if the status is an HTTP error without an etcd error body.
    """
    _payload = None
    _response_content = None
    _x_etcd_index = None
    _exception_codes = {
        100: EtcdKeyNotFound,
        101: EtcdTestFailed,
        102: EtcdNotFile,
        103: EtcdNoMorePeer,
        104: EtcdNotDir,
        105: EtcdNodeExist,
        106: EtcdKeyIsPreserved,
        107: EtcdRootROnly,
        108: EtcdDirNotEmpty,
        109: EtcdExistingPeerAddr,
        110: EtcdUnauthorized,
        200: EtcdValueRequired,
        201: EtcdPrevValueRequired,
        202: EtcdTTLNaN,
        203: EtcdIndexNaN,
        204: EtcdValueOrTTLRequired,
        205: EtcdTimeoutNaN,
        206: EtcdNameRequired,
        207: EtcdIndexOrValueRequired,
        208: EtcdIndexValueMutex,
        209: EtcdInvalidField,
        210: EtcdInvalidForm,
        211: EtcdRefreshValue,
        212: EtcdRefreshTTLRequired,
        300: EtcdRaftInternal,
        301: EtcdLeaderElect,
        400: EtcdWatcherCleared,
        401: EtcdEventIndexCleared,
        402: EtcdStandbyInternal,
        403: EtcdInvalidActiveSize,
        404: EtcdInvalidRemoveDelay,
        500: EtcdClientInternal
    }

    def __init__(self, response):
        """
        Initialise EtcdResult instance

        :param response: Response from etcd
        :type response: requests.models.Response
        """
        try:
            self._x_etcd_index = int(response.headers['X-Etcd-Index'])
        except (TypeError, AttributeError, KeyError, ValueError):
            self._x_etcd_index = None

        try:
            status_code = response.status_code
        except AttributeError as err:
            raise EtcdInvalidResponse(err)

        if status_code in [204, 205]:
            self._response_content = response.content
            self._payload = {}
            return
        content = response.content
        if isinstance(content, (bytes, bytearray)):
            try:
                content = bytes(content).decode('utf-8')
            except UnicodeDecodeError as err:
                raise EtcdInvalidResponse(err)
        # pyetcd compared with '' only, so requests' b'' became EtcdInvalidResponse.
        if content is None or (isinstance(content, str) and not content.strip()):
            raise EtcdEmptyResponse('Empty response from etcd')
        self._response_content = content
        try:
            self._payload = json.loads(content)
            self._raise_for_status(self._payload)
        except (ValueError, TypeError, AttributeError) as err:
            raise EtcdInvalidResponse(err)
        if isinstance(status_code, int) and status_code >= 400:
            raise _http_error(status_code, self._payload)
        raise_for_status = getattr(response, 'raise_for_status', None)
        if callable(raise_for_status):
            try:
                raise_for_status()
            except Exception as err:  # requests.HTTPError; not a dead host
                raise EtcdHttpError(str(err)) from err

    def __repr__(self):
        content = self._response_content
        if content is None or not isinstance(content, str):
            if isinstance(content, (bytes, bytearray)):
                return bytes(content).decode('utf-8', 'replace')
            return json.dumps(self._payload, separators=(',', ':'))
        return content

    def _get_property(self, key):
        try:
            return self._payload[key]
        except (KeyError, TypeError):
            return None

    def _raise_for_status(self, payload):
        """
        Raise Etcd exception if payload contains errorCode
        :param payload: object decoded from JSON
        :raise EtcdException: if errorCode is present in payload
        """
        try:
            error_code = payload['errorCode']
        except KeyError:
            return
        message = payload.get('message', 'etcd error %s' % error_code)
        raise _native_error('etcd', error_code, message, payload.get('cause'),
                            payload.get('index'), None)

    @property
    def x_etcd_index(self):
        """current etcd index that represents key modification version."""
        return self._x_etcd_index

    @property
    def action(self):
        """Action type"""
        return self._get_property('action')

    @property
    def node(self):
        """Node class instance. It holds the current key value."""
        return self._get_property('node')

    @property
    def prevNode(self):  # pylint: disable=invalid-name
        """Node class instance. It holds the previous key value."""
        return self._get_property('prevNode')

    @property
    def version_etcdcluster(self):
        """Version of Etcd cluster"""
        return self._get_property('etcdcluster')

    @property
    def version_etcdserver(self):
        """Version of Etcd server"""
        return self._get_property('etcdserver')

    @property
    def leader(self):
        """Leader of cluster"""
        return self._get_property('leader')

    @property
    def followers(self):
        """Followers of leader"""
        return self._get_property('followers')

    @property
    def id(self):  # pylint: disable=invalid-name
        """etcd identifier of the etcd node."""
        return self._get_property('id')

    @property
    def leaderInfo(self):  # pylint: disable=invalid-name
        """leaderInfo"""
        return self._get_property('leaderInfo')

    @property
    def name(self):
        """etcd name of the node."""
        return self._get_property('name')

    @property
    def recvAppendRequestCnt(self):  # pylint: disable=invalid-name
        """recvAppendRequestCnt"""
        return self._get_property('recvAppendRequestCnt')

    @property
    def sendAppendRequestCnt(self):  # pylint: disable=invalid-name
        """sendAppendRequestCnt"""
        return self._get_property('sendAppendRequestCnt')

    @property
    def startTime(self):  # pylint: disable=invalid-name
        """startTime"""
        return self._get_property('startTime')

    @property
    def state(self):
        """state"""
        return self._get_property('state')

    @property
    def health(self):
        """name"""
        return self._get_property('health') == "true"


class WatchResync(object):
    """
    An item of :meth:`pyetcd.client.Client.watch`: the watch fell out of etcd's history of the
    last 1,000 events, so some changes cannot be reported one by one. ``snapshot`` is the state
    of the key at ``index`` (an :class:`EtcdResult`, ``None`` when the key does not exist);
    events continue from ``index + 1``. Reconcile your state with the snapshot.
    """

    def __init__(self, snapshot, index):
        #: The key's state (recursive for a recursive watch), or None.
        self.snapshot = snapshot
        #: The etcd index of the snapshot.
        self.index = index

    def __repr__(self):
        return 'WatchResync(index=%d, snapshot=%r)' % (self.index, self.snapshot)


def _http_error(status, payload):
    message = payload.get('message') if isinstance(payload, dict) else None
    err = EtcdHttpError(message or 'HTTP %d' % status)
    err.status = status
    return err


def _native_error(kind, code, message, cause, index, status):
    """The exception for a failure the native client reports (called from Rust)."""
    if kind == 'etcd':
        cls = EtcdResult._exception_codes.get(code, EtcdException)
    elif kind == 'outcome_unknown':
        cls = EtcdRaftInternalOutcomeUnknown if code == 300 else EtcdOutcomeUnknown
    elif kind in ('config', 'discovery'):
        from pyetcd.client import ClientException, EtcdDiscoveryFailed
        cls = EtcdDiscoveryFailed if kind == 'discovery' else ClientException
    else:
        cls = {
            'timeout': EtcdTimeout,
            'tls': EtcdTlsError,
            'connect': EtcdConnectionFailed,
            'http': EtcdHttpError,
            'invalid': EtcdInvalidResponse,
            'empty': EtcdEmptyResponse,
            'argument': EtcdInvalidArgument,
        }.get(kind, EtcdException)
    err = cls(message)
    if isinstance(err, EtcdException):
        err.error_code = code
        err.cause = cause
        err.index = index
        err.status = status
    return err
