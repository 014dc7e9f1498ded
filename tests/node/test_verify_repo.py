"""`codex verify-repo` on real repos: consistent, in use by a running node, a rotted block, an incomplete dataset."""
import os
import sqlite3
import subprocess
import time

import requests

from conftest import cid_bytes, codex_binary, repo_path
from test_roundtrip import stream


def verify(data_dir, *args):
    return subprocess.run([codex_binary(), "verify-repo", "--data-dir", data_dir, *args],
                          capture_output=True, text=True, timeout=120)


def flip_byte(repo, tree, index, offset, mask):
    """XORs byte `offset` of leaf `index`'s block in a stopped node's pack file with `mask` (again: puts it back)."""
    db = sqlite3.connect(os.path.join(repo, "repo.sqlite"))
    pack, pos = db.execute(
        "SELECT b.pack, b.pos FROM leaves l JOIN blocks b ON b.cid = l.block WHERE l.tree = ? AND l.idx = ?",
        (cid_bytes(tree), index)).fetchone()
    db.close()
    with open(os.path.join(repo, "packs", "%06d.pack" % pack), "r+b") as f:
        f.seek(pos + offset)
        byte = f.read(1)
        f.seek(pos + offset)
        f.write(bytes([byte[0] ^ mask]))


def damaged_copy(make_node, seed, index, offset, mask, *b_args):
    """A holds a 3 MiB dataset; B downloads it, stops, and gets one byte of leaf `index` flipped. Returns (a, b,
    data, cid) with B stopped."""
    from test_network import connect, wait_for_download
    a = make_node("a").start()
    b = make_node("b", *b_args).start()
    data = b"".join(stream(3 << 20, seed))
    cid = requests.post(a.url + "/data", data=data, timeout=60).text
    connect(b, a)
    assert requests.post(b.url + f"/data/{cid}/network", timeout=60).status_code == 200
    assert wait_for_download(b, cid, timeout=120)["state"] == "completed"
    tree = {d["cid"]: d["manifest"]["treeCid"] for d in b.datasets()}[cid]
    repo = repo_path(b)
    b.stop()
    flip_byte(repo, tree, index, offset, mask)
    return a, b, data, cid


def test_verify_repo(make_node):
    n = make_node("n").start()
    size = 5 << 20
    cid = requests.post(n.url + "/data", data=stream(size, 23), timeout=120).text
    small = requests.post(n.url + "/data", data=b"some file contents", timeout=30).text
    repo = repo_path(n)
    tree = {d["cid"]: d["manifest"]["treeCid"] for d in n.datasets()}[cid]

    # A running node holds the repo: the check refuses instead of reading it under the node's feet.
    r = verify(n.data_dir)
    assert r.returncode == 1
    assert f"is in use by another process (pid {n.proc.pid})" in r.stderr, r.stderr
    n.stop()

    r = verify(n.data_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    # 80 + 1 blocks and two manifests
    assert "83 blocks" in r.stdout and "2 dataset(s)" in r.stdout and "83 blocks read and hashed" in r.stdout, r.stdout
    assert r.stdout.strip().endswith("consistent")

    # One byte of one block rots on disk: only the full check reads bytes, and it names the block.
    flip_byte(repo, tree, 7, 100, 1)
    assert verify(n.data_dir, "--quick").returncode == 0
    r = verify(n.data_dir)
    assert r.returncode == 1, r.stdout
    assert "1 problem(s) found" in r.stdout, r.stdout
    assert "problem: block z" in r.stdout
    assert f"it is part of dataset(s) {cid}: reading them" in r.stdout, r.stdout

    # Put the byte back; a dataset missing leaves (a download that stopped) is listed, but is no problem.
    flip_byte(repo, tree, 7, 100, 1)
    db = sqlite3.connect(os.path.join(repo, "repo.sqlite"))
    gone = db.execute("DELETE FROM leaves WHERE tree = ? AND idx >= 70 RETURNING block", (cid_bytes(tree),)).fetchall()
    db.executemany("UPDATE blocks SET refcount = refcount - 1 WHERE cid = ?", gone)  # as if never stored
    db.commit()
    db.close()
    r = verify(n.data_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"incomplete: {cid} has 70 of 80 blocks here" in r.stdout, r.stdout
    assert small not in r.stdout
    assert r.stdout.strip().endswith("consistent")

    r = verify(os.path.join(os.path.dirname(n.data_dir), "nothing-here"))
    assert r.returncode == 1
    assert "there is no repo in" in r.stderr


def test_a_block_damaged_on_disk_is_never_served_and_heals_from_a_peer(make_node):
    from test_network import connect
    a, b, data, cid = damaged_copy(make_node, 31, 7, 4321, 0x20)
    b.start()
    # Alone, B has no good copy: the download fails rather than hand out the damaged bytes.
    try:
        got = requests.get(b.url + f"/data/{cid}", timeout=60)
        assert got.status_code != 200 or got.content != data
    except requests.exceptions.RequestException:
        pass  # the stream was cut short
    # With A connected, the damaged block is fetched again (checked against the tree) and replaces it on disk.
    connect(b, a)
    got = requests.get(b.url + f"/data/{cid}", timeout=60)
    assert got.status_code == 200 and got.content == data
    a.kill()
    b.stop()
    r = verify(b.data_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("consistent")


def test_the_scrub_finds_a_damaged_block_and_heals_it_from_a_peer_before_anyone_reads_it(make_node):
    from test_network import connect
    from conftest import free_port
    from test_config import metric
    metrics_port = free_port()
    a, b, data, cid = damaged_copy(
        make_node, 37, 30, 999, 0x08, "--block-mi", "1s", "--metrics", "--metrics-port", str(metrics_port))
    b.start()
    connect(b, a)
    log = os.path.join(os.path.dirname(b.data_dir), "node-b.log")
    deadline = time.time() + 30
    while 'healed=1' not in open(log, errors="replace").read():
        assert time.time() < deadline, open(log, errors="replace").read()[-3000:]
        time.sleep(0.2)
    scraped = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    assert metric(scraped, "codex_repo_damaged_blocks_found") == 1
    assert metric(scraped, "codex_repo_damaged_blocks_healed") == 1
    assert metric(scraped, "codex_repo_scrub_blocks_checked") >= 49  # 48 blocks and the manifest, at least once
    b.stop()
    r = verify(b.data_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("consistent")
