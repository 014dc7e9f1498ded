"""Helpers to run real `codex` node processes on 127.0.0.1 for multi-process tests."""
import os
import subprocess
import sys

import pytest
import requests

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from codexnode import NodeProcess, codex_binary, free_port, work_directory  # noqa: E402  (shared with the other suites)


class Node(NodeProcess):
    def __init__(self, data_dir, *extra):
        self.data_dir = data_dir
        self.port = free_port()
        self.extra = list(extra)
        self.proc = None
        self.log = open(os.path.join(os.path.dirname(data_dir), f"node-{os.path.basename(data_dir)}.log"), "ab")

    def start(self, timeout=60):
        listen = [] if "--listen-addrs" in self.extra else ["--listen-addrs", "/ip4/127.0.0.1/tcp/0"]
        self.proc = subprocess.Popen(
            [codex_binary(), "--data-dir", self.data_dir, "--api-port", str(self.port), "--log-level", "warn",
             *listen, "--disc-port", str(free_port()), *self.extra],
            stdout=self.log, stderr=self.log)
        self.wait_ready(timeout)
        return self

    def output(self):
        """The tail of the node's log (what it printed before it exited)."""
        self.log.flush()
        with open(self.log.name, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4000))
            return f.read().decode(errors="replace")

    def space(self):
        return requests.get(self.url + "/space", timeout=10).json()

    def datasets(self):
        return requests.get(self.url + "/data", timeout=10).json()["content"]


@pytest.fixture
def workdir():
    yield from work_directory("codex-node-test-")


@pytest.fixture
def make_node(workdir):
    nodes = []

    def factory(name="n0", *extra):
        n = Node(os.path.join(workdir, name), *extra)
        nodes.append(n)
        return n

    yield factory
    for n in nodes:
        n.kill()


# --- Repo surgery helpers for fault tests (the node must be stopped while its repo is edited). ---

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def cid_bytes(text):
    """The binary form of a base58btc CIDv1 string ('z...'), as the repo stores it."""
    assert text.startswith("z"), text
    n = 0
    for ch in text[1:]:
        n = n * 58 + B58.index(ch)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    zeros = len(text[1:]) - len(text[1:].lstrip("1"))
    return b"\0" * zeros + raw


def repo_path(node):
    """The repo directory of a running node (from /debug/info)."""
    return requests.get(node.url + "/debug/info", timeout=10).json()["repo"]
