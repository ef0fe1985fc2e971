"""DNS SRV discovery (pyetcd raised NotImplementedError), against a small DNS server on loopback."""
import socket
import struct
import threading

import pytest

import pyetcd
from pyetcd.client import Client, EtcdDiscoveryFailed


def encode_name(name):
    out = b''
    for label in name.rstrip('.').split('.'):
        out += bytes([len(label)]) + label.encode()
    return out + b'\0'


def read_name(packet, offset):
    labels = []
    while packet[offset]:
        n = packet[offset]
        labels.append(packet[offset + 1:offset + 1 + n].decode())
        offset += 1 + n
    return '.'.join(labels).lower() + '.', offset + 1


class DnsServer(object):
    """Answers SRV questions from `zone` ({name: [(priority, weight, port, target)]}), NXDOMAIN
    for anything else."""

    def __init__(self, zone):
        self.zone = zone
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.addr = '127.0.0.1:%d' % self.sock.getsockname()[1]
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop_flag.is_set():
            try:
                packet, peer = self.sock.recvfrom(1500)
            except socket.timeout:
                continue
            qid, flags = struct.unpack('>HH', packet[:4])
            name, end = read_name(packet, 12)
            qtype = struct.unpack('>H', packet[end:end + 2])[0]
            question = packet[12:end + 4]
            records = self.zone.get(name, []) if qtype == 33 else []
            rcode = 0 if name in self.zone else 3
            answers = b''
            for prio, weight, port, target in records:
                rdata = struct.pack('>HHH', prio, weight, port) + encode_name(target)
                answers += (b'\xc0\x0c' + struct.pack('>HHIH', 33, 1, 60, len(rdata)) + rdata)
            head = struct.pack('>HHHHHH', qid, 0x8400 | (flags & 0x0100) | rcode, 1,
                               len(records), 0, 0)
            self.sock.sendto(head + question + answers, peer)

    def stop(self):
        self.stop_flag.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def dns(cluster):
    zone = {'_etcd-client._tcp.example.test.': [
        (10, 10, n.client_port, 'localhost.') for n in cluster.nodes]}
    server = DnsServer(zone)
    yield server
    server.stop()


def test_srv_discovery(client, cluster, dns):
    client.write('/srv', 'found')
    c = Client(srv_domain='example.test', srv_name_server=dns.addr)
    assert c._srv_domain == 'example.test'
    assert sorted(c._urls) == sorted('http://localhost:%d' % n.client_port
                                     for n in cluster.nodes)
    assert c._hosts[0][0] == 'localhost'
    assert c.read('/srv').node['value'] == 'found'


def test_srv_without_records_fails_clearly(dns):
    with pytest.raises(EtcdDiscoveryFailed) as err:
        Client(srv_domain='nothing.test', srv_name_server=dns.addr)
    assert 'nothing.test' in str(err.value)
    assert issubclass(EtcdDiscoveryFailed, pyetcd.client.ClientException)
