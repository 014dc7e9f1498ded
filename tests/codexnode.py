"""Shared by the multi-process test suites (tests/node, tests/market-node): free loopback ports and the built
`codex` binary."""
import os
import socket
import subprocess

import pytest


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def codex_binary():
    """The `codex` executable in $SWIFT_BIN_PATH (else the debug build's bin dir); fails the test if absent."""
    bin_dir = os.environ.get("SWIFT_BIN_PATH")
    if not bin_dir:
        bin_dir = subprocess.check_output(["swift", "build", "--show-bin-path"], text=True).strip()
    path = os.path.join(bin_dir, "codex")
    if not os.path.exists(path):
        pytest.fail(f"codex binary not found at {path}; build it first")
    return path
