"""client.watch(): an iterator of changes and resync items."""
import threading

import pytest

import pyetcd
from pyetcd import WatchResync


def test_events_in_order_with_prev_node(client):
    with client.watch('/wk') as watch:
        client.write('/wk', '1')
        client.write('/wk', '2')
        client.delete('/wk')
        events = [next(watch) for _ in range(3)]
    assert [e.action for e in events] == ['set', 'set', 'delete']
    assert events[1].node['value'] == '2' and events[1].prevNode['value'] == '1'
    assert events[2].prevNode['value'] == '2' and 'value' not in events[2].node
    assert all(isinstance(e.x_etcd_index, int) for e in events)
    assert watch.closed


def test_recursive_and_after_index(client):
    first = client.write('/dir/a', '1').node['modifiedIndex']
    client.write('/dir/sub/b', '2')
    watch = client.watch('/dir', recursive=True, after_index=first - 1)
    got = [next(watch).node['key'] for _ in range(2)]
    assert got == ['/dir/a', '/dir/sub/b']
    client.write('/dir/c', '3')
    assert next(watch).node['key'] == '/dir/c'
    watch.close()


def test_resync_after_history_window(client):
    start = client.write('/hist', '0').node['modifiedIndex']
    for i in range(1005):
        client.write('/other', str(i))
    watch = client.watch('/hist', after_index=start)
    item = next(watch)
    assert isinstance(item, WatchResync)
    assert item.snapshot.node['value'] == '0' and item.index >= start + 1005
    client.write('/hist', 'after')
    assert next(watch).node['value'] == 'after'
    watch.close()


def test_close_from_another_thread_ends_iteration(client):
    watch = client.watch('/never')
    result = []

    def iterate():
        result.append(list(watch))

    t = threading.Thread(target=iterate)
    t.start()
    closer = threading.Timer(0.2, watch.close)
    closer.start()
    t.join(10)
    closer.join()
    assert not t.is_alive() and result == [[]]
    with pytest.raises(StopIteration):
        next(watch)


def test_watch_of_unreachable_cluster_gives_up(client):
    from etcd_cluster import free_port
    from pyetcd.client import Client
    dead = Client(host='127.0.0.1:%d' % free_port(), connect_timeout=0.2)
    with pytest.raises(pyetcd.EtcdConnectionFailed):
        dead.watch('/k')
    watch = client.watch('/k', give_up_after=0.5, idle_timeout=0.5)
    watch.close()
