"""Multi-process tests of erasure coding on a real `codex` node: upload, protect, download byte-identical."""
import hashlib
import random
import subprocess

import pytest
import requests

from conftest import codex_binary

# A valid manifest CID (formats.md §5.5) that no test stores.
UNKNOWN_MANIFEST = "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"
BLOCK = 65536


def upload(node, data):
    r = requests.post(node.url + "/data", data=data, timeout=120,
                      headers={"Content-Type": "application/octet-stream",
                               "Content-Disposition": 'attachment; filename="blob.bin"'})
    assert r.status_code == 200, r.text
    return r.text.strip()


def protect(node, cid, body=None, raw=None):
    if raw is not None:
        return requests.post(f"{node.url}/data/{cid}/protect", data=raw, timeout=300,
                             headers={"Content-Type": "application/json"})
    return requests.post(f"{node.url}/data/{cid}/protect", json=body, timeout=300)


def download(node, cid):
    return requests.get(f"{node.url}/data/{cid}", timeout=300)


@pytest.fixture
def node(make_node):
    n = make_node("protect").start()
    yield n
    n.stop()


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def test_protect_defaults_and_download(node):
    data = payload(17 * BLOCK + 12345, 1)  # 18 blocks
    plain = upload(node, data)
    r = protect(node, plain)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    protected = r.text.strip()
    assert protected != plain
    d = download(node, protected)
    assert d.status_code == 200, d.text
    assert int(d.headers["Content-Length"]) == len(data)
    assert hashlib.sha256(d.content).digest() == hashlib.sha256(data).digest()
    items = {i["cid"]: i["manifest"] for i in requests.get(node.url + "/data", timeout=10).json()["content"]}
    m = items[protected]
    assert m["protected"] is True
    # K=2, M=1: 18 blocks -> 9 steps -> 27 blocks.
    assert m["datasetSize"] == 27 * BLOCK
    assert m["filename"] == "blob.bin"
    assert items[plain]["protected"] is False
    # Protecting again gives the same manifest.
    assert protect(node, plain).text.strip() == protected


def test_protect_gf8_and_restart(node):
    data = payload(10 * BLOCK - 1, 2)
    plain = upload(node, data)
    r = protect(node, plain, {"nodes": 7, "tolerance": 3})
    assert r.status_code == 200, r.text
    protected = r.text.strip()
    d = download(node, protected)
    assert d.content == data
    node.stop()
    node.start()
    assert download(node, protected).content == data
    assert download(node, plain).content == data


def test_protect_errors(node):
    small = upload(node, payload(1000, 3))  # one block
    big = upload(node, payload(3 * BLOCK, 4))
    assert protect(node, "not-a-cid").status_code == 400
    assert protect(node, big, raw="{nodes: 3").status_code == 400
    assert protect(node, big, raw='{"nodes": "three"}').status_code == 400
    assert protect(node, UNKNOWN_MANIFEST).status_code == 404
    for body in ({"nodes": 3, "tolerance": 0}, {"nodes": 3, "tolerance": 2}, {"nodes": 5, "tolerance": 3},
                 {"nodes": 2, "tolerance": 5}, {"tolerance": -1}):
        r = protect(node, big, body)
        assert r.status_code == 422, (body, r.status_code, r.text)
    r = protect(node, small)
    assert r.status_code == 422
    assert "Dataset too small" in r.text
    protected = protect(node, big).text.strip()
    assert protect(node, protected).status_code == 422


def test_protect_cli(node):
    data = payload(5 * BLOCK + 7, 5)
    plain = upload(node, data)
    run = subprocess.run([codex_binary(), "protect", plain, "--nodes", "4", "--tolerance", "2", "--api",
                          f"http://127.0.0.1:{node.port}"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    protected = run.stdout.strip()
    assert download(node, protected).content == data
    bad = subprocess.run([codex_binary(), "protect", UNKNOWN_MANIFEST, "--api", f"http://127.0.0.1:{node.port}"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "404" in bad.stderr
