"""Block exchange between real node processes on 127.0.0.1: /connect, /data/{cid}/network/stream,
POST /data/{cid}/network, seeders that die, and a download with no peer left."""
import hashlib
import os
import threading
import time

import requests

from test_roundtrip import stream, digest_of


def peer_info(node):
    info = requests.get(node.url + "/debug/info", timeout=10).json()
    return info["id"], info["addrs"]


def connect(a, b):
    pid, addrs = peer_info(b)
    r = requests.get(a.url + f"/connect/{pid}", params=[("addrs", x) for x in addrs], timeout=30)
    assert r.status_code == 200, r.text


def download_digest(node, cid, path="network/stream", timeout=600):
    """(sha256 hex, byte count) of GET /data/{cid}/{path}; path "" is the local download."""
    h = hashlib.sha256()
    n = 0
    with requests.get(node.url + f"/data/{cid}" + (f"/{path}" if path else ""), stream=True, timeout=timeout) as r:
        assert r.status_code == 200, r.text
        for piece in r.iter_content(1 << 20):
            h.update(piece)
            n += len(piece)
    return h.hexdigest(), n


def test_download_100mib_from_one_seeder(make_node):
    a = make_node("a").start()
    b = make_node("b").start()
    size = 100 << 20
    cid = requests.post(a.url + "/data", data=stream(size, 5), timeout=600).text
    connect(b, a)
    m = requests.get(b.url + f"/data/{cid}/network/manifest", timeout=60)
    assert m.status_code == 200, m.text
    assert m.json()["manifest"]["datasetSize"] == size
    digest, n = download_digest(b, cid)
    assert n == size
    assert digest == digest_of(size, 5)
    # The stream stored the blocks: the local download now works with A gone.
    a.kill()
    digest, n = download_digest(b, cid, path="")
    assert digest == digest_of(size, 5)


