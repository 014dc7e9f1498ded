"""A protected dataset spread over 3 nodes, one node killed, still downloads byte-identically (issue #6).

Design. Node A uploads 7 blocks of random bytes and protects them with `{"nodes": 3, "tolerance": 1}`: K = 2,
M = 1, steps = 4, so the protected tree has 12 leaves in three columns (`erasure.md` stepped layout, group `s` =
leaves `s, s+4, s+8`):

    column 0: leaves 0-3   original blocks 0-3
    column 1: leaves 4-7   original blocks 4-6 and one padding leaf
    column 2: leaves 8-11  parity (group 3's parity equals block 3: M = 1 is XOR and leaf 7 is zero padding)

B and C fetch the whole protected dataset over the network (`POST /data/{cid}/network`). The REST API cannot
drop single blocks, so the three nodes are stopped and each repo keeps only its share of the protected tree: the
other leaves' rows are deleted from the `leaves` table (a node serves leaf requests from it) and blocks no leaf
uses any more are deleted from `blocks`:

    A (the uploader): column 0, leaves 0-3
    B: column 1, leaves 4-7
    C: column 2, leaves 8-11 (parity)

All three restart and A is SIGKILLed: the whole first column is gone. No live node has the bytes of blocks 0-2 at
all (checked in B's and C's repos; block 3's bytes survive as group 3's XOR parity on C). A fresh node D connected
to B and C streams the protected dataset (`/network/stream`): it can only produce the first four blocks by
decoding each group from its column-1 leaf (B) and its parity leaf (C), racing the group's blocks instead of
waiting out a block nobody has ("take whichever K blocks arrive first", issue #6). Evidence besides the
byte-identical stream: D's repo then holds blocks 0-2 (it stored what it rebuilt), and only B and C delivered
blocks to D (`/debug/exchange`). The stream is bounded at 60 s (it takes about 5 s: one first-try wait).
"""
import hashlib
import os
import random
import sqlite3
import time

import requests

from conftest import cid_bytes, repo_path
from test_network import connect, peer_info

BLOCK = 65536


def keep_only(repo, tree_cid, keep):
    """Deletes every leaf of `tree_cid` except the indices in `keep` from a stopped node's repo, then the
    (non-manifest) blocks no leaf refers to, and sets the quota counters to what is left."""
    tree = cid_bytes(tree_cid)
    db = sqlite3.connect(os.path.join(repo, "repo.sqlite"))
    try:
        total = db.execute("SELECT COUNT(*) FROM leaves WHERE tree = ?", (tree,)).fetchone()[0]
        assert total == 12, f"expected the 12 leaves of the protected tree, found {total}"
        marks = ",".join("?" * len(keep))
        db.execute(f"DELETE FROM leaves WHERE tree = ? AND idx NOT IN ({marks})", (tree, *keep))
        db.execute("DELETE FROM leaves WHERE tree != ?", (tree,))
        db.execute("DELETE FROM blocks WHERE tree IS NULL AND cid NOT IN (SELECT block FROM leaves)")
        db.execute("UPDATE quota SET used = (SELECT COALESCE(SUM(size), 0) FROM blocks), "
                   "blocks = (SELECT COUNT(*) FROM blocks)")
        db.commit()
        left = sorted(r[0] for r in db.execute("SELECT idx FROM leaves WHERE tree = ?", (tree,)))
        assert left == sorted(keep), left
    finally:
        db.close()


def holds_bytes(repo, data):
    """True if the repo has a block whose CID's digest is SHA-256(data)."""
    db = sqlite3.connect(f"file:{os.path.join(repo, 'repo.sqlite')}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM blocks WHERE substr(cid, -32) = ?",
                          (hashlib.sha256(data).digest(),)).fetchone()[0] > 0
    finally:
        db.close()


