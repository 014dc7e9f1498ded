"""Garbage on the node's libp2p port: seeded random bytes (raw, after the multistream header, inside a Noise
handshake, oversized frames, over-long varints). The node must drop each bad connection and nothing else: it still
answers REST and a peer can still connect and fetch a dataset. (The discovery UDP port gets its own such test when
the DHT listens on it; today nothing does.)
"""
import hashlib
import os
import random
import socket
from concurrent.futures import ThreadPoolExecutor

import requests

from test_network import connect, download_digest

SEED = 20261207
CONNECTIONS = 400
MULTISTREAM = b"\x13/multistream/1.0.0\n"


def garbage(rng):
    def noise(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    k = rng.randrange(7)
    if k == 0:
        return noise(rng.randrange(1, 5000))
    if k == 1:
        return MULTISTREAM + noise(rng.randrange(1, 300))
    if k == 2:
        return MULTISTREAM + b"\x07/noise\n" + noise(rng.randrange(1, 3000))
    if k == 3:  # a Noise message of the right first length, random content
        return MULTISTREAM + b"\x07/noise\n" + bytes([0, 32]) + noise(32 + rng.randrange(0, 200))
    if k == 4:  # a Noise frame announcing 65535 bytes
        return MULTISTREAM + b"\x07/noise\n" + bytes([0xFF, 0xFF]) + noise(rng.randrange(0, 70000))
    if k == 5:  # an over-long multistream varint
        return b"\xff" * rng.randrange(1, 64) + noise(10)
    return bytes([rng.randrange(256)]) * rng.randrange(1, 100000)


def test_garbage_on_the_libp2p_port_leaves_the_node_serving(make_node):
    seeder = make_node("seeder").start()
    data = os.urandom(3 << 20)
    cid = requests.post(seeder.url + "/data", data=data, timeout=60).text
    info = requests.get(seeder.url + "/debug/info", timeout=10).json()
    tcp_port = int(info["addrs"][0].split("/")[4])
    rng = random.Random(SEED)
    payloads = [garbage(rng) for _ in range(CONNECTIONS)]

    def hit(payload):
        """Sends `payload` and reads until the node closes the connection (or 2 s pass), so that the node has
        handled the garbage before it goes away. True when the node closed it."""
        with socket.create_connection(("127.0.0.1", tcp_port), timeout=5) as s:
            try:
                s.sendall(payload)
                s.settimeout(2)
                while s.recv(65536):
                    pass
                return True
            except OSError:
                return False  # reset (closed too) or timed out

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(hit, payloads))
    assert sum(results) > 0  # at least some garbage made the node hang up
    assert seeder.proc.poll() is None, seeder.output()
    assert requests.get(seeder.url + "/space", timeout=10).status_code == 200
    # The libp2p listener still works: a fresh node connects and fetches the dataset.
    leecher = make_node("leecher").start()
    connect(leecher, seeder)
    assert download_digest(leecher, cid, timeout=120) == (hashlib.sha256(data).hexdigest(), len(data))
    assert seeder.proc.poll() is None, seeder.output()