def test_background_download_and_a_seeder_killed_midway(make_node):
    seeders = [make_node(f"s{i}").start() for i in range(3)]
    leech = make_node("leech").start()
    size = 40 << 20
    cids = {requests.post(s.url + "/data", data=stream(size, 9), timeout=600).text for s in seeders}
    assert len(cids) == 1
    cid = cids.pop()
    for s in seeders:
        connect(leech, s)
    r = requests.post(leech.url + f"/data/{cid}/network", timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["cid"] == cid
    time.sleep(0.3)
    seeders[0].kill()
    deadline = time.time() + 300
    while time.time() < deadline:
        space = leech.space()
        if space["totalBlocks"] >= size // 65536 + 1:
            break
        time.sleep(0.5)
    digest, n = download_digest(leech, cid, path="")
    assert digest == digest_of(size, 9)
    # The download's progress record says it completed, every block local.
    status = wait_for_download(leech, cid)
    assert status["state"] == "completed", status
    assert status["totalBlocks"] == size // 65536
    assert status["doneBlocks"] == status["totalBlocks"]
    assert 0 < status["fetchedBlocks"] <= status["totalBlocks"]
    assert status["finishedAt"] >= status["startedAt"]


def wait_for_download(node, cid, timeout=300):
    deadline = time.time() + timeout
    while True:
        r = requests.get(node.url + f"/data/{cid}/network/download", timeout=10)
        assert r.status_code == 200, r.text
        status = r.json()
        assert status["cid"] == cid
        assert 0 <= status["doneBlocks"] <= status["totalBlocks"]
        if status["state"] != "running" or time.time() > deadline:
            return status
        time.sleep(0.2)


def test_background_download_that_fails_says_why(make_node):
    a = make_node("a").start()
    b = make_node("b", "--block-retries", "2").start()
    size = 8 << 20
    cid = requests.post(a.url + "/data", data=stream(size, 13), timeout=120).text
    r = requests.get(b.url + f"/data/{cid}/network/download", timeout=10)
    assert r.status_code == 404, r.text
    connect(b, a)
    # B gets the manifest, then its only peer goes away.
    assert requests.get(b.url + f"/data/{cid}/network/manifest", timeout=60).status_code == 200
    a.kill()
    time.sleep(0.5)
    r = requests.post(b.url + f"/data/{cid}/network", timeout=60)
    assert r.status_code == 200, r.text
    status = wait_for_download(b, cid, timeout=120)
    assert status["state"] == "failed", status
    assert "not found on the network" in status["error"], status
    assert status["doneBlocks"] < status["totalBlocks"]
    assert "finishedAt" in status


def download_under_way(make_node, size, seed):
    """A uploads `size` bytes; B starts a background download of them from A. Returns (a, b, cid) once B has
    some of the blocks, well before it has all of them."""
    a = make_node("a").start()
    b = make_node("b").start()
    cid = requests.post(a.url + "/data", data=stream(size, seed), timeout=600).text
    connect(b, a)
    r = requests.post(b.url + f"/data/{cid}/network", timeout=60)
    assert r.status_code == 200, r.text
    deadline = time.time() + 60
    while requests.get(b.url + f"/data/{cid}/network/download", timeout=10).json()["doneBlocks"] == 0:
        assert time.time() < deadline
        time.sleep(0.02)
    return a, b, cid


def test_deleting_a_dataset_while_it_downloads_stops_the_download_and_leaves_nothing(make_node):
    a, b, cid = download_under_way(make_node, 400 << 20, 19)
    r = requests.delete(b.url + f"/data/{cid}", timeout=60)
    assert r.status_code == 204, r.text
    status = requests.get(b.url + f"/data/{cid}/network/download", timeout=10).json()
    assert status["state"] == "failed", status
    assert "deleted" in status["error"], status
    assert 0 < status["doneBlocks"] < status["totalBlocks"], status
    # Nothing of the dataset stays: no block, no quota, no listing (it used to finish the download into orphans).
    time.sleep(1.5)
    space = b.space()
    assert (space["totalBlocks"], space["quotaUsedBytes"]) == (0, 0), space
    assert b.datasets() == []


def test_a_background_download_resumes_after_a_crash(make_node):
    size = 400 << 20
    a, b, cid = download_under_way(make_node, size, 29)
    b.kill()
    b.proc.wait(timeout=30)
    b.start()
    # The restarted node took the download up again by itself; it needs a peer to get the rest.
    status = requests.get(b.url + f"/data/{cid}/network/download", timeout=10).json()
    assert status["state"] in ("running", "completed"), status
    assert 0 < status["doneBlocks"], status
    connect(b, a)
    status = wait_for_download(b, cid, timeout=300)
    assert status["state"] == "completed", status
    assert status["doneBlocks"] == status["totalBlocks"], status
    assert status["fetchedBlocks"] < status["totalBlocks"], status  # what it had before the crash was kept
    a.kill()
    digest, n = download_digest(b, cid, path="")
    assert (n, digest) == (size, digest_of(size, 29))
    # Completed: a later restart has nothing to resume.
    b.stop()
    b.start()
    assert requests.get(b.url + f"/data/{cid}/network/download", timeout=10).status_code == 404


def test_a_dataset_over_the_free_quota_is_refused_up_front_and_still_streams(make_node):
    a = make_node("a").start()
    b = make_node("b", "--storage-quota", "1MiB").start()
    size = 3 << 20
    cid = requests.post(a.url + "/data", data=stream(size, 17), timeout=120).text
    connect(b, a)
    before = b.space()
    # 48 blocks cannot fit in 1 MiB: refused before any block is fetched (the manifest is kept, as by
    # GET /network/manifest), with the numbers and what to do.
    r = requests.post(b.url + f"/data/{cid}/network", timeout=60)
    assert r.status_code == 413, r.text
    assert f"Not enough storage quota: {48 * 65536} bytes needed" in r.text, r.text
    assert "--storage-quota" in r.text
    time.sleep(0.5)
    assert b.space()["totalBlocks"] <= before["totalBlocks"] + 1
    assert requests.get(b.url + f"/data/{cid}/network/download", timeout=10).status_code == 404
    # Streaming needs no room: the blocks that do not fit are handed over without being kept.
    for _ in range(2):
        digest, n = download_digest(b, cid)
        assert n == size
        assert digest == digest_of(size, 17)
    space = b.space()
    assert space["quotaUsedBytes"] <= space["quotaMaxBytes"]
    stats = requests.get(b.url + "/debug/exchange", timeout=10).json()
    assert stats["blocksNotStored"] > 0, stats


def test_two_downloads_that_fit_only_one_at_a_time_are_not_both_started(make_node):
    import signal
    a = make_node("a").start()
    b = make_node("b", "--storage-quota", "5MiB").start()
    size = 3 << 20  # 48 blocks each: either fits in 5 MiB, not both
    first = requests.post(a.url + "/data", data=stream(size, 21), timeout=120).text
    second = requests.post(a.url + "/data", data=stream(size, 22), timeout=120).text
    connect(b, a)
    for cid in (first, second):
        assert requests.get(b.url + f"/data/{cid}/network/manifest", timeout=60).status_code == 200
    # The seeder stops answering: the first download runs but stores nothing yet.
    os.kill(a.proc.pid, signal.SIGSTOP)
    try:
        r = requests.post(b.url + f"/data/{first}/network", timeout=60)
        assert r.status_code == 200, r.text
        free = b.space()["quotaMaxBytes"] - b.space()["quotaUsedBytes"]
        assert free >= size  # the second fits in the free quota, but the first will take its part of it
        r = requests.post(b.url + f"/data/{second}/network", timeout=60)
        assert r.status_code == 413, r.text
        assert f"Not enough storage quota: {size} bytes needed" in r.text, r.text
        assert f"of which {size} are promised to the download running" in r.text, r.text
        assert requests.get(b.url + f"/data/{second}/network/download", timeout=10).status_code == 404
        # An upload may not take the promised quota either (it used to, and the download then failed half-way);
        # one that fits beside it is stored.
        before = b.space()
        r = requests.post(b.url + "/data", data=b"".join(stream(size, 23)), timeout=120)  # with a Content-Length
        assert r.status_code == 413, r.text
        assert f"Not enough storage quota: {size} bytes needed" in r.text, r.text
        assert f"of which {size} are promised to the download running" in r.text, r.text
        assert b.space() == before
        small = requests.post(b.url + "/data", data=stream(1 << 20, 24), timeout=120)
        assert small.status_code == 200, small.text
    finally:
        os.kill(a.proc.pid, signal.SIGCONT)
    status = wait_for_download(b, first)
    assert status["state"] == "completed", status
    assert download_digest(b, first, path="") == (digest_of(size, 21), size)
    # Now the quota itself is short, and the answer says so.
    r = requests.post(b.url + f"/data/{second}/network", timeout=60)
    assert r.status_code == 413, r.text
    assert "promised" not in r.text, r.text
    space = b.space()
    assert space["quotaUsedBytes"] <= space["quotaMaxBytes"]


def test_no_peer_left_fails_clearly(make_node):
    a = make_node("a").start()
    b = make_node("b").start()
    cid = requests.post(a.url + "/data", data=stream(3 << 20, 11), timeout=120).text
    connect(b, a)
    assert requests.get(b.url + f"/data/{cid}/network/manifest", timeout=60).status_code == 200
    a.kill()
    time.sleep(0.5)
    t0 = time.time()
    r = requests.get(b.url + f"/data/{cid}", timeout=300)
    assert r.status_code == 404, r.text
    assert time.time() - t0 < 120
    # The node is still healthy.
    assert b.space()["totalBlocks"] >= 1


def test_without_peers_a_partly_stored_dataset_is_a_404_not_a_broken_200(make_node):
    # B has the manifest and block 0 of A's dataset; then A goes away. Answering 200 and breaking the body off
    # after block 0 (as before) looks like a short file to many clients: every route says 404 up front instead.
    a = make_node("a").start()
    b = make_node("b").start()
    size = 5 * 65536 + 100
    cid = requests.post(a.url + "/data", data=stream(size, 23), timeout=120).text
    connect(b, a)
    first = requests.get(b.url + f"/data/{cid}/network/stream", headers={"Range": "bytes=0-99"}, timeout=60)
    assert first.status_code == 206 and len(first.content) == 100
    a.kill()
    time.sleep(0.5)
    for path in (f"/data/{cid}", f"/data/{cid}/network/stream"):
        r = requests.get(b.url + path, timeout=60)
        assert r.status_code == 404, (path, r.status_code, len(r.content))
        assert "5 blocks of dataset tree" in r.text and "no peer is connected" in r.text, r.text
        # What is here is still served.
        r = requests.get(b.url + path, headers={"Range": "bytes=10-19"}, timeout=60)
        assert r.status_code == 206 and r.content == first.content[10:20]
        r = requests.get(b.url + path, headers={"Range": "bytes=65530-65545"}, timeout=60)
        assert r.status_code == 404 and "a block of dataset tree" in r.text, r.text


def test_a_manifest_no_peer_has_is_a_clear_404(make_node):
    # No peer connected at all: the node gives a dial in flight a moment (3 s), not the 60 s block timeout, and
    # says why and what to do.
    node = make_node("lonely").start()
    cid = "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"
    for method, path in (("GET", "network/manifest"), ("POST", "network"), ("GET", "network/stream")):
        t0 = time.time()
        r = requests.request(method, node.url + f"/data/{cid}/{path}", timeout=120)
        assert r.status_code == 404, (path, r.text)
        assert time.time() - t0 < 30, path
        assert "no peer is connected to this node" in r.text, r.text
        assert "codex connect" in r.text
    # A connected peer that does not have it: with --block-retries 2 the lookup gives up after two passes.
    other = make_node("other").start()
    asking = make_node("asking", "--block-retries", "2").start()
    connect(asking, other)
    t0 = time.time()
    r = requests.get(asking.url + f"/data/{cid}/network/manifest", timeout=120)
    assert r.status_code == 404, r.text
    assert time.time() - t0 < 30
    assert "no connected peer had it after 2 retries" in r.text


def test_peerid_and_debug_info(make_node):
    a = make_node("a").start()
    text = requests.get(a.url + "/peerid", headers={"Accept": "text/plain"}, timeout=10)
    assert text.status_code == 200
    assert text.text.startswith("16Uiu2HA")
    assert requests.get(a.url + "/peerid", timeout=10).json() == {"id": text.text}
    info = requests.get(a.url + "/debug/info", timeout=10).json()
    assert info["id"] == text.text
    assert info["addrs"] and all(x.startswith("/ip4/127.0.0.1/tcp/") for x in info["addrs"])
    # The identity survives a restart (key file in the data dir).
    a.stop()
    a.start()
    assert requests.get(a.url + "/peerid", headers={"Accept": "text/plain"}, timeout=10).text == text.text


def test_nat_extip_is_announced(make_node):
    from conftest import free_port
    port = free_port()
    a = make_node("a", "--nat", "extip:203.0.113.7")
    a.extra += ["--listen-addrs", f"/ip4/127.0.0.1/tcp/{port}"]
    a.start()
    info = requests.get(a.url + "/debug/info", timeout=10).json()
    assert info["announceAddresses"] == [f"/ip4/203.0.113.7/tcp/{port}"]


def test_connect_errors_are_4xx(make_node):
    a = make_node("a").start()
    assert requests.get(a.url + "/connect/notapeer", params={"addrs": "/ip4/127.0.0.1/tcp/1"}, timeout=10).status_code == 400
    pid = "16Uiu2HAkwmgB1e1yAeKsEU8zVhg9JxiM7cuLRsS2W732HS3LZNa1"
    assert requests.get(a.url + f"/connect/{pid}", params={"addrs": "garbage"}, timeout=10).status_code == 400
    r = requests.get(a.url + f"/connect/{pid}", params={"addrs": "/ip4/127.0.0.1/tcp/1"}, timeout=60)
    assert r.status_code == 400 and "Unable to dial" in r.text
    # A node does not connect to itself: not by its own id, and not when its own address answers for another id.
    info = requests.get(a.url + "/debug/info", timeout=10).json()
    for params in ({}, {"addrs": info["addrs"]}):
        r = requests.get(a.url + f"/connect/{info['id']}", params=params, timeout=60)
        assert r.status_code == 400 and "own peer ID" in r.text, r.text
    r = requests.get(a.url + f"/connect/{pid}", params={"addrs": info["addrs"]}, timeout=60)
    assert r.status_code == 400 and "Unable to dial" in r.text


def test_five_nodes_leecher_fetches_from_all_four_seeders(make_node):
    """4 seeders hold a 24 MiB dataset; the leecher's background download completes, byte-exact, within 60 s.
    Once /debug/info surfaces BlockExchangeEngine.receivedBlocksByPeer (as blockExchange.receivedBlocksByPeer),
    every seeder must have delivered some blocks."""
    seeders = [make_node(f"s{i}").start() for i in range(4)]
    leech = make_node("leech").start()
    size = 24 << 20
    cids = {requests.post(s.url + "/data", data=stream(size, 13), timeout=600).text for s in seeders}
    assert len(cids) == 1
    cid = cids.pop()
    for s in seeders:
        connect(leech, s)
    r = requests.post(leech.url + f"/data/{cid}/network", timeout=60)
    assert r.status_code == 200, r.text
    deadline = time.time() + 60
    while time.time() < deadline and leech.space()["totalBlocks"] < size // 65536 + 1:
        time.sleep(0.3)
    assert leech.space()["totalBlocks"] >= size // 65536 + 1, "background download did not finish in 60 s"
    digest, n = download_digest(leech, cid, path="")
    assert n == size
    assert digest == digest_of(size, 13)
    by_peer = requests.get(leech.url + "/debug/info", timeout=10).json().get("blockExchange", {}).get(
        "receivedBlocksByPeer")
    if by_peer is not None:
        ids = [peer_info(s)[0] for s in seeders]
        assert all(by_peer.get(i, 0) > 0 for i in ids), by_peer
        assert sum(by_peer.values()) >= size // 65536
