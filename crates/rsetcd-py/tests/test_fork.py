"""A client after fork(): works in the child (with connections of its own), and the parent's
connections are untouched by what the child does."""
import multiprocessing
import os

import pytest

from pyetcd import _native
from pyetcd.client import Client


def child_run(fn):
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = fn()
        except BaseException as e:  # the child must not return into pytest
            os.write(2, ('child failed: %r\n' % e).encode())
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_client_works_in_child_and_parent_after_fork(client):
    client.write('/fork', 'parent')  # the parent has pooled connections now
    generation = _native.fork_generation()

    def child():
        assert _native.fork_generation() == generation + 1
        assert client.read('/fork').node['value'] == 'parent'
        for i in range(20):
            client.write('/fork-child', str(i))
        return 0

    assert child_run(child) == 0
    assert _native.fork_generation() == generation
    # The parent's pooled connections still work (the child never touched their registration).
    for _ in range(20):
        assert client.read('/fork-child').node['value'] == '19'
    client.write('/fork', 'again')


def test_watch_from_before_fork_fails_clearly_in_child(client):
    watch = client.watch('/forkwatch')

    def child():
        try:
            next(watch)
        except Exception as e:  # noqa: BLE001 - the message is what is checked
            return 0 if 'fork' in str(e) else 2
        return 3

    assert child_run(child) == 0
    client.write('/forkwatch', 'v')
    assert next(watch).node['value'] == 'v'
    watch.close()


def _mp_worker(urls, queue):
    c = Client(host=urls)
    queue.put(c.read('/mp').node['value'])


def _mp_inherited(queue):
    queue.put(INHERITED.read('/mp').node['value'])


INHERITED = None


@pytest.mark.parametrize('method', ['fork', 'spawn'])
def test_multiprocessing(client, cluster, method):
    global INHERITED
    client.write('/mp', 'shared')
    INHERITED = client
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_mp_worker, args=(cluster.urls, queue))]
    if method == 'fork':
        procs.append(ctx.Process(target=_mp_inherited, args=(queue,)))
    for p in procs:
        p.start()
    results = [queue.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert results == ['shared'] * len(procs)
