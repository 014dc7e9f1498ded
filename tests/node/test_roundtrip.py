"""Multi-process REST round trips through a real node process, including 1 GiB streamed both ways."""
import hashlib
import os

import requests


def stream(size, seed, chunk=1 << 20):
    """Deterministic pseudo-random bytes, generated in chunks (never the whole file in memory)."""
    h = hashlib.sha256(seed.to_bytes(8, "little")).digest()
    block = (h * ((chunk // 32) + 1))[:chunk]
    sent = 0
    i = 0
    while sent < size:
        n = min(chunk, size - sent)
        # vary each chunk so blocks differ
        piece = i.to_bytes(8, "little") + block[8:n] if n > 8 else block[:n]
        yield piece
        sent += n
        i += 1


def digest_of(size, seed):
    h = hashlib.sha256()
    for piece in stream(size, seed):
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
