"""Block-exchange faults between real node processes on 127.0.0.1 (issue #4, "Faults"):

* a seeder whose repo holds corrupted blocks: a leaf pointing at the wrong block (its bytes hash to their CID, but
  the proof does not place them in the tree) is rejected by the leecher's proof check and the seeder is penalised;
  pack bytes flipped on disk are caught by the seeder itself, which never serves them; the leecher gets every
  corrupted block from a second seeder and ends byte-identical;
* a client that closes its HTTP stream mid-download: the node carries on serving everyone else.
"""
import hashlib
import os
import socket
import sqlite3
import threading
import time

import requests

from conftest import B58, cid_bytes, repo_path
from test_network import connect, download_digest, peer_info
from test_roundtrip import digest_of, stream

BLOCK = 65536


def exchange_info(node):
    r = requests.get(node.url + "/debug/exchange", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(what, predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def rss_mib(node):
    with open(f"/proc/{node.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    return 0


def cid_text(raw):
    """base58btc ('z...') text of a binary CID."""
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "z" + "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def corrupt_repo(repo, tree_cid, swap, flip):
    """Edits a stopped node's repo. Leaves in `swap` are pointed at the block of the next leaf (hash-valid bytes
    that the leaf's proof does not cover); the pack bytes of the blocks of leaves in `flip` get 64 bytes inverted.
    Returns the CID texts of the flipped blocks."""
    tree = cid_bytes(tree_cid)
    db = sqlite3.connect(os.path.join(repo, "repo.sqlite"))
    try:
        locations = []
        for i in flip:
            row = db.execute("SELECT b.pack, b.pos, b.size, b.cid FROM leaves l JOIN blocks b ON b.cid = l.block "
                             "WHERE l.tree = ? AND l.idx = ?", (tree, i)).fetchone()
            assert row is not None and row[0] is not None, f"leaf {i} has no pack bytes: {row}"
            assert row[2] == BLOCK, row
            locations.append(row)
        for i in swap:
            n = db.execute("UPDATE leaves SET block = (SELECT block FROM leaves WHERE tree = ? AND idx = ?) "
                           "WHERE tree = ? AND idx = ?", (tree, i + 1, tree, i)).rowcount
            assert n == 1, f"leaf {i} not found"
        db.commit()
    finally:
        db.close()
    for pack, pos, _, _ in locations:
        with open(os.path.join(repo, "packs", f"{pack:06d}.pack"), "r+b") as f:
            f.seek(pos + 1000)
            data = f.read(64)
            f.seek(pos + 1000)
            f.write(bytes(b ^ 0xFF for b in data))
    return [cid_text(row[3]) for row in locations]


def test_corrupted_blocks_are_rejected_and_fetched_elsewhere(make_node):
    """Seeder s1's repo: leaves 20 and 70 point at the wrong (but intact) blocks, and the bytes of leaves 5 and 100
    are flipped in the pack file. The leecher first knows only s1, so every corrupted block is asked of s1:
    the two wrong leaves are delivered, fail the proof check and are rejected (s1 penalised: failures counted, or
    evicted after three); the flipped blocks are never delivered (s1 re-hashes before serving). While s1 is its only
    peer the leecher cannot complete. Then s2 joins and the download completes byte-identically, with the four
    corrupted blocks (at least) from s2."""
    s1 = make_node("s1").start()
    s2 = make_node("s2").start()
    leech = make_node("leech").start()
    size = 8 << 20  # 128 distinct blocks
    cids = {requests.post(s.url + "/data", data=stream(size, 21), timeout=300).text for s in (s1, s2)}
    assert len(cids) == 1
    cid = cids.pop()
    tree = {d["cid"]: d["manifest"] for d in s1.datasets()}[cid]["treeCid"]
    repo = repo_path(s1)
    s1.stop()
    flipped = corrupt_repo(repo, tree, swap=(20, 70), flip=(5, 100))
    s1.start()
    s1_id = peer_info(s1)[0]
    s2_id = peer_info(s2)[0]

    connect(leech, s1)
    r = requests.post(leech.url + f"/data/{cid}/network", timeout=60)
    assert r.status_code == 200, r.text
    wait_for("the leecher to reject both wrong leaves from s1",
             lambda: exchange_info(leech)["rejectedDeliveries"] >= 2, 45)
    info = exchange_info(leech)
    assert info["failuresByPeer"].get(s1_id, 0) >= 1 or info["peersEvicted"] >= 1, info
    log = os.path.join(os.path.dirname(s1.data_dir), "node-s1.log")
    def refused_both():
        lines = [x for x in open(log, errors="replace") if "does not match its CID" in x]
        return all(any(c in x for x in lines) for c in flipped)
    wait_for("s1 to refuse serving both flipped blocks (log)", refused_both, 30)
    # Only 124 good blocks (+ the manifest) can come from s1.
    assert leech.space()["totalBlocks"] <= size // BLOCK + 1 - 4

    connect(leech, s2)
    wait_for("the download to complete from s2",
             lambda: leech.space()["totalBlocks"] >= size // BLOCK + 1, 60)
    digest, n = download_digest(leech, cid, path="", timeout=120)
    assert n == size
    assert digest == digest_of(size, 21)
    info = exchange_info(leech)
    assert info["rejectedDeliveries"] >= 2, info
    assert info["receivedBlocksByPeer"].get(s2_id, 0) >= 4, info
    assert s2_id not in info["failuresByPeer"], info
    assert info["failuresByPeer"].get(s1_id, 0) >= 1 or info["peersEvicted"] >= 1, info


def aborted_stream(node, cid, read_bytes):
    """GET /data/{cid}/network/stream over a raw socket, read about `read_bytes`, then reset the connection."""
    s = socket.create_connection(("127.0.0.1", node.port), timeout=60)
    s.sendall(f"GET /api/codex/v1/data/{cid}/network/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    got = 0
    head = b""
    while got < read_bytes:
        piece = s.recv(1 << 16)
        assert piece, "the node closed the stream early"
        if not head:
            head = piece[:12]
        got += len(piece)
    assert head.startswith(b"HTTP/1.1 200"), head
    # SO_LINGER 0: close with a TCP reset, the rudest way a client can leave.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()
    return got


def test_client_closing_the_stream_midway_does_not_hurt_others(make_node):
    """While clients reset their /network/stream connections to the leecher after a few MiB, another client
    streams the same dataset from the leecher and a third downloads it from the seeder: both finish
    byte-identically. The leecher stays healthy (alive, /debug/info answers, RSS bounded) and a fresh full stream
    of the dataset works afterwards."""
    seed = make_node("seed").start()
    leech = make_node("leech").start()
    size = 32 << 20
    cid = requests.post(seed.url + "/data", data=stream(size, 23), timeout=300).text
    connect(leech, seed)
    expected = digest_of(size, 23)

    results = {}

    def full(name, node, path):
        try:
            results[name] = download_digest(node, cid, path=path, timeout=180)
        except Exception as e:  # reported below
            results[name] = e

    # The first abort happens before any other client, so its blocks are still being fetched when it leaves.
    assert aborted_stream(leech, cid, 3 << 20) >= 3 << 20
    others = [threading.Thread(target=full, args=("leech", leech, "network/stream")),
              threading.Thread(target=full, args=("seed", seed, ""))]
    for t in others:
        t.start()
    for k in range(3):
        aborted_stream(leech, cid, (1 + k) << 20)
    for t in others:
        t.join(240)
        assert not t.is_alive(), "a concurrent download hung"
    assert results["leech"] == (expected, size), results["leech"]
    assert results["seed"] == (expected, size), results["seed"]

    assert leech.proc.poll() is None, "the leecher exited"
    info = requests.get(leech.url + "/debug/info", timeout=10)
    assert info.status_code == 200 and info.json()["id"]
    assert rss_mib(leech) < 600, f"leecher RSS {rss_mib(leech)} MiB"
    assert download_digest(leech, cid, timeout=180) == (expected, size)
    assert seed.proc.poll() is None