def wait_until(what, predicate, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def has_leaves(repo, tree_cid, count):
    db = sqlite3.connect(f"file:{os.path.join(repo, 'repo.sqlite')}?mode=ro", uri=True)
    try:
        return db.execute("SELECT COUNT(*) FROM leaves WHERE tree = ?", (cid_bytes(tree_cid),)).fetchone()[0] >= count
    finally:
        db.close()


def spread_over_three_nodes(make_node):
    """The layout of the module docstring, A killed: returns (b, c, data, protected CID, protected tree, repos)."""
    a = make_node("a").start()
    b = make_node("b").start()
    c = make_node("c").start()
    data = random.Random(61).randbytes(6 * BLOCK + 4321)  # 7 blocks
    plain = requests.post(a.url + "/data", data=data, timeout=60).text
    r = requests.post(a.url + f"/data/{plain}/protect", json={"nodes": 3, "tolerance": 1}, timeout=120)
    assert r.status_code == 200, r.text
    protected = r.text.strip()
    manifest = {d["cid"]: d["manifest"] for d in a.datasets()}[protected]
    assert manifest["datasetSize"] == 12 * BLOCK
    tree = manifest["treeCid"]

    repos = {n: repo_path(n) for n in (a, b, c)}
    for n in (b, c):
        connect(n, a)
        r = requests.post(n.url + f"/data/{protected}/network", timeout=60)
        assert r.status_code == 200, r.text
    # All 12 leaves (one is padding) recorded on both B and C.
    for n in (b, c):
        wait_until("a full copy on B and C", lambda: has_leaves(repos[n], tree, 12), 60)
    for n in (a, b, c):
        n.stop()
    keep_only(repos[a], tree, range(0, 4))
    keep_only(repos[b], tree, range(4, 8))
    keep_only(repos[c], tree, range(8, 12))
    lost = [data[i * BLOCK:(i + 1) * BLOCK] for i in range(3)]
    for block in lost:
        assert holds_bytes(repos[a], block)
        assert not holds_bytes(repos[b], block) and not holds_bytes(repos[c], block)
    for n in (a, b, c):
        n.start()
    a.kill()
    return b, c, data, protected, tree, repos


def test_protected_dataset_spread_over_three_nodes_survives_one_killed(make_node):
    b, c, data, protected, tree, repos = spread_over_three_nodes(make_node)
    lost = [data[i * BLOCK:(i + 1) * BLOCK] for i in range(3)]
    d = make_node("d").start()
    connect(d, b)
    connect(d, c)
    t0 = time.time()
    with requests.get(d.url + f"/data/{protected}/network/stream", timeout=90) as got:
        assert got.status_code == 200, got.text
        body = got.content
    elapsed = time.time() - t0
    assert len(body) == len(data)
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
    assert elapsed < 60, f"the stream took {elapsed:.0f} s"

    # D rebuilt blocks 0-2 and stored them; nobody alive had them.
    for block in lost:
        assert holds_bytes(repo_path(d), block)
    info = requests.get(d.url + "/debug/exchange", timeout=10).json()
    by_peer = info["receivedBlocksByPeer"]
    assert set(by_peer) <= {peer_info(b)[0], peer_info(c)[0]}, by_peer
    assert by_peer, info
    assert info["rejectedDeliveries"] == 0, info


def test_background_download_of_a_protected_dataset_rebuilds_what_no_peer_has(make_node):
    b, c, data, protected, tree, repos = spread_over_three_nodes(make_node)
    # Few retries: a block no connected peer has is given up on in seconds, then rebuilt from its group.
    e = make_node("e", "--block-retries", "2").start()
    connect(e, b)
    connect(e, c)
    r = requests.post(e.url + f"/data/{protected}/network", timeout=60)
    assert r.status_code == 200, r.text
    deadline = time.time() + 120
    while True:
        status = requests.get(e.url + f"/data/{protected}/network/download", timeout=10).json()
        if status["state"] != "running":
            break
        assert time.time() < deadline, status
        time.sleep(0.2)
    assert status["state"] == "completed", status
    # Leaves 0-3 (column 0) were on A only: no peer delivered them, all four were rebuilt.
    assert (status["totalBlocks"], status["doneBlocks"]) == (12, 12), status
    assert status["recoveredBlocks"] == 4, status
    assert status["unavailableBlocks"] == 0, status
    assert status["fetchedBlocks"] == 8, status  # B's and C's leaves
    assert has_leaves(repo_path(e), tree, 12)
    # The whole protected dataset is local: it downloads with no peer left.
    b.kill()
    c.kill()
    got = requests.get(e.url + f"/data/{protected}", timeout=60)
    assert got.status_code == 200, got.text
    assert got.content == data
