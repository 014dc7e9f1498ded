"""Helpers to run `codex ... persistence` node processes against the dev chain (tools/devchain).

The dev chain is started by scripts/ci.d/65-market-node.sh, which exports MARKET_NODE_DEVCHAIN_JSON (the JSON file
the chain writes: rpcUrl, chainId, contracts, accounts with private keys and minted tokens).
"""
import json
import os
import subprocess
import sys
import time

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from codexnode import NodeProcess, codex_binary, free_port, work_directory  # noqa: E402  (shared with the other suites)


def rpc(url, method, params=None):
    r = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=10)
    body = r.json()
    if "error" in body:
        raise RuntimeError(f"{method}: {body['error']}")
    return body["result"]


class Node(NodeProcess):
    """One `codex` process with its own data directory and API port; output goes to a log file."""

    def __init__(self, workdir, name, global_args=(), persistence_args=None, env=None):
        self.data_dir = os.path.join(workdir, name)
        self.port = free_port()
        self.log_path = os.path.join(workdir, f"{name}.log")
        args = [codex_binary(), "--data-dir", self.data_dir, "--api-port", str(self.port), "--log-level", "notice",
                "--listen-addrs", "/ip4/127.0.0.1/tcp/0", "--disc-port", str(free_port()), *global_args]
        if persistence_args is not None:
            args += ["persistence", *persistence_args]
        self.args = args
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.started_at = None

    def spawn(self):
        self.log = open(self.log_path, "ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=self.log, env=self.env)
        return self

    def start(self, timeout=60):
        """Starts the node and waits until its REST API answers; returns the seconds it took."""
        self.spawn()
        return self.wait_ready(timeout, poll=0.05)

    def wait_exit(self, timeout):
        """Runs the node expecting it to stop by itself; returns (exit code, seconds, output)."""
        self.spawn()
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"node did not exit within {timeout} s: {self.output()[-2000:]}")
        return rc, time.monotonic() - self.started_at, self.output()

    def output(self):
        try:
            self.log.flush()
        except Exception:
            pass
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=15, **kw)


@pytest.fixture(scope="session")
def devchain():
    path = os.environ.get("MARKET_NODE_DEVCHAIN_JSON")
    if not path or not os.path.exists(path):
        pytest.fail("MARKET_NODE_DEVCHAIN_JSON is not set: run scripts/ci.d/65-market-node.sh (it starts the dev chain)")
    with open(path) as f:
        chain = json.load(f)
    assert rpc(chain["rpcUrl"], "eth_chainId") == hex(chain["chainId"])
    return chain


@pytest.fixture
def workdir():
    yield from work_directory("codex-market-node-")


@pytest.fixture
def key_file(workdir):
    """Writes a private key to a file with the given mode (default 0600) and returns its path."""
    counter = [0]

    def make(private_key, mode=0o600, text=None):
        counter[0] += 1
        path = os.path.join(workdir, f"eth-{counter[0]}.key")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text if text is not None else private_key + "\n")
        os.chmod(path, mode)
        return path

    return make


@pytest.fixture
def make_node(workdir):
    nodes = []

    def factory(name, global_args=(), persistence_args=None, env=None):
        n = Node(workdir, name, global_args, persistence_args, env)
        nodes.append(n)
        return n

    yield factory
    for n in nodes:
        n.kill()
