"""Shared by the multi-process test suites (tests/node, tests/market-node): free loopback ports, the built
`codex` binary, the process lifecycle of one node and the per-test work directory."""
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests


# Ports handed out by `free_port` in this process: never handed out twice.
_handed_out = set()
_PORT_RANGE = (20000, 32000)  # below Linux's ephemeral range (32768-60999): no kernel-chosen port lands here


def free_port():
    """A port on 127.0.0.1, free for TCP and UDP a moment ago, that this process has not handed out before.

    It lies below the kernel's ephemeral range, so no `tcp/0` listener or outgoing connection of a node already
    running (which take ephemeral ports) can take it before the node it is meant for binds it."""
    low, high = _PORT_RANGE
    start = random.randrange(low, high)
    for k in range(high - low):
        port = low + (start - low + k) % (high - low)
        if port in _handed_out:
            continue
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                t.bind(("127.0.0.1", port))
                u.bind(("127.0.0.1", port))
        except OSError:
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {low}-{high}")


def codex_binary():
    """The `codex` executable in $SWIFT_BIN_PATH (else the debug build's bin dir); fails the test if absent."""
    bin_dir = os.environ.get("SWIFT_BIN_PATH")
    if not bin_dir:
        bin_dir = subprocess.check_output(["swift", "build", "--show-bin-path"], text=True).strip()
    path = os.path.join(bin_dir, "codex")
    if not os.path.exists(path):
        pytest.fail(f"codex binary not found at {path}; build it first")
    return path


class NodeProcess:
    """What every suite's node does with its process: the REST URL, waiting for the API, SIGTERM and SIGKILL.

    Subclasses set `port` and `proc` (a subprocess.Popen) and may override `output()` for error messages."""

    port = None
    proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/api/codex/v1"

    def output(self):
        return ""

    def wait_ready(self, timeout, poll=0.1):
        """Waits until GET /space answers 200; raises RuntimeError (with the log tail) if the process exits or
        the time runs out. Returns the seconds waited."""
        start = time.monotonic()
        while time.monotonic() < start + timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited with {self.proc.returncode}: {self.output()[-2000:]}")
            try:
                if requests.get(self.url + "/space", timeout=1).status_code == 200:
                    return time.monotonic() - start
            except requests.RequestException:
                pass
            time.sleep(poll)
        raise RuntimeError("node did not start: " + self.output()[-2000:])

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
                raise


def work_directory(prefix):
    """Generator for a pytest fixture: a fresh temporary directory, removed afterwards unless
    CODEX_KEEP_TEST_DIR is set (then its path is printed)."""
    d = tempfile.mkdtemp(prefix=prefix)
    yield d
    if not os.environ.get("CODEX_KEEP_TEST_DIR"):
        shutil.rmtree(d, ignore_errors=True)
    else:
        print("kept", d)
