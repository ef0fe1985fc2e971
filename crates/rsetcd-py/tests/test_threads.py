"""One client shared by many threads."""
import threading

import pyetcd


def run_threads(n, target):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads)
    assert not errors, errors


def test_many_threads_read_and_write_their_own_keys(client):
    def work(i):
        for j in range(100):
            client.write('/t/%d' % i, '%d-%d' % (i, j))
            assert client.read('/t/%d' % i).node['value'] == '%d-%d' % (i, j)

    run_threads(8, work)
    listing = client.read('/t', recursive=True, sorted=True).node['nodes']
    assert [n['value'] for n in listing] == ['%d-99' % i for i in range(8)]


def test_cas_counter_from_many_threads(client):
    client.write('/counter', '0')
    applied = []

    def work(i):
        done = 0
        while done < 50:
            r = client.read('/counter')
            try:
                client.compare_and_swap('/counter', str(int(r.node['value']) + 1),
                                        prev_index=r.node['modifiedIndex'])
                done += 1
            except pyetcd.EtcdTestFailed:
                pass
        applied.append(done)

    run_threads(8, work)
    assert int(client.read('/counter').node['value']) == sum(applied) == 400


def test_threads_come_and_go(client):
    client.write('/k', 'v')
    for _ in range(20):
        run_threads(4, lambda i: client.read('/k'))
    assert client.read('/k').node['value'] == 'v'
