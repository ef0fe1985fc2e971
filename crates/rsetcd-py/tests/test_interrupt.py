"""Ctrl-C (SIGINT) during a wait: KeyboardInterrupt at once, the request cancelled, the client
and a watch still usable afterwards."""
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import json
import urllib.request

import pytest


def watchers(url):
    with urllib.request.urlopen(url + '/v2/stats/store', timeout=5) as r:
        return json.loads(r.read())['watchers']


def wait_for_watchers(url, n, timeout=10):
    """Until etcd at `url` has at least `n` watchers: a wait has reached it."""
    deadline = time.monotonic() + timeout
    while watchers(url) < n:
        assert time.monotonic() < deadline, 'no watcher registered at %s' % url
        time.sleep(0.01)

CHILD = textwrap.dedent('''
    import sys, time
    from pyetcd.client import Client
    c = Client(host=sys.argv[1:])
    c.write('/ctrlc', 'v')
    t = time.monotonic()
    try:
        print('waiting', flush=True)
        c.read('/ctrlc', wait=True)
        print('returned', flush=True)
    except KeyboardInterrupt:
        print('interrupted %.3f' % (time.monotonic() - t), flush=True)
    # The client still works after the cancelled wait.
    print(c.read('/ctrlc').node['value'], flush=True)
''')


def test_sigint_interrupts_read_wait(cluster):
    child = subprocess.Popen([sys.executable, '-c', CHILD] + cluster.urls,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == 'waiting'
        wait_for_watchers(cluster.urls[0], 1)
        sent = time.monotonic()
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=10)
        delay = time.monotonic() - sent
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    lines = out.split()
    assert lines[0] == 'interrupted', (out, err)
    assert lines[-1] == 'v', (out, err)
    assert child.returncode == 0, err
    assert delay < 2, delay


def test_signal_handler_exception_cancels_wait_in_process(client):
    """A handler that raises (as Ctrl-C's does) ends the wait on the main thread; the handler
    may itself use the client."""
    client.write('/alarm', 'v')
    seen = []

    class Stop(Exception):
        pass

    def handler(signum, frame):
        seen.append(client.read('/alarm').node['value'])  # re-entrant use from the handler
        raise Stop()

    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        t = time.monotonic()
        with pytest.raises(Stop):
            client.read('/alarm', wait=True)
        assert time.monotonic() - t < 2
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert seen == ['v']
    assert client.write('/alarm', 'w').node['value'] == 'w'


def test_interrupted_watch_loses_nothing(client):
    class Stop(Exception):
        pass

    def handler(signum, frame):
        raise Stop()

    watch = client.watch('/iw')
    old = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.3)
        with pytest.raises(Stop):
            next(watch)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    client.write('/iw', '1')
    client.write('/iw', '2')
    assert [next(watch).node['value'] for _ in range(2)] == ['1', '2']
    watch.close()


def test_other_threads_run_during_a_wait(client):
    """The GIL is released while a call waits."""
    client.write('/gil', 'v')
    done = threading.Event()

    def waiter():
        client.read('/gil', wait=True, timeout=10)
        done.set()

    before = watchers(client._urls[0])
    t = threading.Thread(target=waiter)
    t.start()
    wait_for_watchers(client._urls[0], before + 1)
    count = 0
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        client.read('/gil')
        count += 1
    assert not done.is_set() and count > 20
    client.write('/gil', 'w')
    t.join(10)
    assert done.is_set()
