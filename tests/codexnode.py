"""Shared by the multi-process test suites (tests/node, tests/market-node): free loopback ports (from `ports`), the
built `codex` binary, the process lifecycle of one node and the per-test work directory."""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest
import requests

from ports import free_port  # noqa: F401  (re-exported: the suites import it from here)


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
