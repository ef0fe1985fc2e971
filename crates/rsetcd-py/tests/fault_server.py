"""A misbehaving HTTP server on loopback, for the failures real etcd does not produce on demand:
an empty body, an HTTP error without an etcd body, a request read and never answered, a closed
connection, an etcd error code etcd 3.4 never sends. Not a stand-in for etcd: every behaviour test
runs against real etcd; these test how the client takes a broken answer."""
import socket
import threading


class FaultServer(object):
    """Answers every request with `answer(request_bytes)`: bytes to send, or None to close the
    connection without an answer, or 'hang' to keep it open and silent until stop()."""

    def __init__(self, answer):
        self.answer = answer
        self.requests = []
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(('127.0.0.1', 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.url = 'http://127.0.0.1:%d' % self.port
        self._stop = threading.Event()
        self._conns = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self._conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(0.2)
        buf = b''
        while not self._stop.is_set():
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            head, sep, rest = buf.partition(b'\r\n\r\n')
            if not sep:
                continue
            length = 0
            for line in head.split(b'\r\n')[1:]:
                name, _, value = line.partition(b':')
                if name.strip().lower() == b'content-length':
                    length = int(value.strip())
            if len(rest) < length:
                continue
            request, buf = head + sep + rest[:length], rest[length:]
            self.requests.append(request)
            out = self.answer(request)
            if out == 'hang':
                self._stop.wait()
                return
            if out is None:
                conn.close()
                return
            try:
                conn.sendall(out)
            except OSError:
                return

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        for c in self._conns:
            try:
                c.close()
            except OSError:
                pass
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


def http(status, body, content_type='application/json', headers=()):
    """An HTTP/1.1 answer."""
    if isinstance(body, str):
        body = body.encode()
    lines = ['HTTP/1.1 %s' % status, 'Content-Type: %s' % content_type,
             'Content-Length: %d' % len(body)] + list(headers)
    return ('\r\n'.join(lines) + '\r\n\r\n').encode() + body
