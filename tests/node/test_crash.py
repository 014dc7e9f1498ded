"""SIGKILL the node during uploads and deletes; after restart the repo must be consistent:
quota accounting exact, every listed dataset downloadable byte for byte, nothing half-visible."""
import hashlib
import random
import threading
import time

import requests

from test_roundtrip import stream, digest_of

BLOCK = 65536


def check_consistent(node, known, in_flight):
    """known: cid -> (size, seed, chunk) of uploads that completed before the crash; in_flight: the (size, seed,
    chunk) of the upload that was cut by the kill (it may have committed before its answer was sent)."""
    datasets = node.datasets()
    listed = {d["cid"] for d in datasets}
    # Every listed dataset is one we uploaded (no half-visible dataset) and downloads intact.
    for cid in listed:
        if cid not in known:
            sizes = [d["manifest"]["datasetSize"] for d in datasets if d["cid"] == cid]
            assert sizes == [in_flight[0]], f"dataset {cid} is listed but no upload of that size completed"
            known[cid] = in_flight
        size, seed, chunk = known[cid]
        h = hashlib.sha256()
        with requests.get(node.url + f"/data/{cid}", stream=True, timeout=600) as r:
            assert r.status_code == 200, r.text
            for piece in r.iter_content(1 << 20):
                h.update(piece)
        assert h.hexdigest() == digest_of(size, seed, chunk), f"{cid} content differs after restart"
    # Quota accounting: deleting everything that is listed must bring the repo back to zero.
    return listed


def drain(node):
    for d in node.datasets():
        assert requests.delete(node.url + f"/data/{d['cid']}", timeout=120).status_code == 204
    space = node.space()
    assert space["totalBlocks"] == 0, space
    assert space["quotaUsedBytes"] == 0, space


def test_sigkill_during_uploads_and_deletes(make_node):
    rng = random.Random(1234)
    node = make_node("crash").start()
    known = {}
    for round_ in range(6):
        # Start a big upload and kill the node part-way through it.
        size = rng.randrange(40, 120) * BLOCK + rng.randrange(0, BLOCK)
        seed = 1000 + round_
        done = {}

        def upload():
            try:
                r = requests.post(node.url + "/data", data=stream(size, seed, chunk=BLOCK), timeout=300)
                if r.status_code == 200:
                    done["cid"] = r.text
            except requests.RequestException:
                pass

        # Some completed datasets to keep (and to delete during a later crash).
        small = rng.randrange(1, 5) * BLOCK + 7
        r = requests.post(node.url + "/data", data=stream(small, 2000 + round_), timeout=120)
        assert r.status_code == 200
        known[r.text] = (small, 2000 + round_, 1 << 20)

        t = threading.Thread(target=upload)
        t.start()
        time.sleep(rng.uniform(0.05, 0.6))
        if round_ % 2 == 1 and known:
            # Kill during a delete instead.
            victim = rng.choice(sorted(known))
            def delete(cid=victim):
                try:
                    requests.delete(node.url + f"/data/{cid}", timeout=60)
                except requests.RequestException:
                    pass  # the node is killed mid-request: an aborted connection is the expected outcome

            threading.Thread(target=delete).start()
            time.sleep(rng.uniform(0.0, 0.05))
        node.kill()
        t.join()
        if "cid" in done:
            known[done["cid"]] = (size, seed, BLOCK)
        node.start()
        listed = check_consistent(node, known, (size, seed, BLOCK))
        # Forget deleted datasets (a delete that committed before the kill).
        known = {c: v for c, v in known.items() if c in listed}
    drain(node)
