"""Multi-process REST round trips through a real node process, including 1 GiB streamed both ways."""
import hashlib
import os
import time

import requests


def stream(size, seed, chunk=1 << 20):
    """Deterministic bytes where every 64 KiB block is distinct, yielded in pieces of `chunk` bytes (never the
    whole file in memory). The content depends only on (size, seed), not on `chunk`."""
    base = (hashlib.sha256(seed.to_bytes(8, "little")).digest() * 2048)[:65536]
    buf = bytearray()
    sent = 0
    block = 0
    while sent < size:
        while len(buf) < chunk and (sent + len(buf)) < size:
            buf += block.to_bytes(8, "little") + base[8:]
            block += 1
        n = min(chunk, size - sent)
        yield bytes(buf[:n])
        del buf[:n]
        sent += n


def digest_of(size, seed, chunk=1 << 20):
    h = hashlib.sha256()
    for piece in stream(size, seed, chunk):
        h.update(piece)
    return h.hexdigest()


def test_one_gib_round_trip_and_restart(make_node):
    node = make_node("big").start()
    size = 1 << 30
    r = requests.post(node.url + "/data", data=stream(size, 1), timeout=1800)
    assert r.status_code == 200, r.text
    cid = r.text
    with requests.get(node.url + f"/data/{cid}", stream=True, timeout=1800) as d:
        assert d.status_code == 200
        assert int(d.headers["Content-Length"]) == size
        h = hashlib.sha256()
        got = 0
        for piece in d.iter_content(1 << 20):
            h.update(piece)
            got += len(piece)
    assert got == size
    assert h.hexdigest() == digest_of(size, 1)
    # A range in the middle of the file, across a block boundary.
    r = requests.get(node.url + f"/data/{cid}", headers={"Range": "bytes=65530-65545"}, timeout=60)
    assert r.status_code == 206
    assert len(r.content) == 16
    # Restart keeps everything.
    node.stop()
    node.start()
    assert [d["cid"] for d in node.datasets()] == [cid]
    space = node.space()
    assert space["totalBlocks"] == size // 65536 + 1
    assert space["quotaUsedBytes"] > size


def test_graceful_shutdown_on_sigterm(make_node):
    node = make_node("term").start()
    node.stop()
    assert node.proc.returncode == 0


def test_second_signal_aborts_requests_in_progress(make_node):
    import signal
    import socket
    node = make_node("twice").start()
    with socket.create_connection(("127.0.0.1", node.port), timeout=10) as s:
        # An upload whose client stalls half-way.
        s.sendall(b"POST /api/codex/v1/data HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + b"\x05" * 3000000)
        time.sleep(0.5)
        node.proc.send_signal(signal.SIGINT)
        time.sleep(1.5)
        # A graceful stop waits for the upload...
        assert node.proc.poll() is None
        # ...a second signal aborts it and stops.
        node.proc.send_signal(signal.SIGINT)
        node.proc.wait(timeout=20)
    assert node.proc.returncode == 0
    node.start()
    assert node.datasets() == []
    space = node.space()
    assert space["totalBlocks"] == 0 and space["quotaUsedBytes"] == 0
