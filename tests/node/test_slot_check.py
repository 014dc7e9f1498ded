"""Verifiable manifests across two real nodes (issue #5): a verifiable manifest built by node A from a known file
round-trips through the network to node B, and every slot root matches the slot B rebuilds from the blocks it
downloaded (`GET /debug/slots/{cid}/{slot}`, the host-side slot check). B building the verifiable manifest itself
from the downloaded protected dataset gives the same CID. A wrong block in B's repo makes its slot check fail.
"""
import os
import random
import sqlite3
import time

import requests

from conftest import cid_bytes, repo_path
from test_network import connect

BLOCK = 65536


def slot_check(node, cid, slot):
    return requests.get(f"{node.url}/debug/slots/{cid}/{slot}", timeout=120)


def test_verifiable_manifest_round_trips_and_slots_rebuild_on_a_second_node(make_node):
    a = make_node("a").start()
    b = make_node("b").start()
    data = random.Random(71).randbytes(10 * BLOCK + 1000)  # 11 blocks
    plain = requests.post(a.url + "/data", data=data, timeout=60).text
    r = requests.post(a.url + f"/data/{plain}/protect", json={"nodes": 3, "tolerance": 1}, timeout=120)
    assert r.status_code == 200, r.text
    protected = r.text.strip()
    r = requests.post(a.url + f"/data/{protected}/verifiable", timeout=120)
    assert r.status_code == 200, r.text
    verifiable = r.text.strip()
    assert verifiable not in (plain, protected)
    on_a = {d["cid"]: d["manifest"] for d in a.datasets()}[verifiable]
    assert on_a["verifiable"] is True and on_a["protected"] is True
    assert len(on_a["slotRoots"]) == 3 and on_a["cellSize"] == 2048
    # K=2, M=1: 11 blocks -> 6 steps -> 18 leaves, three slots of 6 blocks (padded to 8).
    assert on_a["datasetSize"] == 18 * BLOCK

    # The manifest round-trips: B fetches it from A and sees the same fields.
    connect(b, a)
    m = requests.get(b.url + f"/data/{verifiable}/network/manifest", timeout=60)
    assert m.status_code == 200, m.text
    assert m.json()["cid"] == verifiable
    assert m.json()["manifest"] == on_a
    # The slots cannot be checked before B has the blocks.
    assert slot_check(b, verifiable, 0).status_code == 404

    # B downloads every leaf (data, padding and parity) and rebuilds each slot.
    r = requests.post(b.url + f"/data/{verifiable}/network", timeout=60)
    assert r.status_code == 200, r.text
    deadline = time.time() + 60
    while time.time() < deadline and slot_check(b, verifiable, 2).status_code == 404:
        time.sleep(0.5)
    for slot in range(3):
        r = slot_check(b, verifiable, slot)
        assert r.status_code == 200, r.text
        check = r.json()
        assert check["cid"] == verifiable and check["slot"] == slot
        assert check["expected"] == on_a["slotRoots"][slot]
        assert check["slotRoot"] == on_a["slotRoots"][slot], check
        assert check["match"] is True and check["verifyRootMatch"] is True, check
    # A's own check of a slot agrees.
    assert slot_check(a, verifiable, 1).json()["slotRoot"] == on_a["slotRoots"][1]
    # The downloaded bytes are the file.
    got = requests.get(b.url + f"/data/{verifiable}", timeout=60)
    assert got.status_code == 200 and got.content == data

    # B turns the protected manifest into the same verifiable manifest from its downloaded blocks.
    assert requests.get(b.url + f"/data/{protected}/network/manifest", timeout=60).status_code == 200
    r = requests.post(b.url + f"/data/{protected}/verifiable", timeout=120)
    assert r.status_code == 200, r.text
    assert r.text.strip() == verifiable

    # Bad requests.
    assert slot_check(b, verifiable, 3).status_code == 422
    assert slot_check(b, verifiable, "x").status_code == 400
    assert slot_check(b, verifiable, -1).status_code == 400
    assert slot_check(b, protected, 0).status_code == 422
    assert slot_check(b, "not-a-cid", 0).status_code == 400

    # A wrong block in slot 1 (leaf 6 pointing at leaf 7's block) makes slot 1, and only slot 1, fail the check.
    tree = on_a["treeCid"]
    repo = repo_path(b)
    b.stop()
    db = sqlite3.connect(os.path.join(repo, "repo.sqlite"))
    t = cid_bytes(tree)
    n = db.execute("UPDATE leaves SET block = (SELECT block FROM leaves WHERE tree = ? AND idx = 7) "
                   "WHERE tree = ? AND idx = 6", (t, t)).rowcount
    db.commit()
    db.close()
    assert n == 1
    b.start()
    bad = slot_check(b, verifiable, 1).json()
    assert bad["match"] is False and bad["expected"] == on_a["slotRoots"][1] and bad["slotRoot"] != bad["expected"]
    assert bad["verifyRootMatch"] is True
    for slot in (0, 2):
        assert slot_check(b, verifiable, slot).json()["match"] is True
