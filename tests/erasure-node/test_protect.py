"""Multi-process tests of erasure coding on a real `codex` node: upload, protect, download byte-identical."""
import hashlib
import os
import random
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests

# A valid manifest CID (formats.md §5.5) that no test stores.
UNKNOWN_MANIFEST = "zDvZRwzmC3Q7e7NLkfsPmtgSCfectUc1ssn5xK2rzC9yRz1yeZuK"
BLOCK = 65536


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def codex_binary():
    bin_dir = os.environ.get("SWIFT_BIN_PATH") or subprocess.check_output(
        ["swift", "build", "--show-bin-path"], text=True).strip()
    path = os.path.join(bin_dir, "codex")
    if not os.path.exists(path):
        pytest.fail(f"codex binary not found at {path}; build it first")
    return path


class Node:
    def __init__(self, root):
        self.data_dir = os.path.join(root, "data")
        self.port = free_port()
        self.log_path = os.path.join(root, "node.log")
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/api/codex/v1"

    def start(self, timeout=60):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [codex_binary(), "--data-dir", self.data_dir, "--api-port", str(self.port), "--log-level", "warn",
             "--listen-addrs", "/ip4/127.0.0.1/tcp/0", "--disc-port", str(free_port())],
            stdout=log, stderr=log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {open(self.log_path).read()[-2000:]}")
            try:
                if requests.get(self.url + "/space", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise RuntimeError("node did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def upload(self, data):
        r = requests.post(self.url + "/data", data=data, timeout=120,
                          headers={"Content-Type": "application/octet-stream",
                                   "Content-Disposition": 'attachment; filename="blob.bin"'})
        assert r.status_code == 200, r.text
        return r.text.strip()

    def protect(self, cid, body=None, raw=None):
        if raw is not None:
            return requests.post(f"{self.url}/data/{cid}/protect", data=raw, timeout=300,
                                 headers={"Content-Type": "application/json"})
        return requests.post(f"{self.url}/data/{cid}/protect", json=body, timeout=300)

    def download(self, cid):
        r = requests.get(f"{self.url}/data/{cid}", timeout=300)
        return r


@pytest.fixture
def node():
    with tempfile.TemporaryDirectory(prefix="codex-erasure-node-") as root:
        n = Node(root).start()
        try:
            yield n
        finally:
            n.stop()


def payload(size, seed):
    return random.Random(seed).randbytes(size)


def test_protect_defaults_and_download(node):
    data = payload(17 * BLOCK + 12345, 1)  # 18 blocks
    plain = node.upload(data)
    r = node.protect(plain)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain")
    protected = r.text.strip()
    assert protected != plain
    d = node.download(protected)
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
    assert node.protect(plain).text.strip() == protected


def test_protect_gf8_and_restart(node):
    data = payload(10 * BLOCK - 1, 2)
    plain = node.upload(data)
    r = node.protect(plain, {"nodes": 7, "tolerance": 3})
    assert r.status_code == 200, r.text
    protected = r.text.strip()
    d = node.download(protected)
    assert d.content == data
    node.stop()
    node.start()
    assert node.download(protected).content == data
    assert node.download(plain).content == data


def test_protect_errors(node):
    small = node.upload(payload(1000, 3))  # one block
    big = node.upload(payload(3 * BLOCK, 4))
    assert node.protect("not-a-cid").status_code == 400
    assert node.protect(big, raw="{nodes: 3").status_code == 400
    assert node.protect(big, raw='{"nodes": "three"}').status_code == 400
    assert node.protect(UNKNOWN_MANIFEST).status_code == 404
    for body in ({"nodes": 3, "tolerance": 0}, {"nodes": 3, "tolerance": 2}, {"nodes": 5, "tolerance": 3},
                 {"nodes": 2, "tolerance": 5}, {"tolerance": -1}):
        r = node.protect(big, body)
        assert r.status_code == 422, (body, r.status_code, r.text)
    r = node.protect(small)
    assert r.status_code == 422
    assert "Dataset too small" in r.text
    protected = node.protect(big).text.strip()
    assert node.protect(protected).status_code == 422


def test_protect_cli(node):
    help_run = subprocess.run([codex_binary(), "protect", "--help"], capture_output=True, text=True)
    if help_run.returncode != 0:
        pytest.skip("`codex protect` is not registered as a subcommand yet")
    data = payload(5 * BLOCK + 7, 5)
    plain = node.upload(data)
    run = subprocess.run([codex_binary(), "protect", plain, "--nodes", "4", "--tolerance", "2", "--api",
                          f"http://127.0.0.1:{node.port}"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    protected = run.stdout.strip()
    assert node.download(protected).content == data
    bad = subprocess.run([codex_binary(), "protect", UNKNOWN_MANIFEST, "--api", f"http://127.0.0.1:{node.port}"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "404" in bad.stderr
